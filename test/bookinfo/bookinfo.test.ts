import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    allowedCallers,
    anonymousReviewsVersions,
    authorizationManifests,
    bookinfoBackends,
    destinationRules,
    ingressManifests,
    namespaceManifest,
    trafficManifests,
    usesL7,
    waypointManifest,
    workloadManifests,
} from "../../components/bookinfo/bookinfoManifests";
import { BookinfoSettings, defaultHostnames } from "../../components/bookinfo/config";
import { ConfigError, validateConfig } from "../../components/config";
import { INGRESS_GATEWAY_LABELS } from "../../components/mesh/istioValues";
import { Manifest } from "../../components/mesh/meshManifests";
import { EXISTING_KUBECONFIG, rawConfigFor, resolve, Run, runStack } from "../harness";
import { validateManifest } from "../schemas";

const K = "istio-mesh:";
/** A certificate and the key that belongs to it. */
const TLS_CERT = fs.readFileSync(path.join(__dirname, "..", "fixtures", "self-signed.crt"), "utf8");
const TLS_KEY = fs.readFileSync(path.join(__dirname, "..", "fixtures", "self-signed.key"), "utf8");
const GATEWAY = { namespace: "istio-ingress", name: "istio-ingressgateway", labels: INGRESS_GATEWAY_LABELS };
const byKind = (ms: Manifest[], kind: string) => ms.filter((m) => m.kind === kind);
const spec = (m: Manifest) => m.spec as any;

function settings(env: string, extra: Record<string, unknown> = {}): BookinfoSettings {
    return validateConfig(rawConfigFor(env, extra)).bookinfo;
}

describe("Bookinfo objects match the upstream release", () => {
    const objects = workloadManifests();

    it("has the four service accounts, the four services on port 9080 named http, and the per-version services", () => {
        assert.deepEqual(
            byKind(objects, "ServiceAccount").map((m) => m.metadata.name),
            ["bookinfo-details", "bookinfo-ratings", "bookinfo-reviews", "bookinfo-productpage"],
        );
        const services = byKind(objects, "Service");
        assert.deepEqual(
            services.map((m) => m.metadata.name),
            [
                "details",
                "ratings",
                "reviews",
                "productpage",
                "details-v1",
                "ratings-v1",
                "reviews-v1",
                "reviews-v2",
                "reviews-v3",
                "productpage-v1",
            ],
        );
        for (const s of services) assert.deepEqual(spec(s).ports, [{ port: 9080, name: "http" }], s.metadata.name);
        assert.deepEqual(spec(services.find((s) => s.metadata.name === "reviews-v2")!).selector, { app: "reviews", version: "v2" });
    });

    it("has the six deployments with upstream images at 1.20.3, labels and service accounts", () => {
        const deployments = byKind(objects, "Deployment");
        assert.deepEqual(
            deployments.map((m) => m.metadata.name),
            ["details-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3", "productpage-v1"],
        );
        for (const d of deployments) {
            const [app, version] = d.metadata.name.split("-");
            const pod = spec(d).template;
            assert.deepEqual(pod.metadata.labels, { app, version });
            assert.equal(pod.spec.serviceAccountName, `bookinfo-${app}`);
            const c = pod.spec.containers[0];
            assert.equal(c.image, `docker.io/istio/examples-bookinfo-${app}-${version}:1.20.3`);
            assert.deepEqual(c.ports, [{ containerPort: 9080 }]);
            assert.ok(c.resources.requests.cpu && c.resources.requests.memory, `${d.metadata.name} has no requests`);
            assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, runAsNonRoot: true });
        }
        const reviews = spec(deployments.find((d) => d.metadata.name === "reviews-v3")!).template.spec;
        assert.deepEqual(reviews.containers[0].env, [{ name: "LOG_DIR", value: "/tmp/logs" }]);
        for (const other of deployments.filter((d) => !d.metadata.name.startsWith("reviews-"))) {
            assert.equal(spec(other).template.spec.containers[0].env, undefined, `${other.metadata.name} gets reviews' LOG_DIR`);
        }
        assert.deepEqual(reviews.volumes.map((v: any) => v.name).sort(), ["tmp", "wlp-output"]);
    });

    it("asks Prometheus to scrape productpage only in sidecar mode, where the sidecar serves the merged metrics", () => {
        const annotationsOf = (mode: "sidecar" | "ambient") =>
            byKind(workloadManifests(mode), "Deployment").map((d) => [d.metadata.name, spec(d).template.metadata.annotations]);
        const sidecar = Object.fromEntries(annotationsOf("sidecar"));
        assert.deepEqual(sidecar["productpage-v1"], {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": "9080",
            "prometheus.io/path": "/metrics",
            "istio-mesh.dev/istio-version": "1.31.1",
        });
        assert.deepEqual(sidecar["details-v1"], { "istio-mesh.dev/istio-version": "1.31.1" });
        // in ambient mode ztunnel would refuse the plain-text scrape: nothing may claim it works; and no pod has a proxy to roll
        for (const [name, annotations] of annotationsOf("ambient")) assert.equal(annotations, undefined, name);
    });

    it("labels the namespace for the data plane mode", () => {
        assert.deepEqual(namespaceManifest("sidecar", false).metadata.labels, { "istio-injection": "enabled" });
        assert.deepEqual(namespaceManifest("ambient", false).metadata.labels, { "istio.io/dataplane-mode": "ambient" });
        assert.deepEqual(namespaceManifest("ambient", true).metadata.labels, {
            "istio.io/dataplane-mode": "ambient",
            "istio.io/use-waypoint": "waypoint",
            // the ingress gateway reaches productpage through the waypoint too, so the waypoint's policies see it
            "istio.io/ingress-use-waypoint": "true",
        });
    });
});

describe("Bookinfo objects validate against the schemas", () => {
    const variants: [string, Manifest[]][] = [
        ["workloads", workloadManifests("sidecar")],
        ["ambient workloads", workloadManifests("ambient")],
        ["namespaces", [namespaceManifest("sidecar", false), namespaceManifest("ambient", true)]],
        ["istio ingress with TLS", ingressManifests("istio", ["localhost"], GATEWAY, true)],
        ["gateway-api ingress with TLS", ingressManifests("gateway-api", ["bookinfo.example.com"], GATEWAY, true)],
        ["gateway-api ingress for any host", ingressManifests("gateway-api", ["*"], GATEWAY, false)],
        ["destination rules", [...destinationRules("sidecar", true), ...destinationRules("ambient", false)]],
        ["staging traffic", trafficManifests(settings("staging"))],
        ["prod traffic", trafficManifests(settings("prod", { [`${K}kubeconfig`]: EXISTING_KUBECONFIG }))],
        [
            "abort fault",
            trafficManifests(settings("dev", { [`${K}bookinfo`]: { ratingsFault: { kind: "abort", percent: 50, httpStatus: 503 } } })),
        ],
        ["waypoint", [waypointManifest()]],
        [
            "authorization, sidecar, ext-authz",
            authorizationManifests("sidecar", false, GATEWAY, { name: "ext-authz", service: "authz.auth.svc.cluster.local", port: 9000 }),
        ],
        [
            "authorization, ambient with waypoint",
            authorizationManifests("ambient", true, GATEWAY, { name: "ext-authz", service: "authz.auth.svc.cluster.local", port: 9000 }),
        ],
    ];
    for (const [label, manifests] of variants) {
        it(`validates ${label}`, async () => {
            assert.ok(manifests.length > 0);
            for (const m of manifests) await validateManifest(m as never);
        });
    }
});

describe("Bookinfo routing and security", () => {
    it("routes ingress to productpage without a wildcard host on kind, matching the Helm gateway's labels and port", () => {
        const [gw, vs] = ingressManifests("istio", settings("dev").hostnames, GATEWAY, false);
        assert.deepEqual(spec(gw).selector, { istio: "ingressgateway" });
        assert.deepEqual(spec(gw).servers[0].port, { number: 80, name: "http", protocol: "HTTP" });
        assert.deepEqual(spec(gw).servers[0].hosts, ["localhost"]);
        assert.deepEqual(
            spec(vs).http[0].match.map((m: any) => m.uri),
            [{ exact: "/productpage" }, { prefix: "/static" }, { exact: "/login" }, { exact: "/logout" }, { prefix: "/api/v1/products" }],
        );
    });

    it("answers to the host of the URLs the stack exports, whatever kind's listen address", () => {
        const kind = (listenAddress: string) => ({ [`${K}kind`]: { workers: 0, listenAddress } });
        assert.deepEqual(settings("dev", kind("127.0.0.1")).hostnames, ["localhost"]);
        assert.deepEqual(settings("dev", kind("0.0.0.0")).hostnames, ["localhost"]);
        // the URLs then carry the address itself, which Istio matches only through "*"
        assert.deepEqual(settings("dev", kind("192.168.1.10")).hostnames, ["*"]);
        assert.deepEqual(defaultHostnames(undefined), ["*"]);
        assert.deepEqual(settings("dev", { ...kind("192.168.1.10"), [`${K}bookinfo`]: { hostnames: ["shop.example.com"] } }).hostnames, [
            "shop.example.com",
        ]);
    });

    it("attaches the Gateway API gateway to the existing deployment so the nodePorts keep working", () => {
        const [gw, route] = ingressManifests("gateway-api", ["localhost"], GATEWAY, false);
        assert.deepEqual(spec(gw).addresses, [{ type: "Hostname", value: "istio-ingressgateway.istio-ingress.svc.cluster.local" }]);
        assert.equal(gw.metadata.namespace, "istio-ingress");
        assert.deepEqual(spec(route).parentRefs, [{ name: "bookinfo-gateway", namespace: "istio-ingress" }]);
        assert.deepEqual(spec(route).hostnames, ["localhost"]);
    });

    it("splits reviews 90/10 in staging, sends jason to v2 and delays his ratings", () => {
        const [reviews, ratings] = trafficManifests(settings("staging"));
        const routes = spec(reviews).http;
        assert.deepEqual(routes[0].match, [{ headers: { "end-user": { exact: "jason" } } }]);
        assert.deepEqual(routes[0].route, [{ destination: { host: "reviews", subset: "v2" } }]);
        assert.deepEqual(routes[1].route, [
            { destination: { host: "reviews", subset: "v1" }, weight: 90 },
            { destination: { host: "reviews", subset: "v3" }, weight: 10 },
        ]);
        assert.equal(
            routes[1].route.reduce((s: number, r: any) => s + r.weight, 0),
            100,
        );
        assert.deepEqual(spec(ratings).http[0].fault, { delay: { percentage: { value: 100 }, fixedDelay: "7s" } });
    });

    it("pins prod to one version with a timeout and retries", () => {
        const [reviews] = trafficManifests(settings("prod", { [`${K}kubeconfig`]: EXISTING_KUBECONFIG }));
        const route = spec(reviews).http[0];
        assert.deepEqual(route.route, [{ destination: { host: "reviews", subset: "v2" } }]);
        assert.equal(route.timeout, "10s");
        assert.deepEqual(route.retries, { attempts: 3, perTryTimeout: "2s", retryOn: "5xx,reset,connect-failure,refused-stream" });
    });

    it("leaves dev's reviews round robin, as upstream", () => {
        assert.deepEqual(trafficManifests(settings("dev")), []);
    });

    it("rejects reviews weights that do not add up to 100", () => {
        assert.throws(
            () => settings("dev", { [`${K}bookinfo`]: { reviews: { mode: "weighted", weights: { v1: 90, v3: 20 } } } }),
            (e: ConfigError) =>
                e.problems.includes(
                    "bookinfo.reviews.weights must add up to 100 (got v1=90, v2=0, v3=20, total 110). Fix: for a 90/10 canary set v1: 90 and v3: 10.",
                ),
        );
    });

    it("ejects failing endpoints with Envoy's panic threshold off, minHealthPercent 0 stated for Istio 1.31", async () => {
        for (const mode of ["sidecar", "ambient"] as const) {
            for (const d of destinationRules(mode, true)) {
                assert.deepEqual(
                    spec(d).trafficPolicy.outlierDetection,
                    { consecutive5xxErrors: 5, interval: "10s", baseEjectionTime: "30s", maxEjectionPercent: 100, minHealthPercent: 0 },
                    `${mode} ${d.metadata.name}`,
                );
                await validateManifest(d);
            }
        }
        assert.ok(destinationRules("sidecar", false).every((d) => spec(d).trafficPolicy.outlierDetection === undefined));
    });

    it("uses Istio mutual TLS in the DestinationRules only in sidecar mode", () => {
        assert.ok(destinationRules("sidecar", true).every((d) => spec(d).trafficPolicy.tls.mode === "ISTIO_MUTUAL"));
        assert.ok(destinationRules("ambient", true).every((d) => spec(d).trafficPolicy.tls === undefined));
        assert.deepEqual(
            spec(destinationRules("sidecar", false).find((d) => d.metadata.name === "reviews")!).subsets.map((s: any) => s.name),
            ["v1", "v2", "v3"],
        );
    });

    it("denies by default and allows exactly the Bookinfo call graph by principal", () => {
        assert.deepEqual(allowedCallers(GATEWAY), {
            productpage: ["cluster.local/ns/istio-ingress/sa/istio-ingressgateway"],
            details: ["cluster.local/ns/bookinfo/sa/bookinfo-productpage"],
            reviews: ["cluster.local/ns/bookinfo/sa/bookinfo-productpage"],
            ratings: ["cluster.local/ns/bookinfo/sa/bookinfo-reviews"],
        });
        const policies = authorizationManifests("sidecar", false, GATEWAY);
        assert.deepEqual(spec(policies[0]), {});
        assert.equal(policies[0].metadata.name, "allow-nothing");
        const allowed = Object.fromEntries(
            policies.slice(1).map((p) => [spec(p).selector.matchLabels.app, spec(p).rules[0].from[0].source.principals]),
        );
        assert.deepEqual(allowed, allowedCallers(GATEWAY));
    });

    /** Who each workload's pods (ztunnel or the sidecar) and the waypoint accept, by policy. */
    function whoCalls(policies: Manifest[]): { pods: Record<string, string[]>; waypoint: Record<string, string[]> } {
        const pods: Record<string, string[]> = {};
        const waypoint: Record<string, string[]> = {};
        for (const p of policies.filter((x) => spec(x).action === "ALLOW")) {
            const principals = spec(p).rules[0].from[0].source.principals;
            if (spec(p).targetRefs) waypoint[spec(p).targetRefs[0].name] = principals;
            else pods[spec(p).selector.matchLabels.app] = principals;
        }
        return { pods, waypoint };
    }

    const INGRESS = "cluster.local/ns/istio-ingress/sa/istio-ingressgateway";
    const PRODUCTPAGE = "cluster.local/ns/bookinfo/sa/bookinfo-productpage";
    const REVIEWS = "cluster.local/ns/bookinfo/sa/bookinfo-reviews";
    const WAYPOINT = "cluster.local/ns/bookinfo/sa/waypoint";

    it("expects ratings behind productpage only when a reviews version that calls it gets anonymous traffic, and no fault hits everyone", () => {
        assert.deepEqual(bookinfoBackends(settings("dev")), { reviews: true, ratings: true });
        assert.deepEqual(bookinfoBackends(settings("staging")), { reviews: true, ratings: true }, "jason's fault does not hit the check");
        assert.deepEqual(bookinfoBackends(settings("dev", { [`${K}bookinfo`]: { reviews: { mode: "pinned", version: "v1" } } })), {
            reviews: true,
            ratings: false,
        });
        const weighted = { reviews: { mode: "weighted", weights: { v1: 100 } } };
        assert.deepEqual(bookinfoBackends(settings("dev", { [`${K}bookinfo`]: weighted })), { reviews: true, ratings: false });
        const everyone = { ratingsFault: { kind: "abort", percent: 100, httpStatus: 500 } };
        assert.deepEqual(bookinfoBackends(settings("dev", { [`${K}bookinfo`]: everyone })), { reviews: false, ratings: false });
        assert.deepEqual(anonymousReviewsVersions(settings("staging")), ["v1", "v3"]);
    });

    it("states which principal calls which workload: sidecar mode and ambient mode without a waypoint", () => {
        const graph = { productpage: [INGRESS], details: [PRODUCTPAGE], reviews: [PRODUCTPAGE], ratings: [REVIEWS] };
        assert.deepEqual(whoCalls(authorizationManifests("sidecar", false, GATEWAY)), { pods: graph, waypoint: {} });
        assert.deepEqual(whoCalls(authorizationManifests("ambient", false, GATEWAY)), { pods: graph, waypoint: {} });
    });

    it("states which principal calls which workload in ambient mode with a waypoint: every caller at the waypoint, only the waypoint at the pods", () => {
        assert.deepEqual(whoCalls(authorizationManifests("ambient", true, GATEWAY)), {
            // the ingress gateway reaches productpage through the waypoint too (istio.io/ingress-use-waypoint)
            pods: { productpage: [WAYPOINT], details: [WAYPOINT], reviews: [WAYPOINT], ratings: [WAYPOINT] },
            waypoint: { productpage: [INGRESS], details: [PRODUCTPAGE], reviews: [PRODUCTPAGE], ratings: [REVIEWS] },
        });
    });

    it("consults the external authorizer at the waypoint in ambient mode, at productpage's sidecar in sidecar mode", () => {
        const extAuthz = { name: "ext-authz", service: "authz.auth.svc.cluster.local", port: 9000 };
        const ambient = settings("staging", { [`${K}bookinfo`]: { extAuthz } });
        assert.equal(usesL7(ambient), true, "an external authorizer needs the waypoint in ambient mode");
        const custom = (ms: Manifest[]) => ms.find((m) => spec(m).action === "CUSTOM")!;
        assert.deepEqual(spec(custom(authorizationManifests("ambient", true, GATEWAY, extAuthz))).targetRefs, [
            { kind: "Service", group: "", name: "productpage" },
        ]);
        assert.deepEqual(spec(custom(authorizationManifests("sidecar", false, GATEWAY, extAuthz))).selector, {
            matchLabels: { app: "productpage" },
        });
    });
});

describe("Bookinfo in the program", () => {
    let dev: Run;
    let staging: Run;
    before(async () => {
        dev = await runStack("dev");
        staging = await runStack("staging");
    });

    it("makes everything but the namespace and service accounts wait for the mesh's readiness gate", () => {
        for (const run of [dev, staging]) {
            const objects = run.resources.filter((r) => r.parent === "bookinfo");
            assert.ok(objects.length > 20);
            for (const o of objects) {
                const early = o.type === "kubernetes:core/v1:Namespace" || o.type === "kubernetes:core/v1:ServiceAccount";
                assert.equal(o.dependsOn.includes("istio-ready"), !early, `${o.type}::${o.name} waits for istio-ready: ${!early}`);
            }
        }
    });

    it("deploys a waypoint in staging (ambient with L7 routing) but not in dev", () => {
        assert.ok(staging.find("bookinfo-gateway-waypoint"));
        assert.equal(dev.find("bookinfo-gateway-waypoint"), undefined);
    });

    it("deploys the workloads for the environment's data plane mode", () => {
        const annotations = (run: Run) => run.get("bookinfo-deployment-productpage-v1").inputs.spec.template.metadata.annotations;
        assert.equal(annotations(dev)["prometheus.io/scrape"], "true");
        assert.equal(annotations(staging), undefined);
    });

    it("exports the productpage URL on the kind host port", async () => {
        assert.equal((await resolve(dev.outputs.bookinfoUrl as never)).value, "http://localhost:8080/productpage");
        assert.equal((await resolve(staging.outputs.bookinfoUrl as never)).value, "http://localhost:18080/productpage");
    });

    it("keeps the user's TLS certificate and key secret in the TLS Secret", async () => {
        const run = await runStack("dev", {
            [`${K}bookinfo`]: { tls: true },
            [`${K}ingressTlsCert`]: TLS_CERT,
            [`${K}ingressTlsKey`]: TLS_KEY,
        });
        const secret = run.get("bookinfo-tls");
        assert.equal(secret.inputs.metadata.namespace, "istio-ingress");
        assert.match(JSON.stringify(secret.inputs.stringData), /4dabf18193072939515e22adb298388d/);
        const gateway = run.get("bookinfo-gateway-bookinfo-gateway");
        assert.equal(gateway.inputs.spec.servers[1].tls.credentialName, "bookinfo-tls");
    });
});
