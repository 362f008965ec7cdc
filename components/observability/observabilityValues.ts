/**
 * Helm values and wiring of the observability addons, kept pure so the tests can check that
 * every URL points at a Service the stack creates. Service names follow Istio's own addons,
 * so Istio's docs and Kiali's defaults line up.
 */
import type * as k8s from "@pulumi/kubernetes";
import { stringify } from "yaml";
import { ISTIO_GRAFANA_DASHBOARDS, istioDashboardUrl, PINS } from "../versions";
import { MeshMode } from "../mesh/config";
import { Manifest } from "../mesh/meshManifests";
import { baseUrl } from "../urls";

/** The addons' namespace. Fixed: the URLs below are built from it. */
export const OBSERVABILITY_NAMESPACE = "observability";

/** The addons with a UI, by their host port role on kind. */
export type AddonRole = "prometheus" | "grafana" | "jaeger" | "kiali" | "headlamp";

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
    release: "grafana",
    service: "grafana",
    port: 3000,
    selector: { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "grafana" },
};
export const JAEGER: AddonService = {
    title: "Jaeger",
    role: "jaeger",
    healthPath: "/api/services",
    release: "jaeger",
    service: "jaeger",
    port: 16686,
    selector: { "app.kubernetes.io/name": "jaeger", "app.kubernetes.io/instance": "jaeger", "app.kubernetes.io/component": "all-in-one" },
};
export const KIALI: AddonService = {
    title: "Kiali",
    role: "kiali",
    healthPath: "/kiali/healthz",
    release: "kiali",
    service: "kiali",
    port: 20001,
    selector: { "app.kubernetes.io/name": "kiali", "app.kubernetes.io/instance": "kiali" },
};
/**
 * Headlamp, the Kubernetes project's cluster web UI. It serves plain HTTP on container port 4466
 * behind the chart's Service `headlamp` port 80 (chart headlamp 0.45.0, templates/deployment.yaml
 * and service.yaml; with release "headlamp" the chart's fullname is the release name, _helpers.tpl).
 */
export const HEADLAMP: AddonService = {
    title: "Headlamp",
    role: "headlamp",
    // The chart's own liveness and readiness probes GET / on the http port.
    healthPath: "/",
    release: "headlamp",
    service: "headlamp",
    port: 80,
    targetPort: 4466,
    // 80 on the gateway is Bookinfo's HTTP port.
    gatewayPort: 4466,
    selector: { "app.kubernetes.io/name": "headlamp", "app.kubernetes.io/instance": "headlamp" },
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
    return baseUrl("http", clusterHost(a), a.port);
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

/** A key of a Secret in the addons' namespace. */
export interface SecretKeyRef {
    readonly name: string;
    readonly key: string;
}

/** Login of the Grafana user that Kiali queries Grafana's API as: a Viewer, nothing more. */
export const KIALI_GRAFANA_USER = "kiali";

/**
 * Keeps a Grafana user with the Viewer role and a known password in place, for Kiali. Grafana has no
 * file provisioning for users (only for data sources, dashboards, alerting and plugins), and without
 * a persistent volume its database starts empty with every new pod, so a sidecar in Grafana's pod
 * checks every CHECK_SECONDS that VIEWER_USER logs in with VIEWER_PASSWORD as a Viewer, and otherwise
 * creates the user (POST /api/admin/users; a new user gets users.auto_assign_org_role, Viewer) or
 * resets its password and role (PUT /api/admin/users/:id/password, PATCH /api/org/users/:id) as the
 * admin: Grafana's HTTP API, grafana/grafana docs/sources/developers/http_api/admin.md, user.md, org.md.
 * Only the user name (a constant) and the password (letters and digits, generated by the stack)
 * reach the JSON bodies, so nothing needs escaping. POSIX sh with busybox tools (curlimages/curl is
 * Alpine); `sleep & wait` so that SIGTERM ends it at once.
 */
export const GRAFANA_VIEWER_SYNC_SCRIPT = `set -u
trap 'exit 0' TERM INT
pause() { sleep "$1" & wait $!; }
admin="$ADMIN_USER:$ADMIN_PASSWORD"
json="Content-Type: application/json"
while :; do
  orgs=$(curl -sf -u "$VIEWER_USER:$VIEWER_PASSWORD" "$GRAFANA_URL/api/user/orgs") || orgs=""
  case "$orgs" in
    *'"role":"Viewer"'*) pause "$CHECK_SECONDS"; continue ;;
  esac
  id=$(curl -sf -u "$admin" "$GRAFANA_URL/api/users/lookup?loginOrEmail=$VIEWER_USER" | grep -o '"id":[0-9]*' | head -n 1 | cut -d: -f2)
  if [ -z "$id" ]; then
    curl -sf -o /dev/null -u "$admin" -H "$json" -d "{\\"name\\":\\"$VIEWER_USER\\",\\"login\\":\\"$VIEWER_USER\\",\\"password\\":\\"$VIEWER_PASSWORD\\"}" "$GRAFANA_URL/api/admin/users" &&
      echo "created Grafana user $VIEWER_USER" && continue
  else
    curl -sf -o /dev/null -u "$admin" -X PUT -H "$json" -d "{\\"password\\":\\"$VIEWER_PASSWORD\\"}" "$GRAFANA_URL/api/admin/users/$id/password" &&
      curl -sf -o /dev/null -u "$admin" -X PATCH -H "$json" -d '{"role":"Viewer"}' "$GRAFANA_URL/api/org/users/$id" &&
      echo "reset Grafana user $VIEWER_USER to its password and the Viewer role"
  fi
  pause "$RETRY_SECONDS"
done
`;

/** The sidecar that runs {@link GRAFANA_VIEWER_SYNC_SCRIPT} beside Grafana. */
export function grafanaViewerSidecar(adminSecret: string, viewerPassword: SecretKeyRef): k8s.types.input.core.v1.Container {
    const fromSecret = (name: string, key: string) => ({ valueFrom: { secretKeyRef: { name, key } } });
    return {
        name: "kiali-viewer-user",
        image: PINS.grafanaCurlImage,
        command: ["/bin/sh", "-c", GRAFANA_VIEWER_SYNC_SCRIPT],
        env: [
            // Grafana's container port in the same pod (the chart's service.targetPort, 3000).
            { name: "GRAFANA_URL", value: `http://127.0.0.1:${GRAFANA.port}` },
            { name: "ADMIN_USER", ...fromSecret(adminSecret, "admin-user") },
            { name: "ADMIN_PASSWORD", ...fromSecret(adminSecret, "admin-password") },
            { name: "VIEWER_USER", value: KIALI_GRAFANA_USER },
            { name: "VIEWER_PASSWORD", ...fromSecret(viewerPassword.name, viewerPassword.key) },
            { name: "CHECK_SECONDS", value: "60" },
            { name: "RETRY_SECONDS", value: "5" },
        ],
        resources: { requests: { cpu: "5m", memory: "8Mi" }, limits: { memory: "32Mi" } },
        // As the chart's own containers; the pod's securityContext runs every container as user 472.
        securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        },
    };
}

/** What Grafana's values are built from. */
export interface GrafanaInput {
    /** Data plane mode: the ztunnel dashboard is added in ambient mode. */
    readonly mode: MeshMode;
    /** Secret with the admin's `admin-user` and `admin-password`. */
    readonly adminSecret: string;
    /** The password of Kiali's Viewer user; undefined when Kiali does not query Grafana. */
    readonly kialiViewerPassword?: SecretKeyRef;
}

/** Grafana with the Prometheus datasource, Istio's dashboards, no anonymous access and, for Kiali, a Viewer user. */
export function grafanaValues(input: GrafanaInput): Record<string, unknown> {
    // No `datasource` rewrite: Istio's dashboards pick the default Prometheus through their own variable.
    const dashboards: Record<string, { url: string }> = {};
    const entries = Object.entries(ISTIO_GRAFANA_DASHBOARDS).filter(([name]) => input.mode === "ambient" || name !== "ztunnel");
    for (const [name, file] of entries) dashboards[`istio-${name}`] = { url: istioDashboardUrl(file) };
    return {
        podLabels: OUT_OF_MESH,
        testFramework: { enabled: false },
        // The admin password lives in a Secret the stack generates; the chart never sees it in clear.
        admin: { existingSecret: input.adminSecret, userKey: "admin-user", passwordKey: "admin-password" },
        "grafana.ini": {
            "auth.anonymous": { enabled: false },
            auth: { disable_login_form: false },
            // Grafana's own default role, stated because Kiali's user relies on it being no more than Viewer.
            users: { allow_sign_up: false, auto_assign_org_role: "Viewer" },
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
        // A string the chart renders with tpl (templates/_pod.tpl): the script has no "{{".
        ...(input.kialiViewerPassword
            ? {
                  extraContainers: stringify([grafanaViewerSidecar(input.adminSecret, input.kialiViewerPassword)], {
                      blockQuote: "literal",
                      lineWidth: 0,
                  }),
              }
            : {}),
    };
}

/**
 * The port Jaeger's chart annotates its pod with for Prometheus to scrape (`prometheus.io/port:
 * "8888"`, fixed in templates/jaeger/jaeger-deploy.yaml of chart 4.11.1, not a value).
 */
export const JAEGER_METRICS_PORT = 8888;

/** Jaeger v2 all-in-one with in-memory storage, OTLP on 4317 and its own metrics where its pod says. */
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
                // A user config without this serves the metrics on localhost only (Jaeger's own
                // cmd/jaeger/internal/all-in-one.yaml at v2.19.0, the chart's appVersion, binds them to
                // ${JAEGER_LISTEN_HOST:-localhost}:8888), where Prometheus' scrape of the annotated port cannot reach.
                telemetry: {
                    metrics: { readers: [{ pull: { exporter: { prometheus: { host: "0.0.0.0", port: JAEGER_METRICS_PORT } } } }] },
                },
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
 * Headlamp with token login only. The chart binds its own service account to cluster-admin unless
 * told otherwise; that account needs no rights here, because Headlamp sends every request with the
 * token the user logged in with and never with the pod's own token (unsafeUseServiceAccountToken
 * false: backend/pkg/kubeconfig/kubeconfig.go, newInClusterContextFromConfig, leaves the in-cluster
 * context without credentials of its own). The pod still mounts its token: the in-cluster context
 * is built with client-go's rest.InClusterConfig, which reads it.
 */
export function headlampValues(): Record<string, unknown> {
    return {
        podLabels: OUT_OF_MESH,
        clusterRoleBinding: { create: false },
        config: {
            unsafeUseServiceAccountToken: false,
            // No OIDC; the chart would otherwise create an empty Secret for it (templates/secret.yaml).
            oidc: { secret: { create: false } },
        },
        // Merged over the chart's runAsNonRoot, runAsUser 100 and runAsGroup 101.
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } },
        resources: { requests: { cpu: "25m", memory: "64Mi" }, limits: { memory: "512Mi" } },
    };
}

/** What Kiali's values are built from. */
export interface KialiInput {
    readonly auth: "token" | "anonymous";
    /** The key that signs Kiali's login sessions (16, 24 or 32 characters), generated once by the stack. */
    readonly signingKey: SecretKeyRef;
    /** Grafana's URL in the browser and the password of Kiali's Viewer user; undefined: Kiali does not link to Grafana. */
    readonly grafana?: { readonly externalUrl: string; readonly viewerPassword: SecretKeyRef };
    /** Jaeger, with its URL in the browser when there is one; undefined: Jaeger is off. */
    readonly jaeger?: { readonly externalUrl?: string };
}

/** The kiali-server chart mounts a Secret for each `secret:<name>:<key>` credential itself (templates/_helpers.tpl, kiali-server.credential-secrets). */
function secretRef(ref: SecretKeyRef): string {
    return `secret:${ref.name}:${ref.key}`;
}

/**
 * Kiali wired to Prometheus, Grafana and Jaeger; token login unless anonymous (then view only).
 *
 * Kiali's only use of Grafana is to find each dashboard's path through Grafana's search API and
 * link to it at `external_url` (kiali grafana/grafana.go at v2.26.0, getGrafanaConnectionInfo: with no
 * external_url outside OpenShift every Grafana call fails), so Grafana is enabled only with a URL the
 * browser can open, and then with the Viewer user's credentials. Jaeger is queried at internal_url,
 * so tracing stays on without a browser URL and only loses its links.
 */
export function kialiValues(input: KialiInput): Record<string, unknown> {
    return {
        auth: { strategy: input.auth },
        deployment: {
            pod_labels: OUT_OF_MESH,
            // Anonymous users may look but never change mesh config.
            view_only_mode: input.auth === "anonymous",
            resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "1Gi" } },
        },
        // Unset, the chart generates a new key on every render, which changes the config's checksum,
        // restarts Kiali and logs everyone out (templates/_helpers.tpl, kiali-server.login_token.signing_key).
        login_token: { signing_key: secretRef(input.signingKey) },
        external_services: {
            prometheus: { url: clusterUrl(PROMETHEUS) },
            grafana: input.grafana
                ? {
                      enabled: true,
                      internal_url: clusterUrl(GRAFANA),
                      external_url: input.grafana.externalUrl,
                      auth: { type: "basic", username: KIALI_GRAFANA_USER, password: secretRef(input.grafana.viewerPassword) },
                  }
                : { enabled: false },
            tracing: input.jaeger
                ? {
                      enabled: true,
                      provider: "jaeger",
                      use_grpc: false,
                      internal_url: clusterUrl(JAEGER),
                      ...(input.jaeger.externalUrl ? { external_url: input.jaeger.externalUrl } : {}),
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
    readonly headlamp?: unknown;
}): AddonService[] {
    return [
        ...(s.prometheus ? [PROMETHEUS] : []),
        ...(s.grafana ? [GRAFANA] : []),
        ...(s.jaeger ? [JAEGER] : []),
        ...(s.kiali ? [KIALI] : []),
        ...(s.headlamp ? [HEADLAMP] : []),
    ];
}

/** The ingress gateway ports that serve the addon UIs, named `http-` for Istio: every UI speaks plain HTTP. */
export function addonGatewayPorts(addons: readonly AddonService[]): { name: string; port: number }[] {
    return addons.map((a) => ({ name: `http-${a.release}`, port: gatewayPortOf(a) }));
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
                servers: addonGatewayPorts(addons).map((p) => ({ port: { number: p.port, name: p.name, protocol: "HTTP" }, hosts: ["*"] })),
            },
        },
    ];
    for (const a of addons) {
        out.push({
            apiVersion: "networking.istio.io/v1",
            kind: "VirtualService",
            metadata: { name: `${a.release}-ui`, namespace: OBSERVABILITY_NAMESPACE },
            spec: {
                hosts: ["*"],
                gateways: [ADDON_GATEWAY],
                http: [
                    {
                        match: [{ port: gatewayPortOf(a) }],
                        route: [{ destination: { host: clusterHost(a), port: { number: a.port } } }],
                    },
                ],
            },
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
