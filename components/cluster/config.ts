/**
 * The cluster's config: where the cluster comes from (`clusterMode`, `clusterName`), the kind
 * cluster's settings (`kind`), and an existing cluster's kubeconfig (`kubeconfig`, `kubeContext`).
 */
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { PINS } from "../versions";
import { exposedPorts, PORT_ROLES, PortRole } from "../ports";
import { isRegistryHost } from "./kindScripts";
import { imageReferenceProblem } from "./imageReference";
import { CACHED_REGISTRIES, cacheName } from "./imageCache";
import {
    bool,
    declared,
    doc,
    enumOf,
    int,
    list,
    maybeInt,
    problemAt,
    Problems,
    section,
    show,
    text,
    unparsed,
    whenParsed,
    STACK,
} from "../schema";

/** Where the cluster comes from: a local kind cluster, or one the user already has. */
export type ClusterMode = "kind" | "existing";

export const clusterModeSchema = doc(
    declared(enumOf(["kind", "existing"], `pulumi config set clusterMode kind ${STACK}`)),
    "`kind` creates a local cluster; `existing` uses `kubeconfig` or `kubeContext`",
    "`kind`",
    "kind, existing",
);

export const clusterNameSchema = doc(
    declared(
        text(
            `must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit, at most 40 characters`,
            (s) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) && s.length <= 40,
            `pulumi config set clusterName istio-dev ${STACK}`,
        ),
    ),
    "kind cluster name; on an existing cluster, a name for the outputs",
    "`istio-mesh`",
    "a DNS-1123 label of at most 40 characters",
);

export const kubeContextSchema = doc(
    z.string().optional(),
    "existing clusters: the context to use; without `kubeconfig`, read from the kubeconfig file kubectl would use (`$KUBECONFIG`, else `~/.kube/config`)",
    '`""`',
    "a context of the kubeconfig",
);

export const kubeconfigSchema = doc(
    z.string().optional(),
    "existing clusters: the kubeconfig's content, set with `--secret` (`pulumi config set --secret kubeconfig < file`)",
    "(none, secret)",
    "a kubeconfig",
);

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

const MAX_WORKERS = 5;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const labelValue = (s: string): boolean => LABEL_VALUE.test(s) && s.length <= 63;

/** An image reference as registries parse it (distribution/reference). */
function image(example: string) {
    return z
        .string({ error: (iss) => `must be an image reference such as "${example}" (got ${show(iss.input)}).` })
        .superRefine((s, ctx) => {
            const why = imageReferenceProblem(s);
            if (why) problemAt(ctx, [], `must be an image reference such as "${example}" (got ${show(s)}: ${why}).`);
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

/** A registry host kind's certs.d can hold, with a port from 1 to 65535 if any. */
function isRegistry(value: string): boolean {
    const port = /:(\d+)$/.exec(value)?.[1];
    return isRegistryHost(value) && (port === undefined || (Number(port) >= 1 && Number(port) <= 65535));
}

const registryMirror = section({
    registry: text(`must be a registry host, with a port from 1 to 65535 if any, such as "docker.io" or "registry.local:5000"`, isRegistry),
    endpoint: text(`must be an http:// or https:// URL without spaces, quotes or control characters`, isMirrorEndpoint),
});

/** A containerd registry mirror for the kind nodes (certs.d hosts.toml). */
export type RegistryMirror = z.output<typeof registryMirror>;

const registryHost = () =>
    text(`must be a registry host, with a port from 1 to 65535 if any, such as "docker.io" or "registry.local:5000"`, isRegistry);

const imageCacheSection = section({
    enabled: bool(
        true,
        "run a pull-through cache per upstream registry (a `registry` container with a named volume, shared by every stack on this machine) that the nodes pull through first; `pulumi destroy` leaves the caches in place, `npm run cache -- prune` removes them",
    ),
    registries: doc(
        list(registryHost(), "must be a list of registry hosts")
            .superRefine((registries, ctx) => {
                const names = registries.filter(isRegistry).map(cacheName);
                if (new Set(names).size !== names.length) {
                    problemAt(
                        ctx,
                        [],
                        `must not repeat a registry (got ${show(registries)}; "a.b" and "a-b" count as one, their caches share a name).`,
                    );
                }
            })
            .default([...CACHED_REGISTRIES]),
        "the upstream registries to cache; a registry in `kind.registryMirrors` goes to that mirror instead",
        `\`[${CACHED_REGISTRIES.join(", ")}]\`, where the stack's images come from`,
        "a list of registry hosts",
    ),
    hostPorts: doc(
        list(
            section({
                registry: registryHost(),
                hostPort: maybeInt(1, 65535, "host port"),
            })
                .superRefine(
                    (p, ctx) => {
                        if (p.hostPort === undefined)
                            problemAt(ctx, ["hostPort"], `must be set (got nothing). Fix: give the cache a free port, such as 5001.`);
                    },
                    { when: (payload) => typeof payload.value === "object" && payload.value !== null },
                )
                // Set, once the check above passed.
                .transform((p) => ({ registry: p.registry, hostPort: p.hostPort as number })),
            "must be a list of {registry, hostPort}",
        ).default([]),
        "`[{registry: docker.io, hostPort: 5001}]`: also publish a cache on this machine, on `kind.listenAddress`; unpublished, only the nodes reach it",
        "`[]`",
        "a list of `{registry, hostPort}`",
    ),
});

/** Settings of the image caches. */
export type ImageCacheSettings = z.output<typeof imageCacheSection>;

/** Every host port kind maps must be distinct; kind maps all of them, the switched-off addons' too. */
const hostPorts = section(
    Object.fromEntries(PORT_ROLES.map((role) => [role, int(1, 65535, DEFAULT_HOST_PORTS[role], `host port of ${role}`)])) as Record<
        PortRole,
        ReturnType<typeof int>
    >,
).superRefine(
    (ports, ctx) => {
        const bad = unparsed(ctx);
        const seen = new Map<number, PortRole>();
        for (const { role, hostPort } of exposedPorts(ports).filter((p) => !bad.has(p.role))) {
            const other = seen.get(hostPort);
            if (other)
                problemAt(
                    ctx,
                    [role],
                    `must differ from kind.hostPorts.${other} (both got ${hostPort}). Fix: give each endpoint its own host port.`,
                );
            seen.set(hostPort, role);
        }
    },
    { when: (payload) => typeof payload.value === "object" && payload.value !== null && !Array.isArray(payload.value) },
);

export const kindSchema = section({
    workers: int(0, MAX_WORKERS, 0, "worker nodes besides the control plane"),
    nodeImage: doc(
        image("kindest/node:v1.36.4@sha256:...").default(PINS.kind.nodeImage),
        "kind node image",
        "pinned in `components/versions.ts`",
        "an image reference",
    ),
    region: doc(
        text(`must be a Kubernetes label value (letters, digits, "-", "_", ".", at most 63)`, labelValue).default("local"),
        "`topology.kubernetes.io/region` of every node",
        "`local`",
        "a label value",
    ),
    zones: doc(
        list(text(`must be a Kubernetes label value (letters, digits, "-", "_", ".", at most 63)`, labelValue))
            .superRefine((zones, ctx) => {
                if (zones.length === 0) problemAt(ctx, [], `must name at least one zone (got []). Fix: for example ["zone-a", "zone-b"].`);
                if (new Set(zones).size !== zones.length) problemAt(ctx, [], `must not repeat a zone (got ${show(zones)}).`);
            })
            .default(["local-a"]),
        "`topology.kubernetes.io/zone` labels, assigned round robin, control plane first",
        "`[local-a]`",
        "a list of label values",
    ),
    listenAddress: doc(
        z
            .string({ error: (iss) => `must be an IPv4 address such as "127.0.0.1" (got ${show(iss.input)}).` })
            .superRefine((a, ctx) => {
                // Node's net.isIPv4 refuses leading zeros, which kind's port mappings would not.
                if (!net.isIPv4(a)) problemAt(ctx, [], `must be an IPv4 address such as "127.0.0.1" (got ${show(a)}).`);
                else if (Number(a.split(".")[0]) >= 224 || a === "255.255.255.255") {
                    problemAt(
                        ctx,
                        [],
                        `must be an address of this machine, not a multicast or broadcast one (got ${show(a)}). Fix: pulumi config set --path kind.listenAddress 127.0.0.1`,
                    );
                }
            })
            .default("127.0.0.1"),
        "host address the ports bind to; anything else exposes them beyond this machine",
        "`127.0.0.1`",
        "an IPv4 address",
    ),
    hostPorts: doc(
        hostPorts.prefault({}),
        "host port of each endpoint; each maps to a fixed nodePort (`components/ports.ts`). Every one is mapped, also for an addon that is off, so that switching an addon on never recreates the cluster; each must be free and differ from the others",
        `\`${Object.entries(DEFAULT_HOST_PORTS)
            .map(([role, port]) => `${role}: ${port}`)
            .join(", ")}\``,
        "1 to 65535 each",
    ),
    registryMirrors: doc(
        list(registryMirror, "must be a list of {registry, endpoint}")
            .default([])
            .superRefine(
                (mirrors, ctx) => {
                    // Among the mirrors that are right: a wrong one has its own problem.
                    const bad = unparsed(ctx);
                    const seen = new Set<string>();
                    mirrors.forEach((m, i) => {
                        if (bad.has(String(i))) return;
                        if (seen.has(m.registry)) {
                            problemAt(
                                ctx,
                                [i, "registry"],
                                `repeats a registry mirrored above (got ${show(m.registry)}). Fix: keep one mirror per registry.`,
                            );
                        }
                        seen.add(m.registry);
                    });
                },
                { when: (payload) => Array.isArray(payload.value) },
            ),
        "`[{registry: docker.io, endpoint: http://host.docker.internal:5000}]`: containerd pulls through the mirror first (certs.d `hosts.toml`)",
        "`[]`",
        "a list of `{registry, endpoint}`",
    ),
    preloadImages: doc(
        list(image("docker.io/istio/proxyv2:1.31.1"), "must be a list of image references").default([]),
        "images from your local Docker to `kind load` into the nodes, so repeated deployments do not pull them again",
        "`[]`",
        "a list of image references",
    ),
    // The image caches: pull-through registries that survive `pulumi destroy` (components/cluster/imageCache.ts).
    imageCache: imageCacheSection.prefault({}),
    // Off by default: kind would otherwise write admin credentials into the user's kubeconfig and switch its context.
    exportKubeconfig: bool(
        false,
        "also merge the cluster into your kubeconfig (`$KUBECONFIG`, else `~/.kube/config`) and switch its current context to `kind-<clusterName>`; `pulumi destroy` then removes those entries. Off, the stack never touches your kubeconfig",
    ),
})
    .superRefine(
        (k, ctx) => {
            const published = k.imageCache.hostPorts;
            const taken = new Map(exposedPorts(k.hostPorts).map((p) => [p.hostPort, `kind.hostPorts.${p.role}`]));
            published.forEach((p, i) => {
                if (!k.imageCache.registries.includes(p.registry)) {
                    problemAt(
                        ctx,
                        ["imageCache", "hostPorts", i, "registry"],
                        `must be a registry of kind.imageCache.registries (got ${show(p.registry)}; they are ${show(k.imageCache.registries)}).`,
                    );
                } else if (k.registryMirrors.some((m) => m.registry === p.registry)) {
                    problemAt(
                        ctx,
                        ["imageCache", "hostPorts", i, "registry"],
                        `names a registry that kind.registryMirrors sends to your own mirror, so it has no cache to publish (got ${show(p.registry)}).`,
                    );
                }
                if (published.findIndex((q) => q.registry === p.registry) !== i) {
                    problemAt(
                        ctx,
                        ["imageCache", "hostPorts", i, "registry"],
                        `repeats a registry published above (got ${show(p.registry)}).`,
                    );
                }
                const other = taken.get(p.hostPort);
                if (other) {
                    problemAt(
                        ctx,
                        ["imageCache", "hostPorts", i, "hostPort"],
                        `must differ from ${other} (both got ${p.hostPort}). Fix: give each its own host port.`,
                    );
                }
                taken.set(p.hostPort, `kind.imageCache.hostPorts[${i}].hostPort`);
            });
        },
        { when: whenParsed("imageCache", "hostPorts", "registryMirrors").when },
    )
    .superRefine(
        (k, ctx) => {
            if (k.zones.length > k.workers + 1) {
                problemAt(
                    ctx,
                    ["zones"],
                    `names ${k.zones.length} zones but the cluster has only ${k.workers + 1} node(s) (got ${show(k.zones)}). Fix: add workers (kind.workers) or list fewer zones.`,
                );
            }
        },
        // Counted even when a zone's name is wrong.
        { when: (payload) => whenParsed("workers").when(payload) && Array.isArray((payload.value as { zones?: unknown }).zones) },
    );

/** Settings of the local kind cluster. */
export type KindSettings = z.output<typeof kindSchema>;

/** Settings of an existing cluster. */
export interface ExistingSettings {
    /** Kubeconfig content, always secret. */
    readonly kubeconfig: pulumi.Output<string>;
    /** Context inside the kubeconfig; its current context when unset. */
    readonly context?: string;
    /** Where the kubeconfig came from, for messages. */
    readonly source: "config" | "file";
}

/** The kubeconfig file kubectl would read: the first entry of $KUBECONFIG, else ~/.kube/config. */
export function defaultKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
    const first = env.KUBECONFIG?.split(path.delimiter).find((s) => s.length > 0);
    return first ?? path.join(os.homedir(), ".kube", "config");
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
export function checkKubeconfig(p: Problems, content: string, context: string | undefined, source: string): boolean {
    const fix = `Fix: pulumi config set --secret kubeconfig ${STACK} < path/to/kubeconfig (the file's content, not its path)`;
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
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
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
        const has = contexts.map((c) => show(c)).join(", ");
        p.add(
            context
                ? `kubeContext must be a context of ${source} (got ${show(context)}; it has ${has}). Fix: pulumi config set kubeContext ${contexts[0]} ${STACK}`
                : `kubeconfig has no current context to use (got ${show(k["current-context"] ?? "")}; it has ${has}). Fix: pulumi config set kubeContext ${contexts[0]} ${STACK}`,
        );
        return false;
    }
    return true;
}

/** The existing cluster's kubeconfig: from the `kubeconfig` secret, or the kubeconfig file for `kubeContext`. */
export function existingCluster(
    p: Problems,
    kubeconfig: string | undefined,
    kubeContext: string | undefined,
    file: { readonly path: string; readonly content?: string } | undefined,
    encrypted = false,
): ExistingSettings | undefined {
    const context = kubeContext === undefined || kubeContext === "" ? undefined : kubeContext;
    if (kubeconfig !== undefined) {
        // Read offline (npm run check), an encrypted kubeconfig counts as set: its content is unknown.
        if (encrypted) return { kubeconfig: pulumi.secret(kubeconfig), context, source: "config" };
        return checkKubeconfig(p, kubeconfig, context, "the kubeconfig")
            ? { kubeconfig: pulumi.secret(kubeconfig), context, source: "config" }
            : undefined;
    }
    if (context && file?.content !== undefined) {
        return checkKubeconfig(p, file.content, context, file.path)
            ? { kubeconfig: pulumi.secret(file.content), context, source: "file" }
            : undefined;
    }
    p.add(
        context
            ? `kubeContext is ${show(context)} but no kubeconfig file was found at ${file?.path ?? "~/.kube/config"} (got nothing). Fix: point KUBECONFIG at your kubeconfig, or pulumi config set --secret kubeconfig ${STACK} < path/to/kubeconfig`
            : `kubeconfig is required when clusterMode is "existing" (got nothing). Fix: pulumi config set --secret kubeconfig ${STACK} < ~/.kube/config   (or name a context of your kubeconfig file: pulumi config set kubeContext my-context ${STACK})`,
    );
    return undefined;
}

/** Refuses what kind makes itself: a kubeconfig or a kube context would be silently ignored. */
export function noExistingClusterOnKind(p: Problems, kubeconfig: boolean, kubeContext: boolean): void {
    for (const [key, set] of [
        ["kubeconfig", kubeconfig],
        ["kubeContext", kubeContext],
    ] as const) {
        if (set) {
            p.add(
                `${key} is set but clusterMode is "kind" (got a ${key} the stack would ignore: it makes its own cluster). Fix: pulumi config rm ${key} ${STACK}, or pulumi config set clusterMode existing ${STACK}`,
            );
        }
    }
}

export const imageCacheCredentialsSchema = doc(
    z.string().optional(),
    'kind: upstream credentials of the image caches, set with `--secret` as JSON, `{"docker.io": {"username": "me", "password": "<access token>"}}`; that cache then pulls as you (an account\'s pull limit instead of an address\'s)',
    "(none, secret)",
    "JSON: registry → `{username, password}`",
);

/** Upstream credentials of the image caches: which registries have them (plain), and the values (secret). */
export interface ImageCacheCredentials {
    /** The registries with credentials; not secret. */
    readonly registries: readonly string[];
    /** Username and password by registry; always secret. */
    readonly values: pulumi.Output<Readonly<Record<string, { readonly username: string; readonly password: string }>>>;
}

/**
 * The image caches' upstream credentials, checked against the caches the stack makes (`cached`:
 * undefined when it makes none, with `why`). Messages never quote a value: they are credentials.
 */
export function imageCacheCredentials(
    p: Problems,
    text: string,
    cached: readonly string[] | undefined,
    why: string,
): ImageCacheCredentials | undefined {
    const fix = `Fix: pulumi config set --secret imageCacheCredentials '{"docker.io": {"username": "me", "password": "<access token>"}}' ${STACK}`;
    if (cached === undefined) {
        p.add(
            `imageCacheCredentials is set but ${why} (got credentials nothing would use). Fix: pulumi config rm imageCacheCredentials ${STACK}`,
        );
        return undefined;
    }
    let parsed: unknown;
    try {
        parsed = parseYaml(text);
    } catch {
        parsed = undefined;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        p.add(`imageCacheCredentials must be a JSON object of registry → {username, password} (got text that is not one). ${fix}`);
        return undefined;
    }
    const values: Record<string, { username: string; password: string }> = {};
    let ok = true;
    for (const [registry, entry] of Object.entries(parsed as Record<string, unknown>)) {
        const e = entry as { username?: unknown; password?: unknown } | null;
        const keys = typeof e === "object" && e !== null ? Object.keys(e) : [];
        if (!cached.includes(registry)) {
            p.add(
                `imageCacheCredentials names ${show(registry)}, which has no image cache (the caches are ${show(cached)}). Fix: name one of them, or add it to kind.imageCache.registries.`,
            );
            ok = false;
        } else if (
            typeof e?.username !== "string" ||
            e.username === "" ||
            typeof e.password !== "string" ||
            e.password === "" ||
            keys.some((k) => k !== "username" && k !== "password")
        ) {
            p.add(
                `imageCacheCredentials.${registry} must be {"username": ..., "password": ...} with both non-empty and nothing else (got the keys ${show(keys)}). ${fix}`,
            );
            ok = false;
        } else {
            values[registry] = { username: e.username, password: e.password };
        }
    }
    return ok ? { registries: Object.keys(values), values: pulumi.secret(values) } : undefined;
}
