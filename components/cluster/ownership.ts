/**
 * What the stack may take over in a cluster, and the check that stops a deploy before it
 * changes anything that is not its own.
 *
 * Since pulumi-kubernetes 4.29 a create is a plain create and fails on an object that already
 * exists (pulumi-kubernetes provider/pkg/await/await.go); the provider option
 * `upsertExistingObjects` turns it back into a server-side apply that takes the object over. The
 * stack turns it on, and decides itself what may be taken over:
 *
 * - on kind, everything: the cluster is the stack's own, created by it and deleted with it, so
 *   whatever is in it was left there by an earlier, interrupted or repeated, `pulumi up`;
 * - on an existing cluster, only what carries the stack's label {@link STACK_LABEL} (its own
 *   namespaces, and the Gateway API CRDs it keeps on destroy), and what lives in its own
 *   namespaces. Anything else with a name the stack needs (a namespace, the Gateway API CRDs and
 *   their admission policy, Istio's CRDs from another installation) stops the deploy, before any
 *   change, with a message that names the object and the command that fixes it.
 *
 * Pure logic over a minimal Kubernetes API, unit-tested; scripts/checkOwnership.ts runs it.
 */
import type { KubeApi } from "../probe";
import { PINS } from "../versions";

/** The label that marks an object as this stack's: its value is the stack name. */
export const STACK_LABEL = "istio-mesh.dev/stack";

/** The labels that mark what a stack creates as its own. */
export function ownerLabels(stack: string): Record<string, string> {
    return { [STACK_LABEL]: stack };
}

/** What the stack is about to create in an existing cluster. */
export interface OwnershipPlan {
    /** The stack's name, the value of {@link STACK_LABEL} on what it owns. */
    readonly stack: string;
    /** The namespaces it creates, each with the config command that turns its feature off, if it has one. */
    readonly namespaces: readonly { readonly name: string; readonly feature?: string }[];
    /** Whether it installs the Gateway API CRDs (and the admission policy that comes with them). */
    readonly gatewayApi: boolean;
    /** Whether it installs Istio's CRDs with the `base` chart (release name and namespace). */
    readonly istioBase?: { readonly release: string; readonly namespace: string };
    /**
     * The webhook configurations it creates itself, outside any Helm release (revision tags, and the
     * default validator that follows the default tag). istioctl creates the same names (`tag set`).
     * @default none
     */
    readonly webhooks?: { readonly mutating: readonly string[]; readonly validating: readonly string[] };
}

/** An object the stack would need but may not take over, with the fix. */
export interface Conflict {
    readonly object: string;
    readonly problem: string;
    readonly fix: string;
}

interface ObjectMeta {
    readonly name?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
}

interface ListOf {
    readonly items?: readonly { readonly metadata?: ObjectMeta; readonly spec?: { readonly group?: string } }[];
}

const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const GATEWAY_API_GROUPS = ["gateway.networking.k8s.io", "gateway.networking.x-k8s.io"];
/** The admission policy and binding that Gateway API's install files (v1.5 and later) ship beside the CRDs (config/crd/standard/gateway.networking.k8s.io_vap_safeupgrades.yaml). */
export const GATEWAY_API_POLICY = "safe-upgrades.gateway.networking.k8s.io";

function owned(meta: ObjectMeta | undefined, stack: string): boolean {
    return meta?.labels?.[STACK_LABEL] === stack;
}

function ownerOf(meta: ObjectMeta | undefined): string {
    const other = meta?.labels?.[STACK_LABEL];
    if (other) return `stack "${other}" of this project`;
    const helm = meta?.annotations?.["meta.helm.sh/release-name"];
    if (helm) return `Helm release ${meta?.annotations?.["meta.helm.sh/release-namespace"] ?? "?"}/${helm}`;
    return "someone else";
}

async function get(api: KubeApi, path: string): Promise<{ metadata?: ObjectMeta } | undefined> {
    const res = await api.request("GET", path);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`reading ${path}: HTTP ${res.status}`);
    return res.body as { metadata?: ObjectMeta };
}

/**
 * Lists what the stack would need but may not take over. Empty means the deploy may go on: what
 * exists is the stack's own (or in its own namespaces), and everything else is created.
 */
export async function findConflicts(api: KubeApi, plan: OwnershipPlan): Promise<Conflict[]> {
    const conflicts: Conflict[] = [];
    const label = `${STACK_LABEL}=${plan.stack}`;
    for (const ns of plan.namespaces) {
        const found = await get(api, `/api/v1/namespaces/${ns.name}`);
        if (found && !owned(found.metadata, plan.stack)) {
            conflicts.push({
                object: `namespace ${ns.name}`,
                problem: `exists and belongs to ${ownerOf(found.metadata)}, not to this stack`,
                fix: `if it is left over, delete it (kubectl delete namespace ${ns.name}); to let this stack take it over with everything in it, kubectl label namespace ${ns.name} ${label}${ns.feature ? `; or do without it: ${ns.feature} --stack ${plan.stack}` : ""}`,
            });
        }
    }
    const res = await api.request("GET", CRDS);
    if (res.status !== 200) throw new Error(`listing CRDs: HTTP ${res.status}`);
    const crds = (res.body as ListOf).items ?? [];
    if (plan.gatewayApi) {
        const foreign = crds.filter((c) => GATEWAY_API_GROUPS.includes(c.spec?.group ?? "") && !owned(c.metadata, plan.stack));
        if (foreign.length > 0) {
            conflicts.push({
                object: `the Gateway API CRDs (${foreign.map((c) => c.metadata?.name ?? "?").join(", ")})`,
                problem: `exist and belong to ${ownerOf(foreign[0].metadata)}, not to this stack`,
                fix: `use the cluster's own if it is Gateway API ${PINS.gatewayApi.version.replace(/\.\d+$/, "")}, which Istio ${PINS.istio.version} is built for: pulumi config set --path istio.gatewayApi.install false --stack ${plan.stack}; or, to let this stack manage them, kubectl label crd ${foreign.map((c) => c.metadata?.name ?? "?").join(" ")} ${label}`,
            });
        }
        for (const kind of ["validatingadmissionpolicies", "validatingadmissionpolicybindings"] as const) {
            const found = await get(api, `/apis/admissionregistration.k8s.io/v1/${kind}/${GATEWAY_API_POLICY}`);
            if (found && !owned(found.metadata, plan.stack)) {
                const singular = kind === "validatingadmissionpolicies" ? "validatingadmissionpolicy" : "validatingadmissionpolicybinding";
                conflicts.push({
                    object: `${singular} ${GATEWAY_API_POLICY}`,
                    problem: `exists and belongs to ${ownerOf(found.metadata)}, not to this stack`,
                    fix: `use the cluster's Gateway API installation: pulumi config set --path istio.gatewayApi.install false --stack ${plan.stack}; or kubectl label ${singular} ${GATEWAY_API_POLICY} ${label}`,
                });
            }
        }
    }
    if (plan.istioBase) {
        const base = plan.istioBase;
        const foreign = crds.filter(
            (c) =>
                /(^|\.)istio\.io$/.test(c.spec?.group ?? "") &&
                !(
                    c.metadata?.annotations?.["meta.helm.sh/release-name"] === base.release &&
                    c.metadata?.annotations?.["meta.helm.sh/release-namespace"] === base.namespace
                ),
        );
        if (foreign.length > 0) {
            conflicts.push({
                object: `Istio's CRDs (${foreign.length}, for example ${foreign[0].metadata?.name ?? "?"})`,
                problem: `exist and belong to ${ownerOf(foreign[0].metadata)}: another Istio installation (istioctl, or Helm under another release name) owns them`,
                fix: `uninstall that Istio first (istioctl uninstall --purge, or helm uninstall of its base release), or deploy this stack to another cluster`,
            });
        }
    }
    for (const [kind, names] of [
        ["mutatingwebhookconfiguration", plan.webhooks?.mutating ?? []],
        ["validatingwebhookconfiguration", plan.webhooks?.validating ?? []],
    ] as const) {
        for (const name of names) {
            const found = await get(api, `/apis/admissionregistration.k8s.io/v1/${kind}s/${name}`);
            if (!found || owned(found.metadata, plan.stack)) continue;
            // The stack's own base release rendered the default validator before revisions; upgrading it removes it.
            const annotations = found.metadata?.annotations;
            const fromOwnBase =
                plan.istioBase !== undefined &&
                annotations?.["meta.helm.sh/release-name"] === plan.istioBase.release &&
                annotations?.["meta.helm.sh/release-namespace"] === plan.istioBase.namespace;
            if (fromOwnBase) continue;
            conflicts.push({
                object: `${kind} ${name}`,
                problem: `exists and belongs to ${ownerOf(found.metadata)}, not to this stack: another Istio control plane (istioctl tag set, or another Helm release) routes pods or validation through it`,
                fix: `remove it if that control plane is gone (istioctl tag remove, or kubectl delete ${kind} ${name}); to let this stack take it over, kubectl label ${kind} ${name} ${label}`,
            });
        }
    }
    return conflicts;
}

/** The message that stops a deploy, listing every conflict with its fix. */
export function conflictMessage(conflicts: readonly Conflict[]): string {
    return [
        `This stack would take over ${conflicts.length} object${conflicts.length === 1 ? "" : "s"} it did not create; nothing was changed:`,
        ...conflicts.map((c) => `  - ${c.object} ${c.problem}. Fix: ${c.fix}.`),
    ].join("\n");
}
