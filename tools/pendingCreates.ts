/**
 * Recovery from an interrupted `pulumi up` (Ctrl-C, a closed laptop): the creates that were in
 * flight are left in the state as pending operations, and whatever they had made in the cluster
 * is there without being in the state. The next `up` only warns about them and creates them
 * again (pulumi/pulumi pkg/resource/deploy/deployment_executor.go). A plain object is then taken
 * over (the provider's upsertExistingObjects, components/cluster/ownership.ts), but a Helm release is
 * not: Helm refuses a release name that is still in use, whether the interrupted install had
 * finished or stopped half way (helm pkg/action/install.go, availableName). So, before `up`:
 * the records of every release the stack was installing are removed from the cluster (Helm's
 * Secrets `sh.helm.release.v1.<name>.v<n>`; the objects the install made stay, and the next
 * install adopts them, since they carry its release annotations), and `pulumi refresh
 * --clear-pending-creates` drops the pending operations. Pure logic over the state export and a
 * minimal Kubernetes API, unit-tested; tools/stack.ts runs it.
 */
import type { KubeApi } from "../components/probe";

/** A create that was in flight when `pulumi up` was interrupted. */
export interface PendingCreate {
    readonly urn: string;
    readonly type: string;
}

/** A Helm release the stack was installing, or upgrading, when it was interrupted. */
export interface PendingRelease {
    readonly urn: string;
    readonly namespace: string;
    readonly name: string;
    /** `creating`: the install may have left a release record in any state; `updating`: an upgrade in progress. */
    readonly operation: "creating" | "updating";
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

/** The operations an interrupted `up` left pending: creates, and updates (a Helm upgrade among them). */
export function pendingCreates(exportJson: string): PendingCreate[] {
    return (parse(exportJson).deployment?.pending_operations ?? [])
        .filter((op) => (op.type === "creating" || op.type === "updating") && op.resource?.urn)
        .map((op) => ({ urn: op.resource!.urn!, type: op.resource!.type ?? "" }));
}

/** The Helm releases among them, with the name and namespace they were being installed or upgraded as. */
export function pendingReleases(exportJson: string): PendingRelease[] {
    return (parse(exportJson).deployment?.pending_operations ?? [])
        .filter((op) => (op.type === "creating" || op.type === "updating") && op.resource?.type === RELEASE)
        .flatMap((op) => {
            const inputs = op.resource?.inputs ?? {};
            const name = revealed(inputs.name);
            const namespace = revealed(inputs.namespace);
            const operation = op.type as PendingRelease["operation"];
            return typeof name === "string" && typeof namespace === "string"
                ? [{ urn: op.resource!.urn ?? "", namespace, name, operation }]
                : [];
        });
}

/** The signature key Pulumi marks a secret value with in a state export. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/**
 * A value of a `--show-secrets` export: a secret comes as `{<sig>: ..., plaintext: "<JSON>"}`
 * (pulumi pkg/resource/stack/deployment.go, SerializePropertyValue), anything else as itself.
 */
export function revealed(value: unknown): unknown {
    if (typeof value === "object" && value !== null && SECRET_SIG in value) {
        const plaintext = (value as { plaintext?: unknown }).plaintext;
        if (typeof plaintext !== "string") return undefined;
        try {
            return JSON.parse(plaintext);
        } catch {
            return undefined;
        }
    }
    return value;
}

/** The kubeconfig and context of the stack's Kubernetes provider, from a `--show-secrets` export. */
export function providerAccess(exportJson: string): { kubeconfig: string; context?: string } | undefined {
    const provider = (parse(exportJson).deployment?.resources ?? []).find((r) => r.type === "pulumi:providers:kubernetes");
    const kubeconfig = revealed(provider?.inputs?.kubeconfig);
    if (typeof kubeconfig !== "string" || kubeconfig === "") return undefined;
    const context = revealed(provider?.inputs?.context);
    return { kubeconfig, context: typeof context === "string" && context !== "" ? context : undefined };
}

/**
 * Frees a release an interrupted run left in progress, by removing Helm's records of it (its
 * storage Secrets): every record of a release that was being installed, so that the next
 * install may use the name again; only the `pending-upgrade` and `pending-rollback` records of
 * one that was being upgraded, so that Helm sees its last deployed revision again instead of
 * "another operation is in progress" (helm pkg/action/upgrade.go). Returns the records removed.
 */
export async function removeReleaseRecords(api: KubeApi, release: PendingRelease): Promise<string[]> {
    const selector = encodeURIComponent(`owner=helm,name=${release.name}`);
    const res = await api.request("GET", `/api/v1/namespaces/${release.namespace}/secrets?labelSelector=${selector}`);
    if (res.status === 404) return [];
    if (res.status !== 200) throw new Error(`listing the records of Helm release ${release.namespace}/${release.name}: HTTP ${res.status}`);
    const inProgress = ["pending-upgrade", "pending-rollback"];
    const names = ((res.body as { items?: { metadata?: { name?: string; labels?: Record<string, string> } }[] }).items ?? [])
        .filter((s) => release.operation === "creating" || inProgress.includes(s.metadata?.labels?.status ?? ""))
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

/**
 * The refresh that drops the pending operations once the releases are free again. Without
 * --non-interactive the CLI asks, per pending create, whether to clear, skip or import it, even
 * with --yes (pulumi pkg/cmd/pulumi/operations/refresh.go).
 */
export function clearPendingArgv(stack: string): string[] {
    return ["pulumi", "refresh", "--yes", "--skip-preview", "--non-interactive", "--clear-pending-creates", "--stack", stack];
}
