/** After a deploy: where the time went, from the event log, the state and the predicted path. */
import { analyzeTimings, dependenciesFromState, parseEventLog, PredictedPath, renderTimings } from "../timing";
import { listCaches } from "../cache";
import { PullReport, pullReport, pullsFromEvents, renderPulls, upstreamFetches } from "../pulls";
import { stateResources } from "./facts";
import type { Plan, Step } from "./plan";
import type { Shell } from "./shell";

export async function reportTimings(
    plan: Plan,
    step: Extract<Step, { kind: "timings" }>,
    shell: Shell,
    predict: ((stack: string) => Promise<PredictedPath>) | undefined,
    kindCluster?: string,
): Promise<void> {
    const log = shell.readFile(step.eventLog);
    if (log === undefined) return;
    const exported = shell.capture(step.exportArgv, plan.env);
    const dependencies = exported.status === 0 ? dependenciesFromState(stateResources(exported.stdout)) : undefined;
    let predicted: PredictedPath | undefined;
    try {
        predicted = predict ? await predict(plan.stack) : undefined;
    } catch (e) {
        shell.log(`(no predicted critical path: npm run graph -- ${plan.stack} failed: ${(e as Error).message})`);
    }
    const timings = analyzeTimings(parseEventLog(log), { dependencies, predicted });
    shell.log(`\n${renderTimings(timings, `pulumi up of ${plan.stack}`)}`);
    let pulls: PullReport | undefined;
    try {
        pulls = kindCluster ? kindPulls(shell, plan.env, kindCluster, timings.startedAt) : undefined;
    } catch {
        // A report, never a step that can fail the deploy: without the cluster's answer it leaves the pulls out.
        pulls = undefined;
    }
    if (pulls) shell.log(`\n${renderPulls(pulls)}`);
    shell.writeFile(step.out, `${JSON.stringify({ stack: plan.stack, eventLog: step.eventLog, ...timings, pulls }, null, 2)}\n`);
    shell.log(`Timings written to ${step.out}; the engine's events are in ${step.eventLog}.`);
}

/** The kubelet's image pull events in a kind cluster, through its control-plane node's own kubectl. */
export function pulledEventsArgv(cluster: string): string[] {
    return [
        "docker",
        "exec",
        `${cluster}-control-plane`,
        "kubectl",
        "--kubeconfig=/etc/kubernetes/admin.conf",
        "get",
        "events",
        "--all-namespaces",
        "--field-selector",
        "reason=Pulled",
        "--output",
        "json",
    ];
}

/**
 * What a deploy on a kind cluster spent on pulls since `since` (Unix seconds): the kubelet's
 * events, and what the image caches fetched from upstream meanwhile. Undefined when the cluster
 * did not answer; the caches are left out when Docker could not list them.
 */
export function kindPulls(shell: Shell, env: Record<string, string>, cluster: string, since: number): PullReport | undefined {
    const events = shell.capture(pulledEventsArgv(cluster), env);
    if (events.status !== 0) return undefined;
    let upstream: ReturnType<typeof upstreamFetches> | undefined;
    try {
        const caches = listCaches({ capture: (argv) => shell.capture(argv, env), log: (l) => shell.log(l) }).flatMap((c) =>
            c.snapshot ? [{ registry: c.registry, snapshot: c.snapshot }] : [],
        );
        upstream = caches.length > 0 ? upstreamFetches(caches, since) : undefined;
    } catch {
        upstream = undefined;
    }
    return pullReport(pullsFromEvents(events.stdout, since), upstream);
}
