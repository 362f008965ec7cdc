import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { MeshMode, ObservabilitySettings } from "./config";
import { tracingTelemetry } from "./meshManifests";
import {
    AddonService,
    clusterUrl,
    GRAFANA,
    grafanaValues,
    JAEGER,
    jaegerValues,
    KIALI,
    kialiValues,
    OBSERVABILITY_NAMESPACE,
    PROMETHEUS,
    prometheusValues,
    KUBERNETES_DASHBOARD,
    kubernetesDashboardValues,
    KIALI_VIEWER_ROLE,
    gatewayPortOf,
    TRACING_PROVIDER,
    addonGatewayManifests,
    AddonGatewayRef,
    AddonRole,
    enabledAddons,
} from "./observabilityValues";
import { NODE_PORTS } from "./ports";
import { pinnedRelease } from "./helm";
import { baseUrl, withPort } from "./urls";
import { AddonEndpoint } from "./verification";
import { ChartPin, GRAFANA_CHART, JAEGER_CHART, KIALI_CHART, KUBERNETES_DASHBOARD_CHART, PROMETHEUS_CHART } from "./versions";
import { LoginToken } from "./loginToken";

/** Host exposure on kind: each UI on its fixed nodePort, reached at host:hostPort. */
export interface KindExposure {
    readonly host: string;
    readonly hostPorts: Readonly<Record<AddonRole, number>>;
}

/** Arguments of {@link Observability}. */
export interface ObservabilityArgs {
    /** Data plane mode (the ztunnel dashboard is added in ambient mode). @default "sidecar" */
    readonly mode?: MeshMode;
    /** Which addons to run, the trace sampling percentage, and Kiali's login. */
    readonly settings: ObservabilitySettings;
    /** Host exposure on kind; undefined on an existing cluster, where the URLs are in-cluster. @default undefined */
    readonly kind?: KindExposure;
    /**
     * Existing clusters: serve the UIs through the ingress gateway, each on its own port of the
     * gateway's address, to clients in `sourceRanges` only. @default undefined (in-cluster URLs)
     */
    readonly gateway?: AddonGatewayRef & { readonly ingressUrl: pulumi.Input<string>; readonly sourceRanges: readonly string[] };
    /** The mesh readiness gate; only the Istio objects (Telemetry, the gateway routes) wait for it. */
    readonly meshReady: pulumi.Resource;
}

/**
 * Prometheus, Grafana (Istio dashboards, generated admin password, no anonymous access),
 * Jaeger v2 (OTLP) wired through a Telemetry resource, Kiali (token login) and, when asked for,
 * the Kubernetes Dashboard (token login as a dedicated service account), each switchable.
 * None of it waits for Bookinfo, and only the Istio objects wait for Istio.
 */
export class Observability extends pulumi.ComponentResource {
    public readonly prometheusUrl: pulumi.Output<string | undefined>;
    public readonly grafanaUrl: pulumi.Output<string | undefined>;
    public readonly jaegerUrl: pulumi.Output<string | undefined>;
    public readonly kialiUrl: pulumi.Output<string | undefined>;
    /** Grafana's admin password (secret), user `admin`. */
    public readonly grafanaAdminPassword: pulumi.Output<string | undefined>;
    /** Kiali's read-only login token (secret); undefined unless Kiali runs with token login. */
    public readonly kialiToken: pulumi.Output<string | undefined>;
    /** The Kubernetes Dashboard's UI; undefined when it is off. */
    public readonly kubernetesDashboardUrl: pulumi.Output<string | undefined>;
    /** The Dashboard's login token (secret); undefined when it is off. */
    public readonly kubernetesDashboardToken: pulumi.Output<string | undefined>;
    /** Every enabled addon with the path that answers when it is healthy, for the deployment check. */
    public readonly endpoints: pulumi.Output<AddonEndpoint[]>;

    constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-mesh:index:Observability", name, args, opts);
        const s = args.settings;
        const mode = args.mode ?? "sidecar";
        // A fixed name: the in-cluster URLs that wire the addons together are built from it.
        const ns = new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: OBSERVABILITY_NAMESPACE } }, { parent: this });

        const release = (
            a: AddonService,
            pin: ChartPin,
            values: pulumi.Input<Record<string, unknown>>,
            dependsOn: pulumi.Resource[] = [],
        ): k8s.helm.v3.Release =>
            // The release name fixes the Service names the other addons are wired to.
            pinnedRelease(
                `${name}-${a.release}`,
                { releaseName: a.release, pin, namespace: ns.metadata.name, values },
                { parent: this, dependsOn },
            );

        const gw = args.gateway;
        // Where the browser on the user's machine reaches each UI; undefined when it cannot (in-cluster only).
        const hostUrlOf = (a: AddonService): pulumi.Output<string> | undefined =>
            args.kind
                ? pulumi.output(baseUrl(a.scheme, args.kind.host, args.kind.hostPorts[a.role]))
                : gw
                  ? pulumi.output(gw.ingressUrl).apply((u) => withPort(u, gatewayPortOf(a), a.scheme))
                  : undefined;
        const urlOf = (a: AddonService): pulumi.Output<string> => hostUrlOf(a) ?? pulumi.output(clusterUrl(a));
        // On kind each UI gets a NodePort Service on the nodePort that the kind port mapping forwards to.
        const expose = (a: AddonService): void => {
            if (!args.kind) return;
            new k8s.core.v1.Service(
                `${name}-${a.release}-ui`,
                {
                    metadata: { name: `${a.service}-ui`, namespace: ns.metadata.name },
                    spec: {
                        type: "NodePort",
                        selector: { ...a.selector },
                        ports: [{ name: a.scheme, port: a.port, targetPort: a.targetPort ?? a.port, nodePort: NODE_PORTS[a.role] }],
                    },
                },
                { parent: this },
            );
        };

        if (s.prometheus) {
            release(PROMETHEUS, PROMETHEUS_CHART, prometheusValues());
            expose(PROMETHEUS);
        }

        let adminPassword: pulumi.Output<string> | undefined;
        if (s.grafana) {
            const password = new random.RandomPassword(`${name}-grafana-admin-password`, { length: 24, special: false }, { parent: this });
            adminPassword = pulumi.secret(password.result);
            const secret = new k8s.core.v1.Secret(
                `${name}-grafana-admin`,
                {
                    metadata: { name: "grafana-admin", namespace: ns.metadata.name },
                    stringData: { "admin-user": "admin", "admin-password": adminPassword },
                },
                { parent: this },
            );
            release(GRAFANA, GRAFANA_CHART, grafanaValues(mode, "grafana-admin"), [secret]);
            expose(GRAFANA);
        }

        if (s.jaeger) {
            release(JAEGER, JAEGER_CHART, jaegerValues());
            expose(JAEGER);
            new k8s.apiextensions.CustomResource(
                `${name}-tracing`,
                tracingTelemetry(TRACING_PROVIDER, s.tracingSamplingPercent),
                // Istio resources go through istiod's validating webhook
                { parent: this, dependsOn: [args.meshReady] },
            );
        }

        let kialiToken: pulumi.Output<string> | undefined;
        if (s.kiali) {
            release(
                KIALI,
                KIALI_CHART,
                pulumi
                    .all([s.grafana ? urlOf(GRAFANA) : undefined, s.jaeger ? urlOf(JAEGER) : undefined])
                    .apply(([grafanaUrl, jaegerUrl]) =>
                        kialiValues({ auth: s.kialiAuth, grafana: s.grafana, jaeger: s.jaeger, links: { grafanaUrl, jaegerUrl } }),
                    ),
            );
            expose(KIALI);
            if (s.kialiAuth === "token") {
                // A read-only login, so nobody needs kubectl to get a token; a binding may name its role before the release creates it.
                kialiToken = new LoginToken(
                    `${name}-kiali-user`,
                    {
                        namespace: ns.metadata.name,
                        clusterRole: KIALI_VIEWER_ROLE,
                        purpose: "Kiali login (pulumi stack output kialiToken --show-secrets)",
                    },
                    { parent: this },
                ).token;
            }
        }

        let dashboardToken: pulumi.Output<string> | undefined;
        if (s.kubernetesDashboard) {
            release(KUBERNETES_DASHBOARD, KUBERNETES_DASHBOARD_CHART, kubernetesDashboardValues());
            expose(KUBERNETES_DASHBOARD);
            const login = new LoginToken(
                `${name}-kubernetes-dashboard-user`,
                {
                    namespace: ns.metadata.name,
                    clusterRole: s.kubernetesDashboard.access,
                    purpose: "Kubernetes Dashboard login (pulumi stack output kubernetesDashboardToken --show-secrets)",
                },
                { parent: this },
            );
            dashboardToken = login.token;
        }

        if (gw) {
            for (const m of addonGatewayManifests(enabledAddons(s), gw, gw.sourceRanges)) {
                new k8s.apiextensions.CustomResource(
                    `${name}-${m.kind.toLowerCase()}-${m.metadata.name}`,
                    m as unknown as k8s.apiextensions.CustomResourceArgs,
                    // Istio resources go through istiod's validating webhook
                    { parent: this, dependsOn: [args.meshReady] },
                );
            }
        }

        this.endpoints = pulumi.all(
            enabledAddons(s).map((a) => ({
                name: a.title,
                baseUrl: hostUrlOf(a),
                namespace: OBSERVABILITY_NAMESPACE,
                service: a.service,
                port: a.port,
                scheme: a.scheme,
                healthPath: a.healthPath,
            })),
        );

        const maybe = (on: boolean, url: pulumi.Output<string>): pulumi.Output<string | undefined> => (on ? url : pulumi.output(undefined));
        this.prometheusUrl = maybe(s.prometheus, urlOf(PROMETHEUS));
        this.grafanaUrl = maybe(s.grafana, urlOf(GRAFANA));
        this.jaegerUrl = maybe(s.jaeger, urlOf(JAEGER));
        this.kialiUrl = maybe(
            s.kiali,
            urlOf(KIALI).apply((u) => `${u}/kiali`),
        );
        this.grafanaAdminPassword = adminPassword ? pulumi.secret(adminPassword) : pulumi.output(undefined);
        this.kialiToken = kialiToken ? pulumi.secret(kialiToken) : pulumi.output(undefined);
        this.kubernetesDashboardUrl = maybe(s.kubernetesDashboard !== undefined, urlOf(KUBERNETES_DASHBOARD));
        this.kubernetesDashboardToken = dashboardToken ? pulumi.secret(dashboardToken) : pulumi.output(undefined);
        this.registerOutputs({
            prometheusUrl: this.prometheusUrl,
            grafanaUrl: this.grafanaUrl,
            jaegerUrl: this.jaegerUrl,
            kialiUrl: this.kialiUrl,
            grafanaAdminPassword: this.grafanaAdminPassword,
            kialiToken: this.kialiToken,
            kubernetesDashboardUrl: this.kubernetesDashboardUrl,
            kubernetesDashboardToken: this.kubernetesDashboardToken,
            endpoints: this.endpoints,
        });
    }
}
