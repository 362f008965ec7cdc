/**
 * Recovery from an interrupted `pulumi up` (Ctrl-C, a closed laptop): the creates that were in
 * flight are left in the state as pending operations, and whatever they had made in the cluster
 * is there without being in the state. The next `up` only warns about them and creates them
 * again (pulumi/pulumi pkg/resource/deploy/deployment_executor.go). A plain object is then taken
 * over (the provider's upsertExistingObjects, components/cluster/ownership.ts), but a Helm release is
 * not: Helm refuses a release name that is still in use (helm pkg/action/install.go,
 * availableName). So, before `up`: the unfinished record of each release the interrupted run was
 * installing or upgrading is removed from the cluster ({@link planRecordRemoval}; never a record of
 * a release the state holds, never a finished one), and `pulumi refresh --clear-pending-creates`
 * drops the pending operations. Pure logic over the state export and a minimal Kubernetes API,
 * unit-tested; tools/deploy/recovery.ts runs it.
 */
import type { KubeApi } from "../../components/probe";

/** A create that was in flight when `pulumi up` was interrupted. */
export interface PendingCreate {
    readonly urn: string;
    readonly type: string;
    /**
     * A later run finished it: its URN is in the state's resources. Pending creates stay in the
     * checkpoint until something clears them, even after a later `up` created the resource
     * (pulumi pkg/backend/snapshot.go and journal.go carry the base snapshot's pending creates over).
     */
    readonly finished: boolean;
}

/** A Helm release the stack was installing, or upgrading, when it was interrupted. */
export interface PendingRelease {
    readonly urn: string;
    readonly namespace: string;
    readonly name: string;
    /** `creating`: an install the state does not hold; `updating`: an upgrade of one it holds. */
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
    const deployment = parse(exportJson).deployment;
    const held = new Set((deployment?.resources ?? []).map((r) => r.urn));
    return (deployment?.pending_operations ?? [])
        .filter((op) => (op.type === "creating" || op.type === "updating") && op.resource?.urn)
        .map((op) => ({
            urn: op.resource!.urn!,
            type: op.resource!.type ?? "",
            finished: op.type === "creating" && held.has(op.resource!.urn),
        }));
}

/**
 * The Helm releases among them that are still unfinished, with the name and namespace they were
 * being installed or upgraded as. A pending create whose URN is in the state's resources was
 * finished by a later run, and its release is left alone. A pending update always has its URN
 * there, and is always the last run's: only pending creates are carried over from an earlier
 * run (pulumi pkg/backend/snapshot.go, "Track pending create operations from the base snapshot").
 */
export function pendingReleases(exportJson: string): PendingRelease[] {
    const deployment = parse(exportJson).deployment;
    const held = new Set((deployment?.resources ?? []).map((r) => r.urn));
    return (deployment?.pending_operations ?? [])
        .filter((op) => (op.type === "creating" || op.type === "updating") && op.resource?.type === RELEASE)
        .filter((op) => !(op.type === "creating" && held.has(op.resource?.urn)))
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

/** One of Helm's records of a release: its storage Secret `sh.helm.release.v1.<name>.v<revision>`. */
export interface HelmRecord {
    readonly name: string;
    readonly revision: number;
    /** The Secret's `status` label (helm pkg/storage/driver/secrets.go): deployed, pending-install, ... */
    readonly status: string;
}

/** A release's records, oldest first (an empty list when its namespace does not exist). */
export async function releaseRecords(api: KubeApi, release: PendingRelease): Promise<HelmRecord[]> {
    const selector = encodeURIComponent(`owner=helm,name=${release.name}`);
    const res = await api.request("GET", `/api/v1/namespaces/${release.namespace}/secrets?labelSelector=${selector}`);
    if (res.status === 404) return [];
    if (res.status !== 200) throw new Error(`listing the records of Helm release ${release.namespace}/${release.name}: HTTP ${res.status}`);
    const prefix = `sh.helm.release.v1.${release.name}.v`;
    return ((res.body as { items?: { metadata?: { name?: string; labels?: Record<string, string> } }[] }).items ?? [])
        .map((s) => ({ name: s.metadata?.name ?? "", status: s.metadata?.labels?.status ?? "" }))
        .filter((r) => r.name.startsWith(prefix) && /^[0-9]+$/.test(r.name.slice(prefix.length)))
        .map((r) => ({ ...r, revision: Number(r.name.slice(prefix.length)) }))
        .sort((a, b) => a.revision - b.revision);
}

/** What freeing a release takes: the records to remove, or why nothing may be removed. */
export type RecordPlan =
    | { readonly kind: "remove"; readonly records: readonly string[] }
    | { readonly kind: "blocked"; readonly message: string };

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Which of a release's records an interrupted run left unfinished, and only those: Helm refuses
 * to install a name that has any record (helm pkg/action/install.go, availableName) and to
 * upgrade a release whose latest record is pending (pkg/action/upgrade.go, errPending).
 *
 * - An install the state does not hold: its `pending-install` record (the install was stopped
 *   half way; the objects it made stay, and the next install adopts them through their release
 *   annotations). A record in any other state (deployed, failed, ...) means the install ended, or
 *   the release is not this stack's: nothing is removed, and the message says how to adopt it.
 * - An upgrade: the latest record, when it is `pending-upgrade` or `pending-rollback` (Helm's own
 *   rollback of a failed `--atomic` upgrade); Helm then sees the last deployed revision again.
 *   A finished latest record means the upgrade ended: nothing to free.
 */
export function planRecordRemoval(stack: string, release: PendingRelease, records: readonly HelmRecord[]): RecordPlan {
    switch (release.operation) {
        case "creating": {
            const ended = records.filter((r) => r.status !== "pending-install");
            if (ended.length === 0) return { kind: "remove", records: records.map((r) => r.name) };
            const last = ended[ended.length - 1];
            return {
                kind: "blocked",
                message:
                    `Helm release ${release.namespace}/${release.name} has a ${last.status} record (revision ${last.revision}) that the state does not hold: ` +
                    `the interrupted install ended after all, or the release is not this stack's. Nothing was changed. If it is this stack's, adopt it: ` +
                    `pulumi refresh --yes --skip-preview --non-interactive --stack ${stack} --import-pending-creates ${shq(release.urn)} ` +
                    `--import-pending-creates ${release.namespace}/${release.name}, then npm run deploy -- ${stack}.`,
            };
        }
        case "updating": {
            const latest = records[records.length - 1];
            const unfinished = latest !== undefined && (latest.status === "pending-upgrade" || latest.status === "pending-rollback");
            return { kind: "remove", records: unfinished ? [latest.name] : [] };
        }
        default: {
            const never: never = release.operation;
            throw new Error(`unknown operation ${String(never)}`);
        }
    }
}

/** Removes records of a release, telling `removed` each one gone (one already gone counts); throws at the first refusal. */
export async function deleteRecords(
    api: KubeApi,
    release: PendingRelease,
    names: readonly string[],
    removed: (name: string) => void = () => undefined,
): Promise<void> {
    for (const n of names) {
        const del = await api.request("DELETE", `/api/v1/namespaces/${release.namespace}/secrets/${n}`);
        if (del.status !== 200 && del.status !== 202 && del.status !== 404) {
            throw new Error(`removing record ${n} of Helm release ${release.namespace}/${release.name}: HTTP ${del.status}`);
        }
        removed(n);
    }
}

/**
 * The refresh that drops the pending operations once the releases are free again. Without
 * --non-interactive the CLI asks, per pending create, whether to clear, skip or import it, even
 * with --yes (pulumi pkg/cmd/pulumi/operations/refresh.go).
 */
export function clearPendingArgv(stack: string): string[] {
    return ["pulumi", "refresh", "--yes", "--skip-preview", "--non-interactive", "--clear-pending-creates", "--stack", stack];
}
