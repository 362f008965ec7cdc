import { strict as assert } from "assert";
import { probeProxies, verifyDeployment } from "../../components/verify/verification";
import { KubeApi } from "../../components/probe";
import { EXISTING_KUBECONFIG, inputValue, runStack } from "../harness";
import { PINS } from "../../components/versions";
import { revisionOf } from "../../components/mesh/revisions";

const status = (revision: string) => JSON.stringify({ containers: ["istio-proxy"], revision });
const pod = (name: string, revision: string | undefined, extra: Record<string, unknown> = {}) => ({
    metadata: {
        name,
        ...(revision ? { labels: { "istio.io/rev": revision }, annotations: { "sidecar.istio.io/status": status(revision) } } : {}),
    },
    status: { phase: "Running" },
    ...extra,
});

function api(byNamespace: Record<string, unknown[]>): KubeApi {
    return {
        async request(method, path) {
            const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(path);
            if (method !== "GET" || !m || !byNamespace[m[1]]) return { status: 404, body: {} };
            return { status: 200, body: { items: byNamespace[m[1]] } };
        },
    };
}

describe("verification: every proxy runs the default tag's revision", () => {
    const check = { namespaces: ["istio-ingress", "bookinfo"], revision: "1-31-1" };

    it("passes when every injected, running pod runs the revision; pods without a proxy and leaving pods do not count", async () => {
        const cluster = api({
            "istio-ingress": [pod("gw-a", "1-31-1")],
            bookinfo: [
                pod("reviews-v1-a", "1-31-1"),
                pod("plain", undefined),
                pod("old-terminating", "1-30-3", {
                    metadata: { name: "old", deletionTimestamp: "2026-12-03T00:00:00Z", labels: { "istio.io/rev": "1-30-3" } },
                }),
                pod("old-done", "1-30-3", { status: { phase: "Succeeded" } }),
            ],
        });
        assert.deepEqual(await probeProxies(cluster, check), { ready: true });
    });

    it("names each pod still on another revision", async () => {
        const cluster = api({
            "istio-ingress": [pod("gw-a", "1-30-3")],
            bookinfo: [pod("reviews-v1-a", "1-31-1"), pod("ratings-v1-b", "default")],
        });
        assert.deepEqual(await probeProxies(cluster, check), {
            ready: false,
            reason: "pod istio-ingress/gw-a runs a proxy of revision 1-30-3, not 1-31-1; pod bookinfo/ratings-v1-b runs a proxy of revision default, not 1-31-1",
        });
        assert.deepEqual(await probeProxies(api({}), check), { ready: false, reason: "listing pods in istio-ingress: HTTP 404" });
    });

    it("reports a revision left behind with the fix, beside the other checks", async () => {
        const report = await verifyDeployment(
            { endpoints: [], proxies: check },
            { get: async () => ({ status: 200, body: "" }), api: api({ "istio-ingress": [pod("gw-a", "1-30-3")], bookinfo: [] }) },
            { timeoutMs: 10, intervalMs: 10, sleep: async () => undefined },
        );
        assert.deepEqual(report.passed, []);
        assert.equal(report.failed.length, 1);
        assert.match(
            report.failed[0],
            /^proxies on revision 1-31-1 was not ready .*pod istio-ingress\/gw-a runs a proxy of revision 1-30-3, not 1-31-1\. Hint: a pod keeps the proxy it was injected with/,
        );
    });

    it("is part of prod's deployment check, on the gateway's and Bookinfo's namespaces, and not of dev's", async () => {
        const prod = await runStack("prod", { "istio-mesh:kubeconfig": EXISTING_KUBECONFIG });
        const plan = JSON.parse((inputValue(prod.get("verify-run").inputs.environment).value as Record<string, string>).VERIFY_PLAN);
        assert.deepEqual(plan.proxies, { namespaces: ["istio-ingress", "bookinfo"], revision: revisionOf(PINS.istio.version) });
        const dev = await runStack("dev");
        const devPlan = JSON.parse((inputValue(dev.get("verify-run").inputs.environment).value as Record<string, string>).VERIFY_PLAN);
        assert.equal(devPlan.proxies, undefined);
    });
});
