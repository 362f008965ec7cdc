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
    ISTIO_BASE_RELEASE,
    ISTIO_NAMESPACE,
    istiodValues,
    meshConfig,
    mergeValues,
    TracingProvider,
    ztunnelValues,
} from "./istioValues";
import { peerAuthentication } from "./meshManifests";
import { REVISION_LABEL } from "./meshReadiness";
import { DEFAULT_TAG, InstalledRevision, planRevisions, recordedRevisions, RevisionPlan } from "./revisions";
import { defaultValidator, tagWebhook } from "./revisionTags";
import { GatewayTarget } from "./gatewayReadiness";
import { ownerLabels } from "../cluster/ownership";
import { pinnedRelease } from "../helm";
import { PINS } from "../versions";
import { clusterAccessEnv, scriptCommand } from "../localScripts";

/** The command that removes Istio's CRDs on destroy (Helm keeps them on purpose). */
export const REMOVE_CRDS_COMMAND = scriptCommand("removeCrds");

/** The command that waits for the ingress gateway on an existing cluster and prints its URL. */
export const GATEWAY_READY_COMMAND = scriptCommand("gatewayReady");

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
    /** What must finish before the stack creates anything in the cluster (the ownership check). @default [] */
    readonly clusterReady?: readonly pulumi.Resource[];
    /**
     * Resources the whole mesh waits for: the Gateway API CRDs, which istiod watches and which Istio's
     * order for Helm upgrades puts before `base`. @default []
     */
    readonly dependsOn?: pulumi.Resource[];
    /** How long the readiness gate waits for istiod's webhooks, in seconds. @default 600 */
    readonly readinessTimeoutSeconds?: number;
    /**
     * Remove Istio's CRDs, and so every Istio object in the cluster, on destroy. Otherwise they
     * stay, as Helm keeps them. @default false
     */
    readonly removeCrdsOnDestroy?: boolean;
    /**
     * The control plane revisions, tags and retirements of this `up` (components/mesh/revisions.ts).
     * @default one istiod installed without a revision, upgraded in place, at the pinned version
     */
    readonly revisions?: RevisionPlan;
}

/** Upgrading in place at the pinned version: one istiod installed without a revision. */
function inPlace(): RevisionPlan {
    return planRevisions({
        version: PINS.istio.version,
        upgrade: { strategy: "inPlace", keepRevisions: [], tags: {}, retire: [] },
        previous: [],
    });
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
    /**
     * The same name, from the gateway's Namespace resource: objects put there with it are created
     * after the namespace and deleted before it.
     */
    public readonly gatewayNamespaceName: pulumi.Output<string>;
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
    /** The revision the stack's workloads run on: the default tag's, or `default` for an istiod upgraded in place. */
    public readonly activeRevision: string;
    /** The Istio version of that revision. */
    public readonly activeVersion: string;
    /** The revision tag the stack's namespaces select (`istio.io/rev`); none when istiod is upgraded in place. */
    public readonly revisionTag?: string;
    /** What this deployment installs, for the `istioRevisions` output the next deployment reads back. */
    public readonly installedRevisions: pulumi.Output<InstalledRevision[]>;
    /** One istiod release per revision, and the one installed without a revision, if any. */
    public readonly istiodReleases: readonly k8s.helm.v3.Release[];

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

        // Istio's own namespace names: its charts, docs and tools expect them. Labelled as the stack's,
        // and created only once the cluster is ready for the stack (everything else here is in them).
        const plan = args.revisions ?? inPlace();
        const revisioned = plan.strategy === "revisions";
        const namespace = (role: string, nsName: string, labels: Record<string, string> = {}): k8s.core.v1.Namespace =>
            new k8s.core.v1.Namespace(
                `${name}-${role}-ns`,
                { metadata: { name: nsName, labels: { ...labels, ...ownerLabels(pulumi.getStack()) } } },
                { parent: this, dependsOn: [...(args.clusterReady ?? [])] },
            );
        const systemNs = namespace("system", ISTIO_NAMESPACE);
        // With revisions the gateway's pods are injected through the default tag, which the namespace selects.
        const ingressNs = namespace("ingress", INGRESS_NAMESPACE, revisioned ? { [REVISION_LABEL]: DEFAULT_TAG } : {});

        const release = (
            role: string,
            chart: string,
            releaseName: string,
            namespace: pulumi.Input<string>,
            values: Record<string, unknown>,
            dependsOn: pulumi.Resource[],
            wait = true,
            version = plan.active.version,
        ): k8s.helm.v3.Release =>
            // Istio's release names: the charts derive object names and labels from them.
            pinnedRelease(
                `${name}-${role}`,
                { releaseName, pin: { chart, version, repo: PINS.istio.helmRepo }, namespace, values, wait },
                { parent: this, dependsOn },
            );
        const gate = (role: string, env: Record<string, string>, triggers: string[], dependsOn: pulumi.Resource[]): command.local.Command =>
            new command.local.Command(
                `${name}-${role}`,
                {
                    create: MESH_READY_COMMAND,
                    environment: {
                        ...clusterAccessEnv("MESH", args.kubeconfig, args.context),
                        MESH_MODE: mode,
                        // From the Namespace resources: the injection probes run in the ingress namespace.
                        ISTIO_NAMESPACE: systemNs.metadata.name,
                        INGRESS_NAMESPACE: ingressNs.metadata.name,
                        MESH_TIMEOUT_SECONDS: String(args.readinessTimeoutSeconds ?? 600),
                        ...env,
                    },
                    triggers,
                    logging: "stdoutAndStderr",
                },
                { parent: this, dependsOn, customTimeouts: { create: "15m" } },
            );

        // Does nothing until destroy, when its delete step removes the CRDs that base leaves behind.
        const crdCleanup = args.removeCrdsOnDestroy
            ? new command.local.Command(
                  `${name}-crd-cleanup`,
                  {
                      delete: REMOVE_CRDS_COMMAND,
                      environment: {
                          ...clusterAccessEnv("CRD", args.kubeconfig, args.context),
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
            ISTIO_BASE_RELEASE,
            systemNs.metadata.name,
            mergeValues(baseValues(revisioned ? "" : "default"), extra.base ?? {}),
            // Istio's order for Helm upgrades (istio.io "Upgrade with Helm"): the Gateway API CRDs,
            // then base; on a fresh install it costs seconds. The cleanup comes first so that
            // destroy runs it last, after every Istio object is gone.
            [...(crdCleanup ? [crdCleanup] : []), ...(args.dependsOn ?? [])],
            true,
            // The CRDs of the newest installed Istio: they serve every older istiod too.
            plan.base.version,
        );
        const istiodFor = (revision: string | undefined, withoutInjectorWebhook = false): Record<string, unknown> =>
            mergeValues(
                istiodValues({
                    mode,
                    revision,
                    withoutInjectorWebhook,
                    replicas: istiodSettings.replicas,
                    resources: istiodSettings.resources,
                    podDisruptionBudget: istiodSettings.podDisruptionBudget,
                    meshConfig: meshConfig({ ...mesh, tracing: args.tracing, extAuthz: args.extAuthz }),
                }),
                extra.istiod ?? {},
            );
        // istiod needs the CRDs and webhook configuration from base (and, through it, the Gateway API CRDs it watches)
        const istiodDeps = [base];

        // One istiod per revision, each proven ready through its own webhooks before a tag points at it.
        const revisionGates = new Map<string, command.local.Command>();
        const istiods: k8s.helm.v3.Release[] = [];
        for (const r of plan.revisions) {
            const istiod = release(
                `istiod-${r.revision}`,
                "istiod",
                `istiod-${r.revision}`,
                systemNs.metadata.name,
                istiodFor(r.revision),
                istiodDeps,
                true,
                r.version,
            );
            istiods.push(istiod);
            revisionGates.set(
                r.revision,
                // the probes exercise this revision's webhooks, which its release installs
                gate(`ready-${r.revision}`, { MESH_GATE: "revision", MESH_REVISION: r.revision }, [r.version, mode], [istiod]),
            );
        }
        const activeGate = revisionGates.get(plan.active.revision);

        // The tags, the stack's own objects, each after its revision's gate; the default tag also
        // carries the cluster-wide validating webhook.
        const tagObjects: pulumi.Resource[] = [];
        for (const t of plan.tags) {
            const manifest = tagWebhook(t.tag, t.revision, ISTIO_NAMESPACE, pulumi.getStack());
            tagObjects.push(
                new k8s.admissionregistration.v1.MutatingWebhookConfiguration(
                    `${name}-tag-${t.tag}`,
                    manifest,
                    // a tag's injector sends pods to its revision's istiod, which must serve first
                    { parent: this, dependsOn: [revisionGates.get(t.revision) as command.local.Command] },
                ),
            );
        }
        if (revisioned && activeGate) {
            tagObjects.push(
                new k8s.admissionregistration.v1.ValidatingWebhookConfiguration(
                    `${name}-default-validator`,
                    defaultValidator(plan.active.revision, ISTIO_NAMESPACE, pulumi.getStack()),
                    // every Istio object's validation goes to the default tag's istiod, which must serve first
                    { parent: this, dependsOn: [activeGate] },
                ),
            );
        }

        const dataPlane: pulumi.Resource[] = [];
        // The istiod installed without a revision: the only one in place; with revisions, the one an
        // earlier deployment installed, kept at its own version until it is retired.
        const legacy = plan.legacy
            ? release(
                  "istiod",
                  "istiod",
                  "istiod",
                  systemNs.metadata.name,
                  // With revisions its injector gives way to the default tag's, which takes over
                  // istio-injection=enabled; its istiod keeps serving the proxies it injected.
                  istiodFor(undefined, revisioned),
                  // in place: istiod after base; with revisions: its injector goes only once the default tag's serves
                  revisioned ? [...istiodDeps, ...tagObjects] : istiodDeps,
                  true,
                  plan.legacy.version,
              )
            : undefined;
        if (legacy) istiods.unshift(legacy);
        // What the data plane and the gate wait for: the istiod of the active revision.
        const activeIstiod: pulumi.Resource[] = revisioned ? [activeGate as command.local.Command] : [legacy as k8s.helm.v3.Release];
        if (mode === "ambient") {
            // Istio's ambient install order: cni and ztunnel after istiod, which issues ztunnel's
            // certificates. They cannot be canaried: they upgrade in place, at the default tag's version.
            dataPlane.push(
                release("cni", "cni", "istio-cni", systemNs.metadata.name, mergeValues(cniValues(), extra.cni ?? {}), activeIstiod),
            );
            dataPlane.push(
                release(
                    "ztunnel",
                    "ztunnel",
                    "ztunnel",
                    systemNs.metadata.name,
                    mergeValues(ztunnelValues(revisioned ? plan.active.revision : undefined), extra.ztunnel ?? {}),
                    activeIstiod,
                ),
            );
        }

        this.ready = revisioned
            ? gate(
                  "ready",
                  { MESH_GATE: "tag", MESH_REVISION: plan.active.revision },
                  // Re-check when the default tag moves, or the mode changes.
                  [plan.active.revision, mode],
                  // the probes go through the default tag's webhooks (and, in ambient mode, the cni and ztunnel DaemonSets);
                  // an istiod without a revision must have given its injector up first, or it would inject too
                  [...tagObjects, ...(legacy ? [legacy] : []), ...dataPlane],
              )
            : gate(
                  "ready",
                  {},
                  // Re-check after an Istio upgrade or a change of mode.
                  [plan.active.version, mode],
                  // the probes exercise istiod's webhooks (and, in ambient mode, the cni and ztunnel DaemonSets)
                  [legacy as k8s.helm.v3.Release, ...dataPlane],
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
                    revision: revisioned ? plan.active.revision : undefined,
                }),
                extra.gateway ?? {},
            ),
            // gateway pods get their proxy image from istiod's injector (istio/istio#35789)
            [this.ready],
            // On kind, Helm waits for the pods (a NodePort Service never blocks it). On an existing
            // cluster the check below waits instead: Helm would wait for a load balancer address that
            // a cluster without a load balancer controller never gives, and then say only "timeout".
            args.hostHttpUrl !== undefined,
        );

        new k8s.apiextensions.CustomResource(
            `${name}-peer-authentication`,
            peerAuthentication(args.mtls ?? "STRICT"),
            // Istio resources go through istiod's validating webhook
            { parent: this, dependsOn: [this.ready] },
        );

        if (args.hostHttpUrl !== undefined) {
            // kind: the host port mapped to the gateway's fixed nodePort.
            this.ingressUrl = pulumi.output(args.hostHttpUrl);
        } else {
            // An existing cluster: wait for the gateway's pods and its address (a load balancer's, or a
            // node's for a NodePort), with a message that says what is missing, and print its URL.
            const target = pulumi
                .all([this.gatewayRelease.status.namespace, this.gatewayRelease.status.name])
                .apply(([namespace, releaseName]) =>
                    JSON.stringify({
                        namespace: namespace ?? INGRESS_NAMESPACE,
                        name: releaseName ?? INGRESS_GATEWAY_NAME,
                        kind: gatewaySettings.kind,
                        service: args.exposure?.type ?? "LoadBalancer",
                        stack: pulumi.getStack(),
                    } satisfies GatewayTarget),
                );
            const reachable = new command.local.Command(
                `${name}-gateway-ready`,
                {
                    create: GATEWAY_READY_COMMAND,
                    environment: {
                        ...clusterAccessEnv("GATEWAY", args.kubeconfig, args.context),
                        GATEWAY_TARGET: target,
                    },
                    // Look again after every change of the gateway release (its revision counts them).
                    triggers: [target, this.gatewayRelease.status.revision],
                    logging: "stderr",
                },
                { parent: this, customTimeouts: { create: "15m" } },
            );
            this.ingressUrl = reachable.stdout.apply((out) => out.trim().split("\n").pop() ?? "");
        }

        this.version = pulumi.output(plan.active.version);
        this.activeRevision = plan.active.revision;
        this.activeVersion = plan.active.version;
        this.revisionTag = revisioned ? DEFAULT_TAG : undefined;
        this.installedRevisions = pulumi.output(recordedRevisions(plan));
        this.istiodReleases = istiods;
        this.mode = pulumi.output(mode);
        this.gatewayNamespace = INGRESS_NAMESPACE;
        this.gatewayNamespaceName = ingressNs.metadata.name;
        this.gatewayName = INGRESS_GATEWAY_NAME;
        this.gatewayLabels = INGRESS_GATEWAY_LABELS;
        this.istioNamespace = ISTIO_NAMESPACE;
        this.registerOutputs({
            version: this.version,
            mode: this.mode,
            installedRevisions: this.installedRevisions,
            ingressUrl: this.ingressUrl,
            gatewayNamespaceName: this.gatewayNamespaceName,
        });
    }
}
