import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { machineShell } from "../../../tools/deploy/shell";
import { ROOT } from "../../harness";

describe("the machine's shell", () => {
    it("runs commands in the project's root, where Pulumi.yaml is, wherever the module lives", async () => {
        const shell = machineShell(ROOT);
        const pwd = shell.capture(["pwd"], {});
        assert.equal(pwd.stdout.trim(), fs.realpathSync(ROOT));
        assert.ok(fs.existsSync(path.join(pwd.stdout.trim(), "Pulumi.yaml")));
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shell-"));
        try {
            assert.equal(
                await machineShell(dir).run(["sh", "-c", 'test "$(pwd)" = "$1" && test "$SHELL_TEST" = yes', "sh", fs.realpathSync(dir)], {
                    SHELL_TEST: "yes",
                }),
                0,
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("tells a command that is not on PATH from one that failed", () => {
        const shell = machineShell(ROOT);
        assert.equal(shell.capture(["no-such-command-istio-mesh"], {}).missing, true);
        const failed = shell.capture(["sh", "-c", "echo out; echo err >&2; exit 3"], {});
        assert.deepEqual(failed, { status: 3, stdout: "out\n", stderr: "err\n", missing: false });
    });
});
