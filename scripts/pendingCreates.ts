/**
 * Recovery from an interrupted `pulumi up` (Ctrl-C, a closed laptop): the creates that were in
 * flight are left in the state as pending operations, and whatever they had made in the cluster
 * is there without being in the state. The next `up` only warns about them and creates them
 * again (pulumi/pulumi pkg/resource/deploy/deployment_executor.go). A plain object is then taken
 * over (the provider's upsertExistingObjects, components/ownership.ts), but a Helm release is
 * not: Helm refuses a release name that is still in use, whether the interrupted install had
 * finished or stopped half way (helm pkg/action/install.go, availableName). So, before `up`:
 * the records of every release the stack was installing are removed from the cluster (Helm's
 * Secrets `sh.helm.release.v1.<name>.v<n>`; the objects the install made stay, and the next
 * install adopts them, since they carry its release annotations), and `pulumi refresh
 * --clear-pending-creates` drops the pending operations. Pure logic over the state export and a
 * minimal Kubernetes API, unit-tested; scripts/stack.ts runs it.
 */
import type { KubeApi } from "../components/meshReadiness";

/** A create that was in flight when `pulumi up` was interrupted. */
export interface PendingCreate {
    readonly urn: string;
    readonly type: string;
}

/** A Helm release the stack was installing. */
export interface PendingRelease {
    readonly urn: string;
    readonly namespace: string;
    readonly name: string;
}

interface StateResource {
    readonly urn?: string;
    readonly type?: string;
    readonly inputs?: Record<string, unknown>;
}

interface StateExport {
    readonly deployment?: {
        readonly resources?: readonly StateResource[];
        readonly pending_operations?: readonly { readonly type?: string; readonly resource?: StateResource }[];
    };
}

const RELEASE = "kubernetes:helm.sh/v3:Release";

function parse(exportJson: string): StateExport {
    try {
        return JSON.parse(exportJson) as StateExport;
    } catch {
        throw new Error("pulumi stack export did not print JSON");
    }
}

/** The creates an interrupted `up` left pending. */
export function pendingCreates(exportJson: string): PendingCreate[] {
    return (parse(exportJson).deployment?.pending_operations ?? [])
        .filter((op) => op.type === "creating" && op.resource?.urn)
        .map((op) => ({ urn: op.resource!.urn!, type: op.resource!.type ?? "" }));
}

/** The Helm releases among them, with the name and namespace they were being installed as. */
export function pendingReleases(exportJson: string): PendingRelease[] {
    return (parse(exportJson).deployment?.pending_operations ?? [])
        .filter((op) => op.type === "creating" && op.resource?.type === RELEASE)
        .flatMap((op) => {
            const inputs = op.resource?.inputs ?? {};
            const name = inputs.name;
            const namespace = inputs.namespace;
            return typeof name === "string" && typeof namespace === "string" ? [{ urn: op.resource!.urn ?? "", namespace, name }] : [];
        });
}

/** The kubeconfig and context of the stack's Kubernetes provider, from a `--show-secrets` export. */
export function providerAccess(exportJson: string): { kubeconfig: string; context?: string } | undefined {
    const provider = (parse(exportJson).deployment?.resources ?? []).find((r) => r.type === "pulumi:providers:kubernetes");
    const kubeconfig = provider?.inputs?.kubeconfig;
    if (typeof kubeconfig !== "string" || kubeconfig === "") return undefined;
    const context = provider?.inputs?.context;
    return { kubeconfig, context: typeof context === "string" && context !== "" ? context : undefined };
}

/**
 * Removes Helm's records of a release (its storage Secrets), so that the next install may use the
 * name again. Returns the names of the records removed; none when the install never got as far.
 */
export async function removeReleaseRecords(api: KubeApi, release: PendingRelease): Promise<string[]> {
    const selector = encodeURIComponent(`owner=helm,name=${release.name}`);
    const res = await api.request("GET", `/api/v1/namespaces/${release.namespace}/secrets?labelSelector=${selector}`);
    if (res.status === 404) return [];
    if (res.status !== 200) throw new Error(`listing the records of Helm release ${release.namespace}/${release.name}: HTTP ${res.status}`);
    const names = ((res.body as { items?: { metadata?: { name?: string } }[] }).items ?? [])
        .map((s) => s.metadata?.name ?? "")
        .filter((n) => n.startsWith(`sh.helm.release.v1.${release.name}.v`))
        .sort();
    for (const n of names) {
        const del = await api.request("DELETE", `/api/v1/namespaces/${release.namespace}/secrets/${n}`);
        if (del.status !== 200 && del.status !== 202 && del.status !== 404) {
            throw new Error(`removing record ${n} of Helm release ${release.namespace}/${release.name}: HTTP ${del.status}`);
        }
    }
    return names;
}

/** The refresh that drops the pending operations once the releases are free again. */
export function clearPendingArgv(stack: string): string[] {
    return ["pulumi", "refresh", "--yes", "--skip-preview", "--clear-pending-creates", "--stack", stack];
}
