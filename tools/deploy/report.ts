/** After a deploy: where the time went, from the event log, the state and the predicted path. */
import { analyzeTimings, dependenciesFromState, parseEventLog, PredictedPath, renderTimings } from "../timing";
import { stateResources } from "./facts";
import type { Plan, Step } from "./plan";
import type { Shell } from "./shell";

export async function reportTimings(
    plan: Plan,
    step: Extract<Step, { kind: "timings" }>,
    shell: Shell,
    predict: ((stack: string) => Promise<PredictedPath>) | undefined,
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
    shell.writeFile(step.out, `${JSON.stringify({ stack: plan.stack, eventLog: step.eventLog, ...timings }, null, 2)}\n`);
    shell.log(`Timings written to ${step.out}; the engine's events are in ${step.eventLog}.`);
}
