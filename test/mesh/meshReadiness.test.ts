import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as http from "http";
import * as path from "path";
import {
    ALWAYS_REJECT_ANNOTATION,
    probeDaemonSet,
    probeFailurePolicy,
    probeInjection,
    probeMesh,
    probeValidation,
} from "../../components/mesh/meshReadiness";
import { KubeApi, waitUntilReady } from "../../components/probe";
import { peerAuthentication, tracingTelemetry } from "../../components/mesh/meshManifests";
import { validateManifest } from "../schemas";
import { MESH_READY_COMMAND } from "../../components/mesh/istioMesh";
import { PROJECT_ROOT } from "../../components/localScripts";
import { kubeconfigFor } from "../harness";

/** A fake API answering by "METHOD path". */
function fakeApi(routes: Record<string, (body: any) => { status: number; body: unknown }>): KubeApi & { calls: string[] } {
    const calls: string[] = [];
    return {
        calls,
        async request(method, p, body) {
            const key = `${method} ${p}`;
            calls.push(key);
            const route = routes[key];
            if (!route) return { status: 404, body: { message: `no route ${key}` } };
            return route(body);
        },
    };
}

const VALIDATE = "POST /apis/security.istio.io/v1/namespaces/istio-system/authorizationpolicies?dryRun=All";
const WEBHOOKS = "GET /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations?labelSelector=istio.io%2Frev%3Ddefault";
const INJECT = "POST /api/v1/namespaces/istio-ingress/pods?dryRun=All";
const CNI = "GET /apis/apps/v1/namespaces/istio-system/daemonsets/istio-cni-node";
const ZTUNNEL = "GET /apis/apps/v1/namespaces/istio-system/daemonsets/ztunnel";
const NAMESPACES = { istio: "istio-system", ingress: "istio-ingress" };

/** The API server's words when istiod's webhook denies the always-reject probe. */
const DENIAL =
    'admission webhook "validation.istio.io" denied the request: configuration is invalid: "internal.istio.io/webhook-always-reject" annotation found, rejecting';

/**
 * A fake API server with istiod installed. Before istiod serves its webhook, the webhooks fail
 * open (failurePolicy Ignore): the API server admits every Istio object, and a dry-run pod comes
 * back as sent. Once istiod serves, it denies the always-reject probe, injects pods, and (after
 * its own check) switches the webhooks to Fail.
 */
function fakeIstiod(state: { serving: boolean; failClosed: boolean }): KubeApi & { calls: string[] } {
    const ds = { status: 200, body: { status: { desiredNumberScheduled: 2, numberReady: 2, updatedNumberScheduled: 2 } } };
    return fakeApi({
        [VALIDATE]: (b) =>
            state.serving && b.metadata.annotations?.[ALWAYS_REJECT_ANNOTATION] === "true"
                ? { status: 400, body: { kind: "Status", message: DENIAL } }
                : { status: 201, body: b },
        [WEBHOOKS]: () => ({
            status: 200,
            body: {
                items: ["istiod-default-validator", "istio-validator-istio-system"].map((name) => ({
                    metadata: { name },
                    webhooks: [{ name: "validation.istio.io", failurePolicy: state.failClosed ? "Fail" : "Ignore" }],
                })),
            },
        }),
        [INJECT]: (b) => {
            if (!state.serving) return { status: 201, body: b };
            const gateway = b.metadata.annotations?.["inject.istio.io/templates"] === "gateway";
            const containers = gateway
                ? [{ name: "istio-proxy", image: "docker.io/istio/proxyv2:1.30.3" }]
                : [...b.spec.containers, { name: "istio-proxy", image: "docker.io/istio/proxyv2:1.30.3" }];
            return { status: 201, body: { ...b, spec: { ...b.spec, containers } } };
        },
        [CNI]: () => ds,
        [ZTUNNEL]: () => ds,
    });
}

describe("mesh readiness probes", () => {
    it("is not ready while istiod's webhooks fail open, even though every Istio object is admitted", async () => {
        const api = fakeIstiod({ serving: false, failClosed: false });
        assert.deepEqual(await probeValidation(api, "istio-system"), {
            ready: false,
            reason: "validation webhook: the API server accepted an object istiod must reject (annotation internal.istio.io/webhook-always-reject), so istiod's webhook is not serving yet and fails open",
        });
        for (const mode of ["sidecar", "ambient"] as const) {
            assert.equal((await probeMesh(api, mode, NAMESPACES)).ready, false, mode);
        }
    });

    it("is not ready while istiod serves but its webhooks still fail open, and ready once they are Fail", async () => {
        const state = { serving: true, failClosed: false };
        const api = fakeIstiod(state);
        assert.deepEqual(await probeValidation(api, "istio-system"), { ready: true });
        assert.deepEqual(await probeMesh(api, "sidecar", NAMESPACES), {
            ready: false,
            reason: "istiod has not switched its webhooks to failurePolicy Fail yet: istiod-default-validator/validation.istio.io (Ignore), istio-validator-istio-system/validation.istio.io (Ignore)",
        });
        state.failClosed = true;
        assert.deepEqual(await probeMesh(api, "sidecar", NAMESPACES), { ready: true });
        assert.deepEqual(await probeMesh(api, "ambient", NAMESPACES), { ready: true });
    });

    it("waits through the switch: not ready, then ready once istiod fails closed", async () => {
        const state = { serving: false, failClosed: false };
        const api = fakeIstiod(state);
        let t = 0;
        const reasons: string[] = [];
        const attempts = await waitUntilReady(() => probeMesh(api, "ambient", NAMESPACES), "Istio", {
            timeoutMs: 60000,
            intervalMs: 1000,
            now: () => t,
            sleep: async (ms) => {
                t += ms;
                // istiod starts serving after 2 s and switches to Fail after 4 s
                state.serving = t >= 2000;
                state.failClosed = t >= 4000;
            },
            log: (line) => reasons.push(line),
        });
        assert.equal(attempts, 5);
        assert.match(reasons[0], /fails open/);
        assert.match(reasons[2], /failurePolicy Fail/);
    });

    it("accepts only the webhook's own denial, not any other error", async () => {
        const vap = fakeApi({
            [VALIDATE]: () => ({
                status: 422,
                body: { message: "ValidatingAdmissionPolicy 'stable-channel-policy' denied request: failed expression" },
            }),
        });
        assert.deepEqual(await probeValidation(vap, "istio-system"), {
            ready: false,
            reason: "validation webhook: HTTP 422: ValidatingAdmissionPolicy 'stable-channel-policy' denied request: failed expression",
        });
        const refused = fakeApi({
            [VALIDATE]: () => ({ status: 500, body: { message: 'failed calling webhook "validation.istio.io": connection refused' } }),
        });
        assert.deepEqual(await probeValidation(refused, "istio-system"), {
            ready: false,
            reason: 'validation webhook: HTTP 500: failed calling webhook "validation.istio.io": connection refused',
        });
        // Another admission check that only names the annotation is not istiod's webhook.
        const policy = fakeApi({
            [VALIDATE]: () => ({
                status: 422,
                body: {
                    message: "ValidatingAdmissionPolicy 'no-internal' denied request: annotation internal.istio.io/webhook-always-reject",
                },
            }),
        });
        assert.equal((await probeValidation(policy, "istio-system")).ready, false);
        // A dry run admitted with 200 rather than 201 fails open just the same.
        const admitted = fakeApi({ [VALIDATE]: () => ({ status: 200, body: {} }) });
        assert.deepEqual(await probeValidation(admitted, "istio-system"), {
            ready: false,
            reason: "validation webhook: the API server accepted an object istiod must reject (annotation internal.istio.io/webhook-always-reject), so istiod's webhook is not serving yet and fails open",
        });
    });

    it("accepts the denial of a revisioned webhook, whose name has a prefix", async () => {
        const rev = fakeApi({
            [VALIDATE]: () => ({ status: 400, body: { message: DENIAL.replace('"validation.istio.io"', '"rev.validation.istio.io"') } }),
        });
        assert.deepEqual(await probeValidation(rev, "istio-system"), { ready: true });
    });

    it("words an API error from its message, its text, or the whole answer", async () => {
        const answering = (body: unknown) =>
            fakeApi({
                [WEBHOOKS]: () => ({ status: 503, body }),
                [CNI]: () => ({ status: 403, body }),
                [INJECT]: () => ({ status: 500, body }),
            });
        assert.deepEqual(await probeFailurePolicy(answering("upstream connect error")), {
            ready: false,
            reason: "validating webhook configurations: HTTP 503: upstream connect error",
        });
        assert.deepEqual(await probeDaemonSet(answering({ kind: "Status", reason: "Forbidden" }), "istio-system", "istio-cni-node"), {
            ready: false,
            reason: 'daemonset istio-system/istio-cni-node: HTTP 403: {"kind":"Status","reason":"Forbidden"}',
        });
        assert.deepEqual(await probeInjection(answering(null), "istio-ingress"), {
            ready: false,
            reason: "sidecar injector: HTTP 500: null",
        });
        assert.deepEqual(await probeInjection(answering({ message: "no kind Pod" }), "istio-ingress", "gateway"), {
            ready: false,
            reason: "gateway injector: HTTP 500: no kind Pod",
        });
    });

    it("sends a valid AuthorizationPolicy, carrying only the always-reject annotation, as the validation probe", async () => {
        let sent: any;
        await probeValidation(fakeApi({ [VALIDATE]: (b) => ((sent = b), { status: 201, body: {} }) }), "istio-system");
        assert.deepEqual(sent.metadata.annotations, { "internal.istio.io/webhook-always-reject": "true" });
        assert.equal(sent.metadata.labels, undefined, "no istio.io/rev label: the probe takes the same webhook as the stack's objects");
        await validateManifest(sent);
        assert.deepEqual(sent, {
            apiVersion: "security.istio.io/v1",
            kind: "AuthorizationPolicy",
            metadata: {
                name: "mesh-readiness-probe",
                namespace: "istio-system",
                annotations: { "internal.istio.io/webhook-always-reject": "true" },
            },
            spec: { action: "ALLOW", rules: [{}], selector: { matchLabels: { app: "mesh-readiness-probe" } } },
        });
    });

    it("requires every webhook of the revision to be Fail, and at least one configuration", async () => {
        const list = (items: unknown[]) => fakeApi({ [WEBHOOKS]: () => ({ status: 200, body: { items } }) });
        assert.deepEqual(await probeFailurePolicy(list([])), {
            ready: false,
            reason: "no validating webhook configuration labelled istio.io/rev=default exists yet",
        });
        const mixed = list([
            { metadata: { name: "a" }, webhooks: [{ name: "w1", failurePolicy: "Fail" }] },
            { metadata: { name: "b" }, webhooks: [{ name: "w2" }] },
        ]);
        assert.deepEqual(await probeFailurePolicy(mixed), {
            ready: false,
            reason: "istiod has not switched its webhooks to failurePolicy Fail yet: b/w2 (unset)",
        });
    });

    it("passes sidecar injection only when the dry-run pod comes back with istio-proxy", async () => {
        const withProxy = fakeApi({
            [INJECT]: () => ({
                status: 201,
                body: { spec: { containers: [{ name: "probe" }], initContainers: [{ name: "istio-proxy" }] } },
            }),
        });
        assert.deepEqual(await probeInjection(withProxy, "istio-ingress"), { ready: true });
        let sent: any;
        const ok = fakeApi({
            [INJECT]: (b) => ((sent = b), { status: 200, body: { spec: { containers: [...b.spec.containers, { name: "istio-proxy" }] } } }),
        });
        assert.deepEqual(await probeInjection(ok, "istio-ingress"), { ready: true });
        assert.deepEqual(sent, {
            apiVersion: "v1",
            kind: "Pod",
            metadata: {
                generateName: "mesh-readiness-probe-",
                namespace: "istio-ingress",
                labels: { "sidecar.istio.io/inject": "true", app: "mesh-readiness-probe" },
            },
            spec: { containers: [{ name: "probe", image: "registry.k8s.io/pause:3.10" }] },
        });
        const without = fakeApi({ [INJECT]: () => ({ status: 201, body: { spec: { containers: [{ name: "probe" }] } } }) });
        assert.deepEqual(await probeInjection(without, "istio-ingress"), {
            ready: false,
            reason: "sidecar injector: the dry-run pod came back without an istio-proxy container",
        });
    });

    it("passes gateway injection only when istiod replaced the gateway template's image auto", async () => {
        let sent: any;
        const untouched = fakeApi({ [INJECT]: (b) => ((sent = b), { status: 201, body: b }) });
        assert.deepEqual(await probeInjection(untouched, "istio-ingress", "gateway"), {
            ready: false,
            reason: 'gateway injector: the dry-run pod came back with image "auto": istiod did not inject it',
        });
        assert.deepEqual(sent.metadata.annotations, { "inject.istio.io/templates": "gateway" });
        assert.deepEqual(sent.metadata.labels["sidecar.istio.io/inject"], "true");
        assert.deepEqual(sent.spec.containers, [{ name: "istio-proxy", image: "auto" }]);
        await validateManifest(sent);
        const noImage = fakeApi({ [INJECT]: () => ({ status: 201, body: { spec: { containers: [{ name: "istio-proxy" }] } } }) });
        assert.deepEqual(await probeInjection(noImage, "istio-ingress", "gateway"), {
            ready: false,
            reason: 'gateway injector: the dry-run pod came back with image "auto": istiod did not inject it',
        });
    });

    it("counts a DaemonSet ready only when every scheduled pod is ready", async () => {
        const ds = (ready: number, desired: number) =>
            fakeApi({
                [ZTUNNEL]: () => ({
                    status: 200,
                    body: { status: { desiredNumberScheduled: desired, numberReady: ready, updatedNumberScheduled: desired } },
                }),
            });
        assert.deepEqual(await probeDaemonSet(ds(3, 3), "istio-system", "ztunnel"), { ready: true });
        assert.deepEqual(await probeDaemonSet(ds(2, 3), "istio-system", "ztunnel"), {
            ready: false,
            reason: "daemonset istio-system/ztunnel: 2/3 pods ready",
        });
        assert.deepEqual(await probeDaemonSet(ds(0, 0), "istio-system", "ztunnel"), {
            ready: false,
            reason: "daemonset istio-system/ztunnel: 0/0 pods ready",
        });
        const status = (s: Record<string, number>) => fakeApi({ [ZTUNNEL]: () => ({ status: 200, body: { status: s } }) });
        // Mid-rollout every pod is ready, but not every pod runs the new template.
        assert.deepEqual(
            await probeDaemonSet(
                status({ desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 1 }),
                "istio-system",
                "ztunnel",
            ),
            { ready: false, reason: "daemonset istio-system/ztunnel: 3/3 pods ready, 1/3 up to date" },
        );
        // A status without the updated count (an older API server) counts every pod as up to date.
        assert.deepEqual(await probeDaemonSet(status({ desiredNumberScheduled: 3, numberReady: 3 }), "istio-system", "ztunnel"), {
            ready: true,
        });
    });

    it("checks the gateway's injection in both modes, sidecar injection in sidecar mode, cni and ztunnel in ambient mode", async () => {
        const api = fakeIstiod({ serving: true, failClosed: true });
        assert.deepEqual(await probeMesh(api, "sidecar", NAMESPACES), { ready: true });
        assert.deepEqual(api.calls, [VALIDATE, WEBHOOKS, INJECT, INJECT]);
        api.calls.length = 0;
        assert.deepEqual(await probeMesh(api, "ambient", NAMESPACES), { ready: true });
        assert.deepEqual(api.calls, [VALIDATE, WEBHOOKS, INJECT, CNI, ZTUNNEL]);
    });
});

describe("mesh readiness script", function () {
    this.timeout(30000);

    it("runs with the repository's tools against an API server, with the kubeconfig from the environment", async () => {
        const seen: string[] = [];
        // istiod serving and fail-closed, behind a real HTTP server
        const istiod = fakeIstiod({ serving: true, failClosed: true });
        const server = http.createServer((req, res) => {
            seen.push(`${req.method} ${req.url}`);
            let body = "";
            req.on("data", (c) => (body += c));
            req.on("end", () => {
                void istiod.request(req.method as "GET" | "POST", req.url ?? "", body ? JSON.parse(body) : undefined).then((answer) => {
                    res.setHeader("content-type", "application/json");
                    res.statusCode = answer.status;
                    res.end(JSON.stringify(answer.body));
                });
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
        const port = (server.address() as { port: number }).port;
        const kubeconfig = kubeconfigFor(`http://127.0.0.1:${port}`);
        try {
            const [cmd, ...args] = MESH_READY_COMMAND.split(" ");
            const result = await new Promise<ReturnType<typeof spawnSync>>((resolve) => {
                // spawn asynchronously so that the server above keeps answering
                // eslint-disable-next-line @typescript-eslint/no-require-imports
                const child = require("child_process").spawn(cmd, args, {
                    cwd: PROJECT_ROOT,
                    env: {
                        ...process.env,
                        MESH_KUBECONFIG: kubeconfig,
                        MESH_CONTEXT: "",
                        MESH_MODE: "sidecar",
                        ISTIO_NAMESPACE: "istio-system",
                        INGRESS_NAMESPACE: "istio-ingress",
                        MESH_TIMEOUT_SECONDS: "10",
                    },
                });
                let stdout = "";
                let stderr = "";
                child.stdout.on("data", (c: Buffer) => (stdout += c));
                child.stderr.on("data", (c: Buffer) => (stderr += c));
                child.on("close", (status: number) => resolve({ status, stdout, stderr } as never));
            });
            assert.equal(result.status, 0, String(result.stderr));
            assert.match(String(result.stdout), /Istio \(sidecar mode\) serves its webhooks, fail-closed \(after 1 attempt\)\./);
            assert.deepEqual(seen, [VALIDATE, WEBHOOKS, INJECT, INJECT]);
        } finally {
            server.close();
        }
        assert.ok(path.isAbsolute(PROJECT_ROOT));
    });
});

describe("mesh-owned Istio objects", () => {
    it("validate against the Istio schemas", async () => {
        await validateManifest(peerAuthentication("STRICT") as never);
        await validateManifest(peerAuthentication("PERMISSIVE") as never);
        await validateManifest(tracingTelemetry("jaeger", 50) as never);
    });

    it("reject an invalid object (the validator is live)", async () => {
        await assert.rejects(
            validateManifest({ ...peerAuthentication("STRICT"), spec: { mtls: { mode: 7 } } } as never),
            /PeerAuthentication default is invalid/,
        );
    });
});
