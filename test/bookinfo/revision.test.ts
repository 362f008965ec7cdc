import { strict as assert } from "assert";
import { namespaceManifest, workloadManifests } from "../../components/bookinfo/bookinfoManifests";
import { PROXY_REVISION_ANNOTATION } from "../../components/mesh/istioValues";
import { validateManifest } from "../schemas";

type Deployment = {
    metadata: { name: string };
    spec: { replicas: number; strategy: unknown; template: { metadata: { annotations?: Record<string, string> } } };
};

describe("Bookinfo on a revision tag", () => {
    it("labels the namespace with the tag alone in sidecar mode, beside the data plane mode in ambient", () => {
        assert.deepEqual(namespaceManifest("sidecar", false, "default").metadata.labels, { "istio.io/rev": "default" });
        assert.deepEqual(namespaceManifest("sidecar", false).metadata.labels, { "istio-injection": "enabled" });
        assert.deepEqual(namespaceManifest("ambient", false, "default").metadata.labels, {
            "istio.io/dataplane-mode": "ambient",
            "istio.io/rev": "default",
        });
    });

    it("annotates every sidecar Deployment's pods with the revision, so that a moved tag restarts them", () => {
        const deployments = workloadManifests("sidecar", { revision: "1-31-1" }).filter(
            (m) => m.kind === "Deployment",
        ) as unknown as Deployment[];
        assert.equal(deployments.length, 6);
        for (const d of deployments)
            assert.equal(d.spec.template.metadata.annotations?.[PROXY_REVISION_ANNOTATION], "1-31-1", d.metadata.name);
        const productpage = deployments.find((d) => d.metadata.name === "productpage-v1");
        assert.equal(productpage?.spec.template.metadata.annotations?.["prometheus.io/scrape"], "true", "the scrape annotations stay");
        const ambient = workloadManifests("ambient", { revision: "1-31-1" }).filter(
            (m) => m.kind === "Deployment",
        ) as unknown as Deployment[];
        for (const d of ambient)
            assert.equal(
                d.spec.template.metadata.annotations?.[PROXY_REVISION_ANNOTATION],
                undefined,
                "ambient pods have no proxy to move",
            );
    });

    it("runs more replicas with a disruption budget each, and never stops an old pod before a new one is up", async () => {
        const objects = workloadManifests("sidecar", { replicas: 2, revision: "1-31-1" });
        const budgets = objects.filter((m) => m.kind === "PodDisruptionBudget");
        assert.deepEqual(
            budgets.map((b) => [b.metadata.name, (b.spec as { selector: unknown }).selector]),
            [
                ["details-v1", { matchLabels: { app: "details", version: "v1" } }],
                ["ratings-v1", { matchLabels: { app: "ratings", version: "v1" } }],
                ["reviews-v1", { matchLabels: { app: "reviews", version: "v1" } }],
                ["reviews-v2", { matchLabels: { app: "reviews", version: "v2" } }],
                ["reviews-v3", { matchLabels: { app: "reviews", version: "v3" } }],
                ["productpage-v1", { matchLabels: { app: "productpage", version: "v1" } }],
            ],
        );
        for (const m of objects) await validateManifest(m);
        for (const d of objects.filter((m) => m.kind === "Deployment") as unknown as Deployment[]) {
            assert.equal(d.spec.replicas, 2);
            assert.deepEqual(d.spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
        }
        assert.equal(
            workloadManifests("sidecar").filter((m) => m.kind === "PodDisruptionBudget").length,
            0,
            "one replica: a budget would block every drain",
        );
    });
});
