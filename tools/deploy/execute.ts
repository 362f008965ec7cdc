/**
 * Runs a plan's steps against a {@link Shell}: the cluster check, the recovery of an interrupted
 * run, the action with whatever refresh the check asked for, and the timing report. Tested with
 * a fake shell in test/tools/deploy/execute.test.ts.
 */
import type { KubeApi } from "../../components/probe";
import type { PredictedPath } from "../timing";
import { ClusterDecision, clusterTarget, ClusterTarget, decideCluster, PreAction } from "./clusterDecision";
import { dockerState, kindClusterUrn, kindState, stateResources } from "./facts";
import { decideLocks, parseLock } from "./locks";
import { clearPendingArgv } from "./pendingCreates";
import { NPM_SCRIPT, Plan, refreshArgv, Step } from "./plan";
import { resolvePendingCreates } from "./recovery";
import { reportTimings } from "./report";
import type { Shell } from "./shell";

/** Runs a plan's steps in order; the exit status. */
export async function executePlan(
    plan: Plan,
    shell: Shell,
    options: {
        projectDefaults: { clusterMode?: string; clusterName?: string };
        predict?: (stack: string) => Promise<PredictedPath>;
        /** A Kubernetes API client for a kubeconfig: to free the names of interrupted Helm releases, and to see that a cluster answers. */
        kube?: (kubeconfig: string, context?: string) => Promise<KubeApi>;
        /** How long to wait for a listed kind cluster's API server before a refresh. @default 20 tries, 3 s apart */
        apiWait?: { readonly tries: number; readonly sleep: (ms: number) => Promise<void> };
    },
): Promise<number> {
    let before: PreAction[] = [];
    let replace: readonly string[] = [];
    let clearPending = false;
    let status = 0;
    /** A kind stack whose cluster `kind get clusters` lists: what reaches it needs its API server to answer. */
    let listedKind: string | undefined;
    /** A kind stack whose cluster kind does not list: there is no cluster to reach, and none to wait for. */
    let absentKind = false;
    // The kind cluster whose image pulls the timing report counts.
    let kindCluster: string | undefined;
    const answers = async (): Promise<boolean> =>
        listedKind === undefined ? true : kindApiAnswers(listedKind, plan, shell, options.kube, options.apiWait);
    const notAnswering = (name: string): string =>
        `kind lists cluster ${name}, but its API server does not answer: its containers are stopped or still starting (docker ps -a --filter name=${name}). A refresh now would take the stack's objects for deleted (deleteUnreachable) and drop them from the state. Start them (docker start ${name}-control-plane) or wait a moment, then run npm run ${NPM_SCRIPT[plan.action]} -- ${plan.stack} again.`;
    for (const step of plan.steps) {
        switch (step.kind) {
            case "command": {
                shell.log(`> ${step.argv.join(" ")}`);
                const s = await shell.run(step.argv, plan.env);
                if (s !== 0) return s;
                break;
            }
            case "lock-check": {
                const locks = step.dirs.flatMap((dir) => shell.jsonFiles(dir)).map((f) => parseLock(f, shell.readFile(f) ?? ""));
                const decision = decideLocks(
                    locks,
                    { hostname: shell.hostname(), alive: (pid) => shell.pidAlive(pid) },
                    plan.stack,
                    `npm run ${NPM_SCRIPT[plan.action]} -- ${plan.stack}`,
                );
                if (decision.kind === "held") {
                    shell.log(`error: ${decision.message}`);
                    return 1;
                }
                if (decision.kind === "stale") {
                    shell.log(decision.message);
                    for (const f of decision.files) shell.removeFile(f);
                }
                break;
            }
            case "cluster-check": {
                const { decision, target } = checkCluster(plan, step, shell, options.projectDefaults);
                if (decision.kind === "stop") {
                    shell.log(`error: ${decision.message}`);
                    return 1;
                }
                for (const note of decision.notes) shell.log(note);
                before = [...decision.before];
                replace = decision.replace;
                if (target?.mode === "kind") {
                    kindCluster = target.clusterName;
                    if (decision.awaitApi) listedKind = target.clusterName;
                    else absentKind = true;
                }
                if ((plan.action === "refresh" || plan.action === "destroy") && listedKind && !(await answers())) {
                    shell.log(`error: ${notAnswering(listedKind)}`);
                    return 1;
                }
                break;
            }
            case "pending-creates": {
                // Freeing releases and clearing pending operations needs the cluster, unless it is gone and rebuilt.
                const live = async (): Promise<string | undefined> =>
                    listedKind && !(await answers()) ? notAnswering(listedKind) : undefined;
                const result = await resolvePendingCreates(plan, step, shell, options.kube, absentKind, before.length > 0, live);
                if (result.kind === "stop") {
                    shell.log(`error: ${result.message}`);
                    return 1;
                }
                clearPending = result.clear;
                // The refresh that drops them: the one the cluster check planned, or one of its own.
                if (clearPending && before.length === 0) {
                    before = [{ kind: "refresh", reason: "the interrupted run's pending operations go from the state" }];
                }
                break;
            }
            case "action": {
                for (const pre of before) {
                    const argv = clearPending ? clearPendingArgv(plan.stack) : refreshArgv(plan.stack);
                    shell.log(`${pre.reason}.\n> ${argv.join(" ")}`);
                    const s = await shell.run(argv, plan.env);
                    if (s !== 0) return s;
                }
                const argv = [...step.argv, ...replace.flatMap((urn) => ["--replace", urn])];
                shell.log(`> ${argv.join(" ")}`);
                status = await shell.run(argv, plan.env);
                if (status !== 0 && plan.action !== "up") return status;
                break;
            }
            case "timings":
                await reportTimings(plan, step, shell, options.predict, kindCluster);
                break;
            default: {
                const never: never = step;
                throw new Error(`unknown step ${JSON.stringify(never)}`);
            }
        }
    }
    return status;
}

/**
 * Whether a listed kind cluster's API server answers (`/readyz`), retried while Docker may still
 * be starting its containers. `kind get clusters` lists stopped clusters too (kind
 * pkg/cluster/internal/providers/docker/provider.go, ListClusters: `docker ps -a`).
 */
async function kindApiAnswers(
    name: string,
    plan: Plan,
    shell: Shell,
    kube: ((kubeconfig: string, context?: string) => Promise<KubeApi>) | undefined,
    wait: { readonly tries: number; readonly sleep: (ms: number) => Promise<void> } = {
        tries: 20,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    },
): Promise<boolean> {
    if (!kube) return false;
    for (let attempt = 1; attempt <= wait.tries; attempt++) {
        const kubeconfig = shell.capture(["kind", "get", "kubeconfig", "--name", name], plan.env);
        if (kubeconfig.status === 0) {
            try {
                const api = await kube(kubeconfig.stdout);
                if ((await api.request("GET", "/readyz")).status === 200) return true;
            } catch {
                // not answering yet
            }
        }
        if (attempt < wait.tries) await wait.sleep(3000);
    }
    return false;
}

function checkCluster(
    plan: Plan,
    step: Extract<Step, { kind: "cluster-check" }>,
    shell: Shell,
    defaults: { clusterMode?: string; clusterName?: string },
): { decision: ClusterDecision; target?: ClusterTarget } {
    const config = shell.capture(step.configArgv, plan.env);
    if (config.status !== 0)
        return {
            decision: {
                kind: "stop",
                message: `could not read the stack's config (${step.configArgv.join(" ")}): ${config.stderr.trim()}`,
            },
        };
    let target: ClusterTarget;
    try {
        target = clusterTarget(config.stdout, defaults);
    } catch (e) {
        return { decision: { kind: "stop", message: (e as Error).message } };
    }
    const once = <T>(f: () => T): (() => T) => {
        let value: { v: T } | undefined;
        return () => (value ??= { v: f() }).v;
    };
    const decision = decideCluster(plan.action, plan.stack, target, {
        docker: once(() => dockerState(shell.capture(["docker", "info"], plan.env))),
        kind: once(() => kindState(shell.capture(["kind", "get", "clusters"], plan.env))),
        clusterUrn: once(() => {
            const exported = shell.capture(step.exportArgv, plan.env);
            return exported.status === 0 ? kindClusterUrn(stateResources(exported.stdout)) : undefined;
        }),
    });
    return { decision, target };
}
