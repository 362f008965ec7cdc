/**
 * Everything the e2e runner needs from outside: the Automation API stack and backend, the machine,
 * the clock and the files. tools/e2e.ts binds them to Pulumi, Docker and kind; the tests to fakes
 * that replay engine events.
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { PortRole } from "../../components/ports";
import type { DockerState, KindState } from "../deploy/clusterDecision";
import type { PredictedPath, StateResource } from "../timing";
import type { CacheRecords } from "../cache/records";

/** How a Pulumi operation ended. */
export interface OpOutcome {
    readonly ok: boolean;
    /** The CLI's error, when it failed. */
    readonly error?: string;
}

/** What every operation takes: where its engine events go, and a signal that interrupts it (SIGINT to the CLI). */
export interface OpOptions {
    readonly onEvent: (event: EngineEvent) => void;
    readonly signal?: AbortSignal;
}

/** The slice of an Automation API stack the runner uses. */
export interface E2eStack {
    up(options: OpOptions & { readonly replace?: readonly string[] }): Promise<OpOutcome>;
    refresh(options: OpOptions): Promise<OpOutcome>;
    destroy(options: OpOptions & { readonly remove: boolean }): Promise<OpOutcome>;
    /**
     * `pulumi up` in a process group of its own, killed with SIGKILL (the CLI and every plugin it
     * started) a few seconds after the first event `killAt` accepts; resolves once it has died.
     */
    upKilled(options: {
        readonly onEvent: (event: EngineEvent) => void;
        readonly killAt: (event: EngineEvent) => boolean;
    }): Promise<OpOutcome>;
    /** What `npm run deploy` runs, on this stack (tools/deploy/execute.ts): the recovery of an interrupted run, then `pulumi up`. */
    deploy(options: OpOptions): Promise<OpOutcome>;
    /** The state's pending operations (`pulumi stack export`). */
    pendingOperations(): Promise<readonly { readonly type: string; readonly urn: string }[]>;
    /** The resources in the stack's state (`pulumi stack export`). */
    resources(): Promise<readonly StateResource[]>;
    /** Replaces the stack's config (its Pulumi.<stack>.yaml `config:` map). */
    setConfig(config: Readonly<Record<string, unknown>>): Promise<void>;
}

/** The throwaway backend: a file backend, passphrase and Pulumi home under a temp folder. */
export interface E2eBackend {
    createStack(name: string, config: Readonly<Record<string, unknown>>): Promise<E2eStack>;
    stackNames(): Promise<readonly string[]>;
    /** Removes a stack and its state, whatever it holds. */
    removeStack(name: string): Promise<void>;
    /** Removes the temp folder and the project's Pulumi.<stack>.yaml. */
    cleanUp(): Promise<void>;
    /** The environment that reaches this backend from a shell, for --keep. */
    readonly shellEnv: Readonly<Record<string, string>>;
    /** What cleanUp would remove, for --keep. */
    readonly leftovers: readonly string[];
}

/** The machine, as the runner sees it. */
export interface E2eMachine {
    docker(): Promise<DockerState>;
    /** `kind version`'s first word after "kind", or undefined when kind is not on PATH. */
    kindVersion(): Promise<string | undefined>;
    /** `pulumi version`, or undefined when the CLI is not on PATH. */
    pulumiVersion(): Promise<string | undefined>;
    kindClusters(): Promise<KindState>;
    deleteKindCluster(name: string): Promise<void>;
    /** Docker containers labelled as nodes of a kind cluster (`io.x-k8s.kind.cluster=<name>`). */
    kindContainers(name: string): Promise<readonly string[]>;
    /** What each running image cache holds, by its own records (tools/cache/records.ts). */
    imageCaches(): Promise<readonly CacheRecords[]>;
    /** The kubelet's Pulled events of a kind cluster, as `kubectl get events -o json` prints them. */
    pulledEvents(cluster: string): Promise<string>;
}

/** What the program registers under mocks, computed once the machine has passed the preflight. */
export interface Expectations {
    /** `<type>::<name>` of every resource the routing change should touch (tools/mockRun.ts). */
    readonly routingChanges?: readonly string[];
    /** Why routingChanges is missing. */
    readonly routingError?: string;
    readonly predicted?: PredictedPath;
}

/** Everything outside the runner. */
export interface E2ePorts {
    readonly machine: E2eMachine;
    openBackend(): Promise<E2eBackend>;
    expectations(base: Readonly<Record<string, unknown>>, routing: Readonly<Record<string, unknown>>): Promise<Expectations>;
    /** Milliseconds; injected so that tests need no real time. */
    now(): number;
    log(line: string): void;
    writeFile(file: string, content: string): void;
}

/** What one run does. */
export interface E2eOptions {
    readonly env: string;
    /** The stack's name, and its kind cluster's. */
    readonly name: string;
    /** The environment's config as `pulumi up` would see it (Pulumi.yaml defaults, then Pulumi.<env>.yaml), prefixed keys. */
    readonly envConfig: Readonly<Record<string, unknown>>;
    /** Free host ports for every role. */
    readonly hostPorts: Readonly<Record<PortRole, number>>;
    /** Leave the last cluster up for inspection. */
    readonly keep: boolean;
    /** Also run the canary upgrade scenario (tools/e2e/canary.ts). @default false */
    readonly canary?: boolean;
    /** Where the report, the timings and the engine events of each operation go. */
    readonly outDir: string;
    /** The user's Ctrl-C: stops what runs, skips the rest, and still cleans up. */
    readonly interrupt?: AbortSignal;
}

/** Runs one operation of a scenario, keeping its events. */
export type OpRunner = (
    label: string,
    run: (o: OpOptions) => Promise<OpOutcome>,
    extra?: { readonly onEvent?: (e: EngineEvent) => void; readonly signal?: AbortSignal; readonly cleanup?: boolean },
) => Promise<{ outcome: OpOutcome; events: EngineEvent[]; seconds: number }>;
