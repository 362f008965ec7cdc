/**
 * A stack lock left by a Pulumi that no longer runs. A file backend locks a stack with a file
 * `.pulumi/locks/<stack's qualified name>/<id>.json` holding the pid, user and host of the CLI
 * that took it (pulumi pkg/backend/diy/lock.go: lockContent, stackLockDir), and deletes it when
 * the operation ends. A CLI that is killed (SIGKILL, a power loss) leaves it, and every later
 * command stops with "the stack is currently locked". Only a lock proven stale is removed: taken
 * on this machine by a process that no longer runs. Pure; tools/deploy/execute.ts acts on it.
 */
import * as path from "path";

/** One lock file, with what it says about its owner (nothing when it could not be read). */
export interface StackLock {
    readonly file: string;
    readonly pid?: number;
    readonly username?: string;
    readonly hostname?: string;
    readonly timestamp?: string;
}

/**
 * Where a backend keeps the stack's locks, or none for a backend that is not a folder. A project's
 * stack is `organization/<project>/<stack>` on a file backend; a backend of the older layout
 * keeps `<stack>` at the top (pkg/backend/diy/store.go).
 */
export function lockDirs(backendUrl: string, project: string, stack: string): string[] {
    if (!backendUrl.startsWith("file://")) return [];
    const root = path.join(backendUrl.slice("file://".length), ".pulumi", "locks");
    return [path.join(root, "organization", project, stack), path.join(root, stack)];
}

/** A lock file's owner, from its JSON. */
export function parseLock(file: string, text: string): StackLock {
    try {
        const l = JSON.parse(text) as { pid?: unknown; username?: unknown; hostname?: unknown; timestamp?: unknown };
        const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
        return {
            file,
            pid: typeof l.pid === "number" && Number.isInteger(l.pid) && l.pid > 0 ? l.pid : undefined,
            username: str(l.username),
            hostname: str(l.hostname),
            timestamp: str(l.timestamp),
        };
    } catch {
        return { file };
    }
}

/** What to do about the stack's locks. */
export type LockDecision =
    | { readonly kind: "free" }
    | { readonly kind: "stale"; readonly files: readonly string[]; readonly message: string }
    | { readonly kind: "held"; readonly message: string };

/** Decides whether the stack's locks are free, stale (removable) or held by a Pulumi that may still run. */
export function decideLocks(
    locks: readonly StackLock[],
    here: { readonly hostname: string; readonly alive: (pid: number) => boolean },
    stack: string,
    again: string,
): LockDecision {
    if (locks.length === 0) return { kind: "free" };
    const by = (l: StackLock): string =>
        `${l.username ?? "?"}@${l.hostname ?? "?"} (pid ${l.pid ?? "?"}${l.timestamp ? `, at ${l.timestamp}` : ""})`;
    const cancel = `If no Pulumi runs on stack ${stack} any more, remove the lock with pulumi cancel --yes --stack ${stack}, then run ${again} again.`;
    const unknown = locks.find((l) => l.pid === undefined || l.hostname === undefined);
    if (unknown)
        return { kind: "held", message: `stack ${stack} is locked (${unknown.file}), and the lock does not say by whom. ${cancel}` };
    const elsewhere = locks.find((l) => l.hostname !== here.hostname);
    if (elsewhere) {
        return {
            kind: "held",
            message: `stack ${stack} is locked by ${by(elsewhere)}, on another machine: wait for that run to end. ${cancel}`,
        };
    }
    const running = locks.find((l) => here.alive(l.pid!));
    if (running) {
        return {
            kind: "held",
            message: `stack ${stack} is locked by ${by(running)}, which still runs on this machine: wait for it to end, then run ${again} again. ${cancel}`,
        };
    }
    return {
        kind: "stale",
        files: locks.map((l) => l.file),
        message: `stack ${stack} is locked by ${locks.map(by).join(", ")}, which no longer ${locks.length === 1 ? "runs" : "run"} on this machine (killed or crashed): removing ${locks.length === 1 ? "its lock" : "their locks"}.`,
    };
}
