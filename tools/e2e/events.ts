/** What an operation's engine events say: what changed, whether the verification ran, why it failed. Pure. */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { urnName } from "../timing";
import type { OpOutcome } from "./ports";

/** Steps that change nothing. */
const NO_CHANGE = new Set(["same", "read", "refresh"]);
/** The verification's command (components/verify/deploymentCheck.ts), by type so that its name may change. */
const VERIFICATION = "istio-mesh:index:DeploymentCheck$command:local:Command::";

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

/** The point where the runner kills an up: the first Helm release it starts installing. */
export function isHelmInstall(e: EngineEvent): boolean {
    const m = e.resourcePreEvent?.metadata;
    return m !== undefined && (m.op === "create" || m.op === "create-replacement") && m.type === "kubernetes:helm.sh/v3:Release";
}
