/**
 * Before a deploy: the recovery of an interrupted run, through the stack's own provider
 * kubeconfig. The decisions are tools/deploy/pendingCreates.ts's; this runs them.
 */
import type { KubeApi } from "../../components/probe";
import {
    deleteRecords,
    PendingCreate,
    pendingCreates,
    pendingReleases,
    planRecordRemoval,
    providerAccess,
    releaseRecords,
} from "./pendingCreates";
import { NPM_SCRIPT, Plan, Step } from "./plan";
import type { Shell } from "./shell";

export /**
 * Frees the names of the Helm releases an interrupted `up` was installing, in the cluster the
 * stack's provider points at; says whether pending creates are left to clear. When the cluster is
 * gone (the cluster check then plans a rebuild), there is nothing to free.
 */
async function resolvePendingCreates(
    plan: Plan,
    step: Extract<Step, { kind: "pending-creates" }>,
    shell: Shell,
    kube: ((kubeconfig: string, context?: string) => Promise<KubeApi>) | undefined,
    clusterAbsent: boolean,
    rebuilding: boolean,
    live: () => Promise<string | undefined>,
): Promise<{ kind: "go"; clear: boolean } | { kind: "stop"; message: string }> {
    const exported = shell.capture(step.exportArgv, plan.env);
    if (exported.status !== 0) return { kind: "go", clear: false };
    let pending: PendingCreate[];
    try {
        pending = pendingCreates(exported.stdout);
    } catch {
        return { kind: "go", clear: false };
    }
    if (pending.length === 0) return { kind: "go", clear: false };
    const short = (p: PendingCreate): string => p.urn.slice(p.urn.lastIndexOf("::") + 2);
    const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;
    const open = pending.filter((p) => !p.finished);
    const done = pending.filter((p) => p.finished);
    if (open.length > 0) {
        shell.log(
            `The last run was interrupted while creating or updating ${plural(open.length, "resource")}: ${open.map(short).join(", ")}.`,
        );
    }
    if (done.length > 0) {
        shell.log(
            `The state still lists ${plural(done.length, "pending create")} that a later run finished (${done.map(short).join(", ")}); the refresh drops ${done.length === 1 ? "it" : "them"} and leaves the resources alone.`,
        );
    }
    // A kind cluster that is gone is rebuilt from nothing: there are no releases to free, and the
    // refresh that rebuild starts with drops the pending operations.
    if (rebuilding) return { kind: "go", clear: true };
    // kind lists no cluster and the state holds none (a first deploy interrupted while kind created
    // it): nothing to free, nothing to refresh; `up` creates the cluster and the rest again.
    if (clusterAbsent) return { kind: "go", clear: false };
    const notLive = await live();
    if (notLive) return { kind: "stop", message: notLive };
    const releases = pendingReleases(exported.stdout);
    const access = providerAccess(exported.stdout);
    if (releases.length === 0) return { kind: "go", clear: true };
    if (!access || !kube) {
        return {
            kind: "stop",
            message: `could not read the stack's kubeconfig from its state to free the Helm releases the interrupted run left in progress (${releases.map((r) => `${r.namespace}/${r.name}`).join(", ")}). Nothing was changed.`,
        };
    }
    const removed: string[] = [];
    try {
        const api = await kube(access.kubeconfig, access.context);
        // Every release is planned before any record is removed: one that may not be freed stops the whole recovery.
        const plans: { release: (typeof releases)[number]; records: readonly string[] }[] = [];
        for (const release of releases) {
            const removal = planRecordRemoval(plan.stack, release, await releaseRecords(api, release));
            if (removal.kind === "blocked") return { kind: "stop", message: removal.message };
            plans.push({ release, records: removal.records });
        }
        for (const { release: r, records } of plans) {
            if (records.length === 0) continue;
            await deleteRecords(api, r, records, (name) => removed.push(name));
            shell.log(
                r.operation === "creating"
                    ? `Helm release ${r.namespace}/${r.name} was being installed: its unfinished record is removed so that it installs again, adopting what it had created.`
                    : `Helm release ${r.namespace}/${r.name} was being upgraded: its unfinished record is removed so that the upgrade runs again from the last deployed revision.`,
            );
        }
    } catch (e) {
        // Never go on to a refresh that cannot reach the cluster: it could drop objects that exist.
        return {
            kind: "stop",
            message: `could not free the Helm releases the interrupted run left in progress (${(e as Error).message}). ${removed.length === 0 ? "Nothing was changed" : `Only these unfinished records were removed: ${removed.join(", ")}`}; check that the cluster answers, then run npm run ${NPM_SCRIPT[plan.action]} -- ${plan.stack} again.`,
        };
    }
    return { kind: "go", clear: true };
}
