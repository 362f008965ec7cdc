import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { ClusterMode } from "./config";
import { StackConfig } from "../config";
import { OwnershipPlan } from "./ownership";
import { OwnershipCheck } from "./ownershipCheck";
import { KindCluster } from "./kindCluster";
import { exposedPorts, ExposedPort } from "../ports";
import { credentialVariables, imageCacheSpecs } from "./imageCache";

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
    /**
     * What must finish before the stack creates anything in the cluster: on an existing cluster,
     * the check that nothing it would take over belongs to someone else. Empty on kind.
     */
    readonly ready: readonly pulumi.Resource[];
}

/**
 * Creates the kind cluster (or takes the existing cluster's kubeconfig) and the single,
 * explicit Kubernetes provider built from it.
 */
export function connectCluster(
    cfg: StackConfig,
    ownership: Omit<OwnershipPlan, "stack">,
    opts: pulumi.ComponentResourceOptions = {},
): ClusterAccess {
    let kind: KindCluster | undefined;
    let kubeconfig: pulumi.Output<string>;
    let ports: ExposedPort[] = [];
    if (cfg.clusterMode === "kind") {
        const k = cfg.kind;
        if (!k) throw new Error("clusterMode is kind but the kind settings are missing");
        ports = exposedPorts(k.hostPorts);
        const credentials = cfg.imageCacheCredentials;
        const caches = k.imageCache.enabled
            ? imageCacheSpecs({
                  registries: k.imageCache.registries,
                  mirrored: k.registryMirrors.map((m) => m.registry),
                  hostPorts: k.imageCache.hostPorts,
                  listenAddress: k.listenAddress,
                  authenticated: credentials?.registries ?? [],
              })
            : [];
        // Each authenticated cache's username and password, by the variables its script reads; secret throughout.
        const cacheEnvironment = credentials
            ? pulumi.secret(
                  credentials.values.apply((values) =>
                      Object.fromEntries(
                          caches.flatMap((c, i) => {
                              const v = credentialVariables(i);
                              const cred = values[c.registry];
                              return cred ? [[v.username, cred.username] as const, [v.password, cred.password] as const] : [];
                          }),
                      ),
                  ),
              )
            : undefined;
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
                imageCaches: caches,
                imageCacheEnvironment: cacheEnvironment,
                exportKubeconfig: k.exportKubeconfig,
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
            // A create takes over an object that already exists (server-side apply) instead of failing
            // on it (pulumi-kubernetes provider/pkg/await/await.go). What may be taken over is decided in
            // components/cluster/ownership.ts: on kind everything, on an existing cluster only what the ownership
            // check below lets through. The price the provider documents: a resource renamed without an
            // alias would be adopted by its new name and then deleted by its old one, so every rename in
            // this stack carries an alias.
            upsertExistingObjects: true,
        },
        { parent: opts.parent },
    );
    const ready: pulumi.Resource[] = [];
    if (cfg.existing) {
        const check = new OwnershipCheck(
            "ownership",
            { plan: { stack: cfg.stack, ...ownership }, kubeconfig, context: cfg.existing.context },
            opts,
        );
        ready.push(check.run);
    }
    return {
        mode: cfg.clusterMode,
        clusterName: pulumi.output(cfg.clusterName),
        kubeconfig,
        context: cfg.existing?.context,
        provider,
        ports,
        listenAddress: cfg.kind?.listenAddress,
        kind,
        ready,
    };
}
