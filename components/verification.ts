/**
 * Post-deploy verification: what to check once everything is up, and how to judge each answer.
 * Pure logic over injectable HTTP and Kubernetes API clients, so every outcome is unit-tested;
 * scripts/verifyDeployment.ts runs it from the user's machine (no kubectl, no curl).
 */
import * as http from "http";
import * as https from "https";
import { MeshMode } from "./config";
import { KubeApi, Probe, RetryOptions, waitUntilReady } from "./meshReadiness";
import { joinUrl } from "./urls";

/** The title Bookinfo's product page carries when it renders. */
export const BOOKINFO_TITLE = "Simple Bookstore App";

/** Where an endpoint is reached from the user's machine. */
export type Target =
    /**
     * A URL this machine can open (kind port mappings, a load balancer). `skipTlsVerify` accepts
     * any certificate: for a UI that serves its own self-signed one, where only the answer counts.
     */
    | { readonly via: "url"; readonly url: string; readonly skipTlsVerify?: boolean }
    /** An in-cluster Service, reached through the Kubernetes API server's service proxy. */
    | {
          readonly via: "apiProxy";
          /** How the API server speaks to the Service. @default "http" */
          readonly scheme?: "http" | "https";
          readonly namespace: string;
          readonly service: string;
          readonly port: number;
          readonly path: string;
      };

/** One HTTP endpoint that must answer 200 (and, optionally, contain a text). */
export interface EndpointCheck {
    /** What is checked, for messages: "Bookinfo product page". */
    readonly name: string;
    readonly target: Target;
    /** Text the body must contain. */
    readonly expectText?: string;
}

/** The Bookinfo pods that must run, each checked for its data plane. */
export interface PodsCheck {
    readonly namespace: string;
    readonly mode: MeshMode;
    /** app/version pairs, one Deployment each. */
    readonly workloads: readonly { readonly app: string; readonly version: string }[];
}

/** Everything the verification checks; plain JSON, so it travels in an environment variable. */
export interface VerificationPlan {
    readonly endpoints: readonly EndpointCheck[];
    readonly pods?: PodsCheck;
}

/** An addon's in-cluster Service and the path that answers 200 when it is healthy. */
export interface AddonEndpoint {
    readonly name: string;
    /** Root URL of the Service from this machine, when it is exposed to it (kind). */
    readonly baseUrl?: string;
    readonly namespace: string;
    readonly service: string;
    readonly port: number;
    /** Whether the Service speaks TLS; its certificate is self-signed, so it is not verified. */
    readonly scheme: "http" | "https";
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
    return `/api/v1/namespaces/${t.namespace}/services/${t.scheme ?? "http"}:${t.service}:${t.port}/proxy${t.path.startsWith("/") ? "" : "/"}${t.path}`;
}

/**
 * The checks for a deployment: Bookinfo's product page through the ingress gateway, its pods'
 * data plane, and each enabled addon, opened at its URL when this machine can reach it and
 * through the API server's service proxy otherwise.
 */
export function verificationPlan(input: {
    readonly mode: MeshMode;
    readonly bookinfo?: { readonly url: string; readonly namespace: string; readonly workloads: PodsCheck["workloads"] };
    readonly addons: readonly AddonEndpoint[];
}): VerificationPlan {
    const endpoints: EndpointCheck[] = [];
    if (input.bookinfo) {
        endpoints.push({ name: "Bookinfo product page", target: { via: "url", url: input.bookinfo.url }, expectText: BOOKINFO_TITLE });
    }
    for (const a of input.addons) {
        endpoints.push({
            name: a.name,
            target: a.baseUrl
                ? { via: "url", url: joinUrl(a.baseUrl, a.healthPath), ...(a.scheme === "https" ? { skipTlsVerify: true } : {}) }
                : {
                      via: "apiProxy",
                      scheme: a.scheme,
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
    };
}

/** An HTTP answer. */
export interface HttpAnswer {
    readonly status: number;
    readonly body: string;
}

/** The last thing an endpoint did: answer, or fail to connect. */
export type Outcome =
    | { readonly kind: "answer"; readonly status: number; readonly hasText: boolean }
    | { readonly kind: "error"; readonly error: string };

/** Opens a URL from this machine; `skipTlsVerify` accepts any certificate. */
export type HttpGet = (url: string, options?: { readonly skipTlsVerify?: boolean }) => Promise<HttpAnswer>;

/** Longest body kept from an answer; Bookinfo's page is about 5 KB. */
const MAX_BODY = 1024 * 1024;

/**
 * Opens a URL with Node's own HTTP client: a GET with a per-request timeout, following no
 * redirects (a redirect is an answer to report, not to chase).
 */
export function nodeHttpGet(timeoutMs = 10000): HttpGet {
    return (url, options) =>
        new Promise((resolve, reject) => {
            const u = new URL(url);
            const lib = u.protocol === "https:" ? https : http;
            const tls = u.protocol === "https:" && options?.skipTlsVerify ? { rejectUnauthorized: false } : {};
            const req = lib.get(u, { timeout: timeoutMs, headers: { accept: "text/html,application/json" }, ...tls }, (res) => {
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

function judge(check: EndpointCheck, outcome: Outcome): Probe {
    if (outcome.kind === "error") return { ready: false, reason: `no answer (${outcome.error})` };
    if (outcome.status !== 200) return { ready: false, reason: `HTTP ${outcome.status}` };
    if (check.expectText && !outcome.hasText) {
        return { ready: false, reason: `HTTP 200 but the page does not contain "${check.expectText}"` };
    }
    return { ready: true };
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
    if (outcome.status === 200) {
        return `something else answers at ${where}: another program may hold the port, or the route sends this path elsewhere.`;
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
            last = { kind: "answer", status: answer.status, hasText: check.expectText ? answer.body.includes(check.expectText) : true };
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
            return clients.get(t.url, t.skipTlsVerify ? { skipTlsVerify: true } : undefined);
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
    const runs: Promise<void>[] = plan.endpoints.map((c) =>
        verifyEndpoint(c, clients, options).then(
            () => void passed.push(`${c.name}: ${describeTarget(c.target)} answers 200${c.expectText ? ` with "${c.expectText}"` : ""}`),
            (e: Error) => void failed.push(e.message),
        ),
    );
    const pods = plan.pods;
    if (pods) {
        runs.push(
            (clients.api
                ? verifyPods(clients.api, pods, options)
                : Promise.reject(new Error("no Kubernetes API client to list the Bookinfo pods"))
            ).then(
                () =>
                    void passed.push(
                        `Bookinfo: ${pods.workloads.length} workloads run ${pods.mode === "sidecar" ? "with istio-proxy" : "in the ambient data plane"}`,
                    ),
                (e: Error) => void failed.push(e.message),
            ),
        );
    }
    await Promise.all(runs);
    return { passed: passed.sort(), failed: failed.sort() };
}
