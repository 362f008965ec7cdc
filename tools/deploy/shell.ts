/** The machine as the executor sees it: Pulumi attached to the terminal, other commands captured. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Captured } from "./facts";
import { runPulumi } from "./pulumiProcess";

/** What the executor needs from the machine. */
export interface Shell {
    /** Runs a Pulumi command attached to the terminal, passing Ctrl-C on to it (tools/deploy/pulumiProcess.ts); its exit status. */
    run(argv: readonly string[], env: Record<string, string>): Promise<number>;
    /** Runs a command and captures its output. */
    capture(argv: readonly string[], env: Record<string, string>): Captured;
    /** A line for the user. */
    log(line: string): void;
    readFile(file: string): string | undefined;
    writeFile(file: string, content: string): void;
    /** The paths of the `.json` files in a folder; none when it does not exist. */
    jsonFiles(dir: string): string[];
    removeFile(file: string): void;
    /** This machine's name, as a Pulumi lock records it (Go's os.Hostname). */
    hostname(): string;
    /** Whether a process of this pid runs on this machine. */
    pidAlive(pid: number): boolean;
}

/** This machine, running every command in the project's `root` (where Pulumi.yaml is). */
export function machineShell(root: string): Shell {
    return {
        run: (argv, env) => runPulumi(argv, { env: { ...process.env, ...env }, cwd: root, log: (line) => console.error(line) }),
        capture(argv, env) {
            const r = spawnSync(argv[0], argv.slice(1), {
                encoding: "utf8",
                env: { ...process.env, ...env },
                cwd: root,
                maxBuffer: 256 * 1024 * 1024,
            });
            const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
            return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", missing };
        },
        log: (line) => console.error(line),
        readFile: (file) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined),
        writeFile: (file, content) => fs.writeFileSync(file, content),
        jsonFiles: (dir) =>
            fs.existsSync(dir)
                ? fs
                      .readdirSync(dir)
                      .filter((f) => f.endsWith(".json"))
                      .map((f) => path.join(dir, f))
                : [],
        removeFile: (file) => fs.rmSync(file, { force: true }),
        hostname: () => os.hostname(),
        pidAlive: (pid) => {
            try {
                process.kill(pid, 0);
                return true;
            } catch (e) {
                // EPERM: it runs, as another user.
                return (e as NodeJS.ErrnoException).code === "EPERM";
            }
        },
    };
}
