/**
 * The prod stack evaluated under mocks across a sequence of configs, each run reading back the
 * outputs of the one before, as `pulumi up` does through the stack's reference to itself:
 * 1.30.3 installed, 1.31.1 added (the tag moves with the pin), the tag moved back (rollback),
 * forward again, 1.30.3 retired. Asserts the resources, their order, and that nothing serving
 * traffic is replaced.
 */
import { strict as assert } from "assert";
import { EXISTING_KUBECONFIG, inputValue, Recorded, resolve, Run, runStack } from "../harness";
import { PROXY_REVISION_ANNOTATION } from "../../components/mesh/istioValues";
import { validateManifest } from "../schemas";

const K = "istio-mesh:";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const MWC = "kubernetes:admissionregistration.k8s.io/v1:MutatingWebhookConfiguration";
const VWC = "kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration";

/** One `up` of prod: its run, and the outputs the next one reads back. */
interface Up {
    readonly run: Run;
    readonly outputs: Record<string, unknown>;
}

async function up(istio: Record<string, unknown>, last: Up | undefined): Promise<Up> {
    const run = await runStack(
        "prod",
        {
            [`${K}kubeconfig`]: EXISTING_KUBECONFIG,
            [`${K}istio`]: { istiod: { replicas: 2, podDisruptionBudget: true }, gateway: { replicas: 2 }, ...istio },
        },
        { lastOutputs: last?.outputs },
    );
    const outputs: Record<string, unknown> = {};
    for (const name of ["istioRevisions", "istioVersion", "istioRevisionTag"])
        outputs[name] = (await resolve(run.outputs[name] as never)).value;
    return { run, outputs };
}

const istiods = (run: Run) =>
    run
        .ofType(RELEASE)
        .filter((r) => r.inputs.chart === "istiod")
        .map((r) => [r.name, r.inputs.name, r.inputs.version, r.inputs.values.revision])
        .sort();

const annotationOf = (r: Recorded) => r.inputs.spec.template.metadata.annotations?.[PROXY_REVISION_ANNOTATION];

/** Inputs that make pulumi-kubernetes replace an object instead of updating it in place. */
function replacementKey(r: Recorded): unknown {
    if (r.type === RELEASE) return [r.inputs.name, r.inputs.namespace]; // provider/pkg/provider/helm_release.go: only name and namespace
    if (r.type === "kubernetes:apps/v1:Deployment") return [r.inputs.metadata.name, r.inputs.metadata.namespace, r.inputs.spec.selector];
    if (r.type.startsWith("kubernetes:")) return [r.inputs.metadata?.name, r.inputs.metadata?.namespace];
    return undefined;
}

/** What serves traffic: the Helm releases, the workloads, their namespaces and Services, the tag injectors. */
function serving(run: Run): Recorded[] {
    return run.resources.filter((r) =>
        [RELEASE, MWC, VWC, "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Namespace", "kubernetes:core/v1:Service"].includes(r.type),
    );
}

/** Every serving resource of `before` that `after` still has keeps its name and the inputs that would replace it. */
function assertNothingReplaced(before: Run, after: Run, removed: string[] = []): void {
    for (const r of serving(before)) {
        const now = after.find(r.name);
        if (removed.includes(r.name)) {
            assert.equal(now, undefined, `${r.name} should be gone`);
            continue;
        }
        assert.ok(now, `${r.type}::${r.name} disappeared`);
        assert.deepEqual(replacementKey(now), replacementKey(r), `${r.type}::${r.name} would be replaced`);
    }
}

describe("canary upgrade of prod: 1.30.3 → 1.31.1 → rollback → retire", function () {
    this.timeout(120000);
    let first: Up, second: Up, rolledBack: Up, forward: Up, retired: Up, after: Up;
    before(async () => {
        first = await up({ version: "1.30.3" }, undefined);
        second = await up({ version: "1.31.1" }, first);
        rolledBack = await up({ version: "1.31.1", upgrade: { tags: { default: "1.30.3" } } }, second);
        forward = await up({ version: "1.31.1" }, rolledBack);
        retired = await up({ version: "1.31.1", upgrade: { retire: ["1.30.3"] } }, forward);
        after = await up({ version: "1.31.1", upgrade: { retire: ["1.30.3"] } }, retired);
    });

    it("reads what the last deployment installed from the stack itself, before anything else", () => {
        const self = first.run.get("last-deployment", "pulumi:pulumi:StackReference");
        assert.equal(self.inputs.name, "organization/istio-mesh/prod");
        assert.equal(first.run.resources[0].name, "last-deployment", "read before any resource is registered");
    });

    it("1. installs one istiod revision, tags it default and records it", () => {
        assert.deepEqual(istiods(first.run), [["istio-istiod-1-30-3", "istiod-1-30-3", "1.30.3", "1-30-3"]]);
        assert.deepEqual(first.outputs.istioRevisions, [{ revision: "1-30-3", version: "1.30.3" }]);
        assert.equal(first.outputs.istioRevisionTag, "default");
        assert.equal(first.outputs.istioVersion, "1.30.3");
        const base = first.run.get("istio-base");
        assert.equal(base.inputs.version, "1.30.3");
        assert.equal(base.inputs.values.defaultRevision, "", "base renders no validator: the default tag's follows the tag");
        assert.equal(first.run.get("istio-istiod-1-30-3").inputs.values.revisionTags, undefined, "no tag owned by a Helm release");
    });

    it("1. orders base → istiod → its gate → the tag and the validator → the tag's gate → gateway and Bookinfo", () => {
        const r = first.run;
        assert.ok(r.get("istio-istiod-1-30-3").dependsOn.includes("istio-base"));
        assert.deepEqual(r.get("istio-ready-1-30-3").dependsOn, ["istio-istiod-1-30-3"]);
        assert.deepEqual(r.get("istio-tag-default").dependsOn, ["istio-ready-1-30-3"]);
        assert.deepEqual(r.get("istio-default-validator").dependsOn, ["istio-ready-1-30-3"]);
        assert.deepEqual(r.get("istio-ready").dependsOn.sort(), ["istio-default-validator", "istio-tag-default"]);
        assert.deepEqual(r.get("istio-gateway").dependsOn, ["istio-ready"]);
        for (const d of r.ofType("kubernetes:apps/v1:Deployment")) assert.ok(r.waitsFor(d.name).has("istio-ready"), d.name);
        const env = (name: string) => inputValue(r.get(name).inputs.environment).value as Record<string, string>;
        assert.equal(env("istio-ready-1-30-3").MESH_GATE, "revision");
        assert.equal(env("istio-ready-1-30-3").MESH_REVISION, "1-30-3");
        assert.equal(env("istio-ready").MESH_GATE, "tag");
        assert.equal(env("istio-ready").MESH_REVISION, "1-30-3");
    });

    it("1. puts the stack's namespaces on the tag, never on a revision, and the workloads' proxies on its revision", () => {
        const r = first.run;
        assert.equal(r.get("bookinfo-namespace-bookinfo").inputs.metadata.labels["istio.io/rev"], "default");
        assert.equal(r.get("bookinfo-namespace-bookinfo").inputs.metadata.labels["istio-injection"], undefined);
        assert.equal(r.get("istio-ingress-ns").inputs.metadata.labels["istio.io/rev"], "default");
        for (const d of r.ofType("kubernetes:apps/v1:Deployment")) assert.equal(annotationOf(d), "1-30-3", d.name);
        assert.equal(r.get("istio-gateway").inputs.values.podAnnotations[PROXY_REVISION_ANNOTATION], "1-30-3");
    });

    it("1. renders the tag and validator objects valid, pointing at the revision's istiod", async () => {
        const tag = first.run.get("istio-tag-default", MWC).inputs;
        const validator = first.run.get("istio-default-validator", VWC).inputs;
        await validateManifest(tag as { apiVersion: string; kind: string });
        await validateManifest(validator as { apiVersion: string; kind: string });
        assert.equal(tag.metadata.name, "istio-revision-tag-default");
        assert.equal(tag.metadata.labels["istio.io/rev"], "1-30-3");
        assert.equal(tag.metadata.labels["istio-mesh.dev/stack"], "prod");
        assert.ok(tag.webhooks.every((w: any) => w.clientConfig.service.name === "istiod-1-30-3"));
        assert.equal(validator.metadata.name, "istiod-default-validator");
        assert.equal(validator.webhooks[0].clientConfig.service.name, "istiod-1-30-3");
    });

    it("2. the pin moves: adds istiod 1.31.1 beside 1.30.3, which stays as it was, and moves the tag", () => {
        assert.deepEqual(istiods(second.run), [
            ["istio-istiod-1-30-3", "istiod-1-30-3", "1.30.3", "1-30-3"],
            ["istio-istiod-1-31-1", "istiod-1-31-1", "1.31.1", "1-31-1"],
        ]);
        assert.deepEqual(
            second.run.get("istio-istiod-1-30-3").inputs,
            first.run.get("istio-istiod-1-30-3").inputs,
            "the running control plane is not touched",
        );
        assert.equal(second.run.get("istio-tag-default").inputs.metadata.labels["istio.io/rev"], "1-31-1");
        assert.deepEqual(second.run.get("istio-tag-default").dependsOn, ["istio-ready-1-31-1"]);
        assert.equal(second.run.get("istio-base").inputs.version, "1.31.1");
        assert.deepEqual(second.outputs.istioRevisions, [
            { revision: "1-30-3", version: "1.30.3" },
            { revision: "1-31-1", version: "1.31.1" },
        ]);
        assert.equal(second.outputs.istioVersion, "1.31.1");
    });

    it("2. restarts the workloads onto 1.31.1 by their pod template, replacing nothing", () => {
        for (const d of second.run.ofType("kubernetes:apps/v1:Deployment")) assert.equal(annotationOf(d), "1-31-1", d.name);
        assert.equal(second.run.get("istio-gateway").inputs.values.podAnnotations[PROXY_REVISION_ANNOTATION], "1-31-1");
        assertNothingReplaced(first.run, second.run);
        const d = second.run.get("bookinfo-deployment-productpage-v1").inputs.spec;
        assert.equal(d.replicas, 2);
        assert.deepEqual(d.strategy.rollingUpdate, { maxUnavailable: 0, maxSurge: 1 });
        assert.equal(second.run.get("bookinfo-poddisruptionbudget-productpage-v1").inputs.spec.minAvailable, 1);
    });

    it("3. rollback by one setting: the tag and the workloads go back to 1.30.3, both revisions stay", () => {
        assert.equal(istiods(rolledBack.run).length, 2);
        assert.equal(rolledBack.run.get("istio-tag-default").inputs.metadata.labels["istio.io/rev"], "1-30-3");
        assert.equal(rolledBack.run.get("istio-default-validator").inputs.metadata.labels["istio.io/rev"], "1-30-3");
        for (const d of rolledBack.run.ofType("kubernetes:apps/v1:Deployment")) assert.equal(annotationOf(d), "1-30-3", d.name);
        assert.equal(rolledBack.run.get("istio-base").inputs.version, "1.31.1", "the CRDs stay at the newest installed version");
        assertNothingReplaced(second.run, rolledBack.run);
        assert.equal(rolledBack.outputs.istioVersion, "1.30.3");
    });

    it("4. forward again: the same objects as when the pin first moved", () => {
        for (const name of [
            "istio-tag-default",
            "istio-default-validator",
            "istio-istiod-1-31-1",
            "bookinfo-deployment-reviews-v2",
            "istio-gateway",
        ]) {
            assert.deepEqual(forward.run.get(name).inputs, second.run.get(name).inputs, name);
        }
    });

    it("5. retire: checks no proxy runs 1.30.3 after the workloads moved, then its istiod and gate are gone", () => {
        assert.deepEqual(istiods(retired.run), [["istio-istiod-1-31-1", "istiod-1-31-1", "1.31.1", "1-31-1"]]);
        const check = retired.run.get("retire-check");
        assert.equal(check.inputs.create, "node --require ts-node/register/transpile-only scripts/retireRevision.ts");
        const env = inputValue(check.inputs.environment);
        assert.equal(env.secret, true);
        assert.equal((env.value as Record<string, string>).RETIRE_REVISIONS, '["1-30-3"]');
        assert.deepEqual(check.dependsOn.sort(), ["bookinfo", "istio"]);
        assertNothingReplaced(forward.run, retired.run, ["istio-istiod-1-30-3", "istio-ready-1-30-3"]);
        assert.deepEqual(retired.outputs.istioRevisions, [{ revision: "1-31-1", version: "1.31.1" }]);
    });

    it("6. a retire left in config does nothing once the revision is gone", () => {
        assert.equal(after.run.find("retire-check"), undefined);
        assert.deepEqual(istiods(after.run), istiods(retired.run));
    });
});

describe("canary upgrade of prod: a stack installed before revisions", function () {
    this.timeout(60000);
    it("keeps its unrevisioned istiod at its own version, and gives up its injector only once the default tag serves", async () => {
        // What a prod stack deployed before revisions exports: istioVersion, no istioRevisions.
        const legacyOutputs = { istioVersion: "1.30.3" };
        const run = await runStack(
            "prod",
            { [`${K}kubeconfig`]: EXISTING_KUBECONFIG, [`${K}istio`]: { version: "1.31.1" } },
            { lastOutputs: legacyOutputs },
        );
        assert.deepEqual(istiods(run), [
            ["istio-istiod", "istiod", "1.30.3", undefined],
            ["istio-istiod-1-31-1", "istiod-1-31-1", "1.31.1", "1-31-1"],
        ]);
        const legacy = run.get("istio-istiod");
        assert.equal(legacy.inputs.values.global.operatorManageWebhooks, true);
        assert.ok(
            legacy.dependsOn.includes("istio-tag-default") && legacy.dependsOn.includes("istio-default-validator"),
            legacy.dependsOn.join(),
        );
        assert.ok(run.get("istio-ready").dependsOn.includes("istio-istiod"), "the workloads move only once it no longer injects");
        assert.deepEqual((await resolve(run.outputs.istioRevisions as never)).value, [
            { revision: "default", version: "1.30.3" },
            { revision: "1-31-1", version: "1.31.1" },
        ]);
    });

    it("stops before anything is created when a tag points at a revision that is not installed", async () => {
        await assert.rejects(
            runStack("prod", {
                [`${K}kubeconfig`]: EXISTING_KUBECONFIG,
                [`${K}istio`]: { version: "1.31.1", upgrade: { tags: { default: "1.30.3" } } },
            }),
            (e: Error) => {
                assert.match(
                    e.message,
                    /istio\.upgrade\.tags\.default must point at an installed revision \(got "1\.30\.3"; installed: 1\.31\.1\)/,
                );
                assert.match(e.message, /--stack prod/);
                return true;
            },
        );
    });
});

describe("in-place upgrades on kind", () => {
    it("keep one unrevisioned istiod, no tags, and the namespaces on istio-injection", async () => {
        const run = await runStack("dev");
        assert.deepEqual(
            istiods(run).map((r) => r.slice(0, 2)),
            [["istio-istiod", "istiod"]],
        );
        assert.equal(run.ofType(MWC).length + run.ofType(VWC).length, 0);
        assert.equal(run.get("istio-base").inputs.values.defaultRevision, "default");
        assert.equal(run.get("bookinfo-namespace-bookinfo").inputs.metadata.labels["istio-injection"], "enabled");
        for (const d of run.ofType("kubernetes:apps/v1:Deployment")) assert.equal(annotationOf(d), undefined, d.name);
        assert.equal((await resolve(run.outputs.istioRevisionTag as never)).value, "");
    });
});
