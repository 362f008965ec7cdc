/**
 * The e2e scenario of the image caches: once the other scenarios have run, destroy the stack and
 * create it again, with the caches the fresh (cold) up filled, and compare the two ups. Its proof comes from the caches' own
 * records (tools/cache/records.ts): a blob's data file appears in a cache's storage when the cache
 * fetched it from upstream (distribution v3.0.0 registry/proxy/proxyblobstore.go stores a blob
 * only on a miss, and serves a stored one from storage), so a blob fetched again would show as a
 * newer file; the proxy's own counters say how many blobs it fetched in all. The verdict is pure.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { type CacheRecords, formatBytes } from "../cache/records";
import { pullReport, type PullReport, pullsFromEvents } from "../pulls";
import { analyzeTimings, formatDuration } from "../timing";
import { failureReason, verificationRan } from "./events";
import { list } from "./report";
import { fail } from "./failure";
import type { E2eMachine, E2eStack, OpRunner } from "./ports";

export type { CacheRecords };

/** What the scenario uses of the runner's context (tools/e2e/scenarios.ts ScenarioContext has it all). */
export interface WarmCacheContext {
    readonly name: string;
    readonly env: string;
    readonly outDir: string;
    readonly machine: Pick<E2eMachine, "imageCaches" | "pulledEvents">;
    readonly op: OpRunner;
    stack(): E2eStack;
    up(label: string): Promise<EngineEvent[]>;
    clusterExists(): Promise<boolean>;
    writeFile(file: string, content: string): void;
}

/** The goal of the issue that made the caches: a warm re-creation at most half the cold one. */
export const WARM_COLD_GOAL = 0.5;

/** What the verdict weighs. */
export interface WarmCacheInput {
    /** The cold up: its start (Unix seconds) and wall time. */
    readonly cold: { readonly startedAt: number; readonly seconds: number };
    /** The warm up's wall time. */
    readonly warmSeconds: number;
    /** The caches after the cold up, before the destroy. */
    readonly before: readonly CacheRecords[];
    /** The caches after the warm up. */
    readonly after: readonly CacheRecords[];
    /** What the kubelet pulled in the warm up. */
    readonly warmPulls: PullReport;
}

/** The verdict, with the numbers the report and its JSON carry. */
export interface WarmCacheVerdict {
    readonly ok: boolean;
    readonly reason: string;
    readonly ratio: number;
    readonly goalMet: boolean;
    /** Blobs the caches held before the warm up, and how many of them they fetched since the cold up began. */
    readonly held: { readonly blobs: number; readonly bytes: number; readonly fetchedSinceColdUp: number };
    /** Blobs fetched from upstream again in the warm up, though the caches held them: the failure. */
    readonly refetched: readonly { readonly registry: string; readonly digest: string }[];
    /** Blobs new in the warm up (content the cold up never asked for, such as a tag that moved). */
    readonly fresh: { readonly blobs: number; readonly bytes: number };
    /** Upstream fetches the counters saw beyond the blobs stored (concurrent requests for a blob not yet stored); undefined without counters. */
    readonly unstored?: number;
}

/** Weighs a warm re-creation against the cold up, from the caches' records and the kubelet's pulls. */
export function warmCacheVerdict(i: WarmCacheInput): WarmCacheVerdict {
    const ratio = i.cold.seconds > 0 ? i.warmSeconds / i.cold.seconds : Number.POSITIVE_INFINITY;
    const goalMet = ratio <= WARM_COLD_GOAL;
    const refetched: { registry: string; digest: string }[] = [];
    let heldBlobs = 0;
    let heldBytes = 0;
    let fetchedSinceColdUp = 0;
    let freshBlobs = 0;
    let freshBytes = 0;
    let unstored: number | undefined = 0;
    for (const b of i.before) {
        const after = i.after.find((a) => a.registry === b.registry)?.snapshot;
        const was = new Map(b.snapshot.blobs.map((x) => [x.digest, x.fetchedAt]));
        heldBlobs += b.snapshot.blobs.length;
        heldBytes += b.snapshot.blobs.reduce((n, x) => n + x.bytes, 0);
        fetchedSinceColdUp += b.snapshot.blobs.filter((x) => x.fetchedAt >= i.cold.startedAt).length;
        let stored = 0;
        for (const x of after?.blobs ?? []) {
            const at = was.get(x.digest);
            if (at === undefined) {
                freshBlobs++;
                freshBytes += x.bytes;
                stored++;
            } else if (x.fetchedAt > at) {
                refetched.push({ registry: b.registry, digest: x.digest });
                stored++;
            }
        }
        // The counters restart with the container: a smaller count afterwards says nothing.
        const c0 = b.snapshot.counters;
        const c1 = after?.counters;
        if (unstored !== undefined && c0 && c1 && c1.misses >= c0.misses) unstored += Math.max(0, c1.misses - c0.misses - stored);
        else unstored = undefined;
    }
    const timing = `re-created in ${formatDuration(i.warmSeconds)} beside the cold up's ${formatDuration(i.cold.seconds)}: ratio ${ratio.toFixed(2)} (goal ≤ ${WARM_COLD_GOAL}: ${goalMet ? "met" : "not met"})`;
    const base = {
        ratio,
        goalMet,
        held: { blobs: heldBlobs, bytes: heldBytes, fetchedSinceColdUp },
        refetched,
        fresh: { blobs: freshBlobs, bytes: freshBytes },
        unstored,
    };
    if (i.before.length === 0) {
        return { ...base, ok: false, reason: "there are no image caches on this machine: the stack made none (is kind.imageCache off?)" };
    }
    if (i.warmPulls.pulls.length === 0) {
        return {
            ...base,
            ok: false,
            reason: "the re-creation pulled no image (no Pulled event of the kubelet), so it shows nothing about the caches",
        };
    }
    if (refetched.length > 0) {
        return {
            ...base,
            ok: false,
            reason: `${timing}; but the caches fetched again from upstream ${refetched.length} blobs they already held: ${list(refetched.map((r) => `${r.registry} ${r.digest.slice(0, 19)}`))}`,
        };
    }
    const notes = [
        `the kubelet pulled ${i.warmPulls.pulls.length} images (${formatBytes(i.warmPulls.bytes)}) and the caches fetched none of the ${heldBlobs} blobs (${formatBytes(heldBytes)}) they held from upstream again`,
        freshBlobs > 0 ? `${freshBlobs} blobs (${formatBytes(freshBytes)}) were new to them` : "",
        unstored === undefined
            ? "their counters restarted, so this rests on their storage alone"
            : unstored > 0
              ? `${unstored} more upstream fetches of blobs not yet stored`
              : "",
        fetchedSinceColdUp === 0
            ? "the caches were warm before the fresh up (they fetched nothing since), so the ratio compares two warm creations"
            : "",
    ].filter((n) => n !== "");
    return { ...base, ok: true, reason: `${timing}; ${notes.join("; ")}` };
}

/**
 * The scenario: the caches' records, destroy, the warm up, the records again, the kubelet's pulls;
 * then the verdict, written as JSON beside the report. `coldUp` hands over the fresh up's events.
 */
export function warmRecreate(
    ctx: WarmCacheContext,
    coldUp: () => readonly EngineEvent[] | undefined,
): { readonly id: "warm-recreate"; readonly run: () => Promise<string> } {
    return {
        id: "warm-recreate",
        run: async () => {
            const coldEvents = coldUp() ?? fail("the fresh up's events are missing");
            const cold = analyzeTimings(coldEvents);
            const before = await ctx.machine.imageCaches();
            const d = await ctx.op("destroy (the caches stay)", (o) => ctx.stack().destroy({ ...o, remove: false }));
            if (!d.outcome.ok) fail(`destroy failed: ${failureReason(d.events, d.outcome)}`);
            if (await ctx.clusterExists()) fail(`destroy left kind cluster ${ctx.name}`);
            const events = await ctx.up("up (warm image caches)");
            if (!verificationRan(events)) fail("the up with warm caches succeeded but the verification did not run");
            const warm = analyzeTimings(events);
            const after = await ctx.machine.imageCaches();
            const warmPulls = pullReport(pullsFromEvents(await ctx.machine.pulledEvents(ctx.name), warm.startedAt), undefined);
            const verdict = warmCacheVerdict({
                cold: { startedAt: cold.startedAt, seconds: cold.wallSeconds },
                warmSeconds: warm.wallSeconds,
                before,
                after,
                warmPulls,
            });
            ctx.writeFile(
                `${ctx.outDir}/e2e-${ctx.env}-warm-recreate.json`,
                `${JSON.stringify({ stack: ctx.name, ...verdict, warmPulls, before, after }, null, 2)}\n`,
            );
            if (!verdict.ok) fail(verdict.reason);
            return verdict.reason;
        },
    };
}
