import { strict as assert } from "assert";
import {
    compareVersions,
    InstalledRevision,
    planRevisions,
    previousRevisions,
    recordedRevisions,
    RevisionPlan,
    RevisionPlanError,
    revisionNamed,
    revisionOf,
    UpgradeSettings,
    versionOfRevision,
} from "../../components/mesh/revisions";

const NONE: UpgradeSettings = { strategy: "revisions", keepRevisions: [], tags: {}, retire: [] };

function plan(version: string, previous: InstalledRevision[], upgrade: Partial<UpgradeSettings> = {}): RevisionPlan {
    return planRevisions({ version, upgrade: { ...NONE, ...upgrade }, previous, stackFlag: "--stack prod" });
}

function problemsOf(f: () => unknown): readonly string[] {
    try {
        f();
    } catch (e) {
        assert.ok(e instanceof RevisionPlanError, String(e));
        return e.problems;
    }
    assert.fail("expected a RevisionPlanError");
}

const r = (version: string): InstalledRevision => ({ revision: revisionOf(version), version });

describe("revisions: names", () => {
    it("derives a DNS-label revision from a version and back", () => {
        assert.equal(revisionOf("1.31.1"), "1-31-1");
        assert.equal(versionOfRevision("1-31-1"), "1.31.1");
        assert.equal(versionOfRevision("canary"), undefined);
        assert.throws(() => revisionOf("1.31"), /not an Istio version: "1\.31"/);
    });

    it("reads a version, a revision or default as a revision name", () => {
        assert.equal(revisionNamed("1.30.3"), "1-30-3");
        assert.equal(revisionNamed("1-30-3"), "1-30-3");
        assert.equal(revisionNamed("default"), "default");
        assert.equal(revisionNamed("canary"), undefined);
    });

    it("takes only whole versions and revisions", () => {
        for (const bad of ["x1.31.1", "1.31.1x", "1.31", "1..31.1", "a.b.c"]) assert.equal(revisionNamed(bad), undefined, bad);
        for (const bad of ["x1-31-1", "1-31-1-x", "1-31", "1-a-1"]) assert.equal(versionOfRevision(bad), undefined, bad);
        assert.throws(() => revisionOf("v1.31.1"), /not an Istio version/);
    });

    it("orders versions numerically", () => {
        assert.ok(compareVersions("1.9.0", "1.10.0") < 0);
        assert.ok(compareVersions("1.31.1", "1.30.3") > 0);
        assert.equal(compareVersions("1.31.1", "1.31.1"), 0);
        assert.ok(compareVersions("1.31.0", "1.31.2") < 0);
    });
});

describe("revisions: what the last deployment installed", () => {
    it("reads the recorded revisions", () => {
        assert.deepEqual(
            previousRevisions({
                istioRevisions: [r("1.30.3"), { revision: "default", version: "1.29.0" }],
                istioVersion: "1.30.3",
            }),
            [r("1.30.3"), { revision: "default", version: "1.29.0" }],
        );
    });

    it("takes a stack deployed before revisions for one unrevisioned istiod at its istioVersion", () => {
        assert.deepEqual(previousRevisions({ istioVersion: "1.30.3" }), [{ revision: "default", version: "1.30.3" }]);
    });

    it("knows nothing of a stack never deployed", () => {
        assert.deepEqual(previousRevisions({}), []);
        assert.deepEqual(previousRevisions({ istioVersion: 131 }), []);
        assert.deepEqual(previousRevisions({ istioVersion: "latest" }), []);
    });

    it("drops entries it did not write (a revision that does not match its version, a bad version)", () => {
        assert.deepEqual(
            previousRevisions({
                istioRevisions: [
                    { revision: "1-30-3", version: "1.31.1" },
                    { revision: "x", version: "1.30.3" },
                    { revision: "1-30-3", version: "1.30" },
                    "1.30.3",
                    null,
                    { revision: 1, version: "1.30.3" },
                    { revision: "1-30-3", version: 130 },
                    { version: "1.30.3" },
                    r("1.31.1"),
                ],
            }),
            [r("1.31.1")],
        );
    });
});

describe("revisions: the upgrade sequence 1.30.3 → 1.31.1 and back", () => {
    it("1. first deploy at 1.30.3: one revision, the default tag on it, base on it", () => {
        const p = plan("1.30.3", []);
        assert.deepEqual(p.revisions, [r("1.30.3")]);
        assert.equal(p.legacy, undefined);
        assert.deepEqual(p.tags, [{ tag: "default", ...r("1.30.3") }]);
        assert.deepEqual(p.active, r("1.30.3"));
        assert.deepEqual(p.base, { version: "1.30.3", defaultRevision: "1-30-3" });
        assert.deepEqual(p.retiring, []);
        assert.equal(p.strategy, "revisions");
        assert.deepEqual(recordedRevisions(p), [r("1.30.3")]);
    });

    it("2. the pin moves to 1.31.1: the running 1.30.3 stays, 1.31.1 is added, the tag moves, base goes up", () => {
        const p = plan("1.31.1", [r("1.30.3")]);
        assert.deepEqual(p.revisions, [r("1.30.3"), r("1.31.1")]);
        assert.deepEqual(p.tags, [{ tag: "default", ...r("1.31.1") }]);
        assert.deepEqual(p.base, { version: "1.31.1", defaultRevision: "1-31-1" });
        assert.deepEqual(recordedRevisions(p), [r("1.30.3"), r("1.31.1")]);
    });

    it("2'. a canary: 1.31.1 added while the tag stays on 1.30.3", () => {
        const p = plan("1.31.1", [r("1.30.3")], { tags: { default: "1.30.3" } });
        assert.deepEqual(p.tags, [{ tag: "default", ...r("1.30.3") }]);
        assert.deepEqual(p.base, { version: "1.31.1", defaultRevision: "1-30-3" });
        assert.deepEqual(p.revisions, [r("1.30.3"), r("1.31.1")]);
    });

    it("3. a second up with nothing changed keeps both (the record now names both)", () => {
        const p = plan("1.31.1", [r("1.30.3"), r("1.31.1")]);
        assert.deepEqual(p.revisions, [r("1.30.3"), r("1.31.1")]);
        assert.deepEqual(p.active, r("1.31.1"));
    });

    it("4. rollback by one setting: the tag back on 1.30.3, both still installed, base stays at the highest", () => {
        const p = plan("1.31.1", [r("1.30.3"), r("1.31.1")], { tags: { default: "1-30-3" } });
        assert.deepEqual(p.active, r("1.30.3"));
        assert.deepEqual(p.revisions, [r("1.30.3"), r("1.31.1")]);
        assert.deepEqual(p.base, { version: "1.31.1", defaultRevision: "1-30-3" });
    });

    it("4'. rollback by the pin: setting it back to 1.30.3 moves the tag and keeps 1.31.1", () => {
        const p = plan("1.30.3", [r("1.30.3"), r("1.31.1")]);
        assert.deepEqual(p.active, r("1.30.3"));
        assert.deepEqual(p.revisions, [r("1.30.3"), r("1.31.1")]);
        assert.deepEqual(p.base, { version: "1.31.1", defaultRevision: "1-30-3" });
    });

    it("5. retiring 1.30.3 once the tag is on 1.31.1 removes it and records only 1.31.1", () => {
        const p = plan("1.31.1", [r("1.30.3"), r("1.31.1")], { retire: ["1.30.3"] });
        assert.deepEqual(p.revisions, [r("1.31.1")]);
        assert.deepEqual(p.retiring, [r("1.30.3")]);
        assert.deepEqual(recordedRevisions(p), [r("1.31.1")]);
        assert.deepEqual(p.base, { version: "1.31.1", defaultRevision: "1-31-1" });
    });

    it("6. a retire left in config after the revision is gone does nothing", () => {
        const p = plan("1.31.1", [r("1.31.1")], { retire: ["1.30.3"] });
        assert.deepEqual(p.revisions, [r("1.31.1")]);
        assert.deepEqual(p.retiring, []);
    });

    it("keeps a version the user asks for, never deployed before", () => {
        const p = plan("1.31.1", [], { keepRevisions: ["1.30.3"] });
        assert.deepEqual(p.revisions, [r("1.30.3"), r("1.31.1")]);
        assert.deepEqual(p.active, r("1.31.1"));
    });

    it("lets more tags point at other installed revisions, default first", () => {
        const p = plan("1.31.1", [r("1.30.3")], { tags: { stable: "1.30.3", canary: "1.31.1" } });
        assert.deepEqual(
            p.tags.map((t) => [t.tag, t.revision]),
            [
                ["default", "1-31-1"],
                ["stable", "1-30-3"],
                ["canary", "1-31-1"],
            ],
        );
    });
});

describe("revisions: migrating a stack installed without revisions", () => {
    const legacy = { revision: "default", version: "1.30.3" };

    it("keeps the unrevisioned istiod at its own version beside the new revision, until it is retired", () => {
        const p = plan("1.31.1", [legacy]);
        assert.deepEqual(p.legacy, legacy);
        assert.deepEqual(p.revisions, [r("1.31.1")]);
        assert.deepEqual(p.active, r("1.31.1"));
        assert.deepEqual(p.base, { version: "1.31.1", defaultRevision: "1-31-1" });
        assert.deepEqual(recordedRevisions(p), [legacy, r("1.31.1")]);
    });

    it("adds a revision of the same version when the pin did not move", () => {
        const p = plan("1.30.3", [legacy]);
        assert.deepEqual(p.legacy, legacy);
        assert.deepEqual(p.revisions, [r("1.30.3")]);
    });

    it("removes it on retire default", () => {
        const p = plan("1.31.1", [legacy, r("1.31.1")], { retire: ["default"] });
        assert.equal(p.legacy, undefined);
        assert.deepEqual(p.retiring, [legacy]);
        assert.deepEqual(recordedRevisions(p), [r("1.31.1")]);
    });

    it("names it in the list of what is installed", () => {
        const [msg] = problemsOf(() => plan("1.31.1", [legacy], { tags: { canary: "1.29.0" } }));
        assert.match(msg, /\(got "1\.29\.0"; installed: 1\.31\.1, the unrevisioned istiod \(1\.30\.3\)\)/);
    });

    it("refuses a tag on it, naming the revisions a tag may point at", () => {
        const [msg] = problemsOf(() => plan("1.31.1", [legacy], { tags: { default: "default" } }));
        assert.match(msg, /^istio\.upgrade\.tags\.default points at the istiod installed without a revision \(got "default"\)/);
        assert.match(msg, /Fix: point it at one of 1\.31\.1, or keep that version as a revision/);
    });
});

describe("revisions: problems, before anything is created", () => {
    it("refuses a tag on a revision that is not installed, naming what is", () => {
        const [msg] = problemsOf(() => plan("1.31.1", [r("1.31.1")], { tags: { default: "1.29.0" } }));
        assert.equal(
            msg,
            `istio.upgrade.tags.default must point at an installed revision (got "1.29.0"; installed: 1.31.1). Fix: point it at one of those, or install it too: pulumi config set --path 'istio.upgrade.keepRevisions[0]' 1.29.0 --stack prod`,
        );
    });

    it("refuses to retire a revision a tag points at, and says how to move it", () => {
        const [msg] = problemsOf(() => plan("1.31.1", [r("1.30.3"), r("1.31.1")], { retire: ["1.30.3"], tags: { default: "1.30.3" } }));
        assert.equal(
            msg,
            `istio.upgrade.tags.default points at "1.30.3", which istio.upgrade.retire removes: a revision a tag points at is in use. Fix: point the tag at another revision first, or pulumi config rm --path istio.upgrade.retire --stack prod`,
        );
    });

    it("says a tag the user set points at a retired revision without blaming the pin, and ignores a retire it cannot read", () => {
        const [msg] = problemsOf(() => plan("1.31.1", [r("1.30.3"), r("1.31.1")], { retire: ["1.30.3"], tags: { stable: "1.30.3" } }));
        assert.match(
            msg,
            /^istio\.upgrade\.tags\.stable points at "1\.30\.3", which istio\.upgrade\.retire removes.*Fix: point the tag at another revision first, or/,
        );
        const p = plan("1.31.1", [r("1.31.1")], { retire: ["not-a-version"] });
        assert.deepEqual(p.revisions, [r("1.31.1")]);
    });

    it("refuses to retire the pinned version the default tag follows", () => {
        const [msg] = problemsOf(() => plan("1.31.1", [r("1.30.3"), r("1.31.1")], { retire: ["1.31.1"] }));
        assert.match(
            msg,
            /^istio\.upgrade\.tags\.default points at "1\.31\.1", which istio\.upgrade\.retire removes.*\(it follows the pinned version: move the pin\)/,
        );
    });

    it("reports every bad tag at once", () => {
        try {
            plan("1.31.1", [], { tags: { a: "1.29.0", b: "1.28.0" } });
        } catch (e) {
            assert.equal((e as Error).name, "RevisionPlanError");
            assert.match((e as Error).message, /^istio\.upgrade\.tags\.a .*\nistio\.upgrade\.tags\.b /s);
        }
        const problems = problemsOf(() => plan("1.31.1", [], { tags: { a: "1.29.0", b: "1.28.0" } }));
        assert.equal(problems.length, 2);
        assert.match(problems[0], /tags\.a .*"1\.29\.0"/);
        assert.match(problems[1], /tags\.b .*"1\.28\.0"/);
    });
});

describe("revisions: in place", () => {
    it("installs one unrevisioned istiod at the pin, without tags", () => {
        const p = planRevisions({
            version: "1.31.1",
            upgrade: { ...NONE, strategy: "inPlace" },
            previous: [{ revision: "default", version: "1.30.3" }],
        });
        assert.deepEqual(p.revisions, []);
        assert.deepEqual(p.legacy, { revision: "default", version: "1.31.1" });
        assert.deepEqual(p.tags, []);
        assert.deepEqual(p.base, { version: "1.31.1", defaultRevision: "default" });
        assert.deepEqual(recordedRevisions(p), [{ revision: "default", version: "1.31.1" }]);
        assert.equal(p.strategy, "inPlace");
        assert.deepEqual(p.retiring, []);
    });

    it("refuses to go back to in place while revisions run", () => {
        const [msg] = problemsOf(() =>
            planRevisions({ version: "1.31.1", upgrade: { ...NONE, strategy: "inPlace" }, previous: [r("1.30.3"), r("1.31.1")] }),
        );
        assert.match(
            msg,
            /^istio\.upgrade\.strategy "inPlace" needs a single istiod installed without a revision, but this stack runs revisions 1\.30\.3, 1\.31\.1/,
        );
        assert.match(msg, /Fix: pulumi config set --path istio\.upgrade\.strategy revisions --stack <stack>$/);
    });
});
