/**
 * How many bytes and seconds a deploy spent on image pulls, and how much of that came from the
 * internet. Two records, each the one that knows: the kubelet's `Pulled` events, one per image it
 * pulled ("Successfully pulled image %q in %v (%v including waiting). Image size: %v bytes.",
 * kubernetes pkg/kubelet/images/image_manager.go, or "Container image %q already present on
 * machine" when it pulled nothing), and the image caches' own storage, where a blob's data file
 * appears when the cache fetched it from upstream (tools/cache/records.ts). Pure.
 */
import { registryOf } from "../components/cluster/imageCache";
import type { CacheSnapshot } from "./cache/records";
import { formatBytes } from "./cache/records";
import { formatDuration } from "./timing";

/** One image the kubelet pulled. */
export interface ImagePull {
    readonly image: string;
    readonly registry: string;
    /** The pull itself, as the kubelet timed it. */
    readonly seconds: number;
    /** From the pull's request to its end, queueing behind other pulls included. */
    readonly secondsWithWaiting: number;
    readonly bytes: number;
    /** Unix seconds of the event. */
    readonly at: number;
}

/** What the caches fetched from upstream, per registry. */
export interface UpstreamFetches {
    readonly registry: string;
    readonly blobs: number;
    readonly bytes: number;
}

/** The pulls of one deploy. */
export interface PullReport {
    readonly pulls: readonly ImagePull[];
    /** Images the nodes already had ("already present on machine"). */
    readonly present: number;
    readonly bytes: number;
    /** The pulls' own durations, summed: pulls overlap, so this is work, not wall time. */
    readonly seconds: number;
    /** What the caches fetched from upstream meanwhile; undefined without caches. */
    readonly upstream?: readonly UpstreamFetches[];
}

const UNITS: Readonly<Record<string, number>> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, μs: 1e-6, ns: 1e-9 };

/** A Go `time.Duration` as `String()` prints it (`1m2.5s`, `850ms`, `0s`), in seconds; undefined if it is not one. */
export function parseGoDuration(text: string): number | undefined {
    if (text === "0" || text === "0s") return 0;
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(h|ms|us|µs|μs|ns|m|s)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) return undefined;
    return parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]], 0);
}

const PULLED = /^Successfully pulled image "([^"]+)" in (\S+) \((\S+) including waiting\)\. Image size: (\d+) bytes\.$/;
const PRESENT = /^Container image "([^"]+)" already present on machine/;

interface EventJson {
    reason?: string;
    message?: string;
    lastTimestamp?: string | null;
    firstTimestamp?: string | null;
    eventTime?: string | null;
    metadata?: { creationTimestamp?: string };
}

/** The kubelet's Pulled events since `since` (Unix seconds), from `kubectl get events -o json`. */
export function pullsFromEvents(eventsJson: string, since = 0): { pulls: ImagePull[]; present: number } {
    let items: EventJson[] = [];
    try {
        items = (JSON.parse(eventsJson) as { items?: EventJson[] }).items ?? [];
    } catch {
        items = [];
    }
    const pulls: ImagePull[] = [];
    let present = 0;
    for (const e of items) {
        if (e.reason !== "Pulled" || typeof e.message !== "string") continue;
        const when = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
        const at = when ? Math.floor(Date.parse(when) / 1000) : NaN;
        if (!Number.isFinite(at) || at < since) continue;
        const m = PULLED.exec(e.message);
        if (m) {
            const seconds = parseGoDuration(m[2]);
            const waiting = parseGoDuration(m[3]);
            if (seconds === undefined || waiting === undefined) continue;
            pulls.push({ image: m[1], registry: registryOf(m[1]), seconds, secondsWithWaiting: waiting, bytes: Number(m[4]), at });
        } else if (PRESENT.test(e.message)) {
            present++;
        }
    }
    return { pulls: pulls.sort((a, b) => a.at - b.at || a.image.localeCompare(b.image)), present };
}

/** What each cache fetched from upstream since `since` (Unix seconds): the blobs its storage gained. */
export function upstreamFetches(caches: readonly { registry: string; snapshot: CacheSnapshot }[], since: number): UpstreamFetches[] {
    return caches.map(({ registry, snapshot }) => {
        const fresh = snapshot.blobs.filter((b) => b.fetchedAt >= since);
        return { registry, blobs: fresh.length, bytes: fresh.reduce((n, b) => n + b.bytes, 0) };
    });
}

/** The report of one deploy. */
export function pullReport(
    pulls: { pulls: readonly ImagePull[]; present: number },
    upstream: readonly UpstreamFetches[] | undefined,
): PullReport {
    return {
        pulls: pulls.pulls,
        present: pulls.present,
        bytes: pulls.pulls.reduce((n, p) => n + p.bytes, 0),
        seconds: pulls.pulls.reduce((n, p) => n + p.seconds, 0),
        upstream,
    };
}

/** The lines of the timing report about pulls. */
export function renderPulls(r: PullReport): string {
    const lines = ["Image pulls (the kubelet's Pulled events):"];
    if (r.pulls.length === 0) {
        lines.push(`  none${r.present > 0 ? `; ${r.present} images were already on the nodes` : ""}.`);
    } else {
        lines.push(
            `  ${r.pulls.length} images, ${formatBytes(r.bytes)}, ${formatDuration(r.seconds)} of pulling (each pull's own time, summed: pulls overlap)` +
                (r.present > 0 ? `; ${r.present} already on the nodes.` : "."),
        );
        const longest = [...r.pulls].sort((a, b) => b.seconds - a.seconds).slice(0, 3);
        for (const p of longest) lines.push(`  ${formatDuration(p.seconds).padStart(6)}  ${formatBytes(p.bytes).padStart(9)}  ${p.image}`);
    }
    if (r.upstream) {
        const fetched = r.upstream.filter((u) => u.blobs > 0);
        const total = fetched.reduce((n, u) => n + u.bytes, 0);
        lines.push(
            fetched.length === 0
                ? "Fetched from the internet by the image caches (their own storage): nothing."
                : `Fetched from the internet by the image caches (their own storage): ${formatBytes(total)}, ${fetched.map((u) => `${u.registry} ${formatBytes(u.bytes)} in ${u.blobs} blobs`).join(", ")}.`,
        );
    }
    return lines.join("\n");
}
