import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as path from "path";
import { AddressInfo } from "net";
import { KubeApi } from "../../components/probe";
import {
    apiProxyPath,
    EndpointCheck,
    nodeHttpGet,
    PodsCheck,
    probePods,
    VerificationPlan,
    verificationPlan,
    verifyDeployment,
    verifyEndpoint,
} from "../../components/verify/verification";
import { VERIFY_COMMAND } from "../../components/verify/deploymentCheck";
import { PROJECT_ROOT } from "../../components/localScripts";
import { bookinfoWorkloads } from "../../components/bookinfo/bookinfoManifests";
import { EXISTING_KUBECONFIG, FAKE_KUBECONFIG, inputValue, kubeconfigFor, resolve, Run, runStack } from "../harness";

const PAGE = "<html><head><title>Simple Bookstore App</title></head><body>The Comedy of Errors</body></html>";

/** How a fake Bookinfo fails: which service behind productpage does not answer it. */
type Broken = "none" | "details" | "reviews" | "ratings";

/** The answers of productpage, from its source (productpage.py, productpage.html) and reviews' (LibertyRestEndpoint.java). */
function bookinfoAnswer(path: string, broken: Broken, reviewsVersion: "v1" | "v2" = "v2"): { status: number; body: string } {
    const rating = broken === "ratings" ? { error: "Ratings service is currently unavailable" } : { stars: 5, color: "black" };
    const reviews = [
        { reviewer: "Reviewer1", text: "An extremely entertaining play by Shakespeare.", ...(reviewsVersion === "v1" ? {} : { rating }) },
    ];
    switch (path) {
        case "/productpage": {
            const parts = [
                broken === "details" ? "<p>Error fetching product details</p>" : "<h4>Book Details</h4>",
                broken === "reviews" ? "<p>Error fetching product reviews</p>" : "<h4>Book Reviews</h4>",
                broken === "ratings" ? "<p>Ratings service is currently unavailable</p>" : "",
            ];
            return { status: 200, body: PAGE.replace("</body>", `${parts.join("")}</body>`) };
        }
        case "/api/v1/products/0":
            return broken === "details"
                ? { status: 403, body: JSON.stringify({ error: "Sorry, product details are currently unavailable for this book." }) }
                : { status: 200, body: JSON.stringify({ id: 0, author: "William Shakespeare", year: 1595 }) };
        case "/api/v1/products/0/reviews":
            return broken === "reviews"
                ? { status: 503, body: JSON.stringify({ error: "Sorry, product reviews are currently unavailable for this book." }) }
                : { status: 200, body: JSON.stringify({ id: "0", podname: `reviews-${reviewsVersion}`, reviews }) };
        default:
            return { status: 404, body: "" };
    }
}

/** A local HTTP server answering every request with `answer(n)` for the n-th request. */
async function serve(
    answer: (n: number, req: http.IncomingMessage) => { status: number; body: string },
): Promise<{ url: string; close: () => void; hits: string[] }> {
    const hits: string[] = [];
    const server = http.createServer((req, res) => {
        hits.push(`${req.method} ${req.url}`);
        const a = answer(hits.length, req);
        res.statusCode = a.status;
        res.end(a.body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as AddressInfo).port;
    return { url: `http://127.0.0.1:${port}`, close: () => server.close(), hits };
}

/** A port nothing listens on: bound once, then released. */
async function deadPort(): Promise<number> {
    const s = http.createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
}

const FAST = { timeoutMs: 1000, intervalMs: 200 };
const productpage = (url: string): EndpointCheck => ({
    name: "Bookinfo product page",
    target: { via: "url", url: `${url}/productpage` },
    expectText: "Simple Bookstore App",
});

describe("verification against local servers", function () {
    this.timeout(10000);

    it("passes when the product page answers 200 with Bookinfo's title", async () => {
        const s = await serve(() => ({ status: 200, body: PAGE }));
        try {
            assert.equal(await verifyEndpoint(productpage(s.url), { get: nodeHttpGet() }, FAST), 1);
            assert.deepEqual(s.hits, ["GET /productpage"]);
        } finally {
            s.close();
        }
    });

    it("fails a 200 without the title, naming the URL, the last status and a hint", async () => {
        const s = await serve(() => ({ status: 200, body: "<html><title>Welcome to nginx!</title></html>" }));
        const host = new URL(s.url).host;
        try {
            await assert.rejects(verifyEndpoint(productpage(s.url), { get: nodeHttpGet() }, FAST), {
                message: `Bookinfo product page at ${s.url}/productpage was not ready after 1s (5 attempts). Last reason: HTTP 200 but the page does not contain "Simple Bookstore App". Hint: something else answers at ${host}: another program may hold the port, or the route sends this path elsewhere.`,
            });
            assert.equal(s.hits.length, 5, "retries are bounded by the timeout");
        } finally {
            s.close();
        }
    });

    it("fails a 503 with the status and a hint about the pods behind it", async () => {
        const s = await serve(() => ({ status: 503, body: "no healthy upstream" }));
        try {
            await assert.rejects(verifyEndpoint(productpage(s.url), { get: nodeHttpGet() }, FAST), {
                message: `Bookinfo product page at ${s.url}/productpage was not ready after 1s (5 attempts). Last reason: HTTP 503. Hint: the request got through but nothing healthy served it: the pods behind Bookinfo product page may still be starting or crash-looping. Kiali's workload view shows why.`,
            });
        } finally {
            s.close();
        }
    });

    it("fails when nothing listens, saying the connection was refused and where", async () => {
        const port = await deadPort();
        const url = `http://127.0.0.1:${port}`;
        await assert.rejects(verifyEndpoint(productpage(url), { get: nodeHttpGet() }, FAST), {
            message: `Bookinfo product page at ${url}/productpage was not ready after 1s (5 attempts). Last reason: no answer (ECONNREFUSED connecting to 127.0.0.1:${port}). Hint: nothing answered at 127.0.0.1:${port}. On kind, check that the cluster's containers run (docker ps --filter name=<clusterName>) and that no other program holds the host port; on an existing cluster, that this machine can reach the load balancer address.`,
        });
    });

    it("passes once a 503 turns into the page, within the retry budget", async () => {
        const s = await serve((n) => (n < 3 ? { status: 503, body: "" } : { status: 200, body: PAGE }));
        try {
            assert.equal(await verifyEndpoint(productpage(s.url), { get: nodeHttpGet() }, FAST), 3);
        } finally {
            s.close();
        }
    });

    /** Runs Bookinfo's checks against a fake Bookinfo; resolves to the failures. */
    async function checkBookinfo(
        answer: (n: number, path: string) => { status: number; body: string },
        backends = { reviews: true, ratings: true },
    ): Promise<{ failed: string[]; passed: string[]; url: string }> {
        const s = await serve((n, req) => answer(n, req.url ?? ""));
        try {
            const plan = verificationPlan({
                mode: "sidecar",
                bookinfo: { url: `${s.url}/productpage`, namespace: "bookinfo", workloads: [], backends },
                addons: [],
            });
            const report = await verifyDeployment(
                plan,
                { get: nodeHttpGet(), api: fakeApi({ [PODS]: () => ({ status: 200, body: { items: [] } }) }) },
                FAST,
            );
            return { failed: [...report.failed], passed: [...report.passed], url: s.url };
        } finally {
            s.close();
        }
    }

    const BACKEND_HINT =
        "Hint: productpage answers, but a service behind it does not answer productpage. Check that the details, reviews and ratings pods run, and the AuthorizationPolicies in namespace bookinfo (allow-<service>, and allow-<service>-at-waypoint in ambient mode with a waypoint): Kiali's graph shows which call fails.";

    it("passes a healthy Bookinfo: the page, details, and reviews with ratings, all through productpage", async () => {
        const r = await checkBookinfo((_n, path) => bookinfoAnswer(path, "none"));
        assert.deepEqual(r.failed, []);
        assert.deepEqual(r.passed, [
            `Bookinfo details, through productpage: ${r.url}/api/v1/products/0 answers 200`,
            `Bookinfo product page: ${r.url}/productpage answers 200 with "Simple Bookstore App"`,
            `Bookinfo reviews and ratings, through productpage: ${r.url}/api/v1/products/0/reviews answers 200`,
            "Bookinfo: 0 workloads run with istio-proxy",
        ]);
    });

    it("fails when details does not answer productpage, though the page answers 200", async () => {
        const r = await checkBookinfo((_n, path) => bookinfoAnswer(path, "details"));
        assert.deepEqual(r.failed, [
            `Bookinfo details, through productpage at ${r.url}/api/v1/products/0 was not ready after 1s (5 attempts). Last reason: HTTP 403: {"error":"Sorry, product details are currently unavailable for this book."}. ${BACKEND_HINT}`,
            `Bookinfo product page at ${r.url}/productpage was not ready after 1s (5 attempts). Last reason: HTTP 200 but the page says "Error fetching product details": details did not answer. ${BACKEND_HINT}`,
        ]);
    });

    it("fails when reviews does not answer productpage", async () => {
        const r = await checkBookinfo((_n, path) => bookinfoAnswer(path, "reviews"));
        assert.deepEqual(r.failed, [
            `Bookinfo product page at ${r.url}/productpage was not ready after 1s (5 attempts). Last reason: HTTP 200 but the page says "Error fetching product reviews": reviews did not answer. ${BACKEND_HINT}`,
            `Bookinfo reviews and ratings, through productpage at ${r.url}/api/v1/products/0/reviews was not ready after 1s (5 attempts). Last reason: HTTP 503: {"error":"Sorry, product reviews are currently unavailable for this book."}. ${BACKEND_HINT}`,
        ]);
    });

    it("fails when ratings does not answer reviews", async () => {
        const r = await checkBookinfo((_n, path) => bookinfoAnswer(path, "ratings"));
        assert.deepEqual(r.failed, [
            `Bookinfo product page at ${r.url}/productpage was not ready after 1s (5 attempts). Last reason: HTTP 200 but the page says "Ratings service is currently unavailable": ratings did not answer. ${BACKEND_HINT}`,
            `Bookinfo reviews and ratings, through productpage at ${r.url}/api/v1/products/0/reviews was not ready after 1s (5 attempts). Last reason: reviews answered, but ratings did not: "Ratings service is currently unavailable". ${BACKEND_HINT}`,
        ]);
    });

    it("keeps asking until a reviews version that calls ratings answers, and fails if none ever does", async () => {
        // round robin: v1 (no ratings) first, then v2
        const ok = await checkBookinfo((n, path) => bookinfoAnswer(path, "none", n < 4 ? "v1" : "v2"));
        assert.deepEqual(ok.failed, []);
        const never = await checkBookinfo((_n, path) => bookinfoAnswer(path, "none", "v1"));
        assert.deepEqual(never.failed, [
            `Bookinfo reviews and ratings, through productpage at ${never.url}/api/v1/products/0/reviews was not ready after 1s (5 attempts). Last reason: reviews answered without ratings (a version that does not call ratings served it); ratings not seen yet. ${BACKEND_HINT}`,
        ]);
    });

    it("leaves ratings (and reviews) alone when the routing or a fault for everyone keeps them from answering", async () => {
        const pinnedV1 = await checkBookinfo((_n, path) => bookinfoAnswer(path, "none", "v1"), { reviews: true, ratings: false });
        assert.deepEqual(pinnedV1.failed, []);
        assert.ok(pinnedV1.passed.includes(`Bookinfo reviews, through productpage: ${pinnedV1.url}/api/v1/products/0/reviews answers 200`));
        const faulted = await checkBookinfo((_n, path) => bookinfoAnswer(path, "reviews"), { reviews: false, ratings: false });
        assert.deepEqual(faulted.failed, []);
        // details is always checked
        const noDetails = await checkBookinfo((_n, path) => bookinfoAnswer(path, "details"), { reviews: false, ratings: false });
        assert.equal(noDetails.failed.length, 2);
    });

    it("gives up on a server that never answers, within the request timeout", async () => {
        const server = http.createServer(() => undefined);
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
        try {
            await assert.rejects(nodeHttpGet(200)(url), { message: "no answer within 0.2s" });
        } finally {
            server.closeAllConnections();
            server.close();
        }
    });

    it("verifies TLS certificates: a self-signed one is refused", async () => {
        const fixture = (f: string): Buffer => fs.readFileSync(path.join(__dirname, "..", "fixtures", f));
        const server = https.createServer({ key: fixture("self-signed.key"), cert: fixture("self-signed.crt") }, (_req, res) => {
            res.end("untrusted");
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
        const port = (server.address() as AddressInfo).port;
        const url = `https://127.0.0.1:${port}/`;
        try {
            await assert.rejects(nodeHttpGet(2000)(url), { message: `DEPTH_ZERO_SELF_SIGNED_CERT connecting to 127.0.0.1:${port}` });
        } finally {
            server.closeAllConnections();
            server.close();
        }
    });
});

/** A fake API answering by "METHOD path". */
function fakeApi(routes: Record<string, () => { status: number; body: unknown }>): KubeApi & { calls: string[] } {
    const calls: string[] = [];
    return {
        calls,
        async request(method, p) {
            calls.push(`${method} ${p}`);
            const route = routes[`${method} ${p}`];
            return route ? route() : { status: 404, body: { message: "not found" } };
        },
    };
}

function pod(app: string, version: string, opts: { proxy?: "container" | "init"; ambient?: boolean; ready?: boolean } = {}) {
    return {
        metadata: {
            name: `${app}-${version}-abc`,
            labels: { app, version },
            annotations: opts.ambient ? { "ambient.istio.io/redirection": "enabled" } : {},
        },
        spec: {
            containers: [{ name: app }, ...(opts.proxy === "container" ? [{ name: "istio-proxy" }] : [])],
            initContainers: opts.proxy === "init" ? [{ name: "istio-proxy" }] : [],
        },
        status: { phase: "Running", conditions: [{ type: "Ready", status: opts.ready === false ? "False" : "True" }] },
    };
}

const PODS = "GET /api/v1/namespaces/bookinfo/pods";

describe("Bookinfo pod check", () => {
    const sidecar: PodsCheck = { namespace: "bookinfo", mode: "sidecar", workloads: bookinfoWorkloads() };

    it("passes when every workload runs with istio-proxy, as a container or a native sidecar", async () => {
        const items = bookinfoWorkloads().map((w, i) => pod(w.app, w.version, { proxy: i % 2 ? "container" : "init" }));
        assert.deepEqual(await probePods(fakeApi({ [PODS]: () => ({ status: 200, body: { items } }) }), sidecar), { ready: true });
    });

    it("names each pod without a sidecar and each workload without a ready pod", async () => {
        const items = bookinfoWorkloads()
            .filter((w) => w.version !== "v3")
            .map((w) => pod(w.app, w.version, { proxy: w.app === "details" ? undefined : "container", ready: w.app !== "ratings" }));
        assert.deepEqual(await probePods(fakeApi({ [PODS]: () => ({ status: 200, body: { items } }) }), sidecar), {
            ready: false,
            reason: "pod details-v1-abc runs without an istio-proxy sidecar; ratings-v1 has no running, ready pod (1 pod found); reviews-v3 has no running, ready pod (0 pods found)",
        });
    });

    it("checks ztunnel capture instead of sidecars in ambient mode", async () => {
        const ambient: PodsCheck = { ...sidecar, mode: "ambient" };
        const items = bookinfoWorkloads().map((w) => pod(w.app, w.version, { ambient: w.app !== "productpage" }));
        assert.deepEqual(await probePods(fakeApi({ [PODS]: () => ({ status: 200, body: { items } }) }), ambient), {
            ready: false,
            reason: 'pod productpage-v1-abc is not captured by ztunnel (annotation ambient.istio.io/redirection is not "enabled")',
        });
    });
});

describe("verification plan", () => {
    const addons = [
        {
            name: "Kiali",
            baseUrl: "http://localhost:20001",
            namespace: "observability",
            service: "kiali",
            port: 20001,
            healthPath: "/kiali/healthz",
        },
    ];

    it("opens addons at their host URL on kind and through the API server's service proxy elsewhere", () => {
        const onKind = verificationPlan({ mode: "sidecar", addons });
        assert.deepEqual(onKind.endpoints, [{ name: "Kiali", target: { via: "url", url: "http://localhost:20001/kiali/healthz" } }]);
        const existing = verificationPlan({ mode: "sidecar", addons: [{ ...addons[0], baseUrl: undefined }] });
        const target = existing.endpoints[0].target;
        assert.deepEqual(target, {
            via: "apiProxy",
            namespace: "observability",
            service: "kiali",
            port: 20001,
            path: "/kiali/healthz",
        });
        assert.equal(apiProxyPath(target as never), "/api/v1/namespaces/observability/services/http:kiali:20001/proxy/kiali/healthz");
        assert.equal(existing.pods, undefined, "no Bookinfo, no pod check");
    });

    it("reports every failure together and every pass", async () => {
        const s = await serve((_n, req) =>
            req.url === "/kiali/healthz" ? { status: 404, body: "" } : bookinfoAnswer(req.url ?? "", "none"),
        );
        try {
            const plan = verificationPlan({
                mode: "sidecar",
                bookinfo: { url: `${s.url}/productpage`, namespace: "bookinfo", workloads: bookinfoWorkloads() },
                addons: [{ ...addons[0], baseUrl: s.url }],
            });
            const items = bookinfoWorkloads().map((w) => pod(w.app, w.version, { proxy: "container" }));
            const report = await verifyDeployment(
                plan,
                { get: nodeHttpGet(), api: fakeApi({ [PODS]: () => ({ status: 200, body: { items } }) }) },
                { timeoutMs: 300, intervalMs: 100 },
            );
            assert.deepEqual(report.passed, [
                `Bookinfo details, through productpage: ${s.url}/api/v1/products/0 answers 200`,
                `Bookinfo product page: ${s.url}/productpage answers 200 with "Simple Bookstore App"`,
                `Bookinfo reviews and ratings, through productpage: ${s.url}/api/v1/products/0/reviews answers 200`,
                "Bookinfo: 6 workloads run with istio-proxy",
            ]);
            assert.equal(report.failed.length, 1);
            assert.match(
                report.failed[0],
                /^Kiali at http:\/\/127\.0\.0\.1:\d+\/kiali\/healthz was not ready .* Last reason: HTTP 404\. Hint: the gateway has no route/,
            );
        } finally {
            s.close();
        }
    });
});

describe("verification script", function () {
    this.timeout(30000);

    function runScript(env: Record<string, string>): Promise<{ status: number; stdout: string; stderr: string }> {
        const [cmd, ...args] = VERIFY_COMMAND.split(" ");
        return new Promise((resolveRun) => {
            const child = spawn(cmd, args, { cwd: PROJECT_ROOT, env: { ...process.env, ...env } });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (c: Buffer) => (stdout += c));
            child.stderr.on("data", (c: Buffer) => (stderr += c));
            child.on("close", (status: number) => resolveRun({ status, stdout, stderr }));
        });
    }

    it("runs as the command runs it: the page from this machine, the pods and an addon through the API server", async () => {
        const gateway = await serve((_n, req) => bookinfoAnswer(req.url ?? "", "none"));
        const items = bookinfoWorkloads().map((w) => pod(w.app, w.version, { proxy: "container" }));
        const api = await serve((_n, req) =>
            req.url === "/api/v1/namespaces/bookinfo/pods"
                ? { status: 200, body: JSON.stringify({ items }) }
                : req.url === "/api/v1/namespaces/observability/services/http:prometheus:9090/proxy/-/ready"
                  ? { status: 200, body: "Prometheus Server is Ready." }
                  : { status: 404, body: "{}" },
        );
        const kubeconfig = kubeconfigFor(api.url);
        const plan = verificationPlan({
            mode: "sidecar",
            bookinfo: { url: `${gateway.url}/productpage`, namespace: "bookinfo", workloads: bookinfoWorkloads() },
            addons: [
                {
                    name: "Prometheus",
                    namespace: "observability",
                    service: "prometheus",
                    port: 9090,
                    healthPath: "/-/ready",
                },
            ],
        });
        try {
            const ok = await runScript({ VERIFY_PLAN: JSON.stringify(plan), VERIFY_KUBECONFIG: kubeconfig, VERIFY_TIMEOUT_SECONDS: "5" });
            assert.equal(ok.status, 0, ok.stderr);
            assert.equal(
                ok.stdout,
                [
                    `ok   Bookinfo details, through productpage: ${gateway.url}/api/v1/products/0 answers 200`,
                    `ok   Bookinfo product page: ${gateway.url}/productpage answers 200 with "Simple Bookstore App"`,
                    `ok   Bookinfo reviews and ratings, through productpage: ${gateway.url}/api/v1/products/0/reviews answers 200`,
                    "ok   Bookinfo: 6 workloads run with istio-proxy",
                    "ok   Prometheus: service observability/prometheus:9090/-/ready (through the Kubernetes API server) answers 200",
                    "",
                ].join("\n"),
            );

            const port = await deadPort();
            const broken = verificationPlan({
                mode: "sidecar",
                addons: [
                    {
                        name: "Grafana",
                        baseUrl: `http://127.0.0.1:${port}`,
                        namespace: "observability",
                        service: "grafana",
                        port: 3000,
                        healthPath: "/api/health",
                    },
                ],
            });
            const bad = await runScript({ VERIFY_PLAN: JSON.stringify(broken), VERIFY_TIMEOUT_SECONDS: "1", VERIFY_INTERVAL_MS: "200" });
            assert.equal(bad.status, 1);
            assert.match(
                bad.stderr,
                new RegExp(
                    `FAIL Grafana at http://127\\.0\\.0\\.1:${port}/api/health was not ready after 1s \\(\\d+ attempts\\)\\. Last reason: no answer \\(ECONNREFUSED connecting to 127\\.0\\.0\\.1:${port}\\)\\. Hint: nothing answered`,
                ),
            );
            assert.match(bad.stderr, /error: 1 of 1 checks failed\. Nothing was rolled back; fix the cause and run pulumi up again/);
        } finally {
            gateway.close();
            api.close();
        }
    });
});

/** The verification plan the program hands the script. */
function planOf(run: Run): VerificationPlan {
    const env = inputValue(run.get("verify-run").inputs.environment).value as Record<string, string>;
    return JSON.parse(env.VERIFY_PLAN) as VerificationPlan;
}

describe("deployment check in the program", () => {
    let dev: Run;
    before(async () => {
        dev = await runStack("dev");
    });

    it("runs last in dev, after the mesh, Bookinfo and the addons, and only then", () => {
        const run = dev.get("verify-run", "command:local:Command");
        assert.equal(run.parent, "verify");
        assert.deepEqual(dev.get("verify").dependsOn, []);
        assert.deepEqual(run.dependsOn.sort(), ["bookinfo", "istio", "observability"]);
        for (const other of dev.resources.filter((r) => r.name !== "verify-run" && r.name !== "verify")) {
            assert.ok(!dev.waitsFor(other.name).has("verify"), `${other.name} waits for the deployment check`);
        }
    });

    it("hands the script its kubeconfig in a secret environment, and keeps the plan itself public", async () => {
        const env = inputValue(dev.get("verify-run").inputs.environment);
        assert.equal(env.secret, true);
        assert.equal((env.value as Record<string, string>).VERIFY_KUBECONFIG, FAKE_KUBECONFIG);
        const plan = planOf(dev);
        assert.deepEqual(
            plan.endpoints.map((e: EndpointCheck) => (e.target.via === "url" ? e.target.url : e.target.via)),
            [
                "http://localhost:8080/productpage",
                "http://localhost:8080/api/v1/products/0",
                "http://localhost:8080/api/v1/products/0/reviews",
                "http://localhost:9090/-/ready",
                "http://localhost:3000/api/health",
                "http://localhost:16686/api/services",
                "http://localhost:20001/kiali/healthz",
            ],
        );
        assert.equal(plan.endpoints[0].expectText, "Simple Bookstore App");
        assert.deepEqual(
            plan.endpoints[0].failureMarkers?.map((m) => m.backend),
            ["details", "reviews", "ratings"],
        );
        assert.deepEqual(plan.endpoints[2].json, { kind: "bookinfoReviews", requireRatings: true });
        assert.deepEqual(plan.pods, { namespace: "bookinfo", mode: "sidecar", workloads: bookinfoWorkloads() });
        assert.deepEqual(dev.get("verify-run").inputs.triggers, [JSON.stringify(plan)]);
        assert.equal((await resolve((dev.get("verify").resource as never as { plan: never }).plan)).secret, false);
    });

    it("checks ztunnel capture on staging and goes through the API server on prod", async () => {
        const staging = await runStack("staging");
        const sPlan = planOf(staging);
        assert.equal(sPlan.pods?.mode, "ambient");
        assert.deepEqual(sPlan.endpoints[3].target, { via: "url", url: "http://localhost:19090/-/ready" });
        const prod = await runStack("prod", { "istio-mesh:kubeconfig": EXISTING_KUBECONFIG });
        const pPlan = planOf(prod);
        assert.deepEqual(
            pPlan.endpoints.slice(3).map((e: EndpointCheck) => e.target.via),
            ["apiProxy", "apiProxy", "apiProxy", "apiProxy"],
        );
    });

    it("is skipped when verifyDeployment is false, and checks only what is enabled", async () => {
        const off = await runStack("dev", { "istio-mesh:verifyDeployment": false });
        assert.equal(off.find("verify-run"), undefined);
        const lean = await runStack("dev", {
            "istio-mesh:bookinfo": { enabled: false },
            "istio-mesh:observability": { grafana: false, kiali: false, jaeger: false },
        });
        const plan = planOf(lean);
        assert.deepEqual(
            plan.endpoints.map((e: EndpointCheck) => e.name),
            ["Prometheus"],
        );
        assert.equal(plan.pods, undefined);
        assert.deepEqual(lean.get("verify-run").dependsOn.sort(), ["istio", "observability"]);
    });
});
