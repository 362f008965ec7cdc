import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { RawConfig, SecretInput } from "../components/config";

/** Project root, for reading the committed Pulumi.yaml and Pulumi.<env>.yaml. */
export const ROOT = path.resolve(__dirname, "..");
export const PROJECT = "istio-mesh";

/** A resource the program registered, as the mocks and the stack transformation saw it. */
export interface Recorded {
    readonly type: string;
    readonly name: string;
    readonly custom: boolean;
    /** Inputs as the provider received them (secrets unwrapped). */
    inputs: Record<string, any>;
    /** Provider reference of a custom resource, `urn::id`. */
    provider?: string;
    /** Logical name of the parent resource. */
    parent?: string;
    /** Logical names of the resources in opts.dependsOn. */
    dependsOn: string[];
    /** Logical names of the resources whose outputs flow into this custom resource's inputs. */
    dataDeps: string[];
    /** Output names listed in opts.additionalSecretOutputs. */
    additionalSecretOutputs: string[];
    /** Whether it only reads an existing object (opts.id). */
    read: boolean;
    /** opts.retainOnDelete. */
    retainOnDelete?: boolean;
    /** opts.transforms, applied by the engine to this resource's children. */
    transforms: pulumi.ResourceTransform[];
    /** opts.deleteBeforeReplace. */
    deleteBeforeReplace?: boolean;
    /** The resource object, to read its outputs. */
    resource?: pulumi.Resource;
}

/** Fake kubeconfig that a kind create command "prints". */
export const FAKE_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n# fake kubeconfig from the test mocks\n";
export const FAKE_PASSWORD = "mock-random-password";
/** The token the mocked token controller puts into a service-account-token Secret. */
export const FAKE_SA_TOKEN = "mock-service-account-token";
/**
 * A kubeconfig for an existing cluster, as a user would set it (`pulumi config set --secret
 * kubeconfig`): the stack checks that it names a cluster and a context. Nothing contacts it.
 */
export const EXISTING_KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{name: prod, cluster: {server: "https://203.0.113.1:6443"}}]
users: [{name: admin, user: {token: placeholder}}]
contexts: [{name: prod, context: {cluster: prod, user: admin}}]
current-context: prod
`;

/** A kubeconfig for a local fake API server (plain HTTP, token auth), as the scripts receive it. */
export function kubeconfigFor(server: string): string {
    return `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: ctx, context: {cluster: c, user: u}}]
current-context: ctx
`;
}

/** The address the ingress gateway's load balancer has under the mocks. */
export const LOAD_BALANCER_IP = "203.0.113.10";

/** What a run of the program registered and exported. */
export class Run {
    constructor(
        readonly resources: Recorded[],
        readonly outputs: Record<string, unknown>,
    ) {}

    /** Every resource of a type token. */
    ofType(type: string): Recorded[] {
        return this.resources.filter((r) => r.type === type);
    }

    /** The one resource with this logical name; fails with the names it has when absent. */
    get(name: string, type?: string): Recorded {
        const found = this.resources.filter((r) => r.name === name && (!type || r.type === type));
        if (found.length !== 1) {
            throw new Error(
                `expected one resource named ${name}${type ? ` of type ${type}` : ""}, found ${found.length}. Registered: ${this.resources.map((r) => `${r.type}::${r.name}`).join(", ")}`,
            );
        }
        return found[0];
    }

    /** The resource with this name, or undefined. */
    find(name: string): Recorded | undefined {
        return this.resources.find((r) => r.name === name);
    }

    /** Names of everything `name` waits for: its dependsOn and those of its ancestors, transitively. */
    waitsFor(name: string): Set<string> {
        const seen = new Set<string>();
        const visit = (n: string): void => {
            const r = this.find(n);
            if (!r) return;
            const next = [...r.dependsOn, ...(r.parent ? [r.parent] : [])];
            for (const d of next) {
                if (!seen.has(d)) {
                    seen.add(d);
                    visit(d);
                }
            }
        };
        visit(name);
        return seen;
    }
}

/** What a StackReference mock serves: the referenced stack's outputs and which of them are secret. */
export interface StackReferenceMock {
    readonly outputs: Record<string, unknown>;
    readonly secretOutputNames?: readonly string[];
}

/** The suffix the mocked Kubernetes provider appends when it auto-names an object, as the real one does. */
export const AUTONAME_SUFFIX = "-0a1b2c3d";

function mockOutputs(args: pulumi.runtime.MockResourceArgs, stacks: Record<string, StackReferenceMock>): Record<string, any> {
    const inputs = { ...args.inputs };
    const meta = inputs.metadata as { name?: string } | undefined;
    if (args.type.startsWith("kubernetes:") && !args.id && meta && meta.name === undefined) {
        inputs.metadata = { ...meta, name: `${args.name}${AUTONAME_SUFFIX}` };
    }
    switch (args.type) {
        case "pulumi:pulumi:StackReference": {
            const stack = stacks[args.inputs.name as string];
            if (!stack) throw new Error(`unmocked StackReference ${String(args.inputs.name)}: pass it in stackReferences`);
            return { name: args.inputs.name, outputs: stack.outputs, secretOutputNames: [...(stack.secretOutputNames ?? [])] };
        }
        case "command:local:Command": {
            // The kind create script prints the kubeconfig, the gateway check on an existing cluster the
            // gateway's URL (after its progress lines); every other command prints a short line.
            const stdout = args.name.endsWith("-cluster")
                ? FAKE_KUBECONFIG
                : args.name.endsWith("-gateway-ready")
                  ? `http://${LOAD_BALANCER_IP}\n`
                  : "ok";
            return { ...inputs, stdout, stderr: "" };
        }
        case "random:index/randomPassword:RandomPassword":
            return { ...inputs, result: FAKE_PASSWORD };
        case "kubernetes:core/v1:Secret":
            // pulumi-kubernetes returns a service-account-token Secret once the token controller has filled it in.
            return inputs.type === "kubernetes.io/service-account-token"
                ? { ...inputs, data: { token: Buffer.from(FAKE_SA_TOKEN).toString("base64") } }
                : inputs;
        case "kubernetes:helm.sh/v3:Release":
            return { ...inputs, status: { name: inputs.name, namespace: inputs.namespace, status: "deployed", version: inputs.version } };
        default:
            return inputs;
    }
}

/** Token of an invoke the tests expect, and what it answers. */
export type InvokeHandler = (args: pulumi.runtime.MockCallArgs) => Record<string, any>;

/**
 * Runs `program` under Pulumi mocks with the given config and records every resource it
 * registers, with inputs, provider, parent and dependsOn. Any invoke without a handler fails
 * the run, so that nothing silently reaches a real cloud or cluster.
 */
export async function runProgram(
    program: () => Record<string, unknown> | undefined | Promise<Record<string, unknown> | undefined>,
    options: {
        config?: Record<string, string>;
        secretKeys?: string[];
        stack?: string;
        preview?: boolean;
        invokes?: Record<string, InvokeHandler>;
        /** Pulumi project name the program runs as. @default "istio-mesh" */
        project?: string;
        /** Stacks a StackReference may read, by fully qualified name. */
        stackReferences?: Record<string, StackReferenceMock>;
    } = {},
): Promise<Run> {
    const resources: Recorded[] = [];
    const byResource = new Map<pulumi.Resource, Recorded>();
    const byTypeName = new Map<string, Recorded>();
    const unexpectedInvokes: string[] = [];
    const pendingDataDeps: Promise<void>[] = [];
    const pendingData = new Map<Recorded, pulumi.Resource[]>();

    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const key = `${args.type}::${args.name}`;
                const rec = byTypeName.get(key);
                if (rec) {
                    rec.inputs = args.inputs;
                    rec.provider = args.provider;
                }
                return { id: args.id ?? `${args.name}-id`, state: mockOutputs(args, options.stackReferences ?? {}) };
            },
            call(args) {
                const handler = options.invokes?.[args.token];
                if (!handler) {
                    unexpectedInvokes.push(args.token);
                    throw new Error(`unmocked invoke ${args.token}: add a handler in the test or do not call it`);
                }
                return handler(args);
            },
        },
        options.project ?? PROJECT,
        options.stack ?? "test",
        options.preview ?? false,
        // The local backend's organization, as a StackReference to the stack itself names it.
        "organization",
    );
    pulumi.runtime.setAllConfig(options.config ?? {}, options.secretKeys ?? []);

    let exported: Record<string, unknown> = {};
    await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((args) => {
            // A remote component (such as yaml/v2 ConfigFile) passes through here more than once.
            if (byResource.has(args.resource) || byTypeName.has(`${args.type}::${args.name}`)) return undefined;
            const rec: Recorded = {
                type: args.type,
                name: args.name,
                custom: args.resource instanceof pulumi.CustomResource,
                inputs: {},
                dependsOn: [],
                dataDeps: [],
                read: (args.opts as pulumi.CustomResourceOptions).id !== undefined,
                retainOnDelete: args.opts.retainOnDelete,
                transforms: [...(args.opts.transforms ?? [])],
                additionalSecretOutputs: [...((args.opts as pulumi.CustomResourceOptions).additionalSecretOutputs ?? [])],
                deleteBeforeReplace: (args.opts as pulumi.CustomResourceOptions).deleteBeforeReplace,
                resource: args.resource,
            };
            const parent = args.opts.parent ? byResource.get(args.opts.parent) : undefined;
            rec.parent = parent?.name;
            const deps = args.opts.dependsOn;
            const list = deps === undefined ? [] : Array.isArray(deps) ? deps : [deps];
            for (const d of list) {
                if (!pulumi.Resource.isInstance(d)) {
                    throw new Error(`${args.name}: dependsOn must list resources directly so that tests can see the ordering`);
                }
                const dep = byResource.get(d as pulumi.Resource);
                rec.dependsOn.push(dep ? dep.name : "<unrecorded>");
            }
            if (rec.custom)
                pendingDataDeps.push(
                    outputResources([args.props, (args.opts as pulumi.CustomResourceOptions).id]).then(
                        (rs) => void pendingData.set(rec, rs),
                    ),
                );
            resources.push(rec);
            byResource.set(args.resource, rec);
            byTypeName.set(`${args.type}::${args.name}`, rec);
            return undefined;
        });
        exported = (await program()) ?? {};
        return exported;
    });

    const outputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(exported)) outputs[k] = v;
    await settle();
    await Promise.all(pendingDataDeps);
    for (const [rec, rs] of pendingData) {
        rec.dataDeps = [...new Set(rs.map((r) => byResource.get(r)?.name ?? "<unrecorded>"))].sort();
    }
    if (unexpectedInvokes.length > 0) throw new Error(`program made unmocked invokes: ${unexpectedInvokes.join(", ")}`);
    return new Run(resources, outputs);
}

/** Every resource whose outputs appear anywhere in a resource's input properties. */
async function outputResources(props: unknown): Promise<pulumi.Resource[]> {
    const found: Promise<Iterable<pulumi.Resource>>[] = [];
    const seen = new Set<unknown>();
    const walk = (v: unknown): void => {
        if (typeof v !== "object" || v === null || seen.has(v)) return;
        seen.add(v);
        if (pulumi.Output.isInstance(v)) {
            // The SDK tracks, on each Output, the resources it was computed from.
            const o = v as unknown as { allResources?: () => Promise<Set<pulumi.Resource>>; resources: () => Set<pulumi.Resource> };
            found.push(o.allResources ? o.allResources() : Promise.resolve(o.resources()));
            return;
        }
        for (const x of Array.isArray(v) ? v : Object.values(v)) walk(x);
    };
    walk(props);
    return (await Promise.all(found)).flatMap((set) => [...set]);
}

/** Lets pending mock registrations finish. */
async function settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** Resolves an Output (or plain value) to its value, and tells whether it is secret. */
export async function resolve<T>(value: pulumi.Input<T>): Promise<{ value: T | undefined; secret: boolean }> {
    const out = pulumi.output(value);
    const [v, secret] = await Promise.all([
        new Promise<T | undefined>((res) =>
            out.apply((x) => {
                res(x as T);
                return x;
            }),
        ),
        pulumi.isSecret(out),
    ]);
    return { value: v, secret };
}

interface ProjectFile {
    config?: Record<string, { default?: unknown }>;
}

/** Declared defaults of Pulumi.yaml, as the CLI applies them, with the project prefix. */
export function projectDefaults(): Record<string, unknown> {
    const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as ProjectFile;
    const out: Record<string, unknown> = {};
    for (const [key, decl] of Object.entries(project.config ?? {})) {
        if (decl.default !== undefined) out[key.includes(":") ? key : `${PROJECT}:${key}`] = decl.default;
    }
    return out;
}

/** The config a `pulumi up` of this stack file would see: Pulumi.yaml defaults, then the stack file. */
export function stackConfig(env: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    const file = parse(fs.readFileSync(path.join(ROOT, `Pulumi.${env}.yaml`), "utf8")) as { config?: Record<string, unknown> };
    return { ...projectDefaults(), ...(file.config ?? {}), ...extra };
}

/** Pulumi passes config to programs as strings; objects as JSON. */
export function asRuntimeConfig(config: Record<string, unknown>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(config)) out[k] = typeof v === "string" ? v : JSON.stringify(v);
    return out;
}

/** The RawConfig the loader would build from a stack's config, for testing validation directly. */
export function rawConfigFor(env: string, extra: Record<string, unknown> = {}): RawConfig {
    const c = stackConfig(env, extra);
    const get = (k: string): unknown => c[`${PROJECT}:${k}`];
    const s = (k: string): string | undefined => {
        const v = get(k);
        return v === undefined ? undefined : String(v);
    };
    // As `pulumi config set --secret` would store them.
    const secret = (k: string): SecretInput | undefined => {
        const v = get(k);
        return v === undefined ? undefined : { value: String(v), secret: true };
    };
    return {
        stack: env,
        clusterMode: s("clusterMode"),
        clusterName: s("clusterName"),
        meshMode: s("meshMode"),
        kubeContext: s("kubeContext"),
        kubeconfig: secret("kubeconfig"),
        verifyDeployment: s("verifyDeployment"),
        ingressTlsCert: secret("ingressTlsCert"),
        ingressTlsKey: secret("ingressTlsKey"),
        imageCacheCredentials: secret("imageCacheCredentials"),
        kind: get("kind"),
        istio: get("istio"),
        bookinfo: get("bookinfo"),
        observability: get("observability"),
    };
}

/**
 * What an environment needs besides its stack file to evaluate under mocks: a kubeconfig (secret)
 * when it targets an existing cluster, which a user supplies with `pulumi config set --secret`.
 */
export function placeholderSecrets(env: string): { extra: Record<string, unknown>; secretKeys: string[] } {
    return stackConfig(env)[`${PROJECT}:clusterMode`] === "existing"
        ? { extra: { [`${PROJECT}:kubeconfig`]: EXISTING_KUBECONFIG }, secretKeys: [`${PROJECT}:kubeconfig`] }
        : { extra: {}, secretKeys: [] };
}

/**
 * Runs the real index.ts for a committed environment under mocks. The program module is
 * loaded fresh each time, with the stack's config in place.
 */
export async function runStack(
    env: string,
    extra: Record<string, unknown> = {},
    options: {
        preview?: boolean;
        secretKeys?: string[];
        /** The outputs of the stack's last deployment, which it reads back. @default none: never deployed */
        lastOutputs?: Record<string, unknown>;
    } = {},
): Promise<Run> {
    const config = asRuntimeConfig(stackConfig(env, extra));
    const secretKeys = options.secretKeys ?? Object.keys(extra).filter((k) => /kubeconfig|Tls|Credentials/.test(k));
    return runProgram(
        async () => {
            const entry = require.resolve("../index");
            delete require.cache[entry];
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const program = require(entry) as () => Promise<Record<string, unknown>>;
            return program();
        },
        {
            config,
            secretKeys,
            stack: env,
            preview: options.preview,
            stackReferences: { [selfStack(env)]: { outputs: options.lastOutputs ?? {} } },
        },
    );
}

/** The outputs of a run that the next deployment reads back (what istio's revisions depend on). */
export async function lastOutputsOf(run: Run): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const name of ["istioRevisions", "istioVersion", "istioRevisionTag"])
        out[name] = (await resolve(run.outputs[name] as never)).value;
    return out;
}

/** The name the program's StackReference to itself reads, under the mocks. */
export function selfStack(env: string): string {
    return `organization/${PROJECT}/${env}`;
}

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** A registered input as the engine receives it: secret values arrive wrapped in a signature. */
export function inputValue(value: unknown): { value: unknown; secret: boolean } {
    if (typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG) {
        return { value: (value as Record<string, unknown>).value, secret: true };
    }
    return { value, secret: false };
}

/**
 * Runs index.ts like {@link runStack}, but with another pin record in place of components/versions.ts'
 * PINS: every module of the program is loaded afresh, its versions module with `pins`, and the
 * modules the rest of the tests use are put back afterwards. Only what reads PINS at use or at load
 * sees the record; the aliases versions.ts derives at load (KIND_VERSION, PULUMI_CLI_VERSION) keep
 * the real pins.
 */
export async function runStackWithPins(
    env: string,
    pins: import("../components/versions").Pins,
    extra: Record<string, unknown> = {},
    options: Parameters<typeof runStack>[2] = {},
): Promise<Run> {
    const own = (file: string): boolean =>
        file.startsWith(path.join(ROOT, "components") + path.sep) || file === require.resolve("../index");
    const saved = new Map(Object.entries(require.cache).filter(([file]) => own(file)));
    for (const file of saved.keys()) delete require.cache[file];
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const fresh = require("../components/versions") as { PINS: Record<string, unknown> };
        Object.assign(fresh.PINS, pins);
        return await runStack(env, extra, options);
    } finally {
        for (const file of Object.keys(require.cache).filter(own)) delete require.cache[file];
        for (const [file, mod] of saved) require.cache[file] = mod;
    }
}
