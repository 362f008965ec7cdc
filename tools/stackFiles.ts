/**
 * A stack's config read offline, from Pulumi.yaml and Pulumi.<env>.yaml, as the program would
 * receive it from `pulumi up`: the project's declared defaults, then the stack file, scalars as
 * strings and structured keys as objects (sdk/nodejs/config.ts, getObject parses them as JSON).
 * No CLI, no state, no passphrase: an encrypted (`secure:`) value counts as set, unread.
 *
 * `pulumi config set` writes to Pulumi.<env>.yaml, so on this project's backends what the files say
 * is what `up` sees.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { RawConfig, SecretInput } from "../components/config";
import { defaultKubeconfigPath } from "../components/cluster/config";

/** This project's name, the namespace of its config keys. */
const PROJECT = "istio-mesh";

/** The keys that hold secrets, read as {@link SecretInput}. */
type SecretKey = "kubeconfig" | "ingressTlsCert" | "ingressTlsKey" | "imageCacheCredentials";
/** The structured keys. */
type ObjectKey = "kind" | "istio" | "bookinfo" | "observability";

/** The files of a stack, parsed. */
export interface StackFileContents {
    /** Pulumi.yaml's `config` declarations. */
    readonly project: Readonly<Record<string, { readonly default?: unknown }>>;
    /** Pulumi.<env>.yaml's `config`. */
    readonly stack: Readonly<Record<string, unknown>>;
}

/** An encrypted value as the stack file stores it: `{ secure: v1:... }`. */
function isSecure(value: unknown): value is { secure: string } {
    return typeof value === "object" && value !== null && typeof (value as { secure?: unknown }).secure === "string";
}

/** Reads Pulumi.yaml and Pulumi.<env>.yaml under `root`; throws naming the file when one is missing or not YAML. */
export function readStackFiles(root: string, env: string): StackFileContents {
    const read = (file: string): Record<string, unknown> => {
        const full = path.join(root, file);
        if (!fs.existsSync(full)) throw new Error(`${file} does not exist in ${root}`);
        try {
            return (parse(fs.readFileSync(full, "utf8")) ?? {}) as Record<string, unknown>;
        } catch (e) {
            throw new Error(`${file} is not valid YAML: ${(e as Error).message}`);
        }
    };
    const project = read("Pulumi.yaml");
    const stack = read(`Pulumi.${env}.yaml`);
    return {
        project: (project.config ?? {}) as StackFileContents["project"],
        stack: (stack.config ?? {}) as Record<string, unknown>,
    };
}

/**
 * The RawConfig the program's loader (components/config.ts, loadConfig) would build for this
 * stack. `kubeconfigFile` reads the default kubeconfig file the way the loader does, when it would.
 */
export function rawConfigFromFiles(
    env: string,
    files: StackFileContents,
    kubeconfigFile: (file: string) => string | undefined = (file) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined),
): RawConfig {
    const config: Record<string, unknown> = {};
    for (const [key, decl] of Object.entries(files.project)) {
        if (decl?.default !== undefined) config[key.includes(":") ? key : `${PROJECT}:${key}`] = decl.default;
    }
    Object.assign(config, files.stack);
    const value = (key: string): unknown => config[`${PROJECT}:${key}`];
    const scalar = (key: string): string | undefined => {
        const v = value(key);
        if (v === undefined || v === null) return undefined;
        return typeof v === "object" ? JSON.stringify(v) : String(v);
    };
    const secret = (key: SecretKey): SecretInput | undefined => {
        const v = value(key);
        if (v === undefined || v === null) return undefined;
        return isSecure(v) ? { value: v.secure, secret: true, encrypted: true } : { value: scalar(key) ?? "", secret: false };
    };
    const unreadable: string[] = [];
    const object = (key: ObjectKey): unknown => {
        const v = value(key);
        if (typeof v !== "string") return v;
        // Set as a flat string: the program parses it as JSON, as getObject does.
        try {
            return JSON.parse(v) as unknown;
        } catch {
            unreadable.push(key);
            return undefined;
        }
    };
    const clusterMode = scalar("clusterMode");
    const kubeContext = scalar("kubeContext");
    const kubeconfig = secret("kubeconfig");
    let file: RawConfig["kubeconfigFile"];
    if (clusterMode === "existing" && !kubeconfig && kubeContext) {
        const where = defaultKubeconfigPath();
        file = { path: where, content: kubeconfigFile(where) };
    }
    return {
        stack: env,
        keys: Object.keys(config),
        unreadable,
        clusterMode,
        clusterName: scalar("clusterName"),
        meshMode: scalar("meshMode"),
        kubeContext,
        kubeconfig,
        kubeconfigFile: file,
        verifyDeployment: scalar("verifyDeployment"),
        ingressTlsCert: secret("ingressTlsCert"),
        ingressTlsKey: secret("ingressTlsKey"),
        imageCacheCredentials: secret("imageCacheCredentials"),
        kind: object("kind"),
        istio: object("istio"),
        bookinfo: object("bookinfo"),
        observability: object("observability"),
    };
}
