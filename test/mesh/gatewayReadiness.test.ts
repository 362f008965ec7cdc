import { strict as assert } from "assert";
import { GatewayTarget, nodePortUrl, probeGatewayPods, probeLoadBalancer, waitForGateway } from "../../components/mesh/gatewayReadiness";
import { KubeApi } from "../../components/probe";
import { ConfigError, validateConfig } from "../../components/config";
import { EXISTING_KUBECONFIG, inputValue, LOAD_BALANCER_IP, rawConfigFor, resolve, Run, runStack } from "../harness";

const TARGET: GatewayTarget = {
    namespace: "istio-ingress",
    name: "istio-ingressgateway",
    kind: "Deployment",
    service: "LoadBalancer",
    stack: "prod",
};
const DEPLOYMENT = "GET /apis/apps/v1/namespaces/istio-ingress/deployments/istio-ingressgateway";
const SERVICE = "GET /api/v1/namespaces/istio-ingress/services/istio-ingressgateway";
const NODES = "GET /api/v1/nodes";

function fakeApi(routes: Record<string, () => unknown>): KubeApi {
    return {
        async request(method, path) {
            const route = routes[`${method} ${path}`];
            return route ? { status: 200, body: route() } : { status: 404, body: { message: "not found" } };
        },
    };
}

const readyPods = () => ({
    metadata: { generation: 3 },
    spec: { replicas: 2 },
    status: { observedGeneration: 3, readyReplicas: 2, updatedReplicas: 2 },
});
const clock = () => {
    let t = 0;
    return { now: () => t, sleep: async (ms: number) => void (t += ms) };
};

describe("ingress gateway on an existing cluster", () => {
    it("waits for every gateway pod, and names a DaemonSet that matches no node", async () => {
        assert.deepEqual(
            await probeGatewayPods(
                fakeApi({ [DEPLOYMENT]: () => ({ spec: { replicas: 2 }, status: { readyReplicas: 1, updatedReplicas: 2 } }) }),
                TARGET,
            ),
            {
                ready: false,
                reason: "Deployment istio-ingress/istio-ingressgateway: 1/2 pods ready",
            },
        );
        assert.deepEqual(await probeGatewayPods(fakeApi({ [DEPLOYMENT]: readyPods }), TARGET), { ready: true });
        // after an upgrade, the old pods are ready but not current
        const upgrading = {
            metadata: { generation: 4 },
            spec: { replicas: 2 },
            status: { observedGeneration: 4, readyReplicas: 2, updatedReplicas: 1 },
        };
        assert.deepEqual(await probeGatewayPods(fakeApi({ [DEPLOYMENT]: () => upgrading }), TARGET), {
            ready: false,
            reason: "Deployment istio-ingress/istio-ingressgateway: 1/2 pods run the current template",
        });
        const unseen = { ...readyPods(), metadata: { generation: 4 } };
        assert.equal(
            (await probeGatewayPods(fakeApi({ [DEPLOYMENT]: () => unseen }), TARGET)).ready,
            false,
            "the new generation is not observed yet",
        );
        const ds = fakeApi({
            "GET /apis/apps/v1/namespaces/istio-ingress/daemonsets/istio-ingressgateway": () => ({
                status: { desiredNumberScheduled: 0, numberReady: 0 },
            }),
        });
        assert.deepEqual(await probeGatewayPods(ds, { ...TARGET, kind: "DaemonSet" }), {
            ready: false,
            reason: "DaemonSet istio-ingress/istio-ingressgateway: 0/0 pods ready (no node matches istio.gateway.nodeSelector)",
        });
        // The nodeSelector hint is for a DaemonSet that no node takes, not for one still starting or a Deployment scaled to 0.
        const starting = fakeApi({
            "GET /apis/apps/v1/namespaces/istio-ingress/daemonsets/istio-ingressgateway": () => ({
                status: { desiredNumberScheduled: 2, numberReady: 1, updatedNumberScheduled: 2 },
            }),
        });
        assert.deepEqual(await probeGatewayPods(starting, { ...TARGET, kind: "DaemonSet" }), {
            ready: false,
            reason: "DaemonSet istio-ingress/istio-ingressgateway: 1/2 pods ready",
        });
        assert.deepEqual(await probeGatewayPods(fakeApi({ [DEPLOYMENT]: () => ({ spec: { replicas: 0 }, status: {} }) }), TARGET), {
            ready: false,
            reason: "Deployment istio-ingress/istio-ingressgateway: 0/0 pods ready",
        });
    });

    it("reports an API error for the gateway's workload, Service or nodes instead of reading the error as a status", async () => {
        const none = fakeApi({});
        assert.deepEqual(await probeGatewayPods(none, TARGET), {
            ready: false,
            reason: "Deployment istio-ingress/istio-ingressgateway: HTTP 404",
        });
        assert.deepEqual(await probeLoadBalancer(none, TARGET), {
            ready: false,
            reason: "Service istio-ingress/istio-ingressgateway: HTTP 404",
        });
        assert.deepEqual(await nodePortUrl(none, TARGET), { ready: false, reason: "Service istio-ingress/istio-ingressgateway: HTTP 404" });
        const noNodes = fakeApi({ [SERVICE]: () => ({ spec: { ports: [{ port: 80, nodePort: 31380 }] } }) });
        assert.deepEqual(await nodePortUrl(noNodes, TARGET), { ready: false, reason: "listing nodes: HTTP 404" });
    });

    it("says the gateway's pods are missing, and where to look, before it looks for an address", async () => {
        const calls: string[] = [];
        const api: KubeApi = {
            async request(method, path) {
                calls.push(`${method} ${path}`);
                return path.includes("/deployments/")
                    ? { status: 200, body: { spec: { replicas: 2 }, status: { readyReplicas: 1, updatedReplicas: 2 } } }
                    : { status: 200, body: { status: { loadBalancer: { ingress: [{ ip: "192.0.2.10" }] } } } };
            },
        };
        await assert.rejects(waitForGateway(api, TARGET, { timeoutMs: 1000, intervalMs: 100, ...clock() }), {
            message:
                "the ingress gateway's pods was not ready after 1s (11 attempts). Last reason: Deployment istio-ingress/istio-ingressgateway: 1/2 pods ready. Hint: the pods may not pull their image or fit on a node: look at the events of namespace istio-ingress.",
        });
        assert.ok(
            calls.every((c) => c === DEPLOYMENT),
            calls.join("\n"),
        );
    });

    it("reads the load balancer's address, host name or IP", async () => {
        const lb = (ingress: unknown[]) => fakeApi({ [SERVICE]: () => ({ status: { loadBalancer: { ingress } } }) });
        assert.deepEqual(await probeLoadBalancer(lb([{ hostname: "a1.elb.example.com" }]), TARGET), {
            ready: true,
            url: "http://a1.elb.example.com",
        });
        assert.deepEqual(await probeLoadBalancer(lb([{ ip: "2001:db8::1" }]), TARGET), { ready: true, url: "http://[2001:db8::1]" });
        assert.deepEqual(await probeLoadBalancer(lb([]), TARGET), {
            ready: false,
            reason: "Service istio-ingress/istio-ingressgateway of type LoadBalancer has no address yet",
        });
    });

    it("says what is missing when no load balancer ever gives the gateway an address, and how to use a NodePort instead", async () => {
        const api = fakeApi({ [DEPLOYMENT]: readyPods, [SERVICE]: () => ({ status: {} }) });
        await assert.rejects(waitForGateway(api, TARGET, { timeoutMs: 300000, intervalMs: 3000, ...clock() }), {
            message:
                "the ingress gateway's address was not ready after 300s (101 attempts). Last reason: Service istio-ingress/istio-ingressgateway of type LoadBalancer has no address yet. Hint: this cluster gives LoadBalancer Services no address: it has no load balancer controller (a cloud provider's, or MetalLB on bare metal). Install one, or expose the gateway on the nodes instead: pulumi config set --path istio.gateway.service NodePort --stack prod",
        });
    });

    it("reaches a NodePort gateway at a node's external address, else its internal one", async () => {
        const nodes = (addresses: { type: string; address: string }[]) =>
            fakeApi({
                [DEPLOYMENT]: readyPods,
                [SERVICE]: () => ({
                    spec: {
                        ports: [
                            { port: 15021, nodePort: 31021 },
                            { port: 80, nodePort: 31380 },
                        ],
                    },
                }),
                [NODES]: () => ({ items: [{ status: { addresses } }] }),
            });
        const t = { ...TARGET, service: "NodePort" as const };
        assert.deepEqual(
            await nodePortUrl(
                nodes([
                    { type: "InternalIP", address: "10.0.0.5" },
                    { type: "ExternalIP", address: "198.51.100.7" },
                ]),
                t,
            ),
            { ready: true, url: "http://198.51.100.7:31380" },
        );
        assert.equal(
            await waitForGateway(nodes([{ type: "InternalIP", address: "10.0.0.5" }]), t, { timeoutMs: 1000, intervalMs: 100, ...clock() }),
            "http://10.0.0.5:31380",
        );
        assert.deepEqual(await nodePortUrl(nodes([{ type: "Hostname", address: "node-1" }]), t), {
            ready: false,
            reason: "no node reports an ExternalIP or InternalIP address",
        });
        assert.deepEqual(await nodePortUrl(nodes([{ type: "InternalIP", address: "2001:db8::7" }]), t), {
            ready: true,
            url: "http://[2001:db8::7]:31380",
        });
    });

    it("waits for the Service's nodePort for port 80, and says the nodes must be reachable when none has an address", async () => {
        const t = { ...TARGET, service: "NodePort" as const };
        const noHttpPort = fakeApi({ [SERVICE]: () => ({ spec: { ports: [{ port: 15021, nodePort: 31021 }, { port: 80 }] } }) });
        assert.deepEqual(await nodePortUrl(noHttpPort, t), {
            ready: false,
            reason: "Service istio-ingress/istio-ingressgateway has no nodePort for port 80 yet",
        });
        const api = fakeApi({
            [DEPLOYMENT]: readyPods,
            [SERVICE]: () => ({ spec: { ports: [{ port: 80, nodePort: 31380 }] } }),
            [NODES]: () => ({ items: [{ status: { addresses: [{ type: "Hostname", address: "node-1" }] } }] }),
        });
        await assert.rejects(waitForGateway(api, t, { timeoutMs: 1000, intervalMs: 100, ...clock() }), {
            message:
                "the ingress gateway's address was not ready after 1s (11 attempts). Last reason: no node reports an ExternalIP or InternalIP address. Hint: the nodes must report an address this machine can reach.",
        });
    });
});

describe("ingress gateway exposure in the program", () => {
    const KUBECONFIG = { "istio-mesh:kubeconfig": EXISTING_KUBECONFIG };
    let prod: Run;
    before(async () => {
        prod = await runStack("prod", KUBECONFIG);
    });

    it("does not let Helm wait for a load balancer on an existing cluster, and checks the gateway itself", async () => {
        const release = prod.get("istio-gateway");
        assert.equal(release.inputs.skipAwait, true);
        assert.equal(release.inputs.atomic, false);
        const check = prod.get("istio-gateway-ready", "command:local:Command");
        assert.equal(check.inputs.create, "node --require ts-node/register/transpile-only scripts/gatewayReady.ts");
        const env = inputValue(check.inputs.environment);
        assert.equal(env.secret, true);
        assert.deepEqual(JSON.parse((env.value as Record<string, string>).GATEWAY_TARGET), {
            namespace: "istio-ingress",
            name: "istio-ingressgateway",
            kind: "Deployment",
            service: "LoadBalancer",
            stack: "prod",
        });
        assert.ok(check.dataDeps.includes("istio-gateway"), "the check reads the release it checks");
        assert.equal((await resolve(prod.outputs.ingressGatewayUrl as never)).value, `http://${LOAD_BALANCER_IP}`);
    });

    it("lets Helm wait on kind, where the gateway is a NodePort behind the host ports", async () => {
        const dev = await runStack("dev");
        assert.equal(dev.get("istio-gateway").inputs.skipAwait, false);
        assert.equal(dev.get("istio-gateway").inputs.atomic, true);
        assert.equal(dev.find("istio-gateway-ready"), undefined);
    });

    it("exposes the gateway as a NodePort on an existing cluster without a load balancer, when asked", async () => {
        const run = await runStack("prod", { ...KUBECONFIG, "istio-mesh:istio": { gateway: { service: "NodePort" } } });
        const values = run.get("istio-gateway").inputs.values;
        assert.equal(values.service.type, "NodePort");
        assert.ok(
            values.service.ports.every((p: { nodePort?: number }) => p.nodePort === undefined),
            "Kubernetes picks the nodePorts",
        );
        const env = inputValue(run.get("istio-gateway-ready").inputs.environment).value as Record<string, string>;
        assert.equal(JSON.parse(env.GATEWAY_TARGET).service, "NodePort");
    });

    it("refuses the setting on kind, and with the addons served through the gateway's load balancer", () => {
        assert.throws(
            () => validateConfig(rawConfigFor("dev", { "istio-mesh:istio": { gateway: { service: "NodePort" } } })),
            (e: ConfigError) =>
                e.problems.includes(
                    `istio.gateway.service applies to existing clusters only (got "NodePort" with clusterMode "kind", where the gateway is always a NodePort behind kind's host ports). Fix: pulumi config rm --path istio.gateway.service --stack dev`,
                ),
        );
        assert.throws(
            () =>
                validateConfig(
                    rawConfigFor("prod", {
                        ...KUBECONFIG,
                        "istio-mesh:istio": { gateway: { service: "NodePort" } },
                        "istio-mesh:observability": { gatewayExposure: { sourceRanges: ["203.0.113.0/24"] } },
                    }),
                ),
            (e: ConfigError) =>
                e.problems.includes(
                    `observability.gatewayExposure needs istio.gateway.service "LoadBalancer" (got "NodePort"): the addon UIs are served on their own ports of the gateway's load balancer address. Fix: remove observability.gatewayExposure, or pulumi config set --path istio.gateway.service LoadBalancer --stack prod`,
                ),
        );
    });
});
