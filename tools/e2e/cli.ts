/**
 * The two operations of the killed-up scenario that the Automation API cannot run: a `pulumi up`
 * killed the hard way, and `npm run deploy` itself on the throwaway stack. The Automation API runs
 * the CLI in the runner's own process group and only ever sends it SIGINT (@pulumi/pulumi
 * automation/cmd.js: execa, `proc.kill("SIGINT")`), so the killed up is spawned here, in a group of
 * its own, which SIGKILL then ends whole: the CLI and every plugin it started, as a power loss would.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { projectDefaults } from "../deploy/clusterDecision";
import { executePlan } from "../deploy/execute";
import { Plan, stackSteps } from "../deploy/plan";
import { machineShell } from "../deploy/shell";
import { parseEventLog } from "../timing";
import type { OpOutcome } from "./ports";

/** How long after the kill point the group is killed: long enough for Helm to have written its pending record. */
export const KILL_AFTER_MS = 5000;

/** The complete lines of an event log after `offset`, and where the next read starts. */
export function newEvents(text: string, offset: number): { events: EngineEvent[]; offset: number } {
    const end = text.lastIndexOf("\n") + 1;
    if (end <= offset) return { events: [], offset };
    return { events: parseEventLog(text.slice(offset, end)), offset: end };
}

/** Runs `pulumi up` on `stack` in a process group of its own and SIGKILLs the group `killAfterMs` after `killAt` accepts an event. */
export function killedUp(
    stack: string,
    env: NodeJS.ProcessEnv,
    cwd: string,
    eventLog: string,
    options: { readonly onEvent: (e: EngineEvent) => void; readonly killAt: (e: EngineEvent) => boolean },
    killAfterMs: number = KILL_AFTER_MS,
): Promise<OpOutcome> {
    fs.rmSync(eventLog, { force: true });
    const child = spawn("pulumi", ["up", "--yes", "--skip-preview", "--stack", stack, "--event-log", eventLog], {
        detached: true,
        stdio: ["ignore", "inherit", "inherit"],
        env,
        cwd,
    });
    let offset = 0;
    let timer: NodeJS.Timeout | undefined;
    const group = (signal: NodeJS.Signals | 0): boolean => {
        try {
            process.kill(-child.pid!, signal);
            return true;
        } catch {
            return false;
        }
    };
    const read = (): void => {
        if (!fs.existsSync(eventLog)) return;
        const next = newEvents(fs.readFileSync(eventLog, "utf8"), offset);
        offset = next.offset;
        for (const e of next.events) {
            options.onEvent(e);
            if (timer === undefined && options.killAt(e)) timer = setTimeout(() => group("SIGKILL"), killAfterMs);
        }
    };
    const poll = setInterval(read, 250);
    return new Promise((resolve) => {
        child.on("error", (e) => {
            clearInterval(poll);
            resolve({ ok: false, error: e.message });
        });
        child.on("exit", async (code, signal) => {
            clearInterval(poll);
            read();
            if (timer) clearTimeout(timer);
            // The plugins die with the group; wait until none is left, so that nothing still writes.
            for (let i = 0; i < 120 && group(0); i++) await new Promise((r) => setTimeout(r, 250));
            resolve(
                code === 0 ? { ok: true } : { ok: false, error: signal ? `pulumi up was killed (${signal})` : `pulumi up exited ${code}` },
            );
        });
    });
}

/** `npm run deploy`'s steps on `stack` (tools/deploy/execute.ts), with its event log in `state`; replays that log to `onEvent`. */
export async function deployStack(
    stack: string,
    env: Record<string, string>,
    root: string,
    state: string,
    onEvent: (e: EngineEvent) => void,
): Promise<OpOutcome> {
    const steps = stackSteps("up", stack, env.PULUMI_BACKEND_URL ?? "", state);
    const plan: Plan = { action: "up", stack, env, files: [], dirs: [], steps };
    const eventLog = `${state}/${stack}.events.jsonl`;
    fs.rmSync(eventLog, { force: true });
    const status = await executePlan(plan, machineShell(root), {
        projectDefaults: projectDefaults(root),
        kube: (kubeconfig, context) =>
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            (require("../../scripts/kubeApi") as typeof import("../../scripts/kubeApi")).kubeApiFrom(kubeconfig, context),
    });
    if (fs.existsSync(eventLog)) for (const e of parseEventLog(fs.readFileSync(eventLog, "utf8"))) onEvent(e);
    return status === 0 ? { ok: true } : { ok: false, error: `npm run deploy's steps exited ${status}` };
}
