/**
 * On an existing cluster: waits until the ingress gateway runs and can be reached, and works out
 * the URL it is reached at. Helm's own wait would hold a LoadBalancer release until the Service
 * has an address and then fail with only a timeout; a cluster without a load balancer controller
 * (bare metal, a local cluster) never gives it one. This check says what is missing instead, and
 * reads a node's address when the gateway is exposed as a NodePort. Pure logic over a minimal
 * Kubernetes API, unit-tested; scripts/gatewayReady.ts runs it.
 */
import { KubeApi, Probe, RetryOptions, waitUntilReady } from "../probe";
import { baseUrl, loadBalancerHost, ServiceStatus } from "../urls";

/** Where the gateway runs and how its Service is exposed. */
export interface GatewayTarget {
    readonly namespace: string;
    /** Name of the gateway's Deployment or DaemonSet, and of its Service. */
    readonly name: string;
    readonly kind: "Deployment" | "DaemonSet";
    readonly service: "LoadBalancer" | "NodePort";
    /** The stack this runs for, for the fix commands. */
    readonly stack: string;
}

interface WorkloadStatus {
    readonly metadata?: { readonly generation?: number };
    readonly status?: {
        readonly observedGeneration?: number;
        readonly replicas?: number;
        readonly readyReplicas?: number;
        readonly updatedReplicas?: number;
        readonly desiredNumberScheduled?: number;
        readonly numberReady?: number;
        readonly updatedNumberScheduled?: number;
    };
    readonly spec?: { readonly replicas?: number };
}

/**
 * Whether every pod of the gateway is ready and runs the current template: after an upgrade the
 * old pods are ready too, until the controller has seen the new generation and replaced them.
 */
export async function probeGatewayPods(api: KubeApi, t: GatewayTarget): Promise<Probe> {
    const path =
        t.kind === "Deployment"
            ? `/apis/apps/v1/namespaces/${t.namespace}/deployments/${t.name}`
            : `/apis/apps/v1/namespaces/${t.namespace}/daemonsets/${t.name}`;
    const res = await api.request("GET", path);
    if (res.status !== 200) return { ready: false, reason: `${t.kind} ${t.namespace}/${t.name}: HTTP ${res.status}` };
    const w = res.body as WorkloadStatus;
    const [want, ready, updated] =
        t.kind === "Deployment"
            ? [w.spec?.replicas ?? 1, w.status?.readyReplicas ?? 0, w.status?.updatedReplicas ?? 0]
            : [w.status?.desiredNumberScheduled ?? 0, w.status?.numberReady ?? 0, w.status?.updatedNumberScheduled ?? 0];
    const seen = (w.status?.observedGeneration ?? 0) >= (w.metadata?.generation ?? 0);
    if (!seen || (want > 0 && updated < want)) {
        return { ready: false, reason: `${t.kind} ${t.namespace}/${t.name}: ${updated}/${want} pods run the current template` };
    }
    if (want > 0 && ready >= want) return { ready: true };
    const none = t.kind === "DaemonSet" && want === 0 ? " (no node matches istio.gateway.nodeSelector)" : "";
    return { ready: false, reason: `${t.kind} ${t.namespace}/${t.name}: ${ready}/${want} pods ready${none}` };
}

/** Reads the gateway Service's load balancer address, or why there is none yet. */
export async function probeLoadBalancer(api: KubeApi, t: GatewayTarget): Promise<Probe & { readonly url?: string }> {
    const res = await api.request("GET", `/api/v1/namespaces/${t.namespace}/services/${t.name}`);
    if (res.status !== 200) return { ready: false, reason: `Service ${t.namespace}/${t.name}: HTTP ${res.status}` };
    const host = loadBalancerHost((res.body as { status?: ServiceStatus }).status);
    if (!host) return { ready: false, reason: `Service ${t.namespace}/${t.name} of type LoadBalancer has no address yet` };
    return { ready: true, url: baseUrl("http", host.includes(":") ? `[${host}]` : host) };
}

interface NodeList {
    readonly items?: readonly {
        readonly metadata?: { readonly name?: string };
        readonly status?: { readonly addresses?: readonly { readonly type: string; readonly address: string }[] };
    }[];
}

interface ServiceJson {
    readonly spec?: { readonly ports?: readonly { readonly name?: string; readonly port?: number; readonly nodePort?: number }[] };
}

/** The gateway's HTTP port on a node: a node's external address if it has one, else its internal one. */
export async function nodePortUrl(api: KubeApi, t: GatewayTarget): Promise<Probe & { readonly url?: string }> {
    const svc = await api.request("GET", `/api/v1/namespaces/${t.namespace}/services/${t.name}`);
    if (svc.status !== 200) return { ready: false, reason: `Service ${t.namespace}/${t.name}: HTTP ${svc.status}` };
    const nodePort = ((svc.body as ServiceJson).spec?.ports ?? []).find((p) => p.port === 80)?.nodePort;
    if (!nodePort) return { ready: false, reason: `Service ${t.namespace}/${t.name} has no nodePort for port 80 yet` };
    const nodes = await api.request("GET", "/api/v1/nodes");
    if (nodes.status !== 200) return { ready: false, reason: `listing nodes: HTTP ${nodes.status}` };
    const addresses = ((nodes.body as NodeList).items ?? []).flatMap((n) => n.status?.addresses ?? []);
    const pick = addresses.find((a) => a.type === "ExternalIP") ?? addresses.find((a) => a.type === "InternalIP");
    if (!pick) return { ready: false, reason: "no node reports an ExternalIP or InternalIP address" };
    return { ready: true, url: baseUrl("http", pick.address.includes(":") ? `[${pick.address}]` : pick.address, nodePort) };
}

/**
 * Waits for the gateway's pods, then for its address, each with a message that says what is
 * missing and how to fix it. Returns the gateway's base URL.
 */
export async function waitForGateway(api: KubeApi, t: GatewayTarget, options: RetryOptions): Promise<string> {
    try {
        await waitUntilReady(() => probeGatewayPods(api, t), `the ingress gateway's pods`, options);
    } catch (e) {
        throw new Error(
            `${(e as Error).message}. Hint: the pods may not pull their image or fit on a node: look at the events of namespace ${t.namespace}.`,
        );
    }
    let url: string | undefined;
    const address = async (): Promise<Probe> => {
        const r = t.service === "LoadBalancer" ? await probeLoadBalancer(api, t) : await nodePortUrl(api, t);
        url = r.url;
        return r;
    };
    try {
        await waitUntilReady(address, `the ingress gateway's address`, options);
    } catch (e) {
        const hint =
            t.service === "LoadBalancer"
                ? `this cluster gives LoadBalancer Services no address: it has no load balancer controller (a cloud provider's, or MetalLB on bare metal). Install one, or expose the gateway on the nodes instead: pulumi config set --path istio.gateway.service NodePort --stack ${t.stack}`
                : `the nodes must report an address this machine can reach.`;
        throw new Error(`${(e as Error).message}. Hint: ${hint}`);
    }
    return url!;
}
