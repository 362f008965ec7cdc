/** Bookinfo's config: the `bookinfo` section, and the ingress certificate (`ingressTlsCert`, `ingressTlsKey`). */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { hostForListenAddress } from "../urls";
import {
    bool,
    doc,
    enumOf,
    int,
    list,
    maybeInt,
    oneOf,
    problem,
    problemAt,
    Problems,
    section,
    show,
    text,
    whenParsed,
    KEY,
} from "../schema";

const VERSIONS = ["v1", "v2", "v3"] as const;
/** A Bookinfo reviews version. */
export type ReviewsVersion = (typeof VERSIONS)[number];

const version = (fallback: ReviewsVersion) => enumOf(VERSIONS).default(fallback);

/** The weight of each reviews version; a version not named gets none. */
function weightsOf(w: Partial<Record<ReviewsVersion, number | undefined>> | undefined): Record<ReviewsVersion, number> {
    return { v1: w?.v1 ?? 0, v2: w?.v2 ?? 0, v3: w?.v3 ?? 0 };
}

const reviews = section({
    mode: oneOf(["round-robin", "weighted", "pinned"], "round-robin", "how `reviews` traffic is split"),
    weights: section({ v1: maybeInt(0, 100, ""), v2: maybeInt(0, 100, ""), v3: maybeInt(0, 100, "") }).optional(),
    version: enumOf(VERSIONS).optional(),
})
    .superRefine(
        (r, ctx) => {
            const unused = (key: "weights" | "version", needs: string): void => {
                if (r[key] !== undefined && r.mode !== needs) {
                    problemAt(
                        ctx,
                        [key],
                        `has no effect with mode ${show(r.mode)} (got ${show(r[key])}): it is read only with mode "${needs}". Fix: set bookinfo.reviews.mode to ${needs}, or remove ${KEY}.`,
                    );
                }
            };
            unused("weights", "weighted");
            unused("version", "pinned");
            if (r.mode === "weighted") {
                const w = weightsOf(r.weights);
                const total = w.v1 + w.v2 + w.v3;
                if (total !== 100) {
                    problemAt(
                        ctx,
                        ["weights"],
                        `must add up to 100 (got ${VERSIONS.map((v) => `${v}=${w[v]}`).join(", ")}, total ${total}). Fix: for a 90/10 canary set v1: 90 and v3: 10.`,
                    );
                }
            }
        },
        whenParsed("mode", "weights", "version"),
    )
    .transform((r): ReviewsRouting => {
        if (r.mode === "weighted") return { mode: r.mode, weights: weightsOf(r.weights) };
        if (r.mode === "pinned") return { mode: r.mode, version: r.version ?? "v1" };
        return { mode: r.mode };
    });

/** How `reviews` traffic is split. */
export type ReviewsRouting =
    | { readonly mode: "round-robin" }
    | { readonly mode: "weighted"; readonly weights: Readonly<Record<ReviewsVersion, number>> }
    | { readonly mode: "pinned"; readonly version: ReviewsVersion };

const ratingsFault = section({
    kind: oneOf(["delay", "abort"], "delay", ""),
    percent: int(1, 100, 100, ""),
    delaySeconds: maybeInt(1, 60, ""),
    httpStatus: maybeInt(400, 599, ""),
    user: text().optional(),
})
    .superRefine(
        (f, ctx) => {
            const other = f.kind === "delay" ? "httpStatus" : "delaySeconds";
            if (f[other] !== undefined) {
                problemAt(
                    ctx,
                    [other],
                    `has no effect on a ${f.kind} fault (got ${show(f[other])}). Fix: remove it, or set bookinfo.ratingsFault.kind to ${f.kind === "delay" ? "abort" : "delay"}.`,
                );
            }
        },
        whenParsed("kind", "delaySeconds", "httpStatus"),
    )
    .transform(
        (f): RatingsFault =>
            f.kind === "delay"
                ? { kind: f.kind, percent: f.percent, delaySeconds: f.delaySeconds ?? 7, user: f.user }
                : { kind: f.kind, percent: f.percent, httpStatus: f.httpStatus ?? 500, user: f.user },
    );

/** A fault injected into calls to `ratings`. */
export type RatingsFault =
    | { readonly kind: "delay"; readonly percent: number; readonly delaySeconds: number; readonly user?: string }
    | { readonly kind: "abort"; readonly percent: number; readonly httpStatus: number; readonly user?: string };

/** A host name: a DNS name, a wildcard one (`*.example.com`), or `*`; labels of at most 63, the name at most 253. */
function isHostname(h: string): boolean {
    return (
        h === "*" ||
        (/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(h) &&
            h.length <= 253 &&
            h.split(".").every((l) => l.length <= 63))
    );
}

export const bookinfoSchema = section({
    enabled: bool(true, "deploy Bookinfo"),
    replicas: int(
        1,
        5,
        1,
        "pods of each Bookinfo Deployment; with 2 or more each gets a PodDisruptionBudget, so that a restart onto a new Istio revision or a node drain keeps one serving",
    ),
    ingressApi: oneOf(
        ["istio", "gateway-api"],
        "istio",
        "route ingress with an Istio Gateway and VirtualService, or a Gateway API Gateway and HTTPRoute",
    ),
    hostnames: doc(
        list(text(`must be a DNS name such as "bookinfo.example.com"`, isHostname)).optional(),
        "host names Bookinfo answers to at the ingress",
        "`localhost` on kind with a loopback `listenAddress`, else `*`",
        "a list of DNS names, `*.<domain>` or `*`",
    ),
    reviews: doc(
        reviews.prefault({}),
        "`mode`: `round-robin`, `weighted` with `weights` `{v1, v2, v3}` adding up to 100, or `pinned` with a `version`",
        "`round-robin`",
        "a section",
    ),
    headerRoute: doc(
        section({ user: text().default("jason"), version: version("v2") }).optional(),
        "`{user, version}`: requests with header `end-user: <user>` go to that reviews version",
        undefined,
        "a section",
    ),
    ratingsFault: doc(
        ratingsFault.optional(),
        "`{kind: delay|abort, percent, delaySeconds (1 to 60, default 7) | httpStatus (400 to 599, default 500), user}`: a fault in calls to ratings, for one `user` or everyone",
        undefined,
        "a section",
    ),
    timeoutSeconds: maybeInt(1, 300, "timeout of calls to reviews, in seconds"),
    retries: doc(
        section({ attempts: int(1, 10, 3, ""), perTryTimeoutSeconds: int(1, 60, 2, "") }).optional(),
        "`{attempts (1 to 10, default 3), perTryTimeoutSeconds (1 to 60, default 2)}` for calls to reviews",
        undefined,
        "a section",
    ),
    outlierDetection: bool(true, "eject failing endpoints of every Bookinfo service"),
    authorization: bool(true, "deny by default and allow only the Bookinfo call graph"),
    extAuthz: doc(
        section({
            name: text().default("ext-authz"),
            service: text(`must be a cluster service host such as "ext-authz.auth.svc.cluster.local"`, (s) =>
                /^[a-z0-9.-]+\.svc(\.cluster\.local)?$/.test(s),
            ),
            port: int(1, 65535, 9000, ""),
        }).optional(),
        "`{name, service, port}`: an external authorizer you run, asked about every request to productpage; needs `authorization`",
        undefined,
        "a section",
    ),
    tls: bool(false, "HTTPS on the ingress with `ingressTlsCert` and `ingressTlsKey`"),
})
    .superRefine((b, ctx) => {
        const hosts = b.hostnames;
        if (hosts !== undefined && hosts.length === 0) {
            problemAt(
                ctx,
                ["hostnames"],
                `must name at least one host (got []): Bookinfo would answer to nothing. Fix: remove it for the default, or list your DNS name.`,
            );
        }
    }, whenParsed("hostnames"))
    .superRefine(
        (b, ctx) => {
            const hosts = b.hostnames;
            // Gateway API's HTTPRoute takes at most 16 hostnames (its CRD's maxItems).
            if (hosts && b.ingressApi === "gateway-api" && hosts.length > 16) {
                problemAt(
                    ctx,
                    ["hostnames"],
                    `must list at most 16 names with ingressApi "gateway-api" (got ${hosts.length}). Fix: use a wildcard such as "*.example.com".`,
                );
            }
            if (hosts && b.ingressApi === "gateway-api" && hosts.includes("*") && hosts.length > 1) {
                problemAt(ctx, ["hostnames"], `must not mix "*" with names (got ${show(hosts)}).`);
            }
        },
        whenParsed("hostnames", "ingressApi"),
    )
    .superRefine(
        (b, ctx) => {
            if (b.retries && b.timeoutSeconds !== undefined && b.retries.perTryTimeoutSeconds > b.timeoutSeconds) {
                problemAt(
                    ctx,
                    ["retries", "perTryTimeoutSeconds"],
                    `must not exceed bookinfo.timeoutSeconds (got ${b.retries.perTryTimeoutSeconds} for a timeout of ${b.timeoutSeconds}). Fix: lower the per-try timeout or raise the timeout.`,
                );
            }
        },
        whenParsed("retries", "timeoutSeconds"),
    )
    .superRefine(
        (b, ctx) => {
            if (b.extAuthz && !b.authorization) {
                problem(
                    ctx,
                    `bookinfo.extAuthz needs bookinfo.authorization true (got authorization false): the authorizer is consulted by a CUSTOM AuthorizationPolicy, which the stack creates only with authorization on, so nothing would ask it. Fix: pulumi config set --path bookinfo.authorization true, or remove bookinfo.extAuthz`,
                );
            }
        },
        // Asked whenever an authorizer is set, even one whose settings are wrong.
        {
            when: (payload) =>
                whenParsed("authorization").when(payload) && (payload.value as { extAuthz?: unknown }).extAuthz !== undefined,
        },
    );

export const ingressTlsCertSchema = doc(
    z.string().optional(),
    "with `bookinfo.tls`: the ingress certificate, set with `--secret`",
    "(none, secret)",
    "a PEM certificate",
);

export const ingressTlsKeySchema = doc(
    z.string().optional(),
    "with `bookinfo.tls`: the certificate's private key, set with `--secret`",
    "(none, secret)",
    "a PEM private key",
);

/** Which API routes ingress traffic to Bookinfo. */
export type IngressApi = z.output<typeof bookinfoSchema>["ingressApi"];

/** Bookinfo settings. */
export interface BookinfoSettings extends Omit<z.output<typeof bookinfoSchema>, "hostnames" | "tls"> {
    /** Host names Bookinfo answers to at the ingress. */
    readonly hostnames: readonly string[];
    /** HTTPS on the ingress with a user-supplied certificate. */
    readonly tls?: { readonly certificate: pulumi.Output<string>; readonly privateKey: pulumi.Output<string> };
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
    return hostForListenAddress(kind.listenAddress) === "localhost" ? ["localhost"] : ["*"];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----/;
const PEM_PRIVATE_KEY = /-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/;
const TLS_FIX = "Fix: pulumi config set --secret ingressTlsCert < tls.crt && pulumi config set --secret ingressTlsKey < tls.key";

/**
 * Whether the ingress certificate and key are PEM, in the right keys, and belong together (Node's
 * X509Certificate.checkPrivateKey). Messages never quote the key or the certificate.
 */
function checkTls(p: Problems, cert: string, key: string): boolean {
    if (PEM_PRIVATE_KEY.test(cert) && PEM_CERTIFICATE.test(key)) {
        p.add(
            `ingressTlsCert and ingressTlsKey are swapped (got a private key as the certificate and a certificate as the key). ${TLS_FIX}`,
        );
        return false;
    }
    let ok = true;
    if (!PEM_CERTIFICATE.test(cert)) {
        p.add(`ingressTlsCert must be a PEM certificate (-----BEGIN CERTIFICATE-----) (got something else). ${TLS_FIX}`);
        ok = false;
    }
    if (!PEM_PRIVATE_KEY.test(key)) {
        p.add(`ingressTlsKey must be a PEM private key (-----BEGIN PRIVATE KEY-----) (got something else). ${TLS_FIX}`);
        ok = false;
    }
    if (!ok) return false;
    try {
        if (!new crypto.X509Certificate(cert).checkPrivateKey(crypto.createPrivateKey(key))) {
            p.add(`ingressTlsKey does not belong to ingressTlsCert (got a key of another certificate). ${TLS_FIX}`);
            return false;
        }
    } catch (e) {
        p.add(`ingressTlsCert and ingressTlsKey could not be read (got ${(e as Error).message}). ${TLS_FIX}`);
        return false;
    }
    return true;
}

/** The ingress certificate and key when `bookinfo.tls` asks for them; TLS material nothing would serve is a problem. */
export function ingressTls(
    p: Problems,
    wanted: boolean,
    cert: string | undefined,
    key: string | undefined,
    encrypted = false,
): BookinfoSettings["tls"] {
    if (!wanted) {
        if (cert !== undefined || key !== undefined) {
            const what = cert !== undefined ? "certificate" : "key";
            p.add(
                `${cert !== undefined ? "ingressTlsCert" : "ingressTlsKey"} is set but bookinfo.tls is false (got a ${what} nothing would serve). Fix: pulumi config set --path bookinfo.tls true, or pulumi config rm ingressTlsCert and ingressTlsKey`,
            );
        }
        return undefined;
    }
    if (cert === undefined || key === undefined) {
        p.add(
            `bookinfo.tls is true but ingressTlsCert and ingressTlsKey are not both set (got ${cert !== undefined ? "a certificate" : "no certificate"} and ${key !== undefined ? "a key" : "no key"}). ${TLS_FIX}`,
        );
        return undefined;
    }
    // Read offline (npm run check), encrypted values count as set: their content is unknown.
    return encrypted || checkTls(p, cert, key) ? { certificate: pulumi.secret(cert), privateKey: pulumi.secret(key) } : undefined;
}
