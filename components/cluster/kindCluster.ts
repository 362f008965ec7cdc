import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { ExposedPort } from "../ports";
import { KindClusterSpec, kindCreateScript, kindDeleteScript, kindPreloadScript, renderKindConfig } from "./kindScripts";
import { cacheEndpoint, ImageCacheSpec, imageCacheScript } from "./imageCache";
import { PINS } from "../versions";

/**
 * The default node image as the replacement trigger of every kind cluster names it: kind
 * v0.33.0's Kubernetes 1.35.8, the stack's default before Istio 1.31, which the triggers of
 * clusters created until then hold. Frozen, so that a new default pin never changes the trigger
 * of a running cluster.
 */
export const DEFAULT_IMAGE_IN_TRIGGER = "kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0";

/**
 * The cluster's replacement trigger: its rendered config, with the stack's default node image
 * written as {@link DEFAULT_IMAGE_IN_TRIGGER}. kind cannot change the layout of a running cluster
 * (nodes, labels, port mappings), so a change there replaces it, and so does a node image the
 * user sets. The stack's own default only decides what a new cluster is created with: a running
 * one keeps its Kubernetes version when an upgrade of the stack moves the pin (inside Istio's
 * supported range; docs/operations.md says how to move it), rather than being deleted with
 * everything in it.
 */
export function replacementTrigger(spec: KindClusterSpec): string {
    return renderKindConfig(spec.nodeImage === PINS.kind.nodeImage ? { ...spec, nodeImage: DEFAULT_IMAGE_IN_TRIGGER } : spec);
}

/** Arguments of {@link KindCluster}. */
export interface KindClusterArgs {
    /** Name of the kind cluster (a DNS-1123 label); its nodes are Docker containers named after it. */
    readonly clusterName: string;
    /** Node image with digest. @default PINS.kind.nodeImage from versions.ts */
    readonly nodeImage?: string;
    /** Worker nodes besides the control plane. @default 0 */
    readonly workers?: number;
    /** topology.kubernetes.io/region label of every node. @default "local" */
    readonly region?: string;
    /** topology.kubernetes.io/zone labels, assigned round robin, control plane first. @default ["local-a"] */
    readonly zones?: readonly string[];
    /** Address the host ports bind to. @default "127.0.0.1" */
    readonly listenAddress?: string;
    /** Host ports and the node ports behind them; the Services pin the same node ports. @default [] */
    readonly ports?: readonly ExposedPort[];
    /** containerd registry mirrors (certs.d hosts.toml). @default [] */
    readonly registryMirrors?: readonly { readonly registry: string; readonly endpoint: string }[];
    /** Local Docker images to load into the nodes so that they are not pulled again. @default [] */
    readonly preloadImages?: readonly string[];
    /**
     * Pull-through caches the nodes pull through first, one per upstream registry
     * (components/cluster/imageCache.ts). Made before the cluster and left in place by delete:
     * they are shared by every stack on this machine and outlive the cluster. @default []
     */
    readonly imageCaches?: readonly ImageCacheSpec[];
    /**
     * The environment that carries the caches' upstream credentials into the cache command
     * (credentialVariables in imageCache.ts); secret, so that the state holds it encrypted. @default none
     */
    readonly imageCacheEnvironment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * Also merge the cluster's credentials into the user's kubeconfig (`$KUBECONFIG`, else
     * `~/.kube/config`) and switch its current context to `kind-<clusterName>`, with
     * `kind export kubeconfig`; delete then removes those entries. Off, the user's kubeconfig and
     * current context are never touched: the kubeconfig is only the `kubeconfig` output. @default false
     */
    readonly exportKubeconfig?: boolean;
}

/**
 * A local kind cluster managed through the command provider. Create adopts a cluster of the
 * same name if one exists, waits for every node to be Ready and returns the kubeconfig;
 * delete removes the cluster. A change to the rendered config replaces the cluster, deleting
 * the old one first (two clusters cannot hold the same name and host ports), except a new
 * default node image ({@link replacementTrigger}).
 */
export class KindCluster extends pulumi.ComponentResource {
    /** Name of the kind cluster. */
    public readonly clusterName: pulumi.Output<string>;
    /** Kubeconfig of the cluster (secret). Known only once the cluster exists. */
    public readonly kubeconfig: pulumi.Output<string>;
    /** The rendered kind config, for inspection. */
    public readonly kindConfig: string;

    constructor(name: string, args: KindClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-mesh:index:KindCluster", name, args, opts);
        const spec: KindClusterSpec = {
            name: args.clusterName,
            nodeImage: args.nodeImage ?? PINS.kind.nodeImage,
            workers: args.workers ?? 0,
            region: args.region ?? "local",
            zones: args.zones ?? ["local-a"],
            listenAddress: args.listenAddress ?? "127.0.0.1",
            ports: args.ports ?? [],
            registryMirrors: args.registryMirrors ?? [],
            imageCaches: (args.imageCaches ?? []).map((c) => ({
                registry: c.registry,
                container: c.container,
                endpoint: cacheEndpoint(c),
            })),
        };
        this.kindConfig = renderKindConfig(spec);
        const kubeconfigOptions = { exportKubeconfig: args.exportKubeconfig ?? false };

        const caches = args.imageCaches ?? [];
        const cacheCommand =
            caches.length > 0
                ? new command.local.Command(
                      `${name}-image-cache`,
                      {
                          // No delete: pulumi destroy leaves the caches, and what they hold, in place.
                          create: imageCacheScript(caches),
                          environment: args.imageCacheEnvironment && pulumi.secret(args.imageCacheEnvironment),
                          logging: "stderr",
                      },
                      { parent: this, customTimeouts: { create: "10m" } },
                  )
                : undefined;

        const cluster = new command.local.Command(
            `${name}-cluster`,
            {
                // A changed script updates the command, which runs the create script again (it adopts the
                // cluster); only a changed trigger replaces it (pulumi-command provider/pkg/provider/local/
                // commandController.go, Update; common/inputs.go: triggers alone are replaceOnChanges).
                create: kindCreateScript(spec, kubeconfigOptions),
                delete: kindDeleteScript(spec.name, kubeconfigOptions),
                stdin: this.kindConfig,
                // stdout is the kubeconfig: keep it out of the logs.
                logging: "stderr",
                triggers: [replacementTrigger(spec)],
            },
            {
                parent: this,
                deleteBeforeReplace: true,
                additionalSecretOutputs: ["stdout"],
                // the create script connects the caches to kind's network: they must exist by then
                dependsOn: cacheCommand ? [cacheCommand] : [],
                customTimeouts: { create: "20m", delete: "5m" },
            },
        );

        let ready: pulumi.Output<string> = cluster.stdout;
        const images = args.preloadImages ?? [];
        if (images.length > 0) {
            const preload = new command.local.Command(
                `${name}-preload`,
                { create: kindPreloadScript(spec.name, images), triggers: [cluster.id, ...images], logging: "stderr" },
                // images can only be loaded into nodes that exist
                { parent: this, dependsOn: [cluster] },
            );
            // Hand out the kubeconfig only after the preload, so no workload pulls an image it is about to get.
            ready = pulumi.all([cluster.stdout, preload.stdout]).apply(([kubeconfig]) => kubeconfig);
        }

        this.clusterName = pulumi.output(spec.name);
        this.kubeconfig = pulumi.secret(ready);
        this.registerOutputs({ clusterName: this.clusterName, kubeconfig: this.kubeconfig });
    }
}
