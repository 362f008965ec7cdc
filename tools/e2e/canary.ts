/**
 * The canary upgrade scenario: the throwaway kind stack switched to `istio.upgrade.strategy:
 * revisions` (from its istiod upgraded in place, so the migration runs too), then the default tag
 * moved onto an older revision and back, while a loop asks Bookinfo's product page through the
 * ingress gateway, one request at a time, and counts every answer that is not 2xx (connection
 * errors included). The goal is zero: the gateway and Bookinfo restart onto the tag's revision a
 * new pod before an old one stops.
 */
import * as http from "http";
import { baseUrl, hostForListenAddress, joinUrl } from "../../components/urls";
import { ISTIO_RELEASES } from "../../components/mesh/revisions";
import { PINS } from "../../components/versions";
import { Config, PREFIX } from "./config";
import { verificationRan } from "./events";
import type { Scenario, ScenarioContext } from "./scenarios";
import { fail } from "./scenarios";

/** What a run of requests got: every answer, and those that were not 2xx by status (or error). */
export interface AnswerCount {
    readonly total: number;
    /** `"503": 2`, `"error: ECONNRESET": 1`. */
    readonly failures: Readonly<Record<string, number>>;
}

/** One request: its status, or the error that stopped it. */
export type StatusGet = (url: string) => Promise<{ readonly status: number } | { readonly error: string }>;

/** How many answers were not 2xx. */
export function nonSuccess(c: AnswerCount): number {
    return Object.values(c.failures).reduce((a, b) => a + b, 0);
}

/** `412 requests, 0 not 2xx`, or `412 requests, 3 not 2xx (503: 2, error: ECONNRESET: 1)`. */
export function describeCount(c: AnswerCount): string {
    const bad = nonSuccess(c);
    const detail = Object.entries(c.failures)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, n]) => `${k}: ${n}`)
        .join(", ");
    return `${c.total} request${c.total === 1 ? "" : "s"}, ${bad} not 2xx${bad > 0 ? ` (${detail})` : ""}`;
}

/**
 * Asks `url` one request at a time, `intervalMs` apart, until `stop` settles (and at least once),
 * and counts the answers. A request that throws counts as an error, never stops the loop.
 */
export async function countAnswers(
    get: StatusGet,
    url: string,
    stop: Promise<unknown>,
    options: { readonly intervalMs: number; readonly sleep?: (ms: number) => Promise<void> },
): Promise<AnswerCount> {
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let stopped = false;
    void stop.then(
        () => (stopped = true),
        () => (stopped = true),
    );
    let total = 0;
    const failures: Record<string, number> = {};
    do {
        let key: string | undefined;
        try {
            const answer = await get(url);
            if ("error" in answer) key = `error: ${answer.error}`;
            else if (answer.status < 200 || answer.status >= 300) key = String(answer.status);
        } catch (e) {
            key = `error: ${(e as Error).message}`;
        }
        total++;
        if (key !== undefined) failures[key] = (failures[key] ?? 0) + 1;
        if (!stopped) await sleep(options.intervalMs);
    } while (!stopped);
    return { total, failures };
}

/** A plain HTTP GET that reports the status (the body is read and dropped) or the error's code. */
export function nodeStatusGet(timeoutMs = 5000): StatusGet {
    return (url) =>
        new Promise((resolve) => {
            const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
                res.resume();
                res.on("end", () => resolve({ status: res.statusCode ?? 0 }));
                res.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
            });
            req.on("timeout", () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })));
            req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
        });
}

function objectAt(config: Config, key: string): Record<string, unknown> {
    const v = config[PREFIX + key];
    return typeof v === "object" && v !== null && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : {};
}

/** Bookinfo's product page on a kind stack's host port. */
export function bookinfoUrlOf(config: Config): string {
    const kind = objectAt(config, "kind");
    const ports = (kind.hostPorts ?? {}) as { http?: number };
    const host = hostForListenAddress(typeof kind.listenAddress === "string" ? kind.listenAddress : "127.0.0.1");
    if (typeof ports.http !== "number") throw new Error("the e2e stack's config has no kind.hostPorts.http");
    return joinUrl(baseUrl("http", host, ports.http), "/productpage");
}

/** The release the scenario moves the tag onto and back from: the newest known one below the pin. */
export function otherRelease(pin: string = PINS.istio.version): string {
    const other = ISTIO_RELEASES.filter((v) => v !== pin);
    if (other.length === 0) throw new Error(`no Istio release besides ${pin} in ISTIO_RELEASES to move the tag to`);
    return other[other.length - 1];
}

/**
 * The scenario's three configs: revisions switched on (the default tag on the pin's revision), the
 * other release kept and the tag moved onto it, then the tag back on the pin.
 */
export function canaryConfigs(base: Config, other = otherRelease()): { revisions: Config; moved: Config; back: Config } {
    const istio = objectAt(base, "istio");
    const upgrade = (u: Record<string, unknown>): Config => ({
        ...base,
        [`${PREFIX}istio`]: { ...istio, upgrade: { strategy: "revisions", ...u } },
    });
    return {
        revisions: upgrade({}),
        moved: upgrade({ keepRevisions: [other], tags: { default: other } }),
        back: upgrade({ keepRevisions: [other] }),
    };
}

/** The canary upgrade scenario (e2e id `canary-upgrade`). */
export function canaryScenario(ctx: ScenarioContext, get: StatusGet = nodeStatusGet(), intervalMs = 200): Scenario {
    return {
        id: "canary-upgrade",
        run: async () => {
            const url = bookinfoUrlOf(ctx.base);
            const other = otherRelease();
            const configs = canaryConfigs(ctx.base, other);
            const steps: [string, Config][] = [
                [`up (istio.upgrade.strategy revisions: istiod ${PINS.istio.version} as a revision, the tag on it)`, configs.revisions],
                [`up (${other} kept, the default tag moved onto it)`, configs.moved],
                [`up (the default tag back on ${PINS.istio.version})`, configs.back],
            ];
            const seen: string[] = [];
            let bad = 0;
            for (const [label, config] of steps) {
                await ctx.stack().setConfig(config);
                let done!: () => void;
                const finished = new Promise<void>((r) => (done = r));
                const counting = countAnswers(get, url, finished, { intervalMs });
                let events;
                try {
                    events = await ctx.up(label);
                } finally {
                    done();
                }
                const count = await counting;
                ctx.log(`  ${url} while it ran: ${describeCount(count)}`);
                if (!verificationRan(events)) fail(`${label} succeeded but the verification did not run`);
                bad += nonSuccess(count);
                seen.push(`${label.replace(/^up \(|\)$/g, "")}: ${describeCount(count)}`);
            }
            if (bad > 0)
                fail(
                    `Bookinfo answered ${bad} request${bad === 1 ? "" : "s"} with something other than 2xx while the tag moved: ${seen.join("; ")}`,
                );
            return `no answer other than 2xx while the tag moved: ${seen.join("; ")}`;
        },
    };
}
