/**
 * `npm run deploy|preview|refresh|destroy -- [env]`: one command per environment on a local
 * backend that needs no account. Uses PULUMI_BACKEND_URL when the user set one; otherwise a file
 * backend in .pulumi-state/ with a generated passphrase (mode 0600) for the secrets.
 *
 * Each command is a planned list of steps: select the stack, check the kind cluster (which may
 * stop the command, or add a refresh before it), before a deploy recover from an interrupted
 * run, then the Pulumi command itself, and after a deploy the timing report. The decisions are pure functions, tested in test/tools/stack.test.ts.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { KIND_VERSION } from "../components/versions";
import type { KubeApi } from "../components/probe";
import {
    clearPendingArgv,
    deleteRecords,
    PendingCreate,
    pendingCreates,
    pendingReleases,
    planRecordRemoval,
    providerAccess,
    releaseRecords,
} from "./pendingCreates";
import { runPulumi } from "./pulumiProcess";
import { askBeforeApplying, COMMANDS, confirmation, parseCommandLine } from "./commandLine";
import { preflight } from "./preflight";
import { cliEnv } from "./pulumiCli";
import { analyzeTimings, dependenciesFromState, parseEventLog, PredictedPath, renderTimings, StateResource } from "./timing";

/** A Pulumi command the developer commands run: `npm run deploy` is `up`. */
export type Action = "up" | "destroy" | "preview" | "refresh";
/** Every action, in the order the usage line lists them. */
export const ACTIONS: readonly Action[] = ["up", "preview", "refresh", "destroy"];
/** The committed environments, one Pulumi.<env>.yaml each. */
export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;

/** The npm script that runs each action, for messages. */
const NPM_SCRIPT = { up: "deploy", preview: "preview", refresh: "refresh", destroy: "destroy" } as const satisfies Record<
    Action,
    keyof typeof COMMANDS
>;

/** One step of a command, run in order. */
export type Step =
    /** Run a command; stop when it fails. */
    | { readonly kind: "command"; readonly argv: readonly string[] }
    /**
     * Read the stack's clusterMode and clusterName (`configArgv`); for a kind stack, check Docker,
     * kind and the cluster, and let {@link decideCluster} stop the command or add a refresh before it.
     * `exportArgv` reads the state, for the kind cluster's URN.
     */
    | { readonly kind: "cluster-check"; readonly configArgv: readonly string[]; readonly exportArgv: readonly string[] }
    /**
     * Before a deploy: when an interrupted `up` left pending creates in the state, free the names
     * of the Helm releases it was installing and have the refresh before the action drop the
     * pending operations (tools/pendingCreates.ts). `exportArgv` shows secrets: the provider's
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
    const steps: Step[] = [
        { kind: "command", argv: ["pulumi", "stack", "select", "--create", stack] },
        { kind: "cluster-check", configArgv: ["pulumi", "config", "--json", "--stack", stack], exportArgv },
        ...(action === "up" ? [{ kind: "pending-creates" as const, exportArgv: [...exportArgv, "--show-secrets"] }] : []),
        { kind: "action", argv: run[action] },
    ];
    if (action === "up") steps.push({ kind: "timings", eventLog, out: path.join(state, `${stack}.timings.json`), exportArgv });
    return { action, stack, env, files, dirs: [state], steps };
}

/** Where the stack's cluster is, as its config says. */
export type ClusterTarget = { readonly mode: "existing" } | { readonly mode: "kind"; readonly clusterName: string };

/** One entry of `pulumi config --json`: secrets have no value unless asked for. */
interface ConfigEntry {
    readonly value?: string;
    readonly secret?: boolean;
}

/**
 * Reads clusterMode and clusterName from `pulumi config --json --stack <env>`, which is what the
 * next `pulumi up` will see: the stack file, anything set with `pulumi config set`, and the
 * Pulumi.yaml defaults (pkg/cmd/pulumi/config/config.go listConfig applies the project's config).
 * `defaults` are the Pulumi.yaml declarations, for a CLI that leaves them out.
 */
export function clusterTarget(
    configJson: string,
    defaults: { readonly clusterMode?: string; readonly clusterName?: string },
): ClusterTarget {
    const config = JSON.parse(configJson) as Record<string, ConfigEntry>;
    const read = (key: "clusterMode" | "clusterName"): string | undefined => {
        const entry = config[`istio-mesh:${key}`];
        if (entry?.secret)
            throw new Error(`istio-mesh:${key} is a secret, so this command cannot check the cluster; set it in plain text.`);
        return entry?.value ?? defaults[key];
    };
    const mode = read("clusterMode");
    if (mode === "existing") return { mode: "existing" };
    if (mode !== "kind") throw new Error(`clusterMode must be "kind" or "existing" (got ${JSON.stringify(mode)}).`);
    const clusterName = read("clusterName");
    if (!clusterName) throw new Error("clusterName is not set and Pulumi.yaml declares no default for it.");
    return { mode: "kind", clusterName };
}

/** Whether Docker answers. */
export type DockerState = "running" | "stopped" | "missing";
/** What kind says about the clusters on this machine. */
export type KindState =
    | { readonly installed: false }
    | { readonly installed: true; readonly clusters: readonly string[] }
    | { readonly installed: true; readonly error: string };

/** The machine and the state, asked only when a decision needs them. */
export interface ClusterFacts {
    docker(): DockerState;
    kind(): KindState;
    /** URN of the stack's kind cluster command in the state; undefined when the state has none. */
    clusterUrn(): string | undefined;
}

/** What runs before the action. */
export interface PreAction {
    readonly kind: "refresh";
    /** Why, for the log. */
    readonly reason: string;
}

/** Whether and how the action goes ahead. */
export type ClusterDecision =
    | {
          readonly kind: "proceed";
          readonly before: readonly PreAction[];
          /** URNs for `pulumi up --replace`. */
          readonly replace: readonly string[];
          readonly notes: readonly string[];
          /**
           * kind lists the stack's cluster, so whatever reaches it (a refresh, the recovery of an
           * interrupted run, a destroy) first waits for its API server: a listed cluster may be
           * stopped or still starting. False when kind does not list it: then there is nothing to wait for.
           */
          readonly awaitApi: boolean;
      }
    | { readonly kind: "stop"; readonly message: string };

const KIND_INSTALL = "https://kind.sigs.k8s.io/docs/user/quick-start/#installation";

/**
 * Decides what an action needs before it runs, so that none of them acts on a cluster it cannot see:
 *
 * - With the kind cluster unreachable, the Kubernetes provider's `deleteUnreachable` makes a refresh
 *   drop every object from the state (pulumi-kubernetes provider/pkg/provider/provider.go, Read:
 *   "Deleting the unreachable resource from Pulumi state"). That is right when the cluster is gone
 *   and wrong when Docker is merely stopped, so nothing refreshes without Docker running.
 * - Deleting a helm.v3.Release ignores `deleteUnreachable` (provider/pkg/provider/helm_release.go:
 *   Delete calls getActionConfig and helm uninstall with no unreachable check; pulumi-kubernetes
 *   issue 2675), so a destroy with the cluster gone stops at the first release. Reading a release
 *   honours it: a refresh first drops the releases, and the destroy then reaches the kind command.
 * - An up with the cluster gone recovers as the README says: refresh, then replace the cluster.
 *
 * Stacks on an existing cluster are never checked: their cluster is not this machine's to judge.
 */
export function decideCluster(action: Action, stack: string, target: ClusterTarget, facts: ClusterFacts): ClusterDecision {
    const proceed = (before: PreAction[] = [], replace: string[] = [], notes: string[] = [], awaitApi = false): ClusterDecision => ({
        kind: "proceed",
        before,
        replace,
        notes,
        awaitApi,
    });
    if (target.mode === "existing") return proceed();
    const name = target.clusterName;
    const again = `npm run ${NPM_SCRIPT[action]} -- ${stack}`;
    const unchecked = (why: string): ClusterDecision =>
        action === "preview" ? proceed([], [], [`${why}; the preview cannot tell whether kind cluster ${name} exists.`]) : stopFor(why);
    const stopFor = (why: string): ClusterDecision => {
        switch (action) {
            case "up":
                return { kind: "stop", message: `${why}, then run ${again} again.` };
            case "refresh":
                return {
                    kind: "stop",
                    message:
                        `${why}, then run ${again}. Not before: until then kind cluster ${name} cannot be checked, and a refresh ` +
                        `would drop every Kubernetes object of stack ${stack} from the state (deleteUnreachable treats an unreachable ` +
                        `kind cluster as deleted).`,
                };
            case "destroy":
                return {
                    kind: "stop",
                    message:
                        `${why}, then run ${again} again: until then kind cluster ${name} can be neither checked nor deleted. ` +
                        `If the cluster is gone for good and you only want Pulumi to forget the stack: pulumi stack rm --force --stack ${stack} ` +
                        `(this deletes the state, not the cluster).`,
                };
            case "preview":
                return proceed([], [], [why]);
            default: {
                const never: never = action;
                throw new Error(`unknown action ${String(never)}`);
            }
        }
    };

    const docker = facts.docker();
    if (docker === "missing") return unchecked("docker was not found on PATH (install Docker: https://docs.docker.com/get-docker/)");
    if (docker === "stopped") return unchecked("Docker is not running (docker info failed): start Docker Desktop or the Docker service");
    const kind = facts.kind();
    if (!kind.installed) return unchecked(`kind was not found on PATH (install kind ${KIND_VERSION}: ${KIND_INSTALL})`);
    if ("error" in kind) return unchecked(`kind get clusters failed (${kind.error}); fix that`);
    if (kind.clusters.includes(name)) return proceed([], [], [], action !== "preview");

    const gone = `kind cluster ${name} does not exist (kind get clusters does not list it)`;
    switch (action) {
        case "up": {
            const urn = facts.clusterUrn();
            if (!urn) return proceed();
            return proceed(
                [{ kind: "refresh", reason: `${gone}: refreshing while Docker runs drops its Kubernetes objects from the state` }],
                [urn],
                [`${gone}; recovering as the README says: refresh, then pulumi up --replace the kind cluster command.`],
            );
        }
        case "preview":
            return proceed([], [], [`${gone}; npm run deploy -- ${stack} creates it (and first refreshes the state if it held one).`]);
        case "refresh":
            if (!facts.clusterUrn()) return proceed();
            return {
                kind: "stop",
                message:
                    `${gone}, so a refresh would drop every Kubernetes object of stack ${stack} from the state and keep the cluster's ` +
                    `command, which is only half a recovery. To rebuild the cluster: npm run deploy -- ${stack} (it refreshes and then ` +
                    `replaces the cluster itself). To remove the stack's resources: npm run destroy -- ${stack}.`,
            };
        case "destroy":
            return proceed(
                [{ kind: "refresh", reason: `${gone}: refreshing first, because deleting a Helm release on a missing cluster fails` }],
                [],
                [],
            );
        default: {
            const never: never = action;
            throw new Error(`unknown action ${String(never)}`);
        }
    }
}

/** A command's outcome; `missing` when the program is not on PATH. */
export interface Captured {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly missing: boolean;
}

/** `docker info`'s outcome as a state. */
export function dockerState(c: Captured): DockerState {
    return c.missing ? "missing" : c.status === 0 ? "running" : "stopped";
}

/** `kind get clusters`'s outcome (it lists one name a line; "No kind clusters found." goes to stderr). */
export function kindState(c: Captured): KindState {
    if (c.missing) return { installed: false };
    if (c.status !== 0) return { installed: true, error: c.stderr.trim().split("\n").pop() || `exit status ${c.status}` };
    return {
        installed: true,
        clusters: c.stdout
            .split("\n")
            .map((l) => l.trim())
            .filter((l) => l !== ""),
    };
}

/** The resources of a `pulumi stack export`. */
export function stateResources(exportJson: string): StateResource[] {
    const parsed = JSON.parse(exportJson) as { deployment?: { resources?: StateResource[] } };
    return parsed.deployment?.resources ?? [];
}

/** The kind cluster's command in the state: the `command:local:Command` child of a KindCluster component. */
export function kindClusterUrn(resources: readonly StateResource[]): string | undefined {
    return resources.find(
        (r) => r.type === "command:local:Command" && r.urn.includes("::istio-mesh:index:KindCluster$command:local:Command::"),
    )?.urn;
}

/** The argv of a refresh of a stack, as the pre-actions run it. */
export function refreshArgv(stack: string): string[] {
    return ["pulumi", "refresh", "--yes", "--stack", stack];
}

/** What the executor needs from the machine. */
export interface Shell {
    /** Runs a Pulumi command attached to the terminal, passing Ctrl-C on to it (tools/pulumiProcess.ts); its exit status. */
    run(argv: readonly string[], env: Record<string, string>): Promise<number>;
    /** Runs a command and captures its output. */
    capture(argv: readonly string[], env: Record<string, string>): Captured;
    /** A line for the user. */
    log(line: string): void;
    readFile(file: string): string | undefined;
    writeFile(file: string, content: string): void;
}

/** Runs a plan's steps in order; the exit status. */
export async function executePlan(
    plan: Plan,
    shell: Shell,
    options: {
        projectDefaults: { clusterMode?: string; clusterName?: string };
        predict?: (stack: string) => Promise<PredictedPath>;
        /** A Kubernetes API client for a kubeconfig: to free the names of interrupted Helm releases, and to see that a cluster answers. */
        kube?: (kubeconfig: string, context?: string) => Promise<KubeApi>;
        /** How long to wait for a listed kind cluster's API server before a refresh. @default 20 tries, 3 s apart */
        apiWait?: { readonly tries: number; readonly sleep: (ms: number) => Promise<void> };
    },
): Promise<number> {
    let before: PreAction[] = [];
    let replace: readonly string[] = [];
    let clearPending = false;
    let status = 0;
    /** A kind stack whose cluster `kind get clusters` lists: what reaches it needs its API server to answer. */
    let listedKind: string | undefined;
    /** A kind stack whose cluster kind does not list: there is no cluster to reach, and none to wait for. */
    let absentKind = false;
    const answers = async (): Promise<boolean> =>
        listedKind === undefined ? true : kindApiAnswers(listedKind, plan, shell, options.kube, options.apiWait);
    const notAnswering = (name: string): string =>
        `kind lists cluster ${name}, but its API server does not answer: its containers are stopped or still starting (docker ps -a --filter name=${name}). A refresh now would take the stack's objects for deleted (deleteUnreachable) and drop them from the state. Start them (docker start ${name}-control-plane) or wait a moment, then run npm run ${NPM_SCRIPT[plan.action]} -- ${plan.stack} again.`;
    for (const step of plan.steps) {
        switch (step.kind) {
            case "command": {
                shell.log(`> ${step.argv.join(" ")}`);
                const s = await shell.run(step.argv, plan.env);
                if (s !== 0) return s;
                break;
            }
            case "cluster-check": {
                const { decision, target } = checkCluster(plan, step, shell, options.projectDefaults);
                if (decision.kind === "stop") {
                    shell.log(`error: ${decision.message}`);
                    return 1;
                }
                for (const note of decision.notes) shell.log(note);
                before = [...decision.before];
                replace = decision.replace;
                if (target?.mode === "kind") {
                    if (decision.awaitApi) listedKind = target.clusterName;
                    else absentKind = true;
                }
                if ((plan.action === "refresh" || plan.action === "destroy") && listedKind && !(await answers())) {
                    shell.log(`error: ${notAnswering(listedKind)}`);
                    return 1;
                }
                break;
            }
            case "pending-creates": {
                // Freeing releases and clearing pending operations needs the cluster, unless it is gone and rebuilt.
                const live = async (): Promise<string | undefined> =>
                    listedKind && !(await answers()) ? notAnswering(listedKind) : undefined;
                const result = await resolvePendingCreates(plan, step, shell, options.kube, absentKind, before.length > 0, live);
                if (result.kind === "stop") {
                    shell.log(`error: ${result.message}`);
                    return 1;
                }
                clearPending = result.clear;
                // The refresh that drops them: the one the cluster check planned, or one of its own.
                if (clearPending && before.length === 0) {
                    before = [{ kind: "refresh", reason: "the interrupted run's pending operations go from the state" }];
                }
                break;
            }
            case "action": {
                for (const pre of before) {
                    const argv = clearPending ? clearPendingArgv(plan.stack) : refreshArgv(plan.stack);
                    shell.log(`${pre.reason}.\n> ${argv.join(" ")}`);
                    const s = await shell.run(argv, plan.env);
                    if (s !== 0) return s;
                }
                const argv = [...step.argv, ...replace.flatMap((urn) => ["--replace", urn])];
                shell.log(`> ${argv.join(" ")}`);
                status = await shell.run(argv, plan.env);
                if (status !== 0 && plan.action !== "up") return status;
                break;
            }
            case "timings":
                await reportTimings(plan, step, shell, options.predict);
                break;
            default: {
                const never: never = step;
                throw new Error(`unknown step ${JSON.stringify(never)}`);
            }
        }
    }
    return status;
}

/**
 * Frees the names of the Helm releases an interrupted `up` was installing, in the cluster the
 * stack's provider points at; says whether pending creates are left to clear. When the cluster is
 * gone (the cluster check then plans a rebuild), there is nothing to free.
 */
async function resolvePendingCreates(
    plan: Plan,
    step: Extract<Step, { kind: "pending-creates" }>,
    shell: Shell,
    kube: ((kubeconfig: string, context?: string) => Promise<KubeApi>) | undefined,
    clusterAbsent: boolean,
    rebuilding: boolean,
    live: () => Promise<string | undefined>,
): Promise<{ kind: "go"; clear: boolean } | { kind: "stop"; message: string }> {
    const exported = shell.capture(step.exportArgv, plan.env);
    if (exported.status !== 0) return { kind: "go", clear: false };
    let pending: PendingCreate[];
    try {
        pending = pendingCreates(exported.stdout);
    } catch {
        return { kind: "go", clear: false };
    }
    if (pending.length === 0) return { kind: "go", clear: false };
    const short = (p: PendingCreate): string => p.urn.slice(p.urn.lastIndexOf("::") + 2);
    const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;
    const open = pending.filter((p) => !p.finished);
    const done = pending.filter((p) => p.finished);
    if (open.length > 0) {
        shell.log(
            `The last run was interrupted while creating or updating ${plural(open.length, "resource")}: ${open.map(short).join(", ")}.`,
        );
    }
    if (done.length > 0) {
        shell.log(
            `The state still lists ${plural(done.length, "pending create")} that a later run finished (${done.map(short).join(", ")}); the refresh drops ${done.length === 1 ? "it" : "them"} and leaves the resources alone.`,
        );
    }
    // A kind cluster that is gone is rebuilt from nothing: there are no releases to free, and the
    // refresh that rebuild starts with drops the pending operations.
    if (rebuilding) return { kind: "go", clear: true };
    // kind lists no cluster and the state holds none (a first deploy interrupted while kind created
    // it): nothing to free, nothing to refresh; `up` creates the cluster and the rest again.
    if (clusterAbsent) return { kind: "go", clear: false };
    const notLive = await live();
    if (notLive) return { kind: "stop", message: notLive };
    const releases = pendingReleases(exported.stdout);
    const access = providerAccess(exported.stdout);
    if (releases.length === 0) return { kind: "go", clear: true };
    if (!access || !kube) {
        return {
            kind: "stop",
            message: `could not read the stack's kubeconfig from its state to free the Helm releases the interrupted run left in progress (${releases.map((r) => `${r.namespace}/${r.name}`).join(", ")}). Nothing was changed.`,
        };
    }
    const removed: string[] = [];
    try {
        const api = await kube(access.kubeconfig, access.context);
        // Every release is planned before any record is removed: one that may not be freed stops the whole recovery.
        const plans: { release: (typeof releases)[number]; records: readonly string[] }[] = [];
        for (const release of releases) {
            const removal = planRecordRemoval(plan.stack, release, await releaseRecords(api, release));
            if (removal.kind === "blocked") return { kind: "stop", message: removal.message };
            plans.push({ release, records: removal.records });
        }
        for (const { release: r, records } of plans) {
            if (records.length === 0) continue;
            await deleteRecords(api, r, records, (name) => removed.push(name));
            shell.log(
                r.operation === "creating"
                    ? `Helm release ${r.namespace}/${r.name} was being installed: its unfinished record is removed so that it installs again, adopting what it had created.`
                    : `Helm release ${r.namespace}/${r.name} was being upgraded: its unfinished record is removed so that the upgrade runs again from the last deployed revision.`,
            );
        }
    } catch (e) {
        // Never go on to a refresh that cannot reach the cluster: it could drop objects that exist.
        return {
            kind: "stop",
            message: `could not free the Helm releases the interrupted run left in progress (${(e as Error).message}). ${removed.length === 0 ? "Nothing was changed" : `Only these unfinished records were removed: ${removed.join(", ")}`}; check that the cluster answers, then run npm run ${NPM_SCRIPT[plan.action]} -- ${plan.stack} again.`,
        };
    }
    return { kind: "go", clear: true };
}

/**
 * Whether a listed kind cluster's API server answers (`/readyz`), retried while Docker may still
 * be starting its containers. `kind get clusters` lists stopped clusters too (kind
 * pkg/cluster/internal/providers/docker/provider.go, ListClusters: `docker ps -a`).
 */
async function kindApiAnswers(
    name: string,
    plan: Plan,
    shell: Shell,
    kube: ((kubeconfig: string, context?: string) => Promise<KubeApi>) | undefined,
    wait: { readonly tries: number; readonly sleep: (ms: number) => Promise<void> } = {
        tries: 20,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    },
): Promise<boolean> {
    if (!kube) return false;
    for (let attempt = 1; attempt <= wait.tries; attempt++) {
        const kubeconfig = shell.capture(["kind", "get", "kubeconfig", "--name", name], plan.env);
        if (kubeconfig.status === 0) {
            try {
                const api = await kube(kubeconfig.stdout);
                if ((await api.request("GET", "/readyz")).status === 200) return true;
            } catch {
                // not answering yet
            }
        }
        if (attempt < wait.tries) await wait.sleep(3000);
    }
    return false;
}

function checkCluster(
    plan: Plan,
    step: Extract<Step, { kind: "cluster-check" }>,
    shell: Shell,
    defaults: { clusterMode?: string; clusterName?: string },
): { decision: ClusterDecision; target?: ClusterTarget } {
    const config = shell.capture(step.configArgv, plan.env);
    if (config.status !== 0)
        return {
            decision: {
                kind: "stop",
                message: `could not read the stack's config (${step.configArgv.join(" ")}): ${config.stderr.trim()}`,
            },
        };
    let target: ClusterTarget;
    try {
        target = clusterTarget(config.stdout, defaults);
    } catch (e) {
        return { decision: { kind: "stop", message: (e as Error).message } };
    }
    const once = <T>(f: () => T): (() => T) => {
        let value: { v: T } | undefined;
        return () => (value ??= { v: f() }).v;
    };
    const decision = decideCluster(plan.action, plan.stack, target, {
        docker: once(() => dockerState(shell.capture(["docker", "info"], plan.env))),
        kind: once(() => kindState(shell.capture(["kind", "get", "clusters"], plan.env))),
        clusterUrn: once(() => {
            const exported = shell.capture(step.exportArgv, plan.env);
            return exported.status === 0 ? kindClusterUrn(stateResources(exported.stdout)) : undefined;
        }),
    });
    return { decision, target };
}

async function reportTimings(
    plan: Plan,
    step: Extract<Step, { kind: "timings" }>,
    shell: Shell,
    predict: ((stack: string) => Promise<PredictedPath>) | undefined,
): Promise<void> {
    const log = shell.readFile(step.eventLog);
    if (log === undefined) return;
    const exported = shell.capture(step.exportArgv, plan.env);
    const dependencies = exported.status === 0 ? dependenciesFromState(stateResources(exported.stdout)) : undefined;
    let predicted: PredictedPath | undefined;
    try {
        predicted = predict ? await predict(plan.stack) : undefined;
    } catch (e) {
        shell.log(`(no predicted critical path: npm run graph -- ${plan.stack} failed: ${(e as Error).message})`);
    }
    const timings = analyzeTimings(parseEventLog(log), { dependencies, predicted });
    shell.log(`\n${renderTimings(timings, `pulumi up of ${plan.stack}`)}`);
    shell.writeFile(step.out, `${JSON.stringify({ stack: plan.stack, eventLog: step.eventLog, ...timings }, null, 2)}\n`);
    shell.log(`Timings written to ${step.out}; the engine's events are in ${step.eventLog}.`);
}

/** The Pulumi.yaml defaults of the keys the cluster check reads. */
export function projectDefaults(root: string): { clusterMode?: string; clusterName?: string } {
    const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { config?: Record<string, { default?: unknown }> };
    const get = (k: string): string | undefined => {
        const d = project.config?.[k]?.default;
        return d === undefined ? undefined : String(d);
    };
    return { clusterMode: get("clusterMode"), clusterName: get("clusterName") };
}

const realShell: Shell = {
    run: (argv, env) =>
        runPulumi(argv, { env: { ...process.env, ...env }, cwd: path.resolve(__dirname, ".."), log: (line) => console.error(line) }),
    capture(argv, env) {
        const r = spawnSync(argv[0], argv.slice(1), {
            encoding: "utf8",
            env: { ...process.env, ...env },
            cwd: path.resolve(__dirname, ".."),
            maxBuffer: 256 * 1024 * 1024,
        });
        const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
        return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", missing };
    },
    log: (line) => console.error(line),
    readFile: (file) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined),
    writeFile: (file, content) => fs.writeFileSync(file, content),
};

async function main(argv: string[]): Promise<number> {
    const action = argv[0] as Action;
    if (!ACTIONS.includes(action)) {
        console.error(`usage: ts-node tools/stack.ts ${ACTIONS.join("|")} [${ENVIRONMENTS.join("|")}]`);
        return 2;
    }
    // --help, the environment and --yes (tools/commandLine.ts).
    const line = parseCommandLine(COMMANDS[NPM_SCRIPT[action]], argv.slice(1));
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
    const ask = confirmation(
        action,
        checked.needs.mode,
        line.flags.has("--yes"),
        process.stdin.isTTY === true && process.stdout.isTTY === true,
        stack,
    );
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
    return executePlan(plan, realShell, {
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
