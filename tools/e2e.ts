/**
 * `npm run e2e -- [env] [--keep] [--out <dir>] [--canary]`: the whole lifecycle of an environment on this
 * machine, with Docker, kind and the Pulumi CLI, through Pulumi's Automation API. A throwaway stack
 * with its own name, file backend, passphrase and Pulumi home under a temp folder, its own kind
 * cluster name and free host ports, so the user's stacks and clusters are never touched. The
 * scenarios and their rules live in tools/e2e/; this file binds them to the machine.
 */
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { PORT_ROLES, PortRole } from "../components/ports";
import { Captured, dockerState, kindState } from "./deploy/facts";
import { ENVIRONMENTS } from "./deploy/plan";
import type { E2eBackend, E2eMachine, E2eStack, OpOutcome } from "./e2e/ports";
import { deployStack, killedUp } from "./e2e/cli";
import { runE2e } from "./e2e/runner";
import { COMMANDS, withCommandLine } from "./commandLine";
import { preflight } from "./preflight";
import { cliEnv } from "./pulumiCli";
import { StateResource } from "./timing";
import { listCaches, machineWith } from "./cache";
import { pulledEventsArgv } from "./deploy/report";

const ROOT = path.resolve(__dirname, "..");

function capture(argv: readonly string[]): Promise<Captured> {
    return new Promise((resolve) => {
        execFile(argv[0], argv.slice(1), { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
            // The exit status for a command that ran; "ENOENT" for one that is not on PATH.
            const code = (error as { code?: unknown } | null)?.code;
            resolve({ status: error ? (typeof code === "number" ? code : 1) : 0, stdout, stderr, missing: code === "ENOENT" });
        });
    });
}

function orThrow(c: Captured, argv: readonly string[]): string {
    if (c.status !== 0)
        throw new Error(`${argv.join(" ")} failed: ${c.missing ? "not on PATH" : c.stderr.trim() || `exit status ${c.status}`}`);
    return c.stdout;
}

/** Docker and kind on this machine. */
export const machine: E2eMachine = {
    docker: async () => dockerState(await capture(["docker", "info"])),
    kindVersion: async () => {
        const c = await capture(["kind", "version"]);
        if (c.missing) return undefined;
        // "kind v0.33.0 go1.24.5 linux/amd64"
        return /kind (v\S+)/.exec(c.stdout)?.[1] ?? (c.stdout.trim() || "unknown");
    },
    pulumiVersion: async () => {
        const c = await capture(["pulumi", "version"]);
        return c.missing ? undefined : c.stdout.trim() || "unknown";
    },
    kindClusters: async () => kindState(await capture(["kind", "get", "clusters"])),
    deleteKindCluster: async (name) => {
        const argv = ["kind", "delete", "cluster", "--name", name];
        orThrow(await capture(argv), argv);
    },
    kindContainers: async (name) => {
        // kind labels each node container with its cluster's name (pkg/cluster/internal/providers/docker/constants.go).
        const argv = ["docker", "ps", "--all", "--filter", `label=io.x-k8s.kind.cluster=${name}`, "--format", "{{.Names}}"];
        return orThrow(await capture(argv), argv)
            .split("\n")
            .map((l) => l.trim())
            .filter((l) => l !== "");
    },
    imageCaches: async () => listCaches(machineWith()).flatMap((c) => (c.snapshot ? [{ registry: c.registry, snapshot: c.snapshot }] : [])),
    pulledEvents: async (name) => {
        const argv = pulledEventsArgv(name);
        return orThrow(await capture(argv), argv);
    },
};

async function outcome(run: () => Promise<unknown>): Promise<OpOutcome> {
    try {
        await run();
        return { ok: true };
    } catch (e) {
        return { ok: false, error: (e as Error).message };
    }
}

/**
 * A file backend, a passphrase and a Pulumi home in a new temp folder. The Pulumi home shares the
 * user's plugin directory, so the providers are not downloaded again, but keeps its own record of
 * the selected stack. The stack's settings file is written where the CLI looks for it, beside
 * Pulumi.yaml, as Pulumi.<stack>.yaml (git-ignored as Pulumi.e2e-*.yaml); cleanUp removes it.
 */
export async function openBackend(name: string, log: (line: string) => void): Promise<E2eBackend> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "istio-mesh-e2e-"));
    const state = path.join(tmp, "state");
    const home = path.join(tmp, "pulumi-home");
    fs.mkdirSync(state);
    fs.mkdirSync(home);
    const plugins = path.join(process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi"), "plugins");
    fs.mkdirSync(plugins, { recursive: true });
    fs.symlinkSync(plugins, path.join(home, "plugins"), "dir");
    const passphrase = crypto.randomBytes(24).toString("base64url");
    const passphraseFile = path.join(tmp, "passphrase");
    fs.writeFileSync(passphraseFile, passphrase, { mode: 0o600 });
    const shellEnv = { PULUMI_HOME: home, PULUMI_BACKEND_URL: `file://${state}`, PULUMI_CONFIG_PASSPHRASE_FILE: passphraseFile };
    // The passphrase itself too: a PULUMI_CONFIG_PASSPHRASE in the user's shell would win over the file.
    const workspaceEnv = { ...shellEnv, PULUMI_CONFIG_PASSPHRASE: passphrase, PULUMI_SKIP_UPDATE_CHECK: "true" };
    const workspace = await LocalWorkspace.create({ workDir: ROOT, pulumiHome: home, envVars: workspaceEnv });
    const stackFile = path.join(ROOT, `Pulumi.${name}.yaml`);
    const stream = (s: string): void => void process.stdout.write(s);
    const adapt = (stack: Stack): E2eStack => ({
        up: ({ onEvent, signal, replace }) =>
            outcome(() => stack.up({ onEvent, signal, replace: replace ? [...replace] : undefined, onOutput: stream, color: "never" })),
        refresh: ({ onEvent, signal }) => outcome(() => stack.refresh({ onEvent, signal, onOutput: stream, color: "never" })),
        destroy: ({ onEvent, signal, remove }) =>
            outcome(() => stack.destroy({ onEvent, signal, remove, onOutput: stream, color: "never" })),
        upKilled: (options) =>
            killedUp(stack.name, { ...process.env, ...workspaceEnv }, ROOT, path.join(tmp, "killed-up.events.jsonl"), options),
        deploy: ({ onEvent }) => deployStack(stack.name, workspaceEnv, ROOT, tmp, onEvent),
        pendingOperations: async () =>
            (((await stack.exportStack()).deployment?.pending_operations ?? []) as { type?: string; resource?: { urn?: string } }[]).map(
                (op) => ({ type: op.type ?? "", urn: op.resource?.urn ?? "" }),
            ),
        resources: async () => ((await stack.exportStack()).deployment?.resources ?? []) as StateResource[],
        setConfig: async (config) => {
            // `pulumi stack init` writes the file with the passphrase's salt; keep that, replace the config.
            const settings = await workspace.stackSettings(stack.name).catch(() => ({}));
            await workspace.saveStackSettings(stack.name, { ...settings, config: { ...config } });
        },
    });
    return {
        createStack: async (stackName, config) => {
            const stack = await Stack.create(stackName, workspace);
            const adapted = adapt(stack);
            await adapted.setConfig(config);
            log(`  stack ${stackName} in ${state}, settings in ${stackFile}`);
            return adapted;
        },
        // A file backend lists project stacks by their short name; a qualified one ends with it.
        stackNames: async () => (await workspace.listStacks()).map((s) => s.name.slice(s.name.lastIndexOf("/") + 1)),
        removeStack: (stackName) => workspace.removeStack(stackName, { force: true }),
        cleanUp: async () => {
            fs.rmSync(tmp, { recursive: true, force: true });
            fs.rmSync(stackFile, { force: true });
        },
        shellEnv,
        leftovers: [tmp, stackFile],
    };
}

/** Free TCP ports on an address, one for each role, all different. */
export async function freeHostPorts(host: string): Promise<Record<PortRole, number>> {
    const servers: net.Server[] = [];
    const ports = {} as Record<PortRole, number>;
    try {
        for (const role of PORT_ROLES) {
            const server = net.createServer();
            servers.push(server);
            await new Promise<void>((resolve, reject) => {
                server.once("error", reject);
                server.listen(0, host, () => resolve());
            });
            ports[role] = (server.address() as net.AddressInfo).port;
        }
    } finally {
        await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }
    return ports;
}

async function main(argv: string[]): Promise<number> {
    const env = argv.find((a, i) => !a.startsWith("--") && argv[i - 1] !== "--out") ?? "dev";
    const keep = argv.includes("--keep");
    const canary = argv.includes("--canary");
    const outIndex = argv.indexOf("--out");
    const outDir = path.resolve(outIndex >= 0 && argv[outIndex + 1] ? argv[outIndex + 1] : path.join(ROOT, ".e2e"));
    if (!(ENVIRONMENTS as readonly string[]).includes(env)) {
        console.error(`error: unknown environment "${env}": use one of ${ENVIRONMENTS.join(", ")}, e.g. npm run e2e -- dev`);
        return 2;
    }
    // Every prerequisite first, before anything is created (tools/preflight.ts). The Automation API
    // runs the `pulumi` it finds on PATH: the pinned CLI's folder goes first on it.
    const checked = await preflight("e2e", env);
    if (!checked.ok || !checked.cli) return 1;
    Object.assign(process.env, cliEnv(checked.cli));
    // The committed config as `pulumi up` sees it: the Pulumi.yaml defaults, then Pulumi.<env>.yaml.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { stackConfig } = require("../test/harness") as typeof import("../test/harness");
    const envConfig = stackConfig(env);
    const kind = envConfig["istio-mesh:kind"] as { listenAddress?: string } | undefined;
    const name = `e2e-${env}-${crypto.randomBytes(3).toString("hex")}`;

    const interrupt = new AbortController();
    let presses = 0;
    process.on("SIGINT", () => {
        presses += 1;
        if (presses === 1) {
            console.error(
                "\nCtrl-C: stopping after the running operation, then cleaning up (the final destroy still runs). Ctrl-C again to quit at once and leave everything behind.",
            );
            interrupt.abort();
        } else {
            console.error(
                `\nQuitting. Left behind: stack ${name} (temp folder istio-mesh-e2e-* under ${os.tmpdir()}) and kind cluster ${name}: kind delete cluster --name ${name}`,
            );
            process.exit(130);
        }
    });

    const report = await runE2e(
        {
            env,
            name,
            envConfig,
            hostPorts: await freeHostPorts(kind?.listenAddress ?? "127.0.0.1"),
            keep,
            canary,
            outDir,
            interrupt: interrupt.signal,
        },
        {
            machine,
            openBackend: () => openBackend(name, (l) => console.error(l)),
            expectations: async (base, routing) => {
                // eslint-disable-next-line @typescript-eslint/no-require-imports
                const mock = require("./mockRun") as typeof import("./mockRun");
                console.error(
                    "Working out what the routing change should touch, and the predicted critical path (the program under mocks)...",
                );
                return { routingChanges: await mock.expectedChanges(env, base, routing), predicted: await mock.predictedPath(env) };
            },
            now: () => Date.now(),
            log: (line) => console.error(line),
            writeFile: (file, content) => {
                fs.mkdirSync(path.dirname(file), { recursive: true });
                fs.writeFileSync(file, content);
            },
        },
    );
    return report.exitCode;
}

if (require.main === module) {
    // --help and unknown options first (tools/commandLine.ts); main reads the rest itself.
    void withCommandLine(COMMANDS.e2e, process.argv.slice(2), () => main(process.argv.slice(2))).then((code) => process.exit(code));
}
