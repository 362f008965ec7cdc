/**
 * `npm run deploy -- [env]` and `npm run destroy -- [env]`: one command per environment on a
 * local backend that needs no account. Uses PULUMI_BACKEND_URL when the user set one; otherwise
 * a file backend in .pulumi-state/ with a generated passphrase (mode 0600) for the secrets.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

export type Action = "up" | "destroy" | "preview";
export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;

/** What to run, with which environment variables. */
export interface Plan {
    readonly env: Record<string, string>;
    readonly commands: readonly (readonly string[])[];
    /** Files to create before running, with their mode. */
    readonly files: readonly { readonly path: string; readonly content: string; readonly mode: number }[];
}

/** Works out the pulumi commands for an action on an environment. Pure: touches nothing. */
export function planStack(
    action: Action,
    stack: string,
    processEnv: Record<string, string | undefined>,
    root: string,
    passphrase: () => string,
): Plan {
    if (!(ENVIRONMENTS as readonly string[]).includes(stack)) {
        throw new Error(`unknown environment "${stack}": use one of ${ENVIRONMENTS.join(", ")}, e.g. npm run deploy -- dev`);
    }
    const env: Record<string, string> = {};
    const files: Plan["files"][number][] = [];
    if (!processEnv.PULUMI_BACKEND_URL) {
        const state = path.join(root, ".pulumi-state");
        env.PULUMI_BACKEND_URL = `file://${state}`;
        if (!processEnv.PULUMI_CONFIG_PASSPHRASE && !processEnv.PULUMI_CONFIG_PASSPHRASE_FILE) {
            const file = path.join(state, "passphrase");
            env.PULUMI_CONFIG_PASSPHRASE_FILE = file;
            files.push({ path: file, content: passphrase(), mode: 0o600 });
        }
    }
    const select = ["pulumi", "stack", "select", "--create", stack];
    const run: Record<Action, string[]> = {
        up: ["pulumi", "up", "--yes", "--stack", stack],
        preview: ["pulumi", "preview", "--stack", stack],
        destroy: ["pulumi", "destroy", "--yes", "--stack", stack],
    };
    return { env, files, commands: [select, run[action]] };
}

function main(argv: string[]): number {
    const action = argv[0] as Action;
    const stack = argv[1] ?? "dev";
    if (!["up", "destroy", "preview"].includes(action)) {
        console.error("usage: ts-node scripts/stack.ts up|preview|destroy [dev|staging|prod]");
        return 2;
    }
    const root = path.resolve(__dirname, "..");
    let plan: Plan;
    try {
        plan = planStack(action, stack, process.env, root, () => crypto.randomBytes(24).toString("base64url"));
    } catch (e) {
        console.error(`error: ${(e as Error).message}`);
        return 2;
    }
    if (spawnSync("pulumi", ["version"], { stdio: "ignore" }).error) {
        console.error("error: the Pulumi CLI was not found on PATH. Install it (https://www.pulumi.com/docs/install/) and run this again.");
        return 1;
    }
    for (const f of plan.files) {
        if (!fs.existsSync(f.path)) {
            fs.mkdirSync(path.dirname(f.path), { recursive: true });
            fs.writeFileSync(f.path, f.content, { mode: f.mode });
        }
    }
    if (plan.env.PULUMI_BACKEND_URL) fs.mkdirSync(plan.env.PULUMI_BACKEND_URL.replace(/^file:\/\//, ""), { recursive: true });
    for (const cmd of plan.commands) {
        console.error(`> ${cmd.join(" ")}`);
        const r = spawnSync(cmd[0], cmd.slice(1), { cwd: root, stdio: "inherit", env: { ...process.env, ...plan.env } });
        if (r.status !== 0) return r.status ?? 1;
    }
    return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
