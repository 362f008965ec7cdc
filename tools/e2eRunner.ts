/**
 * The logic of `npm run e2e -- [env]`: the lifecycle scenarios, their PASS/FAIL rules, the
 * interruption, the cleanup that runs whatever happened, and the report. It talks to Pulumi and the
 * machine only through the small interfaces below, so tests drive it with fakes that replay
 * engine events; tools/e2e.ts binds them to the Automation API, Docker and kind.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { PORT_ROLES, PortRole } from "../components/ports";
import { KIND_VERSION } from "../components/versions";
import { decideCluster, DockerState, kindClusterUrn, KindState } from "./stack";
import {
    analyzeTimings,
    dependenciesFromState,
    formatDuration,
    PredictedPath,
    renderTimings,
    StateResource,
    Timings,
    urnName,
} from "./timing";

/** How a Pulumi operation ended. */
export interface OpOutcome {
    readonly ok: boolean;
    /** The CLI's error, when it failed. */
    readonly error?: string;
}

/** What every operation takes: where its engine events go, and a signal that interrupts it (SIGINT to the CLI). */
export interface OpOptions {
    readonly onEvent: (event: EngineEvent) => void;
    readonly signal?: AbortSignal;
}

/** The slice of an Automation API stack the runner uses. */
export interface E2eStack {
    up(options: OpOptions & { readonly replace?: readonly string[] }): Promise<OpOutcome>;
    refresh(options: OpOptions): Promise<OpOutcome>;
    destroy(options: OpOptions & { readonly remove: boolean }): Promise<OpOutcome>;
    /** The resources in the stack's state (`pulumi stack export`). */
    resources(): Promise<readonly StateResource[]>;
    /** Replaces the stack's config (its Pulumi.<stack>.yaml `config:` map). */
    setConfig(config: Readonly<Record<string, unknown>>): Promise<void>;
}

/** The throwaway backend: a file backend, passphrase and Pulumi home under a temp folder. */
export interface E2eBackend {
    createStack(name: string, config: Readonly<Record<string, unknown>>): Promise<E2eStack>;
    stackNames(): Promise<readonly string[]>;
    /** Removes a stack and its state, whatever it holds. */
    removeStack(name: string): Promise<void>;
    /** Removes the temp folder and the project's Pulumi.<stack>.yaml. */
    cleanUp(): Promise<void>;
    /** The environment that reaches this backend from a shell, for --keep. */
    readonly shellEnv: Readonly<Record<string, string>>;
    /** What cleanUp would remove, for --keep. */
    readonly leftovers: readonly string[];
}

/** The machine, as the runner sees it. */
export interface E2eMachine {
    docker(): Promise<DockerState>;
    /** `kind version`'s first word after "kind", or undefined when kind is not on PATH. */
    kindVersion(): Promise<string | undefined>;
    /** `pulumi version`, or undefined when the CLI is not on PATH. */
    pulumiVersion(): Promise<string | undefined>;
    kindClusters(): Promise<KindState>;
    deleteKindCluster(name: string): Promise<void>;
    /** Docker containers labelled as nodes of a kind cluster (`io.x-k8s.kind.cluster=<name>`). */
    kindContainers(name: string): Promise<readonly string[]>;
}

/** What the program registers under mocks, computed once the machine has passed the preflight. */
export interface Expectations {
    /** `<type>::<name>` of every resource the routing change should touch (tools/mockRun.ts). */
    readonly routingChanges?: readonly string[];
    /** Why routingChanges is missing. */
    readonly routingError?: string;
    readonly predicted?: PredictedPath;
}

/** Everything outside the runner. */
export interface E2ePorts {
    readonly machine: E2eMachine;
    openBackend(): Promise<E2eBackend>;
    expectations(base: Readonly<Record<string, unknown>>, routing: Readonly<Record<string, unknown>>): Promise<Expectations>;
    /** Milliseconds; injected so that tests need no real time. */
    now(): number;
    log(line: string): void;
    writeFile(file: string, content: string): void;
}

/** What one run does. */
export interface E2eOptions {
    readonly env: string;
    /** The stack's name, and its kind cluster's. */
    readonly name: string;
    /** The environment's config as `pulumi up` would see it (Pulumi.yaml defaults, then Pulumi.<env>.yaml), prefixed keys. */
    readonly envConfig: Readonly<Record<string, unknown>>;
    /** Free host ports for every role. */
    readonly hostPorts: Readonly<Record<PortRole, number>>;
    /** Leave the last cluster up for inspection. */
    readonly keep: boolean;
    /** Where the report, the timings and the engine events of each operation go. */
    readonly outDir: string;
    /** The user's Ctrl-C: stops what runs, skips the rest, and still cleans up. */
    readonly interrupt?: AbortSignal;
}

/** The scenarios, in the order they run. */
export type ScenarioId =
    | "fresh-up"
    | "no-change-up"
    | "routing-change"
    | "interrupted-up"
    | "destroy-then-up"
    | "cluster-deleted"
    | "final-destroy";

/** One row of the report. */
export interface ScenarioResult {
    readonly id: ScenarioId;
    readonly title: string;
    readonly result: "PASS" | "FAIL" | "SKIP";
    readonly seconds: number;
    readonly reason: string;
}

/** The whole run. */
export interface E2eReport {
    readonly env: string;
    readonly stack: string;
    readonly cluster: string;
    readonly startedAt: string;
    readonly seconds: number;
    readonly passed: boolean;
    /** 0 when every scenario passed, 1 when one failed, 2 when the machine lacked something. */
    readonly exitCode: 0 | 1 | 2;
    /** What the machine lacks, when the run stopped before creating anything. */
    readonly missing: readonly string[];
    readonly scenarios: readonly ScenarioResult[];
    /** The fresh up's timings file. */
    readonly timingsFile?: string;
}

const TITLES: Readonly<Record<ScenarioId, string>> = {
    "fresh-up": "fresh up, verification passing",
    "no-change-up": "second up changes nothing",
    "routing-change": "routing change updates only its objects",
    "interrupted-up": "interrupted up, then a plain up",
    "destroy-then-up": "destroy, then up again",
    "cluster-deleted": "kind cluster deleted, documented recovery",
    "final-destroy": "final destroy leaves nothing behind",
};

const PREFIX = "istio-mesh:";
/** Steps that change nothing. */
const NO_CHANGE = new Set(["same", "read", "refresh"]);
/** The verification's command (components/verify/deploymentCheck.ts), by type so that its name may change. */
const VERIFICATION = "istio-mesh:index:DeploymentCheck$command:local:Command::";

type Config = Readonly<Record<string, unknown>>;

function objectAt(config: Config, key: string): Record<string, unknown> {
    const v = config[PREFIX + key];
    return typeof v === "object" && v !== null && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : {};
}

/**
 * The throwaway stack's config: the environment's, with its own cluster name, its own host port
 * for every role (so it runs beside the user's clusters), and the verification on.
 */
export function e2eStackConfig(envConfig: Config, name: string, hostPorts: Readonly<Record<PortRole, number>>): Record<string, unknown> {
    const ports: Record<string, number> = {};
    for (const role of PORT_ROLES) ports[role] = hostPorts[role];
    return {
        ...envConfig,
        [`${PREFIX}clusterName`]: name,
        [`${PREFIX}kind`]: { ...objectAt(envConfig, "kind"), hostPorts: ports },
        [`${PREFIX}verifyDeployment`]: true,
    };
}

/** The routing change: a reviews split that differs from the one configured. */
export function withRoutingChange(config: Config): Record<string, unknown> {
    const bookinfo = objectAt(config, "bookinfo");
    const a = { mode: "weighted", weights: { v1: 50, v2: 50, v3: 0 } };
    const b = { mode: "weighted", weights: { v1: 50, v2: 0, v3: 50 } };
    const reviews = JSON.stringify(bookinfo.reviews) === JSON.stringify(a) ? b : a;
    return { ...config, [`${PREFIX}bookinfo`]: { ...bookinfo, reviews } };
}

/** Bookinfo and the heavier addons off, so that the next up has minutes of work to interrupt. */
export function withWorkloadsOff(config: Config): Record<string, unknown> {
    return {
        ...config,
        [`${PREFIX}bookinfo`]: { ...objectAt(config, "bookinfo"), enabled: false },
        [`${PREFIX}observability`]: { ...objectAt(config, "observability"), prometheus: false, grafana: false, kiali: false },
    };
}

/** A step that changes something, as `<type>::<name>` with its operations. */
export interface Change {
    readonly key: string;
    readonly name: string;
    readonly ops: readonly string[];
}

/** The steps of an operation that changed something (the stack itself left out). */
export function changes(events: readonly EngineEvent[]): Change[] {
    const byKey = new Map<string, { key: string; name: string; ops: string[] }>();
    for (const e of events) {
        const m = e.resourcePreEvent?.metadata;
        if (!m || e.resourcePreEvent?.planning || NO_CHANGE.has(m.op) || m.type === "pulumi:pulumi:Stack") continue;
        const key = `${m.type}::${urnName(m.urn)}`;
        const c = byKey.get(key) ?? { key, name: urnName(m.urn), ops: [] };
        if (!c.ops.includes(m.op)) c.ops.push(m.op);
        byKey.set(key, c);
    }
    return [...byKey.values()];
}

/** Whether the stack's verification command completed in this operation (it fails the up when a check fails). */
export function verificationRan(events: readonly EngineEvent[]): boolean {
    return events.some((e) => {
        const m = e.resOutputsEvent?.metadata;
        return m !== undefined && m.urn.includes(VERIFICATION) && !NO_CHANGE.has(m.op) && m.op !== "delete";
    });
}

/** Objects a refresh dropped from the state (the refresh reports `delete` for what is gone). */
export function droppedByRefresh(events: readonly EngineEvent[]): number {
    return events.filter((e) => e.resOutputsEvent?.metadata.op === "delete").length;
}

/** The point where the runner interrupts an up: the first Helm release or Deployment it starts creating. */
export function isInterruptPoint(e: EngineEvent): boolean {
    const m = e.resourcePreEvent?.metadata;
    return (
        m !== undefined &&
        (m.op === "create" || m.op === "create-replacement") &&
        (m.type === "kubernetes:helm.sh/v3:Release" || m.type === "kubernetes:apps/v1:Deployment")
    );
}

function firstLine(text: string | undefined, max = 300): string {
    const line =
        (text ?? "")
            .split("\n")
            .map((l) => l.trim())
            .find((l) => l !== "") ?? "";
    return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Why an operation failed, from its events (the failing resources and the first error) or the CLI's error. */
export function failureReason(events: readonly EngineEvent[], outcome: OpOutcome): string {
    const failed = events.filter((e) => e.resOpFailedEvent).map((e) => urnName(e.resOpFailedEvent!.metadata.urn));
    const errors = events
        .map((e) => e.diagnosticEvent)
        .filter((d) => d?.severity === "error")
        .map((d) => firstLine(d!.message));
    const detail = errors.find((m) => m !== "") ?? firstLine(outcome.error);
    return failed.length > 0 ? `${failed.join(", ")} failed: ${detail}` : detail || "the operation failed";
}

function list(items: readonly string[], max = 6): string {
    return items.length <= max ? items.join(", ") : `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

/** Checks the machine; a sentence for each thing missing, naming it and where to get it. */
export async function preflight(machine: E2eMachine): Promise<{ missing: string[]; warnings: string[] }> {
    const [pulumi, docker, kind] = await Promise.all([machine.pulumiVersion(), machine.docker(), machine.kindVersion()]);
    const missing: string[] = [];
    const warnings: string[] = [];
    if (pulumi === undefined) missing.push("the Pulumi CLI: pulumi is not on PATH (install it: https://www.pulumi.com/docs/install/)");
    if (docker === "missing") missing.push("Docker: docker is not on PATH (install it: https://docs.docker.com/get-docker/)");
    if (docker === "stopped") missing.push("a running Docker: docker info failed (start Docker Desktop or the Docker service)");
    if (kind === undefined) {
        missing.push(
            `kind: kind is not on PATH (install kind ${KIND_VERSION}: https://kind.sigs.k8s.io/docs/user/quick-start/#installation)`,
        );
    } else if (kind !== KIND_VERSION) {
        warnings.push(`kind ${kind} is installed; the node image is pinned for kind ${KIND_VERSION}, so the cluster may not start.`);
    }
    return { missing, warnings };
}

/** The report as a table. */
export function renderReport(report: E2eReport): string {
    const rows = report.scenarios.map((s) => [s.title, s.result, s.result === "SKIP" ? "-" : formatDuration(s.seconds), s.reason]);
    const head = ["scenario", "result", "duration", "reason"];
    const width = (i: number): number => Math.max(head[i].length, ...rows.map((r) => r[i].length));
    const line = (r: readonly string[]): string =>
        [r[0].padEnd(width(0)), r[1].padEnd(width(1)), r[2].padStart(width(2)), r[3]].join("  ").trimEnd();
    const verdict = report.passed
        ? `e2e ${report.env}: every scenario passed in ${formatDuration(report.seconds)}.`
        : `e2e ${report.env}: ${report.scenarios.filter((s) => s.result === "FAIL").length} scenario(s) failed (${formatDuration(report.seconds)}).`;
    return [line(head), ...rows.map(line), "", verdict].join("\n");
}

class Failure extends Error {}

/** Fails the scenario with a reason. */
function fail(reason: string): never {
    throw new Failure(reason);
}

/** Runs the scenarios, then the final destroy, and writes the report. */
export async function runE2e(options: E2eOptions, ports: E2ePorts): Promise<E2eReport> {
    const started = ports.now();
    const { log } = ports;
    const name = options.name;
    const reportFile = `${options.outDir}/e2e-${options.env}.json`;
    const finish = (scenarios: ScenarioResult[], missing: string[] = [], timingsFile?: string): E2eReport => {
        const failed = scenarios.some((s) => s.result === "FAIL");
        const report: E2eReport = {
            env: options.env,
            stack: name,
            cluster: name,
            startedAt: new Date(started).toISOString(),
            seconds: Math.round((ports.now() - started) / 1000),
            passed: missing.length === 0 && !failed,
            exitCode: missing.length > 0 ? 2 : failed ? 1 : 0,
            missing,
            scenarios,
            timingsFile,
        };
        // A machine that lacks something gets no files at all: the run stops before creating anything.
        if (missing.length > 0) return report;
        ports.writeFile(reportFile, `${JSON.stringify(report, null, 2)}\n`);
        log(`\n${renderReport(report)}\nReport written to ${reportFile}.`);
        return report;
    };

    const mode = String(options.envConfig[`${PREFIX}clusterMode`] ?? "kind");
    if (mode !== "kind") {
        const why = `environment ${options.env} runs on an existing cluster (clusterMode ${mode}); npm run e2e needs a kind environment, such as dev or staging`;
        log(`error: ${why}.`);
        return finish([], [why]);
    }
    const { missing, warnings } = await preflight(ports.machine);
    if (missing.length > 0) {
        log(
            `error: npm run e2e needs Docker (running), kind ${KIND_VERSION} and the Pulumi CLI. Missing:\n${missing.map((m) => `  - ${m}`).join("\n")}\nNothing was created.`,
        );
        return finish([], missing);
    }
    for (const w of warnings) log(`warning: ${w}`);

    const base = e2eStackConfig(options.envConfig, name, options.hostPorts);
    const routing = withRoutingChange(base);
    log(
        `e2e ${options.env}: throwaway stack and kind cluster ${name}, host ports ${PORT_ROLES.map((r) => `${r} ${options.hostPorts[r]}`).join(", ")}.`,
    );
    const expected = await ports.expectations(base, routing).catch((e: Error): Expectations => ({ routingError: e.message }));

    const results: ScenarioResult[] = [];
    let backend: E2eBackend | undefined;
    let stack: E2eStack | undefined;
    let timingsFile: string | undefined;
    let opCount = 0;
    const interrupted = (): boolean => options.interrupt?.aborted === true;

    /**
     * Runs one operation and keeps its events (also as a file, for inspection). After the user's
     * Ctrl-C the scenario stops once the operation has ended; the operation itself is not signalled
     * again, because the terminal already sent SIGINT to the CLI (the whole foreground process group)
     * and a second one would make it terminate at once, leaving pending operations. The cleanup
     * runs to the end regardless.
     */
    const op: OpRunner = async (label, run, extra = {}) => {
        const events: EngineEvent[] = [];
        const t = ports.now();
        log(`> ${label}`);
        const outcome = await run({
            onEvent: (e) => {
                events.push(e);
                extra.onEvent?.(e);
            },
            signal: extra.signal,
        }).catch((e: Error): OpOutcome => ({ ok: false, error: e.message }));
        opCount += 1;
        ports.writeFile(
            `${options.outDir}/${options.env}-events/${String(opCount).padStart(2, "0")}-${label
                .replace(/[^a-z0-9]+/gi, "-")
                .replace(/^-|-$/g, "")
                .toLowerCase()}.jsonl`,
            events.map((e) => `${JSON.stringify(e)}\n`).join(""),
        );
        if (!extra.cleanup && interrupted()) fail("interrupted by the user (Ctrl-C)");
        return { outcome, events, seconds: Math.round((ports.now() - t) / 1000) };
    };
    const mustStack = (): E2eStack => stack ?? fail("the stack was not created");
    const up = async (label: string): Promise<EngineEvent[]> => {
        const r = await op(label, (o) => mustStack().up(o));
        if (!r.outcome.ok) fail(`${label} failed: ${failureReason(r.events, r.outcome)}`);
        return r.events;
    };
    const clusterExists = async (): Promise<boolean> => {
        const k = await ports.machine.kindClusters();
        if (!k.installed || "error" in k) fail(`kind get clusters failed: ${"error" in k ? k.error : "kind is gone"}`);
        return k.clusters.includes(name);
    };
    const facts = async (): Promise<{ docker: DockerState; kind: KindState; urn?: string }> => {
        const docker = await ports.machine.docker();
        const kind = docker === "running" ? await ports.machine.kindClusters() : ({ installed: true, clusters: [] } as KindState);
        return { docker, kind, urn: stack ? kindClusterUrn(await stack.resources()) : undefined };
    };

    const scenarios: { id: Exclude<ScenarioId, "final-destroy">; run: () => Promise<string> }[] = [
        {
            id: "fresh-up",
            run: async () => {
                backend = await ports.openBackend();
                stack = await backend.createStack(name, base);
                const events = await up("up (fresh)");
                if (!verificationRan(events)) fail("the up succeeded but the stack's verification step did not run");
                const timings: Timings = analyzeTimings(events, {
                    dependencies: dependenciesFromState(await mustStack().resources()),
                    predicted: expected.predicted,
                });
                log(`\n${renderTimings(timings, `fresh up of ${name}`)}\n`);
                timingsFile = `${options.outDir}/e2e-${options.env}-fresh-up.timings.json`;
                ports.writeFile(timingsFile, `${JSON.stringify({ stack: name, ...timings }, null, 2)}\n`);
                const created = changes(events).length;
                return `${created} resources created in ${formatDuration(timings.wallSeconds)}; the verification passed`;
            },
        },
        {
            id: "no-change-up",
            run: async () => {
                const changed = changes(await up("up (no change)"));
                if (changed.length > 0) fail(`changed ${list(changed.map((c) => `${c.name} (${c.ops.join("+")})`))}`);
                return "every resource unchanged";
            },
        },
        {
            id: "routing-change",
            run: async () => {
                const want =
                    expected.routingChanges ??
                    fail(`could not work out what the change should touch: ${expected.routingError ?? "unknown"}`);
                if (want.length === 0) fail("the routing change touches nothing under mocks, so it proves nothing");
                await mustStack().setConfig(routing);
                const got = changes(await up("up (reviews routing changed)")).map((c) => c.key);
                const extra = got.filter((k) => !want.includes(k));
                const absent = want.filter((k) => !got.includes(k));
                if (extra.length > 0 || absent.length > 0) {
                    fail(
                        [
                            extra.length > 0 ? `also changed ${list(extra.map(keyName))}` : "",
                            absent.length > 0 ? `did not change ${list(absent.map(keyName))}` : "",
                        ]
                            .filter((p) => p !== "")
                            .join("; "),
                    );
                }
                return `changed exactly ${list(want.map(keyName))}`;
            },
        },
        {
            id: "interrupted-up",
            run: async () => {
                await mustStack().setConfig(withWorkloadsOff(base));
                await up("up (Bookinfo and addons off, to have work to interrupt)");
                await mustStack().setConfig(base);
                const stop = new AbortController();
                let at: string | undefined;
                const r = await op("up (interrupted)", (o) => mustStack().up(o), {
                    signal: stop.signal,
                    onEvent: (e) => {
                        if (at === undefined && isInterruptPoint(e)) {
                            at = urnName(e.resourcePreEvent!.metadata.urn);
                            log(`  interrupting (SIGINT, as Ctrl-C does) as ${at} starts`);
                            stop.abort();
                        }
                    },
                });
                if (at === undefined) fail("nothing to interrupt: the up started no Helm release or Deployment");
                if (r.outcome.ok) fail(`the up finished although it was interrupted when ${at} started`);
                const events = await up("up (after the interruption)");
                const rest = changes(events);
                if (rest.length === 0) fail("the up after the interruption had nothing left to do, so the interruption stopped nothing");
                if (!verificationRan(events)) fail("the up after the interruption succeeded but the verification did not run");
                return `stopped as ${at} started; the next up made the other ${rest.length} changes and the verification passed`;
            },
        },
        {
            id: "destroy-then-up",
            run: async () => {
                const d = await op("destroy", (o) => mustStack().destroy({ ...o, remove: false }));
                if (!d.outcome.ok) fail(`destroy failed: ${failureReason(d.events, d.outcome)}`);
                const left = (await mustStack().resources()).filter((r) => r.type !== "pulumi:pulumi:Stack");
                if (left.length > 0) fail(`destroy left ${list(left.map((r) => urnName(r.urn)))} in the state`);
                if (await clusterExists()) fail(`destroy left kind cluster ${name}`);
                const events = await up("up (after destroy)");
                if (!verificationRan(events)) fail("the up after destroy succeeded but the verification did not run");
                return `destroy removed everything in ${formatDuration(d.seconds)}; the next up rebuilt it and the verification passed`;
            },
        },
        {
            id: "cluster-deleted",
            run: async () => {
                log(`> kind delete cluster --name ${name} (outside Pulumi)`);
                await ports.machine.deleteKindCluster(name);
                if (await clusterExists()) fail(`kind delete cluster left ${name} in place`);
                // Exactly what npm run deploy does, and what the README documents.
                const f = await facts();
                const decision = decideCluster(
                    "up",
                    name,
                    { mode: "kind", clusterName: name },
                    { docker: () => f.docker, kind: () => f.kind, clusterUrn: () => f.urn },
                );
                if (decision.kind === "stop") fail(`the documented recovery does not apply: ${decision.message}`);
                if (decision.before.length === 0 || decision.replace.length === 0) {
                    fail("the documented recovery does not apply: npm run deploy would neither refresh nor replace the cluster");
                }
                let dropped = 0;
                for (const pre of decision.before) {
                    const r = await op(`${pre.kind} (Docker running, cluster gone)`, (o) => mustStack().refresh(o));
                    if (!r.outcome.ok) fail(`the refresh failed: ${failureReason(r.events, r.outcome)}`);
                    dropped += droppedByRefresh(r.events);
                }
                if (dropped === 0) fail("the refresh dropped nothing from the state, so the replace would act on objects that are gone");
                const r = await op(`up --replace ${urnName(decision.replace[0])}`, (o) =>
                    mustStack().up({ ...o, replace: decision.replace }),
                );
                if (!r.outcome.ok) fail(`up --replace failed: ${failureReason(r.events, r.outcome)}`);
                if (!(await clusterExists())) fail(`up --replace succeeded but kind cluster ${name} does not exist`);
                if (!verificationRan(r.events)) fail("up --replace succeeded but the verification did not run");
                return `the refresh dropped ${dropped} objects of the missing cluster; up --replace rebuilt it and the verification passed`;
            },
        },
    ];

    let stopAt: string | undefined;
    for (const s of scenarios) {
        if (stopAt === undefined && interrupted()) stopAt = "not run: interrupted";
        if (stopAt !== undefined) {
            results.push({ id: s.id, title: TITLES[s.id], result: "SKIP", seconds: 0, reason: stopAt });
            continue;
        }
        const t = ports.now();
        log(`\n== ${TITLES[s.id]}`);
        try {
            const reason = await s.run();
            results.push({ id: s.id, title: TITLES[s.id], result: "PASS", seconds: Math.round((ports.now() - t) / 1000), reason });
        } catch (e) {
            const reason = e instanceof Failure ? e.message : `error: ${(e as Error).message}`;
            results.push({ id: s.id, title: TITLES[s.id], result: "FAIL", seconds: Math.round((ports.now() - t) / 1000), reason });
            stopAt = interrupted() ? "not run: interrupted" : `not run: ${TITLES[s.id]} failed`;
        }
        log(`${results[results.length - 1].result}: ${results[results.length - 1].reason}`);
    }

    const t = ports.now();
    if (options.keep) {
        results.push({
            id: "final-destroy",
            title: TITLES["final-destroy"],
            result: "SKIP",
            seconds: 0,
            reason: `--keep: stack and kind cluster ${name} left for inspection`,
        });
        if (backend) logKept(log, name, backend);
        return finish(results, [], timingsFile);
    }
    log(`\n== ${TITLES["final-destroy"]}`);
    const final = await finalDestroy(name, stack, backend, ports, op).catch((e: Error) => ({ ok: false, reason: `error: ${e.message}` }));
    results.push({
        id: "final-destroy",
        title: TITLES["final-destroy"],
        result: final.ok ? "PASS" : "FAIL",
        seconds: Math.round((ports.now() - t) / 1000),
        reason: final.reason,
    });
    log(`${final.ok ? "PASS" : "FAIL"}: ${final.reason}`);
    if (backend) await backend.cleanUp().catch((e: Error) => log(`warning: could not remove the temp files: ${e.message}`));
    return finish(results, [], timingsFile);
}

function keyName(key: string): string {
    return key.slice(key.lastIndexOf("::") + 2);
}

function logKept(log: (line: string) => void, name: string, backend: E2eBackend): void {
    const env = Object.entries(backend.shellEnv)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(" ");
    log(
        [
            `\n--keep: stack ${name} and kind cluster ${name} are left for inspection. From this directory:`,
            `  export ${env}`,
            `  pulumi stack output kubeconfig --show-secrets --stack ${name} > ${name}.kubeconfig`,
            `To remove them afterwards (the same exports):`,
            `  pulumi destroy --yes --remove --stack ${name} && rm -rf ${backend.leftovers.map((l) => JSON.stringify(l)).join(" ")}`,
        ].join("\n"),
    );
}

type OpRunner = (
    label: string,
    run: (o: OpOptions) => Promise<OpOutcome>,
    extra?: { readonly onEvent?: (e: EngineEvent) => void; readonly signal?: AbortSignal; readonly cleanup?: boolean },
) => Promise<{ outcome: OpOutcome; events: EngineEvent[]; seconds: number }>;

/**
 * Destroys the stack the way `npm run destroy` does (refreshing first when the cluster is gone), then
 * checks that no kind cluster, no node container and no stack are left. Whatever the destroy left,
 * it removes directly (kind delete cluster, pulumi stack rm --force), and reports the run as failed.
 */
async function finalDestroy(
    name: string,
    stack: E2eStack | undefined,
    backend: E2eBackend | undefined,
    ports: E2ePorts,
    op: OpRunner,
): Promise<{ ok: boolean; reason: string }> {
    const problems: string[] = [];
    const guarded: OpRunner = (label, run) =>
        op(label, run, { cleanup: true }).catch((e: Error) => ({ outcome: { ok: false, error: e.message }, events: [], seconds: 0 }));
    if (stack) {
        const docker = await ports.machine.docker();
        const kind = docker === "running" ? await ports.machine.kindClusters() : ({ installed: false } as KindState);
        const urn = kindClusterUrn(await stack.resources().catch(() => []));
        const decision = decideCluster(
            "destroy",
            name,
            { mode: "kind", clusterName: name },
            { docker: () => docker, kind: () => kind, clusterUrn: () => urn },
        );
        if (decision.kind === "stop") {
            problems.push(`destroy could not run: ${decision.message}`);
        } else {
            for (const pre of decision.before) {
                ports.log(pre.reason);
                const r = await guarded("refresh (before destroy)", (o) => stack.refresh(o));
                if (!r.outcome.ok) problems.push(`the refresh before destroy failed: ${failureReason(r.events, r.outcome)}`);
            }
            const d = await guarded("destroy --remove", (o) => stack.destroy({ ...o, remove: true }));
            if (!d.outcome.ok) problems.push(`destroy failed: ${failureReason(d.events, d.outcome)}`);
        }
    }
    const leftovers = async (): Promise<{ cluster: boolean; containers: readonly string[]; stack: boolean }> => {
        const k = await ports.machine.kindClusters();
        if (!k.installed || "error" in k)
            problems.push(`could not check for kind cluster ${name}: ${"error" in k ? k.error : "kind is not installed"}`);
        return {
            cluster: k.installed && "clusters" in k && k.clusters.includes(name),
            containers: await ports.machine.kindContainers(name).catch((e: Error) => {
                problems.push(`could not list the node containers of ${name}: ${e.message}`);
                return [];
            }),
            stack: backend ? (await backend.stackNames()).includes(name) : false,
        };
    };
    const left = await leftovers();
    const found = [
        left.cluster ? `kind cluster ${name}` : "",
        left.containers.length > 0 ? `containers ${list(left.containers)}` : "",
        left.stack ? `stack ${name}` : "",
    ].filter((f) => f !== "");
    if (found.length === 0 && problems.length === 0) return { ok: true, reason: "no kind cluster, no node containers and no stack left" };
    if (found.length > 0) {
        problems.push(`left behind: ${found.join(", ")}`);
        if (left.cluster || left.containers.length > 0) await ports.machine.deleteKindCluster(name).catch(() => undefined);
        if (left.stack && backend) await backend.removeStack(name).catch(() => undefined);
        const still = await leftovers();
        const after = [
            still.cluster ? `kind delete cluster --name ${name}` : "",
            still.containers.length > 0 ? `docker rm -f ${still.containers.join(" ")}` : "",
            still.stack ? `pulumi stack rm --force --stack ${name}` : "",
        ].filter((f) => f !== "");
        problems.push(after.length === 0 ? "removed them directly" : `STILL LEFT, remove by hand: ${after.join("; ")}`);
    }
    return { ok: false, reason: problems.join("; ") };
}
