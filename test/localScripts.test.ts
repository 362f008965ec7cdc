import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { PROJECT_ROOT } from "../components/localScripts";
import { EXISTING_KUBECONFIG, inputValue, kubeconfigFor, Recorded, Run, runStack } from "./harness";

const K = "istio-mesh:";
const SCRIPT_LINE = /^node --require ts-node\/register\/transpile-only scripts\/[A-Za-z]+\.ts$/;

/** The committed environments, plus the options that add more commands (the CRD cleanup). */
async function everyRun(): Promise<Record<string, Run>> {
    const prodKubeconfig = { [`${K}kubeconfig`]: EXISTING_KUBECONFIG };
    return {
        dev: await runStack("dev"),
        staging: await runStack("staging"),
        prod: await runStack("prod", prodKubeconfig),
        "prod, removeCrdsOnDestroy": await runStack("prod", { ...prodKubeconfig, [`${K}istio`]: { removeCrdsOnDestroy: true } }),
        "dev, exportKubeconfig": await runStack("dev", { [`${K}kind`]: { exportKubeconfig: true } }),
    };
}

/** A command's environment as the provider receives it (the whole map is secret when one value is). */
function environmentOf(cmd: Recorded): Record<string, string> {
    return (inputValue(cmd.inputs.environment).value ?? {}) as Record<string, string>;
}

/** Runs a command line with /bin/sh, as the command provider does, and collects its output. */
function sh(line: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn("/bin/sh", ["-c", line], { cwd, env });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (c: Buffer) => (stdout += c));
        child.stderr.on("data", (c: Buffer) => (stderr += c));
        child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
}

/** Copies what the scripts need into a fresh directory elsewhere, as a re-cloned checkout would be. */
function movedCheckout(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "moved-checkout-"));
    for (const entry of ["components", "scripts", "package.json", "tsconfig.json"]) {
        fs.cpSync(path.join(PROJECT_ROOT, entry), path.join(dir, entry), { recursive: true });
    }
    fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    return dir;
}

describe("local commands and the checkout's location", function () {
    this.timeout(60000);
    let runs: Record<string, Run>;
    before(async () => {
        runs = await everyRun();
    });

    it("store no absolute path of the checkout in any command's inputs, and set no dir", () => {
        const seen = new Set<string>();
        for (const [env, run] of Object.entries(runs)) {
            for (const cmd of run.ofType("command:local:Command")) {
                seen.add(cmd.name);
                assert.equal(cmd.inputs.dir, undefined, `${env}: ${cmd.name} sets dir ${String(cmd.inputs.dir)}`);
                // Secret inputs travel wrapped, with their value inside: the text covers them too.
                const text = JSON.stringify(cmd.inputs);
                assert.ok(!text.includes(PROJECT_ROOT), `${env}: ${cmd.name} names the checkout ${PROJECT_ROOT} in its inputs`);
            }
        }
        for (const name of ["kind-cluster", "istio-ready", "istio-crd-cleanup", "verify-run"]) {
            assert.ok(seen.has(name), `no run registered ${name}; checked: ${[...seen].join(", ")}`);
        }
    });

    it("run each script by its path relative to the project root, with the project's own ts-node", () => {
        const lines = new Set<string>();
        for (const run of Object.values(runs)) {
            for (const cmd of run.ofType("command:local:Command")) {
                for (const step of ["create", "update", "delete"] as const) {
                    const line = cmd.inputs[step] as string | undefined;
                    if (line !== undefined && (line.startsWith("node ") || line.includes("scripts/"))) lines.add(line);
                }
            }
        }
        for (const script of ["meshReady", "removeCrds", "verifyDeployment"]) {
            assert.ok(lines.has(`node --require ts-node/register/transpile-only scripts/${script}.ts`), [...lines].join("\n"));
        }
        for (const line of lines) {
            assert.match(line, SCRIPT_LINE);
            assert.ok(fs.existsSync(path.join(PROJECT_ROOT, line.split(" ").pop()!)), line);
        }
    });

    describe("from a moved checkout", () => {
        let dir: string;
        let server: http.Server;
        let url: string;
        before(async () => {
            dir = movedCheckout();
            // Answers the page check and anything the Kubernetes client asks.
            server = http.createServer((_req, res) => res.end("moved checkout answers"));
            await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
            url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
        });
        after(() => {
            server.close();
            fs.rmSync(dir, { recursive: true, force: true });
        });

        it("runs the verification command as registered, in the moved project's root", async () => {
            const cmd = runs.dev.get("verify-run", "command:local:Command");
            const registered = environmentOf(cmd);
            assert.deepEqual(Object.keys(registered).sort(), [
                "VERIFY_CONTEXT",
                "VERIFY_KUBECONFIG",
                "VERIFY_PLAN",
                "VERIFY_TIMEOUT_SECONDS",
            ]);
            const plan = { endpoints: [{ name: "Moved", target: { via: "url", url: `${url}/` }, expectText: "moved checkout" }] };
            const r = await sh(cmd.inputs.create, dir, {
                ...process.env,
                ...registered,
                VERIFY_PLAN: JSON.stringify(plan),
                VERIFY_KUBECONFIG: kubeconfigFor(url),
                VERIFY_TIMEOUT_SECONDS: "5",
            });
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.stdout, `ok   Moved: ${url}/ answers 200 with "moved checkout"\n`);
        });

        it("starts the readiness gate and the CRD cleanup scripts there too", async () => {
            const commands = [
                { line: runs.dev.get("istio-ready", "command:local:Command").inputs.create as string, variable: "MESH_KUBECONFIG" },
                {
                    line: runs["prod, removeCrdsOnDestroy"].get("istio-crd-cleanup", "command:local:Command").inputs.delete as string,
                    variable: "CRD_KUBECONFIG",
                },
            ];
            const results = await Promise.all(
                commands.map(({ line, variable }) => {
                    const env = { ...process.env };
                    delete env[variable];
                    return sh(line, dir, env);
                }),
            );
            // Each got as far as its own first check: ts-node, the script and everything it imports were found.
            results.forEach((r, i) => {
                assert.equal(r.status, 1, r.stderr);
                assert.equal(r.stderr, `error: environment variable ${commands[i].variable} is not set\n`);
            });
        });
    });
});
