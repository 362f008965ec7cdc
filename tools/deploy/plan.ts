/**
 * The plan of a developer command (`npm run deploy|preview|refresh|destroy -- [env]`): the
 * backend, the files it needs, and its steps in order. Pure: tools/deploy/execute.ts runs it.
 */
import * as path from "path";
import { lockDirs } from "./locks";

/** A Pulumi command the developer commands run: `npm run deploy` is `up`. */
export type Action = "up" | "destroy" | "preview" | "refresh";
/** Every action, in the order the usage line lists them. */
export const ACTIONS: readonly Action[] = ["up", "preview", "refresh", "destroy"];
/** The committed environments, one Pulumi.<env>.yaml each. */
export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;

/** The project's name in Pulumi.yaml: a file backend keeps its stacks under it. */
export const PROJECT = "istio-mesh";

/** The npm script that runs each action, for messages. */
export const NPM_SCRIPT: Record<Action, string> = { up: "deploy", preview: "preview", refresh: "refresh", destroy: "destroy" };

/** One step of a command, run in order. */
export type Step =
    /** Run a command; stop when it fails. */
    | { readonly kind: "command"; readonly argv: readonly string[] }
    /** On a file backend: remove the stack's locks when they are stale, stop when one may be live (tools/deploy/locks.ts). */
    | { readonly kind: "lock-check"; readonly dirs: readonly string[] }
    /**
     * Read the stack's clusterMode and clusterName (`configArgv`); for a kind stack, check Docker,
     * kind and the cluster, and let {@link decideCluster} stop the command or add a refresh before it.
     * `exportArgv` reads the state, for the kind cluster's URN.
     */
    | { readonly kind: "cluster-check"; readonly configArgv: readonly string[]; readonly exportArgv: readonly string[] }
    /**
     * Before a deploy: when an interrupted `up` left pending creates in the state, free the names
     * of the Helm releases it was installing and have the refresh before the action drop the
     * pending operations (tools/deploy/recovery.ts). `exportArgv` shows secrets: the provider's
     * kubeconfig is one.
     */
    | { readonly kind: "pending-creates"; readonly exportArgv: readonly string[] }
    /** The Pulumi command itself. */
    | { readonly kind: "action"; readonly argv: readonly string[] }
    /** After a deploy: analyse the event log, print where the time went, write the timings JSON. */
    | { readonly kind: "timings"; readonly eventLog: string; readonly out: string; readonly exportArgv: readonly string[] };

/** What to run, with which environment variables. */
export interface Plan {
    readonly action: Action;
    readonly stack: string;
    readonly env: Record<string, string>;
    /** Files to create before running (when missing), with their mode. */
    readonly files: readonly { readonly path: string; readonly content: string; readonly mode: number }[];
    /** Directories to create before running. */
    readonly dirs: readonly string[];
    /** In order; the steps before the `action` step prepare it. */
    readonly steps: readonly Step[];
}

/** Where the local state, the event log and the timings live. */
export function stateDir(root: string): string {
    return path.join(root, ".pulumi-state");
}

/** Works out the steps of an action on an environment. Pure: touches nothing. */
export function planStack(
    action: Action,
    stack: string,
    processEnv: Record<string, string | undefined>,
    root: string,
    passphrase: () => string,
): Plan {
    if (!(ENVIRONMENTS as readonly string[]).includes(stack)) {
        throw new Error(`unknown environment "${stack}": use one of ${ENVIRONMENTS.join(", ")}, e.g. npm run ${NPM_SCRIPT[action]} -- dev`);
    }
    const env: Record<string, string> = {};
    const files: Plan["files"][number][] = [];
    const state = stateDir(root);
    if (!processEnv.PULUMI_BACKEND_URL) {
        env.PULUMI_BACKEND_URL = `file://${state}`;
        if (!processEnv.PULUMI_CONFIG_PASSPHRASE && !processEnv.PULUMI_CONFIG_PASSPHRASE_FILE) {
            const file = path.join(state, "passphrase");
            env.PULUMI_CONFIG_PASSPHRASE_FILE = file;
            files.push({ path: file, content: passphrase(), mode: 0o600 });
        }
    }
    const steps = stackSteps(action, stack, processEnv.PULUMI_BACKEND_URL ?? env.PULUMI_BACKEND_URL, state);
    return { action, stack, env, files, dirs: [state], steps };
}

/**
 * The steps of an action on any stack of this project, its event log and timings in `state`: what
 * {@link planStack} plans for an environment, and what the e2e runner's "npm run deploy" runs on
 * its throwaway stack.
 */
export function stackSteps(action: Action, stack: string, backendUrl: string, state: string): Step[] {
    const eventLog = path.join(state, `${stack}.events.jsonl`);
    const exportArgv = ["pulumi", "stack", "export", "--stack", stack];
    const run: Record<Action, string[]> = {
        up: ["pulumi", "up", "--yes", "--stack", stack, "--event-log", eventLog],
        preview: ["pulumi", "preview", "--stack", stack],
        refresh: ["pulumi", "refresh", "--yes", "--stack", stack],
        destroy: ["pulumi", "destroy", "--yes", "--stack", stack],
    };
    // Whatever else prepares the action goes after the cluster check, which must come before
    // anything that refreshes, and before the action.
    const locks = lockDirs(backendUrl, PROJECT, stack);
    const steps: Step[] = [
        { kind: "command", argv: ["pulumi", "stack", "select", "--create", stack] },
        ...(locks.length > 0 ? [{ kind: "lock-check" as const, dirs: locks }] : []),
        { kind: "cluster-check", configArgv: ["pulumi", "config", "--json", "--stack", stack], exportArgv },
        ...(action === "up" ? [{ kind: "pending-creates" as const, exportArgv: [...exportArgv, "--show-secrets"] }] : []),
        { kind: "action", argv: run[action] },
    ];
    if (action === "up") steps.push({ kind: "timings", eventLog, out: path.join(state, `${stack}.timings.json`), exportArgv });
    return steps;
}

/** The argv of a refresh of a stack, as the pre-actions run it. */
export function refreshArgv(stack: string): string[] {
    return ["pulumi", "refresh", "--yes", "--stack", stack];
}
