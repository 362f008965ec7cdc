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

/**
 * Runs `f` without the runtime's warnings about stack outputs left undefined (an addon that is off),
 * which say nothing about a mock run and would read, after a deploy, as if they were the deploy's.
 */
async function quietly<T>(f: () => Promise<T>): Promise<T> {
    const warn = console.warn;
    console.warn = (...args: unknown[]): void => {
        if (typeof args[0] === "string" && args[0].startsWith("warning: [runtime] Undefined value")) return;
        warn(...args);
    };
    try {
        return await f();
    } finally {
        console.warn = warn;
    }
}

/** The critical path `npm run graph -- <env>` predicts, with the graph steps it runs through. */
export async function predictedPath(env: string): Promise<PredictedPath> {
    const run = await quietly(() => runStack(env, placeholderSecrets(env).extra, { secretKeys: placeholderSecrets(env).secretKeys }));
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
    const first = await quietly(() => runStack(env, before));
    const second = await quietly(() => runStack(env, after));
    return changedResources(first.resources, second.resources);
}
