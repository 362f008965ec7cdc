/**
 * `npm run check -- <env>`: validates an environment's config offline, from Pulumi.yaml and
 * Pulumi.<env>.yaml (no Docker, no Pulumi CLI, no state; an encrypted value counts as set), with
 * the program's own validation, and prints what `pulumi up` would create: the capabilities, the
 * URLs and the CPU and memory its pods request. Every problem at once; exit 2 on a problem.
 */
import * as path from "path";
import { ConfigError, validateConfig } from "../components/config";
import { renderCheck } from "./checkReport";
import { COMMANDS, withCommandLine } from "./commandLine";
import { rawConfigFromFiles, readStackFiles } from "./stackFiles";

const ROOT = path.resolve(__dirname, "..");

/** The check of one environment: its exit status and what it prints. */
export function checkStack(env: string, root: string = ROOT): { status: number; text: string } {
    let raw;
    try {
        raw = rawConfigFromFiles(env, readStackFiles(root, env));
    } catch (e) {
        return { status: 2, text: `error: ${(e as Error).message}` };
    }
    try {
        return { status: 0, text: renderCheck(validateConfig(raw)) };
    } catch (e) {
        if (e instanceof ConfigError) return { status: 2, text: `Stack ${env}: ${e.message}` };
        throw e;
    }
}

if (require.main === module) {
    void withCommandLine(COMMANDS.check, process.argv.slice(2), ({ env = "dev" }) => {
        const { status, text } = checkStack(env);
        (status === 0 ? console.log : console.error)(text);
        return status;
    }).then((code) => process.exit(code));
}
