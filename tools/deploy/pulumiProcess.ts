/**
 * Runs a Pulumi command attached to the terminal and passes signals on to it the way the CLI
 * expects them, then waits for it to end and returns its exit status.
 *
 * The CLI cancels gracefully on its first SIGINT or SIGTERM and terminates at once on the second
 * (pulumi pkg/backend/cancellation.go: `signal.Notify(c.sigint, os.Interrupt, syscall.SIGTERM)`,
 * "^C received; cancelling. If you would like to terminate immediately, press ^C again."). It
 * does not handle SIGHUP, so a closed terminal would kill it mid-operation. So:
 *
 * - Pulumi runs in its own session and process group (`detached`): the terminal's Ctrl-C reaches
 *   only the wrapper, which passes exactly one SIGINT on. Without that Pulumi would get the
 *   terminal's SIGINT and the wrapper's, and take the pair for "terminate immediately".
 * - Under `npm run`, one Ctrl-C reaches the wrapper twice: from the terminal (the whole foreground
 *   process group) and from npm, which forwards SIGINT and SIGTERM to its script
 *   (@npmcli/run-script lib/signal-manager.js). A signal repeated within {@link DEDUPE_MS} is one.
 * - SIGHUP is passed on as SIGTERM, Pulumi's other graceful signal.
 * - The wrapper never exits before Pulumi does, so the prompt returns only once the stack's lock
 *   is released and its checkpoint written.
 */
import { spawn } from "child_process";
import { constants } from "os";

/** The signals the wrapper passes on while Pulumi runs. */
export type ForwardedSignal = "SIGINT" | "SIGTERM" | "SIGHUP";
const FORWARDED: readonly ForwardedSignal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** Two deliveries of one signal closer than this are one user action (npm's copy of the terminal's). */
export const DEDUPE_MS = 500;

/**
 * What to send Pulumi for each signal the wrapper receives, at a time in milliseconds; undefined
 * for a copy of one just sent. Pure; a new policy for each Pulumi process.
 */
export function signalPolicy(dedupeMs: number = DEDUPE_MS): (signal: ForwardedSignal, at: number) => "SIGINT" | "SIGTERM" | undefined {
    const last = new Map<string, number>();
    return (signal, at) => {
        const send = signal === "SIGINT" ? "SIGINT" : "SIGTERM";
        const previous = last.get(send);
        if (previous !== undefined && at - previous < dedupeMs) return undefined;
        last.set(send, at);
        return send;
    };
}

/** The exit status of a process that ended with `code` or was killed by `signal`, as a shell reports it. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
    if (code !== null) return code;
    const number = signal ? constants.signals[signal] : undefined;
    return number === undefined ? 1 : 128 + number;
}

/** Runs `argv` (a Pulumi command) attached to the terminal, passing signals on; its exit status. */
export function runPulumi(
    argv: readonly string[],
    options: { readonly env: NodeJS.ProcessEnv; readonly cwd: string; readonly dedupeMs?: number; readonly log?: (line: string) => void },
): Promise<number> {
    return new Promise((resolve) => {
        const child = spawn(argv[0], argv.slice(1), { stdio: "inherit", env: options.env, cwd: options.cwd, detached: true });
        const policy = signalPolicy(options.dedupeMs);
        const handlers = FORWARDED.map((signal) => {
            const handler = (): void => {
                const send = policy(signal, Date.now());
                if (send === undefined || child.pid === undefined || child.exitCode !== null) return;
                try {
                    child.kill(send);
                } catch {
                    // Already gone: its exit is on its way.
                }
            };
            process.on(signal, handler);
            return { signal, handler };
        });
        let ended = false;
        const done = (status: number): void => {
            if (ended) return;
            ended = true;
            for (const { signal, handler } of handlers) process.off(signal, handler);
            resolve(status);
        };
        child.on("error", (e) => {
            options.log?.(`error: could not run ${argv[0]}: ${e.message}`);
            done(127);
        });
        child.on("exit", (code, signal) => done(exitStatus(code, signal)));
    });
}
