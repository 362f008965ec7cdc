/** The scenarios' results and the run's report, as a table and as JSON. Pure. */
import { formatDuration } from "../timing";

/** The scenarios, in the order they run. */
export type ScenarioId =
    | "fresh-up"
    | "no-change-up"
    | "routing-change"
    | "interrupted-up"
    | "killed-up"
    | "destroy-then-up"
    | "cluster-deleted"
    | "canary-upgrade"
    | "warm-recreate"
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

export const TITLES: Readonly<Record<ScenarioId, string>> = {
    "fresh-up": "fresh up, verification passing",
    "no-change-up": "second up changes nothing",
    "routing-change": "routing change updates only its objects",
    "interrupted-up": "interrupted up, then a plain up",
    "killed-up": "up killed (SIGKILL) mid Helm install, then npm run deploy",
    "destroy-then-up": "destroy, then up again",
    "cluster-deleted": "kind cluster deleted, documented recovery",
    "canary-upgrade": "switched to revisions, default tag moved and back, no non-2xx answer",
    "warm-recreate": "destroy, re-create with warm image caches",
    "final-destroy": "final destroy leaves nothing behind",
};

/** A list for a reason, cut after `max` items. */
export function list(items: readonly string[], max = 6): string {
    return items.length <= max ? items.join(", ") : `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
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
