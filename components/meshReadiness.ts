/**
 * The mesh readiness gate: decides whether istiod actually serves its webhooks, which is
 * later than its Deployment being Ready (istio/istio#38930). Pure logic over a minimal
 * Kubernetes API, so it is unit-tested; scripts/meshReady.ts runs it against a real cluster.
 */
import { MeshMode } from "./config";

/** The slice of the Kubernetes API the checks use. */
export interface KubeApi {
    request(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

/** Outcome of one probe: ready, or not yet with the reason. */
export type Probe = { readonly ready: true } | { readonly ready: false; readonly reason: string };

const READY: Probe = { ready: true };

function message(body: unknown): string {
    if (typeof body === "object" && body !== null && typeof (body as { message?: unknown }).message === "string") {
        return (body as { message: string }).message;
    }
    return typeof body === "string" ? body : JSON.stringify(body);
}

/**
 * Server-side dry run of an Istio resource: the API server calls istiod's validating webhook,
 * so success means Istio resources can be created now.
 */
export async function probeValidation(api: KubeApi, namespace: string): Promise<Probe> {
    const body = {
        apiVersion: "security.istio.io/v1",
        kind: "AuthorizationPolicy",
        metadata: { name: "mesh-readiness-probe", namespace },
        spec: { action: "ALLOW", rules: [{}], selector: { matchLabels: { app: "mesh-readiness-probe" } } },
    };
    const res = await api.request("POST", `/apis/security.istio.io/v1/namespaces/${namespace}/authorizationpolicies?dryRun=All`, body);
    if (res.status >= 200 && res.status < 300) return READY;
    return { ready: false, reason: `validation webhook: HTTP ${res.status}: ${message(res.body)}` };
}

/**
 * Server-side dry run of a pod that asks for injection: the API server calls istiod's injector,
 * so a returned pod with an istio-proxy container (or native sidecar) proves injection works.
 */
export async function probeInjection(api: KubeApi, namespace: string): Promise<Probe> {
    const body = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
            generateName: "mesh-readiness-probe-",
            namespace,
            labels: { "sidecar.istio.io/inject": "true", app: "mesh-readiness-probe" },
        },
        spec: { containers: [{ name: "probe", image: "registry.k8s.io/pause:3.10" }] },
    };
    const res = await api.request("POST", `/api/v1/namespaces/${namespace}/pods?dryRun=All`, body);
    if (res.status < 200 || res.status >= 300)
        return { ready: false, reason: `sidecar injector: HTTP ${res.status}: ${message(res.body)}` };
    const spec = (res.body as { spec?: { containers?: { name: string }[]; initContainers?: { name: string }[] } }).spec ?? {};
    const names = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].map((c) => c.name);
    return names.includes("istio-proxy")
        ? READY
        : { ready: false, reason: "sidecar injector: the dry-run pod came back without an istio-proxy container" };
}

/** A DaemonSet is ready when every scheduled pod is ready and up to date. */
export async function probeDaemonSet(api: KubeApi, namespace: string, name: string): Promise<Probe> {
    const res = await api.request("GET", `/apis/apps/v1/namespaces/${namespace}/daemonsets/${name}`);
    if (res.status !== 200) return { ready: false, reason: `daemonset ${namespace}/${name}: HTTP ${res.status}: ${message(res.body)}` };
    const s =
        (res.body as { status?: { desiredNumberScheduled?: number; numberReady?: number; updatedNumberScheduled?: number } }).status ?? {};
    const desired = s.desiredNumberScheduled ?? 0;
    if (desired > 0 && s.numberReady === desired && (s.updatedNumberScheduled ?? desired) === desired) return READY;
    return { ready: false, reason: `daemonset ${namespace}/${name}: ${s.numberReady ?? 0}/${desired} pods ready` };
}

/** Every probe the mode needs, in order; the first one not ready wins. */
export async function probeMesh(api: KubeApi, mode: MeshMode, istioNamespace: string): Promise<Probe> {
    const probes: (() => Promise<Probe>)[] = [() => probeValidation(api, istioNamespace)];
    switch (mode) {
        case "sidecar":
            probes.push(() => probeInjection(api, "default"));
            break;
        case "ambient":
            probes.push(
                () => probeDaemonSet(api, istioNamespace, "istio-cni-node"),
                () => probeDaemonSet(api, istioNamespace, "ztunnel"),
            );
            break;
        default: {
            const unreachable: never = mode;
            throw new Error(`unknown mesh mode ${String(unreachable)}`);
        }
    }
    for (const p of probes) {
        const result = await p();
        if (!result.ready) return result;
    }
    return READY;
}

/** How long to retry, and the clock to do it with (injectable for tests). */
export interface RetryOptions {
    readonly timeoutMs: number;
    readonly intervalMs: number;
    readonly now?: () => number;
    readonly sleep?: (ms: number) => Promise<void>;
    readonly log?: (line: string) => void;
}

/**
 * Retries a probe until it is ready or the time is up. A probe that throws (connection refused,
 * say) counts as not ready. Throws with the last reason when the time is up.
 */
export async function waitUntilReady(probe: () => Promise<Probe>, what: string, options: RetryOptions): Promise<number> {
    const now = options.now ?? Date.now;
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const start = now();
    let attempts = 0;
    let last = "no attempt made";
    for (;;) {
        attempts++;
        let result: Probe;
        try {
            result = await probe();
        } catch (e) {
            result = { ready: false, reason: (e as Error).message };
        }
        if (result.ready) return attempts;
        last = result.reason;
        options.log?.(`${what} not ready yet (attempt ${attempts}): ${last}`);
        if (now() - start + options.intervalMs > options.timeoutMs) {
            throw new Error(
                `${what} was not ready after ${Math.round(options.timeoutMs / 1000)}s (${attempts} attempts). Last reason: ${last}`,
            );
        }
        await sleep(options.intervalMs);
    }
}
