import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as command from "@pulumi/command";
import { GatewayKind, MeshMode, MtlsMode, OutboundTrafficPolicy, Resources } from "./config";
import {
    baseValues,
    cniValues,
    ExtAuthzProvider,
    GatewayExposure,
    gatewayValues,
    INGRESS_GATEWAY_LABELS,
    INGRESS_GATEWAY_NAME,
    INGRESS_NAMESPACE,
    ISTIO_NAMESPACE,
    istiodValues,
    meshConfig,
    mergeValues,
    TracingProvider,
    ztunnelValues,
} from "./istioValues";
import { peerAuthentication } from "./meshManifests";
import { pinnedRelease } from "./helm";
import { ISTIO_HELM_REPO, ISTIO_VERSION } from "./versions";
import { baseUrl, loadBalancerHost, ServiceStatus } from "./urls";
import { PROJECT_ROOT, scriptCommand } from "./localScripts";

/** The command that removes Istio's CRDs on destroy (Helm keeps them on purpose). */
export const REMOVE_CRDS_COMMAND = scriptCommand("removeCrds");

/** The command that runs the readiness gate script on the user's machine. */
export const MESH_READY_COMMAND = scriptCommand("meshReady");

/** Arguments of {@link IstioMesh}. */
export interface IstioMeshArgs {
    /** Data plane mode. @default "sidecar" */
    readonly mode?: MeshMode;
    /** Kubeconfig (secret) and context the readiness gate uses to reach the cluster. */
    readonly kubeconfig: pulumi.Input<string>;
    /** Context inside the kubeconfig. @default its current context */
    readonly context?: string;
    /** Mesh-wide mutual TLS mode (PeerAuthentication `default` in istio-system). @default "STRICT" */
    readonly mtls?: MtlsMode;
    /** istiod replicas, resources and disruption budget. @default 1 replica, 200m/512Mi, no budget */
    readonly istiod?: { readonly replicas: number; readonly resources: Resources; readonly podDisruptionBudget: boolean };
    /** Ingress gateway replicas, kind and DaemonSet node selector. @default one Deployment replica */
    readonly gateway?: { readonly replicas: number; readonly kind: GatewayKind; readonly nodeSelector: Readonly<Record<string, string>> };
    /** How the ingress gateway Service is exposed. @default LoadBalancer */
    readonly exposure?: GatewayExposure;
    /** More HTTP ports the gateway Service opens, such as the addon UIs'. @default [] */
    readonly extraPorts?: readonly { readonly name: string; readonly port: number }[];
    /** With NodePort exposure, the URL the host reaches the gateway's HTTP port at (kind port mapping). */
    readonly hostHttpUrl?: string;
    /** Mesh config switches. @default access logs on, ALLOW_ANY, locality load balancing on */
    readonly meshConfig?: {
        readonly accessLogs: boolean;
        readonly outboundTrafficPolicy: OutboundTrafficPolicy;
        readonly localityLoadBalancing: boolean;
    };
    /** OpenTelemetry tracing provider (Jaeger) registered in meshConfig. @default none */
    readonly tracing?: TracingProvider;
    /** External authorizer registered in meshConfig. @default none */
    readonly extAuthz?: ExtAuthzProvider;
    /** Extra Helm values per chart, merged over the stack's. @default {} */
    readonly extraValues?: Partial<Record<"base" | "istiod" | "cni" | "ztunnel" | "gateway", Record<string, unknown>>>;
    /** Resources istiod must wait for, such as the Gateway API CRDs it watches. @default [] */
    readonly dependsOn?: pulumi.Resource[];
    /** How long the readiness gate waits for istiod's webhooks, in seconds. @default 600 */
    readonly readinessTimeoutSeconds?: number;
    /**
     * Remove Istio's CRDs, and so every Istio object in the cluster, on destroy. Otherwise they
     * stay, as Helm keeps them. @default false
     */
    readonly removeCrdsOnDestroy?: boolean;
}

/**
 * Istio from its official Helm charts: base, istiod, then (ambient) cni and ztunnel, a readiness
 * gate that proves istiod serves its webhooks, then the ingress gateway, plus the mesh-wide
 * PeerAuthentication. Anything that needs Istio's webhooks must depend on {@link ready}.
 */
export class IstioMesh extends pulumi.ComponentResource {
    /** The Istio version every chart uses. */
    public readonly version: pulumi.Output<string>;
    /** The data plane mode. */
    public readonly mode: pulumi.Output<MeshMode>;
    /** The readiness gate: depend on it before creating Istio resources or injected workloads. */
    public readonly ready: command.local.Command;
    /** Namespace of the ingress gateway. */
    public readonly gatewayNamespace: string;
    /** Name of the ingress gateway Deployment/Service (and its service account). */
    public readonly gatewayName: string;
    /** Pod labels of the ingress gateway. */
    public readonly gatewayLabels: Readonly<Record<string, string>>;
    /** The ingress gateway release. */
    public readonly gatewayRelease: k8s.helm.v3.Release;
    /** The istio-system namespace name. */
    public readonly istioNamespace: string;
    /** Base URL of the ingress gateway's HTTP port, as reachable from the user's machine. */
    public readonly ingressUrl: pulumi.Output<string>;

    constructor(name: string, args: IstioMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-mesh:index:IstioMesh", name, args, opts);
        const mode = args.mode ?? "sidecar";
        const extra = args.extraValues ?? {};
        const istiodSettings = args.istiod ?? {
            replicas: 1,
            resources: { requests: { cpu: "200m", memory: "512Mi" } },
            podDisruptionBudget: false,
        };
        const gatewaySettings = args.gateway ?? { replicas: 1, kind: "Deployment" as const, nodeSelector: {} };
        const mesh = args.meshConfig ?? { accessLogs: true, outboundTrafficPolicy: "ALLOW_ANY" as const, localityLoadBalancing: true };

        // Istio's own namespace names: its charts, docs and tools expect them.
        const systemNs = new k8s.core.v1.Namespace(`${name}-system-ns`, { metadata: { name: ISTIO_NAMESPACE } }, { parent: this });
        const ingressNs = new k8s.core.v1.Namespace(`${name}-ingress-ns`, { metadata: { name: INGRESS_NAMESPACE } }, { parent: this });

        const release = (
            role: string,
            chart: string,
            releaseName: string,
            namespace: pulumi.Input<string>,
            values: Record<string, unknown>,
            dependsOn: pulumi.Resource[],
        ): k8s.helm.v3.Release =>
            // Istio's release names: the charts derive object names and labels from them.
            pinnedRelease(
                `${name}-${role}`,
                { releaseName, pin: { chart, version: ISTIO_VERSION, repo: ISTIO_HELM_REPO }, namespace, values },
                { parent: this, dependsOn },
            );

        // Does nothing until destroy, when its delete step removes the CRDs that base leaves behind.
        const crdCleanup = args.removeCrdsOnDestroy
            ? new command.local.Command(
                  `${name}-crd-cleanup`,
                  {
                      delete: REMOVE_CRDS_COMMAND,
                      dir: PROJECT_ROOT,
                      environment: {
                          CRD_KUBECONFIG: pulumi.secret(args.kubeconfig),
                          CRD_CONTEXT: args.context ?? "",
                          CRD_GROUP: "istio.io",
                      },
                      logging: "stdoutAndStderr",
                  },
                  { parent: this, customTimeouts: { delete: "10m" } },
              )
            : undefined;
        const base = release(
            "base",
            "base",
            "istio-base",
            systemNs.metadata.name,
            mergeValues(baseValues(), extra.base ?? {}),
            // Istio's own CRDs need nothing else (the Gateway API CRDs install side by side); the
            // cleanup comes first so that destroy runs it last, after every Istio object is gone.
            crdCleanup ? [crdCleanup] : [],
        );
        const istiod = release(
            "istiod",
            "istiod",
            "istiod",
            systemNs.metadata.name,
            mergeValues(
                istiodValues({
                    mode,
                    replicas: istiodSettings.replicas,
                    resources: istiodSettings.resources,
                    podDisruptionBudget: istiodSettings.podDisruptionBudget,
                    meshConfig: meshConfig({ ...mesh, tracing: args.tracing, extAuthz: args.extAuthz }),
                }),
                extra.istiod ?? {},
            ),
            // istiod needs the CRDs and webhook configuration from base (and the Gateway API CRDs it watches)
            [base, ...(args.dependsOn ?? [])],
        );
        const dataPlane: pulumi.Resource[] = [];
        if (mode === "ambient") {
            // Istio's ambient install order: cni and ztunnel after istiod, which issues ztunnel's certificates
            dataPlane.push(release("cni", "cni", "istio-cni", systemNs.metadata.name, mergeValues(cniValues(), extra.cni ?? {}), [istiod]));
            dataPlane.push(
                release("ztunnel", "ztunnel", "ztunnel", systemNs.metadata.name, mergeValues(ztunnelValues(), extra.ztunnel ?? {}), [
                    istiod,
                ]),
            );
        }

        this.ready = new command.local.Command(
            `${name}-ready`,
            {
                create: MESH_READY_COMMAND,
                dir: PROJECT_ROOT,
                environment: {
                    MESH_KUBECONFIG: pulumi.secret(args.kubeconfig),
                    MESH_CONTEXT: args.context ?? "",
                    MESH_MODE: mode,
                    ISTIO_NAMESPACE,
                    MESH_TIMEOUT_SECONDS: String(args.readinessTimeoutSeconds ?? 600),
                },
                // Re-check after an Istio upgrade or a change of mode.
                triggers: [ISTIO_VERSION, mode],
                logging: "stdoutAndStderr",
            },
            // the probes exercise istiod's webhooks (and, in ambient mode, the cni and ztunnel DaemonSets)
            { parent: this, dependsOn: [istiod, ...dataPlane], customTimeouts: { create: "15m" } },
        );

        this.gatewayRelease = release(
            "gateway",
            "gateway",
            INGRESS_GATEWAY_NAME,
            ingressNs.metadata.name,
            mergeValues(
                gatewayValues({
                    replicas: gatewaySettings.replicas,
                    kind: gatewaySettings.kind,
                    nodeSelector: gatewaySettings.nodeSelector,
                    exposure: args.exposure ?? { type: "LoadBalancer" },
                    extraPorts: args.extraPorts,
                }),
                extra.gateway ?? {},
            ),
            // gateway pods get their proxy image from istiod's injector (istio/istio#35789)
            [this.ready],
        );

        new k8s.apiextensions.CustomResource(
            `${name}-peer-authentication`,
            peerAuthentication(args.mtls ?? "STRICT"),
            // Istio resources go through istiod's validating webhook
            { parent: this, dependsOn: [this.ready] },
        );

        if (args.exposure?.type === "NodePort") {
            if (!args.hostHttpUrl) throw new Error(`${name}: NodePort exposure needs hostHttpUrl`);
            this.ingressUrl = pulumi.output(args.hostHttpUrl);
        } else {
            // Read the Service the chart created; its id is unknown until the release exists, so a
            // preview never looks for a Service that is not there yet.
            const service = k8s.core.v1.Service.get(
                `${name}-gateway-service`,
                pulumi.interpolate`${this.gatewayRelease.status.namespace}/${this.gatewayRelease.status.name}`,
                {
                    parent: this,
                },
            );
            this.ingressUrl = service.status.apply((status) => {
                const host = loadBalancerHost(status as ServiceStatus);
                return host ? baseUrl("http", host) : "pending: the ingress gateway Service has no load balancer address yet";
            });
        }

        this.version = pulumi.output(ISTIO_VERSION);
        this.mode = pulumi.output(mode);
        this.gatewayNamespace = INGRESS_NAMESPACE;
        this.gatewayName = INGRESS_GATEWAY_NAME;
        this.gatewayLabels = INGRESS_GATEWAY_LABELS;
        this.istioNamespace = ISTIO_NAMESPACE;
        this.registerOutputs({ version: this.version, mode: this.mode, ingressUrl: this.ingressUrl });
    }
}
