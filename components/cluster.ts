import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { ClusterMode, StackConfig } from "./config";
import { KindCluster } from "./kindCluster";
import { exposedPorts, ExposedPort } from "./ports";

/** What every component needs to reach the cluster. */
export interface ClusterAccess {
    readonly mode: ClusterMode;
    readonly clusterName: pulumi.Output<string>;
    /** Kubeconfig (secret). Unknown during the first preview of a kind stack. */
    readonly kubeconfig: pulumi.Output<string>;
    /** Context inside the kubeconfig, when not its current one. */
    readonly context?: string;
    /** The one Kubernetes provider of the stack. */
    readonly provider: k8s.Provider;
    /** Host ports mapped into kind; empty on an existing cluster. */
    readonly ports: readonly ExposedPort[];
    /** Host address the kind ports listen on. */
    readonly listenAddress?: string;
    /** The kind cluster, when the stack made one. */
    readonly kind?: KindCluster;
}

/**
 * Creates the kind cluster (or takes the existing cluster's kubeconfig) and the single,
 * explicit Kubernetes provider built from it.
 */
export function connectCluster(cfg: StackConfig, opts: pulumi.ComponentResourceOptions = {}): ClusterAccess {
    let kind: KindCluster | undefined;
    let kubeconfig: pulumi.Output<string>;
    let ports: ExposedPort[] = [];
    if (cfg.clusterMode === "kind") {
        const k = cfg.kind;
        if (!k) throw new Error("clusterMode is kind but the kind settings are missing");
        ports = exposedPorts(k.hostPorts, cfg.observability);
        kind = new KindCluster(
            "kind",
            {
                clusterName: cfg.clusterName,
                nodeImage: k.nodeImage,
                workers: k.workers,
                region: k.region,
                zones: k.zones,
                listenAddress: k.listenAddress,
                ports,
                registryMirrors: k.registryMirrors,
                preloadImages: k.preloadImages,
            },
            opts,
        );
        kubeconfig = kind.kubeconfig;
    } else {
        const e = cfg.existing;
        if (!e) throw new Error("clusterMode is existing but the kubeconfig is missing");
        kubeconfig = pulumi.secret(e.kubeconfig);
    }
    const provider = new k8s.Provider(
        "k8s",
        {
            kubeconfig,
            context: cfg.existing?.context,
            // A kind cluster deleted by hand takes its objects with it: destroy and refresh then drop
            // them from the state instead of failing. Never on a real cluster, which may only be
            // unreachable for a moment.
            deleteUnreachable: cfg.clusterMode === "kind",
        },
        { parent: opts.parent },
    );
    return {
        mode: cfg.clusterMode,
        clusterName: pulumi.output(cfg.clusterName),
        kubeconfig,
        context: cfg.existing?.context,
        provider,
        ports,
        listenAddress: cfg.kind?.listenAddress,
        kind,
    };
}
