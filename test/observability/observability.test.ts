import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as http from "http";
import { AddressInfo } from "net";
import { parse } from "yaml";
/** The Istio tag the dashboards are downloaded from. */
const ISTIO_VERSION = "1.31.1";
import { NODE_PORTS, STATIC_NODE_PORT_BAND } from "../../components/ports";
import { GRAFANA_VIEWER_SYNC_SCRIPT } from "../../components/observability/observabilityValues";
import {
    AUTONAME_SUFFIX,
    EXISTING_KUBECONFIG,
    FAKE_PASSWORD,
    FAKE_SA_TOKEN,
    inputValue,
    LOAD_BALANCER_IP,
    resolve,
    Run,
    runStack,
} from "../harness";
import { validateManifest } from "../schemas";

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
            // the versions Istio 1.31's manifests/addons/gen.sh generates its addons from, and Jaeger's pin
            prometheus: ["28.13.0", "https://prometheus-community.github.io/helm-charts"],
            grafana: ["9.2.2", "https://grafana-community.github.io/helm-charts"],
            jaeger: ["4.11.1", "https://jaegertracing.github.io/helm-charts"],
            "kiali-server": ["2.27.0", "https://kiali.org/helm-charts"],
        });
    });

    it("installs Grafana from the maintained grafana-community repository, at 9.2.2", () => {
        const grafana = run.get("observability-grafana").inputs;
        assert.deepEqual(
            [grafana.chart, grafana.version, grafana.repositoryOpts.repo],
            ["grafana", "9.2.2", "https://grafana-community.github.io/helm-charts"],
        );
    });

    it("gives Kiali a Grafana Viewer of its own, whose password reaches Kiali only as a Secret reference", async () => {
        const secretName = `observability-grafana-kiali${AUTONAME_SUFFIX}`;
        const secret = run.get("observability-grafana-kiali", "kubernetes:core/v1:Secret");
        assert.deepEqual(inputValue(secret.inputs.stringData), { value: { password: FAKE_PASSWORD }, secret: true });
        assert.equal(secret.inputs.metadata.namespace, "observability");
        assert.deepEqual(run.get("observability-grafana-kiali-password").inputs, { length: 24, special: false });
        const kiali = run.get("observability-kiali");
        assert.deepEqual(kiali.inputs.values.external_services.grafana, {
            enabled: true,
            internal_url: "http://grafana.observability.svc.cluster.local:3000",
            external_url: "http://localhost:3000",
            auth: { type: "basic", username: "kiali", password: `secret:${secretName}:password` },
        });
        assert.doesNotMatch(JSON.stringify(kiali.inputs.values), new RegExp(FAKE_PASSWORD), "no credential in Kiali's values");
        assert.ok(kiali.dataDeps.includes("observability-grafana-kiali"), "Kiali is installed after the Secret it mounts");

        const grafana = run.get("observability-grafana");
        assert.ok(grafana.dataDeps.includes("observability-grafana-kiali"));
        assert.equal(grafana.inputs.values["grafana.ini"].users.auto_assign_org_role, "Viewer");
        const sidecars = parse(grafana.inputs.values.extraContainers as string) as Record<string, any>[];
        assert.deepEqual(
            sidecars.map((c) => [c.name, c.image, c.command]),
            [["kiali-viewer-user", "docker.io/curlimages/curl:8.9.1", ["/bin/sh", "-c", GRAFANA_VIEWER_SYNC_SCRIPT]]],
        );
        assert.deepEqual(sidecars[0].env, [
            { name: "GRAFANA_URL", value: "http://127.0.0.1:3000" },
            { name: "ADMIN_USER", valueFrom: { secretKeyRef: { name: "grafana-admin", key: "admin-user" } } },
            { name: "ADMIN_PASSWORD", valueFrom: { secretKeyRef: { name: "grafana-admin", key: "admin-password" } } },
            { name: "VIEWER_USER", value: "kiali" },
            { name: "VIEWER_PASSWORD", valueFrom: { secretKeyRef: { name: secretName, key: "password" } } },
            { name: "CHECK_SECONDS", value: "60" },
            { name: "RETRY_SECONDS", value: "5" },
        ]);
        assert.doesNotMatch(grafana.inputs.values.extraContainers as string, /\{\{/, "the chart renders the string with tpl");
    });

    it("signs Kiali's logins with a key generated once and kept in a Secret, and no longer sets istio_namespace", () => {
        const key = run.get("observability-kiali-session-signing-key");
        assert.equal(key.type, "random:index/randomPassword:RandomPassword");
        assert.deepEqual(key.inputs, { length: 32, special: false }, "Kiali accepts keys of 16, 24 or 32 bytes");
        const secret = run.get("observability-kiali-session", "kubernetes:core/v1:Secret");
        assert.deepEqual(inputValue(secret.inputs.stringData), { value: { "signing-key": FAKE_PASSWORD }, secret: true });
        const values = run.get("observability-kiali").inputs.values;
        assert.deepEqual(values.login_token, { signing_key: `secret:observability-kiali-session${AUTONAME_SUFFIX}:signing-key` });
        assert.equal("istio_namespace" in values, false);
    });

    it("serves Jaeger's metrics on the port its chart annotates the pod with, on every address", () => {
        const jaeger = run.get("observability-jaeger").inputs.values;
        assert.deepEqual(jaeger.userconfig.service.telemetry, {
            metrics: { readers: [{ pull: { exporter: { prometheus: { host: "0.0.0.0", port: 8888 } } } }] },
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
    const KUBECONFIG = EXISTING_KUBECONFIG;
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
        const plan = JSON.parse(env.VERIFY_PLAN) as { endpoints: { name: string; target: { url?: string } }[] };
        const addons = new Set(["Prometheus", "Grafana", "Jaeger", "Kiali"]);
        assert.deepEqual(
            plan.endpoints.filter((e) => addons.has(e.name)).map((e) => e.target.url),
            [
                `http://${ip}:9090/-/ready`,
                `http://${ip}:3000/api/health`,
                `http://${ip}:16686/api/services`,
                `http://${ip}:20001/kiali/healthz`,
            ],
        );
    });

    it("keeps the UIs in-cluster without it, and gives Kiali no link a browser could not open", async () => {
        const plain = await runStack("prod", { "istio-mesh:kubeconfig": KUBECONFIG });
        assert.equal(plain.find("observability-gateway-addons"), undefined);
        assert.equal(plain.get("istio-gateway").inputs.values.service.externalTrafficPolicy, undefined);
        assert.equal((await resolve(plain.outputs.grafanaUrl as never)).value, "http://grafana.observability.svc.cluster.local:3000");
        const kiali = plain.get("observability-kiali").inputs.values.external_services;
        assert.deepEqual(kiali.grafana, { enabled: false });
        assert.deepEqual(kiali.tracing, {
            enabled: true,
            provider: "jaeger",
            use_grpc: false,
            internal_url: "http://jaeger.observability.svc.cluster.local:16686",
        });
        assert.equal(plain.find("observability-grafana-kiali"), undefined, "no Grafana user for a Kiali that does not query Grafana");
        assert.equal(plain.get("observability-grafana").inputs.values.extraContainers, undefined);
    });
});

describe("nodePorts", () => {
    it("keeps every fixed nodePort in the static band of the default range, where no dynamic allocation lands first", async () => {
        assert.deepEqual(STATIC_NODE_PORT_BAND, { first: 30000, last: 30085 });
        assert.deepEqual(NODE_PORTS, {
            http: 30080,
            https: 30081,
            prometheus: 30082,
            grafana: 30083,
            jaeger: 30084,
            kiali: 30085,
            headlamp: 30079,
        });
        const run = await runStack("dev", { "istio-mesh:observability": { headlamp: { enabled: true } } });
        const fixed: string[] = [];
        const dynamic: string[] = [];
        const gatewayPorts = run.get("istio-gateway").inputs.values.service.ports as { name: string; nodePort?: number }[];
        const services = run
            .ofType("kubernetes:core/v1:Service")
            .filter((s) => s.inputs.spec?.type === "NodePort")
            .map((s) => [s.name, s.inputs.spec.ports as { name: string; nodePort?: number }[]] as const);
        for (const [owner, ports] of [["istio-gateway", gatewayPorts] as const, ...services]) {
            for (const p of ports) (p.nodePort === undefined ? dynamic : fixed).push(`${owner}/${p.name}:${p.nodePort ?? "-"}`);
        }
        assert.deepEqual(fixed.sort(), [
            "istio-gateway/http2:30080",
            "istio-gateway/https:30081",
            "observability-grafana-ui/http:30083",
            "observability-headlamp-ui/http:30079",
            "observability-jaeger-ui/http:30084",
            "observability-kiali-ui/http:30085",
            "observability-prometheus-ui/http:30082",
        ]);
        assert.deepEqual(dynamic, ["istio-gateway/status-port:-"], "only the gateway's status port is left to the allocator");
        const kind = parse(run.get("kind-cluster").inputs.stdin as string) as {
            nodes: { extraPortMappings?: { containerPort: number }[] }[];
        };
        assert.deepEqual(
            (kind.nodes[0].extraPortMappings ?? []).map((m) => m.containerPort),
            [30080, 30081, 30082, 30083, 30084, 30085, 30079],
        );
    });
});

/** A fake Grafana HTTP API: users with a password and an org role, an admin, and a log of every request. */
class FakeGrafana {
    readonly users = new Map<string, { id: number; password: string; role: string }>();
    readonly log: string[] = [];
    private server?: http.Server;
    url = "";
    constructor(
        private readonly admin: { user: string; password: string },
        private readonly newUserRole: string,
    ) {}

    async start(): Promise<void> {
        this.server = http.createServer((req, res) => {
            let body = "";
            req.on("data", (c: Buffer) => (body += c.toString()));
            req.on("end", () => {
                const [status, answer] = this.answer(req, body);
                this.log.push(`${req.method} ${req.url} as ${this.who(req) ?? "nobody"} ${body} -> ${status}`);
                res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(answer));
            });
        });
        await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", () => r()));
        this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    }

    stop(): void {
        this.server?.closeAllConnections();
        this.server?.close();
    }

    private who(req: http.IncomingMessage): string | undefined {
        const auth = req.headers.authorization;
        if (!auth?.startsWith("Basic ")) return undefined;
        const [user, password] = Buffer.from(auth.slice(6), "base64").toString().split(":");
        if (user === this.admin.user && password === this.admin.password) return "admin";
        return this.users.get(user)?.password === password ? user : undefined;
    }

    private answer(req: http.IncomingMessage, body: string): [number, unknown] {
        const who = this.who(req);
        const url = new URL(req.url ?? "/", "http://grafana");
        if (req.method === "GET" && url.pathname === "/api/user/orgs") {
            const user = who && who !== "admin" ? this.users.get(who) : undefined;
            return user ? [200, [{ orgId: 1, name: "Main Org.", role: user.role }]] : [401, { message: "Unauthorized" }];
        }
        if (who !== "admin") return [401, { message: "Unauthorized" }];
        if (req.method === "GET" && url.pathname === "/api/users/lookup") {
            const login = url.searchParams.get("loginOrEmail") ?? "";
            const user = this.users.get(login);
            return user
                ? [200, { id: user.id, uid: "u", email: login, login, isGrafanaAdmin: false, orgId: 1 }]
                : [404, { message: "user not found" }];
        }
        if (req.method === "POST" && url.pathname === "/api/admin/users") {
            const form = JSON.parse(body) as { login: string; password: string };
            if (this.users.has(form.login)) return [412, { message: "user already exists" }];
            const id = this.users.size + 2;
            this.users.set(form.login, { id, password: form.password, role: this.newUserRole });
            return [200, { id, message: "User created" }];
        }
        const byId = (id: string) => [...this.users.values()].find((u) => String(u.id) === id);
        const password = /^\/api\/admin\/users\/(\d+)\/password$/.exec(url.pathname);
        if (req.method === "PUT" && password && byId(password[1])) {
            byId(password[1])!.password = (JSON.parse(body) as { password: string }).password;
            return [200, { message: "User password updated" }];
        }
        const role = /^\/api\/org\/users\/(\d+)$/.exec(url.pathname);
        if (req.method === "PATCH" && role && byId(role[1])) {
            byId(role[1])!.role = (JSON.parse(body) as { role: string }).role;
            return [200, { message: "Organization user updated" }];
        }
        return [404, { message: "Not found" }];
    }
}

describe("Grafana Viewer sidecar script", () => {
    const until = async (what: string, ok: () => boolean): Promise<void> => {
        for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(ok(), `timed out waiting until ${what}`);
    };

    it("creates Kiali's user, then puts back its password and the Viewer role whenever they drift, and stops on SIGTERM", async () => {
        const grafana = new FakeGrafana({ user: "admin", password: "admin-secret" }, "Editor");
        await grafana.start();
        const script = spawn("sh", ["-c", GRAFANA_VIEWER_SYNC_SCRIPT], {
            env: {
                PATH: process.env.PATH,
                GRAFANA_URL: grafana.url,
                ADMIN_USER: "admin",
                ADMIN_PASSWORD: "admin-secret",
                VIEWER_USER: "kiali",
                VIEWER_PASSWORD: "Viewer0Password1",
                CHECK_SECONDS: "0.2",
                RETRY_SECONDS: "0.1",
            },
        });
        let stdout = "";
        let stderr = "";
        script.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
        script.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
        script.on("error", (e) => assert.fail(`cannot run sh with curl for this test: ${e.message}`));
        const viewerOk = (): boolean =>
            grafana.users.get("kiali")?.role === "Viewer" &&
            (grafana.log.at(-1)?.startsWith("GET /api/user/orgs as kiali  -> 200") ?? false);
        try {
            await until("the new user logs in as a Viewer", viewerOk);
            const create = '{"name":"kiali","login":"kiali","password":"Viewer0Password1"}';
            // Grafana here gives new users Editor, so the role is put right right after the creation.
            assert.deepEqual(grafana.log, [
                "GET /api/user/orgs as nobody  -> 401",
                "GET /api/users/lookup?loginOrEmail=kiali as admin  -> 404",
                `POST /api/admin/users as admin ${create} -> 200`,
                "GET /api/user/orgs as kiali  -> 200",
                "GET /api/users/lookup?loginOrEmail=kiali as admin  -> 200",
                'PUT /api/admin/users/2/password as admin {"password":"Viewer0Password1"} -> 200',
                'PATCH /api/org/users/2 as admin {"role":"Viewer"} -> 200',
                "GET /api/user/orgs as kiali  -> 200",
            ]);
            assert.deepEqual(grafana.users.get("kiali"), { id: 2, password: "Viewer0Password1", role: "Viewer" });

            // A fresh Grafana database, or someone's edits: the next check puts the user back.
            grafana.log.length = 0;
            grafana.users.set("kiali", { id: 2, password: "changed", role: "Admin" });
            await until("the user is repaired", viewerOk);
            assert.deepEqual(grafana.users.get("kiali"), { id: 2, password: "Viewer0Password1", role: "Viewer" });
            assert.ok(grafana.log.includes('PATCH /api/org/users/2 as admin {"role":"Viewer"} -> 200'), grafana.log.join("\n"));
            assert.ok(!grafana.log.some((l) => l.startsWith("POST")), "an existing user is not created again");

            const exited = new Promise<number | null>((r) => script.on("exit", (code) => r(code)));
            script.kill("SIGTERM");
            assert.equal(await exited, 0);
            assert.equal(
                stdout,
                [
                    "created Grafana user kiali",
                    "reset Grafana user kiali to its password and the Viewer role",
                    "reset Grafana user kiali to its password and the Viewer role",
                    "",
                ].join("\n"),
            );
            assert.equal(stderr, "");
        } finally {
            script.kill("SIGKILL");
            grafana.stop();
        }
    });
});
