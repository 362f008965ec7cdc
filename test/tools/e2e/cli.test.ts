import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { killedUp, newEvents } from "../../../tools/e2e/cli";

describe("the killed up of the e2e runner", function () {
    this.timeout(30000);

    it("reads an event log as it grows, whole lines only", () => {
        const a = '{"sequence":0,"timestamp":1}\n{"sequence":1,"timestamp":2}\n{"seq';
        const first = newEvents(a, 0);
        assert.deepEqual(
            first.events.map((e) => e.sequence),
            [0, 1],
        );
        assert.deepEqual(newEvents(a, first.offset), { events: [], offset: first.offset });
        const b = `${a}uence":2,"timestamp":3}\n`;
        assert.deepEqual(
            newEvents(b, first.offset).events.map((e) => e.sequence),
            [2],
        );
    });

    it("SIGKILLs the CLI and every process it started once the kill point has come, and reports the run as failed", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "killed-up-"));
        try {
            // A `pulumi` that starts a plugin (in its process group, as the CLI starts its plugins), writes its events to --event-log, then runs on.
            const plugin = path.join(dir, "plugin.pid");
            fs.writeFileSync(
                path.join(dir, "pulumi"),
                `#!/bin/sh
log=""; prev=""
for a in "$@"; do [ "$prev" = --event-log ] && log="$a"; prev="$a"; done
sleep 60 & echo $! > "${plugin}"
printf '%s\\n' '{"sequence":0,"timestamp":1,"resourcePreEvent":{"metadata":{"op":"create","urn":"urn:a","type":"x"}}}' >> "$log"
printf '%s\\n' '{"sequence":1,"timestamp":2,"resourcePreEvent":{"metadata":{"op":"create","urn":"urn:r","type":"kubernetes:helm.sh/v3:Release"}}}' >> "$log"
sleep 60
`,
                { mode: 0o755 },
            );
            const seen: EngineEvent[] = [];
            const started = Date.now();
            const outcome = await killedUp(
                "e2e-dev-x",
                { ...process.env, PATH: `${dir}:${process.env.PATH}` },
                dir,
                path.join(dir, "events.jsonl"),
                { onEvent: (e) => seen.push(e), killAt: (e) => e.resourcePreEvent?.metadata.urn === "urn:r" },
                200,
            );
            assert.deepEqual(outcome, { ok: false, error: "pulumi up was killed (SIGKILL)" });
            assert.deepEqual(
                seen.map((e) => e.sequence),
                [0, 1],
            );
            assert.ok(Date.now() - started < 20000, "killed, not left to run its minute");
            assert.throws(
                () => process.kill(Number(fs.readFileSync(plugin, "utf8")), 0),
                { code: "ESRCH" },
                "the plugin died with the group",
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
