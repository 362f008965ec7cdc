/**
 * The outputs contract: the names, types and secrecy of this stack's outputs, which other stacks
 * read through a StackReference. index.ts is type-checked against it, a test checks the exported
 * names and secrecy, and examples/consumer shows how to read it.
 *
 * Stability: names are never renamed or removed within a contract version. Adding an output keeps
 * the version; removing one or changing its meaning bumps {@link OUTPUTS_CONTRACT_VERSION}.
 */
import * as pulumi from "@pulumi/pulumi";

/**
 * Version of the outputs contract; a consumer checks it before using anything else.
 * 2: the cluster web UI is Headlamp (`headlampUrl`, plain HTTP, and `headlampToken`); the outputs of
 * the UI it replaced are gone.
 */
export const OUTPUTS_CONTRACT_VERSION = 2;

/** The stack outputs, as plain values. Optional ones are absent when their feature is off. */
export interface MeshStackOutputs {
    /** Version of this contract ({@link OUTPUTS_CONTRACT_VERSION}). */
    readonly contractVersion: number;
    /** Name of the kind cluster, or the name given to the existing cluster. */
    readonly clusterName: string;
    /** "kind" for the local cluster the stack manages, "existing" otherwise. */
    readonly clusterMode: "kind" | "existing";
    /** Kubeconfig of the cluster. Secret. */
    readonly kubeconfig: string;
    /** Context of {@link kubeconfig} to use; empty for its current context. */
    readonly kubeContext: string;
    /** Istio version of every chart. */
    readonly istioVersion: string;
    /** Istio data plane mode: label a namespace `istio-injection=enabled` (sidecar) or `istio.io/dataplane-mode=ambient`. */
    readonly meshMode: "sidecar" | "ambient";
    /** Base URL of the ingress gateway's HTTP port from the deploying machine. */
    readonly ingressGatewayUrl: string;
    /** Bookinfo's /productpage URL; absent when Bookinfo is off. */
    readonly bookinfoUrl?: string;
    /** Prometheus UI; on an existing cluster an in-cluster URL unless exposed through the gateway. Absent when Prometheus is off. */
    readonly prometheusUrl?: string;
    /** Grafana UI (user admin); on an existing cluster an in-cluster URL unless exposed through the gateway. Absent when Grafana is off. */
    readonly grafanaUrl?: string;
    /** Jaeger UI; on an existing cluster an in-cluster URL unless exposed through the gateway. Absent when Jaeger is off. */
    readonly jaegerUrl?: string;
    /** Kiali UI; on an existing cluster an in-cluster URL unless exposed through the gateway. Absent when Kiali is off. */
    readonly kialiUrl?: string;
    /** Grafana's admin password. Secret. Absent when Grafana is off. */
    readonly grafanaAdminPassword?: string;
    /** Token that logs in to Kiali read-only. Secret. Absent when Kiali is off or anonymous. */
    readonly kialiToken?: string;
    /** Headlamp UI (http); on an existing cluster an in-cluster URL unless exposed through the gateway. Absent when Headlamp is off. */
    readonly headlampUrl?: string;
    /** Token that logs in to Headlamp as its dedicated service account. Secret. Absent when Headlamp is off. */
    readonly headlampToken?: string;
    /**
     * Every istiod installed: `{revision, version}`, revision `default` for one installed without a
     * revision. The stack reads it back on its next deployment, so that no revision is dropped
     * until it is retired (docs/operations.md, Upgrading Istio).
     */
    readonly istioRevisions: readonly { readonly revision: string; readonly version: string }[];
    /**
     * The revision tag the stack's namespaces select: label a namespace `istio.io/rev=<tag>` to put
     * its pods on it (and restart them when it moves). Empty when istiod is upgraded in place.
     */
    readonly istioRevisionTag: string;
}

/** Every output as a consumer reads it: one Output per name, optional ones possibly resolving to undefined. */
export type MeshStackOutputValues = { readonly [K in keyof MeshStackOutputs]-?: pulumi.Output<MeshStackOutputs[K]> };

/** The names of the outputs that are absent when their feature is off. */
export type OptionalOutputName = {
    [K in keyof MeshStackOutputs]-?: Record<never, never> extends Pick<MeshStackOutputs, K> ? K : never;
}[keyof MeshStackOutputs];

/**
 * The outputs as the program builds them: an optional one is undefined, not an Output, when its
 * feature is off. Every name is a key (`Exclude` keeps the mapping from dropping undefined, as a
 * mapping over `keyof` with `-?` would).
 */
export type MeshStackProgramOutputs = {
    readonly [K in Exclude<keyof MeshStackOutputs, never>]: K extends OptionalOutputName
        ? pulumi.Output<NonNullable<MeshStackOutputs[K]>> | undefined
        : pulumi.Output<MeshStackOutputs[K]>;
};

/** What the program returns: the outputs of the features that are on. */
export type PresentOutputs = Partial<Record<keyof MeshStackOutputs, pulumi.Output<unknown>>>;

/**
 * The outputs the stack exports: those of the features that are on. One left undefined would be
 * exported as nothing under its name, and the runtime warns about each ("Undefined value (<name>)
 * will not show as a stack output", sdk/nodejs/runtime/stack.ts, massage): the contract says absent.
 */
export function presentOutputs(outputs: MeshStackProgramOutputs): PresentOutputs {
    return Object.fromEntries(Object.entries(outputs).filter(([, v]) => v !== undefined));
}

const NAMES: Record<keyof MeshStackOutputs, true> = {
    contractVersion: true,
    clusterName: true,
    clusterMode: true,
    kubeconfig: true,
    kubeContext: true,
    istioVersion: true,
    meshMode: true,
    ingressGatewayUrl: true,
    bookinfoUrl: true,
    prometheusUrl: true,
    grafanaUrl: true,
    jaegerUrl: true,
    kialiUrl: true,
    grafanaAdminPassword: true,
    kialiToken: true,
    headlampUrl: true,
    headlampToken: true,
    istioRevisions: true,
    istioRevisionTag: true,
};

/** Every output name of the contract. */
export const OUTPUT_NAMES = Object.keys(NAMES) as (keyof MeshStackOutputs)[];

/** The outputs that are secret, in the state and in every StackReference. */
export const SECRET_OUTPUTS: readonly (keyof MeshStackOutputs)[] = ["kubeconfig", "grafanaAdminPassword", "kialiToken", "headlampToken"];

/** The labels that put a namespace's pods on the mesh's data plane. */
export function meshNamespaceLabels(mode: MeshStackOutputs["meshMode"]): Record<string, string> {
    switch (mode) {
        case "sidecar":
            return { "istio-injection": "enabled" };
        case "ambient":
            return { "istio.io/dataplane-mode": "ambient" };
        default: {
            const unreachable: never = mode;
            throw new Error(`unknown mesh mode ${String(unreachable)}`);
        }
    }
}

/**
 * Reads a mesh stack's outputs through a StackReference, typed by the contract. Every output
 * fails with a clear message when the referenced stack speaks another contract version (or is
 * not an istio-mesh stack at all), so a consumer never acts on outputs it misreads.
 */
export function meshStackOutputs(ref: pulumi.StackReference): MeshStackOutputValues {
    const version = pulumi.all([ref.name, ref.getOutput("contractVersion")]).apply(([stack, v]: [string, unknown]) => {
        if (v !== OUTPUTS_CONTRACT_VERSION) {
            const got = v === undefined ? "no contractVersion output" : `contractVersion ${JSON.stringify(v)}`;
            throw new Error(
                `stack ${stack} has ${got}, but this program reads outputs contract version ${OUTPUTS_CONTRACT_VERSION}. Fix: point it at a deployed istio-mesh stack of that contract version, or update the program to the stack's contract.`,
            );
        }
        return OUTPUTS_CONTRACT_VERSION;
    });
    const out: Record<string, pulumi.Output<unknown>> = { contractVersion: version };
    for (const name of OUTPUT_NAMES) {
        if (name === "contractVersion") continue;
        // The version check runs first; secrecy carries through pulumi.all.
        out[name] = pulumi.all([version, ref.getOutput(name)]).apply(([, value]) => value);
    }
    return out as unknown as MeshStackOutputValues;
}
