/**
 * The doctor's checks bound to this machine, and the preflight every developer command runs before
 * it creates anything (no stack, no passphrase file, no state folder): deploy, preview, refresh,
 * destroy and e2e each run the checks they need (tools/doctorChecks.ts, checksFor) and stop with
 * every problem and its fix when one fails. The one thing they fix themselves is a missing pinned
 * Pulumi CLI, which they install when nothing else is wrong.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { PULUMI_CLI_VERSION } from "../components/versions";
import {
    checkPulumi,
    checksFor,
    diagnose,
    DoctorMachine,
    Finding,
    PortState,
    Ran,
    renderFindings,
    StackNeeds,
    stackNeeds,
} from "./doctorChecks";
import { findCli, installCli, PulumiCli } from "./pulumiCli";
import { rawConfigFromFiles, readStackFiles } from "./stackFiles";

const ROOT = path.resolve(__dirname, "..");

/** Runs a command and captures its output; `missing` when it is not on PATH. */
export function capture(argv: readonly string[], env?: Record<string, string>): Promise<Ran> {
    return new Promise((resolve) => {
        execFile(
            argv[0],
            argv.slice(1),
            { encoding: "utf8", maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...env } },
            (error, stdout, stderr) => {
                const code = (error as { code?: unknown } | null)?.code;
                resolve({ status: error ? (typeof code === "number" ? code : 1) : 0, stdout, stderr, missing: code === "ENOENT" });
            },
        );
    });
}

/** Whether `port` on `host` can be bound now, by binding it for a moment. */
export function portState(host: string, port: number): Promise<PortState> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "EADDRINUSE" ? "busy" : "untestable"));
        server.listen({ port, host, exclusive: true }, () => server.close(() => resolve("free")));
    });
}

/** This machine, as the checks see it. */
export const realMachine: DoctorMachine = {
    capture: (argv) => capture(argv),
    readFile: (file) => {
        try {
            return fs.readFileSync(file, "utf8");
        } catch {
            return undefined;
        }
    },
    port: portState,
    pulumiCli: () =>
        findCli(async (command) => {
            const r = await capture([command, "version"], { PULUMI_SKIP_UPDATE_CHECK: "true" });
            return r.status === 0 ? r.stdout : undefined;
        }),
    platform: process.platform,
    arch: process.arch,
    nodeVersion: process.version,
};

/** The commands that run a preflight. */
export type PreflightCommand = "doctor" | "up" | "preview" | "refresh" | "destroy" | "e2e";

/** What a preflight found. */
export interface PreflightResult {
    readonly ok: boolean;
    readonly findings: readonly Finding[];
    readonly needs: StackNeeds;
    /** The CLI to run, when there is one. */
    readonly cli?: PulumiCli;
}

/** package.json's engines.node. */
export function enginesRange(root: string = ROOT): string {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { engines?: { node?: string } };
    return pkg.engines?.node ?? "*";
}

/**
 * Runs the checks `command` needs for stack `env`. `install`: install the pinned Pulumi CLI when it
 * is missing, even with other problems (doctor --install); without it, the commands other than the
 * doctor install it only when it is the one problem.
 */
export async function preflight(
    command: PreflightCommand,
    env: string,
    options: {
        readonly install?: boolean;
        readonly log?: (line: string) => void;
        readonly machine?: DoctorMachine;
        readonly root?: string;
    } = {},
): Promise<PreflightResult> {
    const log = options.log ?? ((l: string) => console.error(l));
    const machine = options.machine ?? realMachine;
    const root = options.root ?? ROOT;
    const { needs, config } = stackNeeds(rawConfigFromFiles(env, readStackFiles(root, env)));
    let cli: PulumiCli | undefined;
    const counting: DoctorMachine = {
        ...machine,
        pulumiCli: async () => (cli = await machine.pulumiCli()),
    };
    const inputs = {
        env,
        needs,
        config,
        engines: enginesRange(root),
        pulumiPin: PULUMI_CLI_VERSION,
        anyKind: command === "destroy" || command === "refresh",
    };
    let findings = await diagnose(checksFor(command, needs), inputs, counting);
    const problems = findings.filter((f) => !f.ok);
    const onlyCli = problems.length > 0 && problems.every((f) => f.installable);
    const installWanted = problems.some((f) => f.installable) && (options.install === true || (command !== "doctor" && onlyCli));
    if (installWanted && cli?.kind === "missing") {
        try {
            cli = await installCli(cli.root, log);
            findings = findings.map((f) => (f.installable ? checkPulumi(cli!, PULUMI_CLI_VERSION) : f));
        } catch (e) {
            findings = findings.map((f) =>
                f.installable ? { ...f, message: `${f.message}; installing it failed: ${(e as Error).message}` } : f,
            );
        }
    }
    const ok = findings.every((f) => f.ok);
    if (command === "doctor" || !ok)
        log(
            renderFindings(
                `Checks for stack ${env}${command === "doctor" ? "" : ` before npm run ${command === "up" ? "deploy" : command}`}:`,
                findings,
            ),
        );
    return { ok, findings, needs, cli };
}
