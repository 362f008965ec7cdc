/**
 * The logic of `npm run e2e -- [env]`: the preflight, the scenarios (tools/e2e/scenarios.ts) in
 * order, stopping at the first failure or the user's Ctrl-C, then the final destroy that always
 * runs (tools/e2e/cleanup.ts), and the report (tools/e2e/report.ts). It talks to Pulumi and the
 * machine only through tools/e2e/ports.ts, so tests drive it with fakes that replay engine events;
 * tools/e2e.ts binds them to the Automation API, Docker and kind.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { PORT_ROLES } from "../../components/ports";
import { KIND_VERSION } from "../../components/versions";
import type { DockerState, KindState } from "../deploy/clusterDecision";
import { kindClusterUrn } from "../deploy/facts";
import { finalDestroy, logKept } from "./cleanup";
import { e2eStackConfig, PREFIX, withRoutingChange } from "./config";
import { failureReason } from "./events";
import type { E2eBackend, E2eMachine, E2eOptions, E2ePorts, E2eStack, Expectations, OpOutcome, OpRunner } from "./ports";
import { E2eReport, renderReport, ScenarioResult, TITLES } from "./report";
import { fail, Failure, ScenarioContext, scenarios } from "./scenarios";
import { canaryScenario } from "./canary";

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

export async function runE2e(options: E2eOptions, ports: E2ePorts): Promise<E2eReport> {
    const started = ports.now();
    const { log } = ports;
    const name = options.name;
    const reportFile = `${options.outDir}/e2e-${options.env}.json`;
    const finish = (results: ScenarioResult[], missing: string[] = [], timingsFile?: string): E2eReport => {
        const failed = results.some((s) => s.result === "FAIL");
        const report: E2eReport = {
            env: options.env,
            stack: name,
            cluster: name,
            startedAt: new Date(started).toISOString(),
            seconds: Math.round((ports.now() - started) / 1000),
            passed: missing.length === 0 && !failed,
            exitCode: missing.length > 0 ? 2 : failed ? 1 : 0,
            missing,
            scenarios: results,
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

    const ctx: ScenarioContext = {
        name,
        env: options.env,
        outDir: options.outDir,
        base,
        routing,
        expected,
        machine: ports.machine,
        log,
        writeFile: (file, content) => ports.writeFile(file, content),
        createStack: async () => {
            backend = await ports.openBackend();
            stack = await backend.createStack(name, base);
            return stack;
        },
        stack: mustStack,
        op,
        up,
        clusterExists,
        facts,
        timingsWritten: (file) => void (timingsFile = file),
    };

    let stopAt: string | undefined;
    const planned = scenarios(ctx);
    // --canary: before the destroy, which leaves the next scenarios a fresh install either way.
    if (options.canary)
        planned.splice(
            planned.findIndex((s) => s.id === "destroy-then-up"),
            0,
            canaryScenario(ctx),
        );
    for (const s of planned) {
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
