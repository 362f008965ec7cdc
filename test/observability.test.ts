import { strict as assert } from "assert";
import { GRAFANA_CHART, ISTIO_VERSION, JAEGER_CHART, KIALI_CHART, PROMETHEUS_CHART } from "../components/versions";
import { NODE_PORTS } from "../components/ports";
import { FAKE_PASSWORD, FAKE_SA_TOKEN, inputValue, LOAD_BALANCER_IP, resolve, Run, runStack } from "./harness";
import { validateManifest } from "./schemas";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const K = "istio-mesh:";

describe("observability: dev", () => {
    let run: Run;
    before(async () => {
        run = await runStack("dev");
    });

    it("installs each addon chart at its pinned version", () => {
        const charts = Object.fromEntries(
            run
                .ofType(RELEASE)
                .filter((r) => r.parent === "observability")
                .map((r) => [r.inputs.chart, [r.inputs.version, r.inputs.repositoryOpts.repo]]),
        );
        assert.deepEqual(charts, {
            prometheus: [PROMETHEUS_CHART.version, PROMETHEUS_CHART.repo],
            grafana: [GRAFANA_CHART.version, GRAFANA_CHART.repo],
            jaeger: [JAEGER_CHART.version, JAEGER_CHART.repo],
            "kiali-server": [KIALI_CHART.version, KIALI_CHART.repo],
        });
    });

    it("points Grafana's datasource and Kiali's services at Services the stack creates", () => {
        const prom = run.get("observability-prometheus").inputs;
        const promService = `http://${prom.values.server.fullnameOverride}.${prom.namespace}.svc.cluster.local:${prom.values.server.service.servicePort}`;
        const grafana = run.get("observability-grafana").inputs.values;
        assert.equal(grafana.datasources["datasources.yaml"].datasources[0].url, promService);
        const kiali = run.get("observability-kiali").inputs.values;
        assert.equal(kiali.external_services.prometheus.url, promService);
        assert.equal(
            kiali.external_services.grafana.internal_url,
            `http://${run.get("observability-grafana").inputs.name}.observability.svc.cluster.local:${grafana.service.port}`,
        );
        assert.equal(
            kiali.external_services.tracing.internal_url,
            `http://${run.get("observability-jaeger").inputs.name}.observability.svc.cluster.local:16686`,
        );
        assert.equal(kiali.external_services.grafana.external_url, "http://localhost:3000");
        assert.equal(kiali.external_services.tracing.external_url, "http://localhost:16686");
    });

    it("registers Jaeger as Istio's OTLP tracing provider and samples through a Telemetry resource", async () => {
        const mesh = run.get("istio-istiod").inputs.values.meshConfig;
        assert.deepEqual(mesh.extensionProviders, [
            { name: "jaeger", opentelemetry: { service: "jaeger.observability.svc.cluster.local", port: 4317 } },
        ]);
        const jaeger = run.get("observability-jaeger").inputs.values;
        assert.equal(jaeger.userconfig.receivers.otlp.protocols.grpc.endpoint, "0.0.0.0:4317");
        const telemetry = run.get("observability-tracing");
        assert.deepEqual(telemetry.inputs.spec.tracing, [{ providers: [{ name: "jaeger" }], randomSamplingPercentage: 100 }]);
        assert.deepEqual(telemetry.dependsOn, ["istio-ready"]);
        await validateManifest(telemetry.inputs as never);
    });

    it("has no anonymous admin anywhere: Grafana login required, Kiali token login", () => {
        const grafana = run.get("observability-grafana").inputs.values;
        assert.equal(grafana["grafana.ini"]["auth.anonymous"].enabled, false);
        assert.equal(grafana.admin.existingSecret, "grafana-admin");
        assert.doesNotMatch(JSON.stringify(grafana), /GF_SECURITY_ADMIN_PASSWORD|GF_AUTH_ANONYMOUS/);
        assert.equal(run.get("observability-kiali").inputs.values.auth.strategy, "token");
        assert.equal(run.get("observability-kiali").inputs.values.deployment.view_only_mode, false);
    });

    it("gives Kiali a read-only login token, bound to the chart's viewer role and exported only as a secret", async () => {
        const login = run.get("observability-kiali-user");
        assert.equal(login.type, "istio-mesh:index:LoginToken");
        assert.equal(login.parent, "observability");
        const binding = run.get("observability-kiali-user-binding").inputs;
        assert.deepEqual(binding.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "kiali-viewer" });
        assert.equal(run.get("observability-kiali").inputs.values.deployment.instance_name, undefined, "the chart's default name, kiali");
        assert.deepEqual(await resolve(run.outputs.kialiToken as never), { value: FAKE_SA_TOKEN, secret: true });
    });

    it("generates Grafana's admin password, keeps it in a Secret and exports it as a secret", async () => {
        const secret = run.get("observability-grafana-admin");
        const data = inputValue(secret.inputs.stringData);
        assert.equal(data.secret, true);
        assert.equal((data.value as any)["admin-password"], FAKE_PASSWORD);
        const out = await resolve(run.outputs.grafanaAdminPassword as never);
        assert.deepEqual(out, { value: FAKE_PASSWORD, secret: true });
        assert.deepEqual(run.get("observability-grafana").dependsOn, ["observability-grafana-admin"]);
    });

    it("exposes every UI on its fixed nodePort and exports the host URLs", async () => {
        for (const [svc, role] of [
            ["prometheus", "prometheus"],
            ["grafana", "grafana"],
            ["jaeger", "jaeger"],
            ["kiali", "kiali"],
        ] as const) {
            const s = run.get(`observability-${svc}-ui`).inputs.spec;
            assert.equal(s.type, "NodePort");
            assert.equal(s.ports[0].nodePort, NODE_PORTS[role]);
        }
        assert.equal((await resolve(run.outputs.prometheusUrl as never)).value, "http://localhost:9090");
        assert.equal((await resolve(run.outputs.grafanaUrl as never)).value, "http://localhost:3000");
        assert.equal((await resolve(run.outputs.jaegerUrl as never)).value, "http://localhost:16686");
        assert.equal((await resolve(run.outputs.kialiUrl as never)).value, "http://localhost:20001/kiali");
    });

    it("joins no dependency path between Bookinfo and the addons", () => {
        const bookinfo = run.resources.filter((r) => r.parent === "bookinfo" || r.name === "bookinfo").map((r) => r.name);
        const addons = run.resources.filter((r) => r.parent === "observability" || r.name === "observability").map((r) => r.name);
        for (const b of bookinfo) for (const a of addons) assert.ok(!run.waitsFor(b).has(a), `${b} waits for ${a}`);
        for (const a of addons) for (const b of bookinfo) assert.ok(!run.waitsFor(a).has(b), `${a} waits for ${b}`);
        const gated = run.resources.filter((r) => r.parent === "observability" && r.dependsOn.includes("istio-ready")).map((r) => r.name);
        assert.deepEqual(gated, ["observability-tracing"]);
    });

    it("downloads Istio's own dashboards from the installed release's tag, verifying TLS", () => {
        const grafana = run.get("observability-grafana").inputs.values;
        const base = `https://raw.githubusercontent.com/istio/istio/${ISTIO_VERSION}/manifests/addons/dashboards/`;
        assert.deepEqual(grafana.dashboards.istio, {
            "istio-mesh": { url: `${base}istio-mesh-dashboard.gen.json` },
            "istio-service": { url: `${base}istio-service-dashboard.json` },
            "istio-workload": { url: `${base}istio-workload-dashboard.json` },
            "istio-controlPlane": { url: `${base}pilot-dashboard.gen.json` },
            "istio-performance": { url: `${base}istio-performance-dashboard.json` },
        });
        // Each dashboard lands in the folder of the provider named like its key.
        assert.deepEqual(
            grafana.dashboardProviders["dashboardproviders.yaml"].providers.map((p: { name: string }) => p.name),
            Object.keys(grafana.dashboards),
        );
        assert.doesNotMatch(grafana.defaultCurlOptions, /k/);
        assert.match(grafana.defaultCurlOptions, /f/);
    });

    it("keeps the ztunnel dashboard for ambient mode", async () => {
        assert.equal(run.get("observability-grafana").inputs.values.dashboards.istio["istio-ztunnel"], undefined);
        const staging = await runStack("staging");
        assert.deepEqual(staging.get("observability-grafana").inputs.values.dashboards.istio["istio-ztunnel"], {
            url: `https://raw.githubusercontent.com/istio/istio/${ISTIO_VERSION}/manifests/addons/dashboards/ztunnel-dashboard.gen.json`,
        });
        assert.equal(staging.get("observability-tracing").inputs.spec.tracing[0].randomSamplingPercentage, 50);
    });
});

describe("observability: switches and safety", () => {
    it("installs only the addons switched on", async () => {
        const run = await runStack("dev", { [`${K}observability`]: { grafana: false, kiali: false, jaeger: false } });
        assert.deepEqual(
            run
                .ofType(RELEASE)
                .filter((r) => r.parent === "observability")
                .map((r) => r.inputs.chart),
            ["prometheus"],
        );
        assert.equal(run.find("observability-tracing"), undefined);
        assert.equal(run.get("istio-istiod").inputs.values.meshConfig.extensionProviders, undefined);
        assert.equal((await resolve(run.outputs.grafanaUrl as never)).value, undefined);
    });

    it("allows anonymous Kiali only on loopback, and then view only", async () => {
        const run = await runStack("dev", { [`${K}observability`]: { kialiAuth: "anonymous" } });
        const kiali = run.get("observability-kiali").inputs.values;
        assert.equal(kiali.auth.strategy, "anonymous");
        assert.equal(kiali.deployment.view_only_mode, true);
        assert.equal(run.find("observability-kiali-user"), undefined, "no token for a Kiali without login");
        assert.equal((await resolve(run.outputs.kialiToken as never)).value, undefined);
        await assert.rejects(
            runStack("dev", { [`${K}observability`]: { kialiAuth: "anonymous" }, [`${K}kind`]: { listenAddress: "0.0.0.0" } }),
            /observability\.kialiAuth may be "anonymous" only on kind with kind\.listenAddress "127\.0\.0\.1" \(got "0\.0\.0\.0"\)/,
        );
    });
});

describe("observability: through the ingress gateway on an existing cluster", () => {
    const KUBECONFIG = "apiVersion: v1\nkind: Config\n";
    let run: Run;
    before(async () => {
        run = await runStack("prod", {
            "istio-mesh:kubeconfig": KUBECONFIG,
            "istio-mesh:observability": {
                tracingSamplingPercent: 1,
                gatewayExposure: { sourceRanges: ["203.0.113.0/24", "2001:db8::/32"] },
            },
        });
    });

    it("opens one gateway port per UI and keeps the client's address for the source-range rule", () => {
        const service = run.get("istio-gateway").inputs.values.service;
        assert.deepEqual(
            service.ports.map((p: { name: string; port: number }) => `${p.name}:${p.port}`),
            [
                "status-port:15021",
                "http2:80",
                "https:443",
                "http-prometheus:9090",
                "http-grafana:3000",
                "http-jaeger:16686",
                "http-kiali:20001",
            ],
        );
        assert.equal(service.externalTrafficPolicy, "Local");
    });

    it("routes each port to its addon's Service and denies it to clients outside the ranges", async () => {
        const gateway = run.get("observability-gateway-addons").inputs;
        assert.deepEqual(gateway.spec.selector, { istio: "ingressgateway" });
        assert.deepEqual(
            gateway.spec.servers.map((s: { port: { number: number } }) => s.port.number),
            [9090, 3000, 16686, 20001],
        );
        const grafana = run.get("observability-virtualservice-grafana-ui").inputs;
        assert.deepEqual(grafana.spec.http[0].route[0].destination, {
            host: "grafana.observability.svc.cluster.local",
            port: { number: 3000 },
        });
        assert.deepEqual(grafana.spec.http[0].match, [{ port: 3000 }]);
        const policy = run.get("observability-authorizationpolicy-addons-source-ranges").inputs;
        assert.equal(policy.metadata.namespace, "istio-ingress");
        assert.equal(policy.spec.action, "DENY");
        assert.deepEqual(policy.spec.rules, [
            {
                from: [{ source: { notRemoteIpBlocks: ["203.0.113.0/24", "2001:db8::/32"] } }],
                to: [{ operation: { ports: ["9090", "3000", "16686", "20001"] } }],
            },
        ]);
        for (const r of run.resources.filter((x) => x.parent === "observability" && /istio\.io/.test(x.type))) {
            assert.deepEqual(r.dependsOn, ["istio-ready"], r.name);
            await validateManifest(r.inputs as never);
        }
    });

    it("exports the UIs at the gateway's address, wires Kiali's links there and verifies through it", async () => {
        const ip = LOAD_BALANCER_IP;
        assert.equal((await resolve(run.outputs.grafanaUrl as never)).value, `http://${ip}:3000`);
        assert.equal((await resolve(run.outputs.kialiUrl as never)).value, `http://${ip}:20001/kiali`);
        assert.equal((await resolve(run.outputs.prometheusUrl as never)).value, `http://${ip}:9090`);
        const kiali = run.get("observability-kiali").inputs.values.external_services;
        assert.equal(kiali.grafana.external_url, `http://${ip}:3000`);
        assert.equal(kiali.tracing.external_url, `http://${ip}:16686`);
        const env = inputValue(run.get("verify-run").inputs.environment).value as Record<string, string>;
        const plan = JSON.parse(env.VERIFY_PLAN) as { endpoints: { target: { url?: string } }[] };
        assert.deepEqual(
            plan.endpoints.map((e) => e.target.url),
            [
                `http://${ip}/productpage`,
                `http://${ip}:9090/-/ready`,
                `http://${ip}:3000/api/health`,
                `http://${ip}:16686/api/services`,
                `http://${ip}:20001/kiali/healthz`,
            ],
        );
    });

    it("keeps the UIs in-cluster without it", async () => {
        const plain = await runStack("prod", { "istio-mesh:kubeconfig": KUBECONFIG });
        assert.equal(plain.find("observability-gateway-addons"), undefined);
        assert.equal(plain.get("istio-gateway").inputs.values.service.externalTrafficPolicy, undefined);
        assert.equal((await resolve(plain.outputs.grafanaUrl as never)).value, "http://grafana.observability.svc.cluster.local:3000");
    });
});
