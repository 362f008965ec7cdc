import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { buildGraph, GraphResource, renderMermaid } from "../../tools/graphModel";
import { graphFor } from "../../tools/graph";
import { runStack, ROOT } from "../harness";
import { graphResource } from "../eventFixtures";

const res = graphResource;
const K8S = "urn:pulumi:dev::istio-mesh::pulumi:providers:kubernetes::k8s::k8s-id";

describe("graph model", () => {
    const resources: GraphResource[] = [
        res("cluster", "command:local:Command"),
        res("k8s", "pulumi:providers:kubernetes", { dataDeps: ["cluster"] }),
        res("app", "istio-mesh:index:App", { custom: false }),
        res("app-ns", "kubernetes:core/v1:Namespace", { parent: "app", provider: K8S }),
        res("app-chart", "kubernetes:helm.sh/v3:Release", { parent: "app", provider: K8S, dataDeps: ["app-ns"] }),
        res("app-api", "kubernetes:apps/v1:Deployment", { parent: "app", provider: K8S, dependsOn: ["app-ns"] }),
        res("app-web", "kubernetes:apps/v1:Deployment", { parent: "app", provider: K8S, dependsOn: ["app-ns", "app-chart"] }),
        res("app-worker", "kubernetes:apps/v1:Deployment", { parent: "app", provider: K8S, dependsOn: ["app-ns", "app-chart"] }),
        res("check", "command:local:Command", { dependsOn: ["app"] }),
    ];
    const graph = buildGraph(resources);

    it("waits on a component as on everything in it, and finds the longest chain of blocking waits", () => {
        assert.deepEqual(graph.criticalPath, ["cluster", "app-chart", "app-web", "check"]);
        assert.equal(graph.criticalWaits, 4);
        assert.deepEqual(graph.chainTo.get("app-api"), ["cluster", "app-api"]);
        assert.deepEqual(graph.chainTo.get("k8s"), ["cluster"]);
    });

    it("groups resources of one kind that wait for the same things, and draws only direct waits", () => {
        const ids = graph.steps.map((s) => s.id).sort();
        assert.deepEqual(ids, ["app-api", "app-chart", "app-deployments", "app-ns", "check", "cluster", "k8s"]);
        assert.deepEqual(graph.steps.find((s) => s.id === "app-deployments")?.members, ["app-web", "app-worker"]);
        assert.deepEqual(graph.edges, [
            ["app-api", "check"],
            ["app-chart", "app-deployments"],
            ["app-deployments", "check"],
            ["app-ns", "app-api"],
            ["app-ns", "app-chart"],
            ["cluster", "k8s"],
            ["k8s", "app-ns"],
        ]);
        const mermaid = renderMermaid(graph);
        assert.match(mermaid, /subgraph c_app\["app"\]\n {8}app_ns\["app-ns<br\/><small>Namespace<\/small>"\]/);
        assert.match(mermaid, /app_deployments\(\["app: 2 × Deployment"\]\)/, "blocking steps are rounded");
        assert.match(mermaid, /class cluster,app_chart,app_deployments,check critical/);
    });

    it("counts a read of an existing object as no wait", () => {
        const g = buildGraph([
            res("svc", "kubernetes:core/v1:Service", { read: true }),
            res("after", "command:local:Command", { dependsOn: ["svc"] }),
        ]);
        assert.deepEqual(g.criticalPath, ["after"]);
    });
});

describe("stack graph", () => {
    it("keeps dev's critical path to the Istio install, Bookinfo's rollout and the check", async () => {
        const graph = buildGraph((await runStack("dev")).resources);
        assert.deepEqual(graph.criticalPath, [
            "kind-image-cache",
            "kind-cluster",
            "gateway-api-bundle",
            "istio-base",
            "istio-istiod",
            "istio-ready",
            "bookinfo-deployment-details-v1",
            "verify-run",
        ]);
        // Nothing waits that need not: the addons and the Gateway API CRDs start as soon as the cluster is up;
        // base waits for the Gateway API CRDs, as Istio's upgrade order asks.
        for (const r of ["observability-prometheus", "observability-jaeger", "observability-kiali", "gateway-api-bundle"]) {
            assert.deepEqual(graph.chainTo.get(r), ["kind-image-cache", "kind-cluster", r]);
        }
        assert.deepEqual(graph.chainTo.get("istio-base"), ["kind-image-cache", "kind-cluster", "gateway-api-bundle", "istio-base"]);
        assert.deepEqual(graph.chainTo.get("bookinfo-serviceaccount-bookinfo-productpage"), ["kind-image-cache", "kind-cluster"]);
    });

    it("is what docs/architecture.md shows for dev", async () => {
        const doc = fs.readFileSync(path.join(ROOT, "docs", "architecture.md"), "utf8");
        const m = /<!-- graph:dev:start -->\n([\s\S]*?)\n<!-- graph:dev:end -->/.exec(doc);
        assert.ok(m, "docs/architecture.md has no <!-- graph:dev:start --> ... <!-- graph:dev:end --> block");
        assert.equal(
            m[1],
            await graphFor("dev"),
            "the graph in docs/architecture.md is stale: npm run -s graph -- dev, and paste it between the markers",
        );
    });

    it("names the environments it knows when given another", async () => {
        await assert.rejects(graphFor("qa"), {
            message: 'unknown environment "qa": use one of dev, staging, prod, e.g. npm run graph -- dev',
        });
    });
});
