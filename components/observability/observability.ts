import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { MeshMode } from "../mesh/config";
import { ObservabilitySettings } from "./config";
import { tracingTelemetry } from "../mesh/meshManifests";
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
    HEADLAMP,
    headlampValues,
    KIALI_VIEWER_ROLE,
    gatewayPortOf,
    TRACING_PROVIDER,
    addonGatewayManifests,
    AddonGatewayRef,
    AddonRole,
    enabledAddons,
    SecretKeyRef,
} from "./observabilityValues";
import { NODE_PORTS } from "../ports";
import { pinnedRelease } from "../helm";
import { ownerLabels } from "../cluster/ownership";
import { baseUrl, withPort } from "../urls";
import { AddonEndpoint } from "../verify/verification";
import { ChartPin, PINS } from "../versions";
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
    /** Which addons to run, the trace sampling percentage, Kiali's login and Headlamp's access. */
    readonly settings: ObservabilitySettings;
    /** Host exposure on kind; undefined on an existing cluster, where the URLs are in-cluster. @default undefined */
    readonly kind?: KindExposure;
    /**
     * Existing clusters: serve the UIs through the ingress gateway, each on its own port of the
     * gateway's address, to clients in `sourceRanges` only. @default undefined (in-cluster URLs)
     */
    readonly gateway?: AddonGatewayRef & {
        readonly ingressUrl: pulumi.Input<string>;
        readonly sourceRanges: readonly string[];
        /** `namespace` from the gateway's Namespace resource, so that what goes there is ordered by data. */
        readonly namespaceName: pulumi.Input<string>;
    };
    /** The mesh readiness gate; only the Istio objects (Telemetry, the gateway routes) wait for it. */
    readonly meshReady: pulumi.Resource;
    /** What must finish before the stack creates anything in the cluster (the ownership check). @default [] */
    readonly clusterReady?: readonly pulumi.Resource[];
}

/**
 * Prometheus, Grafana (Istio dashboards, generated admin password, no anonymous access),
 * Jaeger v2 (OTLP) wired through a Telemetry resource, Kiali (token login, a Grafana Viewer of its
 * own) and, when asked for, Headlamp (token login as a dedicated service account), each switchable.
 * None of it waits for Bookinfo, and only the Istio objects wait for Istio.
 */
export class Observability extends pulumi.ComponentResource {
    // Each output is undefined, not an Output of undefined, when its addon is off, so that the stack
    // leaves it out instead of exporting nothing under its name (components/outputs.ts, presentOutputs).
    /** Prometheus's UI; undefined when it is off. */
    public readonly prometheusUrl: pulumi.Output<string> | undefined;
    /** Grafana's UI; undefined when it is off. */
    public readonly grafanaUrl: pulumi.Output<string> | undefined;
    /** Jaeger's UI; undefined when it is off. */
    public readonly jaegerUrl: pulumi.Output<string> | undefined;
    /** Kiali's UI; undefined when it is off. */
    public readonly kialiUrl: pulumi.Output<string> | undefined;
    /** Grafana's admin password (secret), user `admin`; undefined when Grafana is off. */
    public readonly grafanaAdminPassword: pulumi.Output<string> | undefined;
    /** Kiali's read-only login token (secret); undefined unless Kiali runs with token login. */
    public readonly kialiToken: pulumi.Output<string> | undefined;
    /** Headlamp's UI; undefined when it is off. */
    public readonly headlampUrl: pulumi.Output<string> | undefined;
    /** Headlamp's login token (secret); undefined when it is off. */
    public readonly headlampToken: pulumi.Output<string> | undefined;
    /** Every enabled addon with the path that answers when it is healthy, for the deployment check. */
    public readonly endpoints: pulumi.Output<AddonEndpoint[]>;

    constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-mesh:index:Observability", name, args, opts);
        const s = args.settings;
        const mode = args.mode ?? "sidecar";
        // A fixed name: the in-cluster URLs that wire the addons together are built from it.
        // Labelled as the stack's, and created only once the cluster is ready for the stack.
        const ns = new k8s.core.v1.Namespace(
            `${name}-ns`,
            { metadata: { name: OBSERVABILITY_NAMESPACE, labels: ownerLabels(pulumi.getStack()) } },
            { parent: this, dependsOn: [...(args.clusterReady ?? [])] },
        );

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
                ? pulumi.output(baseUrl("http", args.kind.host, args.kind.hostPorts[a.role]))
                : gw
                  ? pulumi.output(gw.ingressUrl).apply((u) => withPort(u, gatewayPortOf(a)))
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
                        ports: [{ name: "http", port: a.port, targetPort: a.targetPort ?? a.port, nodePort: NODE_PORTS[a.role] }],
                    },
                },
                { parent: this },
            );
        };

        if (s.prometheus) {
            release(PROMETHEUS, PINS.charts.prometheus, prometheusValues());
            expose(PROMETHEUS);
        }

        // A generated secret value in a Secret of the addons' namespace; letters and digits only, so it
        // needs no escaping wherever it goes. The value is secret in the state and never leaves it in clear.
        const generatedSecret = (role: string, key: string, length: number): pulumi.Output<SecretKeyRef> => {
            const generated = new random.RandomPassword(`${name}-${role}-${key}`, { length, special: false }, { parent: this });
            const secret = new k8s.core.v1.Secret(
                `${name}-${role}`,
                { metadata: { namespace: ns.metadata.name }, stringData: { [key]: pulumi.secret(generated.result) } },
                { parent: this },
            );
            return secret.metadata.name.apply((n) => ({ name: n, key }));
        };

        // Kiali links to Grafana only where the browser can open Grafana, and then queries it as a Viewer of its own.
        const grafanaBrowserUrl = s.grafana && s.kiali ? hostUrlOf(GRAFANA) : undefined;
        const kialiViewer = grafanaBrowserUrl ? generatedSecret("grafana-kiali", "password", 24) : undefined;

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
            release(
                GRAFANA,
                PINS.charts.grafana,
                pulumi
                    .output(kialiViewer)
                    .apply((kialiViewerPassword) => grafanaValues({ mode, adminSecret: "grafana-admin", kialiViewerPassword })),
                [secret],
            );
            expose(GRAFANA);
        }

        if (s.jaeger) {
            release(JAEGER, PINS.charts.jaeger, jaegerValues());
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
            // Kiali signs its login sessions with this key: generated once, it survives every upgrade.
            const signingKey = generatedSecret("kiali-session", "signing-key", 32);
            release(
                KIALI,
                PINS.charts.kiali,
                pulumi
                    .all([signingKey, kialiViewer, grafanaBrowserUrl, s.jaeger ? hostUrlOf(JAEGER) : undefined])
                    .apply(([signing, viewerPassword, grafanaUrl, jaegerUrl]) =>
                        kialiValues({
                            auth: s.kialiAuth,
                            signingKey: signing,
                            grafana: viewerPassword && grafanaUrl ? { externalUrl: grafanaUrl, viewerPassword } : undefined,
                            jaeger: s.jaeger ? { externalUrl: jaegerUrl } : undefined,
                        }),
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

        let headlampToken: pulumi.Output<string> | undefined;
        if (s.headlamp) {
            release(HEADLAMP, PINS.charts.headlamp, headlampValues());
            expose(HEADLAMP);
            // The only account Headlamp's users act as: bound to view unless a wider role was asked for.
            headlampToken = new LoginToken(
                `${name}-headlamp-user`,
                {
                    namespace: ns.metadata.name,
                    clusterRole: s.headlamp.access,
                    purpose: "Headlamp login (pulumi stack output headlampToken --show-secrets)",
                },
                { parent: this },
            ).token;
        }

        if (gw) {
            // Each object names its namespace through the Namespace resource: created after it, deleted before it.
            const namespaceOf = (n: string | undefined): pulumi.Input<string> | undefined =>
                n === OBSERVABILITY_NAMESPACE ? ns.metadata.name : n === gw.namespace ? gw.namespaceName : n;
            for (const m of addonGatewayManifests(enabledAddons(s), gw, gw.sourceRanges)) {
                new k8s.apiextensions.CustomResource(
                    `${name}-${m.kind.toLowerCase()}-${m.metadata.name}`,
                    {
                        ...m,
                        metadata: { ...m.metadata, namespace: namespaceOf(m.metadata.namespace) },
                    } as unknown as k8s.apiextensions.CustomResourceArgs,
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
                healthPath: a.healthPath,
            })),
        );

        const maybe = (on: boolean, url: pulumi.Output<string>): pulumi.Output<string> | undefined => (on ? url : undefined);
        this.prometheusUrl = maybe(s.prometheus, urlOf(PROMETHEUS));
        this.grafanaUrl = maybe(s.grafana, urlOf(GRAFANA));
        this.jaegerUrl = maybe(s.jaeger, urlOf(JAEGER));
        this.kialiUrl = maybe(
            s.kiali,
            urlOf(KIALI).apply((u) => `${u}/kiali`),
        );
        this.grafanaAdminPassword = adminPassword ? pulumi.secret(adminPassword) : undefined;
        this.kialiToken = kialiToken ? pulumi.secret(kialiToken) : undefined;
        this.headlampUrl = maybe(s.headlamp !== undefined, urlOf(HEADLAMP));
        this.headlampToken = headlampToken ? pulumi.secret(headlampToken) : undefined;
        this.registerOutputs({
            prometheusUrl: this.prometheusUrl,
            grafanaUrl: this.grafanaUrl,
            jaegerUrl: this.jaegerUrl,
            kialiUrl: this.kialiUrl,
            grafanaAdminPassword: this.grafanaAdminPassword,
            kialiToken: this.kialiToken,
            headlampUrl: this.headlampUrl,
            headlampToken: this.headlampToken,
            endpoints: this.endpoints,
        });
    }
}
