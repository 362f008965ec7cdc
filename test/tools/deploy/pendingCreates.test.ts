import { strict as assert } from "assert";
import { KubeApi } from "../../../components/probe";
import {
    clearPendingArgv,
    pendingCreates,
    deleteRecords,
    pendingReleases,
    planRecordRemoval,
    providerAccess,
    releaseRecords,
    revealed,
} from "../../../tools/deploy/pendingCreates";

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

    it("never frees a release whose pending create a later run finished: its URN is in the state's resources", () => {
        const istiod = "urn:pulumi:dev::istio-mesh::istio-mesh:index:IstioMesh$kubernetes:helm.sh/v3:Release::istio-istiod";
        const exported = JSON.parse(EXPORT);
        exported.deployment.resources.push({ urn: istiod, type: "kubernetes:helm.sh/v3:Release", id: "istio-system/istiod" });
        // An upgrade's resource is always in the state: that never makes it finished.
        const grafana = "urn:pulumi:dev::istio-mesh::istio-mesh:index:Observability$kubernetes:helm.sh/v3:Release::observability-grafana";
        exported.deployment.resources.push({ urn: grafana, type: "kubernetes:helm.sh/v3:Release", id: "observability/grafana" });
        const json = JSON.stringify(exported);
        assert.deepEqual(
            pendingReleases(json).map((r) => r.name),
            ["grafana"],
            "the interrupted upgrade of grafana is still this run's to free",
        );
        assert.deepEqual(
            pendingCreates(json).map((p) => [p.urn.slice(p.urn.lastIndexOf("::") + 2), p.finished]),
            [
                ["istio-istiod", true],
                ["bookinfo-namespace-bookinfo", false],
                ["observability-grafana", false],
            ],
        );
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
            { urn: chart, type: "kubernetes:helm.sh/v4:Chart", finished: false },
            { urn: "urn:pulumi:dev::istio-mesh::x::untyped", type: "", finished: false },
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

    const install = { urn: "u", namespace: "istio-system", name: "istiod", operation: "creating" as const };
    const upgrade = { urn: "u", namespace: "observability", name: "grafana", operation: "updating" as const };
    const rec = (name: string, revision: number, status: string) => ({ name: `sh.helm.release.v1.${name}.v${revision}`, revision, status });

    it("reads a release's Helm records with their revision and status, only that release's", async () => {
        const api = records([
            { name: "sh.helm.release.v1.istiod.v2", status: "pending-upgrade" },
            { name: "sh.helm.release.v1.istiod.v1", status: "deployed" },
            { name: "sh.helm.release.v1.istiod-canary.v1", status: "deployed" },
            { name: "sh.helm.release.v1.istiod.vx1", status: "deployed" },
            { name: "sh.helm.release.v1.istiod.v1x", status: "deployed" },
        ]);
        assert.deepEqual(await releaseRecords(api, install), [rec("istiod", 1, "deployed"), rec("istiod", 2, "pending-upgrade")]);
        assert.deepEqual(api.listed, ["/api/v1/namespaces/istio-system/secrets?labelSelector=owner%3Dhelm%2Cname%3Distiod"]);
        assert.deepEqual(api.deleted, [], "reading deletes nothing");
    });

    it("frees an interrupted install's name by removing its pending-install record, and nothing else", () => {
        assert.deepEqual(planRecordRemoval("dev", install, [rec("istiod", 1, "pending-install")]), {
            kind: "remove",
            records: ["sh.helm.release.v1.istiod.v1"],
        });
        assert.deepEqual(planRecordRemoval("dev", install, []), { kind: "remove", records: [] });
    });

    it("never removes a record of an install that finished or failed: it stops and says how to adopt the release", () => {
        for (const status of ["deployed", "failed", "superseded", "uninstalling"]) {
            const plan = planRecordRemoval("dev", install, [rec("istiod", 1, status)]);
            assert.equal(plan.kind, "blocked", status);
            assert.match(
                plan.kind === "blocked" ? plan.message : "",
                new RegExp(`Helm release istio-system/istiod has a ${status} record \\(revision 1\\) that the state does not hold`),
            );
            assert.match(
                plan.kind === "blocked" ? plan.message : "",
                /--stack dev --import-pending-creates 'u' --import-pending-creates istio-system\/istiod/,
            );
        }
        const mixed = planRecordRemoval("dev", install, [rec("istiod", 1, "deployed"), rec("istiod", 2, "pending-install")]);
        assert.equal(mixed.kind, "blocked", "a pending record beside a finished one is not removed either");
    });

    it("frees an interrupted upgrade by removing only its unfinished latest record, so Helm sees the last deployed revision", () => {
        assert.deepEqual(
            planRecordRemoval("dev", upgrade, [
                rec("grafana", 1, "superseded"),
                rec("grafana", 2, "deployed"),
                rec("grafana", 3, "pending-upgrade"),
            ]),
            { kind: "remove", records: ["sh.helm.release.v1.grafana.v3"] },
        );
        // An interrupted rollback (Helm's own --atomic after a failed upgrade) blocks the next upgrade the same way.
        assert.deepEqual(
            planRecordRemoval("dev", upgrade, [
                rec("grafana", 2, "deployed"),
                rec("grafana", 3, "failed"),
                rec("grafana", 4, "pending-rollback"),
            ]),
            { kind: "remove", records: ["sh.helm.release.v1.grafana.v4"] },
        );
    });

    it("leaves an upgraded release alone when its latest record is finished, whatever older records say", () => {
        for (const latest of ["deployed", "failed", "superseded"]) {
            assert.deepEqual(
                planRecordRemoval("dev", upgrade, [rec("grafana", 1, "pending-upgrade"), rec("grafana", 2, latest)]),
                { kind: "remove", records: [] },
                latest,
            );
        }
        assert.deepEqual(planRecordRemoval("dev", upgrade, [rec("grafana", 9, "pending-install"), rec("grafana", 10, "deployed")]), {
            kind: "remove",
            records: [],
        });
    });

    it("finds nothing to free when the namespace never came to exist, and fails loudly on a refused deletion", async () => {
        const missing: KubeApi = { request: async () => ({ status: 404, body: {} }) };
        assert.deepEqual(await releaseRecords(missing, install), []);
        const refusing: KubeApi = { request: async () => ({ status: 403, body: {} }) };
        await assert.rejects(deleteRecords(refusing, install, ["sh.helm.release.v1.istiod.v1"]), {
            message: "removing record sh.helm.release.v1.istiod.v1 of Helm release istio-system/istiod: HTTP 403",
        });
        const unlistable: KubeApi = { request: async () => ({ status: 403, body: { message: "forbidden" } }) };
        await assert.rejects(releaseRecords(unlistable, install), {
            message: "listing the records of Helm release istio-system/istiod: HTTP 403",
        });
    });

    it("counts a record as removed when the deletion is accepted for later or the record is already gone", async () => {
        const answers: Record<string, number> = { "sh.helm.release.v1.istiod.v1": 202, "sh.helm.release.v1.istiod.v2": 404 };
        const deleted: string[] = [];
        const api: KubeApi = {
            request: async (method, path) => {
                assert.equal(method, "DELETE");
                deleted.push(path);
                return { status: answers[path.split("/").pop() ?? ""], body: {} };
            },
        };
        await deleteRecords(api, install, Object.keys(answers));
        assert.deepEqual(deleted, [
            "/api/v1/namespaces/istio-system/secrets/sh.helm.release.v1.istiod.v1",
            "/api/v1/namespaces/istio-system/secrets/sh.helm.release.v1.istiod.v2",
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
