import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { PINS, gatewayApiCrdUrl } from "../versions";

/** Arguments of {@link GatewayApiCrds}. */
export interface GatewayApiCrdsArgs {
    /** Release channel of the CRDs. @default "standard" */
    readonly channel?: "standard" | "experimental";
    /** A local copy of the release's install YAML, for machines without internet access. @default the versioned release asset */
    readonly localFile?: string;
    /**
     * Leave the CRDs in the cluster on destroy: deleting a CRD deletes every object of its kind,
     * including ones the stack did not create. @default true
     */
    readonly retainOnDestroy?: boolean;
    /** Labels put on every object of the bundle, marking it as the stack's. @default {} */
    readonly labels?: Readonly<Record<string, string>>;
    /** What must finish before the CRDs are applied (the ownership check on an existing cluster). @default [] */
    readonly clusterReady?: readonly pulumi.Resource[];
}

/**
 * A transform that adds labels to every object the bundle creates, so that a later deploy knows
 * them for the stack's own (components/cluster/ownership.ts), also after they were kept on destroy.
 */
export function labelChildren(labels: Readonly<Record<string, string>>): pulumi.ResourceTransform {
    return ({ props, opts }) => {
        const metadata = (props.metadata ?? {}) as { labels?: Record<string, string> };
        return { props: { ...props, metadata: { ...metadata, labels: { ...metadata.labels, ...labels } } }, opts };
    };
}

/** A transform that marks every resource the bundle creates as retained on delete. */
export const retainChildren: pulumi.ResourceTransform = ({ props, opts }) => ({ props, opts: { ...opts, retainOnDelete: true } });

/**
 * The Kubernetes Gateway API CRDs at the release pinned for the Istio version, applied from the
 * versioned release asset (never a branch) or from a local copy of it.
 */
export class GatewayApiCrds extends pulumi.ComponentResource {
    /** The Gateway API release applied. */
    public readonly version: pulumi.Output<string>;
    /** Where the CRDs were read from. */
    public readonly source: pulumi.Output<string>;
    /** The applied bundle, for dependsOn. */
    public readonly bundle: k8s.yaml.v2.ConfigFile;

    constructor(name: string, args: GatewayApiCrdsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-mesh:index:GatewayApiCrds", name, args, opts);
        const source = args.localFile ?? gatewayApiCrdUrl(args.channel ?? "standard");
        const retain = args.retainOnDestroy ?? true;
        this.bundle = new k8s.yaml.v2.ConfigFile(
            `${name}-bundle`,
            { file: source },
            // retainOnDelete does not reach the objects a yaml/v2 component creates
            // (pulumi/pulumi-kubernetes#3065); a transform does.
            {
                parent: this,
                dependsOn: [...(args.clusterReady ?? [])],
                ...(retain ? { retainOnDelete: true } : {}),
                transforms: [labelChildren(args.labels ?? {}), ...(retain ? [retainChildren] : [])],
            },
        );
        this.version = pulumi.output(PINS.gatewayApi.version);
        this.source = pulumi.output(source);
        this.registerOutputs({ version: this.version, source: this.source });
    }
}
