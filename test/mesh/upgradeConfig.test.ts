import { strict as assert } from "assert";
import { validateConfig } from "../../components/config";
import { PINS } from "../../components/versions";
import { ISTIO_RELEASES } from "../../components/mesh/revisions";
import { EXISTING_KUBECONFIG, rawConfigFor } from "../harness";
import { K, problems } from "../configProblems";

const PROD = { [`${K}kubeconfig`]: EXISTING_KUBECONFIG };
const prodWith = (istio: unknown) => problems("prod", { ...PROD, [`${K}istio`]: istio });
const known = ISTIO_RELEASES.join(", ");
const ISTIO_VERSION = PINS.istio.version;

describe("mesh config: istio.version and istio.upgrade", () => {
    it("knows the pinned release and the one before it", () => {
        assert.ok(ISTIO_RELEASES.includes(ISTIO_VERSION), `${ISTIO_VERSION} is not in ${known}`);
        assert.ok(ISTIO_RELEASES.length >= 2);
    });

    it("upgrades through revisions on an existing cluster and in place on kind, at the pin", () => {
        const prod = validateConfig(rawConfigFor("prod", PROD));
        assert.equal(prod.istio.upgrade.strategy, "revisions");
        assert.equal(prod.istio.version, ISTIO_VERSION);
        assert.deepEqual(prod.istio.upgrade, { strategy: "revisions", keepRevisions: [], tags: {}, retire: [] });
        const dev = validateConfig(rawConfigFor("dev"));
        assert.equal(dev.istio.upgrade.strategy, "inPlace");
    });

    it("lets a kind stack switch to revisions, and takes istio.version over the pin", () => {
        const dev = validateConfig(
            rawConfigFor("dev", {
                [`${K}istio`]: { version: "1.30.3", upgrade: { strategy: "revisions", tags: { default: "1-30-3", canary: "1.30.3" } } },
            }),
        );
        assert.equal(dev.istio.version, "1.30.3");
        assert.equal(dev.istio.upgrade.strategy, "revisions");
        assert.deepEqual(dev.istio.upgrade.tags, { default: "1-30-3", canary: "1.30.3" });
    });

    it("refuses a version it has no chart values for, naming the ones it has", () => {
        assert.deepEqual(prodWith({ version: "1.29.0" }), [
            `istio.version must be an Istio release this stack has checked its chart values against (${known}) (got "1.29.0"). Fix: use one of those, or pulumi config rm --path istio.version to install the pinned ${ISTIO_VERSION}`,
        ]);
        assert.deepEqual(prodWith({ upgrade: { keepRevisions: ["1.31"] } }), [
            `istio.upgrade.keepRevisions[0] must be an Istio release this stack has checked its chart values against (${known}) (got "1.31"). Fix: use one of those`,
        ]);
    });

    it("refuses tags that are not DNS labels or that name a revision, and targets that are not versions", () => {
        assert.deepEqual(prodWith({ upgrade: { tags: { "1-30-3": "1.30.3", Canary: "1.30.3", stable: "latest" } } }), [
            `istio.upgrade.tags.stable must name an Istio version or revision such as "1.31.1" (or "1-31-1") (got "latest").`,
            `istio.upgrade.tags["1-30-3"] must be a tag name: a DNS label that is not a revision name (got "1-30-3"). Fix: use a name such as "stable" or "canary".`,
            `istio.upgrade.tags.Canary must be a tag name: a DNS label that is not a revision name (got "Canary"). Fix: use a name such as "stable" or "canary".`,
        ]);
    });

    it("refuses to keep and retire the same version, and a retire that names no version", () => {
        assert.deepEqual(prodWith({ upgrade: { keepRevisions: ["1.30.3"], retire: ["1.30.3", "old"] } }), [
            `istio.upgrade.retire[1] must be an Istio version such as "1.30.3", or "default" for the istiod installed without a revision (got "old").`,
        ]);
        assert.deepEqual(prodWith({ upgrade: { keepRevisions: ["1.30.3"], retire: ["1.30.3"] } }), [
            `istio.upgrade.retire[0] names "1.30.3", which istio.upgrade.keepRevisions keeps (got both). Fix: remove it from one of them.`,
        ]);
    });

    it("refuses revision settings on an istiod upgraded in place, saying which setting made it so", () => {
        assert.deepEqual(problems("dev", { [`${K}istio`]: { upgrade: { keepRevisions: ["1.30.3"] } } }), [
            `istio.upgrade.keepRevisions needs revisions (got ["1.30.3"], but an istiod upgraded in place is the default on kind, which installs one istiod without a revision). Fix: pulumi config set --path istio.upgrade.strategy revisions --stack dev, or pulumi config rm --path istio.upgrade.keepRevisions --stack dev`,
        ]);
        assert.deepEqual(prodWith({ upgrade: { strategy: "inPlace", tags: { canary: "1.30.3" }, retire: ["1.30.3"] } }), [
            `istio.upgrade.tags needs revisions (got {"canary":"1.30.3"}, but istio.upgrade.strategy is "inPlace", which installs one istiod without a revision). Fix: pulumi config set --path istio.upgrade.strategy revisions --stack prod, or pulumi config rm --path istio.upgrade.tags --stack prod`,
            `istio.upgrade.retire needs revisions (got ["1.30.3"], but istio.upgrade.strategy is "inPlace", which installs one istiod without a revision). Fix: pulumi config set --path istio.upgrade.strategy revisions --stack prod, or pulumi config rm --path istio.upgrade.retire --stack prod`,
        ]);
    });

    it("names the known settings of istio.upgrade on a typo", () => {
        assert.deepEqual(prodWith({ upgrade: { keep: ["1.30.3"] } }), [
            `istio.upgrade.keep is not a known setting (got ["1.30.3"]). Fix: use one of strategy, keepRevisions, tags, retire.`,
        ]);
    });
});
