/**
 * The stack's config: reads it through Pulumi, parses each capability's slice with that
 * capability's schema, and checks what spans the slices (host ports across kind and the addons,
 * settings that depend on the cluster or the mesh mode). Every problem is reported at once, before
 * anything is created. The only module that reads config.
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { Problems, settingsOf, setting, show, STACK } from "./schema";
import {
    ClusterMode,
    clusterModeSchema,
    clusterNameSchema,
    defaultKubeconfigPath,
    kubeconfigSchema,
    kubeContextSchema,
    existingCluster,
    ExistingSettings,
    ImageCacheCredentials,
    imageCacheCredentials,
    imageCacheCredentialsSchema,
    KindSettings,
    kindSchema,
    noExistingClusterOnKind,
} from "./cluster/config";
import { IstioSection, IstioSettings, istioSchema, MeshMode, meshModeSchema } from "./mesh/config";
import {
    BookinfoSettings,
    bookinfoSchema,
    defaultHostnames,
    ingressTls,
    ingressTlsCertSchema,
    ingressTlsKeySchema,
} from "./bookinfo/config";
import { ObservabilitySettings, observabilitySchema } from "./observability/config";
import { verifyDeploymentSchema } from "./verify/config";
import { PINS } from "./versions";

/** The whole, validated stack configuration. */
export interface StackConfig {
    readonly stack: string;
    readonly clusterMode: ClusterMode;
    readonly clusterName: string;
    readonly kind?: KindSettings;
    /** The image caches' upstream credentials, on kind when set. */
    readonly imageCacheCredentials?: ImageCacheCredentials;
    readonly existing?: ExistingSettings;
    readonly istio: IstioSettings;
    readonly bookinfo: BookinfoSettings;
    readonly observability: ObservabilitySettings;
    /** Check the deployment from this machine once it is up. */
    readonly verifyDeployment: boolean;
    /** Settings that are allowed but expose something; the program prints them on every run. */
    readonly warnings: readonly string[];
}

/**
 * A secret config value as it arrives: its text, read to check it, and whether it was set with
 * `--secret`. It leaves validation only wrapped in `pulumi.secret`.
 */
export interface SecretInput {
    readonly value: string;
    readonly secret: boolean;
    /**
     * Read offline from the stack file (tools/stackFiles.ts): `value` is the ciphertext, so the
     * value counts as set and its content is not checked. @default false
     */
    readonly encrypted?: boolean;
}

/** Config values as they arrive, before validation. Scalars are strings, objects are unchecked. */
export interface RawConfig {
    readonly stack: string;
    readonly clusterMode?: string;
    readonly clusterName?: string;
    readonly meshMode?: string;
    readonly kubeContext?: string;
    readonly kubeconfig?: SecretInput;
    /** Content of the default kubeconfig file, read only when clusterMode is existing and no kubeconfig is set. */
    readonly kubeconfigFile?: { readonly path: string; readonly content?: string };
    readonly verifyDeployment?: string;
    readonly ingressTlsCert?: SecretInput;
    readonly ingressTlsKey?: SecretInput;
    readonly imageCacheCredentials?: SecretInput;
    readonly kind?: unknown;
    readonly istio?: unknown;
    readonly bookinfo?: unknown;
    readonly observability?: unknown;
    /** Every config key the stack has (`<namespace>:<key>`), to find the ones nothing reads. @default not checked */
    readonly keys?: readonly string[];
    /** Structured keys whose value is not valid JSON or YAML. @default [] */
    readonly unreadable?: readonly string[];
}

/** This project's name, the namespace of its config keys (Pulumi.yaml). */
const PROJECT = "istio-mesh";

/** Every key this project reads, as `pulumi config set` names it, with its schema: what the reference documents. */
export const SETTINGS = {
    clusterMode: clusterModeSchema,
    clusterName: clusterNameSchema,
    meshMode: meshModeSchema,
    kubeContext: kubeContextSchema,
    kubeconfig: kubeconfigSchema,
    verifyDeployment: verifyDeploymentSchema,
    ingressTlsCert: ingressTlsCertSchema,
    ingressTlsKey: ingressTlsKeySchema,
    imageCacheCredentials: imageCacheCredentialsSchema,
    kind: kindSchema,
    istio: istioSchema(),
    bookinfo: bookinfoSchema,
    observability: observabilitySchema,
};

/** The keys this project reads. */
export const PROJECT_KEYS = Object.keys(SETTINGS) as readonly (keyof typeof SETTINGS)[];

/** The structured keys, set with `--path` or as YAML in the stack file. */
export const SECTIONS = ["kind", "istio", "bookinfo", "observability"] as const satisfies readonly (keyof typeof SETTINGS)[];

/** Namespaces of config the stack's providers and Pulumi itself read. */
const OTHER_NAMESPACES = ["pulumi", "kubernetes", "command", "random"];

/** Levenshtein distance, to name the key a typo most likely meant. */
function distance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++)
        for (let j = 1; j <= b.length; j++)
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length][b.length];
}

/** Config keys nothing reads: a typo, a key stored flat that needed --path, or a misspelt project namespace. */
function checkKeys(p: Problems, keys: readonly string[]): void {
    for (const full of keys) {
        const colon = full.indexOf(":");
        const namespace = full.slice(0, colon);
        const key = full.slice(colon + 1);
        if (namespace === PROJECT) {
            if ((PROJECT_KEYS as readonly string[]).includes(key)) continue;
            const dot = key.indexOf(".");
            if (dot > 0 && (SECTIONS as readonly string[]).includes(key.slice(0, dot))) {
                p.add(
                    `${full} is stored as a key of its own, which nothing reads (got a flat key with a dot). Fix: pulumi config rm '${key}' ${STACK} && pulumi config set --path ${key} <value> ${STACK}`,
                );
                continue;
            }
            const near = [...PROJECT_KEYS].sort(
                (a, b) => distance(key.toLowerCase(), a.toLowerCase()) - distance(key.toLowerCase(), b.toLowerCase()),
            )[0];
            p.add(
                `${full} is not a setting of this stack (got a key nothing reads). Fix: did you mean ${PROJECT}:${near}? pulumi config rm ${key} ${STACK}, then set ${near}.`,
            );
        } else if (!OTHER_NAMESPACES.includes(namespace)) {
            p.add(
                `${full} is in namespace "${namespace}", which nothing in this stack reads (got a key outside "${PROJECT}:"). Fix: pulumi config rm '${full}' ${STACK}, then set it as ${PROJECT}:${key}.`,
            );
        }
    }
}

/**
 * Thrown when config is invalid; lists every problem. A RunError, so Pulumi prints the
 * message without a stack trace.
 */
export class ConfigError extends pulumi.RunError {
    constructor(readonly problems: readonly string[]) {
        super(
            `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
        );
        this.name = "ConfigError";
    }
}

/**
 * What the checks across slices read: each setting that parsed. A slice with a problem elsewhere
 * still lends the settings that are right, so that every problem is reported at once.
 */
interface Views {
    readonly raw: RawConfig;
    readonly mode?: MeshMode;
    /** Undefined on an existing cluster. */
    readonly kind?: Partial<KindSettings>;
    readonly istio: Partial<IstioSection>;
    readonly observability: Partial<ObservabilitySettings>;
}

/** What spans the slices: settings whose effect depends on the cluster, the mesh mode, or another slice. */
function checkAcross(p: Problems, { raw, mode, kind, istio, observability }: Views): void {
    const exposure = setting(raw.observability, "gatewayExposure");
    if (kind) {
        const service = setting(raw.istio, "gateway", "service");
        if (service !== undefined) {
            p.add(
                `istio.gateway.service applies to existing clusters only (got ${show(service)} with clusterMode "kind", where the gateway is always a NodePort behind kind's host ports). Fix: pulumi config rm --path istio.gateway.service ${STACK}`,
            );
        }
        // The kind port mappings exist only on the control-plane node, so the gateway must run there.
        const gateway = istio.gateway;
        if (
            gateway?.kind === "DaemonSet" &&
            kind.workers !== undefined &&
            kind.workers > 0 &&
            gateway.nodeSelector["ingress-ready"] !== "true"
        ) {
            p.add(
                `istio.gateway.nodeSelector must include "ingress-ready": "true" on kind (got ${show(gateway.nodeSelector)}): only that node carries the host port mappings.`,
            );
        }
        if (exposure !== undefined) {
            p.add(
                `observability.gatewayExposure applies to existing clusters only (got it with clusterMode "kind", where every UI already has a host port). Fix: remove observability.gatewayExposure.`,
            );
        }
    }
    const upgrade = istio.upgrade;
    if (upgrade && (upgrade.strategy ?? (kind ? "inPlace" : "revisions")) === "inPlace") {
        const why = upgrade.strategy ? `istio.upgrade.strategy is "inPlace"` : `an istiod upgraded in place is the default on kind`;
        for (const key of ["keepRevisions", "tags", "retire"] as const) {
            const value = upgrade[key];
            if (Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0) {
                p.add(
                    `istio.upgrade.${key} needs revisions (got ${show(value)}, but ${why}, which installs one istiod without a revision). Fix: pulumi config set --path istio.upgrade.strategy revisions ${STACK}, or pulumi config rm --path istio.upgrade.${key} ${STACK}`,
                );
            }
        }
    }
    if (mode === "sidecar") {
        for (const chart of ["cni", "ztunnel"] as const) {
            const values = setting(raw.istio, "extraValues", chart);
            if (typeof values === "object" && values !== null && Object.keys(values).length > 0) {
                p.add(
                    `istio.extraValues.${chart} has no effect in sidecar mode (got ${show(values)}): the ${chart} chart is installed only in ambient mode. Fix: remove it, or pulumi config set meshMode ambient.`,
                );
            }
        }
    }
    if (exposure !== undefined && istio.gateway?.service === "NodePort") {
        p.add(
            `observability.gatewayExposure needs istio.gateway.service "LoadBalancer" (got "NodePort"): the addon UIs are served on their own ports of the gateway's load balancer address. Fix: remove observability.gatewayExposure, or pulumi config set --path istio.gateway.service LoadBalancer ${STACK}`,
        );
    }
    if (observability.kialiAuth === "anonymous" && (!kind || (kind.listenAddress !== undefined && kind.listenAddress !== "127.0.0.1"))) {
        p.add(
            `observability.kialiAuth may be "anonymous" only on kind with kind.listenAddress "127.0.0.1" (got ${kind ? show(kind.listenAddress) : "an existing cluster"}). Fix: pulumi config set --path observability.kialiAuth token`,
        );
    }
    if (kind?.listenAddress !== undefined && !/^127\./.test(kind.listenAddress)) {
        p.warn(
            `kind.listenAddress is ${show(kind.listenAddress)}: every UI and the ingress gateway are reachable from other machines on that network, Prometheus and Jaeger without a login. Keep it "127.0.0.1" unless you mean that.`,
        );
    }
    const open = (observability.gatewayExposure?.sourceRanges ?? []).filter((r) => /\/0$/.test(r));
    if (open.length > 0) {
        p.warn(
            `observability.gatewayExposure.sourceRanges includes ${open.join(" and ")}: the addon UIs are open to every address, Prometheus and Jaeger without a login. Name the ranges of your clients instead.`,
        );
    }
}

/**
 * Validates raw stack config and returns it typed and frozen. Reports every problem at once
 * by throwing a {@link ConfigError}; creates nothing.
 */
export function validateConfig(raw: RawConfig, fileExists: (file: string) => boolean = fs.existsSync): StackConfig {
    const p = new Problems(`--stack ${raw.stack}`);
    if (raw.keys) checkKeys(p, raw.keys);
    for (const key of raw.unreadable ?? []) {
        p.add(
            `${key} must be an object written as YAML or JSON (got text that does not parse). Fix: write it as YAML under ${PROJECT}:${key}: in Pulumi.${raw.stack}.yaml, or set one setting at a time with pulumi config set --path ${key}.<setting> <value> ${STACK}`,
        );
    }
    const clusterMode = p.parse(clusterModeSchema, raw.clusterMode, "clusterMode");
    const clusterName = p.parse(clusterNameSchema, raw.clusterName, "clusterName");
    const meshMode = p.parse(meshModeSchema, raw.meshMode, "meshMode");
    const verifyDeployment = p.parse(verifyDeploymentSchema, raw.verifyDeployment, "verifyDeployment");
    // Secrets set without --secret sit in plain text in Pulumi.<stack>.yaml (and in the repository).
    for (const [key, input] of [
        ["kubeconfig", raw.kubeconfig],
        ["ingressTlsCert", raw.ingressTlsCert],
        ["ingressTlsKey", raw.ingressTlsKey],
        ["imageCacheCredentials", raw.imageCacheCredentials],
    ] as const) {
        if (input && !input.secret) {
            p.add(
                `${key} is stored in plain text in Pulumi.${raw.stack}.yaml (got a value set without --secret). Fix: pulumi config rm ${key} ${STACK} && pulumi config set --secret ${key} ${STACK} < <file>`,
            );
        }
    }
    let kind: KindSettings | undefined;
    let existing: ExistingSettings | undefined;
    if (clusterMode === "existing") {
        if (raw.kind !== undefined) {
            p.add(
                `kind is set but clusterMode is "existing" (got kind: ${show(raw.kind)}). Fix: remove the kind section or set clusterMode to kind.`,
            );
        }
        existing = existingCluster(p, raw.kubeconfig?.value, raw.kubeContext, raw.kubeconfigFile, raw.kubeconfig?.encrypted);
    } else {
        kind = p.parse(kindSchema, section(raw.kind), "kind");
        noExistingClusterOnKind(p, raw.kubeconfig !== undefined, raw.kubeContext !== undefined && raw.kubeContext !== "");
    }
    // Checked against the caches once the kind section parsed; offline (encrypted) only counted as set.
    const credentials = raw.imageCacheCredentials;
    let cacheCredentials: ImageCacheCredentials | undefined;
    if (credentials?.secret && !credentials.encrypted && (clusterMode === "existing" || kind)) {
        const cache = kind?.imageCache;
        const cached =
            cache?.enabled === true ? cache.registries.filter((r) => !kind!.registryMirrors.some((m) => m.registry === r)) : undefined;
        const why =
            clusterMode === "existing" ? `clusterMode is "existing", which has no image caches` : "kind.imageCache.enabled is false";
        cacheCredentials = imageCacheCredentials(p, credentials.value, cached, why);
    }
    const istioSchemaHere = istioSchema(fileExists);
    const istioSection = p.parse(istioSchemaHere, section(raw.istio), "istio");
    const bookinfoSection = p.parse(bookinfoSchema, section(raw.bookinfo), "bookinfo");
    const observability = p.parse(observabilitySchema, section(raw.observability), "observability");
    const istio: IstioSettings | undefined =
        istioSection && meshMode && clusterMode
            ? {
                  ...istioSection,
                  mode: meshMode,
                  version: istioSection.version ?? PINS.istio.version,
                  // Existing clusters serve traffic: a new istiod beside the running one. kind is the stack's own.
                  upgrade: {
                      ...istioSection.upgrade,
                      strategy: istioSection.upgrade.strategy ?? (clusterMode === "existing" ? "revisions" : "inPlace"),
                  },
              }
            : undefined;
    const tlsWanted = (bookinfoSection ?? settingsOf(bookinfoSchema, raw.bookinfo)).tls;
    const tlsEncrypted = raw.ingressTlsCert?.encrypted === true || raw.ingressTlsKey?.encrypted === true;
    const tls =
        tlsWanted === undefined ? undefined : ingressTls(p, tlsWanted, raw.ingressTlsCert?.value, raw.ingressTlsKey?.value, tlsEncrypted);
    const bookinfo = bookinfoSection && { ...bookinfoSection, hostnames: bookinfoSection.hostnames ?? defaultHostnames(kind), tls };
    checkAcross(p, {
        raw,
        mode: meshMode,
        kind: clusterMode === "existing" ? undefined : (kind ?? settingsOf(kindSchema, raw.kind)),
        istio: istioSection ?? settingsOf(istioSchemaHere, raw.istio),
        observability: observability ?? settingsOf(observabilitySchema, raw.observability),
    });
    if (
        p.list.length > 0 ||
        !clusterMode ||
        clusterName === undefined ||
        verifyDeployment === undefined ||
        !istio ||
        !bookinfo ||
        !observability
    ) {
        throw new ConfigError(p.list);
    }
    return deepFreeze({
        stack: raw.stack,
        clusterMode,
        clusterName,
        kind,
        imageCacheCredentials: cacheCredentials,
        existing,
        istio,
        bookinfo,
        observability,
        verifyDeployment,
        warnings: p.warnings,
    });
}

/** A structured key as it arrives: missing is an empty section; anything else, null included, is left to its schema. */
function section(value: unknown): unknown {
    return value === undefined ? {} : value;
}

function deepFreeze<T>(value: T): T {
    if (typeof value === "object" && value !== null && !pulumi.Output.isInstance(value) && !Object.isFrozen(value)) {
        Object.freeze(value);
        for (const v of Object.values(value)) deepFreeze(v);
    }
    return value;
}

/**
 * Reads a secret key's text and whether it was set with `--secret`. The language host lists the
 * secret keys in PULUMI_CONFIG_SECRET_KEYS (pulumi sdk/nodejs/cmd/pulumi-language-nodejs/main.go),
 * which the SDK reads with its isConfigSecret (sdk/nodejs/runtime/config.ts; internal, hence the
 * narrow cast).
 */
function secretInput(key: string): SecretInput | undefined {
    const fullKey = `${PROJECT}:${key}`;
    const value = pulumi.runtime.getConfig(fullKey);
    if (value === undefined) return undefined;
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean };
    return { value, secret: runtime.isConfigSecret?.(fullKey) ?? true };
}

/** Reads this stack's config through Pulumi and validates it. The only place that reads config. */
export function loadConfig(): StackConfig {
    const cfg = new pulumi.Config();
    const clusterMode = cfg.get("clusterMode");
    const kubeContext = cfg.get("kubeContext");
    const kubeconfig = secretInput("kubeconfig");
    let kubeconfigFile: RawConfig["kubeconfigFile"];
    if (clusterMode === "existing" && !kubeconfig && kubeContext) {
        const file = defaultKubeconfigPath();
        kubeconfigFile = { path: file, content: fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined };
    }
    const unreadable: string[] = [];
    const object = (key: string): unknown => {
        try {
            return cfg.getObject(key);
        } catch {
            unreadable.push(key);
            return undefined;
        }
    };
    const validated = validateConfig({
        stack: pulumi.getStack(),
        keys: Object.keys(pulumi.runtime.allConfig()),
        unreadable,
        clusterMode,
        clusterName: cfg.get("clusterName"),
        meshMode: cfg.get("meshMode"),
        kubeContext,
        kubeconfig,
        kubeconfigFile,
        verifyDeployment: cfg.get("verifyDeployment"),
        ingressTlsCert: secretInput("ingressTlsCert"),
        ingressTlsKey: secretInput("ingressTlsKey"),
        imageCacheCredentials: secretInput("imageCacheCredentials"),
        kind: object("kind"),
        istio: object("istio"),
        bookinfo: object("bookinfo"),
        observability: object("observability"),
    });
    for (const warning of validated.warnings) void pulumi.log.warn(warning);
    return validated;
}
