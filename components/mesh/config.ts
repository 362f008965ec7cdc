/** The mesh's config: `meshMode` and the `istio` section (Istio's charts and the Gateway API CRDs). */
import * as fs from "fs";
import { z } from "zod";
import { PINS } from "../versions";
import { DEFAULT_TAG, isVersion, LEGACY_REVISION, revisionNamed, ISTIO_RELEASES, UpgradeSettings } from "./revisions";
import {
    bool,
    declared,
    doc,
    enumOf,
    helmValues,
    int,
    maybeBool,
    maybeInt,
    oneOf,
    problemAt,
    section,
    list,
    show,
    text,
    whenParsed,
    KEY,
} from "../schema";

/** Istio data plane: sidecar proxies, or ztunnel (plus waypoints) in ambient mode. */
export type MeshMode = "sidecar" | "ambient";

export const meshModeSchema = doc(
    declared(enumOf(["sidecar", "ambient"], "pulumi config set meshMode sidecar (or ambient).")),
    "Istio's data plane: sidecar proxies, or ztunnel and waypoints",
    "`sidecar`",
    "sidecar, ambient",
);

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/;

/** A Kubernetes quantity in its base unit (cores, bytes), to compare requests with limits. */
function quantityValue(q: string): number {
    const m = QUANTITY.exec(q);
    if (!m) return NaN;
    const factor: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
    return Number(m[1]) * (m[2] ? factor[m[2]] : 1);
}

const quantity = () => text(`must be a Kubernetes quantity such as "500m" or "512Mi"`, (s) => QUANTITY.test(s));

const resources = section({
    requests: section({ cpu: quantity().default("200m"), memory: quantity().default("512Mi") }).prefault({}),
    limits: section({ cpu: quantity().optional(), memory: quantity().optional() }).optional(),
}).superRefine(
    (r, ctx) => {
        for (const resource of ["cpu", "memory"] as const) {
            const request = r.requests[resource];
            const limit = r.limits?.[resource];
            // Kubernetes refuses a pod whose limit is below its request, in the middle of the Helm release.
            if (limit !== undefined && quantityValue(limit) < quantityValue(request)) {
                problemAt(
                    ctx,
                    ["limits", resource],
                    `must not be below istio.istiod.resources.requests.${resource} (got a limit of ${show(limit)} for a request of ${show(request)}). Fix: raise the limit or lower the request.`,
                );
            }
        }
    },
    whenParsed("requests", "limits"),
);

/** CPU and memory requests and limits. */
export type Resources = z.output<typeof resources>;

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

/** Keys that would reach an object's prototype when values are merged (mergeValues), or that parsing drops. */
const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype"];

const nodeSelector = z
    .unknown()
    // Read before parsing, which would drop a "__proto__" key: none of them is a label name.
    .superRefine((v, ctx) => {
        if (typeof v !== "object" || v === null) return;
        for (const key of Object.keys(v).filter((k) => PROTOTYPE_KEYS.includes(k))) {
            problemAt(
                ctx,
                [key],
                `must be a Kubernetes label name (got ${show(key)}). Fix: use a label your nodes carry, such as "ingress-ready": "true".`,
            );
        }
    })
    .pipe(
        z
            .record(z.string(), z.string({ error: (iss) => `must be a label value, a string (got ${show(iss.input)}).` }), {
                error: (iss) => `must map label names to string values (got ${show(iss.input)}).`,
            })
            .superRefine((labels, ctx) => {
                for (const [name, value] of Object.entries(labels)) {
                    if (!isLabelName(name) || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value) || value.length > 63) {
                        problemAt(
                            ctx,
                            [name],
                            `must be a Kubernetes label name (an optional DNS prefix and "/", then at most 63 letters, digits, "-", "_" or ".") with a label value (got ${show(name)}: ${show(value)}). Fix: use a label your nodes carry, such as "ingress-ready": "true".`,
                        );
                    }
                }
            }),
    );

const DEFAULT_NODE_SELECTOR = { "ingress-ready": "true" };

const gateway = section({
    replicas: maybeInt(1, 10, "ingress gateway replicas of a Deployment gateway", "`1`"),
    kind: oneOf(["Deployment", "DaemonSet"], "Deployment", "`DaemonSet` runs one gateway pod on each node `nodeSelector` selects"),
    nodeSelector: doc(nodeSelector.optional(), "node labels a DaemonSet gateway runs on", '`ingress-ready: "true"`'),
    service: oneOf(
        ["LoadBalancer", "NodePort"],
        "LoadBalancer",
        "existing clusters: the gateway Service's type; `NodePort` for a cluster without a load balancer",
    ),
})
    .superRefine(
        (g, ctx) => {
            if (g.kind === "DaemonSet" && g.replicas !== undefined) {
                problemAt(
                    ctx,
                    ["replicas"],
                    `has no effect on a DaemonSet gateway (got ${show(g.replicas)}): it runs one pod per selected node. Fix: remove ${KEY}.`,
                );
            }
            if (g.kind === "Deployment" && g.nodeSelector !== undefined) {
                problemAt(
                    ctx,
                    ["nodeSelector"],
                    `has no effect on a Deployment gateway (got ${show(g.nodeSelector)}): it is read only with istio.gateway.kind DaemonSet. Fix: remove it, or set istio.gateway.kind DaemonSet.`,
                );
            }
        },
        whenParsed("kind", "replicas", "nodeSelector"),
    )
    .transform((g) => ({ ...g, replicas: g.replicas ?? 1, nodeSelector: g.nodeSelector ?? DEFAULT_NODE_SELECTOR }));

/** How the ingress gateway runs: a Deployment, or a DaemonSet on nodes labelled for ingress. */
export type GatewayKind = z.output<typeof gateway>["kind"];
/** How the ingress gateway's Service is exposed on an existing cluster. */
export type GatewayService = z.output<typeof gateway>["service"];

const istiod = section({
    replicas: int(1, 5, 1, "istiod replicas"),
    resources: doc(resources.prefault({}), "istiod's `requests` and `limits` of `cpu` and `memory`", "requests `cpu: 200m, memory: 512Mi`"),
    podDisruptionBudget: maybeBool("a PodDisruptionBudget of minAvailable 1 for istiod", "`true` with 2 or more replicas"),
})
    .superRefine(
        (d, ctx) => {
            if (d.podDisruptionBudget === true && d.replicas < 2) {
                problemAt(
                    ctx,
                    ["podDisruptionBudget"],
                    `needs istio.istiod.replicas of 2 or more (got ${d.replicas}): with one replica a budget of minAvailable 1 blocks every node drain. Fix: raise the replicas or set podDisruptionBudget to false.`,
                );
            }
        },
        whenParsed("podDisruptionBudget", "replicas"),
    )
    .transform((d) => ({ ...d, podDisruptionBudget: d.podDisruptionBudget ?? d.replicas > 1 }));

const meshConfig = section({
    accessLogs: bool(true, "Envoy access logs to stdout"),
    outboundTrafficPolicy: oneOf(["ALLOW_ANY", "REGISTRY_ONLY"], "ALLOW_ANY", "`meshConfig.outboundTrafficPolicy.mode`"),
    localityLoadBalancing: bool(true, "prefer endpoints in the caller's zone, failing over by region and zone"),
});

/** meshConfig.outboundTrafficPolicy.mode. */
export type OutboundTrafficPolicy = z.output<typeof meshConfig>["outboundTrafficPolicy"];
/** Mesh-wide PeerAuthentication mode. */
export type MtlsMode = "STRICT" | "PERMISSIVE";

/** The paths of every key in Helm values that names a prototype, e.g. `["pilot", "__proto__"]`. */
function prototypeKeys(value: unknown, at: PropertyKey[] = []): PropertyKey[][] {
    if (typeof value !== "object" || value === null) return [];
    return Object.keys(value).flatMap((k) => {
        const step = Array.isArray(value) ? Number(k) : k;
        return PROTOTYPE_KEYS.includes(k) ? [[...at, k]] : prototypeKeys((value as Record<string, unknown>)[k], [...at, step]);
    });
}

/** Helm values for a chart, refused where they reach a prototype (read before parsing, which would drop the key). */
const chartValues = () =>
    z
        .unknown()
        .superRefine((v, ctx) => {
            for (const p of prototypeKeys(v))
                problemAt(ctx, p, `is not a Helm value (got a key that names an object's prototype). Fix: remove it.`);
        })
        .pipe(helmValues())
        .default({});

/**
 * What the stack itself sets and wires together: overriding it through the escape hatch breaks the
 * wiring (the fixed nodePorts and kind's mappings, the mesh config the addons and the authorizer
 * are registered in, the settings every chart shares).
 */
const OWNED = {
    base: ["global", "defaultRevision"],
    istiod: ["meshConfig", "global", "profile", "revision", "revisionTags"],
    cni: ["global", "profile"],
    ztunnel: ["global", "revision"],
    gateway: ["service", "global", "kind", "revision", "podAnnotations", "strategy"],
} as const;

const extraValues = section({
    base: chartValues(),
    istiod: chartValues(),
    cni: chartValues(),
    ztunnel: chartValues(),
    gateway: chartValues(),
}).superRefine(
    (ev, ctx) => {
        // A chart's values that failed only the prototype check are still the user's object: check them too.
        const isObject = (v: unknown): boolean => typeof v === "object" && v !== null && !Array.isArray(v);
        for (const chart of (Object.keys(OWNED) as (keyof typeof OWNED)[]).filter((c) => isObject(ev[c]))) {
            for (const key of OWNED[chart].filter((k) => Object.prototype.hasOwnProperty.call(ev[chart], k))) {
                problemAt(
                    ctx,
                    [chart, key],
                    `is set by the stack itself (got ${show(ev[chart][key])}): overriding it would undo what the stack wires together. Fix: remove it and use the stack's own setting (istio.meshConfig, istio.gateway, meshMode) where there is one.`,
                );
            }
        }
    },
    { when: (payload) => typeof payload.value === "object" && payload.value !== null && !Array.isArray(payload.value) },
);

const knownVersion = (what: string) =>
    text(
        `must be an Istio release this stack has checked its chart values against (${ISTIO_RELEASES.join(", ")})`,
        (s) => ISTIO_RELEASES.includes(s),
        `use one of those${what}`,
    );

/** A tag name: a DNS label, which is not itself a revision name (istioctl refuses a tag that names a revision). */
function isTagName(s: string): boolean {
    return s.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s) && (s === DEFAULT_TAG || revisionNamed(s) === undefined);
}

const upgrade = section({
    strategy: doc(
        enumOf(["revisions", "inPlace"], "pulumi config set --path istio.upgrade.strategy revisions (or inPlace).").optional(),
        "how a change of the Istio version is rolled out: `revisions` installs an istiod per version beside the running one and moves the workloads with a revision tag; `inPlace` upgrades the one istiod",
        "`revisions` on an existing cluster, `inPlace` on kind",
        "revisions, inPlace",
    ),
    keepRevisions: doc(
        list(knownVersion(""), 'must be a list of Istio versions such as ["1.30.3"]').default([]),
        "Istio versions installed as revisions besides the pinned one (the revision the last deployment ran is kept anyway, until retired)",
        "`[]`",
        "a list of versions",
    ),
    tags: doc(
        z
            .record(
                z.string(),
                text(`must name an Istio version or revision such as "1.31.1" (or "1-31-1")`, (s) => revisionNamed(s) !== undefined),
                { error: (iss) => `must map tag names to Istio versions (got ${show(iss.input)}).` },
            )
            .superRefine((tags, ctx) => {
                for (const name of Object.keys(tags).filter((n) => !isTagName(n))) {
                    problemAt(
                        ctx,
                        [name],
                        `must be a tag name: a DNS label that is not a revision name (got ${show(name)}). Fix: use a name such as "stable" or "canary".`,
                    );
                }
            })
            .default({}),
        `revision tags and the version each points at; \`${DEFAULT_TAG}\`, which the stack's namespaces select, follows the pinned version unless set`,
        `\`${DEFAULT_TAG}\`: the pinned version`,
        "tag name → version",
    ),
    retire: doc(
        list(
            text(
                `must be an Istio version such as "1.30.3", or "${LEGACY_REVISION}" for the istiod installed without a revision`,
                (s) => s === LEGACY_REVISION || isVersion(s),
            ),
        ).default([]),
        "revisions to remove, each only once no proxy runs on it (the deploy stops otherwise)",
        "`[]`",
        "a list of versions",
    ),
}).superRefine(
    (u, ctx) => {
        u.retire.forEach((r, i) => {
            if (u.keepRevisions.includes(r)) {
                problemAt(
                    ctx,
                    ["retire", i],
                    `names ${show(r)}, which istio.upgrade.keepRevisions keeps (got both). Fix: remove it from one of them.`,
                );
            }
        });
    },
    whenParsed("retire", "keepRevisions"),
);

/** The `istio` section; `fileExists` decides whether `gatewayApi.localFile` is there. */
export function istioSchema(fileExists: (file: string) => boolean = fs.existsSync) {
    const localFix = `Fix: download standard-install.yaml of Gateway API ${PINS.gatewayApi.version} and pulumi config set --path istio.gatewayApi.localFile ./standard-install.yaml`;
    const gatewayApi = section({
        install: bool(true, "install the Gateway API CRDs (off: the cluster has them)"),
        channel: oneOf(["standard", "experimental"], "standard", "Gateway API release channel"),
        localFile: doc(
            text()
                .superRefine((file, ctx) => {
                    // An empty name has its own problem.
                    if (file === "") return;
                    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file)) {
                        problemAt(
                            ctx,
                            [],
                            `must be a file on this machine (got ${show(file)}): a URL would bring the CRDs unpinned and, over http, unauthenticated; the stack already applies the pinned release asset by default. ${localFix}`,
                        );
                    } else if (!fileExists(file)) {
                        problemAt(ctx, [], `must exist (got ${show(file)}, which is not there). ${localFix}`);
                    }
                })
                .optional(),
            "a local copy of the CRD bundle for air-gapped machines",
            undefined,
            "a file path",
        ),
    }).superRefine(
        (ga, ctx) => {
            if (ga.localFile !== undefined && !ga.install) {
                problemAt(
                    ctx,
                    ["localFile"],
                    `is set but istio.gatewayApi.install is false (got a file nothing would apply). Fix: pulumi config rm --path istio.gatewayApi.localFile`,
                );
            }
        },
        whenParsed("localFile", "install"),
    );
    return section({
        version: doc(
            knownVersion(`, or pulumi config rm --path istio.version to install the pinned ${PINS.istio.version}`).optional(),
            "the Istio release every Istio chart is installed at, instead of the pinned one (components/versions.ts)",
            `the pin, \`${PINS.istio.version}\``,
            ISTIO_RELEASES.join(", "),
        ),
        upgrade: doc(
            upgrade.prefault({}),
            "Istio upgrades: `strategy`, `keepRevisions`, `tags`, `retire` (docs/operations.md, Upgrading Istio through revisions)",
            "revisions on an existing cluster, in place on kind",
            "a section",
        ),
        mtls: oneOf(["STRICT", "PERMISSIVE"], "STRICT", "mesh-wide PeerAuthentication mode"),
        istiod: doc(istiod.prefault({}), "istiod's `replicas` (1 to 5), `resources` and `podDisruptionBudget`", "`1` replica", "a section"),
        gateway: doc(
            gateway.prefault({}),
            "the ingress gateway: `kind` (`Deployment` or `DaemonSet`), `replicas` (1 to 10, Deployment), `nodeSelector` (DaemonSet), `service` (existing clusters: `LoadBalancer` or `NodePort`)",
            "one Deployment replica behind a LoadBalancer",
            "a section",
        ),
        meshConfig: meshConfig.prefault({}),
        gatewayApi: gatewayApi.prefault({}),
        extraValues: doc(
            extraValues.prefault({}),
            "extra Helm values per chart (`base`, `istiod`, `cni`, `ztunnel`, `gateway`), merged over the stack's own; the keys the stack sets itself (`global`, `meshConfig`, `profile`, `revision`, istiod's `revisionTags`, the gateway's `service`, `kind`, `podAnnotations` and `strategy`) are refused",
            "`{}`",
            "Helm values per chart",
        ),
        removeCrdsOnDestroy: bool(
            false,
            "`pulumi destroy` also removes the Istio and Gateway API CRDs, and with them every object of those kinds, yours included",
        ),
    });
}

/** The validated `istio` section. */
export type IstioSection = z.output<ReturnType<typeof istioSchema>>;

/** Istio settings. */
export interface IstioSettings extends Omit<IstioSection, "version" | "upgrade"> {
    readonly mode: MeshMode;
    /** The Istio release to install: `istio.version`, or the pin. */
    readonly version: string;
    /** How it is upgraded, with the strategy's default resolved for the cluster. */
    readonly upgrade: UpgradeSettings;
}
