/**
 * `npm run cache -- status | prune`: the image caches of the kind stacks on this machine
 * (components/cluster/imageCache.ts). `status` says what each holds (its blobs, their size, its
 * repositories) and what it fetched from upstream since it started; `prune` removes the caches
 * and their volumes. Both touch only containers and volumes labelled as caches: that label is the
 * proof that a container is the stack's, and nothing without it is listed or removed.
 */
import { spawnSync } from "child_process";
import { CACHE_LABEL, CACHED_REGISTRIES } from "../components/cluster/imageCache";
import { dockerState, type Captured } from "./deploy/facts";
import { COMMANDS, helpText } from "./commandLine";
import { CacheSnapshot, formatBytes, parseSnapshot, snapshotArgv } from "./cache/records";

/** What the command needs from the machine. */
export interface CacheMachine {
    capture(argv: readonly string[]): Captured;
    log(line: string): void;
}

/** One cache: its container and volume, either of which may be gone. */
export interface CacheEntry {
    readonly registry: string;
    readonly container?: string;
    /** Docker's state of the container: running, exited, ... */
    readonly state?: string;
    readonly volume?: string;
    /** What a running cache reported. */
    readonly snapshot?: CacheSnapshot;
}

/** The command's help, with the registries it caches by default. */
export const USAGE = `${helpText(COMMANDS.cache)}\n  By default a kind stack caches ${CACHED_REGISTRIES.join(", ")}; only containers and volumes labelled ${CACHE_LABEL} are caches.`;

const lines = (text: string): string[] =>
    text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "");

/** The caches on this machine, by registry, with a snapshot of each running one. */
export function listCaches(m: CacheMachine): CacheEntry[] {
    const filter = `label=${CACHE_LABEL}`;
    const ps = m.capture(["docker", "ps", "--all", "--filter", filter, "--format", `{{.Names}}\t{{.Label "${CACHE_LABEL}"}}\t{{.State}}`]);
    if (ps.status !== 0) throw new Error(`docker ps failed: ${ps.stderr.trim() || `exit status ${ps.status}`}`);
    const vols = m.capture(["docker", "volume", "ls", "--filter", filter, "--format", `{{.Name}}\t{{.Label "${CACHE_LABEL}"}}`]);
    if (vols.status !== 0) throw new Error(`docker volume ls failed: ${vols.stderr.trim() || `exit status ${vols.status}`}`);
    const byRegistry = new Map<string, { container?: string; state?: string; volume?: string }>();
    const entry = (registry: string) => byRegistry.get(registry) ?? byRegistry.set(registry, {}).get(registry)!;
    for (const line of lines(ps.stdout)) {
        const [container, registry, state] = line.split("\t");
        Object.assign(entry(registry ?? ""), { container, state });
    }
    for (const line of lines(vols.stdout)) {
        const [volume, registry] = line.split("\t");
        entry(registry ?? "").volume = volume;
    }
    return [...byRegistry]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([registry, e]) => {
            if (e.state !== "running" || !e.container) return { registry, ...e };
            const s = m.capture(snapshotArgv(e.container));
            return { registry, ...e, snapshot: s.status === 0 ? parseSnapshot(s.stdout) : undefined };
        });
}

/** The status report. */
export function renderStatus(entries: readonly CacheEntry[]): string {
    if (entries.length === 0) {
        return "No image caches on this machine. A kind stack with kind.imageCache on (the default) makes them on its next pulumi up.";
    }
    const out = ["Image caches on this machine (shared by every kind stack; pulumi destroy leaves them):"];
    for (const e of entries) {
        const name = e.container ?? e.volume ?? e.registry;
        if (!e.container) {
            out.push(
                `  ${e.registry}: volume ${e.volume} without its container; pulumi up makes it again, npm run cache -- prune removes it.`,
            );
            continue;
        }
        if (e.state !== "running") {
            out.push(
                `  ${e.registry}: ${name} is ${e.state ?? "not running"}; docker start ${name} (or the next pulumi up) starts it again.`,
            );
            continue;
        }
        const s = e.snapshot;
        if (!s) {
            out.push(`  ${e.registry}: ${name} is running but did not say what it holds (docker exec failed).`);
            continue;
        }
        const bytes = s.blobs.reduce((n, b) => n + b.bytes, 0);
        const repos =
            s.repositories.length === 0 ? "no repositories yet" : `${s.repositories.length} repositories: ${s.repositories.join(", ")}`;
        out.push(`  ${e.registry}: ${name}, volume ${e.volume ?? "(none)"}: ${s.blobs.length} blobs, ${formatBytes(bytes)}; ${repos}`);
        if (s.counters) {
            out.push(
                `    since it started: ${s.counters.misses} blobs fetched from upstream (${formatBytes(s.counters.bytesPulled)}), ${s.counters.hits} served from the cache`,
            );
        }
    }
    out.push("Remove them all: npm run cache -- prune");
    return out.join("\n");
}

/** Removes every cache container, then every cache volume; the exit status. */
export function prune(m: CacheMachine): number {
    const entries = listCaches(m);
    const containers = entries.flatMap((e) => (e.container ? [e.container] : []));
    const volumes = entries.flatMap((e) => (e.volume ? [e.volume] : []));
    if (containers.length === 0 && volumes.length === 0) {
        m.log("No image caches on this machine; nothing to remove.");
        return 0;
    }
    let failed = false;
    if (containers.length > 0) {
        const r = m.capture(["docker", "rm", "--force", ...containers]);
        if (r.status === 0) m.log(`Removed the cache containers ${containers.join(", ")}.`);
        else {
            failed = true;
            m.log(`error: docker rm failed: ${r.stderr.trim()}`);
        }
    }
    if (volumes.length > 0 && !failed) {
        const r = m.capture(["docker", "volume", "rm", ...volumes]);
        if (r.status === 0) m.log(`Removed the cache volumes ${volumes.join(", ")} and what they held.`);
        else {
            failed = true;
            m.log(`error: docker volume rm failed: ${r.stderr.trim()}`);
        }
    }
    if (!failed) {
        m.log(
            "Running kind clusters now pull from upstream; the caches come back with the next re-creation of a cluster (pulumi destroy, then pulumi up).",
        );
    }
    return failed ? 1 : 0;
}

/** The command; its exit status. */
export function main(argv: readonly string[], m: CacheMachine): number {
    const [command, ...rest] = argv;
    if (command === undefined || command === "--help" || command === "-h" || command === "help") {
        m.log(USAGE);
        return command === undefined ? 2 : 0;
    }
    if ((command !== "status" && command !== "prune") || rest.length > 0) {
        m.log(`error: unknown command ${JSON.stringify([command, ...rest].join(" "))}: use status or prune; see npm run cache -- --help`);
        return 2;
    }
    const docker = m.capture(["docker", "info"]);
    const state = dockerState(docker);
    if (state !== "running") {
        m.log(
            state === "missing"
                ? "error: docker was not found on PATH; the image caches live in Docker."
                : "error: Docker is not running (docker info failed). Start Docker Desktop or the Docker service, then run the command again.",
        );
        return 1;
    }
    try {
        if (command === "prune") return prune(m);
        m.log(renderStatus(listCaches(m)));
        return 0;
    } catch (e) {
        m.log(`error: ${(e as Error).message}`);
        return 1;
    }
}

/** This machine, with `env` added to the commands' environment. */
export function machineWith(env: Record<string, string> = {}, log: (line: string) => void = (l) => console.log(l)): CacheMachine {
    return {
        capture(argv) {
            const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
            const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
            return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", missing };
        },
        log,
    };
}

if (require.main === module) process.exit(main(process.argv.slice(2), machineWith()));
