import { strict as assert } from "assert";
import { KubeApi } from "../../components/probe";
import {
    clearPendingArgv,
    pendingCreates,
    pendingReleases,
    providerAccess,
    removeReleaseRecords,
    revealed,
} from "../../tools/pendingCreates";

/** How `pulumi stack export --show-secrets` writes a secret (pulumi pkg/resource/stack/deployment.go): its value as JSON text. */
const secret = (value: unknown) => ({
    "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
    plaintext: JSON.stringify(value),
});

/** dev's state, interrupted while installing istiod, applying a namespace and upgrading Grafana. */
const EXPORT = JSON.stringify({
    version: 3,
    deployment: {
        manifest: { time: "2026-11-22T04:00:00Z" },
        resources: [
            { urn: "urn:pulumi:dev::istio-mesh::pulumi:pulumi:Stack::istio-mesh-dev", type: "pulumi:pulumi:Stack" },
            {
                urn: "urn:pulumi:dev::istio-mesh::pulumi:providers:kubernetes::k8s",
                type: "pulumi:providers:kubernetes",
                inputs: { kubeconfig: secret("apiVersion: v1\nkind: Config\n"), context: "", deleteUnreachable: "true" },
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
            {
                type: "deleting",
                resource: { urn: "urn:pulumi:dev::istio-mesh::kubernetes:core/v1:ConfigMap::old", type: "kubernetes:core/v1:ConfigMap" },
            },
        ],
    },
});

/** A cluster holding Helm records; records the deletions. */
function records(items: { name: string; status: string }[]): KubeApi & { deleted: string[]; listed: string[] } {
    const deleted: string[] = [];
    const listed: string[] = [];
    return {
        deleted,
        listed,
        async request(method, path) {
            if (method === "GET") {
                listed.push(path);
                return { status: 200, body: { items: items.map((i) => ({ metadata: { name: i.name, labels: { status: i.status } } })) } };
            }
            deleted.push(path);
            return { status: 200, body: {} };
        },
    };
}

describe("recovery of an interrupted up", () => {
    it("finds the creates and updates that were in flight, and the Helm releases among them", () => {
        assert.deepEqual(
            pendingCreates(EXPORT).map((p) => p.type),
            ["kubernetes:helm.sh/v3:Release", "kubernetes:core/v1:Namespace", "kubernetes:helm.sh/v3:Release"],
        );
        assert.deepEqual(pendingReleases(EXPORT), [
            {
                urn: "urn:pulumi:dev::istio-mesh::istio-mesh:index:IstioMesh$kubernetes:helm.sh/v3:Release::istio-istiod",
                namespace: "istio-system",
                name: "istiod",
                operation: "creating",
            },
            {
                urn: "urn:pulumi:dev::istio-mesh::istio-mesh:index:Observability$kubernetes:helm.sh/v3:Release::observability-grafana",
                namespace: "observability",
                name: "grafana",
                operation: "updating",
            },
        ]);
        assert.deepEqual(pendingCreates(JSON.stringify({ deployment: { resources: [] } })), []);
        assert.throws(() => pendingCreates("Enter your passphrase"), { message: "pulumi stack export did not print JSON" });
    });

    it("frees only Helm releases that were being installed or upgraded, not a release being deleted nor a v4 Chart", () => {
        const chart = "urn:pulumi:dev::istio-mesh::kubernetes:helm.sh/v4:Chart::addons";
        const exported = JSON.stringify({
            deployment: {
                pending_operations: [
                    {
                        type: "deleting",
                        resource: {
                            urn: "urn:pulumi:dev::istio-mesh::kubernetes:helm.sh/v3:Release::old",
                            type: "kubernetes:helm.sh/v3:Release",
                            inputs: { name: "old", namespace: "istio-system" },
                        },
                    },
                    // A v4 Chart renders its objects itself: no Helm release records to free.
                    {
                        type: "creating",
                        resource: {
                            urn: chart,
                            type: "kubernetes:helm.sh/v4:Chart",
                            inputs: { name: "addons", namespace: "observability" },
                        },
                    },
                    { type: "creating", resource: { urn: "urn:pulumi:dev::istio-mesh::x::untyped" } },
                ],
            },
        });
        assert.deepEqual(pendingReleases(exported), []);
        assert.deepEqual(pendingCreates(exported), [
            { urn: chart, type: "kubernetes:helm.sh/v4:Chart" },
            { urn: "urn:pulumi:dev::istio-mesh::x::untyped", type: "" },
        ]);
    });

    it("reaches the cluster with the stack's own provider settings, revealing the secret kubeconfig", () => {
        assert.deepEqual(providerAccess(EXPORT), { kubeconfig: "apiVersion: v1\nkind: Config\n", context: undefined });
        const withContext = EXPORT.replace('"context":""', `"context":${JSON.stringify(secret("prod"))}`);
        assert.deepEqual(providerAccess(withContext)?.context, "prod");
        assert.equal(providerAccess(JSON.stringify({ deployment: { resources: [] } })), undefined);
        assert.equal(
            providerAccess(
                JSON.stringify({
                    deployment: {
                        resources: [{ type: "pulumi:providers:kubernetes", inputs: { kubeconfig: secret(""), context: "prod" } }],
                    },
                }),
            ),
            undefined,
            "an empty kubeconfig reaches no cluster",
        );
        assert.equal(revealed("plain"), "plain");
        // Without --show-secrets an export holds ciphertext: nothing to reveal.
        assert.equal(revealed({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "AAAA" }), undefined);
        assert.equal(
            revealed({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: "{not json" }),
            undefined,
        );
    });

    it("frees an interrupted install's name by removing only that release's Helm records", async () => {
        const api = records([
            { name: "sh.helm.release.v1.istiod.v2", status: "pending-install" },
            { name: "sh.helm.release.v1.istiod.v1", status: "failed" },
            { name: "sh.helm.release.v1.istiod-canary.v1", status: "deployed" },
        ]);
        const removed = await removeReleaseRecords(api, { urn: "u", namespace: "istio-system", name: "istiod", operation: "creating" });
        assert.deepEqual(removed, ["sh.helm.release.v1.istiod.v1", "sh.helm.release.v1.istiod.v2"]);
        assert.deepEqual(api.listed, ["/api/v1/namespaces/istio-system/secrets?labelSelector=owner%3Dhelm%2Cname%3Distiod"]);
        assert.deepEqual(api.deleted, [
            "/api/v1/namespaces/istio-system/secrets/sh.helm.release.v1.istiod.v1",
            "/api/v1/namespaces/istio-system/secrets/sh.helm.release.v1.istiod.v2",
        ]);
    });

    it("frees an interrupted upgrade by removing only its pending records, so Helm sees the last deployed revision", async () => {
        const api = records([
            { name: "sh.helm.release.v1.grafana.v1", status: "superseded" },
            { name: "sh.helm.release.v1.grafana.v2", status: "deployed" },
            { name: "sh.helm.release.v1.grafana.v3", status: "pending-upgrade" },
        ]);
        const removed = await removeReleaseRecords(api, { urn: "u", namespace: "observability", name: "grafana", operation: "updating" });
        assert.deepEqual(removed, ["sh.helm.release.v1.grafana.v3"]);
        assert.deepEqual(api.deleted, ["/api/v1/namespaces/observability/secrets/sh.helm.release.v1.grafana.v3"]);
        // An interrupted rollback (Helm's own --atomic after a failed upgrade) blocks the next upgrade the same way.
        const rollingBack = records([
            { name: "sh.helm.release.v1.grafana.v2", status: "deployed" },
            { name: "sh.helm.release.v1.grafana.v3", status: "failed" },
            { name: "sh.helm.release.v1.grafana.v4", status: "pending-rollback" },
        ]);
        assert.deepEqual(
            await removeReleaseRecords(rollingBack, { urn: "u", namespace: "observability", name: "grafana", operation: "updating" }),
            ["sh.helm.release.v1.grafana.v4"],
        );
    });

    it("finds nothing to free when the namespace never came to exist, and fails loudly on a refused deletion", async () => {
        const missing: KubeApi = { request: async () => ({ status: 404, body: {} }) };
        const release = { urn: "u", namespace: "istio-system", name: "istiod", operation: "creating" as const };
        assert.deepEqual(await removeReleaseRecords(missing, release), []);
        const refusing: KubeApi = {
            request: async (method) =>
                method === "GET"
                    ? { status: 200, body: { items: [{ metadata: { name: "sh.helm.release.v1.istiod.v1" } }] } }
                    : { status: 403, body: {} },
        };
        await assert.rejects(removeReleaseRecords(refusing, release), {
            message: "removing record sh.helm.release.v1.istiod.v1 of Helm release istio-system/istiod: HTTP 403",
        });
        const unlistable: KubeApi = { request: async () => ({ status: 403, body: { message: "forbidden" } }) };
        await assert.rejects(removeReleaseRecords(unlistable, release), {
            message: "listing the records of Helm release istio-system/istiod: HTTP 403",
        });
    });

    it("counts a record as removed when the deletion is accepted for later or the record is already gone", async () => {
        const answers: Record<string, number> = { "sh.helm.release.v1.istiod.v1": 202, "sh.helm.release.v1.istiod.v2": 404 };
        const api: KubeApi = {
            request: async (method, path) =>
                method === "GET"
                    ? { status: 200, body: { items: Object.keys(answers).map((name) => ({ metadata: { name } })) } }
                    : { status: answers[path.split("/").pop() ?? ""], body: {} },
        };
        assert.deepEqual(await removeReleaseRecords(api, { urn: "u", namespace: "istio-system", name: "istiod", operation: "creating" }), [
            "sh.helm.release.v1.istiod.v1",
            "sh.helm.release.v1.istiod.v2",
        ]);
    });

    it("then drops the pending operations with a refresh that asks nothing, not even per pending create", () => {
        assert.deepEqual(clearPendingArgv("dev"), [
            "pulumi",
            "refresh",
            "--yes",
            "--skip-preview",
            "--non-interactive",
            "--clear-pending-creates",
            "--stack",
            "dev",
        ]);
    });
});
