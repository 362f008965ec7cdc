/**
 * What every readiness check shares: the slice of the Kubernetes API it reads, the shape of its
 * answer, and the loop that retries it until it is ready or the time is up.
 */

/** The slice of the Kubernetes API the checks use. */
export interface KubeApi {
    request(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

/** Outcome of one probe: ready, or not yet with the reason. */
export type Probe = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/** How long to retry, and the clock to do it with (injectable for tests). */
export interface RetryOptions {
    readonly timeoutMs: number;
    readonly intervalMs: number;
    readonly now?: () => number;
    readonly sleep?: (ms: number) => Promise<void>;
    readonly log?: (line: string) => void;
}

/**
 * Retries a probe until it is ready or the time is up. A probe that throws (connection refused,
 * say) counts as not ready. Throws with the last reason when the time is up.
 */
export async function waitUntilReady(probe: () => Promise<Probe>, what: string, options: RetryOptions): Promise<number> {
    const now = options.now ?? Date.now;
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const start = now();
    let attempts = 0;
    let last = "no attempt made";
    for (;;) {
        attempts++;
        let result: Probe;
        try {
            result = await probe();
        } catch (e) {
            result = { ready: false, reason: (e as Error).message };
        }
        if (result.ready) return attempts;
        last = result.reason;
        options.log?.(`${what} not ready yet (attempt ${attempts}): ${last}`);
        if (now() - start + options.intervalMs > options.timeoutMs) {
            throw new Error(
                `${what} was not ready after ${Math.round(options.timeoutMs / 1000)}s (${attempts} attempts). Last reason: ${last}`,
            );
        }
        await sleep(options.intervalMs);
    }
}
