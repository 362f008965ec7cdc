/**
 * The lifecycle scenarios, in the order they run, and the rule each one passes by. Each scenario
 * reaches Pulumi and the machine only through a {@link ScenarioContext}, which the runner builds.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { decideCluster, DockerState, KindState } from "../deploy/clusterDecision";
import { analyzeTimings, dependenciesFromState, formatDuration, renderTimings, Timings, urnName } from "../timing";
import { Config, withWorkloadsOff } from "./config";
import { changes, droppedByRefresh, failureReason, isHelmInstall, isInterruptPoint, verificationRan } from "./events";
import type { E2eMachine, E2eStack, Expectations, OpRunner } from "./ports";
import { list, ScenarioId } from "./report";
import { fail } from "./failure";
import { warmRecreate } from "./warmCache";

// Kept here too, where the runner and the scenarios have always found them.
export { fail, Failure } from "./failure";

/** What a scenario may use: the stack, its operations and the machine. */
export interface ScenarioContext {
    readonly name: string;
    readonly env: string;
    readonly outDir: string;
    /** The throwaway stack's config, and the same with the routing change. */
    readonly base: Config;
    readonly routing: Config;
    readonly expected: Expectations;
    readonly machine: E2eMachine;
    log(line: string): void;
    writeFile(file: string, content: string): void;
    /** Opens the throwaway backend and creates the stack with `base`. */
    createStack(): Promise<E2eStack>;
    /** The stack; fails the scenario when it was not created. */
    stack(): E2eStack;
    readonly op: OpRunner;
    /** An `up` that must succeed; its events. */
    up(label: string): Promise<EngineEvent[]>;
    /** Whether kind lists the stack's cluster; fails the scenario when kind cannot tell. */
    clusterExists(): Promise<boolean>;
    /** What the cluster decision needs: Docker, kind and the stack's kind cluster URN. */
    facts(): Promise<{ docker: DockerState; kind: KindState; urn?: string }>;
    /** Records the fresh up's timings file for the report. */
    timingsWritten(file: string): void;
}

/** One scenario: its id and what it does, returning the reason it passed. */
export interface Scenario {
    readonly id: Exclude<ScenarioId, "final-destroy">;
    readonly run: () => Promise<string>;
}

function keyName(key: string): string {
    return key.slice(key.lastIndexOf("::") + 2);
}

/** The scenarios of a run, in order (the final destroy runs apart: it always runs). */
export function scenarios(ctx: ScenarioContext): Scenario[] {
    const { name, log } = ctx;
    let freshEvents: EngineEvent[] | undefined;
    return [
        {
            id: "fresh-up",
            run: async () => {
                await ctx.createStack();
                const events = await ctx.up("up (fresh)");
                freshEvents = events;
                if (!verificationRan(events)) fail("the up succeeded but the stack's verification step did not run");
                const timings: Timings = analyzeTimings(events, {
                    dependencies: dependenciesFromState(await ctx.stack().resources()),
                    predicted: ctx.expected.predicted,
                });
                log(`\n${renderTimings(timings, `fresh up of ${name}`)}\n`);
                const timingsFile = `${ctx.outDir}/e2e-${ctx.env}-fresh-up.timings.json`;
                ctx.writeFile(timingsFile, `${JSON.stringify({ stack: name, ...timings }, null, 2)}\n`);
                ctx.timingsWritten(timingsFile);
                const created = changes(events).length;
                return `${created} resources created in ${formatDuration(timings.wallSeconds)}; the verification passed`;
            },
        },
        {
            id: "no-change-up",
            run: async () => {
                const changed = changes(await ctx.up("up (no change)"));
                if (changed.length > 0) fail(`changed ${list(changed.map((c) => `${c.name} (${c.ops.join("+")})`))}`);
                return "every resource unchanged";
            },
        },
        {
            id: "routing-change",
            run: async () => {
                const want =
                    ctx.expected.routingChanges ??
                    fail(`could not work out what the change should touch: ${ctx.expected.routingError ?? "unknown"}`);
                if (want.length === 0) fail("the routing change touches nothing under mocks, so it proves nothing");
                await ctx.stack().setConfig(ctx.routing);
                const got = changes(await ctx.up("up (reviews routing changed)")).map((c) => c.key);
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
                await ctx.stack().setConfig(withWorkloadsOff(ctx.base));
                await ctx.up("up (Bookinfo and addons off, to have work to interrupt)");
                await ctx.stack().setConfig(ctx.base);
                const stop = new AbortController();
                let at: string | undefined;
                const r = await ctx.op("up (interrupted)", (o) => ctx.stack().up(o), {
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
                const events = await ctx.up("up (after the interruption)");
                const rest = changes(events);
                if (rest.length === 0) fail("the up after the interruption had nothing left to do, so the interruption stopped nothing");
                if (!verificationRan(events)) fail("the up after the interruption succeeded but the verification did not run");
                return `stopped as ${at} started; the next up made the other ${rest.length} changes and the verification passed`;
            },
        },
        {
            id: "killed-up",
            run: async () => {
                await ctx.stack().setConfig(withWorkloadsOff(ctx.base));
                await ctx.up("up (addons off, to have Helm releases to install)");
                await ctx.stack().setConfig(ctx.base);
                let at: { name: string; urn: string } | undefined;
                const killed = await ctx.op("up (killed with SIGKILL as a Helm release installs)", (o) =>
                    ctx.stack().upKilled({
                        onEvent: o.onEvent,
                        killAt: (e) => {
                            if (at !== undefined || !isHelmInstall(e)) return false;
                            const urn = e.resourcePreEvent!.metadata.urn;
                            at = { name: urnName(urn), urn };
                            log(`  killing pulumi up and its plugins (SIGKILL to the process group) while ${at.name} installs`);
                            return true;
                        },
                    }),
                );
                if (at === undefined) fail("nothing to kill: the up installed no Helm release");
                if (killed.outcome.ok) fail(`the up finished although it was killed while ${at.name} installed`);
                const pending = await ctx.stack().pendingOperations();
                if (!pending.some((p) => p.urn === at!.urn && p.type === "creating")) {
                    fail(`the kill left no pending create of ${at.name}, so the recovery was not exercised`);
                }
                const d = await ctx.op("npm run deploy (recovery, then up)", (o) => ctx.stack().deploy(o));
                if (!d.outcome.ok) fail(`npm run deploy failed after the kill: ${failureReason(d.events, d.outcome)}`);
                if (!verificationRan(d.events)) fail("npm run deploy succeeded after the kill but the verification did not run");
                const left = await ctx.stack().pendingOperations();
                if (left.length > 0)
                    fail(`npm run deploy left pending operations: ${list(left.map((p) => `${urnName(p.urn)} (${p.type})`))}`);
                return `killed while ${at.name} installed (${pending.length} pending operations left); npm run deploy recovered, the verification passed and no pending operation is left`;
            },
        },
        {
            id: "destroy-then-up",
            run: async () => {
                const d = await ctx.op("destroy", (o) => ctx.stack().destroy({ ...o, remove: false }));
                if (!d.outcome.ok) fail(`destroy failed: ${failureReason(d.events, d.outcome)}`);
                const left = (await ctx.stack().resources()).filter((r) => r.type !== "pulumi:pulumi:Stack");
                if (left.length > 0) fail(`destroy left ${list(left.map((r) => urnName(r.urn)))} in the state`);
                if (await ctx.clusterExists()) fail(`destroy left kind cluster ${name}`);
                const events = await ctx.up("up (after destroy)");
                if (!verificationRan(events)) fail("the up after destroy succeeded but the verification did not run");
                return `destroy removed everything in ${formatDuration(d.seconds)}; the next up rebuilt it and the verification passed`;
            },
        },
        {
            id: "cluster-deleted",
            run: async () => {
                log(`> kind delete cluster --name ${name} (outside Pulumi)`);
                await ctx.machine.deleteKindCluster(name);
                if (await ctx.clusterExists()) fail(`kind delete cluster left ${name} in place`);
                // Exactly what npm run deploy does, and what the README documents.
                const f = await ctx.facts();
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
                    const r = await ctx.op(`${pre.kind} (Docker running, cluster gone)`, (o) => ctx.stack().refresh(o));
                    if (!r.outcome.ok) fail(`the refresh failed: ${failureReason(r.events, r.outcome)}`);
                    dropped += droppedByRefresh(r.events);
                }
                if (dropped === 0) fail("the refresh dropped nothing from the state, so the replace would act on objects that are gone");
                const r = await ctx.op(`up --replace ${urnName(decision.replace[0])}`, (o) =>
                    ctx.stack().up({ ...o, replace: decision.replace }),
                );
                if (!r.outcome.ok) fail(`up --replace failed: ${failureReason(r.events, r.outcome)}`);
                if (!(await ctx.clusterExists())) fail(`up --replace succeeded but kind cluster ${name} does not exist`);
                if (!verificationRan(r.events)) fail("up --replace succeeded but the verification did not run");
                return `the refresh dropped ${dropped} objects of the missing cluster; up --replace rebuilt it and the verification passed`;
            },
        },
        warmRecreate(ctx, () => freshEvents),
    ];
}
