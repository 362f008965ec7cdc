/**
 * The prerequisites of this stack on this machine, each checked on its own and reported with its
 * fix: Node.js, the Pulumi CLI, Docker and the CPUs and memory it gives, kind at exactly the pinned
 * version, Linux's inotify limits, the stack's host ports and its config. `npm run doctor` runs
 * them all; deploy, destroy, refresh, preview and e2e run the ones they need before they create
 * anything (tools/preflight.ts). The checks are pure: the machine comes in as {@link DoctorMachine}.
 */
import * as semver from "semver";
import { ConfigError, RawConfig, StackConfig, validateConfig } from "../components/config";
import { PortRole, PORT_ROLES } from "../components/ports";
import { KIND_VERSION } from "../components/versions";
import { installDescription, PulumiCli } from "./pulumiCli";

/** A command's outcome; `missing` when the program is not on PATH. */
export interface Ran {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly missing: boolean;
}

/** Whether a host port can be bound: `untestable` when this user may not bind it (a port below 1024). */
export type PortState = "free" | "busy" | "untestable";

/** What the checks ask of the machine. */
export interface DoctorMachine {
    /** Runs a command and captures its output. */
    capture(argv: readonly string[]): Promise<Ran>;
    /** A file's text, undefined when it cannot be read. */
    readFile(file: string): string | undefined;
    /** Whether `port` on `host` can be bound now. */
    port(host: string, port: number): Promise<PortState>;
    /** The Pulumi CLI the commands would run. */
    pulumiCli(): Promise<PulumiCli>;
    readonly platform: NodeJS.Platform;
    /** process.arch */
    readonly arch: string;
    /** process.version, `v20.20.2` */
    readonly nodeVersion: string;
}

/** The result of one check. */
export interface Finding {
    /** What was checked, for the report's first column. */
    readonly check: string;
    readonly ok: boolean;
    /** What was found. */
    readonly message: string;
    /** How to fix it, when not ok. */
    readonly fix?: string;
    /** The pinned Pulumi CLI is missing: the commands can install it themselves. */
    readonly installable?: boolean;
}

/** What a stack needs of the machine, from its config. */
export type StackNeeds =
    | { readonly mode: "existing" }
    | {
          readonly mode: "kind";
          readonly clusterName: string;
          readonly workers: number;
          /** Undefined when the config did not parse: the ports cannot be known. */
          readonly ports?: { readonly listenAddress: string; readonly hostPorts: Readonly<Record<PortRole, number>> };
      };

/** The checks, by name. */
export type CheckName = "node" | "config" | "pulumi" | "docker" | "resources" | "kind" | "inotify" | "ports";

/**
 * The Docker resources a kind stack needs: 4 CPUs and 8 GB for the one-node dev cluster, and 1 CPU
 * and 2 GB more for each worker node (each runs its own kubelet and containerd, and in ambient mode
 * its own istio-cni and ztunnel), so 6 CPUs and 12 GB for staging's two workers.
 */
export function dockerNeeds(workers: number): { readonly cpus: number; readonly memoryGiB: number } {
    return { cpus: 4 + workers, memoryGiB: 8 + 2 * workers };
}

/**
 * Docker Desktop reports a little less memory than its setting (the VM's kernel keeps some), so a
 * setting of 8 GB passes: memory is enough from 90% of the need.
 */
export const MEMORY_TOLERANCE = 0.9;

/** The inotify limits kind's known issues name (site/content/docs/user/known-issues.md, "Pod errors due to too many open files"). */
export const INOTIFY_LIMITS = { max_user_watches: 524288, max_user_instances: 512 } as const;

const DOCKER_INSTALL = "https://docs.docker.com/get-docker/";
const KIND_QUICK_START = "https://kind.sigs.k8s.io/docs/user/quick-start/#installation";

/** Node.js against package.json's engines range. */
export function checkNode(version: string, engines: string): Finding {
    const ok = semver.satisfies(version, engines);
    return ok
        ? { check: "node", ok, message: `Node.js ${version} (the project wants ${engines})` }
        : {
              check: "node",
              ok,
              message: `Node.js ${version} is outside what the project supports (${engines})`,
              fix: `install a Node.js release in ${engines} (https://nodejs.org/en/download), then npm ci again`,
          };
}

/** The Pulumi CLI the commands would run. */
export function checkPulumi(cli: PulumiCli, pin: string): Finding {
    switch (cli.kind) {
        case "path":
            return { check: "pulumi", ok: true, message: `Pulumi CLI ${cli.version} on PATH (at least the pinned ${pin})` };
        case "pinned":
            return { check: "pulumi", ok: true, message: `Pulumi CLI ${cli.version}, the pinned one, at ${cli.command}` };
        case "missing":
            return {
                check: "pulumi",
                ok: false,
                message:
                    cli.onPath === undefined
                        ? `the Pulumi CLI ${pin} is not installed (no pulumi on PATH, none in ${cli.root})`
                        : `the pulumi on PATH is ${cli.onPath}, older than the pinned ${pin}, and ${cli.root} has no pinned CLI`,
                fix: `npm run doctor -- --install installs the ${installDescription(cli.root, pin)}; npm run deploy does that itself when it is the only thing missing`,
                installable: true,
            };
        default: {
            const never: never = cli;
            throw new Error(`unknown CLI state ${JSON.stringify(never)}`);
        }
    }
}

/** `docker info --format '{{.NCPU}} {{.MemTotal}}'`: Docker running, and the CPUs and memory it gives a kind stack. */
export function checkDocker(info: Ran, workers: number, platform: NodeJS.Platform): Finding[] {
    if (info.missing) {
        return [
            {
                check: "docker",
                ok: false,
                message: "Docker is not installed (docker is not on PATH)",
                fix: `install Docker: ${DOCKER_INSTALL}`,
            },
        ];
    }
    if (info.status !== 0) {
        const why = info.stderr.trim().split("\n").pop() || `exit status ${info.status}`;
        return [
            {
                check: "docker",
                ok: false,
                message: `Docker is not running (docker info failed: ${why})`,
                fix:
                    platform === "linux"
                        ? "start the Docker service (sudo systemctl start docker) or Docker Desktop"
                        : "start Docker Desktop",
            },
        ];
    }
    const [cpuText, memText] = info.stdout.trim().split(/\s+/);
    const cpus = Number(cpuText);
    const memory = Number(memText);
    const need = dockerNeeds(workers);
    const nodes = workers === 0 ? "a one-node kind cluster" : `a kind cluster with ${workers} worker${workers === 1 ? "" : "s"}`;
    const settings =
        platform === "linux"
            ? "Docker Engine on Linux uses this machine's own CPUs and memory: run on a larger machine, or give Docker Desktop more (Settings > Resources)"
            : "Docker Desktop: Settings > Resources > Advanced";
    if (!Number.isFinite(cpus) || !Number.isFinite(memory) || cpus <= 0 || memory <= 0) {
        return [
            {
                check: "docker",
                ok: true,
                message: `Docker is running (its CPUs and memory could not be read: ${JSON.stringify(info.stdout.trim())})`,
            },
        ];
    }
    const gib = memory / 1024 ** 3;
    const cpuOk = cpus >= need.cpus;
    const memOk = gib >= need.memoryGiB * MEMORY_TOLERANCE;
    return [
        { check: "docker", ok: true, message: "Docker is running" },
        cpuOk
            ? { check: "resources", ok: true, message: `Docker gives ${cpus} CPUs (${nodes} needs ${need.cpus})` }
            : {
                  check: "resources",
                  ok: false,
                  message: `Docker gives ${cpus} CPU${cpus === 1 ? "" : "s"}; ${nodes} needs ${need.cpus}`,
                  fix: `${settings}: CPUs at least ${need.cpus}`,
              },
        memOk
            ? {
                  check: "resources",
                  ok: true,
                  message: `Docker gives ${gib.toFixed(1)} GiB of memory (${nodes} needs ${need.memoryGiB} GB)`,
              }
            : {
                  check: "resources",
                  ok: false,
                  message: `Docker gives ${gib.toFixed(1)} GiB of memory; ${nodes} needs ${need.memoryGiB} GB`,
                  fix: `${settings}: Memory at least ${need.memoryGiB} GB`,
              },
    ];
}

/** The download of the pinned kind release for this system. */
export function kindDownload(platform: NodeJS.Platform, arch: string, version: string = KIND_VERSION): string {
    const os = platform === "win32" ? "windows" : platform;
    const cpu = arch === "x64" ? "amd64" : arch;
    return `https://kind.sigs.k8s.io/dl/${version}/kind-${os}-${cpu}`;
}

/**
 * `kind version` (`kind v0.33.0 go1.24.5 linux/amd64`). `exact`: the version must be the pin, because
 * kind supports only the node images built for its own release (kind's release notes list them),
 * and the node image is pinned to one of v0.33.0's. A destroy or refresh only needs kind present.
 */
export function checkKind(version: Ran, exact: boolean, platform: NodeJS.Platform, arch: string, pin: string = KIND_VERSION): Finding {
    const fix = `install kind ${pin}: go install sigs.k8s.io/kind@${pin}, or download ${kindDownload(platform, arch, pin)} onto your PATH as kind (${KIND_QUICK_START})`;
    if (version.missing) return { check: "kind", ok: false, message: `kind is not installed (kind is not on PATH)`, fix };
    const found = /kind (v\S+)/.exec(version.stdout)?.[1];
    if (version.status !== 0 || found === undefined) {
        return {
            check: "kind",
            ok: false,
            message: `kind version failed (${version.stderr.trim() || `exit status ${version.status}`})`,
            fix,
        };
    }
    if (found === pin) return { check: "kind", ok: true, message: `kind ${found}` };
    if (!exact) return { check: "kind", ok: true, message: `kind ${found} (deploying needs exactly ${pin})` };
    return {
        check: "kind",
        ok: false,
        message: `kind ${found} is installed; this stack needs exactly ${pin}, the release its node image is built for`,
        fix,
    };
}

/** Linux's inotify limits, which a kind cluster's nodes share with the host; elsewhere Docker runs in a VM and this does not apply. */
export function checkInotify(platform: NodeJS.Platform, readFile: (file: string) => string | undefined): Finding | undefined {
    if (platform !== "linux") return undefined;
    const low: string[] = [];
    for (const [name, want] of Object.entries(INOTIFY_LIMITS)) {
        const text = readFile(`/proc/sys/fs/inotify/${name}`);
        const got = text === undefined ? NaN : Number(text.trim());
        if (!(got >= want)) low.push(`fs.inotify.${name} is ${Number.isNaN(got) ? "unreadable" : got} (kind needs ${want})`);
    }
    if (low.length === 0) {
        return {
            check: "inotify",
            ok: true,
            message: `inotify limits at least ${INOTIFY_LIMITS.max_user_watches} watches and ${INOTIFY_LIMITS.max_user_instances} instances`,
        };
    }
    const settings = Object.entries(INOTIFY_LIMITS).map(([k, v]) => `fs.inotify.${k}=${v}`);
    return {
        check: "inotify",
        ok: false,
        message: `${low.join("; ")}: pods fail with "too many open files" (istio-cni and ztunnel first)`,
        fix: `sudo sysctl ${settings.join(" ")}; to keep them after a reboot: printf '%s\\n' ${settings.join(" ")} | sudo tee /etc/sysctl.d/99-kind.conf`,
    };
}

/** The stack's host ports on its listen address; none is checked while the stack's own cluster, which holds them, exists. */
export function checkPorts(
    env: string,
    ports: { readonly listenAddress: string; readonly hostPorts: Readonly<Record<PortRole, number>> },
    states: Readonly<Record<PortRole, PortState>>,
): Finding[] {
    const busy = PORT_ROLES.filter((role) => states[role] === "busy");
    const untestable = PORT_ROLES.filter((role) => states[role] === "untestable");
    const findings: Finding[] = busy.map((role) => {
        const port = ports.hostPorts[role];
        return {
            check: "ports",
            ok: false,
            message: `host port ${port} on ${ports.listenAddress} (kind.hostPorts.${role}) is in use`,
            fix: `stop what listens there (lsof -nP -iTCP:${port} -sTCP:LISTEN shows it), or give the stack another port: pulumi config set --path kind.hostPorts.${role} <port> --stack ${env}`,
        };
    });
    if (busy.length === 0) {
        const list = PORT_ROLES.filter((r) => states[r] === "free").map((r) => ports.hostPorts[r]);
        findings.push({
            check: "ports",
            ok: true,
            message: `host ports ${list.join(", ")} free on ${ports.listenAddress}${untestable.length > 0 ? `; ${untestable.map((r) => ports.hostPorts[r]).join(", ")} not testable without root (Docker binds them)` : ""}`,
        });
    }
    return findings;
}

/**
 * Validates the config as the program does, and works out what the stack needs of the machine.
 * An invalid config still yields what it can (the cluster mode, the workers), so that every other
 * check runs too.
 */
export function stackNeeds(
    raw: RawConfig,
    validate: (raw: RawConfig) => StackConfig = validateConfig,
): { needs: StackNeeds; config: Finding } {
    try {
        const cfg = validate(raw);
        const needs: StackNeeds = cfg.kind
            ? {
                  mode: "kind",
                  clusterName: cfg.clusterName,
                  workers: cfg.kind.workers,
                  ports: { listenAddress: cfg.kind.listenAddress, hostPorts: cfg.kind.hostPorts },
              }
            : { mode: "existing" };
        return { needs, config: { check: "config", ok: true, message: `the config of stack ${raw.stack} is valid` } };
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        const workers = (raw.kind as { workers?: unknown } | undefined)?.workers;
        const needs: StackNeeds =
            raw.clusterMode === "existing"
                ? { mode: "existing" }
                : { mode: "kind", clusterName: raw.clusterName ?? "", workers: Number.isInteger(Number(workers)) ? Number(workers) : 0 };
        return {
            needs,
            config: {
                check: "config",
                ok: false,
                message: e.message,
                fix: `npm run check -- ${raw.stack} lists the same problems without deploying`,
            },
        };
    }
}

/** Which checks a command runs. A kind stack's Docker, kind and ports only matter to a kind stack. */
export function checksFor(command: "doctor" | "up" | "preview" | "refresh" | "destroy" | "e2e", needs: StackNeeds): readonly CheckName[] {
    const kind = needs.mode === "kind";
    switch (command) {
        case "doctor":
        case "up":
            return ["node", "config", "pulumi", ...(kind ? (["docker", "resources", "kind", "inotify", "ports"] as const) : [])];
        case "e2e":
            // The e2e test makes its own stack and cluster, on free ports it picks itself.
            return ["node", "pulumi", "docker", "resources", "kind", "inotify"];
        case "refresh":
        case "destroy":
            // Acting on what exists: Docker and kind must answer, capacity and ports do not matter.
            return ["node", "pulumi", ...(kind ? (["docker", "kind"] as const) : [])];
        case "preview":
            return ["node", "config", "pulumi"];
        default: {
            const never: never = command;
            throw new Error(`unknown command ${String(never)}`);
        }
    }
}

/** Runs the checks named in `checks`, all of them, even when one fails. */
export async function diagnose(
    checks: readonly CheckName[],
    inputs: {
        readonly env: string;
        readonly needs: StackNeeds;
        readonly config?: Finding;
        readonly engines: string;
        readonly pulumiPin: string;
        /** A kind version other than the pin passes (for destroy and refresh). */
        readonly anyKind?: boolean;
    },
    machine: DoctorMachine,
): Promise<Finding[]> {
    const on = (c: CheckName): boolean => checks.includes(c);
    const { needs } = inputs;
    const workers = needs.mode === "kind" ? needs.workers : 0;
    const [cli, docker, kind, clusters] = await Promise.all([
        on("pulumi") ? machine.pulumiCli() : undefined,
        on("docker") || on("resources") ? machine.capture(["docker", "info", "--format", "{{.NCPU}} {{.MemTotal}}"]) : undefined,
        on("kind") || on("ports") ? machine.capture(["kind", "version"]) : undefined,
        on("ports") && needs.mode === "kind" ? machine.capture(["kind", "get", "clusters"]) : undefined,
    ]);
    const findings: Finding[] = [];
    if (on("node")) findings.push(checkNode(machine.nodeVersion, inputs.engines));
    if (on("config") && inputs.config) findings.push(inputs.config);
    if (cli) findings.push(checkPulumi(cli, inputs.pulumiPin));
    if (docker) {
        const found = checkDocker(docker, workers, machine.platform);
        findings.push(...found.filter((f) => on(f.check as CheckName)));
    }
    if (on("kind") && kind) findings.push(checkKind(kind, !inputs.anyKind, machine.platform, machine.arch));
    if (on("inotify")) {
        const f = checkInotify(machine.platform, machine.readFile);
        if (f) findings.push(f);
    }
    if (on("ports") && needs.mode === "kind" && needs.ports) {
        const ports = needs.ports;
        const listed = clusters && clusters.status === 0 ? clusters.stdout.split("\n").map((l) => l.trim()) : [];
        if (listed.includes(needs.clusterName)) {
            findings.push({
                check: "ports",
                ok: true,
                message: `host ports not checked: kind cluster ${needs.clusterName}, this stack's, exists and holds them`,
            });
        } else {
            const states = {} as Record<PortRole, PortState>;
            await Promise.all(
                PORT_ROLES.map(async (role) => (states[role] = await machine.port(ports.listenAddress, ports.hostPorts[role]))),
            );
            findings.push(...checkPorts(inputs.env, ports, states));
        }
    }
    return findings;
}

/** The report: one line per finding, its fix under it, and a verdict. */
export function renderFindings(title: string, findings: readonly Finding[]): string {
    const problems = findings.filter((f) => !f.ok);
    const lines = [title];
    for (const f of findings) {
        const [first, ...rest] = f.message.split("\n");
        lines.push(`  ${f.ok ? "ok  " : "FAIL"}  ${f.check.padEnd(9)} ${first}`);
        for (const r of rest) lines.push(`                  ${r}`);
        if (!f.ok && f.fix) lines.push(`                  fix: ${f.fix}`);
    }
    lines.push(
        problems.length === 0
            ? "Everything this stack needs is in place."
            : `${problems.length} problem${problems.length === 1 ? "" : "s"} to fix; nothing was created.`,
    );
    return lines.join("\n");
}
