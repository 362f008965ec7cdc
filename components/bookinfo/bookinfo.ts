import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { BookinfoSettings } from "./config";
import { MeshMode } from "../mesh/config";
import {
    authorizationManifests,
    BOOKINFO_NAMESPACE,
    destinationRules,
    ingressManifests,
    IngressGatewayRef,
    namespaceManifest,
    TLS_SECRET_NAME,
    trafficManifests,
    usesL7,
    waypointManifest,
    workloadManifests,
} from "./bookinfoManifests";
import { Manifest } from "../mesh/meshManifests";
import { ownerLabels } from "../cluster/ownership";
import { joinUrl } from "../urls";

/** Arguments of {@link Bookinfo}. */
export interface BookinfoArgs {
    /** Data plane mode the namespace is labelled for. @default "sidecar" */
    readonly mode?: MeshMode;
    /** Routing, traffic and security settings (validated by the config module). */
    readonly settings: BookinfoSettings;
    /** The ingress gateway Bookinfo's routes attach to. */
    readonly gateway: IngressGatewayRef;
    /** The mesh readiness gate: Bookinfo's workloads are injected and its routes validated by istiod. */
    readonly meshReady: pulumi.Resource;
    /** Base URL of the ingress gateway from the user's machine. */
    readonly ingressUrl: pulumi.Input<string>;
    /**
     * `gateway.namespace` as its Namespace resource reports it (`metadata.name`). The objects
     * Bookinfo puts there (the Gateway API Gateway, the TLS Secret) take their namespace from it,
     * so they are created after the namespace and deleted before it.
     */
    readonly gatewayNamespaceName: pulumi.Input<string>;
    /** What must finish before the stack creates anything in the cluster (the ownership check). @default [] */
    readonly clusterReady?: readonly pulumi.Resource[];
    /**
     * The revision tag the namespace selects and the revision it points at, with revisions; the
     * Deployments restart when the revision changes. @default none (an istiod upgraded in place)
     */
    readonly revision?: { readonly tag: string; readonly revision: string };
    /** The Istio version the workloads' proxies run (the default tag's, or the pin in place). @default the pin */
    readonly istioVersion?: string;
}

/**
 * Applies one authored object with the typed class for its kind, or as a custom resource; with
 * `namespace`, in that namespace (an Output of the Namespace resource, for ordering by data).
 */
function apply(
    name: string,
    manifest: Manifest,
    opts: pulumi.CustomResourceOptions,
    namespace?: pulumi.Input<string>,
): pulumi.CustomResource {
    // Manifests are plain data checked against the Kubernetes and Istio schemas in the tests;
    // here they only cross into the SDK's argument types.
    const m = namespace === undefined ? manifest : { ...manifest, metadata: { ...manifest.metadata, namespace } };
    const key = `${m.apiVersion}/${m.kind}`;
    switch (key) {
        case "v1/Namespace":
            return new k8s.core.v1.Namespace(name, m as unknown as k8s.core.v1.NamespaceArgs, opts);
        case "v1/ServiceAccount":
            return new k8s.core.v1.ServiceAccount(name, m as unknown as k8s.core.v1.ServiceAccountArgs, opts);
        case "v1/Service":
            return new k8s.core.v1.Service(name, m as unknown as k8s.core.v1.ServiceArgs, opts);
        case "apps/v1/Deployment":
            return new k8s.apps.v1.Deployment(name, m as unknown as k8s.apps.v1.DeploymentArgs, opts);
        case "policy/v1/PodDisruptionBudget":
            return new k8s.policy.v1.PodDisruptionBudget(name, m as unknown as k8s.policy.v1.PodDisruptionBudgetArgs, opts);
        default:
            return new k8s.apiextensions.CustomResource(name, m as unknown as k8s.apiextensions.CustomResourceArgs, opts);
    }
}

/**
 * The Bookinfo sample in its own namespace, with ingress routing (Istio API or Gateway API),
 * traffic management, and deny-by-default authorization. Every object waits for the mesh's
 * readiness gate.
 */
export class Bookinfo extends pulumi.ComponentResource {
    /** The /productpage URL from the user's machine. */
    public readonly url: pulumi.Output<string>;
    /** Bookinfo's namespace. */
    public readonly namespace: pulumi.Output<string>;

    constructor(name: string, args: BookinfoArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-mesh:index:Bookinfo", name, args, opts);
        const mode = args.mode ?? "sidecar";
        const b = args.settings;
        const waypoint = mode === "ambient" && usesL7(b);
        // objects go through istiod's webhooks (validation, and injection of the workloads)
        const gated: pulumi.CustomResourceOptions = { parent: this, dependsOn: [args.meshReady] };
        // Objects in the gateway's namespace name it through its Namespace resource: ordered by data.
        const inGatewayNs = (m: Manifest): pulumi.Input<string> | undefined =>
            m.metadata.namespace === args.gateway.namespace ? args.gatewayNamespaceName : undefined;
        const resource = (m: Manifest, extra: pulumi.Resource[] = []): pulumi.CustomResource =>
            apply(
                `${name}-${m.kind.toLowerCase()}-${m.metadata.name}`,
                m,
                { ...gated, dependsOn: [args.meshReady, ...extra] },
                inGatewayNs(m),
            );
        // The namespace and service accounts pass no Istio webhook, so they are made while Istio installs.
        const early = (m: Manifest, dependsOn: pulumi.Resource[]): pulumi.CustomResource =>
            apply(`${name}-${m.kind.toLowerCase()}-${m.metadata.name}`, m, { parent: this, dependsOn });

        const nsManifest = namespaceManifest(mode, waypoint, args.revision?.tag);
        // Labelled as the stack's, and created only once the cluster is ready for the stack.
        const ns = early(
            {
                ...nsManifest,
                metadata: { ...nsManifest.metadata, labels: { ...nsManifest.metadata.labels, ...ownerLabels(pulumi.getStack()) } },
            },
            [...(args.clusterReady ?? [])],
        );
        const inNs = [ns];
        const workloads = workloadManifests(mode, { replicas: b.replicas, revision: args.revision?.revision, version: args.istioVersion });
        const accounts = new Map<string, pulumi.Resource>();
        for (const m of workloads.filter((w) => w.kind === "ServiceAccount")) accounts.set(m.metadata.name, early(m, inNs));
        // Services wait with the workloads: Pulumi waits for their endpoints, which come with the pods.
        for (const m of workloads.filter((w) => w.kind === "Service")) resource(m, inNs);
        for (const m of workloads.filter((w) => w.kind === "Deployment")) {
            const account = accounts.get(
                (m.spec as { template: { spec: { serviceAccountName: string } } }).template.spec.serviceAccountName,
            );
            resource(m, account ? [ns, account] : inNs);
        }
        // Disruption budgets pass no Istio webhook.
        for (const m of workloads.filter((w) => w.kind === "PodDisruptionBudget")) early(m, inNs);

        if (b.tls) {
            new k8s.core.v1.Secret(
                `${name}-tls`,
                {
                    // The ingress gateway reads its certificate from its own namespace.
                    metadata: { name: TLS_SECRET_NAME, namespace: args.gatewayNamespaceName },
                    type: "kubernetes.io/tls",
                    stringData: { "tls.crt": b.tls.certificate, "tls.key": b.tls.privateKey },
                },
                gated,
            );
        }
        if (waypoint) resource(waypointManifest(), inNs);
        for (const m of [
            ...ingressManifests(b.ingressApi, b.hostnames, args.gateway, !!b.tls),
            ...destinationRules(mode, b.outlierDetection),
            ...trafficManifests(b),
            ...(b.authorization ? authorizationManifests(mode, waypoint, args.gateway, b.extAuthz) : []),
        ]) {
            resource(m, m.metadata.namespace === BOOKINFO_NAMESPACE ? inNs : []);
        }

        this.namespace = pulumi.output(BOOKINFO_NAMESPACE);
        this.url = pulumi.output(args.ingressUrl).apply((base) => joinUrl(base, "/productpage"));
        this.registerOutputs({ url: this.url, namespace: this.namespace });
    }
}
