import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as crypto from "crypto";
import * as net from "net";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { GATEWAY_API_VERSION, KIND_NODE_IMAGE } from "./versions";
import { exposedPorts, PORT_ROLES, PortRole } from "./ports";
import { hostForListenAddress } from "./urls";
import { isRegistryHost } from "./cluster/kindScripts";

/** Where the cluster comes from: a local kind cluster, or one the user already has. */
export type ClusterMode = "kind" | "existing";
/** Istio data plane: sidecar proxies, or ztunnel (plus waypoints) in ambient mode. */
export type MeshMode = "sidecar" | "ambient";
/** Mesh-wide PeerAuthentication mode. */
export type MtlsMode = "STRICT" | "PERMISSIVE";
/** Which API routes ingress traffic to Bookinfo. */
export type IngressApi = "istio" | "gateway-api";
/** How the ingress gateway runs: a Deployment, or a DaemonSet on nodes labelled for ingress. */
export type GatewayKind = "Deployment" | "DaemonSet";
/** How the ingress gateway's Service is exposed on an existing cluster. */
export type GatewayService = "LoadBalancer" | "NodePort";
/** meshConfig.outboundTrafficPolicy.mode. */
export type OutboundTrafficPolicy = "ALLOW_ANY" | "REGISTRY_ONLY";
/** A Bookinfo reviews version. */
export type ReviewsVersion = "v1" | "v2" | "v3";
/** How Kiali authenticates its users. */
export type KialiAuth = "token" | "anonymous";
/** The ClusterRole Headlamp's login token is bound to. */
export type HeadlampAccess = "view" | "edit" | "cluster-admin";

/** A containerd registry mirror for the kind nodes (certs.d hosts.toml). */
export interface RegistryMirror {
    /** Registry host whose pulls are redirected, e.g. `docker.io`. */
    readonly registry: string;
    /** Mirror or pull-through cache URL, e.g. `http://host.docker.internal:5000`. */
    readonly endpoint: string;
}

/** Settings of the local kind cluster. */
export interface KindSettings {
    /** Worker nodes besides the control plane. */
    readonly workers: number;
    /** kind node image, tag and digest. */
    readonly nodeImage: string;
    /** topology.kubernetes.io/region label of every node. */
    readonly region: string;
    /** topology.kubernetes.io/zone labels, assigned to nodes round robin. */
    readonly zones: readonly string[];
    /** Address the host ports are bound to. */
    readonly listenAddress: string;
    /** Host port of each exposed endpoint. */
    readonly hostPorts: Readonly<Record<PortRole, number>>;
    /** containerd registry mirrors. */
    readonly registryMirrors: readonly RegistryMirror[];
    /** Local Docker images to `kind load` after creating the cluster. */
    readonly preloadImages: readonly string[];
    /** Merge the cluster into the user's kubeconfig and switch its current context to it. */
    readonly exportKubeconfig: boolean;
}

/** Settings of an existing cluster. */
export interface ExistingSettings {
    /** Kubeconfig content, always secret. */
    readonly kubeconfig: pulumi.Output<string>;
    /** Context inside the kubeconfig; its current context when unset. */
    readonly context?: string;
    /** Where the kubeconfig came from, for messages. */
    readonly source: "config" | "file";
}

/** CPU and memory requests and limits. */
export interface Resources {
    readonly requests: { readonly cpu: string; readonly memory: string };
    readonly limits?: { readonly cpu?: string; readonly memory?: string };
}

/** Istio settings. */
export interface IstioSettings {
    readonly mode: MeshMode;
    readonly mtls: MtlsMode;
    readonly istiod: { readonly replicas: number; readonly resources: Resources; readonly podDisruptionBudget: boolean };
    readonly gateway: {
        readonly replicas: number;
        readonly kind: GatewayKind;
        /** Node labels the DaemonSet gateway runs on. */
        readonly nodeSelector: Readonly<Record<string, string>>;
        /** Existing clusters: the gateway Service's type; NodePort for a cluster without a load balancer. */
        readonly service: GatewayService;
    };
    readonly meshConfig: {
        readonly accessLogs: boolean;
        readonly outboundTrafficPolicy: OutboundTrafficPolicy;
        readonly localityLoadBalancing: boolean;
    };
    readonly gatewayApi: {
        readonly install: boolean;
        readonly channel: "standard" | "experimental";
        /** A local copy of the CRD bundle for air-gapped machines. */
        readonly localFile?: string;
    };
    /** Extra Helm values per chart, merged over the stack's own. */
    readonly extraValues: Readonly<Record<"base" | "istiod" | "cni" | "ztunnel" | "gateway", Record<string, unknown>>>;
    /**
     * Whether `pulumi destroy` removes the Istio and Gateway API CRDs (and with them every object
     * of those kinds in the cluster, the user's included). Off: they stay, as Helm keeps Istio's.
     */
    readonly removeCrdsOnDestroy: boolean;
}

/** How `reviews` traffic is split. */
export type ReviewsRouting =
    | { readonly mode: "round-robin" }
    | { readonly mode: "weighted"; readonly weights: Readonly<Record<ReviewsVersion, number>> }
    | { readonly mode: "pinned"; readonly version: ReviewsVersion };

/** A fault injected into calls to `ratings`. */
export type RatingsFault =
    | { readonly kind: "delay"; readonly percent: number; readonly delaySeconds: number; readonly user?: string }
    | { readonly kind: "abort"; readonly percent: number; readonly httpStatus: number; readonly user?: string };

/** Bookinfo settings. */
export interface BookinfoSettings {
    readonly enabled: boolean;
    readonly ingressApi: IngressApi;
    /** Host names Bookinfo answers to at the ingress. */
    readonly hostnames: readonly string[];
    readonly reviews: ReviewsRouting;
    /** Requests with header `end-user: <user>` go to this version. */
    readonly headerRoute?: { readonly user: string; readonly version: ReviewsVersion };
    readonly ratingsFault?: RatingsFault;
    /** Timeout of calls to reviews, in seconds. */
    readonly timeoutSeconds?: number;
    readonly retries?: { readonly attempts: number; readonly perTryTimeoutSeconds: number };
    /** Eject failing endpoints (outlier detection) on every Bookinfo service. */
    readonly outlierDetection: boolean;
    /** Deny by default and allow only the Bookinfo call graph. */
    readonly authorization: boolean;
    /** An external authorizer the user runs, checked for every request to productpage. */
    readonly extAuthz?: { readonly name: string; readonly service: string; readonly port: number };
    /** HTTPS on the ingress with a user-supplied certificate. */
    readonly tls?: { readonly certificate: pulumi.Output<string>; readonly privateKey: pulumi.Output<string> };
}

/** Observability addon settings. */
export interface ObservabilitySettings {
    readonly prometheus: boolean;
    readonly grafana: boolean;
    readonly jaeger: boolean;
    readonly kiali: boolean;
    /** Percentage of requests traced. */
    readonly tracingSamplingPercent: number;
    readonly kialiAuth: KialiAuth;
    /**
     * Existing clusters: serve each addon UI on its own port of the ingress gateway, reachable only
     * from these client address ranges (CIDRs). Undefined: the UIs stay in-cluster.
     */
    readonly gatewayExposure?: { readonly sourceRanges: readonly string[] };
    /**
     * Headlamp, the cluster web UI, with token login as a dedicated service account bound
     * cluster-wide to the ClusterRole `access`. Undefined: not installed.
     */
    readonly headlamp?: { readonly access: HeadlampAccess };
}

/** The whole, validated stack configuration. */
export interface StackConfig {
    readonly stack: string;
    readonly clusterMode: ClusterMode;
    readonly clusterName: string;
    readonly kind?: KindSettings;
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

/** The keys this project reads, each as `pulumi config set` names it. */
export const PROJECT_KEYS = [
    "clusterMode",
    "clusterName",
    "meshMode",
    "kubeContext",
    "kubeconfig",
    "verifyDeployment",
    "ingressTlsCert",
    "ingressTlsKey",
    "kind",
    "istio",
    "bookinfo",
    "observability",
] as const;

/** The structured keys, set with `--path` or as YAML in the stack file. */
const STRUCTURED_KEYS: readonly string[] = ["kind", "istio", "bookinfo", "observability"];

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
function checkKeys(p: Problems, keys: readonly string[], stackFlag: string): void {
    for (const full of keys) {
        const colon = full.indexOf(":");
        const namespace = full.slice(0, colon);
        const key = full.slice(colon + 1);
        if (namespace === PROJECT) {
            if ((PROJECT_KEYS as readonly string[]).includes(key)) continue;
            const dot = key.indexOf(".");
            if (dot > 0 && STRUCTURED_KEYS.includes(key.slice(0, dot))) {
                p.add(
                    `${full} is stored as a key of its own, which nothing reads (got a flat key with a dot). Fix: pulumi config rm '${key}' ${stackFlag} && pulumi config set --path ${key} <value> ${stackFlag}`,
                );
                continue;
            }
            const near = [...PROJECT_KEYS].sort(
                (a, b) => distance(key.toLowerCase(), a.toLowerCase()) - distance(key.toLowerCase(), b.toLowerCase()),
            )[0];
            p.add(
                `${full} is not a setting of this stack (got a key nothing reads). Fix: did you mean ${PROJECT}:${near}? pulumi config rm ${key} ${stackFlag}, then set ${near}.`,
            );
        } else if (!OTHER_NAMESPACES.includes(namespace)) {
            p.add(
                `${full} is in namespace "${namespace}", which nothing in this stack reads (got a key outside "${PROJECT}:"). Fix: pulumi config rm '${full}' ${stackFlag}, then set it as ${PROJECT}:${key}.`,
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

/** Default host ports of the exposed endpoints on kind. */
export const DEFAULT_HOST_PORTS: Readonly<Record<PortRole, number>> = {
    http: 8080,
    https: 8443,
    prometheus: 9090,
    grafana: 3000,
    jaeger: 16686,
    kiali: 20001,
    headlamp: 4466,
};

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const IMAGE_REF = /^[a-z0-9]+([._\-/:][a-zA-Z0-9]+)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const MAX_WORKERS = 5;

/** A Kubernetes label name: an optional DNS-subdomain prefix and "/", then a name of at most 63 characters. */
function isLabelName(key: string): boolean {
    const parts = key.split("/");
    if (parts.length > 2) return false;
    const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
    const nameOk = name.length > 0 && name.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name);
    const prefixOk =
        prefix === undefined || (prefix.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(prefix));
    return nameOk && prefixOk;
}

/** Collects problems with the `key must ... (got value). Fix: ...` phrasing. */
class Problems {
    readonly list: string[] = [];
    /** What is allowed but exposes something: printed as warnings on every run. */
    readonly warnings: string[] = [];
    add(message: string): void {
        this.list.push(message);
    }
    warn(message: string): void {
        this.warnings.push(message);
    }
}

function show(value: unknown): string {
    if (value === undefined) return "nothing";
    if (typeof value === "string") return JSON.stringify(value);
    // JSON writes Infinity and NaN as null, which would misreport what the user wrote.
    if (typeof value === "number" && !Number.isFinite(value)) return String(value);
    return JSON.stringify(value) ?? String(value);
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads a structured config key: missing is `{}`, anything but an object is a problem. */
function section(p: Problems, key: string, value: unknown): Obj {
    if (value === undefined) return {};
    if (isObject(value)) return value;
    p.add(`${key} must be an object (got ${show(value)}). Fix: set it as YAML under ${key}: in Pulumi.<stack>.yaml.`);
    return {};
}

/** Rejects keys nobody reads, so a typo does not silently fall back to a default. */
function onlyKeys(p: Problems, key: string, obj: Obj, allowed: readonly string[]): void {
    for (const k of Object.keys(obj)) {
        if (!allowed.includes(k)) {
            p.add(`${key}.${k} is not a known setting (got ${show(obj[k])}). Fix: use one of ${allowed.join(", ")}.`);
        }
    }
}

function bool(p: Problems, key: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value === "boolean") return value;
    if (value === "true" || value === "false") return value === "true";
    p.add(`${key} must be true or false (got ${show(value)}).`);
    return fallback;
}

function int(p: Problems, key: string, value: unknown, fallback: number, min: number, max: number): number {
    if (value === undefined) return fallback;
    const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
        p.add(`${key} must be a whole number between ${min} and ${max} (got ${show(value)}).`);
        return fallback;
    }
    return n;
}

function oneOf<T extends string>(p: Problems, key: string, value: unknown, allowed: readonly T[], fallback: T, fix?: string): T {
    if (value === undefined) return fallback;
    if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
    p.add(`${key} must be one of ${allowed.map((a) => `"${a}"`).join(", ")} (got ${show(value)}).${fix ? ` Fix: ${fix}` : ""}`);
    return fallback;
}

/** A scalar key declared with a default in Pulumi.yaml, so it can only be missing if Pulumi.yaml was edited. */
function declared(p: Problems, key: string, value: string | undefined): string | undefined {
    if (value === undefined) {
        p.add(
            `${key} is missing (got nothing). Fix: restore its declaration and default under config: in Pulumi.yaml, or pulumi config set ${key} <value>.`,
        );
    }
    return value;
}

function str(p: Problems, key: string, value: unknown, fallback: string): string {
    if (value === undefined) return fallback;
    if (typeof value === "string" && value.length > 0) return value;
    p.add(`${key} must be a non-empty string (got ${show(value)}).`);
    return fallback;
}

function stringList(p: Problems, key: string, value: unknown, fallback: readonly string[]): string[] {
    if (value === undefined) return [...fallback];
    if (Array.isArray(value) && value.every((v) => typeof v === "string" && v.length > 0)) return value as string[];
    p.add(`${key} must be a list of non-empty strings (got ${show(value)}).`);
    return [...fallback];
}

function stringMap(p: Problems, key: string, value: unknown): Record<string, unknown> {
    if (value === undefined) return {};
    if (isObject(value)) return value;
    p.add(`${key} must be an object of Helm values (got ${show(value)}).`);
    return {};
}

/** An IPv4 or IPv6 range in CIDR notation, as Node parses addresses (one `::`, no leading zeros). */
function isCidr(value: string): boolean {
    const [addr, bits, ...rest] = value.split("/");
    if (rest.length > 0 || bits === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(bits)) return false;
    if (net.isIPv4(addr)) return Number(bits) <= 32;
    return net.isIPv6(addr) && Number(bits) <= 128;
}

/** Keys that would reach an object's prototype when Helm values are merged (mergeValues). */
const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype"];

/** The paths of every key in Helm values that names a prototype, e.g. `pilot.__proto__`. */
function prototypeKeys(value: unknown, at = ""): string[] {
    if (typeof value !== "object" || value === null) return [];
    return Object.keys(value).flatMap((k) => {
        const path = at ? `${at}.${k}` : k;
        return PROTOTYPE_KEYS.includes(k) ? [path] : prototypeKeys((value as Record<string, unknown>)[k], path);
    });
}

/** An http(s) URL that a hosts.toml can hold as it is: no spaces, quotes, backslashes or control characters. */
function isMirrorEndpoint(value: string): boolean {
    const control = [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
    if (control || /[\s"'\\]/.test(value)) return false;
    try {
        const u = new URL(value);
        return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
    } catch {
        return false;
    }
}

function validateKind(p: Problems, raw: unknown): KindSettings {
    const k = section(p, "kind", raw);
    onlyKeys(p, "kind", k, [
        "workers",
        "nodeImage",
        "region",
        "zones",
        "listenAddress",
        "hostPorts",
        "registryMirrors",
        "preloadImages",
        "exportKubeconfig",
    ]);
    const workers = int(p, "kind.workers", k.workers, 0, 0, MAX_WORKERS);
    const nodeImage = str(p, "kind.nodeImage", k.nodeImage, KIND_NODE_IMAGE);
    if (nodeImage !== KIND_NODE_IMAGE && !IMAGE_REF.test(nodeImage)) {
        p.add(`kind.nodeImage must be an image reference such as "kindest/node:v1.35.8@sha256:..." (got ${show(nodeImage)}).`);
    }
    const region = str(p, "kind.region", k.region, "local");
    if (!LABEL_VALUE.test(region) || region.length > 63) {
        p.add(`kind.region must be a Kubernetes label value (letters, digits, "-", "_", ".", at most 63) (got ${show(region)}).`);
    }
    const zones = stringList(p, "kind.zones", k.zones, ["local-a"]);
    if (zones.length === 0) p.add(`kind.zones must name at least one zone (got []). Fix: for example ["zone-a", "zone-b"].`);
    for (const z of zones) {
        if (!LABEL_VALUE.test(z) || z.length > 63) p.add(`kind.zones entry ${show(z)} must be a Kubernetes label value.`);
    }
    if (new Set(zones).size !== zones.length) p.add(`kind.zones must not repeat a zone (got ${show(zones)}).`);
    if (zones.length > workers + 1) {
        p.add(
            `kind.zones names ${zones.length} zones but the cluster has only ${workers + 1} node(s) (got ${show(zones)}). Fix: add workers (kind.workers) or list fewer zones.`,
        );
    }
    const listenAddress = str(p, "kind.listenAddress", k.listenAddress, "127.0.0.1");
    const firstOctet = Number(listenAddress.split(".")[0]);
    // Node's net.isIPv4 refuses leading zeros, which kind's port mappings would not.
    if (net.isIPv4(listenAddress) && (firstOctet >= 224 || listenAddress === "255.255.255.255")) {
        p.add(
            `kind.listenAddress must be an address of this machine, not a multicast or broadcast one (got ${show(listenAddress)}). Fix: pulumi config set --path kind.listenAddress 127.0.0.1`,
        );
    } else if (!net.isIPv4(listenAddress)) {
        p.add(`kind.listenAddress must be an IPv4 address such as "127.0.0.1" (got ${show(listenAddress)}).`);
    }

    const portsRaw = section(p, "kind.hostPorts", k.hostPorts);
    onlyKeys(p, "kind.hostPorts", portsRaw, PORT_ROLES);
    const hostPorts = {} as Record<PortRole, number>;
    for (const role of PORT_ROLES) {
        hostPorts[role] = int(p, `kind.hostPorts.${role}`, portsRaw[role], DEFAULT_HOST_PORTS[role], 1, 65535);
    }
    const registryMirrors: RegistryMirror[] = [];
    if (k.registryMirrors !== undefined) {
        if (!Array.isArray(k.registryMirrors)) {
            p.add(`kind.registryMirrors must be a list of {registry, endpoint} (got ${show(k.registryMirrors)}).`);
        } else {
            const seen = new Set<string>();
            k.registryMirrors.forEach((m: unknown, i: number) => {
                const key = `kind.registryMirrors[${i}]`;
                if (!isObject(m) || typeof m.registry !== "string" || typeof m.endpoint !== "string") {
                    p.add(`${key} must be {registry: "docker.io", endpoint: "http://host:5000"} (got ${show(m)}).`);
                    return;
                }
                onlyKeys(p, key, m, ["registry", "endpoint"]);
                const port = /:(\d+)$/.exec(m.registry)?.[1];
                if (!isRegistryHost(m.registry) || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) {
                    p.add(
                        `${key}.registry must be a registry host, with a port from 1 to 65535 if any, such as "docker.io" or "registry.local:5000" (got ${show(m.registry)}).`,
                    );
                } else if (seen.has(m.registry)) {
                    p.add(
                        `${key}.registry repeats a registry mirrored above (got ${show(m.registry)}). Fix: keep one mirror per registry.`,
                    );
                }
                seen.add(m.registry);
                if (!isMirrorEndpoint(m.endpoint)) {
                    p.add(
                        `${key}.endpoint must be an http:// or https:// URL without spaces, quotes or control characters (got ${show(m.endpoint)}).`,
                    );
                }
                registryMirrors.push({ registry: m.registry, endpoint: m.endpoint });
            });
        }
    }
    const preloadImages = stringList(p, "kind.preloadImages", k.preloadImages, []);
    for (const image of preloadImages) {
        if (!IMAGE_REF.test(image))
            p.add(`kind.preloadImages entry ${show(image)} must be an image reference such as "registry.istio.io/release/proxyv2:1.30.3".`);
    }
    // Off by default: kind would otherwise write admin credentials into the user's kubeconfig and switch its context.
    const exportKubeconfig = bool(p, "kind.exportKubeconfig", k.exportKubeconfig, false);
    return { workers, nodeImage, region, zones, listenAddress, hostPorts, registryMirrors, preloadImages, exportKubeconfig };
}

/** A Kubernetes quantity in its base unit (cores, bytes), to compare requests with limits. */
function quantityValue(q: string): number {
    const m = /^([0-9]+(?:\.[0-9]+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q);
    if (!m) return NaN;
    const factor: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
    return Number(m[1]) * (m[2] ? factor[m[2]] : 1);
}

function validateResources(p: Problems, key: string, raw: unknown, fallback: Resources): Resources {
    if (raw === undefined) return fallback;
    const r = section(p, key, raw);
    onlyKeys(p, key, r, ["requests", "limits"]);
    const requests = section(p, `${key}.requests`, r.requests);
    onlyKeys(p, `${key}.requests`, requests, ["cpu", "memory"]);
    const limits = r.limits === undefined ? undefined : section(p, `${key}.limits`, r.limits);
    if (limits) onlyKeys(p, `${key}.limits`, limits, ["cpu", "memory"]);
    const quantity = (k: string, v: unknown, f: string | undefined): string | undefined => {
        if (v === undefined) return f;
        if (typeof v === "string" && QUANTITY.test(v)) return v;
        p.add(`${k} must be a Kubernetes quantity such as "500m" or "512Mi" (got ${show(v)}).`);
        return f;
    };
    const result: Resources = {
        requests: {
            cpu: quantity(`${key}.requests.cpu`, requests.cpu, fallback.requests.cpu) ?? fallback.requests.cpu,
            memory: quantity(`${key}.requests.memory`, requests.memory, fallback.requests.memory) ?? fallback.requests.memory,
        },
        limits: limits
            ? {
                  cpu: quantity(`${key}.limits.cpu`, limits.cpu, undefined),
                  memory: quantity(`${key}.limits.memory`, limits.memory, undefined),
              }
            : fallback.limits,
    };
    for (const resource of ["cpu", "memory"] as const) {
        const request = result.requests[resource];
        const limit = result.limits?.[resource];
        // Kubernetes refuses a pod whose limit is below its request, in the middle of the Helm release.
        if (limit !== undefined && quantityValue(limit) < quantityValue(request)) {
            p.add(
                `${key}.limits.${resource} must not be below ${key}.requests.${resource} (got a limit of ${show(limit)} for a request of ${show(request)}). Fix: raise the limit or lower the request.`,
            );
        }
    }
    return result;
}

function validateIstio(
    p: Problems,
    rawMode: string | undefined,
    raw: unknown,
    clusterMode: ClusterMode,
    stackFlag: string,
    fileExists: (file: string) => boolean,
): IstioSettings {
    const mode = oneOf<MeshMode>(
        p,
        "meshMode",
        declared(p, "meshMode", rawMode),
        ["sidecar", "ambient"],
        "sidecar",
        "pulumi config set meshMode sidecar (or ambient).",
    );
    const i = section(p, "istio", raw);
    onlyKeys(p, "istio", i, ["mtls", "istiod", "gateway", "meshConfig", "gatewayApi", "extraValues", "removeCrdsOnDestroy"]);
    const mtls = oneOf<MtlsMode>(p, "istio.mtls", i.mtls, ["STRICT", "PERMISSIVE"], "STRICT");

    const d = section(p, "istio.istiod", i.istiod);
    onlyKeys(p, "istio.istiod", d, ["replicas", "resources", "podDisruptionBudget"]);
    const istiodReplicas = int(p, "istio.istiod.replicas", d.replicas, 1, 1, 5);
    const istiodPdb = bool(p, "istio.istiod.podDisruptionBudget", d.podDisruptionBudget, istiodReplicas > 1);
    if (istiodPdb && istiodReplicas < 2) {
        p.add(
            `istio.istiod.podDisruptionBudget needs istio.istiod.replicas of 2 or more (got ${istiodReplicas}): with one replica a budget of minAvailable 1 blocks every node drain. Fix: raise the replicas or set podDisruptionBudget to false.`,
        );
    }
    const istiodResources = validateResources(p, "istio.istiod.resources", d.resources, {
        requests: { cpu: "200m", memory: "512Mi" },
    });

    const g = section(p, "istio.gateway", i.gateway);
    onlyKeys(p, "istio.gateway", g, ["replicas", "kind", "nodeSelector", "service"]);
    const gatewayService = oneOf<GatewayService>(p, "istio.gateway.service", g.service, ["LoadBalancer", "NodePort"], "LoadBalancer");
    if (clusterMode === "kind" && g.service !== undefined) {
        p.add(
            `istio.gateway.service applies to existing clusters only (got ${show(g.service)} with clusterMode "kind", where the gateway is always a NodePort behind kind's host ports). Fix: pulumi config rm --path istio.gateway.service ${stackFlag}`,
        );
    }
    const gatewayKind = oneOf<GatewayKind>(p, "istio.gateway.kind", g.kind, ["Deployment", "DaemonSet"], "Deployment");
    const gatewayReplicas = int(p, "istio.gateway.replicas", g.replicas, 1, 1, 10);
    if (gatewayKind === "DaemonSet" && g.replicas !== undefined) {
        p.add(
            `istio.gateway.replicas has no effect on a DaemonSet gateway (got ${show(g.replicas)}): it runs one pod per selected node. Fix: remove istio.gateway.replicas.`,
        );
    }
    if (gatewayKind === "Deployment" && g.nodeSelector !== undefined) {
        p.add(
            `istio.gateway.nodeSelector has no effect on a Deployment gateway (got ${show(g.nodeSelector)}): it is read only with istio.gateway.kind DaemonSet. Fix: remove it, or set istio.gateway.kind DaemonSet.`,
        );
    }
    let nodeSelector: Record<string, string> = { "ingress-ready": "true" };
    if (g.nodeSelector !== undefined) {
        if (isObject(g.nodeSelector) && Object.values(g.nodeSelector).every((v) => typeof v === "string")) {
            nodeSelector = g.nodeSelector as Record<string, string>;
            for (const [name, value] of Object.entries(nodeSelector)) {
                if (!isLabelName(name) || !LABEL_VALUE.test(value) || value.length > 63) {
                    p.add(
                        `istio.gateway.nodeSelector entry ${show(name)}: ${show(value)} must be a Kubernetes label name (an optional DNS prefix and "/", then at most 63 letters, digits, "-", "_" or ".") and value. Fix: use a label your nodes carry, such as "ingress-ready": "true".`,
                    );
                }
            }
        } else {
            p.add(`istio.gateway.nodeSelector must map label names to string values (got ${show(g.nodeSelector)}).`);
        }
    }

    const m = section(p, "istio.meshConfig", i.meshConfig);
    onlyKeys(p, "istio.meshConfig", m, ["accessLogs", "outboundTrafficPolicy", "localityLoadBalancing"]);
    const meshConfig = {
        accessLogs: bool(p, "istio.meshConfig.accessLogs", m.accessLogs, true),
        outboundTrafficPolicy: oneOf<OutboundTrafficPolicy>(
            p,
            "istio.meshConfig.outboundTrafficPolicy",
            m.outboundTrafficPolicy,
            ["ALLOW_ANY", "REGISTRY_ONLY"],
            "ALLOW_ANY",
        ),
        localityLoadBalancing: bool(p, "istio.meshConfig.localityLoadBalancing", m.localityLoadBalancing, true),
    };

    const ga = section(p, "istio.gatewayApi", i.gatewayApi);
    onlyKeys(p, "istio.gatewayApi", ga, ["install", "channel", "localFile"]);
    const gatewayApi = {
        install: bool(p, "istio.gatewayApi.install", ga.install, true),
        channel: oneOf<"standard" | "experimental">(p, "istio.gatewayApi.channel", ga.channel, ["standard", "experimental"], "standard"),
        localFile: ga.localFile === undefined ? undefined : str(p, "istio.gatewayApi.localFile", ga.localFile, ""),
    };
    const localFix = `Fix: download standard-install.yaml of Gateway API ${GATEWAY_API_VERSION} and pulumi config set --path istio.gatewayApi.localFile ./standard-install.yaml`;
    if (gatewayApi.localFile !== undefined && gatewayApi.localFile !== "") {
        if (/^[a-z][a-z0-9+.-]*:\/\//i.test(gatewayApi.localFile)) {
            p.add(
                `istio.gatewayApi.localFile must be a file on this machine (got ${show(gatewayApi.localFile)}): a URL would bring the CRDs unpinned and, over http, unauthenticated; the stack already applies the pinned release asset by default. ${localFix}`,
            );
        } else if (!fileExists(gatewayApi.localFile)) {
            p.add(`istio.gatewayApi.localFile must exist (got ${show(gatewayApi.localFile)}, which is not there). ${localFix}`);
        }
        if (!gatewayApi.install) {
            p.add(
                `istio.gatewayApi.localFile is set but istio.gatewayApi.install is false (got a file nothing would apply). Fix: pulumi config rm --path istio.gatewayApi.localFile`,
            );
        }
    }

    const ev = section(p, "istio.extraValues", i.extraValues);
    onlyKeys(p, "istio.extraValues", ev, ["base", "istiod", "cni", "ztunnel", "gateway"]);
    const extraValues = {
        base: stringMap(p, "istio.extraValues.base", ev.base),
        istiod: stringMap(p, "istio.extraValues.istiod", ev.istiod),
        cni: stringMap(p, "istio.extraValues.cni", ev.cni),
        ztunnel: stringMap(p, "istio.extraValues.ztunnel", ev.ztunnel),
        gateway: stringMap(p, "istio.extraValues.gateway", ev.gateway),
    };
    for (const [chart, values] of Object.entries(extraValues)) {
        for (const path of prototypeKeys(values)) {
            p.add(`istio.extraValues.${chart}.${path} is not a Helm value (got a key that names an object's prototype). Fix: remove it.`);
        }
    }
    if (mode === "sidecar") {
        for (const chart of ["cni", "ztunnel"] as const) {
            if (Object.keys(extraValues[chart]).length > 0) {
                p.add(
                    `istio.extraValues.${chart} has no effect in sidecar mode (got ${show(extraValues[chart])}): the ${chart} chart is installed only in ambient mode. Fix: remove it, or pulumi config set meshMode ambient.`,
                );
            }
        }
    }
    // What the stack itself sets and wires together: overriding it through the escape hatch breaks
    // the wiring (the fixed nodePorts and kind's mappings, the mesh config the addons and the
    // authorizer are registered in, the settings every chart shares).
    const owned: Record<keyof typeof extraValues, readonly string[]> = {
        base: ["global", "defaultRevision"],
        istiod: ["meshConfig", "global", "profile"],
        cni: ["global", "profile"],
        ztunnel: ["global"],
        gateway: ["service", "global", "kind"],
    };
    for (const chart of Object.keys(owned) as (keyof typeof extraValues)[]) {
        for (const key of owned[chart].filter((k) => Object.prototype.hasOwnProperty.call(extraValues[chart], k))) {
            p.add(
                `istio.extraValues.${chart}.${key} is set by the stack itself (got ${show(extraValues[chart][key])}): overriding it would undo what the stack wires together. Fix: remove it and use the stack's own setting (istio.meshConfig, istio.gateway, meshMode) where there is one.`,
            );
        }
    }
    return {
        mode,
        mtls,
        istiod: { replicas: istiodReplicas, resources: istiodResources, podDisruptionBudget: istiodPdb },
        gateway: { replicas: gatewayReplicas, kind: gatewayKind, nodeSelector, service: gatewayService },
        meshConfig,
        gatewayApi,
        extraValues,
        removeCrdsOnDestroy: bool(p, "istio.removeCrdsOnDestroy", i.removeCrdsOnDestroy, false),
    };
}

const VERSIONS: readonly ReviewsVersion[] = ["v1", "v2", "v3"];

function validateReviews(p: Problems, raw: unknown): ReviewsRouting {
    const r = section(p, "bookinfo.reviews", raw);
    onlyKeys(p, "bookinfo.reviews", r, ["mode", "weights", "version"]);
    const mode = oneOf(p, "bookinfo.reviews.mode", r.mode, ["round-robin", "weighted", "pinned"] as const, "round-robin");
    const unused = (key: "weights" | "version", needs: string): void => {
        if (r[key] !== undefined) {
            p.add(
                `bookinfo.reviews.${key} has no effect with mode ${show(mode)} (got ${show(r[key])}): it is read only with mode "${needs}". Fix: set bookinfo.reviews.mode to ${needs}, or remove bookinfo.reviews.${key}.`,
            );
        }
    };
    if (mode !== "weighted") unused("weights", "weighted");
    if (mode !== "pinned") unused("version", "pinned");
    switch (mode) {
        case "round-robin":
            return { mode };
        case "pinned":
            return { mode, version: oneOf(p, "bookinfo.reviews.version", r.version ?? "v1", VERSIONS, "v1") };
        case "weighted": {
            const w = section(p, "bookinfo.reviews.weights", r.weights);
            onlyKeys(p, "bookinfo.reviews.weights", w, VERSIONS);
            const weights = {} as Record<ReviewsVersion, number>;
            for (const v of VERSIONS) weights[v] = int(p, `bookinfo.reviews.weights.${v}`, w[v], 0, 0, 100);
            const total = VERSIONS.reduce((sum, v) => sum + weights[v], 0);
            if (total !== 100) {
                p.add(
                    `bookinfo.reviews.weights must add up to 100 (got ${VERSIONS.map((v) => `${v}=${weights[v]}`).join(", ")}, total ${total}). Fix: for a 90/10 canary set v1: 90 and v3: 10.`,
                );
            }
            return { mode, weights };
        }
        default: {
            const unreachable: never = mode;
            throw new Error(`unhandled reviews mode ${String(unreachable)}`);
        }
    }
}

function validateFault(p: Problems, raw: unknown): RatingsFault | undefined {
    if (raw === undefined) return undefined;
    const f = section(p, "bookinfo.ratingsFault", raw);
    onlyKeys(p, "bookinfo.ratingsFault", f, ["kind", "percent", "delaySeconds", "httpStatus", "user"]);
    const kind = oneOf(p, "bookinfo.ratingsFault.kind", f.kind, ["delay", "abort"] as const, "delay");
    const percent = int(p, "bookinfo.ratingsFault.percent", f.percent, 100, 1, 100);
    const user = f.user === undefined ? undefined : str(p, "bookinfo.ratingsFault.user", f.user, "jason");
    const other = kind === "delay" ? "httpStatus" : "delaySeconds";
    if (f[other] !== undefined) {
        p.add(
            `bookinfo.ratingsFault.${other} has no effect on a ${kind} fault (got ${show(f[other])}). Fix: remove it, or set bookinfo.ratingsFault.kind to ${kind === "delay" ? "abort" : "delay"}.`,
        );
    }
    if (kind === "delay") {
        return { kind, percent, delaySeconds: int(p, "bookinfo.ratingsFault.delaySeconds", f.delaySeconds, 7, 1, 60), user };
    }
    return { kind, percent, httpStatus: int(p, "bookinfo.ratingsFault.httpStatus", f.httpStatus, 500, 400, 599), user };
}

/**
 * The host names Bookinfo answers to by default: the host of the URLs the stack exports. On kind
 * that is `localhost` for a loopback (or any-address) listen address, and the address itself
 * otherwise, which as an IP is matched by "*" (Gateway API hostnames may not be IPs, and Istio
 * matches the Host header without its port). An existing cluster's address is only known after
 * its load balancer answers, so it falls back to any host unless the user names one.
 */
export function defaultHostnames(kind: { readonly listenAddress: string } | undefined): string[] {
    if (!kind) return ["*"];
    const host = hostForListenAddress(kind.listenAddress);
    return host === "localhost" ? ["localhost"] : ["*"];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----/;
const PEM_PRIVATE_KEY = /-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;

/**
 * Whether the ingress certificate and key are PEM, in the right keys, and belong together (Node's
 * X509Certificate.checkPrivateKey). Messages never quote the key or the certificate.
 */
function checkTls(p: Problems, cert: string, key: string): boolean {
    const fix = "Fix: pulumi config set --secret ingressTlsCert < tls.crt && pulumi config set --secret ingressTlsKey < tls.key";
    if (PEM_PRIVATE_KEY.test(cert) && PEM_CERTIFICATE.test(key)) {
        p.add(`ingressTlsCert and ingressTlsKey are swapped (got a private key as the certificate and a certificate as the key). ${fix}`);
        return false;
    }
    let ok = true;
    if (!PEM_CERTIFICATE.test(cert)) {
        p.add(`ingressTlsCert must be a PEM certificate (-----BEGIN CERTIFICATE-----) (got something else). ${fix}`);
        ok = false;
    }
    if (!PEM_PRIVATE_KEY.test(key)) {
        p.add(`ingressTlsKey must be a PEM private key (-----BEGIN PRIVATE KEY-----) (got something else). ${fix}`);
        ok = false;
    }
    if (!ok) return false;
    try {
        const certificate = new crypto.X509Certificate(cert);
        if (!certificate.checkPrivateKey(crypto.createPrivateKey(key))) {
            p.add(`ingressTlsKey does not belong to ingressTlsCert (got a key of another certificate). ${fix}`);
            return false;
        }
    } catch (e) {
        p.add(`ingressTlsCert and ingressTlsKey could not be read (got ${(e as Error).message}). ${fix}`);
        return false;
    }
    return true;
}

function validateBookinfo(
    p: Problems,
    raw: unknown,
    kind: KindSettings | undefined,
    tlsCert: SecretInput | undefined,
    tlsKey: SecretInput | undefined,
): BookinfoSettings {
    const b = section(p, "bookinfo", raw);
    onlyKeys(p, "bookinfo", b, [
        "enabled",
        "ingressApi",
        "hostnames",
        "reviews",
        "headerRoute",
        "ratingsFault",
        "timeoutSeconds",
        "retries",
        "outlierDetection",
        "authorization",
        "extAuthz",
        "tls",
    ]);
    const enabled = bool(p, "bookinfo.enabled", b.enabled, true);
    const ingressApi = oneOf<IngressApi>(p, "bookinfo.ingressApi", b.ingressApi, ["istio", "gateway-api"], "istio");
    const hostnames = stringList(p, "bookinfo.hostnames", b.hostnames, defaultHostnames(kind));
    if (b.hostnames !== undefined && hostnames.length === 0) {
        p.add(
            `bookinfo.hostnames must name at least one host (got []): Bookinfo would answer to nothing. Fix: remove it for the default, or list your DNS name.`,
        );
    }
    // Gateway API's HTTPRoute takes at most 16 hostnames (its CRD's maxItems); each label at most 63 characters, the name 253.
    if (ingressApi === "gateway-api" && hostnames.length > 16) {
        p.add(
            `bookinfo.hostnames must list at most 16 names with ingressApi "gateway-api" (got ${hostnames.length}). Fix: use a wildcard such as "*.example.com".`,
        );
    }
    for (const h of hostnames) {
        const labelsOk = h.split(".").every((l) => l.length <= 63);
        if (
            h !== "*" &&
            (!/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(h) || h.length > 253 || !labelsOk)
        ) {
            p.add(`bookinfo.hostnames entry ${show(h)} must be a DNS name such as "bookinfo.example.com".`);
        }
    }
    if (ingressApi === "gateway-api" && hostnames.includes("*") && hostnames.length > 1) {
        p.add(`bookinfo.hostnames must not mix "*" with names (got ${show(hostnames)}).`);
    }
    const reviews = validateReviews(p, b.reviews);
    let headerRoute: BookinfoSettings["headerRoute"];
    if (b.headerRoute !== undefined) {
        const h = section(p, "bookinfo.headerRoute", b.headerRoute);
        onlyKeys(p, "bookinfo.headerRoute", h, ["user", "version"]);
        headerRoute = {
            user: str(p, "bookinfo.headerRoute.user", h.user, "jason"),
            version: oneOf(p, "bookinfo.headerRoute.version", h.version ?? "v2", VERSIONS, "v2"),
        };
    }
    const ratingsFault = validateFault(p, b.ratingsFault);
    const timeoutSeconds = b.timeoutSeconds === undefined ? undefined : int(p, "bookinfo.timeoutSeconds", b.timeoutSeconds, 10, 1, 300);
    let retries: BookinfoSettings["retries"];
    if (b.retries !== undefined) {
        const r = section(p, "bookinfo.retries", b.retries);
        onlyKeys(p, "bookinfo.retries", r, ["attempts", "perTryTimeoutSeconds"]);
        retries = {
            attempts: int(p, "bookinfo.retries.attempts", r.attempts, 3, 1, 10),
            perTryTimeoutSeconds: int(p, "bookinfo.retries.perTryTimeoutSeconds", r.perTryTimeoutSeconds, 2, 1, 60),
        };
        if (timeoutSeconds !== undefined && retries.perTryTimeoutSeconds > timeoutSeconds) {
            p.add(
                `bookinfo.retries.perTryTimeoutSeconds (${retries.perTryTimeoutSeconds}) must not exceed bookinfo.timeoutSeconds (${timeoutSeconds}).`,
            );
        }
    }
    let extAuthz: BookinfoSettings["extAuthz"];
    if (b.extAuthz !== undefined) {
        const e = section(p, "bookinfo.extAuthz", b.extAuthz);
        onlyKeys(p, "bookinfo.extAuthz", e, ["name", "service", "port"]);
        extAuthz = {
            name: str(p, "bookinfo.extAuthz.name", e.name, "ext-authz"),
            service: str(p, "bookinfo.extAuthz.service", e.service, ""),
            port: int(p, "bookinfo.extAuthz.port", e.port, 9000, 1, 65535),
        };
        if (!/^[a-z0-9.-]+\.svc(\.cluster\.local)?$/.test(extAuthz.service)) {
            p.add(
                `bookinfo.extAuthz.service must be a cluster service host such as "ext-authz.auth.svc.cluster.local" (got ${show(e.service)}).`,
            );
        }
    }
    const tlsWanted = bool(p, "bookinfo.tls", b.tls, false);
    let tls: BookinfoSettings["tls"];
    if (tlsWanted) {
        if (!tlsCert || !tlsKey) {
            p.add(
                `bookinfo.tls is true but ingressTlsCert and ingressTlsKey are not both set (got ${tlsCert ? "a certificate" : "no certificate"} and ${tlsKey ? "a key" : "no key"}). Fix: pulumi config set --secret ingressTlsCert < tls.crt && pulumi config set --secret ingressTlsKey < tls.key`,
            );
        } else if (checkTls(p, tlsCert.value, tlsKey.value)) {
            tls = { certificate: pulumi.secret(tlsCert.value), privateKey: pulumi.secret(tlsKey.value) };
        }
    } else if (tlsCert || tlsKey) {
        p.add(
            `${tlsCert ? "ingressTlsCert" : "ingressTlsKey"} is set but bookinfo.tls is false (got a ${tlsCert ? "certificate" : "key"} nothing would serve). Fix: pulumi config set --path bookinfo.tls true, or pulumi config rm ingressTlsCert and ingressTlsKey`,
        );
    }
    const authorization = bool(p, "bookinfo.authorization", b.authorization, true);
    if (extAuthz && !authorization) {
        p.add(
            `bookinfo.extAuthz needs bookinfo.authorization true (got authorization false): the authorizer is consulted by a CUSTOM AuthorizationPolicy, which the stack creates only with authorization on, so nothing would ask it. Fix: pulumi config set --path bookinfo.authorization true, or remove bookinfo.extAuthz`,
        );
    }
    return {
        enabled,
        ingressApi,
        hostnames,
        reviews,
        headerRoute,
        ratingsFault,
        timeoutSeconds,
        retries,
        outlierDetection: bool(p, "bookinfo.outlierDetection", b.outlierDetection, true),
        authorization,
        extAuthz,
        tls,
    };
}

/** Every host port kind maps must be distinct; kind maps all of them, the switched-off addons' too. */
function checkHostPorts(p: Problems, kind: KindSettings): void {
    const seen = new Map<number, PortRole>();
    for (const { role, hostPort } of exposedPorts(kind.hostPorts)) {
        const other = seen.get(hostPort);
        if (other) {
            p.add(
                `kind.hostPorts.${role} must differ from kind.hostPorts.${other} (both got ${hostPort}). Fix: give each endpoint its own host port.`,
            );
        }
        seen.set(hostPort, role);
    }
}

function validateHeadlamp(p: Problems, raw: unknown): ObservabilitySettings["headlamp"] {
    const h = section(p, "observability.headlamp", raw);
    onlyKeys(p, "observability.headlamp", h, ["enabled", "access"]);
    const enabled = bool(p, "observability.headlamp.enabled", h.enabled, false);
    const access = oneOf<HeadlampAccess>(
        p,
        "observability.headlamp.access",
        h.access,
        ["view", "edit", "cluster-admin"],
        "view",
        "pulumi config set --path observability.headlamp.access view",
    );
    return enabled ? { access } : undefined;
}

function validateObservability(p: Problems, raw: unknown, kind: KindSettings | undefined): ObservabilitySettings {
    const { kubernetesDashboard: retired, ...o } = section(p, "observability", raw);
    if (retired !== undefined) {
        p.add(
            `observability.kubernetesDashboard is no longer supported (got ${show(retired)}): the Kubernetes Dashboard project is archived and its chart repository is gone. Fix: remove observability.kubernetesDashboard and use observability.headlamp, the cluster web UI that replaces it: pulumi config set --path observability.headlamp.enabled true`,
        );
    }
    onlyKeys(p, "observability", o, [
        "prometheus",
        "grafana",
        "jaeger",
        "kiali",
        "tracingSamplingPercent",
        "kialiAuth",
        "gatewayExposure",
        "headlamp",
    ]);
    let gatewayExposure: ObservabilitySettings["gatewayExposure"];
    if (o.gatewayExposure !== undefined) {
        const g = section(p, "observability.gatewayExposure", o.gatewayExposure);
        onlyKeys(p, "observability.gatewayExposure", g, ["sourceRanges"]);
        const sourceRanges = stringList(p, "observability.gatewayExposure.sourceRanges", g.sourceRanges, []);
        if (sourceRanges.length === 0) {
            p.add(
                `observability.gatewayExposure.sourceRanges must list the client address ranges allowed to open the UIs (got ${show(g.sourceRanges)}). Fix: pulumi config set --path 'observability.gatewayExposure.sourceRanges[0]' 203.0.113.0/24 (Prometheus and Jaeger have no login of their own).`,
            );
        }
        for (const r of sourceRanges) {
            if (!isCidr(r)) p.add(`observability.gatewayExposure.sourceRanges entry ${show(r)} must be a CIDR such as "203.0.113.0/24".`);
        }
        if (kind) {
            p.add(
                `observability.gatewayExposure applies to existing clusters only (got it with clusterMode "kind", where every UI already has a host port). Fix: remove observability.gatewayExposure.`,
            );
        }
        gatewayExposure = { sourceRanges };
    }
    const settings: ObservabilitySettings = {
        prometheus: bool(p, "observability.prometheus", o.prometheus, true),
        grafana: bool(p, "observability.grafana", o.grafana, true),
        jaeger: bool(p, "observability.jaeger", o.jaeger, true),
        kiali: bool(p, "observability.kiali", o.kiali, true),
        tracingSamplingPercent: int(p, "observability.tracingSamplingPercent", o.tracingSamplingPercent, 100, 0, 100),
        kialiAuth: oneOf<KialiAuth>(p, "observability.kialiAuth", o.kialiAuth, ["token", "anonymous"], "token"),
        gatewayExposure,
        headlamp: validateHeadlamp(p, o.headlamp),
    };
    if (settings.grafana && !settings.prometheus) {
        p.add(
            `observability.grafana needs observability.prometheus (got grafana true, prometheus false). Fix: enable prometheus or disable grafana.`,
        );
    }
    if (settings.kiali && !settings.prometheus) {
        p.add(
            `observability.kiali needs observability.prometheus (got kiali true, prometheus false). Fix: enable prometheus or disable kiali.`,
        );
    }
    // Options of an addon that is off would be silently ignored.
    if (!settings.jaeger && o.tracingSamplingPercent !== undefined) {
        p.add(
            `observability.tracingSamplingPercent has no effect with observability.jaeger false (got ${show(o.tracingSamplingPercent)}): nothing receives the traces. Fix: remove it, or turn Jaeger on.`,
        );
    }
    if (!settings.kiali && o.kialiAuth !== undefined) {
        p.add(
            `observability.kialiAuth has no effect with observability.kiali false (got ${show(o.kialiAuth)}). Fix: remove it, or turn Kiali on.`,
        );
    }
    if (!settings.headlamp && isObject(o.headlamp) && o.headlamp.access !== undefined) {
        p.add(
            `observability.headlamp.access has no effect while Headlamp is off (got ${show(o.headlamp.access)}). Fix: pulumi config set --path observability.headlamp.enabled true, or remove the access.`,
        );
    }
    if (settings.kialiAuth === "anonymous" && (!kind || kind.listenAddress !== "127.0.0.1")) {
        p.add(
            `observability.kialiAuth may be "anonymous" only on kind with kind.listenAddress "127.0.0.1" (got ${kind ? show(kind.listenAddress) : "an existing cluster"}). Fix: pulumi config set --path observability.kialiAuth token`,
        );
    }
    return settings;
}

/**
 * Validates raw stack config and returns it typed and frozen. Reports every problem at once
 * by throwing a {@link ConfigError}; creates nothing.
 */
export function validateConfig(raw: RawConfig, fileExists: (file: string) => boolean = fs.existsSync): StackConfig {
    const p = new Problems();
    const stackFlag = `--stack ${raw.stack}`;
    if (raw.keys) checkKeys(p, raw.keys, stackFlag);
    for (const key of raw.unreadable ?? []) {
        p.add(
            `${key} must be an object written as YAML or JSON (got text that does not parse). Fix: write it as YAML under ${PROJECT}:${key}: in Pulumi.${raw.stack}.yaml, or set one setting at a time with pulumi config set --path ${key}.<setting> <value> ${stackFlag}`,
        );
    }
    const clusterMode = oneOf<ClusterMode>(
        p,
        "clusterMode",
        declared(p, "clusterMode", raw.clusterMode),
        ["kind", "existing"],
        "kind",
        `pulumi config set clusterMode kind ${stackFlag}`,
    );
    const clusterName = declared(p, "clusterName", raw.clusterName) ?? "";
    if (raw.clusterName !== undefined && (!DNS1123_LABEL.test(clusterName) || clusterName.length > 40)) {
        p.add(
            `clusterName must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit, at most 40 characters (got ${show(clusterName)}). Fix: pulumi config set clusterName istio-dev ${stackFlag}`,
        );
    }
    let kind: KindSettings | undefined;
    let existing: ExistingSettings | undefined;
    // Secrets set without --secret sit in plain text in Pulumi.<stack>.yaml (and in the repository).
    for (const [key, input] of [
        ["kubeconfig", raw.kubeconfig],
        ["ingressTlsCert", raw.ingressTlsCert],
        ["ingressTlsKey", raw.ingressTlsKey],
    ] as const) {
        if (input && !input.secret) {
            p.add(
                `${key} is stored in plain text in Pulumi.${raw.stack}.yaml (got a value set without --secret). Fix: pulumi config rm ${key} ${stackFlag} && pulumi config set --secret ${key} ${stackFlag} < <file>`,
            );
        }
    }
    if (clusterMode === "kind") {
        kind = validateKind(p, raw.kind);
        for (const [key, set] of [
            ["kubeconfig", raw.kubeconfig !== undefined],
            ["kubeContext", raw.kubeContext !== undefined && raw.kubeContext !== ""],
        ] as const) {
            if (set) {
                p.add(
                    `${key} is set but clusterMode is "kind" (got a ${key} the stack would ignore: it makes its own cluster). Fix: pulumi config rm ${key} ${stackFlag}, or pulumi config set clusterMode existing ${stackFlag}`,
                );
            }
        }
    } else {
        if (raw.kind !== undefined) {
            p.add(
                `kind is set but clusterMode is "existing" (got kind: ${show(raw.kind)}). Fix: remove the kind section or set clusterMode to kind.`,
            );
        }
        const context = raw.kubeContext === undefined || raw.kubeContext === "" ? undefined : raw.kubeContext;
        if (raw.kubeconfig) {
            if (checkKubeconfig(p, raw.kubeconfig.value, context, "the kubeconfig", stackFlag)) {
                existing = { kubeconfig: pulumi.secret(raw.kubeconfig.value), context, source: "config" };
            }
        } else if (context && raw.kubeconfigFile?.content !== undefined) {
            if (checkKubeconfig(p, raw.kubeconfigFile.content, context, raw.kubeconfigFile.path, stackFlag)) {
                existing = { kubeconfig: pulumi.secret(raw.kubeconfigFile.content), context, source: "file" };
            }
        } else if (context) {
            p.add(
                `kubeContext is ${show(context)} but no kubeconfig file was found at ${raw.kubeconfigFile?.path ?? "~/.kube/config"} (got nothing). Fix: point KUBECONFIG at your kubeconfig, or pulumi config set --secret kubeconfig ${stackFlag} < path/to/kubeconfig`,
            );
        } else {
            p.add(
                `kubeconfig is required when clusterMode is "existing" (got nothing). Fix: pulumi config set --secret kubeconfig ${stackFlag} < ~/.kube/config   (or name a context of your kubeconfig file: pulumi config set kubeContext my-context ${stackFlag})`,
            );
        }
    }
    const istio = validateIstio(p, raw.meshMode, raw.istio, clusterMode, stackFlag, fileExists);
    if (istio.gateway.kind === "DaemonSet" && clusterMode === "kind" && kind && kind.workers > 0) {
        // The kind port mappings exist only on the control-plane node, so the gateway must run there.
        if (istio.gateway.nodeSelector["ingress-ready"] !== "true") {
            p.add(
                `istio.gateway.nodeSelector must include "ingress-ready": "true" on kind (got ${show(istio.gateway.nodeSelector)}): only that node carries the host port mappings.`,
            );
        }
    }
    const bookinfo = validateBookinfo(p, raw.bookinfo, kind, raw.ingressTlsCert, raw.ingressTlsKey);
    const observability = validateObservability(p, raw.observability, kind);
    if (observability.gatewayExposure && istio.gateway.service === "NodePort") {
        p.add(
            `observability.gatewayExposure needs istio.gateway.service "LoadBalancer" (got "NodePort"): the addon UIs are served on their own ports of the gateway's load balancer address. Fix: remove observability.gatewayExposure, or pulumi config set --path istio.gateway.service LoadBalancer ${stackFlag}`,
        );
    }
    if (kind) checkHostPorts(p, kind);
    const verifyDeployment = bool(p, "verifyDeployment", declared(p, "verifyDeployment", raw.verifyDeployment), true);

    if (kind && !/^127\./.test(kind.listenAddress)) {
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
    if (p.list.length > 0) throw new ConfigError(p.list);
    return deepFreeze({
        stack: raw.stack,
        clusterMode,
        clusterName,
        kind,
        existing,
        istio,
        bookinfo,
        observability,
        verifyDeployment,
        warnings: p.warnings,
    });
}

interface KubeconfigYaml {
    clusters?: { name?: string }[];
    contexts?: { name?: string }[];
    "current-context"?: string;
}

/**
 * Whether a kubeconfig names a cluster and the context to use. An empty or unreadable one would
 * make the provider fall back to the user's current kube context, and install Istio wherever that
 * points. Messages never quote the kubeconfig: it holds credentials.
 */
function checkKubeconfig(p: Problems, content: string, context: string | undefined, source: string, stackFlag: string): boolean {
    const fix = `Fix: pulumi config set --secret kubeconfig ${stackFlag} < path/to/kubeconfig (the file's content, not its path)`;
    if (content.trim() === "") {
        p.add(
            `kubeconfig is empty (got an empty value in ${source}): the provider would fall back to your current kube context and install Istio wherever it points. ${fix}`,
        );
        return false;
    }
    let parsed: unknown;
    try {
        parsed = parseYaml(content);
    } catch {
        parsed = undefined;
    }
    if (!isObject(parsed)) {
        const looksLikePath = !content.includes("\n") && /^[~./]|^[A-Za-z]:\\/.test(content.trim());
        p.add(
            `kubeconfig must be a kubeconfig file's content (got ${looksLikePath ? "a file path" : "text that is not a YAML map"} in ${source}). ${fix}`,
        );
        return false;
    }
    const k = parsed as KubeconfigYaml;
    const clusters = Array.isArray(k.clusters) ? k.clusters : [];
    const contexts = (Array.isArray(k.contexts) ? k.contexts : []).map((c) => c?.name).filter((n): n is string => typeof n === "string");
    if (clusters.length === 0 || contexts.length === 0) {
        p.add(
            `kubeconfig must name a cluster and a context (got ${clusters.length} clusters and ${contexts.length} contexts in ${source}). ${fix}`,
        );
        return false;
    }
    const wanted = context ?? k["current-context"];
    if (!wanted || !contexts.includes(wanted)) {
        p.add(
            context
                ? `kubeContext must be a context of ${source} (got ${show(context)}; it has ${contexts.map((c) => show(c)).join(", ")}). Fix: pulumi config set kubeContext ${contexts[0]} ${stackFlag}`
                : `kubeconfig has no current context to use (got ${show(k["current-context"] ?? "")}; it has ${contexts.map((c) => show(c)).join(", ")}). Fix: pulumi config set kubeContext ${contexts[0]} ${stackFlag}`,
        );
        return false;
    }
    return true;
}

function deepFreeze<T>(value: T): T {
    if (typeof value === "object" && value !== null && !pulumi.Output.isInstance(value) && !Object.isFrozen(value)) {
        Object.freeze(value);
        for (const v of Object.values(value)) deepFreeze(v);
    }
    return value;
}

/** The kubeconfig file kubectl would read: the first entry of $KUBECONFIG, else ~/.kube/config. */
export function defaultKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
    const first = env.KUBECONFIG?.split(path.delimiter).find((s) => s.length > 0);
    return first ?? path.join(os.homedir(), ".kube", "config");
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
        kind: object("kind"),
        istio: object("istio"),
        bookinfo: object("bookinfo"),
        observability: object("observability"),
    });
    for (const warning of validated.warnings) void pulumi.log.warn(warning);
    return validated;
}
