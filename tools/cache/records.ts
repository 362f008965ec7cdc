/**
 * What an image cache holds and what it fetched, read from the cache itself: the blobs in its
 * storage (one `data` file per blob under docker/registry/v2/blobs, written when the proxy fetched
 * the blob from upstream and stored it: distribution v3.0.0 registry/proxy/proxyblobstore.go,
 * ServeBlob, creates it only on a miss), the repositories it has manifests of, and the proxy's own
 * counters since the container started (registry/proxy/proxymetrics.go, served as expvar on the
 * debug address). Pure: the script the caches run and the parsing of its output.
 */
import { CACHE_DEBUG_ADDR, CACHE_STORAGE } from "../../components/cluster/imageCache";

/** A blob in a cache's storage. */
export interface CachedBlob {
    readonly digest: string;
    readonly bytes: number;
    /** Unix seconds of the blob's data file: when the cache fetched it from upstream. */
    readonly fetchedAt: number;
}

/** The proxy's counters of one kind of content since the cache started. */
export interface ProxyCounters {
    /** Requests it answered. */
    readonly requests: number;
    /** Answered from its storage. */
    readonly hits: number;
    /** Fetched from upstream. */
    readonly misses: number;
    /** Bytes fetched from upstream. */
    readonly bytesPulled: number;
}

/** What one cache holds, as it reported it. */
export interface CacheSnapshot {
    readonly blobs: readonly CachedBlob[];
    readonly repositories: readonly string[];
    /** The blob counters; undefined when the debug server did not answer. */
    readonly counters?: ProxyCounters;
}

/**
 * Runs inside a cache container (`docker exec <cache> sh -c <this>`), with the image's busybox:
 * each blob's size, mtime and path, each repository's manifests directory, and the debug vars.
 */
export const SNAPSHOT_SCRIPT = [
    `if cd ${CACHE_STORAGE}/docker/registry/v2 2>/dev/null; then`,
    `  echo '== blobs'; find blobs -type f -name data -exec stat -c '%s %Y %n' {} + 2>/dev/null`,
    `  echo '== repositories'; find repositories -type d -name _manifests 2>/dev/null`,
    `fi`,
    `echo '== counters'; wget -qO- http://${CACHE_DEBUG_ADDR}/debug/vars 2>/dev/null || true`,
].join("\n");

/** What one cache held at a moment, by the registry it caches. */
export interface CacheRecords {
    readonly registry: string;
    readonly snapshot: CacheSnapshot;
}

/** The argv that snapshots a cache. */
export function snapshotArgv(container: string): string[] {
    return ["docker", "exec", container, "sh", "-c", SNAPSHOT_SCRIPT];
}

interface DebugVars {
    registry?: { proxy?: { blobs?: { Requests?: number; Hits?: number; Misses?: number; BytesPulled?: number } } };
}

/** Parses the output of {@link SNAPSHOT_SCRIPT}. */
export function parseSnapshot(text: string): CacheSnapshot {
    const sections = new Map<string, string[]>();
    let current: string | undefined;
    for (const line of text.split("\n")) {
        const head = /^== (\w+)$/.exec(line.trim());
        if (head) {
            current = head[1];
            sections.set(current, []);
        } else if (current && line.trim() !== "") sections.get(current)!.push(line);
    }
    const blobs: CachedBlob[] = [];
    for (const line of sections.get("blobs") ?? []) {
        // "<size> <mtime> blobs/sha256/ab/<hex>/data"
        const m = /^(\d+) (\d+) blobs\/(\w+)\/[0-9a-f]{2}\/([0-9a-f]+)\/data$/.exec(line.trim());
        if (m) blobs.push({ digest: `${m[3]}:${m[4]}`, bytes: Number(m[1]), fetchedAt: Number(m[2]) });
    }
    const repositories = (sections.get("repositories") ?? [])
        .map((l) => /^repositories\/(.+)\/_manifests$/.exec(l.trim())?.[1])
        .filter((r): r is string => r !== undefined)
        .sort();
    let counters: ProxyCounters | undefined;
    const json = (sections.get("counters") ?? []).join("\n").trim();
    if (json !== "") {
        try {
            const b = (JSON.parse(json) as DebugVars).registry?.proxy?.blobs;
            if (b) counters = { requests: b.Requests ?? 0, hits: b.Hits ?? 0, misses: b.Misses ?? 0, bytesPulled: b.BytesPulled ?? 0 };
        } catch {
            counters = undefined;
        }
    }
    return { blobs, repositories, counters };
}

/** `812.3 MB`, `4.1 kB`, `0 B` (decimal units, as Docker prints sizes). */
export function formatBytes(bytes: number): string {
    const units = ["B", "kB", "MB", "GB", "TB"];
    let v = bytes;
    let i = 0;
    while (v >= 1000 && i < units.length - 1) {
        v /= 1000;
        i++;
    }
    return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
