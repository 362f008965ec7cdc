/**
 * Bookinfo as plain Kubernetes and Istio objects: the same names, images, labels, service
 * accounts, ports, environment and volumes as Istio 1.31's samples/bookinfo (the same as 1.30.3's), plus the
 * pod security context of its bookinfo-psa.yaml and resource requests. Pure data, so tests
 * validate every object against the published schemas.
 */
import { BookinfoSettings, IngressApi, ReviewsVersion } from "./config";
import { MeshMode } from "../mesh/config";
import { Manifest } from "../mesh/meshManifests";
import { meshNamespaceLabels } from "../outputs";
import { PINS } from "../versions";
import { REVISION_LABEL } from "../mesh/meshReadiness";
import { PROXY_REVISION_ANNOTATION } from "../mesh/istioValues";

/** Bookinfo's namespace; the authorization principals below name it, so it is fixed. */
export const BOOKINFO_NAMESPACE = "bookinfo";
export const BOOKINFO_PORT = 9080;
export const WAYPOINT_NAME = "waypoint";

type App = "details" | "ratings" | "reviews" | "productpage";
const APPS: readonly App[] = ["details", "ratings", "reviews", "productpage"];

/** One Bookinfo Deployment, as upstream defines it. */
interface Workload {
    readonly app: App;
    readonly version: "v1" | ReviewsVersion;
    readonly requests: { readonly cpu: string; readonly memory: string };
    readonly memoryLimit: string;
}

const WORKLOADS: readonly Workload[] = [
    { app: "details", version: "v1", requests: { cpu: "10m", memory: "48Mi" }, memoryLimit: "128Mi" },
    { app: "ratings", version: "v1", requests: { cpu: "10m", memory: "48Mi" }, memoryLimit: "128Mi" },
    { app: "reviews", version: "v1", requests: { cpu: "50m", memory: "256Mi" }, memoryLimit: "512Mi" },
    { app: "reviews", version: "v2", requests: { cpu: "50m", memory: "256Mi" }, memoryLimit: "512Mi" },
    { app: "reviews", version: "v3", requests: { cpu: "50m", memory: "256Mi" }, memoryLimit: "512Mi" },
    { app: "productpage", version: "v1", requests: { cpu: "20m", memory: "96Mi" }, memoryLimit: "256Mi" },
];

/** The app/version pair of every Bookinfo Deployment, as their pods are labelled. */
export function bookinfoWorkloads(): { app: App; version: string }[] {
    return WORKLOADS.map((w) => ({ app: w.app, version: w.version }));
}

/** The SPIFFE principal of a service account, as AuthorizationPolicies name it. */
export function principal(namespace: string, serviceAccount: string): string {
    return `cluster.local/ns/${namespace}/sa/${serviceAccount}`;
}

/** The service account of a Bookinfo app. */
export function serviceAccountOf(app: App): string {
    return `bookinfo-${app}`;
}

/** Whether the settings use L7 features, which in ambient mode need a waypoint. */
export function usesL7(b: BookinfoSettings): boolean {
    return (
        b.reviews.mode !== "round-robin" ||
        !!b.headerRoute ||
        !!b.ratingsFault ||
        b.timeoutSeconds !== undefined ||
        !!b.retries ||
        !!b.extAuthz
    );
}

/** The reviews versions that serve requests without an `end-user` header, under the configured routing. */
export function anonymousReviewsVersions(b: BookinfoSettings): ReviewsVersion[] {
    switch (b.reviews.mode) {
        case "round-robin":
            return ["v1", "v2", "v3"];
        case "pinned":
            return [b.reviews.version];
        case "weighted": {
            const w = b.reviews.weights;
            return (["v1", "v2", "v3"] as const).filter((v) => w[v] > 0);
        }
        default: {
            const unreachable: never = b.reviews;
            throw new Error(`unknown reviews routing ${JSON.stringify(unreachable)}`);
        }
    }
}

/**
 * What a request from the deploying machine (no `end-user` header) can expect of the services
 * behind productpage. A ratings fault for every user (no `user`) breaks ratings, and a delay
 * longer than productpage's 3 s timeout breaks reviews too, by design: the verification then
 * leaves both alone. Only reviews v2 and v3 call ratings, so ratings is expected only when one of
 * them gets anonymous traffic.
 */
export function bookinfoBackends(b: BookinfoSettings): { reviews: boolean; ratings: boolean } {
    const faultForEveryone = !!b.ratingsFault && b.ratingsFault.user === undefined;
    return {
        reviews: !faultForEveryone,
        ratings: !faultForEveryone && anonymousReviewsVersions(b).some((v) => v !== "v1"),
    };
}

/**
 * Namespace labels for the data plane mode. With a waypoint, every Service of the namespace uses
 * it, for calls from the ingress gateway too: a gateway skips a service's waypoint unless the
 * Service or its namespace carries `istio.io/ingress-use-waypoint: "true"` (istio
 * pilot/pkg/features/ambient.go ENABLE_INGRESS_WAYPOINT_ROUTING, and
 * pilot/pkg/serviceregistry/ambient/services.go ingressUseWaypointFromLabels, which falls back
 * from the Service's labels to the namespace's). Without it, the policies the waypoint enforces on
 * productpage (the external authorizer among them) would never see ingress traffic.
 */
export function namespaceManifest(mode: MeshMode, waypoint: boolean, revisionTag?: string): Manifest {
    // With revisions the namespace selects a tag (never a revision), and in sidecar mode only the tag:
    // the tag's injector skips a namespace labelled istio-injection (istiod chart revision-tags-mwc.yaml).
    const dataPlane =
        revisionTag === undefined
            ? meshNamespaceLabels(mode)
            : mode === "sidecar"
              ? { [REVISION_LABEL]: revisionTag }
              : { ...meshNamespaceLabels(mode), [REVISION_LABEL]: revisionTag };
    const labels = {
        ...dataPlane,
        ...(waypoint ? { "istio.io/use-waypoint": WAYPOINT_NAME, "istio.io/ingress-use-waypoint": "true" } : {}),
    };
    return { apiVersion: "v1", kind: "Namespace", metadata: { name: BOOKINFO_NAMESPACE, labels } };
}

/** How many pods each Deployment runs, and the revision their proxies should run. */
export interface WorkloadOptions {
    /** Pods per Deployment; from 2 on, each gets a PodDisruptionBudget. @default 1 */
    readonly replicas?: number;
    /**
     * The revision the default tag points at. In sidecar mode it is a pod template annotation: a pod
     * keeps the proxy it was injected with, so the Deployments restart onto a revision when the tag
     * moves. @default none (an istiod upgraded in place)
     */
    readonly revision?: string;
    /** The Istio version the proxies run: the default tag's, or the pin in place. @default the pin */
    readonly version?: string;
}

/** ServiceAccounts, Services (plus per-version Services), Deployments and their disruption budgets for the data plane mode. */
export function workloadManifests(mode: MeshMode = "sidecar", options: WorkloadOptions = {}): Manifest[] {
    const ns = BOOKINFO_NAMESPACE;
    const out: Manifest[] = [];
    for (const app of APPS) {
        out.push({
            apiVersion: "v1",
            kind: "ServiceAccount",
            metadata: { name: serviceAccountOf(app), namespace: ns, labels: { account: app } },
        });
        out.push({
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: app, namespace: ns, labels: { app, service: app } },
            spec: { ports: [{ port: BOOKINFO_PORT, name: "http" }], selector: { app } },
        });
    }
    for (const w of WORKLOADS) {
        // Per-version Services, as in upstream bookinfo-versions.yaml, for Gateway API routing.
        out.push({
            apiVersion: "v1",
            kind: "Service",
            metadata: { name: `${w.app}-${w.version}`, namespace: ns },
            spec: { ports: [{ port: BOOKINFO_PORT, name: "http" }], selector: { app: w.app, version: w.version } },
        });
    }
    for (const w of WORKLOADS) out.push(deployment(w, mode, options));
    if ((options.replicas ?? 1) > 1) {
        for (const w of WORKLOADS) {
            out.push({
                apiVersion: "policy/v1",
                kind: "PodDisruptionBudget",
                metadata: { name: `${w.app}-${w.version}`, namespace: ns },
                spec: { minAvailable: 1, selector: { matchLabels: { app: w.app, version: w.version } } },
            });
        }
    }
    return out;
}

/**
 * The scrape annotations upstream puts on productpage, kept only where Prometheus can reach them.
 * In sidecar mode istiod rewrites them to the proxy's merged-metrics port 15020, which the sidecar
 * serves outside mutual TLS (meshConfig.enablePrometheusMerge). In ambient mode nothing rewrites
 * them: Prometheus, outside the mesh, would scrape port 9080 in plain text, which ztunnel refuses
 * under STRICT mutual TLS and the deny-by-default policies. There the mesh's metrics come from
 * ztunnel and the waypoint, which carry scrape annotations of their own.
 */
function scrapeAnnotations(w: Workload, mode: MeshMode): Record<string, string> | undefined {
    if (w.app !== "productpage" || mode !== "sidecar") return undefined;
    return { "prometheus.io/scrape": "true", "prometheus.io/port": "9080", "prometheus.io/path": "/metrics" };
}

/**
 * The pod annotation that carries the Istio version in sidecar mode. A sidecar keeps the proxy it
 * was injected with until its pod is replaced (Istio's "Upgrade with Helm": restart the workloads
 * after the control plane), so a new Istio pin changes the pod template and rolls Bookinfo, after
 * the readiness gate, onto the upgraded istiod's proxy. Ambient pods have no proxy of their own.
 */
export const PROXY_VERSION_ANNOTATION = "istio-mesh.dev/istio-version";

function deployment(w: Workload, mode: MeshMode, options: WorkloadOptions): Manifest {
    const scrape = scrapeAnnotations(w, mode);
    const proxy =
        mode === "sidecar"
            ? {
                  [PROXY_VERSION_ANNOTATION]: options.version ?? PINS.istio.version,
                  ...(options.revision !== undefined ? { [PROXY_REVISION_ANNOTATION]: options.revision } : {}),
              }
            : undefined;
    const annotations = scrape || proxy ? { ...scrape, ...proxy } : undefined;
    const labels = { app: w.app, version: w.version };
    const isReviews = w.app === "reviews";
    const volumeMounts =
        w.app === "reviews"
            ? [
                  { name: "tmp", mountPath: "/tmp" },
                  { name: "wlp-output", mountPath: "/opt/ibm/wlp/output" },
              ]
            : w.app === "productpage"
              ? [{ name: "tmp", mountPath: "/tmp" }]
              : undefined;
    const volumes = isReviews
        ? [
              { name: "wlp-output", emptyDir: {} },
              { name: "tmp", emptyDir: {} },
          ]
        : w.app === "productpage"
          ? [{ name: "tmp", emptyDir: {} }]
          : undefined;
    return {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: `${w.app}-${w.version}`, namespace: BOOKINFO_NAMESPACE, labels },
        spec: {
            replicas: options.replicas ?? 1,
            // A restart (a tag that moves) starts each new pod before an old one stops.
            strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
            selector: { matchLabels: labels },
            template: {
                metadata: { labels, ...(annotations ? { annotations } : {}) },
                spec: {
                    serviceAccountName: serviceAccountOf(w.app),
                    containers: [
                        {
                            name: w.app,
                            image: `${PINS.bookinfo.registry}/examples-bookinfo-${w.app}-${w.version}:${PINS.bookinfo.tag}`,
                            imagePullPolicy: "IfNotPresent",
                            ...(isReviews ? { env: [{ name: "LOG_DIR", value: "/tmp/logs" }] } : {}),
                            ports: [{ containerPort: BOOKINFO_PORT }],
                            resources: { requests: w.requests, limits: { memory: w.memoryLimit } },
                            // The security context of upstream bookinfo-psa.yaml (PodSecurity baseline).
                            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, runAsNonRoot: true },
                            ...(volumeMounts ? { volumeMounts } : {}),
                        },
                    ],
                    ...(volumes ? { volumes } : {}),
                },
            },
        },
    };
}

/** The URI matches upstream routes to productpage. */
const PRODUCTPAGE_PATHS: readonly { readonly exact?: string; readonly prefix?: string }[] = [
    { exact: "/productpage" },
    { prefix: "/static" },
    { exact: "/login" },
    { exact: "/logout" },
    { prefix: "/api/v1/products" },
];

/** Where the ingress gateway runs. */
export interface IngressGatewayRef {
    readonly namespace: string;
    readonly name: string;
    readonly labels: Readonly<Record<string, string>>;
}

/** TLS secret name for the ingress certificate. */
export const TLS_SECRET_NAME = "bookinfo-tls";

/** Ingress routing: an Istio Gateway and VirtualService, or a Gateway API Gateway and HTTPRoute. */
export function ingressManifests(api: IngressApi, hostnames: readonly string[], gateway: IngressGatewayRef, tls: boolean): Manifest[] {
    switch (api) {
        case "istio":
            return [
                {
                    apiVersion: "networking.istio.io/v1",
                    kind: "Gateway",
                    metadata: { name: "bookinfo-gateway", namespace: BOOKINFO_NAMESPACE },
                    spec: {
                        // Matches the Helm-installed gateway's pods, and its Service port 80 (not upstream's 8080).
                        selector: { ...gateway.labels },
                        servers: [
                            { port: { number: 80, name: "http", protocol: "HTTP" }, hosts: [...hostnames] },
                            ...(tls
                                ? [
                                      {
                                          port: { number: 443, name: "https", protocol: "HTTPS" },
                                          hosts: [...hostnames],
                                          tls: { mode: "SIMPLE", credentialName: TLS_SECRET_NAME },
                                      },
                                  ]
                                : []),
                        ],
                    },
                },
                {
                    apiVersion: "networking.istio.io/v1",
                    kind: "VirtualService",
                    metadata: { name: "bookinfo", namespace: BOOKINFO_NAMESPACE },
                    spec: {
                        hosts: [...hostnames],
                        gateways: ["bookinfo-gateway"],
                        http: [
                            {
                                match: PRODUCTPAGE_PATHS.map((p) => ({ uri: p.exact ? { exact: p.exact } : { prefix: p.prefix } })),
                                route: [{ destination: { host: "productpage", port: { number: BOOKINFO_PORT } } }],
                            },
                        ],
                    },
                },
            ];
        case "gateway-api": {
            const wildcard = hostnames.includes("*");
            return [
                {
                    apiVersion: "gateway.networking.k8s.io/v1",
                    kind: "Gateway",
                    // Beside the Helm-installed gateway, which serves it through `addresses` (Istio's manual
                    // deployment), so the fixed nodePorts keep working. Being a manual deployment, it still
                    // shares that proxy with the addons' Istio Gateway in another namespace under Istio 1.31's
                    // strict gateway merging, which only separates managed ones (releasenotes/notes/
                    // strict-gateway-merging.yaml; pilot/pkg/model/push_context.go, filterStrictGatewayMerging).
                    metadata: { name: "bookinfo-gateway", namespace: gateway.namespace },
                    spec: {
                        gatewayClassName: "istio",
                        addresses: [{ type: "Hostname", value: `${gateway.name}.${gateway.namespace}.svc.cluster.local` }],
                        listeners: [
                            {
                                name: "http",
                                port: 80,
                                protocol: "HTTP",
                                allowedRoutes: {
                                    namespaces: {
                                        from: "Selector",
                                        selector: { matchLabels: { "kubernetes.io/metadata.name": BOOKINFO_NAMESPACE } },
                                    },
                                },
                            },
                            ...(tls
                                ? [
                                      {
                                          name: "https",
                                          port: 443,
                                          protocol: "HTTPS",
                                          tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: TLS_SECRET_NAME }] },
                                          allowedRoutes: {
                                              namespaces: {
                                                  from: "Selector",
                                                  selector: { matchLabels: { "kubernetes.io/metadata.name": BOOKINFO_NAMESPACE } },
                                              },
                                          },
                                      },
                                  ]
                                : []),
                        ],
                    },
                },
                {
                    apiVersion: "gateway.networking.k8s.io/v1",
                    kind: "HTTPRoute",
                    metadata: { name: "bookinfo", namespace: BOOKINFO_NAMESPACE },
                    spec: {
                        parentRefs: [{ name: "bookinfo-gateway", namespace: gateway.namespace }],
                        ...(wildcard ? {} : { hostnames: [...hostnames] }),
                        rules: [
                            {
                                matches: PRODUCTPAGE_PATHS.map((p) => ({
                                    path: p.exact ? { type: "Exact", value: p.exact } : { type: "PathPrefix", value: p.prefix },
                                })),
                                backendRefs: [{ name: "productpage", port: BOOKINFO_PORT }],
                            },
                        ],
                    },
                },
            ];
        }
        default: {
            const unreachable: never = api;
            throw new Error(`unknown ingress API ${String(unreachable)}`);
        }
    }
}

/**
 * The outlier detection of every Bookinfo service. `minHealthPercent` is 0 on purpose, and set so
 * that it says so: it is also Envoy's panic threshold for the service (Istio pilot/pkg/networking/
 * core/cluster_traffic_policy.go), and with one pod per version any threshold above 0 would send
 * traffic back to the very pod that was ejected, or to one that is not ready. At 0, Istio 1.31
 * sends the proxies the endpoints of pods that are not ready too, marked unhealthy (its upgrade
 * note "Default behavior for sending unhealthy endpoints", releasenotes/notes/60690.yaml;
 * pilot/pkg/xds/endpoints/endpoint_builder.go, supportsUnhealthyEndpoints, keeps them out only for
 * a minHealthPercent above 0); with the panic threshold off the proxies never route to them, so
 * requests, and the stack's verification, go where they went with Istio 1.30.
 */
export const OUTLIER_DETECTION = {
    consecutive5xxErrors: 5,
    interval: "10s",
    baseEjectionTime: "30s",
    maxEjectionPercent: 100,
    minHealthPercent: 0,
} as const;

/** DestinationRules with the version subsets; Istio mutual TLS in sidecar mode; outlier detection. */
export function destinationRules(mode: MeshMode, outlierDetection: boolean): Manifest[] {
    const subsets: Record<App, string[]> = { productpage: ["v1"], details: ["v1"], ratings: ["v1"], reviews: ["v1", "v2", "v3"] };
    return APPS.map((app) => ({
        apiVersion: "networking.istio.io/v1",
        kind: "DestinationRule",
        metadata: { name: app, namespace: BOOKINFO_NAMESPACE },
        spec: {
            host: app,
            trafficPolicy: {
                // Sidecars originate Istio mutual TLS; in ambient mode ztunnel does, and the DestinationRule must not.
                ...(mode === "sidecar" ? { tls: { mode: "ISTIO_MUTUAL" } } : {}),
                // Ejecting failing endpoints is what lets locality load balancing fail over to the other zone.
                ...(outlierDetection ? { outlierDetection: OUTLIER_DETECTION } : {}),
            },
            subsets: subsets[app].map((v) => ({ name: v, labels: { version: v } })),
        },
    }));
}

/** The default route of reviews as VirtualService destinations. */
function reviewsRoute(b: BookinfoSettings): { destination: { host: string; subset?: string }; weight?: number }[] {
    switch (b.reviews.mode) {
        case "round-robin":
            return [{ destination: { host: "reviews" } }];
        case "pinned":
            return [{ destination: { host: "reviews", subset: b.reviews.version } }];
        case "weighted": {
            const w = b.reviews.weights;
            return anonymousReviewsVersions(b).map((v) => ({ destination: { host: "reviews", subset: v }, weight: w[v] }));
        }
        default: {
            const unreachable: never = b.reviews;
            throw new Error(`unknown reviews routing ${JSON.stringify(unreachable)}`);
        }
    }
}

/** VirtualServices for reviews (versions, header route, timeout, retries) and ratings (fault). */
export function trafficManifests(b: BookinfoSettings): Manifest[] {
    const out: Manifest[] = [];
    const needsReviews = b.reviews.mode !== "round-robin" || b.headerRoute || b.timeoutSeconds !== undefined || b.retries;
    if (needsReviews) {
        const common = {
            ...(b.timeoutSeconds !== undefined ? { timeout: `${b.timeoutSeconds}s` } : {}),
            ...(b.retries
                ? {
                      retries: {
                          attempts: b.retries.attempts,
                          perTryTimeout: `${b.retries.perTryTimeoutSeconds}s`,
                          retryOn: "5xx,reset,connect-failure,refused-stream",
                      },
                  }
                : {}),
        };
        out.push({
            apiVersion: "networking.istio.io/v1",
            kind: "VirtualService",
            metadata: { name: "reviews", namespace: BOOKINFO_NAMESPACE },
            spec: {
                hosts: ["reviews"],
                http: [
                    ...(b.headerRoute
                        ? [
                              {
                                  match: [{ headers: { "end-user": { exact: b.headerRoute.user } } }],
                                  route: [{ destination: { host: "reviews", subset: b.headerRoute.version } }],
                                  ...common,
                              },
                          ]
                        : []),
                    { route: reviewsRoute(b), ...common },
                ],
            },
        });
    }
    if (b.ratingsFault) {
        const f = b.ratingsFault;
        const fault =
            f.kind === "delay"
                ? { delay: { percentage: { value: f.percent }, fixedDelay: `${f.delaySeconds}s` } }
                : { abort: { percentage: { value: f.percent }, httpStatus: f.httpStatus } };
        const route = [{ destination: { host: "ratings", subset: "v1" } }];
        out.push({
            apiVersion: "networking.istio.io/v1",
            kind: "VirtualService",
            metadata: { name: "ratings", namespace: BOOKINFO_NAMESPACE },
            spec: {
                hosts: ["ratings"],
                http: f.user ? [{ match: [{ headers: { "end-user": { exact: f.user } } }], fault, route }, { route }] : [{ fault, route }],
            },
        });
    }
    return out;
}

/** The waypoint proxy that serves L7 policy and routing for the namespace in ambient mode. */
export function waypointManifest(): Manifest {
    return {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "Gateway",
        metadata: { name: WAYPOINT_NAME, namespace: BOOKINFO_NAMESPACE, labels: { "istio.io/waypoint-for": "service" } },
        spec: { gatewayClassName: "istio-waypoint", listeners: [{ name: "mesh", port: 15008, protocol: "HBONE" }] },
    };
}

/** Who may call whom: the Bookinfo call graph, by service-account principal. */
export function allowedCallers(gateway: IngressGatewayRef): Record<App, string[]> {
    const ns = BOOKINFO_NAMESPACE;
    return {
        productpage: [principal(gateway.namespace, gateway.name)],
        details: [principal(ns, serviceAccountOf("productpage"))],
        reviews: [principal(ns, serviceAccountOf("productpage"))],
        ratings: [principal(ns, serviceAccountOf("reviews"))],
    };
}

/**
 * Zero trust for the namespace: deny everything by default, then allow only the call graph.
 * Rules name principals only, so ztunnel enforces them in ambient mode. With a waypoint, every
 * call to every service (the ingress gateway's to productpage included, see
 * {@link namespaceManifest}) goes through the waypoint: the callers are checked there (targetRefs
 * on each Service), and the pods accept only the waypoint, which is who ztunnel sees forwarding
 * the traffic.
 */
export function authorizationManifests(
    mode: MeshMode,
    waypoint: boolean,
    gateway: IngressGatewayRef,
    extAuthz?: BookinfoSettings["extAuthz"],
): Manifest[] {
    const ns = BOOKINFO_NAMESPACE;
    const callers = allowedCallers(gateway);
    const viaWaypoint = mode === "ambient" && waypoint;
    const waypointPrincipal = principal(ns, WAYPOINT_NAME);
    const out: Manifest[] = [
        { apiVersion: "security.istio.io/v1", kind: "AuthorizationPolicy", metadata: { name: "allow-nothing", namespace: ns }, spec: {} },
    ];
    for (const app of APPS) {
        out.push({
            apiVersion: "security.istio.io/v1",
            kind: "AuthorizationPolicy",
            metadata: { name: `allow-${app}`, namespace: ns },
            spec: {
                selector: { matchLabels: { app } },
                action: "ALLOW",
                rules: [{ from: [{ source: { principals: viaWaypoint ? [waypointPrincipal] : callers[app] } }] }],
            },
        });
        if (viaWaypoint) {
            out.push({
                apiVersion: "security.istio.io/v1",
                kind: "AuthorizationPolicy",
                metadata: { name: `allow-${app}-at-waypoint`, namespace: ns },
                spec: {
                    targetRefs: [{ kind: "Service", group: "", name: app }],
                    action: "ALLOW",
                    rules: [{ from: [{ source: { principals: callers[app] } }] }],
                },
            });
        }
    }
    if (extAuthz) {
        out.push({
            apiVersion: "security.istio.io/v1",
            kind: "AuthorizationPolicy",
            metadata: { name: "ext-authz", namespace: ns },
            spec: {
                ...(viaWaypoint
                    ? { targetRefs: [{ kind: "Service", group: "", name: "productpage" }] }
                    : { selector: { matchLabels: { app: "productpage" } } }),
                action: "CUSTOM",
                provider: { name: extAuthz.name },
                rules: [{ to: [{ operation: { paths: ["/productpage", "/api/*"] } }] }],
            },
        });
    }
    return out;
}
