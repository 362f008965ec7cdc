/**
 * `npm run deploy|preview|refresh|destroy -- [env]`: one command per environment on a local
 * backend that needs no account. Uses PULUMI_BACKEND_URL when the user set one; otherwise a file
 * backend in .pulumi-state/ with a generated passphrase (mode 0600) for the secrets.
 *
 * Each command is a planned list of steps (tools/deploy/plan.ts): select the stack, check the kind
 * cluster (tools/deploy/clusterDecision.ts: it may stop the command, or add a refresh before it),
 * before a deploy recover from an interrupted run (tools/deploy/recovery.ts), then the Pulumi
 * command itself (tools/deploy/pulumiProcess.ts passes Ctrl-C on), and after a deploy the timing
 * report. tools/deploy/execute.ts runs the steps; this file binds them to the machine.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { projectDefaults } from "./deploy/clusterDecision";
import { executePlan } from "./deploy/execute";
import { Action, ACTIONS, ENVIRONMENTS, Plan, planStack, stateDir } from "./deploy/plan";
import { lendSalt, saltFile } from "./deploy/salt";
import { machineShell } from "./deploy/shell";
import { askBeforeApplying, COMMANDS, confirmation, parseCommandLine } from "./commandLine";
import { preflight } from "./preflight";
import { cliEnv } from "./pulumiCli";

/** The npm command of each action, whose command line it takes. */
const SCRIPT = { up: "deploy", preview: "preview", refresh: "refresh", destroy: "destroy" } as const satisfies Record<
    Action,
    keyof typeof COMMANDS
>;

async function main(argv: string[]): Promise<number> {
    const action = argv[0] as Action;
    if (!ACTIONS.includes(action)) {
        console.error(`usage: ts-node tools/stack.ts ${ACTIONS.join("|")} [${ENVIRONMENTS.join("|")}]`);
        return 2;
    }
    // --help, the environment and --yes (tools/commandLine.ts).
    const line = parseCommandLine(COMMANDS[SCRIPT[action]], argv.slice(1));
    if (line.kind !== "run") {
        if (line.kind === "help") console.log(line.text);
        else console.error(`error: ${line.message}`);
        return line.kind === "help" ? 0 : 2;
    }
    const stack = line.env ?? "dev";
    const root = path.resolve(__dirname, "..");
    let plan: Plan;
    try {
        plan = planStack(action, stack, process.env, root, () => crypto.randomBytes(24).toString("base64url"));
    } catch (e) {
        console.error(`error: ${(e as Error).message}`);
        return 2;
    }
    // Every prerequisite first, before anything is created (tools/preflight.ts).
    const checked = await preflight(action, stack);
    if (!checked.ok || !checked.cli) return 1;
    plan = { ...plan, env: { ...plan.env, ...cliEnv(checked.cli) } };
    // On an existing cluster the CLI shows the preview and asks, unless --yes.
    const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
    const ask = confirmation(action, checked.needs.mode, line.flags.has("--yes"), interactive, stack);
    if (ask.kind === "stop") {
        console.error(`error: ${ask.message}`);
        return 1;
    }
    if (ask.kind === "ask") plan = askBeforeApplying(plan);
    for (const dir of plan.dirs) fs.mkdirSync(dir, { recursive: true });
    for (const f of plan.files) {
        if (!fs.existsSync(f.path)) {
            fs.mkdirSync(path.dirname(f.path), { recursive: true });
            fs.writeFileSync(f.path, f.content, { mode: f.mode });
        }
    }
    if (plan.env.PULUMI_BACKEND_URL) fs.mkdirSync(plan.env.PULUMI_BACKEND_URL.replace(/^file:\/\//, ""), { recursive: true });
    // With the passphrase it generated, the wrapper keeps this clone's salt out of the committed stack file (tools/deploy/salt.ts).
    const ownPassphrase = plan.env.PULUMI_CONFIG_PASSPHRASE_FILE === path.join(stateDir(root), "passphrase");
    const giveBack = ownPassphrase ? lendSalt(path.join(root, `Pulumi.${stack}.yaml`), saltFile(stateDir(root), stack)) : () => undefined;
    try {
        return await runPlan(plan, root);
    } finally {
        giveBack();
    }
}

function runPlan(plan: Plan, root: string): Promise<number> {
    return executePlan(plan, machineShell(root), {
        projectDefaults: projectDefaults(root),
        // Loaded only after a deploy: it evaluates the program under mocks, as npm run graph does.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        predict: (env) => (require("./mockRun") as typeof import("./mockRun")).predictedPath(env),
        kube: (kubeconfig, context) =>
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            (require("../scripts/kubeApi") as typeof import("../scripts/kubeApi")).kubeApiFrom(kubeconfig, context),
    });
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => process.exit(code));
