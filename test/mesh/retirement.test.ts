import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as http from "http";
import { AddressInfo } from "net";
import { proxiesOn, proxyRevision, retireRefusal } from "../../components/mesh/retirement";
import { RETIRE_COMMAND } from "../../components/mesh/retireGuard";
import { KubeApi } from "../../components/probe";
import { PROJECT_ROOT } from "../../components/localScripts";
import { kubeconfigFor } from "../harness";

const status = (revision: string) => JSON.stringify({ initContainers: ["istio-init"], containers: ["istio-proxy"], revision });

const PODS = [
    {
        metadata: {
            namespace: "bookinfo",
            name: "reviews-v1-a",
            labels: { "istio.io/rev": "1-31-1" },
            annotations: { "sidecar.istio.io/status": status("1-31-1") },
        },
    },
    // its label edited away: the injector's status still says which revision injected it (before team-a: the result is sorted)
    { metadata: { namespace: "team-b", name: "worker-c", annotations: { "sidecar.istio.io/status": status("1-30-3") } } },
    {
        metadata: {
            namespace: "team-a",
            name: "api-b",
            labels: { "istio.io/rev": "1-30-3" },
            annotations: { "sidecar.istio.io/status": status("1-30-3") },
        },
    },
    // a failed pod runs nothing either
    { metadata: { namespace: "team-c", name: "crashed-g", labels: { "istio.io/rev": "1-30-3" } }, status: { phase: "Failed" } },
    // a finished job's pod runs nothing
    { metadata: { namespace: "team-b", name: "job-d", labels: { "istio.io/rev": "1-30-3" } }, status: { phase: "Succeeded" } },
    // not injected: no proxy at all
    { metadata: { namespace: "kube-system", name: "coredns-e", labels: { k8s: "app" } } },
    { metadata: { namespace: "istio-ingress", name: "gw-f", labels: { "istio.io/rev": "default" } } },
];

const api = (pods: unknown[], statusCode = 200): KubeApi => ({
    async request(method, path) {
        assert.equal(`${method} ${path}`, "GET /api/v1/pods");
        return { status: statusCode, body: { items: pods } };
    },
});

describe("retiring a revision: the pods that still run its proxy", () => {
    it("reads a proxy's revision from the injector's status, then the label, and a bare status as the unrevisioned istiod's", () => {
        assert.equal(
            proxyRevision({ labels: { "istio.io/rev": "x" }, annotations: { "sidecar.istio.io/status": status("1-30-3") } }),
            "1-30-3",
        );
        assert.equal(
            proxyRevision({ labels: { "istio.io/rev": "1-31-1" }, annotations: { "sidecar.istio.io/status": "not json" } }),
            "1-31-1",
        );
        assert.equal(proxyRevision({ annotations: { "sidecar.istio.io/status": "{}" } }), "default");
        assert.equal(
            proxyRevision({ labels: { "istio.io/rev": "1-31-1" }, annotations: { "sidecar.istio.io/status": '{"revision":""}' } }),
            "1-31-1",
        );
        assert.equal(proxyRevision({ labels: { app: "x" } }), undefined);
    });

    it("finds running injected pods of the revisions, in every namespace, and nothing else", async () => {
        assert.deepEqual(await proxiesOn(api(PODS), ["1-30-3"]), [
            { namespace: "team-a", name: "api-b", revision: "1-30-3" },
            { namespace: "team-b", name: "worker-c", revision: "1-30-3" },
        ]);
        assert.deepEqual(await proxiesOn(api(PODS), ["default"]), [{ namespace: "istio-ingress", name: "gw-f", revision: "default" }]);
        assert.deepEqual(await proxiesOn(api(PODS), ["1-29-0"]), []);
    });

    it("fails on an API error rather than reading it as no pods", async () => {
        await assert.rejects(proxiesOn(api([], 403), ["1-30-3"]), { message: "listing pods: HTTP 403" });
    });

    it("says which pods hold the revision, and how to move them onto the tag", () => {
        const pods = Array.from({ length: 12 }, (_, i) => ({ namespace: "team", name: `p${i}`, revision: "1-30-3" }));
        const msg = retireRefusal(pods, "default");
        assert.match(
            msg,
            /^Refusing to retire revision 1-30-3: 12 pods still run its proxy: team\/p0 \(1-30-3\), .*team\/p9 \(1-30-3\), and 2 more\. Nothing was removed\./,
        );
        assert.match(msg, /Fix: label their namespaces istio\.io\/rev=default \(not istio-injection or a revision\) and restart them/);
        const two = retireRefusal([pods[0], { namespace: "team", name: "q", revision: "default" }], "default");
        assert.match(two, /^Refusing to retire revision 1-30-3, default: 2 pods still run its proxy: .*\. Nothing was removed\.\nFix: /);
        assert.match(
            retireRefusal(pods.slice(0, 1), undefined),
            /1 pod still runs its proxy: team\/p0 \(1-30-3\)\. .*Fix: restart them onto another revision/s,
        );
    });

    it("runs as the command runs it: stops the deploy while a pod holds the revision, passes once none does", async () => {
        let pods: unknown[] = PODS;
        const server = http.createServer((req, res) => {
            res.setHeader("content-type", "application/json");
            res.end(JSON.stringify(req.url === "/api/v1/pods" ? { items: pods } : {}));
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        // Asynchronously: the fake API server answers from this process while the script runs.
        const run = () =>
            new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
                const p = spawn("sh", ["-c", RETIRE_COMMAND], {
                    cwd: PROJECT_ROOT,
                    env: {
                        ...process.env,
                        RETIRE_KUBECONFIG: kubeconfigFor(url),
                        RETIRE_CONTEXT: "",
                        RETIRE_REVISIONS: '["1-30-3"]',
                        RETIRE_TAG: "default",
                    },
                });
                let stdout = "";
                let stderr = "";
                p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
                p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
                p.on("close", (status) => resolve({ status, stdout, stderr }));
            });
        try {
            const refused = await run();
            assert.equal(refused.status, 1, refused.stdout);
            assert.match(
                refused.stderr,
                /Refusing to retire revision 1-30-3: 2 pods still run its proxy: team-a\/api-b \(1-30-3\), team-b\/worker-c \(1-30-3\)/,
            );
            pods = PODS.slice(0, 1);
            const passed = await run();
            assert.equal(passed.status, 0, passed.stderr);
            assert.match(passed.stdout, /No pod runs a proxy of revision 1-30-3: it can be removed\./);
        } finally {
            server.close();
        }
    });
});
