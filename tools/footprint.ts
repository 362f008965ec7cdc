/**
 * The CPU and memory a stack's pods request, for `npm run check`: summed from the same pure data the
 * program deploys (Bookinfo's manifests, the addons' Helm values, istiod's config) and, where the
 * stack leaves a chart at its defaults, from those defaults (below, each naming its chart). These are
 * requests, what the scheduler reserves; kind's own control plane comes on top.
 */
import { StackConfig } from "../components/config";
import { usesL7, workloadManifests } from "../components/bookinfo/bookinfoManifests";
import {
    grafanaValues,
    grafanaViewerSidecar,
    headlampValues,
    jaegerValues,
    kialiValues,
    prometheusValues,
} from "../components/observability/observabilityValues";

/** CPU in millicores and memory in MiB. */
export interface Requests {
    readonly cpuMilli: number;
    readonly memoryMi: number;
}

/**
 * Requests of the Istio charts the stack leaves at their defaults, the same in 1.30.3 and 1.31.1:
 * the gateway chart's values.yaml (`resources.requests`), cni's and ztunnel's
 * (`resources.requests`), and istiod's `global.proxy.resources.requests` (every injected sidecar)
 * and `global.waypoint.resources.requests` (every waypoint).
 */
export const ISTIO_CHART_REQUESTS = {
    gateway: { cpuMilli: 100, memoryMi: 128 },
    cni: { cpuMilli: 100, memoryMi: 100 },
    ztunnel: { cpuMilli: 200, memoryMi: 512 },
    proxy: { cpuMilli: 100, memoryMi: 128 },
} as const satisfies Record<string, Requests>;

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/;

/** A Kubernetes CPU quantity in millicores. */
export function cpuMilli(q: string): number {
    const m = QUANTITY.exec(q.trim());
    if (!m) throw new Error(`not a CPU quantity: ${JSON.stringify(q)}`);
    return m[2] === "m" ? Number(m[1]) : Number(m[1]) * 1000;
}

/** A Kubernetes memory quantity in MiB. */
export function memoryMi(q: string): number {
    const m = QUANTITY.exec(q.trim());
    if (!m) throw new Error(`not a memory quantity: ${JSON.stringify(q)}`);
    const bytes: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
    return (Number(m[1]) * (m[2] ? bytes[m[2]] : 1)) / 2 ** 20;
}

const ZERO: Requests = { cpuMilli: 0, memoryMi: 0 };

function add(a: Requests, b: Requests, times = 1): Requests {
    return { cpuMilli: a.cpuMilli + b.cpuMilli * times, memoryMi: a.memoryMi + b.memoryMi * times };
}

/**
 * Every `resources.requests` in a manifest or a chart's values, summed; a Deployment's counts
 * `spec.replicas` times.
 */
export function requestsIn(value: unknown): Requests {
    if (Array.isArray(value)) return value.reduce<Requests>((sum, v) => add(sum, requestsIn(v)), ZERO);
    if (typeof value !== "object" || value === null) return ZERO;
    const o = value as Record<string, unknown>;
    const spec = o.spec as { replicas?: unknown } | undefined;
    if (o.kind === "Deployment" && typeof spec?.replicas === "number") {
        const { spec: s, ...rest } = o;
        return add(requestsIn(rest), requestsIn({ ...(s as object), replicas: undefined }), spec.replicas);
    }
    let sum = ZERO;
    for (const [k, v] of Object.entries(o)) {
        const requests = (v as { requests?: { cpu?: unknown; memory?: unknown } } | undefined)?.requests;
        if (k === "resources" && typeof requests === "object" && requests !== null) {
            sum = add(sum, {
                cpuMilli: typeof requests.cpu === "string" ? cpuMilli(requests.cpu) : 0,
                memoryMi: typeof requests.memory === "string" ? memoryMi(requests.memory) : 0,
            });
        } else {
            sum = add(sum, requestsIn(v));
        }
    }
    return sum;
}

/** One part of the footprint. */
export interface FootprintLine {
    readonly what: string;
    readonly requests: Requests;
}

/** What the stack's pods request, part by part. `perNode`: on an existing cluster, what grows with its nodes (counted once). */
export function footprint(cfg: StackConfig): { lines: FootprintLine[]; total: Requests; perNode?: string } {
    const mode = cfg.istio.mode;
    // On an existing cluster the node count is unknown: one node is counted.
    const nodes = cfg.kind ? cfg.kind.workers + 1 : 1;
    const lines: FootprintLine[] = [];
    const times = (r: Requests, n: number): Requests => add(ZERO, r, n);
    const istiod = cfg.istio.istiod;
    lines.push({
        what: `istiod, ${istiod.replicas} replica${istiod.replicas === 1 ? "" : "s"}`,
        requests: times(requestsIn({ resources: istiod.resources }), istiod.replicas),
    });
    const g = cfg.istio.gateway;
    const gateways = g.kind === "DaemonSet" ? nodes : g.replicas;
    lines.push({
        what: `ingress gateway, ${gateways} pod${gateways === 1 ? "" : "s"}`,
        requests: times(ISTIO_CHART_REQUESTS.gateway, gateways),
    });
    if (mode === "ambient") {
        lines.push({
            what: `istio-cni and ztunnel on ${nodes} node${nodes === 1 ? "" : "s"}`,
            requests: times(add(ISTIO_CHART_REQUESTS.cni, ISTIO_CHART_REQUESTS.ztunnel), nodes),
        });
    }
    if (cfg.bookinfo.enabled) {
        const workloads = workloadManifests(mode);
        const pods = workloads.reduce(
            (n, w) => n + (w.kind === "Deployment" ? Number((w.spec as { replicas?: number }).replicas ?? 1) : 0),
            0,
        );
        lines.push({ what: `Bookinfo, ${pods} pods`, requests: requestsIn(workloads) });
        if (mode === "sidecar")
            lines.push({ what: `${pods} Bookinfo sidecars at Istio's default`, requests: times(ISTIO_CHART_REQUESTS.proxy, pods) });
        // The program adds the waypoint in ambient mode when Bookinfo's settings need L7 (components/bookinfo/bookinfo.ts).
        if (mode === "ambient" && usesL7(cfg.bookinfo)) lines.push({ what: "Bookinfo's waypoint", requests: ISTIO_CHART_REQUESTS.proxy });
    }
    const o = cfg.observability;
    const ref = { name: "secret", key: "key" };
    const browserGrafana = o.grafana && o.kiali && (cfg.kind !== undefined || o.gatewayExposure !== undefined);
    const addons: [boolean, string, unknown][] = [
        [o.prometheus, "Prometheus", prometheusValues()],
        [
            o.grafana,
            browserGrafana ? "Grafana, with its Kiali-user sidecar" : "Grafana",
            [grafanaValues({ mode, adminSecret: "secret" }), browserGrafana ? grafanaViewerSidecar("secret", ref) : undefined],
        ],
        [o.jaeger, "Jaeger", jaegerValues()],
        [o.kiali, "Kiali", kialiValues({ auth: o.kialiAuth, signingKey: ref })],
        [o.headlamp !== undefined, "Headlamp", headlampValues()],
    ];
    for (const [on, what, values] of addons) if (on) lines.push({ what, requests: requestsIn(values) });
    const total = lines.reduce<Requests>((sum, l) => add(sum, l.requests), ZERO);
    const perNode = cfg.kind
        ? undefined
        : "a cluster of one node; a DaemonSet gateway, istio-cni and ztunnel add their share on every further node";
    return { lines, total, perNode };
}

/** `1.3 CPU and 2.9 GiB`. */
export function formatRequests(r: Requests): string {
    const cpu = r.cpuMilli >= 1000 ? `${(r.cpuMilli / 1000).toFixed(2).replace(/\.?0+$/, "")} CPU` : `${Math.round(r.cpuMilli)}m CPU`;
    const mem = r.memoryMi >= 1024 ? `${(r.memoryMi / 1024).toFixed(2).replace(/\.?0+$/, "")} GiB` : `${Math.round(r.memoryMi)} MiB`;
    return `${cpu}, ${mem}`;
}
