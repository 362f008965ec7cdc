/** What Docker, kind and a state export say, read from the commands' captured output. Pure. */
import type { StateResource } from "../timing";
import type { DockerState, KindState } from "./clusterDecision";

/** A command's outcome; `missing` when the program is not on PATH. */
export interface Captured {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly missing: boolean;
}

/** `docker info`'s outcome as a state. */
export function dockerState(c: Captured): DockerState {
    return c.missing ? "missing" : c.status === 0 ? "running" : "stopped";
}

/** `kind get clusters`'s outcome (it lists one name a line; "No kind clusters found." goes to stderr). */
export function kindState(c: Captured): KindState {
    if (c.missing) return { installed: false };
    if (c.status !== 0) return { installed: true, error: c.stderr.trim().split("\n").pop() || `exit status ${c.status}` };
    return {
        installed: true,
        clusters: c.stdout
            .split("\n")
            .map((l) => l.trim())
            .filter((l) => l !== ""),
    };
}

/** The resources of a `pulumi stack export`. */
export function stateResources(exportJson: string): StateResource[] {
    const parsed = JSON.parse(exportJson) as { deployment?: { resources?: StateResource[] } };
    return parsed.deployment?.resources ?? [];
}

/** The kind cluster's command in the state: the `command:local:Command` child of a KindCluster component. */
export function kindClusterUrn(resources: readonly StateResource[]): string | undefined {
    return resources.find(
        (r) => r.type === "command:local:Command" && r.urn.includes("::istio-mesh:index:KindCluster$command:local:Command::"),
    )?.urn;
}
