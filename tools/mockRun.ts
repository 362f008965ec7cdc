/**
 * What the program registers under Pulumi's mocks, for the developer commands: the critical path
 * `npm run graph` predicts (beside which `npm run deploy` and `npm run e2e` print the measured
 * one), and which resources a config change touches (the e2e runner's expectation for its routing
 * change). Needs no cluster, no CLI and no state.
 */
import { placeholderSecrets, runStack } from "../test/harness";
import { buildGraph } from "./graphModel";
import { predictedFromGraph, PredictedPath } from "./timing";

/** A registered resource as the comparison needs it. */
export interface RegisteredInputs {
    readonly type: string;
    readonly name: string;
    readonly inputs: unknown;
}

/** The critical path `npm run graph -- <env>` predicts, with the graph steps it runs through. */
export async function predictedPath(env: string): Promise<PredictedPath> {
    const run = await runStack(env, placeholderSecrets(env).extra, { secretKeys: placeholderSecrets(env).secretKeys });
    return predictedFromGraph(buildGraph(run.resources));
}

/**
 * The resources (`<type>::<name>`) whose inputs differ between two registrations of the program,
 * or that only one of them has: what an `up` from the first config to the second may touch. That
 * includes components, whose args are their inputs (sdk/nodejs/resource.ts, ComponentResource) and
 * which the engine updates when those differ (pkg/resource/deploy/step_generator.go, diff: no
 * provider, so "diffs exist" unless the inputs are equal).
 */
export function changedResources(before: readonly RegisteredInputs[], after: readonly RegisteredInputs[]): string[] {
    const key = (r: RegisteredInputs): string => `${r.type}::${r.name}`;
    const old = new Map(before.map((r) => [key(r), JSON.stringify(r.inputs)]));
    const now = new Map(after.map((r) => [key(r), JSON.stringify(r.inputs)]));
    const changed = new Set<string>();
    for (const [k, v] of now) if (old.get(k) !== v) changed.add(k);
    for (const k of old.keys()) if (!now.has(k)) changed.add(k);
    return [...changed].sort();
}

/** The resources an `up` from config `before` to config `after` of an environment should touch. */
export async function expectedChanges(env: string, before: Record<string, unknown>, after: Record<string, unknown>): Promise<string[]> {
    const first = await runStack(env, before);
    const second = await runStack(env, after);
    return changedResources(first.resources, second.resources);
}
