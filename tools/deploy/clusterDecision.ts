/**
 * What a command does about the stack's kind cluster: which cluster the config names, and, from
 * what Docker, kind and the state say, whether the command stops, refreshes first, replaces the
 * cluster or waits for its API server. Pure functions over facts the caller reads.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { KIND_VERSION } from "../../components/versions";
import { Action, NPM_SCRIPT } from "./plan";

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

/** The Pulumi.yaml defaults of the keys the cluster check reads. */
export function projectDefaults(root: string): { clusterMode?: string; clusterName?: string } {
    const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as { config?: Record<string, { default?: unknown }> };
    const get = (k: string): string | undefined => {
        const d = project.config?.[k]?.default;
        return d === undefined ? undefined : String(d);
    };
    return { clusterMode: get("clusterMode"), clusterName: get("clusterName") };
}
