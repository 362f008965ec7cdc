/** The end of every run: the final destroy, what it left behind, and what --keep leaves. */
import { decideCluster, KindState } from "../deploy/clusterDecision";
import { kindClusterUrn } from "../deploy/facts";
import { failureReason } from "./events";
import type { E2eBackend, E2ePorts, E2eStack, OpRunner } from "./ports";
import { list } from "./report";

/** Prints how to reach the stack and cluster --keep leaves, and how to remove them. */
export function logKept(log: (line: string) => void, name: string, backend: E2eBackend): void {
    const env = Object.entries(backend.shellEnv)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(" ");
    log(
        [
            `\n--keep: stack ${name} and kind cluster ${name} are left for inspection. From this directory:`,
            `  export ${env}`,
            `  pulumi stack output kubeconfig --show-secrets --stack ${name} > ${name}.kubeconfig`,
            `To remove them afterwards (the same exports):`,
            `  pulumi destroy --yes --remove --stack ${name} && rm -rf ${backend.leftovers.map((l) => JSON.stringify(l)).join(" ")}`,
        ].join("\n"),
    );
}

/**
 * Destroys the stack the way `npm run destroy` does (refreshing first when the cluster is gone), then
 * checks that no kind cluster, no node container and no stack are left. Whatever the destroy left,
 * it removes directly (kind delete cluster, pulumi stack rm --force), and reports the run as failed.
 */
export async function finalDestroy(
    name: string,
    stack: E2eStack | undefined,
    backend: E2eBackend | undefined,
    ports: E2ePorts,
    op: OpRunner,
): Promise<{ ok: boolean; reason: string }> {
    const problems: string[] = [];
    const guarded: OpRunner = (label, run) =>
        op(label, run, { cleanup: true }).catch((e: Error) => ({ outcome: { ok: false, error: e.message }, events: [], seconds: 0 }));
    if (stack) {
        const docker = await ports.machine.docker();
        const kind = docker === "running" ? await ports.machine.kindClusters() : ({ installed: false } as KindState);
        const urn = kindClusterUrn(await stack.resources().catch(() => []));
        const decision = decideCluster(
            "destroy",
            name,
            { mode: "kind", clusterName: name },
            { docker: () => docker, kind: () => kind, clusterUrn: () => urn },
        );
        if (decision.kind === "stop") {
            problems.push(`destroy could not run: ${decision.message}`);
        } else {
            for (const pre of decision.before) {
                ports.log(pre.reason);
                const r = await guarded("refresh (before destroy)", (o) => stack.refresh(o));
                if (!r.outcome.ok) problems.push(`the refresh before destroy failed: ${failureReason(r.events, r.outcome)}`);
            }
            const d = await guarded("destroy --remove", (o) => stack.destroy({ ...o, remove: true }));
            if (!d.outcome.ok) problems.push(`destroy failed: ${failureReason(d.events, d.outcome)}`);
        }
    }
    const leftovers = async (): Promise<{ cluster: boolean; containers: readonly string[]; stack: boolean }> => {
        const k = await ports.machine.kindClusters();
        if (!k.installed || "error" in k)
            problems.push(`could not check for kind cluster ${name}: ${"error" in k ? k.error : "kind is not installed"}`);
        return {
            cluster: k.installed && "clusters" in k && k.clusters.includes(name),
            containers: await ports.machine.kindContainers(name).catch((e: Error) => {
                problems.push(`could not list the node containers of ${name}: ${e.message}`);
                return [];
            }),
            stack: backend ? (await backend.stackNames()).includes(name) : false,
        };
    };
    const left = await leftovers();
    const found = [
        left.cluster ? `kind cluster ${name}` : "",
        left.containers.length > 0 ? `containers ${list(left.containers)}` : "",
        left.stack ? `stack ${name}` : "",
    ].filter((f) => f !== "");
    if (found.length === 0 && problems.length === 0) return { ok: true, reason: "no kind cluster, no node containers and no stack left" };
    if (found.length > 0) {
        problems.push(`left behind: ${found.join(", ")}`);
        if (left.cluster || left.containers.length > 0) await ports.machine.deleteKindCluster(name).catch(() => undefined);
        if (left.stack && backend) await backend.removeStack(name).catch(() => undefined);
        const still = await leftovers();
        const after = [
            still.cluster ? `kind delete cluster --name ${name}` : "",
            still.containers.length > 0 ? `docker rm -f ${still.containers.join(" ")}` : "",
            still.stack ? `pulumi stack rm --force --stack ${name}` : "",
        ].filter((f) => f !== "");
        problems.push(after.length === 0 ? "removed them directly" : `STILL LEFT, remove by hand: ${after.join("; ")}`);
    }
    return { ok: false, reason: problems.join("; ") };
}
