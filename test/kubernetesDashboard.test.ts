import { strict as assert } from "assert";
import { parse } from "yaml";
import { KUBERNETES_DASHBOARD_CHART } from "../components/versions";
import { NODE_PORTS } from "../components/ports";
import { AUTONAME_SUFFIX, FAKE_SA_TOKEN, inputValue, LOAD_BALANCER_IP, resolve, Run, runStack } from "./harness";
import { validateManifest } from "./schemas";

const K = "istio-mesh:";
const KUBECONFIG = "apiVersion: v1\nkind: Config\n";
const on = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    [`${K}observability`]: { kubernetesDashboard: { enabled: true, ...extra } },
});

interface PortMapping {
    containerPort: number;
    hostPort: number;
    listenAddress: string;
}
function kindPortMappings(run: Run): PortMapping[] {
    const config = parse(run.get("kind-cluster").inputs.stdin as string) as { nodes: { extraPortMappings?: PortMapping[] }[] };
    return config.nodes[0].extraPortMappings ?? [];
}

/** The plan the deployment check runs, as the command receives it. */
function verifyTargets(run: Run): { name: string; target: Record<string, unknown> }[] {
    const env = inputValue(run.get("verify-run").inputs.environment).value as Record<string, string>;
    return (JSON.parse(env.VERIFY_PLAN) as { endpoints: { name: string; target: Record<string, unknown> }[] }).endpoints;
}

describe("Kubernetes Dashboard: off by default", () => {
    it("installs nothing, maps no host port for it and exports nothing", async () => {
        const run = await runStack("dev");
        assert.equal(run.find("observability-kubernetes-dashboard"), undefined);
        assert.equal(run.find("observability-kubernetes-dashboard-user"), undefined);
        assert.deepEqual(
            kindPortMappings(run).map((m) => m.hostPort),
            [8080, 8443, 9090, 3000, 16686, 20001],
            "an existing dev cluster keeps its kind config, so it is not recreated",
        );
        assert.equal((await resolve(run.outputs.kubernetesDashboardUrl as never)).value, undefined);
        assert.equal((await resolve(run.outputs.kubernetesDashboardToken as never)).value, undefined);
    });
});

describe("Kubernetes Dashboard on kind", () => {
    let run: Run;
    before(async () => {
        run = await runStack("dev", on());
    });

    it("installs the pinned chart without the metrics scraper, which needs a metrics-server the stack lacks", () => {
        const release = run.get("observability-kubernetes-dashboard");
        assert.equal(release.parent, "observability");
        assert.deepEqual(
            [release.inputs.chart, release.inputs.version, release.inputs.repositoryOpts.repo],
            [KUBERNETES_DASHBOARD_CHART.chart, KUBERNETES_DASHBOARD_CHART.version, KUBERNETES_DASHBOARD_CHART.repo],
        );
        assert.equal(release.inputs.name, "kubernetes-dashboard", "the release name fixes the Kong Service's name");
        assert.equal(release.inputs.namespace, "observability");
        const values = release.inputs.values;
        assert.equal(values.metricsScraper.enabled, false);
        assert.deepEqual(values.api.containers.args, ["--metrics-provider=none"]);
        for (const part of ["auth", "api", "web"]) {
            assert.deepEqual(values[part].containers.resources.requests, { cpu: "25m", memory: "64Mi" }, part);
        }
        assert.equal(values.kong.proxy, undefined, "Kong's own proxy Service stays ClusterIP and TLS only, as the chart sets it");
    });

    it("serves Kong's TLS port on the fixed nodePort, mapped to 127.0.0.1 only while it is on", async () => {
        const svc = run.get("observability-kubernetes-dashboard-ui");
        assert.equal(svc.parent, "observability");
        assert.deepEqual(svc.inputs.spec, {
            type: "NodePort",
            selector: {
                "app.kubernetes.io/name": "kong",
                "app.kubernetes.io/instance": "kubernetes-dashboard",
                "app.kubernetes.io/component": "app",
            },
            ports: [{ name: "https", port: 443, targetPort: 8443, nodePort: NODE_PORTS.kubernetesDashboard }],
        });
        await validateManifest({ apiVersion: "v1", kind: "Service", ...svc.inputs } as never);
        assert.deepEqual(
            kindPortMappings(run).find((m) => m.hostPort === 8444),
            { containerPort: NODE_PORTS.kubernetesDashboard, hostPort: 8444, listenAddress: "127.0.0.1", protocol: "TCP" },
        );
        assert.equal((await resolve(run.outputs.kubernetesDashboardUrl as never)).value, "https://localhost:8444");
    });

    it("logs in as a dedicated, read-only service account whose token is exported only as a secret", async () => {
        const login = run.get("observability-kubernetes-dashboard-user");
        assert.equal(login.type, "istio-mesh:index:LoginToken");
        assert.equal(login.parent, "observability");
        const sa = run.get("observability-kubernetes-dashboard-user-sa");
        assert.equal(sa.inputs.automountServiceAccountToken, false);
        assert.equal(sa.inputs.metadata.namespace, "observability");
        const binding = run.get("observability-kubernetes-dashboard-user-binding");
        assert.deepEqual(binding.inputs.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" });
        assert.equal(binding.inputs.subjects[0].kind, "ServiceAccount");
        assert.deepEqual(binding.dataDeps, ["observability-kubernetes-dashboard-user-sa"], "the binding names the account it grants");
        const secret = run.get("observability-kubernetes-dashboard-user-token");
        assert.equal(secret.inputs.type, "kubernetes.io/service-account-token");
        assert.deepEqual(secret.dataDeps, ["observability-kubernetes-dashboard-user-sa"], "the token Secret is created after its account");
        assert.ok(secret.additionalSecretOutputs.includes("data"), "the token is secret in the state too");
        const account = `observability-kubernetes-dashboard-user-sa${AUTONAME_SUFFIX}`;
        assert.deepEqual(binding.inputs.subjects, [{ kind: "ServiceAccount", name: account, namespace: "observability" }]);
        assert.equal(secret.inputs.metadata.annotations["kubernetes.io/service-account.name"], account);
        for (const [r, apiVersion, kind] of [
            [sa, "v1", "ServiceAccount"],
            [binding, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding"],
            [secret, "v1", "Secret"],
        ] as const) {
            assert.equal(r.parent, "observability-kubernetes-dashboard-user");
            await validateManifest({ apiVersion, kind, ...r.inputs, metadata: { name: r.name, ...r.inputs.metadata } } as never);
        }
        assert.deepEqual(await resolve(run.outputs.kubernetesDashboardToken as never), { value: FAKE_SA_TOKEN, secret: true });
    });

    it("waits for neither Istio nor Bookinfo, and is checked after deploy without verifying its self-signed certificate", () => {
        for (const r of run.resources.filter((x) => x.name.startsWith("observability-kubernetes-dashboard"))) {
            assert.ok(!run.waitsFor(r.name).has("istio-ready"), `${r.name} waits for istio-ready`);
            assert.ok(![...run.waitsFor(r.name)].some((n) => n.startsWith("bookinfo")), `${r.name} waits for Bookinfo`);
        }
        assert.deepEqual(verifyTargets(run).find((e) => e.name === "Kubernetes Dashboard")?.target, {
            via: "url",
            url: "https://localhost:8444/",
            skipTlsVerify: true,
        });
    });

    it("binds the token to the ClusterRole asked for", async () => {
        const admin = await runStack("dev", on({ access: "cluster-admin" }));
        assert.equal(admin.get("observability-kubernetes-dashboard-user-binding").inputs.roleRef.name, "cluster-admin");
    });
});

describe("Kubernetes Dashboard config", () => {
    it("names the key, the value and the fix for a bad access level or an unknown key", async () => {
        await assert.rejects(
            runStack("dev", on({ access: "admin" })),
            /observability\.kubernetesDashboard\.access must be one of "view", "edit", "cluster-admin" \(got "admin"\)/,
        );
        await assert.rejects(
            runStack("dev", on({ port: 9443 })),
            /observability\.kubernetesDashboard\.port is not a known setting \(got 9443\)\. Fix: use one of enabled, access\./,
        );
    });

    it("checks its host port against the others only when it is mapped", async () => {
        const ports = { [`${K}kind`]: { hostPorts: { grafana: 8444 } } };
        const off = await runStack("dev", ports);
        assert.ok(off.find("observability-grafana"), "a port the Dashboard would use is free to take while it is off");
        await assert.rejects(
            runStack("dev", { ...ports, ...on() }),
            /kind\.hostPorts\.kubernetesDashboard must differ from kind\.hostPorts\.grafana \(both got 8444\)/,
        );
    });
});

describe("Kubernetes Dashboard on an existing cluster", () => {
    it("passes its TLS through its own gateway port, for the allowed ranges only", async () => {
        const run = await runStack("prod", {
            [`${K}kubeconfig`]: KUBECONFIG,
            [`${K}observability`]: {
                kubernetesDashboard: { enabled: true },
                gatewayExposure: { sourceRanges: ["203.0.113.0/24"] },
            },
        });
        const ports = run.get("istio-gateway").inputs.values.service.ports as { name: string; port: number; targetPort: number }[];
        assert.deepEqual(ports.at(-1), { name: "tcp-kubernetes-dashboard", port: 8443, protocol: "TCP", targetPort: 8443 });
        const server = run.get("observability-gateway-addons").inputs.spec.servers.at(-1);
        assert.deepEqual(server, { port: { number: 8443, name: "tcp-kubernetes-dashboard", protocol: "TCP" }, hosts: ["*"] });
        const vs = run.get("observability-virtualservice-kubernetes-dashboard-ui").inputs.spec;
        assert.equal(vs.http, undefined);
        assert.deepEqual(vs.tcp, [
            {
                match: [{ port: 8443 }],
                route: [
                    { destination: { host: "kubernetes-dashboard-kong-proxy.observability.svc.cluster.local", port: { number: 443 } } },
                ],
            },
        ]);
        const policy = run.get("observability-authorizationpolicy-addons-source-ranges").inputs.spec;
        assert.ok(policy.rules[0].to[0].operation.ports.includes("8443"));
        for (const r of run.resources.filter((x) => x.parent === "observability" && /istio\.io/.test(x.type))) {
            await validateManifest(r.inputs as never);
        }
        assert.equal(run.find("observability-kubernetes-dashboard-ui"), undefined, "no NodePort off kind");
        assert.equal((await resolve(run.outputs.kubernetesDashboardUrl as never)).value, `https://${LOAD_BALANCER_IP}:8443`);
        assert.deepEqual(verifyTargets(run).find((e) => e.name === "Kubernetes Dashboard")?.target, {
            via: "url",
            url: `https://${LOAD_BALANCER_IP}:8443/`,
            skipTlsVerify: true,
        });
    });

    it("stays in-cluster without gateway exposure, and is checked through the API server over https", async () => {
        const run = await runStack("prod", { [`${K}kubeconfig`]: KUBECONFIG, ...on() });
        assert.equal(
            (await resolve(run.outputs.kubernetesDashboardUrl as never)).value,
            "https://kubernetes-dashboard-kong-proxy.observability.svc.cluster.local",
        );
        assert.deepEqual(verifyTargets(run).find((e) => e.name === "Kubernetes Dashboard")?.target, {
            via: "apiProxy",
            scheme: "https",
            namespace: "observability",
            service: "kubernetes-dashboard-kong-proxy",
            port: 443,
            path: "/",
        });
    });
});
