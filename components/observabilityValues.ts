/**
 * Helm values and wiring of the observability addons, kept pure so the tests can check that
 * every URL points at a Service the stack creates. Service names follow Istio's own addons,
 * so Istio's docs and Kiali's defaults line up.
 */
import { ISTIO_GRAFANA_DASHBOARDS, istioDashboardUrl } from "./versions";
import { MeshMode } from "./config";
import { Manifest } from "./meshManifests";
import { baseUrl } from "./urls";

/** The addons' namespace. Fixed: the URLs below are built from it. */
export const OBSERVABILITY_NAMESPACE = "observability";

/** The addons with a UI, by their host port role on kind. */
export type AddonRole = "prometheus" | "grafana" | "jaeger" | "kiali" | "kubernetesDashboard";

/** An in-cluster Service an addon answers on. */
export interface AddonService {
    /** Name for people, in messages. */
    readonly title: string;
    /** Its host port role on kind (kind.hostPorts.<role>). */
    readonly role: AddonRole;
    /** Path that answers 200 when the addon is healthy, from the Service's root. */
    readonly healthPath: string;
    /** Helm release name. */
    readonly release: string;
    /** How the UI is spoken to: plain HTTP, or TLS that the addon terminates itself. */
    readonly scheme: "http" | "https";
    /** Service name and port the chart creates. */
    readonly service: string;
    readonly port: number;
    /** Container port behind {@link port}. @default port */
    readonly targetPort?: number;
    /** Port of the ingress gateway that serves the UI on an existing cluster. @default port */
    readonly gatewayPort?: number;
    /** Pod labels of the addon's UI, for the NodePort Service on kind. */
    readonly selector: Readonly<Record<string, string>>;
}

export const PROMETHEUS: AddonService = {
    title: "Prometheus",
    role: "prometheus",
    healthPath: "/-/ready",
    scheme: "http",
    release: "prometheus",
    service: "prometheus",
    port: 9090,
    selector: {
        "app.kubernetes.io/name": "prometheus",
        "app.kubernetes.io/instance": "prometheus",
        "app.kubernetes.io/component": "server",
    },
};
export const GRAFANA: AddonService = {
    title: "Grafana",
    role: "grafana",
    healthPath: "/api/health",
    scheme: "http",
    release: "grafana",
    service: "grafana",
    port: 3000,
    selector: { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "grafana" },
};
export const JAEGER: AddonService = {
    title: "Jaeger",
    role: "jaeger",
    healthPath: "/api/services",
    scheme: "http",
    release: "jaeger",
    service: "jaeger",
    port: 16686,
    selector: { "app.kubernetes.io/name": "jaeger", "app.kubernetes.io/instance": "jaeger", "app.kubernetes.io/component": "all-in-one" },
};
export const KIALI: AddonService = {
    title: "Kiali",
    role: "kiali",
    healthPath: "/kiali/healthz",
    scheme: "http",
    release: "kiali",
    service: "kiali",
    port: 20001,
    selector: { "app.kubernetes.io/name": "kiali", "app.kubernetes.io/instance": "kiali" },
};
/**
 * The Kubernetes Dashboard, reached through the Kong proxy its chart puts in front of it. Kong
 * terminates TLS itself (a self-signed certificate), so the UI is always https and the gateway
 * passes the connection through untouched.
 */
export const KUBERNETES_DASHBOARD: AddonService = {
    title: "Kubernetes Dashboard",
    role: "kubernetesDashboard",
    // Kong routes / to the Dashboard's web module.
    healthPath: "/",
    scheme: "https",
    // With release "kubernetes-dashboard", Kong's subchart names its proxy Service <release>-kong-proxy.
    release: "kubernetes-dashboard",
    service: "kubernetes-dashboard-kong-proxy",
    port: 443,
    targetPort: 8443,
    // 443 on the gateway is Bookinfo's HTTPS port.
    gatewayPort: 8443,
    selector: {
        "app.kubernetes.io/name": "kong",
        "app.kubernetes.io/instance": "kubernetes-dashboard",
        "app.kubernetes.io/component": "app",
    },
};

/**
 * The read-only ClusterRole the kiali-server chart creates for token logins
 * (`<deployment.instance_name>-viewer`, instance name "kiali"): mesh config, workloads and
 * logs to read, nothing to change.
 */
export const KIALI_VIEWER_ROLE = "kiali-viewer";

/** Jaeger's OTLP/gRPC receiver, where the proxies send spans. */
export const JAEGER_OTLP_GRPC_PORT = 4317;
/** Name of the tracing extension provider in meshConfig. */
export const TRACING_PROVIDER = "jaeger";

/** Cluster DNS name of an addon Service. */
export function clusterHost(a: AddonService): string {
    return `${a.service}.${OBSERVABILITY_NAMESPACE}.svc.cluster.local`;
}

/** Cluster URL of an addon Service. */
export function clusterUrl(a: AddonService): string {
    return baseUrl(a.scheme, clusterHost(a), a.port);
}

/** The ingress gateway port that serves an addon's UI on an existing cluster. */
export function gatewayPortOf(a: AddonService): number {
    return a.gatewayPort ?? a.port;
}

/** Keeps the addons out of the mesh: they are not injected and not captured by ztunnel. */
const OUT_OF_MESH = { "sidecar.istio.io/inject": "false" };

/** Prometheus, scraping the mesh the way Istio's addon values do. */
export function prometheusValues(): Record<string, unknown> {
    return {
        alertmanager: { enabled: false },
        "prometheus-pushgateway": { enabled: false },
        "kube-state-metrics": { enabled: false },
        "prometheus-node-exporter": { enabled: false },
        server: {
            fullnameOverride: PROMETHEUS.service,
            podLabels: OUT_OF_MESH,
            persistentVolume: { enabled: false },
            service: { servicePort: PROMETHEUS.port },
            readinessProbeInitialDelay: 0,
            global: { scrape_interval: "15s" },
            resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
        },
    };
}

/** Grafana with the Prometheus datasource, Istio's dashboards and no anonymous access. */
export function grafanaValues(mode: MeshMode, adminSecret: string): Record<string, unknown> {
    // No `datasource` rewrite: Istio's dashboards pick the default Prometheus through their own variable.
    const dashboards: Record<string, { url: string }> = {};
    const entries = Object.entries(ISTIO_GRAFANA_DASHBOARDS).filter(([name]) => mode === "ambient" || name !== "ztunnel");
    for (const [name, file] of entries) dashboards[`istio-${name}`] = { url: istioDashboardUrl(file) };
    return {
        podLabels: OUT_OF_MESH,
        testFramework: { enabled: false },
        // The admin password lives in a Secret the stack generates; the chart never sees it in clear.
        admin: { existingSecret: adminSecret, userKey: "admin-user", passwordKey: "admin-password" },
        "grafana.ini": {
            "auth.anonymous": { enabled: false },
            auth: { disable_login_form: false },
            users: { allow_sign_up: false },
            analytics: { reporting_enabled: false, check_for_updates: false },
        },
        service: { port: GRAFANA.port },
        resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } },
        datasources: {
            "datasources.yaml": {
                apiVersion: 1,
                datasources: [
                    {
                        name: "Prometheus",
                        type: "prometheus",
                        uid: "prometheus",
                        url: clusterUrl(PROMETHEUS),
                        access: "proxy",
                        isDefault: true,
                        editable: false,
                        jsonData: { timeInterval: "15s" },
                    },
                ],
            },
        },
        dashboardProviders: {
            "dashboardproviders.yaml": {
                apiVersion: 1,
                providers: [
                    {
                        name: "istio",
                        orgId: 1,
                        folder: "Istio",
                        type: "file",
                        disableDeletion: false,
                        options: { path: "/var/lib/grafana/dashboards/istio" },
                    },
                ],
            },
        },
        dashboards: { istio: dashboards },
        // The chart's default (-skf) skips TLS verification. Verify it (the curl image has a CA bundle),
        // keep -f so that an HTTP error fails the download, and -S so that the log says why.
        defaultCurlOptions: "-sSf",
    };
}

/** Jaeger v2 all-in-one with in-memory storage and OTLP on 4317. */
export function jaegerValues(): Record<string, unknown> {
    return {
        jaeger: {
            podLabels: OUT_OF_MESH,
            resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } },
        },
        userconfig: {
            service: {
                extensions: ["jaeger_storage", "jaeger_query", "healthcheckv2"],
                pipelines: { traces: { receivers: ["otlp"], processors: ["batch"], exporters: ["jaeger_storage_exporter"] } },
            },
            extensions: {
                healthcheckv2: { use_v2: true, http: { endpoint: "0.0.0.0:13133" } },
                jaeger_query: { storage: { traces: "memstore" } },
                jaeger_storage: { backends: { memstore: { memory: { max_traces: 50000 } } } },
            },
            receivers: {
                otlp: { protocols: { grpc: { endpoint: `0.0.0.0:${JAEGER_OTLP_GRPC_PORT}` }, http: { endpoint: "0.0.0.0:4318" } } },
            },
            processors: { batch: {} },
            exporters: { jaeger_storage_exporter: { trace_storage: "memstore" } },
        },
    };
}

/**
 * The Kubernetes Dashboard behind its Kong proxy, with token login only (the chart has no other).
 * Its metrics scraper is off: it reads metrics-server, which this stack does not install.
 */
export function kubernetesDashboardValues(): Record<string, unknown> {
    const part = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
        labels: OUT_OF_MESH,
        containers: { resources: { requests: { cpu: "25m", memory: "64Mi" } }, ...extra },
    });
    return {
        auth: part(),
        api: part({ args: ["--metrics-provider=none"] }),
        web: part(),
        metricsScraper: { enabled: false },
        kong: {
            podLabels: OUT_OF_MESH,
            resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } },
        },
    };
}

/** How Kiali is reached from the browser, for its links to Grafana and Jaeger. */
export interface KialiLinks {
    readonly grafanaUrl?: string;
    readonly jaegerUrl?: string;
}

/** Kiali wired to Prometheus, Grafana and Jaeger; token login unless anonymous (then view only). */
export function kialiValues(input: {
    auth: "token" | "anonymous";
    grafana: boolean;
    jaeger: boolean;
    links: KialiLinks;
}): Record<string, unknown> {
    return {
        auth: { strategy: input.auth },
        deployment: {
            pod_labels: OUT_OF_MESH,
            // Anonymous users may look but never change mesh config.
            view_only_mode: input.auth === "anonymous",
            resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "1Gi" } },
        },
        istio_namespace: "istio-system",
        external_services: {
            prometheus: { url: clusterUrl(PROMETHEUS) },
            grafana: input.grafana
                ? {
                      enabled: true,
                      internal_url: clusterUrl(GRAFANA),
                      ...(input.links.grafanaUrl ? { external_url: input.links.grafanaUrl } : {}),
                  }
                : { enabled: false },
            tracing: input.jaeger
                ? {
                      enabled: true,
                      provider: "jaeger",
                      use_grpc: false,
                      internal_url: clusterUrl(JAEGER),
                      ...(input.links.jaegerUrl ? { external_url: input.links.jaegerUrl } : {}),
                  }
                : { enabled: false },
        },
    };
}

/** The ingress gateway the addon UIs are served through on an existing cluster. */
export interface AddonGatewayRef {
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
}

/** The addons switched on, in a fixed order. */
export function enabledAddons(s: {
    readonly prometheus: boolean;
    readonly grafana: boolean;
    readonly jaeger: boolean;
    readonly kiali: boolean;
    readonly kubernetesDashboard?: unknown;
}): AddonService[] {
    return [
        ...(s.prometheus ? [PROMETHEUS] : []),
        ...(s.grafana ? [GRAFANA] : []),
        ...(s.jaeger ? [JAEGER] : []),
        ...(s.kiali ? [KIALI] : []),
        ...(s.kubernetesDashboard ? [KUBERNETES_DASHBOARD] : []),
    ];
}

/** How the gateway carries a UI: routed as HTTP, or, for a UI that terminates TLS itself (the Dashboard), passed through as TCP. */
function gatewayProtocolOf(a: AddonService): "HTTP" | "TCP" {
    return a.scheme === "https" ? "TCP" : "HTTP";
}

/** The ingress gateway ports that serve the addon UIs, named by protocol for Istio. */
export function addonGatewayPorts(addons: readonly AddonService[]): { name: string; port: number }[] {
    return addons.map((a) => ({ name: `${gatewayProtocolOf(a).toLowerCase()}-${a.release}`, port: gatewayPortOf(a) }));
}

/** Name of the Istio Gateway that serves the addon UIs. */
export const ADDON_GATEWAY = "addons";

/**
 * Serves each addon UI on its own port of the ingress gateway (its Service port, so the URL is
 * the gateway's address and that port), and denies those ports to every client outside
 * `sourceRanges`: Prometheus and Jaeger have no login of their own.
 */
export function addonGatewayManifests(
    addons: readonly AddonService[],
    gateway: AddonGatewayRef,
    sourceRanges: readonly string[],
): Manifest[] {
    if (addons.length === 0) return [];
    const out: Manifest[] = [
        {
            apiVersion: "networking.istio.io/v1",
            kind: "Gateway",
            metadata: { name: ADDON_GATEWAY, namespace: OBSERVABILITY_NAMESPACE },
            spec: {
                selector: { ...gateway.labels },
                servers: addonGatewayPorts(addons).map((p, i) => ({
                    port: { number: p.port, name: p.name, protocol: gatewayProtocolOf(addons[i]) },
                    hosts: ["*"],
                })),
            },
        },
    ];
    for (const a of addons) {
        const route = { match: [{ port: gatewayPortOf(a) }], route: [{ destination: { host: clusterHost(a), port: { number: a.port } } }] };
        out.push({
            apiVersion: "networking.istio.io/v1",
            kind: "VirtualService",
            metadata: { name: `${a.release}-ui`, namespace: OBSERVABILITY_NAMESPACE },
            // TLS the addon terminates itself is forwarded as bytes: the gateway sees no HTTP to route.
            spec: { hosts: ["*"], gateways: [ADDON_GATEWAY], ...(gatewayProtocolOf(a) === "TCP" ? { tcp: [route] } : { http: [route] }) },
        });
    }
    out.push({
        apiVersion: "security.istio.io/v1",
        kind: "AuthorizationPolicy",
        metadata: { name: "addons-source-ranges", namespace: gateway.namespace },
        spec: {
            selector: { matchLabels: { ...gateway.labels } },
            action: "DENY",
            rules: [
                {
                    from: [{ source: { notRemoteIpBlocks: [...sourceRanges] } }],
                    to: [{ operation: { ports: addons.map((a) => String(gatewayPortOf(a))) } }],
                },
            ],
        },
    });
    return out;
}
