/**
 * Where the time of a `pulumi up` went, from the engine's own events: how long each step took,
 * the measured critical path (the chain of steps, each waiting for the one before it, that spans
 * the run), and how it compares with the critical path `npm run graph` predicts. Pure, so it is
 * tested on recorded event sequences; tools/deploy/report.ts runs it after `npm run deploy`, and the
 * e2e runner after its fresh `up`.
 *
 * The events are the CLI's `--event-log` lines, which are also what the Automation API's
 * `onEvent` delivers (pulumi/pulumi sdk/nodejs/automation/stack.ts tails that same file). Each
 * custom resource's step emits a resourcePreEvent when it starts and a resOutputsEvent (or a
 * resOpFailedEvent) when it ends (pkg/engine/update.go, OnResourceStepPre/OnResourceStepPost); a
 * refresh reports its result op (`delete` for an object that is gone) on the outputs event only.
 * Timestamps are whole seconds (sdk/go/common/apitype/events.go), so every duration here is too.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { StackGraph } from "./graphModel";

/** One step of the engine: a resource's create, update, delete, replace half, refresh or no-op. */
export interface StepTiming {
    readonly urn: string;
    /** The resource's logical name (the last part of its URN). */
    readonly name: string;
    readonly type: string;
    /** The step's operation, as announced when it started. */
    readonly op: string;
    /** Seconds after the operation began. */
    readonly start: number;
    /** Seconds after the operation began; for an unfinished step, when the operation ended. */
    readonly end: number;
    readonly seconds: number;
    readonly result: "done" | "failed" | "unfinished";
    /** Whether a provider does the work (components only group their children). */
    readonly custom: boolean;
}

/** A step on the measured critical path. */
export interface PathLink extends StepTiming {
    /** Seconds between the end of the link before (or the start of the operation) and this step's start. */
    readonly waited: number;
}

/** What the dependency graph predicts, from `npm run graph`'s model (tools/graphModel.ts). */
export interface PredictedPath {
    /** Resource names on the predicted critical path, in order. */
    readonly criticalPath: readonly string[];
    /** The graph step (a resource, or resources of one kind grouped) each resource name belongs to. */
    readonly stepOf: Readonly<Record<string, string>>;
    /** Names of the resources whose creation blocks until something is ready. */
    readonly blocking: readonly string[];
}

/** The measured critical path beside the predicted one, compared by graph step. */
export interface PathComparison {
    readonly predicted: readonly string[];
    /** The blocking steps of the measured path, named as the graph names them. */
    readonly measured: readonly string[];
    /** Whether both pass through the same graph steps in the same order. */
    readonly agrees: boolean;
    /** Graph steps on the predicted path that the measured one did not pass through. */
    readonly onlyPredicted: readonly string[];
    /** Graph steps on the measured path that the prediction did not name. */
    readonly onlyMeasured: readonly string[];
    /** Where both pass through one graph step by different members of it (the slowest of the group, measured). */
    readonly substitutions: readonly { readonly step: string; readonly predicted: string; readonly measured: string }[];
}

/** The analysis of one operation. */
export interface Timings {
    /** Unix time (seconds) of the operation's first event. */
    readonly startedAt: number;
    readonly wallSeconds: number;
    readonly result: "succeeded" | "failed" | "cancelled" | "incomplete";
    /** Every step, in the order they started. */
    readonly steps: readonly StepTiming[];
    /** The longest steps of providers (components excluded), longest first. */
    readonly slowest: readonly StepTiming[];
    /** The measured critical path, first step first. */
    readonly criticalPath: readonly PathLink[];
    /** Seconds from the operation's start to the end of the critical path's last step. */
    readonly criticalSeconds: number;
    readonly comparison?: PathComparison;
}

/** A resource as `pulumi stack export` records it: enough to know what it waited for. */
export interface StateResource {
    readonly urn: string;
    readonly type: string;
    readonly custom?: boolean;
    readonly parent?: string;
    readonly dependencies?: readonly string[];
    /** Provider reference, `urn::id`. */
    readonly provider?: string;
}

/** Parses an `--event-log` file (one JSON engine event per line); a line cut off by an interruption is skipped. */
export function parseEventLog(text: string): EngineEvent[] {
    const events: EngineEvent[] = [];
    for (const line of text.split("\n")) {
        if (line.trim() === "") continue;
        try {
            events.push(JSON.parse(line) as EngineEvent);
        } catch {
            // The CLI appends whole lines; only the last can be partial, when the run was killed.
        }
    }
    return events.sort((a, b) => a.sequence - b.sequence);
}

/** The logical name in a URN: `urn:pulumi:<stack>::<project>::<type>::<name>`. */
export function urnName(urn: string): string {
    return urn.slice(urn.lastIndexOf("::") + 2);
}

function providerUrn(ref: string | undefined): string | undefined {
    // `urn::id`: the id follows the last `::`.
    return ref && ref.includes("::") ? ref.slice(0, ref.lastIndexOf("::")) : undefined;
}

/** What each resource waited for, from the state: its dependencies and its provider. */
export function dependenciesFromState(resources: readonly StateResource[]): Map<string, string[]> {
    const deps = new Map<string, string[]>();
    for (const r of resources) {
        const p = providerUrn(r.provider);
        deps.set(r.urn, [...(r.dependencies ?? []), ...(p ? [p] : [])]);
    }
    return deps;
}

/** The prediction of a graph built by tools/graphModel.ts's buildGraph. */
export function predictedFromGraph(graph: StackGraph): PredictedPath {
    const stepOf: Record<string, string> = {};
    for (const s of graph.steps) for (const m of s.members) stepOf[m] = s.id;
    // chainTo ends with the resource itself exactly when the resource is a blocking wait.
    const blocking = [...graph.chainTo].filter(([name, chain]) => chain[chain.length - 1] === name).map(([name]) => name);
    return { criticalPath: [...graph.criticalPath], stepOf, blocking: blocking.sort() };
}

interface OpenStep {
    readonly urn: string;
    readonly type: string;
    readonly op: string;
    readonly startSeq: number;
    readonly start: number;
    readonly custom: boolean;
    readonly parent?: string;
    readonly provider?: string;
    endSeq?: number;
    end?: number;
    result: StepTiming["result"];
}

/**
 * Analyses one operation's events: durations per step, the slowest steps, and the measured
 * critical path. Going back from the step that ended last, each link's predecessor is the step it
 * waited for that ended last before it started: among its dependencies in the state when they are
 * given (`dependencies`, from `pulumi stack export`), else among every step that had ended by then.
 */
export function analyzeTimings(
    events: readonly EngineEvent[],
    options: { dependencies?: ReadonlyMap<string, readonly string[]>; predicted?: PredictedPath; top?: number } = {},
): Timings {
    const sorted = [...events].sort((a, b) => a.sequence - b.sequence);
    if (sorted.length === 0) {
        return { startedAt: 0, wallSeconds: 0, result: "incomplete", steps: [], slowest: [], criticalPath: [], criticalSeconds: 0 };
    }
    const t0 = sorted.find((e) => e.preludeEvent)?.timestamp ?? sorted[0].timestamp;
    const tEnd = sorted.find((e) => e.summaryEvent)?.timestamp ?? sorted[sorted.length - 1].timestamp;
    const steps: OpenStep[] = [];
    const open = new Map<string, OpenStep[]>();
    let failed = false;
    let cancelled = false;
    for (const e of sorted) {
        if (e.resourcePreEvent && !e.resourcePreEvent.planning) {
            const m = e.resourcePreEvent.metadata;
            const state = m.new ?? m.old;
            const s: OpenStep = {
                urn: m.urn,
                type: m.type,
                op: m.op,
                startSeq: e.sequence,
                start: e.timestamp - t0,
                custom: state?.custom === true,
                parent: state?.parent || undefined,
                provider: providerUrn(m.provider || state?.provider),
                result: "unfinished",
            };
            steps.push(s);
            open.set(m.urn, [...(open.get(m.urn) ?? []), s]);
        }
        const ended = e.resOutputsEvent?.planning ? undefined : (e.resOutputsEvent ?? e.resOpFailedEvent);
        if (ended) {
            // A URN has one step in flight at a time (a replacement's halves run one after the other).
            const queue = open.get(ended.metadata.urn) ?? [];
            const s = queue.shift();
            if (s) {
                s.endSeq = e.sequence;
                s.end = e.timestamp - t0;
                s.result = e.resOpFailedEvent ? "failed" : "done";
            }
        }
        if (e.resOpFailedEvent || e.diagnosticEvent?.severity === "error") failed = true;
        if (e.stdoutEvent && /(\^C|SIGTERM) received; cancelling/.test(e.stdoutEvent.message)) cancelled = true;
    }
    const wall = tEnd - t0;
    const timed: StepTiming[] = steps.map((s) => {
        const end = s.end ?? wall;
        return {
            urn: s.urn,
            name: urnName(s.urn),
            type: s.type,
            op: s.op,
            start: s.start,
            end,
            seconds: end - s.start,
            result: s.result,
            custom: s.custom,
        };
    });
    const timingOf = new Map(steps.map((s, i) => [s, timed[i]]));

    const real = steps.filter((s) => s.custom);
    const slowest = real
        .map((s) => timingOf.get(s)!)
        .sort((a, b) => b.seconds - a.seconds || a.start - b.start)
        .slice(0, options.top ?? 10);

    const path = criticalPath(real, steps, options.dependencies, (s) => timingOf.get(s)!);
    const links: PathLink[] = path.map((s, i) => {
        const t = timingOf.get(s)!;
        const before = i === 0 ? 0 : timingOf.get(path[i - 1])!.end;
        return { ...t, waited: Math.max(0, t.start - before) };
    });
    const result = cancelled ? "cancelled" : failed ? "failed" : sorted.some((e) => e.summaryEvent) ? "succeeded" : "incomplete";
    const parentOf = new Map(steps.map((s) => [s.urn, s.parent]));
    return {
        startedAt: t0,
        wallSeconds: wall,
        result,
        steps: timed,
        slowest,
        criticalPath: links,
        criticalSeconds: links.length > 0 ? links[links.length - 1].end : 0,
        comparison: options.predicted ? compare(links, options.predicted, parentOf) : undefined,
    };
}

function criticalPath(
    real: readonly OpenStep[],
    all: readonly OpenStep[],
    dependencies: ReadonlyMap<string, readonly string[]> | undefined,
    timing: (s: OpenStep) => StepTiming,
): OpenStep[] {
    if (real.length === 0) return [];
    const endSeq = (s: OpenStep): number => s.endSeq ?? Number.MAX_SAFE_INTEGER;
    const later = (a: OpenStep, b: OpenStep): boolean =>
        timing(a).end > timing(b).end || (timing(a).end === timing(b).end && endSeq(a) > endSeq(b));
    let last = real[0];
    for (const s of real) if (later(s, last)) last = s;

    // Waiting on a component means waiting on everything in it.
    const children = new Map<string, OpenStep[]>();
    for (const s of all) if (s.parent) children.set(s.parent, [...(children.get(s.parent) ?? []), s]);
    const within = (urn: string, seen = new Set<string>()): OpenStep[] => {
        if (seen.has(urn)) return [];
        seen.add(urn);
        return (children.get(urn) ?? []).flatMap((c) => (c.custom ? [c] : []).concat(within(c.urn, seen)));
    };
    const byUrn = new Map<string, OpenStep[]>();
    for (const s of real) byUrn.set(s.urn, [...(byUrn.get(s.urn) ?? []), s]);

    const chain = [last];
    for (let current = last; ; ) {
        const deps = dependencies?.get(current.urn);
        const pool = deps
            ? [
                  ...deps.flatMap((d) => [...(byUrn.get(d) ?? []), ...within(d)]),
                  ...(current.provider ? (byUrn.get(current.provider) ?? []) : []),
                  // the first half of a replacement
                  ...(byUrn.get(current.urn) ?? []),
              ]
            : real;
        let pick: OpenStep | undefined;
        for (const c of pool) {
            if (c === current || c.endSeq === undefined || c.endSeq > current.startSeq) continue;
            if (!pick || later(c, pick)) pick = c;
        }
        if (!pick || chain.includes(pick)) break;
        chain.unshift(pick);
        current = pick;
    }
    return chain;
}

function compare(links: readonly PathLink[], predicted: PredictedPath, parentOf: ReadonlyMap<string, string | undefined>): PathComparison {
    const blocking = new Set(predicted.blocking);
    // A step the graph does not know (a CRD of the Gateway API bundle, say) counts as its nearest known ancestor.
    const graphName = (urn: string): string | undefined => {
        for (let u: string | undefined = urn; u; u = parentOf.get(u)) {
            if (predicted.stepOf[urnName(u)] !== undefined) return urnName(u);
        }
        return undefined;
    };
    const measuredNames: string[] = [];
    for (const l of links) {
        const n = graphName(l.urn);
        if (n && blocking.has(n) && measuredNames[measuredNames.length - 1] !== n) measuredNames.push(n);
    }
    const stepIds = (names: readonly string[]): string[] =>
        names.map((n) => predicted.stepOf[n] ?? n).filter((id, i, all) => i === 0 || all[i - 1] !== id);
    const p = stepIds(predicted.criticalPath);
    const m = stepIds(measuredNames);
    const substitutions: PathComparison["substitutions"][number][] = [];
    for (const name of measuredNames) {
        const step = predicted.stepOf[name];
        const other = predicted.criticalPath.find((n) => predicted.stepOf[n] === step);
        if (other !== undefined && other !== name) substitutions.push({ step, predicted: other, measured: name });
    }
    return {
        predicted: predicted.criticalPath,
        measured: measuredNames,
        agrees: p.length === m.length && p.every((id, i) => id === m[i]),
        onlyPredicted: p.filter((id) => !m.includes(id)),
        onlyMeasured: m.filter((id) => !p.includes(id)),
        substitutions,
    };
}

/** `2m03s`, `45s`, `1h02m`. */
export function formatDuration(seconds: number): string {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** The human report: slowest steps, the measured critical path, and the comparison with the predicted one. */
export function renderTimings(t: Timings, title: string): string {
    const lines = [`Where the time went: ${title}, ${t.result} after ${formatDuration(t.wallSeconds)}.`];
    if (t.steps.length === 0) return `${lines[0]} The engine reported no steps.`;
    const width = Math.max(...t.slowest.map((s) => s.name.length), ...t.criticalPath.map((s) => s.name.length), 8);
    lines.push("", "Slowest steps:");
    for (const s of t.slowest) {
        const note = s.result === "done" ? "" : ` (${s.result})`;
        lines.push(`  ${formatDuration(s.seconds).padStart(6)}  ${s.op.padEnd(18)} ${s.name.padEnd(width)}  ${s.type}${note}`);
    }
    lines.push(
        "",
        `Measured critical path: ${formatDuration(t.criticalSeconds)} of ${formatDuration(t.wallSeconds)}, each step waiting for the one above it` +
            ` (the rest is the program starting and the outputs):`,
    );
    for (const [i, l] of t.criticalPath.entries()) {
        const after = i === 0 ? "the operation began" : "the step above ended";
        const waited = l.waited > 0 ? `  (started ${formatDuration(l.waited)} after ${after})` : "";
        lines.push(
            `  at ${formatDuration(l.start).padStart(6)}  ${l.name.padEnd(width)}  ${formatDuration(l.seconds).padStart(6)}${waited}`,
        );
    }
    const c = t.comparison;
    if (c) {
        lines.push("", `Predicted critical path (npm run graph): ${c.predicted.join(" → ")}`);
        lines.push(`Measured, its blocking steps:            ${c.measured.join(" → ")}`);
        if (c.agrees) {
            lines.push("The measured path runs through the same graph steps as the predicted one.");
        } else {
            const parts = [
                c.onlyMeasured.length > 0 ? `it ran through ${c.onlyMeasured.join(", ")}, which the graph did not predict` : "",
                c.onlyPredicted.length > 0 ? `the predicted ${c.onlyPredicted.join(", ")} was not on it` : "",
            ].filter((p) => p !== "");
            lines.push(
                `The measured path differs from the prediction: ${parts.length > 0 ? parts.join("; ") : "the same steps, in another order"}.`,
            );
        }
        for (const s of c.substitutions) {
            lines.push(`In ${s.step} the graph names ${s.predicted}; the one that took longest here was ${s.measured}.`);
        }
    }
    return lines.join("\n");
}
