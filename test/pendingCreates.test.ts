import { strict as assert } from "assert";
import { KubeApi } from "../components/meshReadiness";
import { clearPendingArgv, pendingCreates, pendingReleases, providerAccess, removeReleaseRecords } from "../scripts/pendingCreates";

/** A `pulumi stack export --show-secrets` of dev, interrupted while installing istiod and applying a namespace. */
const EXPORT = JSON.stringify({
    version: 3,
    deployment: {
        manifest: { time: "2026-11-22T04:00:00Z" },
        resources: [
            { urn: "urn:pulumi:dev::istio-mesh::pulumi:pulumi:Stack::istio-mesh-dev", type: "pulumi:pulumi:Stack" },
            {
                urn: "urn:pulumi:dev::istio-mesh::pulumi:providers:kubernetes::k8s",
                type: "pulumi:providers:kubernetes",
                inputs: { kubeconfig: "apiVersion: v1\nkind: Config\n", context: "", deleteUnreachable: "true" },
            },
        ],
        pending_operations: [
            {
                type: "creating",
                resource: {
                    urn: "urn:pulumi:dev::istio-mesh::istio-mesh:index:IstioMesh$kubernetes:helm.sh/v3:Release::istio-istiod",
                    type: "kubernetes:helm.sh/v3:Release",
                    inputs: { name: "istiod", namespace: "istio-system", chart: "istiod" },
                },
            },
            {
                type: "creating",
                resource: {
                    urn: "urn:pulumi:dev::istio-mesh::istio-mesh:index:Bookinfo$kubernetes:core/v1:Namespace::bookinfo-namespace-bookinfo",
                    type: "kubernetes:core/v1:Namespace",
                    inputs: { metadata: { name: "bookinfo" } },
                },
            },
            {
                type: "updating",
                resource: {
                    urn: "urn:pulumi:dev::istio-mesh::istio-mesh:index:Observability$kubernetes:helm.sh/v3:Release::observability-grafana",
                    type: "kubernetes:helm.sh/v3:Release",
                    inputs: { name: "grafana", namespace: "observability" },
                },
            },
        ],
    },
});

describe("recovery of an interrupted up", () => {
    it("finds the creates that were in flight, and the Helm releases among them", () => {
        assert.deepEqual(
            pendingCreates(EXPORT).map((p) => p.type),
            ["kubernetes:helm.sh/v3:Release", "kubernetes:core/v1:Namespace"],
        );
        assert.deepEqual(pendingReleases(EXPORT), [
            {
                urn: "urn:pulumi:dev::istio-mesh::istio-mesh:index:IstioMesh$kubernetes:helm.sh/v3:Release::istio-istiod",
                namespace: "istio-system",
                name: "istiod",
            },
        ]);
        assert.deepEqual(pendingCreates(JSON.stringify({ deployment: { resources: [] } })), []);
        assert.throws(() => pendingCreates("Enter your passphrase"), { message: "pulumi stack export did not print JSON" });
    });

    it("reaches the cluster with the stack's own provider settings", () => {
        assert.deepEqual(providerAccess(EXPORT), { kubeconfig: "apiVersion: v1\nkind: Config\n", context: undefined });
        assert.equal(providerAccess(JSON.stringify({ deployment: { resources: [] } })), undefined);
    });

    it("frees a release name by removing only that release's Helm records", async () => {
        const calls: string[] = [];
        const api: KubeApi = {
            async request(method, path) {
                calls.push(`${method} ${path}`);
                if (method === "GET") {
                    return {
                        status: 200,
                        body: {
                            items: [
                                { metadata: { name: "sh.helm.release.v1.istiod.v2" } },
                                { metadata: { name: "sh.helm.release.v1.istiod.v1" } },
                                { metadata: { name: "sh.helm.release.v1.istiod-canary.v1" } },
                            ],
                        },
                    };
                }
                return { status: 200, body: {} };
            },
        };
        const removed = await removeReleaseRecords(api, { urn: "u", namespace: "istio-system", name: "istiod" });
        assert.deepEqual(removed, ["sh.helm.release.v1.istiod.v1", "sh.helm.release.v1.istiod.v2"]);
        assert.deepEqual(calls, [
            "GET /api/v1/namespaces/istio-system/secrets?labelSelector=owner%3Dhelm%2Cname%3Distiod",
            "DELETE /api/v1/namespaces/istio-system/secrets/sh.helm.release.v1.istiod.v1",
            "DELETE /api/v1/namespaces/istio-system/secrets/sh.helm.release.v1.istiod.v2",
        ]);
    });

    it("finds nothing to free when the namespace never came to exist, and fails loudly on a refused deletion", async () => {
        const missing: KubeApi = { request: async () => ({ status: 404, body: {} }) };
        assert.deepEqual(await removeReleaseRecords(missing, { urn: "u", namespace: "istio-system", name: "istiod" }), []);
        const refusing: KubeApi = {
            request: async (method) =>
                method === "GET"
                    ? { status: 200, body: { items: [{ metadata: { name: "sh.helm.release.v1.istiod.v1" } }] } }
                    : { status: 403, body: {} },
        };
        await assert.rejects(removeReleaseRecords(refusing, { urn: "u", namespace: "istio-system", name: "istiod" }), {
            message: "removing record sh.helm.release.v1.istiod.v1 of Helm release istio-system/istiod: HTTP 403",
        });
    });

    it("then drops the pending operations with a refresh that asks nothing", () => {
        assert.deepEqual(clearPendingArgv("dev"), [
            "pulumi",
            "refresh",
            "--yes",
            "--skip-preview",
            "--clear-pending-creates",
            "--stack",
            "dev",
        ]);
    });
});
