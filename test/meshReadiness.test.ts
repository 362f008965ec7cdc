import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as http from "http";
import * as path from "path";
import { KubeApi, probeDaemonSet, probeInjection, probeMesh, probeValidation, waitUntilReady } from "../components/meshReadiness";
import { peerAuthentication, tracingTelemetry } from "../components/meshManifests";
import { validateManifest } from "./schemas";
import { MESH_READY_COMMAND } from "../components/istioMesh";
import { PROJECT_ROOT } from "../components/localScripts";
import { kubeconfigFor } from "./harness";

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
const INJECT = "POST /api/v1/namespaces/default/pods?dryRun=All";

describe("mesh readiness probes", () => {
    it("passes validation only when the dry run of an Istio resource succeeds", async () => {
        assert.deepEqual(await probeValidation(fakeApi({ [VALIDATE]: () => ({ status: 201, body: {} }) }), "istio-system"), {
            ready: true,
        });
        const failing = await probeValidation(
            fakeApi({
                [VALIDATE]: () => ({ status: 500, body: { message: 'failed calling webhook "validation.istio.io": connection refused' } }),
            }),
            "istio-system",
        );
        assert.deepEqual(failing, {
            ready: false,
            reason: 'validation webhook: HTTP 500: failed calling webhook "validation.istio.io": connection refused',
        });
    });

    it("sends a valid AuthorizationPolicy as the validation probe", async () => {
        let sent: any;
        await probeValidation(fakeApi({ [VALIDATE]: (b) => ((sent = b), { status: 201, body: {} }) }), "istio-system");
        await validateManifest(sent);
    });

    it("passes injection only when the dry-run pod comes back with istio-proxy", async () => {
        const withProxy = fakeApi({
            [INJECT]: () => ({
                status: 201,
                body: { spec: { containers: [{ name: "probe" }], initContainers: [{ name: "istio-proxy" }] } },
            }),
        });
        assert.deepEqual(await probeInjection(withProxy, "default"), { ready: true });
        const without = fakeApi({ [INJECT]: () => ({ status: 201, body: { spec: { containers: [{ name: "probe" }] } } }) });
        assert.deepEqual(await probeInjection(without, "default"), {
            ready: false,
            reason: "sidecar injector: the dry-run pod came back without an istio-proxy container",
        });
    });

    it("counts a DaemonSet ready only when every scheduled pod is ready", async () => {
        const ds = (ready: number, desired: number) =>
            fakeApi({
                "GET /apis/apps/v1/namespaces/istio-system/daemonsets/ztunnel": () => ({
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
    });

    it("checks injection in sidecar mode and the cni and ztunnel DaemonSets in ambient mode", async () => {
        const ok = { status: 200, body: { status: { desiredNumberScheduled: 1, numberReady: 1, updatedNumberScheduled: 1 } } };
        const api = fakeApi({
            [VALIDATE]: () => ({ status: 201, body: {} }),
            [INJECT]: () => ({ status: 201, body: { spec: { containers: [{ name: "istio-proxy" }] } } }),
            "GET /apis/apps/v1/namespaces/istio-system/daemonsets/istio-cni-node": () => ok,
            "GET /apis/apps/v1/namespaces/istio-system/daemonsets/ztunnel": () => ok,
        });
        assert.deepEqual(await probeMesh(api, "sidecar", "istio-system"), { ready: true });
        assert.deepEqual(api.calls, [VALIDATE, INJECT]);
        api.calls.length = 0;
        assert.deepEqual(await probeMesh(api, "ambient", "istio-system"), { ready: true });
        assert.deepEqual(api.calls, [
            VALIDATE,
            "GET /apis/apps/v1/namespaces/istio-system/daemonsets/istio-cni-node",
            "GET /apis/apps/v1/namespaces/istio-system/daemonsets/ztunnel",
        ]);
    });
});

describe("waitUntilReady", () => {
    function clock() {
        let t = 0;
        return { now: () => t, sleep: async (ms: number) => void (t += ms) };
    }

    it("retries until the probe is ready and reports the attempts", async () => {
        let n = 0;
        const attempts = await waitUntilReady(async () => (++n < 3 ? { ready: false, reason: "not yet" } : { ready: true }), "Istio", {
            timeoutMs: 60000,
            intervalMs: 1000,
            ...clock(),
        });
        assert.equal(attempts, 3);
    });

    it("treats a thrown error as not ready and gives up with the last reason", async () => {
        await assert.rejects(
            waitUntilReady(async () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6443")), "Istio (sidecar mode)", {
                timeoutMs: 10000,
                intervalMs: 3000,
                ...clock(),
            }),
            { message: "Istio (sidecar mode) was not ready after 10s (4 attempts). Last reason: connect ECONNREFUSED 127.0.0.1:6443" },
        );
    });
});

describe("mesh readiness script", function () {
    this.timeout(30000);

    it("runs with the repository's tools against an API server, with the kubeconfig from the environment", async () => {
        const seen: string[] = [];
        const server = http.createServer((req, res) => {
            seen.push(`${req.method} ${req.url}`);
            let body = "";
            req.on("data", (c) => (body += c));
            req.on("end", () => {
                res.setHeader("content-type", "application/json");
                if (req.url?.startsWith("/api/v1/namespaces/default/pods")) {
                    const pod = JSON.parse(body);
                    pod.spec.containers.push({ name: "istio-proxy" });
                    res.end(JSON.stringify(pod));
                } else {
                    res.statusCode = 201;
                    res.end(JSON.stringify(JSON.parse(body)));
                }
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
            assert.match(String(result.stdout), /Istio \(sidecar mode\) is serving its webhooks \(after 1 attempt\)\./);
            assert.deepEqual(seen, [
                "POST /apis/security.istio.io/v1/namespaces/istio-system/authorizationpolicies?dryRun=All",
                "POST /api/v1/namespaces/default/pods?dryRun=All",
            ]);
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
