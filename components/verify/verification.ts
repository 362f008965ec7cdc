/**
 * Post-deploy verification: what to check once everything is up, and how to judge each answer.
 * Pure logic over injectable HTTP and Kubernetes API clients, so every outcome is unit-tested;
 * scripts/verifyDeployment.ts runs it from the user's machine (no kubectl, no curl).
 */
import * as http from "http";
import * as https from "https";
import { MeshMode } from "../mesh/config";
import { KubeApi, Probe, RetryOptions, waitUntilReady } from "../probe";
import { proxyRevision } from "../mesh/retirement";
import { joinUrl } from "../urls";

/** The title Bookinfo's product page carries when it renders. */
export const BOOKINFO_TITLE = "Simple Bookstore App";

/** Where an endpoint is reached from the user's machine. */
export type Target =
    /** A URL this machine can open (kind port mappings, a load balancer). */
    | { readonly via: "url"; readonly url: string }
    /** An in-cluster Service, reached through the Kubernetes API server's service proxy. */
    | {
          readonly via: "apiProxy";
          readonly namespace: string;
          readonly service: string;
          readonly port: number;
          readonly path: string;
      };

/**
 * Texts Bookinfo's product page renders, inside a 200 page, when a service behind it fails
 * (istio samples/bookinfo/src/productpage/templates/productpage.html for details and reviews;
 * reviews' LibertyRestEndpoint.java puts the ratings text in its answer when ratings fails).
 */
export const BOOKINFO_FAILURE_MARKERS = {
    details: "Error fetching product details",
    reviews: "Error fetching product reviews",
    ratings: "Ratings service is currently unavailable",
} as const;

/** A Bookinfo service behind productpage. */
export type BookinfoBackend = keyof typeof BOOKINFO_FAILURE_MARKERS;

/** How a JSON answer of productpage's own API (samples/bookinfo/src/productpage/productpage.py) is judged. */
export type JsonExpectation =
    /** `/api/v1/products/<id>`: the details productpage got from details. */
    | { readonly kind: "bookinfoDetails" }
    /** `/api/v1/products/<id>/reviews`: the reviews it got from reviews, each with the ratings reviews got from ratings. */
    | { readonly kind: "bookinfoReviews"; readonly requireRatings: boolean };

/** One HTTP endpoint that must answer 200 (and, optionally, contain a text). */
export interface EndpointCheck {
    /** What is checked, for messages: "Bookinfo product page". */
    readonly name: string;
    readonly target: Target;
    /** Text the body must contain. */
    readonly expectText?: string;
    /** Texts the body must not contain, each naming the service whose failure it shows. @default [] */
    readonly failureMarkers?: readonly { readonly text: string; readonly backend: BookinfoBackend }[];
    /** The body is JSON, judged this way. @default not JSON */
    readonly json?: JsonExpectation;
}

/** The Bookinfo pods that must run, each checked for its data plane. */
export interface PodsCheck {
    readonly namespace: string;
    readonly mode: MeshMode;
    /** app/version pairs, one Deployment each. */
    readonly workloads: readonly { readonly app: string; readonly version: string }[];
}

/** With revisions: every proxy in these namespaces must run the revision the default tag points at. */
export interface ProxiesCheck {
    readonly namespaces: readonly string[];
    readonly revision: string;
}

/** Everything the verification checks; plain JSON, so it travels in an environment variable. */
export interface VerificationPlan {
    readonly endpoints: readonly EndpointCheck[];
    readonly pods?: PodsCheck;
    readonly proxies?: ProxiesCheck;
}

/** An addon's in-cluster Service and the path that answers 200 when it is healthy. */
export interface AddonEndpoint {
    readonly name: string;
    /** Root URL of the Service from this machine, when it is exposed to it (kind). */
    readonly baseUrl?: string;
    readonly namespace: string;
    readonly service: string;
    readonly port: number;
    /** Path that answers 200 when the addon is healthy, from the Service's root. */
    readonly healthPath: string;
}

/** Where a target is, in words, for messages. */
export function describeTarget(t: Target): string {
    switch (t.via) {
        case "url":
            return t.url;
        case "apiProxy":
            return `service ${t.namespace}/${t.service}:${t.port}${t.path} (through the Kubernetes API server)`;
        default: {
            const unreachable: never = t;
            throw new Error(`unknown target ${JSON.stringify(unreachable)}`);
        }
    }
}

/** The API server path that proxies to an in-cluster Service. */
export function apiProxyPath(t: Extract<Target, { via: "apiProxy" }>): string {
    return `/api/v1/namespaces/${t.namespace}/services/http:${t.service}:${t.port}/proxy${t.path.startsWith("/") ? "" : "/"}${t.path}`;
}

/** Which of Bookinfo's services behind productpage the verification can expect to answer. */
export interface BookinfoBackends {
    /** reviews (and with it the page's reviews section); false when a configured fault for everyone breaks it. */
    readonly reviews: boolean;
    /** ratings, through a reviews version that calls it; false when no such version gets anonymous traffic. */
    readonly ratings: boolean;
}

/** What the verification checks of Bookinfo. */
export interface BookinfoTarget {
    /** The /productpage URL from this machine. */
    readonly url: string;
    readonly namespace: string;
    readonly workloads: PodsCheck["workloads"];
    /** @default every backend expected */
    readonly backends?: BookinfoBackends;
}

/** The id of the product Bookinfo's page shows. */
const PRODUCT_ID = 0;

/**
 * Bookinfo's checks: the page through the ingress gateway with its title and without a failure
 * text, and productpage's own API, which answers with what details and reviews (and through
 * reviews, ratings) answered, so that each service behind productpage is seen to answer it.
 */
export function bookinfoChecks(b: BookinfoTarget): EndpointCheck[] {
    const backends = b.backends ?? { reviews: true, ratings: true };
    const api = (path: string): string => new URL(path, b.url).href;
    const markers = (Object.keys(BOOKINFO_FAILURE_MARKERS) as BookinfoBackend[])
        .filter((backend) => backend === "details" || backends[backend])
        .map((backend) => ({ text: BOOKINFO_FAILURE_MARKERS[backend], backend }));
    return [
        {
            name: "Bookinfo product page",
            target: { via: "url", url: b.url },
            expectText: BOOKINFO_TITLE,
            failureMarkers: markers,
        },
        {
            name: "Bookinfo details, through productpage",
            target: { via: "url", url: api(`/api/v1/products/${PRODUCT_ID}`) },
            json: { kind: "bookinfoDetails" },
        },
        ...(backends.reviews
            ? [
                  {
                      name: backends.ratings
                          ? "Bookinfo reviews and ratings, through productpage"
                          : "Bookinfo reviews, through productpage",
                      target: { via: "url", url: api(`/api/v1/products/${PRODUCT_ID}/reviews`) },
                      json: { kind: "bookinfoReviews", requireRatings: backends.ratings },
                  } as const,
              ]
            : []),
    ];
}

/**
 * The checks for a deployment: Bookinfo's product page and the services behind it through the
 * ingress gateway, its pods' data plane, and each enabled addon, opened at its URL when this
 * machine can reach it and through the API server's service proxy otherwise.
 */
export function verificationPlan(input: {
    readonly mode: MeshMode;
    readonly bookinfo?: BookinfoTarget;
    readonly addons: readonly AddonEndpoint[];
    /** With revisions, the namespaces whose proxies must all run the default tag's revision. @default not checked */
    readonly proxies?: ProxiesCheck;
}): VerificationPlan {
    const endpoints: EndpointCheck[] = [];
    if (input.bookinfo) {
        endpoints.push(...bookinfoChecks(input.bookinfo));
    }
    for (const a of input.addons) {
        endpoints.push({
            name: a.name,
            target: a.baseUrl
                ? { via: "url", url: joinUrl(a.baseUrl, a.healthPath) }
                : {
                      via: "apiProxy",
                      namespace: a.namespace,
                      service: a.service,
                      port: a.port,
                      path: `/${a.healthPath.replace(/^\/+/, "")}`,
                  },
        });
    }
    return {
        endpoints,
        pods: input.bookinfo ? { namespace: input.bookinfo.namespace, mode: input.mode, workloads: input.bookinfo.workloads } : undefined,
        ...(input.proxies ? { proxies: input.proxies } : {}),
    };
}

/** An HTTP answer. */
export interface HttpAnswer {
    readonly status: number;
    readonly body: string;
}

/** The last thing an endpoint did: answer, or fail to connect. */
export type Outcome =
    | { readonly kind: "answer"; readonly status: number; readonly body: string }
    | { readonly kind: "error"; readonly error: string };

/** Opens a URL from this machine. */
export type HttpGet = (url: string) => Promise<HttpAnswer>;

/** Longest body kept from an answer; Bookinfo's page is about 5 KB. */
const MAX_BODY = 1024 * 1024;

/**
 * Opens a URL with Node's own HTTP client: a GET with a per-request timeout, following no
 * redirects (a redirect is an answer to report, not to chase).
 */
export function nodeHttpGet(timeoutMs = 10000): HttpGet {
    return (url) =>
        new Promise((resolve, reject) => {
            const u = new URL(url);
            const lib = u.protocol === "https:" ? https : http;
            const req = lib.get(u, { timeout: timeoutMs, headers: { accept: "text/html,application/json" } }, (res) => {
                let body = "";
                res.setEncoding("utf8");
                res.on("data", (c: string) => {
                    if (body.length < MAX_BODY) body += c;
                });
                res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
                res.on("error", reject);
            });
            req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`)));
            req.on("error", (e: NodeJS.ErrnoException) => reject(new Error(e.code ? `${e.code} connecting to ${u.host}` : e.message)));
        });
}

/** Shortens a body for a message. */
function excerpt(body: string): string {
    const flat = body.replace(/\s+/g, " ").trim();
    return flat.length > 200 ? `${flat.slice(0, 200)}...` : flat;
}

interface ReviewsJson {
    readonly reviews?: readonly { readonly rating?: { readonly stars?: unknown; readonly error?: unknown } }[];
    readonly error?: unknown;
}

function judgeJson(expect: JsonExpectation, body: string): Probe {
    let parsed: unknown;
    try {
        parsed = JSON.parse(body);
    } catch {
        return { ready: false, reason: `HTTP 200 but the answer is not JSON: ${excerpt(body)}` };
    }
    const obj = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown> & ReviewsJson;
    switch (expect.kind) {
        case "bookinfoDetails":
            if (obj.error !== undefined || obj.id === undefined)
                return { ready: false, reason: `details did not answer: ${excerpt(body)}` };
            return { ready: true };
        case "bookinfoReviews": {
            if (obj.error !== undefined || !Array.isArray(obj.reviews) || obj.reviews.length === 0) {
                return { ready: false, reason: `reviews did not answer: ${excerpt(body)}` };
            }
            const failed = obj.reviews.find((r) => r.rating?.error !== undefined);
            if (failed) return { ready: false, reason: `reviews answered, but ratings did not: ${JSON.stringify(failed.rating?.error)}` };
            if (expect.requireRatings && !obj.reviews.some((r) => typeof r.rating?.stars === "number")) {
                return {
                    ready: false,
                    reason: "reviews answered without ratings (a version that does not call ratings served it); ratings not seen yet",
                };
            }
            return { ready: true };
        }
        default: {
            const unreachable: never = expect;
            throw new Error(`unknown JSON expectation ${JSON.stringify(unreachable)}`);
        }
    }
}

/** Whether an answer is what the check expects, and if not, why. */
export function judge(check: EndpointCheck, outcome: Outcome): Probe {
    if (outcome.kind === "error") return { ready: false, reason: `no answer (${outcome.error})` };
    if (outcome.status !== 200) {
        return { ready: false, reason: `HTTP ${outcome.status}${check.json && outcome.body ? `: ${excerpt(outcome.body)}` : ""}` };
    }
    if (check.expectText && !outcome.body.includes(check.expectText)) {
        return { ready: false, reason: `HTTP 200 but the page does not contain "${check.expectText}"` };
    }
    const marker = (check.failureMarkers ?? []).find((m) => outcome.body.includes(m.text));
    if (marker) return { ready: false, reason: `HTTP 200 but the page says "${marker.text}": ${marker.backend} did not answer` };
    return check.json ? judgeJson(check.json, outcome.body) : { ready: true };
}

function hostOf(url: string): string {
    try {
        return new URL(url).host;
    } catch {
        return url;
    }
}

/** What to look at when an endpoint keeps failing, from its last outcome. */
export function hintFor(check: EndpointCheck, outcome: Outcome): string {
    const where = check.target.via === "url" ? hostOf(check.target.url) : `${check.target.namespace}/${check.target.service}`;
    if (outcome.kind === "error") {
        return check.target.via === "url"
            ? `nothing answered at ${where}. On kind, check that the cluster's containers run (docker ps --filter name=<clusterName>) and that no other program holds the host port; on an existing cluster, that this machine can reach the load balancer address.`
            : `the Kubernetes API server could not be reached or refused the proxy request. Check that the kubeconfig still works and allows services/proxy in namespace ${check.target.namespace}.`;
    }
    if (outcome.status === 200 && check.expectText && !outcome.body.includes(check.expectText)) {
        return `something else answers at ${where}: another program may hold the port, or the route sends this path elsewhere.`;
    }
    if (outcome.status === 200 || (check.json && outcome.status >= 400 && outcome.status < 600 && outcome.body.includes('"error"'))) {
        return `productpage answers, but a service behind it does not answer productpage. Check that the details, reviews and ratings pods run, and the AuthorizationPolicies in namespace bookinfo (allow-<service>, and allow-<service>-at-waypoint in ambient mode with a waypoint): Kiali's graph shows which call fails.`;
    }
    if (outcome.status === 404) {
        return check.target.via === "url"
            ? `the gateway has no route for this host and path. The host in the URL must be one of bookinfo.hostnames.`
            : `the Service ${where} or its path does not exist; the addon's release may have failed.`;
    }
    if (outcome.status === 401 || outcome.status === 403) {
        return check.target.via === "url"
            ? `the request was refused. If bookinfo.extAuthz is set, your authorizer must allow it; otherwise check the AuthorizationPolicies in namespace bookinfo.`
            : `your kubeconfig's user may not proxy to services in namespace ${check.target.namespace} (RBAC verb get on services/proxy).`;
    }
    if (outcome.status === 502 || outcome.status === 503 || outcome.status === 504) {
        return `the request got through but nothing healthy served it: the pods behind ${check.name} may still be starting or crash-looping. Kiali's workload view shows why.`;
    }
    return `unexpected answer; open the URL in a browser to see the page.`;
}

/**
 * Retries one endpoint until it answers as expected or the time is up. Throws a message that
 * names the endpoint, its last status and a hint.
 */
export async function verifyEndpoint(
    check: EndpointCheck,
    clients: { readonly get: HttpGet; readonly api?: KubeApi },
    options: RetryOptions,
): Promise<number> {
    let last: Outcome = { kind: "error", error: "not tried" };
    const probe = async (): Promise<Probe> => {
        try {
            const answer = await fetchTarget(check.target, clients);
            last = { kind: "answer", status: answer.status, body: answer.body };
        } catch (e) {
            last = { kind: "error", error: (e as Error).message };
        }
        return judge(check, last);
    };
    try {
        return await waitUntilReady(probe, `${check.name} at ${describeTarget(check.target)}`, options);
    } catch (e) {
        throw new Error(`${(e as Error).message}. Hint: ${hintFor(check, last)}`);
    }
}

async function fetchTarget(t: Target, clients: { readonly get: HttpGet; readonly api?: KubeApi }): Promise<HttpAnswer> {
    switch (t.via) {
        case "url":
            return clients.get(t.url);
        case "apiProxy": {
            if (!clients.api) throw new Error("no Kubernetes API client to reach the service proxy");
            const res = await clients.api.request("GET", apiProxyPath(t));
            return { status: res.status, body: typeof res.body === "string" ? res.body : JSON.stringify(res.body) };
        }
        default: {
            const unreachable: never = t;
            throw new Error(`unknown target ${JSON.stringify(unreachable)}`);
        }
    }
}

interface PodJson {
    metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string };
    spec?: { containers?: { name: string }[]; initContainers?: { name: string }[] };
    status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

/**
 * Whether every Bookinfo workload has a running, ready pod on the mesh's data plane: an
 * istio-proxy container (or native sidecar) in sidecar mode, ztunnel redirection in ambient mode.
 */
export async function probePods(api: KubeApi, check: PodsCheck): Promise<Probe> {
    const res = await api.request("GET", `/api/v1/namespaces/${check.namespace}/pods`);
    if (res.status !== 200) return { ready: false, reason: `listing pods in ${check.namespace}: HTTP ${res.status}` };
    const pods = ((res.body as { items?: PodJson[] }).items ?? []).filter((p) => !p.metadata?.deletionTimestamp);
    const problems: string[] = [];
    for (const w of check.workloads) {
        const mine = pods.filter((p) => p.metadata?.labels?.app === w.app && p.metadata?.labels?.version === w.version);
        const running = mine.filter(
            (p) => p.status?.phase === "Running" && (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
        );
        if (running.length === 0) {
            problems.push(`${w.app}-${w.version} has no running, ready pod (${mine.length} pod${mine.length === 1 ? "" : "s"} found)`);
            continue;
        }
        for (const p of running) {
            const name = p.metadata?.name ?? `${w.app}-${w.version}`;
            if (check.mode === "sidecar") {
                const containers = [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])].map((c) => c.name);
                if (!containers.includes("istio-proxy")) problems.push(`pod ${name} runs without an istio-proxy sidecar`);
            } else if (p.metadata?.annotations?.["ambient.istio.io/redirection"] !== "enabled") {
                problems.push(`pod ${name} is not captured by ztunnel (annotation ambient.istio.io/redirection is not "enabled")`);
            }
        }
    }
    return problems.length === 0 ? { ready: true } : { ready: false, reason: problems.join("; ") };
}

/**
 * Whether every running pod with a proxy in the namespaces runs the expected revision's: a pod keeps
 * the proxy it was injected with, so one that did not restart when the tag moved still runs the old one.
 */
export async function probeProxies(api: KubeApi, check: ProxiesCheck): Promise<Probe> {
    const problems: string[] = [];
    for (const namespace of check.namespaces) {
        const res = await api.request("GET", `/api/v1/namespaces/${namespace}/pods`);
        if (res.status !== 200) return { ready: false, reason: `listing pods in ${namespace}: HTTP ${res.status}` };
        for (const p of ((res.body as { items?: PodJson[] }).items ?? []).filter((x) => !x.metadata?.deletionTimestamp)) {
            if (p.status?.phase !== "Running") continue;
            const meta = p.metadata ?? {};
            if (meta.annotations?.["sidecar.istio.io/status"] === undefined && meta.labels?.["istio.io/rev"] === undefined) continue;
            const revision = proxyRevision(meta);
            if (revision !== check.revision) {
                problems.push(
                    `pod ${namespace}/${meta.name ?? "?"} runs a proxy of revision ${revision ?? "(none)"}, not ${check.revision}`,
                );
            }
        }
    }
    return problems.length === 0 ? { ready: true } : { ready: false, reason: problems.join("; ") };
}

/** Checks the proxies until they pass or the time is up; the message says what to do. */
export async function verifyProxies(api: KubeApi, check: ProxiesCheck, options: RetryOptions): Promise<number> {
    try {
        return await waitUntilReady(() => probeProxies(api, check), `proxies on revision ${check.revision}`, options);
    } catch (e) {
        throw new Error(
            `${(e as Error).message}. Hint: a pod keeps the proxy it was injected with; restart it (its namespace must carry istio.io/rev=<tag>, not istio-injection or a revision), or point the tag back: docs/operations.md, Upgrading Istio.`,
        );
    }
}

/** Checks the pods until they pass or the time is up; the message says what to do. */
export async function verifyPods(api: KubeApi, check: PodsCheck, options: RetryOptions): Promise<number> {
    const what = check.mode === "sidecar" ? "Bookinfo pods with their sidecars" : "Bookinfo pods in the ambient data plane";
    try {
        return await waitUntilReady(() => probePods(api, check), `${what} in namespace ${check.namespace}`, options);
    } catch (e) {
        const hint =
            check.mode === "sidecar"
                ? `a pod started before istiod served its injector runs without a proxy; recreate it with pulumi up --replace on its Deployment's URN (pulumi stack --show-urns lists them).`
                : `the namespace must carry istio.io/dataplane-mode=ambient and istio-cni must run on the pod's node.`;
        throw new Error(`${(e as Error).message}. Hint: ${hint}`);
    }
}

/** Result of a whole verification: one line per passed check, one message per failure. */
export interface VerificationReport {
    readonly passed: readonly string[];
    readonly failed: readonly string[];
}

/** Runs every check side by side, each within the same time budget, and collects the results. */
export async function verifyDeployment(
    plan: VerificationPlan,
    clients: { readonly get: HttpGet; readonly api?: KubeApi },
    options: RetryOptions,
): Promise<VerificationReport> {
    const passed: string[] = [];
    const failed: string[] = [];
    /** One check: its line on success, its message on failure. */
    const record = (check: Promise<unknown>, passLine: string): Promise<void> =>
        check.then(
            () => void passed.push(passLine),
            (e: Error) => void failed.push(e.message),
        );
    /** A check that reads the cluster, which fails without an API client. */
    const throughApi = (needs: string, check: (api: KubeApi) => Promise<unknown>): Promise<unknown> =>
        clients.api ? check(clients.api) : Promise.reject(new Error(`no Kubernetes API client to ${needs}`));
    const runs: Promise<void>[] = plan.endpoints.map((c) =>
        record(
            verifyEndpoint(c, clients, options),
            `${c.name}: ${describeTarget(c.target)} answers 200${c.expectText ? ` with "${c.expectText}"` : ""}`,
        ),
    );
    const pods = plan.pods;
    if (pods) {
        runs.push(
            record(
                throughApi("list the Bookinfo pods", (api) => verifyPods(api, pods, options)),
                `Bookinfo: ${pods.workloads.length} workloads run ${pods.mode === "sidecar" ? "with istio-proxy" : "in the ambient data plane"}`,
            ),
        );
    }
    const proxies = plan.proxies;
    if (proxies) {
        runs.push(
            record(
                throughApi("list the pods' proxies", (api) => verifyProxies(api, proxies, options)),
                `every proxy in ${proxies.namespaces.join(", ")} runs revision ${proxies.revision}`,
            ),
        );
    }
    await Promise.all(runs);
    return { passed: passed.sort(), failed: failed.sort() };
}
