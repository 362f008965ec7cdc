import { strict as assert } from "assert";
import { probeMesh } from "../../components/mesh/meshReadiness";
import { KubeApi } from "../../components/probe";
import { gateTarget } from "../../scripts/meshReady";

const NAMESPACES = { istio: "istio-system", ingress: "istio-ingress" };
const DENIAL = (webhook: string) =>
    `admission webhook "${webhook}" denied the request: configuration is invalid: "internal.istio.io/webhook-always-reject" annotation found, rejecting`;

/**
 * A fake API server with two istiod revisions and a default tag, routing as the webhook
 * configurations do: an object labelled istio.io/rev=<rev> reaches that revision's webhooks; an
 * unlabelled Istio object reaches the default validator, a pod in the tag-labelled ingress
 * namespace the tag's injector. Each injector labels the pod with its own revision.
 */
function twoRevisions(state: { serving: Set<string>; failClosed: Set<string>; tag: string }): KubeApi & { calls: string[] } {
    const calls: string[] = [];
    return {
        calls,
        async request(method, path, body: any) {
            calls.push(`${method} ${path} ${body?.metadata?.labels?.["istio.io/rev"] ?? ""}`.trim());
            const labelled: string | undefined = body?.metadata?.labels?.["istio.io/rev"];
            if (
                method === "POST" &&
                path.startsWith("/apis/security.istio.io/v1/namespaces/istio-system/authorizationpolicies?dryRun=All")
            ) {
                const rev = labelled ?? state.tag;
                return state.serving.has(rev)
                    ? { status: 400, body: { message: DENIAL(labelled ? "rev.validation.istio.io" : "validation.istio.io") } }
                    : { status: 201, body };
            }
            const m = /validatingwebhookconfigurations\?labelSelector=istio\.io%2Frev%3D(.+)$/.exec(path);
            if (method === "GET" && m) {
                const rev = decodeURIComponent(m[1]);
                const names = [`istio-validator-${rev}-istio-system`, ...(rev === state.tag ? ["istiod-default-validator"] : [])];
                const policy = state.failClosed.has(rev) ? "Fail" : "Ignore";
                return {
                    status: 200,
                    body: { items: names.map((name) => ({ metadata: { name }, webhooks: [{ name: "v", failurePolicy: policy }] })) },
                };
            }
            const pod = /^\/api\/v1\/namespaces\/([^/]+)\/pods\?dryRun=All$/.exec(path);
            if (method === "POST" && pod) {
                const injector = pod[1] === NAMESPACES.ingress ? state.tag : labelled;
                if (!injector || !state.serving.has(injector)) return { status: 201, body };
                const proxy = { name: "istio-proxy", image: `docker.io/istio/proxyv2:${injector.replaceAll("-", ".")}` };
                const containers =
                    body.metadata.annotations?.["inject.istio.io/templates"] === "gateway" ? [proxy] : [...body.spec.containers, proxy];
                return {
                    status: 201,
                    body: {
                        ...body,
                        metadata: { ...body.metadata, labels: { ...body.metadata.labels, "istio.io/rev": injector } },
                        spec: { containers },
                    },
                };
            }
            return { status: 404, body: { message: `no route ${method} ${path}` } };
        },
    };
}

describe("readiness gates of revisions and of the default tag", () => {
    it("holds a new revision's gate until that revision serves, though the tag's revision does", async () => {
        const state = { serving: new Set(["1-30-3"]), failClosed: new Set(["1-30-3"]), tag: "1-30-3" };
        const api = twoRevisions(state);
        const target = { kind: "revision", revision: "1-31-1" } as const;
        assert.deepEqual(await probeMesh(api, "sidecar", NAMESPACES, target), {
            ready: false,
            reason: "validation webhook: the API server accepted an object istiod must reject (annotation internal.istio.io/webhook-always-reject), so istiod's webhook is not serving yet and fails open",
        });
        state.serving.add("1-31-1");
        assert.deepEqual(await probeMesh(api, "sidecar", NAMESPACES, target), {
            ready: false,
            reason: "istiod has not switched its webhooks to failurePolicy Fail yet: istio-validator-1-31-1-istio-system/v (Ignore)",
        });
        state.failClosed.add("1-31-1");
        api.calls.length = 0;
        assert.deepEqual(await probeMesh(api, "sidecar", NAMESPACES, target), { ready: true });
        // Every probe names the revision itself, in istio-system, which no tag label routes.
        assert.deepEqual(api.calls, [
            "POST /apis/security.istio.io/v1/namespaces/istio-system/authorizationpolicies?dryRun=All 1-31-1",
            "GET /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations?labelSelector=istio.io%2Frev%3D1-31-1",
            "POST /api/v1/namespaces/istio-system/pods?dryRun=All 1-31-1",
            "POST /api/v1/namespaces/istio-system/pods?dryRun=All 1-31-1",
        ]);
    });

    it("holds the tag's gate until the tag's injector answers with the revision it should point at", async () => {
        const state = { serving: new Set(["1-30-3", "1-31-1"]), failClosed: new Set(["1-30-3", "1-31-1"]), tag: "1-30-3" };
        const api = twoRevisions(state);
        const target = { kind: "tag", revision: "1-31-1" } as const;
        assert.deepEqual(await probeMesh(api, "sidecar", NAMESPACES, target), {
            ready: false,
            reason: "gateway injector: the dry-run pod was injected by revision 1-30-3, not 1-31-1",
        });
        state.tag = "1-31-1";
        api.calls.length = 0;
        assert.deepEqual(await probeMesh(api, "sidecar", NAMESPACES, target), { ready: true });
        // Through what every workload goes through: unlabelled objects, pods in the tag-labelled ingress namespace.
        assert.deepEqual(api.calls, [
            "POST /apis/security.istio.io/v1/namespaces/istio-system/authorizationpolicies?dryRun=All",
            "GET /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations?labelSelector=istio.io%2Frev%3D1-31-1",
            "POST /api/v1/namespaces/istio-ingress/pods?dryRun=All",
            "POST /api/v1/namespaces/istio-ingress/pods?dryRun=All",
        ]);
    });

    it("leaves istio-cni and ztunnel to the tag's gate in ambient mode", async () => {
        const state = { serving: new Set(["1-31-1"]), failClosed: new Set(["1-31-1"]), tag: "1-31-1" };
        const api = twoRevisions(state);
        assert.deepEqual(await probeMesh(api, "ambient", NAMESPACES, { kind: "revision", revision: "1-31-1" }), { ready: true });
        assert.ok(!api.calls.some((c) => c.includes("daemonsets")));
        const tag = await probeMesh(api, "ambient", NAMESPACES, { kind: "tag", revision: "1-31-1" });
        assert.equal(tag.ready, false);
        assert.match((tag as { reason: string }).reason, /^daemonset istio-system\/istio-cni-node: HTTP 404/);
    });

    it("reads its target from the command's environment", () => {
        assert.equal(gateTarget({}), undefined);
        assert.equal(gateTarget({ MESH_GATE: "" }), undefined);
        assert.deepEqual(gateTarget({ MESH_GATE: "tag", MESH_REVISION: "1-31-1" }), { kind: "tag", revision: "1-31-1" });
        assert.deepEqual(gateTarget({ MESH_GATE: "revision", MESH_REVISION: "1-30-3" }), { kind: "revision", revision: "1-30-3" });
        assert.throws(() => gateTarget({ MESH_GATE: "revision" }), /MESH_REVISION is not set/);
        assert.throws(
            () => gateTarget({ MESH_GATE: "canary", MESH_REVISION: "x" }),
            /MESH_GATE must be "revision", "tag" or empty \(got "canary"\)/,
        );
    });
});
