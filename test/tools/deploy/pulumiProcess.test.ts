import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { exitStatus, signalPolicy } from "../../../tools/deploy/pulumiProcess";

const WRAPPER = path.join(__dirname, "..", "..", "fixtures", "signals", "wrapper.ts");

/**
 * Starts the wrapper around the fake Pulumi CLI in a process group of its own, as a terminal runs
 * `npm run deploy`; resolves once the fake CLI runs.
 */
async function start(cancelMs: number) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "signals-"));
    const logFile = path.join(dir, "pulumi.log");
    const wrapper = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", WRAPPER], {
        detached: true,
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...process.env, FAKE_LOG: logFile, FAKE_CANCEL_MS: String(cancelMs) },
    });
    let stderr = "";
    wrapper.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => wrapper.on("exit", (code) => resolve(code)));
    const lines = (): string[] => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8").trim().split("\n") : []);
    for (let waited = 0; !lines().includes("ready"); waited += 25) {
        if (waited > 20000) assert.fail(`the fake Pulumi CLI never started: ${stderr}`);
        await new Promise((r) => setTimeout(r, 25));
    }
    const pid = wrapper.pid!;
    return {
        /** A signal from the terminal: to the whole foreground process group. */
        terminal: (signal: NodeJS.Signals) => process.kill(-pid, signal),
        /** A signal to the wrapper alone, as npm forwards one. */
        npm: (signal: NodeJS.Signals) => process.kill(pid, signal),
        exited,
        lines,
        cleanUp: () => fs.rmSync(dir, { recursive: true, force: true }),
    };
}

describe("Pulumi under the deploy wrapper, signalled", function () {
    this.timeout(60000);

    it("passes one Ctrl-C on as one SIGINT although npm repeats it, waits for the cancel and exits with Pulumi's status", async () => {
        const run = await start(800);
        try {
            run.terminal("SIGINT");
            run.npm("SIGINT");
            assert.equal(await run.exited, 255);
            assert.deepEqual(run.lines(), ["ready", "cancel SIGINT", "exit 255"]);
        } finally {
            run.cleanUp();
        }
    });

    it("passes a second Ctrl-C on, which makes Pulumi terminate at once as the CLI does", async () => {
        const run = await start(20000);
        try {
            run.terminal("SIGINT");
            run.npm("SIGINT");
            // The second Ctrl-C comes once the first has reached Pulumi, and later than the wrapper's
            // half-second window for npm's copy: waiting on the fake CLI's log, not on a fixed delay,
            // keeps the test right on a loaded machine.
            for (let waited = 0; !run.lines().includes("cancel SIGINT"); waited += 25) {
                if (waited > 20000) assert.fail("the first Ctrl-C never reached the fake Pulumi CLI");
                await new Promise((r) => setTimeout(r, 25));
            }
            await new Promise((r) => setTimeout(r, 1000));
            run.terminal("SIGINT");
            run.npm("SIGINT");
            assert.equal(await run.exited, 254);
            assert.deepEqual(run.lines(), ["ready", "cancel SIGINT", "terminate SIGINT"]);
        } finally {
            run.cleanUp();
        }
    });

    it("turns a closed terminal's SIGHUP, which Pulumi does not handle, into a graceful SIGTERM", async () => {
        const run = await start(500);
        try {
            run.terminal("SIGHUP");
            assert.equal(await run.exited, 255);
            assert.deepEqual(run.lines(), ["ready", "cancel SIGTERM", "exit 255"]);
        } finally {
            run.cleanUp();
        }
    });
});

describe("the wrapper's signal policy", () => {
    it("sends a signal once per user action: copies within half a second are dropped, later ones pass", () => {
        const policy = signalPolicy(500);
        assert.equal(policy("SIGINT", 1000), "SIGINT");
        assert.equal(policy("SIGINT", 1499), undefined);
        assert.equal(policy("SIGINT", 1500), "SIGINT");
        assert.equal(policy("SIGTERM", 1501), "SIGTERM", "another signal is another action");
        assert.equal(policy("SIGHUP", 1600), undefined, "SIGHUP is sent as SIGTERM, so it copies the SIGTERM just sent");
        assert.equal(policy("SIGHUP", 2100), "SIGTERM");
    });

    it("reports a process killed by a signal as a shell does, 128 plus its number", () => {
        assert.equal(exitStatus(255, null), 255);
        assert.equal(exitStatus(0, null), 0);
        assert.equal(exitStatus(null, "SIGKILL"), 137);
        assert.equal(exitStatus(null, "SIGTERM"), 143);
        assert.equal(exitStatus(null, null), 1);
    });
});
