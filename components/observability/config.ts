/** The observability addons' config: the `observability` section. */
import * as net from "net";
import { z } from "zod";
import { bool, doc, enumOf, list, maybeInt, problem, problemAt, retired, section, show, text, whenParsed } from "../schema";

/** An IPv4 or IPv6 range in CIDR notation, as Node parses addresses (one `::`, no leading zeros). */
export function isCidr(value: string): boolean {
    const [addr, bits, ...rest] = value.split("/");
    if (rest.length > 0 || bits === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(bits)) return false;
    if (net.isIPv4(addr)) return Number(bits) <= 32;
    return net.isIPv6(addr) && Number(bits) <= 128;
}

const gatewayExposure = section({
    sourceRanges: list(text(`must be a CIDR such as "203.0.113.0/24"`, isCidr))
        .optional()
        .superRefine((ranges, ctx) => {
            if (!ranges || ranges.length === 0) {
                problemAt(
                    ctx,
                    [],
                    `must list the client address ranges allowed to open the UIs (got ${show(ranges)}). Fix: pulumi config set --path 'observability.gatewayExposure.sourceRanges[0]' 203.0.113.0/24 (Prometheus and Jaeger have no login of their own).`,
                );
            }
        })
        .transform((ranges) => ranges ?? []),
});

const headlamp = section({
    enabled: bool(false, ""),
    access: enumOf(["view", "edit", "cluster-admin"], "pulumi config set --path observability.headlamp.access view").optional(),
})
    .superRefine(
        (h, ctx) => {
            if (!h.enabled && h.access !== undefined) {
                problemAt(
                    ctx,
                    ["access"],
                    `has no effect while Headlamp is off (got ${show(h.access)}). Fix: pulumi config set --path observability.headlamp.enabled true, or remove the access.`,
                );
            }
        },
        whenParsed("enabled", "access"),
    )
    .transform((h) => (h.enabled ? { access: h.access ?? "view" } : undefined));

/** Grafana and Kiali read Prometheus: on without it, they would show nothing. */
function needsPrometheus(addon: "grafana" | "kiali") {
    return (o: { readonly prometheus: boolean; readonly grafana: boolean; readonly kiali: boolean }, ctx: z.RefinementCtx): void => {
        if (o[addon] && !o.prometheus) {
            problem(
                ctx,
                `observability.${addon} needs observability.prometheus (got ${addon} true, prometheus false). Fix: enable prometheus or disable ${addon}.`,
            );
        }
    };
}

export const observabilitySchema = section({
    prometheus: bool(true, "Prometheus, scraping the mesh"),
    grafana: bool(true, "Grafana with Istio's dashboards; needs `prometheus`"),
    jaeger: bool(true, "Jaeger, receiving the mesh's traces"),
    kiali: bool(true, "Kiali; needs `prometheus`"),
    tracingSamplingPercent: maybeInt(0, 100, "percentage of requests traced (0 to 100); needs `jaeger`", "`100`"),
    kialiAuth: doc(
        enumOf(["token", "anonymous"]).optional(),
        "`token` (log in with a service account token) or `anonymous` (only on kind with `listenAddress` 127.0.0.1)",
        "`token`",
        "token, anonymous",
    ),
    gatewayExposure: doc(
        gatewayExposure.optional(),
        "existing clusters: `{sourceRanges: [CIDR, ...]}` serves each addon UI on its own port of the ingress gateway, only to those client ranges. Unset, the UIs stay in-cluster",
        undefined,
        "a section",
    ),
    headlamp: doc(
        headlamp.prefault({}),
        "`{enabled, access}`: Headlamp, the cluster web UI, with token login as a service account bound to the ClusterRole `access` (`view`, `edit` or `cluster-admin`)",
        "off; access `view`",
        "a section",
    ),
    kubernetesDashboard: retired(
        (got) =>
            `is no longer supported (got ${got}): the Kubernetes Dashboard project is archived and its chart repository is gone. Fix: remove observability.kubernetesDashboard and use observability.headlamp, the cluster web UI that replaces it: pulumi config set --path observability.headlamp.enabled true`,
    ),
})
    .superRefine(needsPrometheus("grafana"), whenParsed("grafana", "prometheus"))
    .superRefine(needsPrometheus("kiali"), whenParsed("kiali", "prometheus"))
    // Options of an addon that is off would be silently ignored.
    .superRefine(
        (o, ctx) => {
            if (!o.jaeger && o.tracingSamplingPercent !== undefined) {
                problemAt(
                    ctx,
                    ["tracingSamplingPercent"],
                    `has no effect with observability.jaeger false (got ${show(o.tracingSamplingPercent)}): nothing receives the traces. Fix: remove it, or turn Jaeger on.`,
                );
            }
        },
        whenParsed("jaeger", "tracingSamplingPercent"),
    )
    .superRefine(
        (o, ctx) => {
            if (!o.kiali && o.kialiAuth !== undefined) {
                problemAt(
                    ctx,
                    ["kialiAuth"],
                    `has no effect with observability.kiali false (got ${show(o.kialiAuth)}). Fix: remove it, or turn Kiali on.`,
                );
            }
        },
        whenParsed("kiali", "kialiAuth"),
    )
    .transform((o) => ({
        prometheus: o.prometheus,
        grafana: o.grafana,
        jaeger: o.jaeger,
        kiali: o.kiali,
        tracingSamplingPercent: o.tracingSamplingPercent ?? 100,
        kialiAuth: o.kialiAuth ?? "token",
        gatewayExposure: o.gatewayExposure,
        headlamp: o.headlamp,
    }));

/** Observability addon settings. */
export type ObservabilitySettings = z.output<typeof observabilitySchema>;
/** How Kiali authenticates its users. */
export type KialiAuth = ObservabilitySettings["kialiAuth"];
/** The ClusterRole Headlamp's login token is bound to. */
export type HeadlampAccess = NonNullable<ObservabilitySettings["headlamp"]>["access"];
