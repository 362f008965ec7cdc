import { GatewayKind, MeshMode, OutboundTrafficPolicy, Resources } from "./config";
import { PINS } from "../versions";

/** Namespaces and release names fixed by Istio's own conventions; other tools and docs expect them. */
export const ISTIO_NAMESPACE = "istio-system";
export const INGRESS_NAMESPACE = "istio-ingress";
/** Release name of Istio's `base` chart (its CRDs), as Istio's install docs name it. */
export const ISTIO_BASE_RELEASE = "istio-base";
/** Release name of the ingress gateway; the chart derives the pod label `istio: ingressgateway` from it. */
export const INGRESS_GATEWAY_NAME = "istio-ingressgateway";
/** Pod labels of the Helm-installed ingress gateway, which Istio Gateway selectors must match. */
export const INGRESS_GATEWAY_LABELS = { istio: "ingressgateway" } as const;

/** An extension provider Istio reaches over OTLP/gRPC (Jaeger v2 collector). */
export interface TracingProvider {
    readonly name: string;
    /** Cluster DNS name of the collector Service. */
    readonly service: string;
    readonly port: number;
}

/** An external authorizer registered as a meshConfig extension provider. */
export interface ExtAuthzProvider {
    readonly name: string;
    readonly service: string;
    readonly port: number;
}

/** What the mesh-wide config is built from. */
export interface MeshConfigInput {
    readonly accessLogs: boolean;
    readonly outboundTrafficPolicy: OutboundTrafficPolicy;
    readonly localityLoadBalancing: boolean;
    readonly tracing?: TracingProvider;
    readonly extAuthz?: ExtAuthzProvider;
}

type Values = Record<string, unknown>;

/** meshConfig for istiod. */
export function meshConfig(input: MeshConfigInput): Values {
    const extensionProviders: Values[] = [];
    if (input.tracing) {
        extensionProviders.push({ name: input.tracing.name, opentelemetry: { service: input.tracing.service, port: input.tracing.port } });
    }
    if (input.extAuthz) {
        extensionProviders.push({
            name: input.extAuthz.name,
            envoyExtAuthzGrpc: { service: input.extAuthz.service, port: input.extAuthz.port },
        });
    }
    return {
        // The chart's own default, kept because a values override replaces the map.
        enablePrometheusMerge: true,
        ...(input.accessLogs ? { accessLogFile: "/dev/stdout", accessLogEncoding: "TEXT" } : {}),
        outboundTrafficPolicy: { mode: input.outboundTrafficPolicy },
        localityLbSetting: { enabled: input.localityLoadBalancing },
        // Tracing is configured through Telemetry resources and extension providers, not the legacy zipkin default.
        enableTracing: input.tracing !== undefined,
        ...(extensionProviders.length > 0 ? { extensionProviders } : {}),
    };
}

/**
 * Values of the `base` chart (CRDs and cluster roles). `defaultRevision` names the istiod its
 * cluster-wide validating webhook calls: `default` for an istiod installed without a revision; ""
 * (none) with revisions, where the stack renders that webhook itself for the default tag
 * (components/mesh/revisionTags.ts, defaultValidator, says why).
 */
export function baseValues(defaultRevision = "default"): Values {
    return { defaultRevision };
}

/** Values of the `istiod` chart. */
export function istiodValues(input: {
    readonly mode: MeshMode;
    /** The revision this istiod serves; none for an istiod installed without one. */
    readonly revision?: string;
    /**
     * Leave out its injector webhook configuration (the chart's `global.operatorManageWebhooks`),
     * for an istiod installed without a revision once the default tag's injector has taken over.
     * @default false
     */
    readonly withoutInjectorWebhook?: boolean;
    readonly replicas: number;
    readonly resources: Resources;
    readonly podDisruptionBudget: boolean;
    readonly meshConfig: Values;
}): Values {
    return {
        // Ambient needs the ambient profile on istiod and on cni.
        ...(input.mode === "ambient" ? { profile: "ambient" } : {}),
        // No revisionTags: tags are the stack's own objects, so moving one never upgrades a release.
        ...(input.revision !== undefined ? { revision: input.revision } : {}),
        // A fixed replica count: an autoscaler would fight it.
        autoscaleEnabled: false,
        replicaCount: input.replicas,
        resources: input.resources,
        // The hub set here, not left to the chart: every Istio image comes from a registry that stays
        // (the gateway's proxy too, which istiod's injector fills in).
        global: {
            hub: PINS.istio.hub,
            defaultPodDisruptionBudget: { enabled: input.podDisruptionBudget },
            // istiod chart templates/mutatingwebhook.yaml renders its injector only without it.
            ...(input.withoutInjectorWebhook ? { operatorManageWebhooks: true } : {}),
        },
        meshConfig: input.meshConfig,
    };
}

/** Values of the `cni` chart (ambient mode). */
export function cniValues(): Values {
    return { profile: "ambient", global: { hub: PINS.istio.hub } };
}

/**
 * Values of the `ztunnel` chart (ambient mode). With a revision, ztunnel takes its certificates and
 * config from that revision's istiod (the chart's templates/daemonset.yaml: CA_ADDRESS and
 * XDS_ADDRESS `istiod-<revision>`), so it follows the default tag.
 */
export function ztunnelValues(revision?: string): Values {
    // The ztunnel chart reads a top-level hub, not global.hub (its templates/daemonset.yaml).
    return { hub: PINS.istio.hub, ...(revision === undefined ? {} : { revision }) };
}

/** The pod annotation that names the revision a workload's proxy should run; a new value restarts the pods. */
export const PROXY_REVISION_ANNOTATION = "istio-mesh.dev/proxy-revision";

/** The gateway chart's own pod annotations (its values.yaml), kept because a values override replaces the map. */
const GATEWAY_POD_ANNOTATIONS = {
    "prometheus.io/port": "15020",
    "prometheus.io/scrape": "true",
    "prometheus.io/path": "/stats/prometheus",
};

/** Lets a pod run on a control-plane node despite its NoSchedule taint. */
export const CONTROL_PLANE_TOLERATION = { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" } as const;

/** How the ingress gateway is reached from outside. */
export type GatewayExposure =
    /** With fixed nodePorts on kind (kind's port mappings forward to them); allocated by Kubernetes elsewhere. */
    { readonly type: "NodePort"; readonly httpNodePort?: number; readonly httpsNodePort?: number } | { readonly type: "LoadBalancer" };

/** Values of the `gateway` chart for the ingress gateway. */
export function gatewayValues(input: {
    readonly replicas: number;
    readonly kind: GatewayKind;
    readonly nodeSelector: Readonly<Record<string, string>>;
    readonly exposure: GatewayExposure;
    /** More HTTP ports the gateway serves (the addon UIs); they also keep the client's address for policy. @default [] */
    readonly extraPorts?: readonly { readonly name: string; readonly port: number }[];
    /**
     * The revision the default tag points at: a pod template annotation, so that the gateway's pods
     * restart onto a revision when the tag moves (a pod keeps the proxy it was injected with).
     * @default none (an istiod upgraded in place)
     */
    readonly revision?: string;
}): Values {
    const extraPorts = input.extraPorts ?? [];
    const nodePorts = input.exposure.type === "NodePort" ? input.exposure : undefined;
    const port = (name: string, p: number, nodePort?: number): Values => ({
        name,
        port: p,
        protocol: "TCP",
        targetPort: p,
        ...(nodePort ? { nodePort } : {}),
    });
    return {
        kind: input.kind,
        // A fixed count: autoscaling would change it behind the stack's back (and kind has no metrics server).
        autoscaling: { enabled: false },
        ...(input.kind === "Deployment"
            ? {
                  replicaCount: input.replicas,
                  // A restart (a tag that moves) starts each new pod before an old one stops.
                  strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                  // The chart renders it only with more than one replica (templates/poddisruptionbudget.yaml).
                  ...(input.replicas > 1 ? { podDisruptionBudget: { minAvailable: 1 } } : {}),
              }
            : {}),
        ...(input.revision !== undefined
            ? { podAnnotations: { ...GATEWAY_POD_ANNOTATIONS, [PROXY_REVISION_ANNOTATION]: input.revision } }
            : {}),
        ...(input.kind === "DaemonSet"
            ? {
                  nodeSelector: input.nodeSelector,
                  // The default node (kind's, labelled ingress-ready) is the control plane, which keeps its
                  // NoSchedule taint once the cluster has workers (kind pkg/cluster/internal/create/actions/
                  // kubeadminit/init.go removes it only from a one-node cluster), and the DaemonSet controller
                  // adds no toleration for it: without this one the gateway schedules nowhere.
                  tolerations: [CONTROL_PLANE_TOLERATION],
              }
            : {}),
        service: {
            type: input.exposure.type,
            ports: [
                port("status-port", 15021),
                port("http2", 80, nodePorts?.httpNodePort),
                port("https", 443, nodePorts?.httpsNodePort),
                ...extraPorts.map((e) => port(e.name, e.port)),
            ],
            // Source-range rules on those ports need the client's own address, not a node's.
            ...(extraPorts.length > 0 ? { externalTrafficPolicy: "Local" } : {}),
        },
    };
}

function isPlainObject(v: unknown): v is Values {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Merges `extra` over `base` the way Helm merges values files: maps deeply, lists and scalars replaced. */
export function mergeValues(base: Values, extra: Values): Values {
    const out: Values = { ...base };
    for (const [k, v] of Object.entries(extra)) {
        out[k] = isPlainObject(v) && isPlainObject(out[k]) ? mergeValues(out[k] as Values, v) : v;
    }
    return out;
}
