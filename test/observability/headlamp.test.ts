import { strict as assert } from "assert";
import { parse } from "yaml";
import { ConfigError, validateConfig } from "../../components/config";
import { apiProxyPath } from "../../components/verify/verification";
import {
    AUTONAME_SUFFIX,
    EXISTING_KUBECONFIG,
    FAKE_SA_TOKEN,
    inputValue,
    LOAD_BALANCER_IP,
    rawConfigFor,
    resolve,
    Run,
    runStack,
} from "../harness";
import { validateManifest } from "../schemas";

const K = "istio-mesh:";
const KUBECONFIG = EXISTING_KUBECONFIG;
const on = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    [`${K}observability`]: { headlamp: { enabled: true, ...extra } },
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

/** Every ClusterRoleBinding the program registers, by name, with the ClusterRole it grants. */
function clusterRoleBindings(run: Run): Record<string, string> {
    return Object.fromEntries(
        run.ofType("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").map((b) => [b.name, b.inputs.roleRef.name as string]),
    );
}

/** The problems validateConfig reports for dev with these overrides. */
function problems(extra: Record<string, unknown>): string[] {
    try {
        validateConfig(rawConfigFor("dev", extra));
        return [];
    } catch (e) {
        if (e instanceof ConfigError) return [...e.problems];
        throw e;
    }
}

describe("Headlamp: off by default", () => {
    it("installs nothing and exports nothing, but keeps its host port mapped so that turning it on never recreates the cluster", async () => {
        const run = await runStack("dev");
        assert.equal(run.find("observability-headlamp"), undefined);
        assert.equal(run.find("observability-headlamp-user"), undefined);
        assert.deepEqual(clusterRoleBindings(run), { "observability-kiali-user-binding": "kiali-viewer" });
        assert.deepEqual(
            kindPortMappings(run).find((m) => m.hostPort === 4466),
            { containerPort: 30079, hostPort: 4466, listenAddress: "127.0.0.1", protocol: "TCP" },
        );
        assert.equal((await resolve(run.outputs.headlampUrl as never)).value, undefined);
        assert.equal((await resolve(run.outputs.headlampToken as never)).value, undefined);
        assert.equal(
            verifyTargets(run).find((e) => e.name === "Headlamp"),
            undefined,
        );
    });
});

describe("Headlamp on kind", () => {
    let run: Run;
    before(async () => {
        run = await runStack("dev", on());
    });

    it("installs chart headlamp 0.45.0 from kubernetes-sigs' repository, without the chart's cluster-admin binding or its OIDC Secret", () => {
        const release = run.get("observability-headlamp");
        assert.equal(release.parent, "observability");
        assert.deepEqual(
            [release.inputs.chart, release.inputs.version, release.inputs.repositoryOpts.repo],
            ["headlamp", "0.45.0", "https://kubernetes-sigs.github.io/headlamp/"],
        );
        assert.equal(release.inputs.name, "headlamp", "the release name fixes the Service's name");
        assert.equal(release.inputs.namespace, "observability");
        assert.deepEqual(release.inputs.values, {
            podLabels: { "sidecar.istio.io/inject": "false" },
            clusterRoleBinding: { create: false },
            config: { unsafeUseServiceAccountToken: false, oidc: { secret: { create: false } } },
            securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
            },
            resources: { requests: { cpu: "25m", memory: "64Mi" }, limits: { memory: "512Mi" } },
        });
    });

    it("serves its HTTP port 4466 on nodePort 30079, mapped to 127.0.0.1:4466", async () => {
        const svc = run.get("observability-headlamp-ui");
        assert.equal(svc.parent, "observability");
        assert.deepEqual(svc.inputs.spec, {
            type: "NodePort",
            selector: { "app.kubernetes.io/name": "headlamp", "app.kubernetes.io/instance": "headlamp" },
            ports: [{ name: "http", port: 80, targetPort: 4466, nodePort: 30079 }],
        });
        await validateManifest({ apiVersion: "v1", kind: "Service", ...svc.inputs } as never);
        assert.deepEqual(
            kindPortMappings(run).find((m) => m.hostPort === 4466),
            { containerPort: 30079, hostPort: 4466, listenAddress: "127.0.0.1", protocol: "TCP" },
        );
        assert.equal((await resolve(run.outputs.headlampUrl as never)).value, "http://localhost:4466");
    });

    it("logs in as a dedicated service account bound to view, whose token is exported only as a secret", async () => {
        const login = run.get("observability-headlamp-user");
        assert.equal(login.type, "istio-mesh:index:LoginToken");
        assert.equal(login.parent, "observability");
        const sa = run.get("observability-headlamp-user-sa");
        assert.equal(sa.inputs.automountServiceAccountToken, false);
        assert.equal(sa.inputs.metadata.namespace, "observability");
        const binding = run.get("observability-headlamp-user-binding");
        assert.deepEqual(binding.inputs.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" });
        const account = `observability-headlamp-user-sa${AUTONAME_SUFFIX}`;
        assert.deepEqual(binding.inputs.subjects, [{ kind: "ServiceAccount", name: account, namespace: "observability" }]);
        assert.deepEqual(binding.dataDeps, ["observability-headlamp-user-sa"], "the binding names the account it grants");
        const secret = run.get("observability-headlamp-user-token");
        assert.equal(secret.inputs.type, "kubernetes.io/service-account-token");
        assert.equal(secret.inputs.metadata.annotations["kubernetes.io/service-account.name"], account);
        assert.ok(secret.additionalSecretOutputs.includes("data"), "the token is secret in the state too");
        for (const [r, apiVersion, kind] of [
            [sa, "v1", "ServiceAccount"],
            [binding, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding"],
            [secret, "v1", "Secret"],
        ] as const) {
            assert.equal(r.parent, "observability-headlamp-user");
            await validateManifest({ apiVersion, kind, ...r.inputs, metadata: { name: r.name, ...r.inputs.metadata } } as never);
        }
        assert.deepEqual(await resolve(run.outputs.headlampToken as never), { value: FAKE_SA_TOKEN, secret: true });
    });

    it("binds nothing to cluster-admin: only the login's view and Kiali's viewer role", () => {
        assert.deepEqual(clusterRoleBindings(run), {
            "observability-kiali-user-binding": "kiali-viewer",
            "observability-headlamp-user-binding": "view",
        });
        assert.equal(run.get("observability-headlamp").inputs.values.clusterRoleBinding.create, false);
    });

    it("waits for neither Istio nor Bookinfo, and the deployment check opens its page over plain HTTP", () => {
        for (const r of run.resources.filter((x) => x.name.startsWith("observability-headlamp"))) {
            assert.ok(!run.waitsFor(r.name).has("istio-ready"), `${r.name} waits for istio-ready`);
            assert.ok(![...run.waitsFor(r.name)].some((n) => n.startsWith("bookinfo")), `${r.name} waits for Bookinfo`);
        }
        assert.deepEqual(verifyTargets(run).find((e) => e.name === "Headlamp")?.target, { via: "url", url: "http://localhost:4466/" });
    });

    it("binds the token to the ClusterRole asked for", async () => {
        const admin = await runStack("dev", on({ access: "cluster-admin" }));
        assert.deepEqual(clusterRoleBindings(admin), {
            "observability-kiali-user-binding": "kiali-viewer",
            "observability-headlamp-user-binding": "cluster-admin",
        });
        assert.equal(
            admin.get("observability-headlamp").inputs.values.clusterRoleBinding.create,
            false,
            "the pod itself stays without rights",
        );
    });
});

describe("Headlamp config", () => {
    it("refuses the retired key of the UI it replaced, naming observability.headlamp", () => {
        assert.deepEqual(problems({ [`${K}observability`]: { kubernetesDashboard: { enabled: true } } }), [
            'observability.kubernetesDashboard is no longer supported (got {"enabled":true}): the Kubernetes Dashboard project is archived and its chart repository is gone. Fix: remove observability.kubernetesDashboard and use observability.headlamp, the cluster web UI that replaces it: pulumi config set --path observability.headlamp.enabled true',
        ]);
    });

    it("names the key, the value and the fix for a bad access level or an unknown key", () => {
        assert.deepEqual(problems(on({ access: "admin", port: 9443 })), [
            'observability.headlamp.access must be one of "view", "edit", "cluster-admin" (got "admin"). Fix: pulumi config set --path observability.headlamp.access view',
            "observability.headlamp.port is not a known setting (got 9443). Fix: use one of enabled, access.",
        ]);
        assert.deepEqual(validateConfig(rawConfigFor("dev", on({ access: "edit" }))).observability.headlamp, { access: "edit" });
        assert.equal(validateConfig(rawConfigFor("dev")).observability.headlamp, undefined);
    });

    it("checks its host port against the others whether or not it is on, since kind always maps it", () => {
        const taken = { [`${K}kind`]: { hostPorts: { grafana: 4466 } } };
        const clash =
            "kind.hostPorts.headlamp must differ from kind.hostPorts.grafana (both got 4466). Fix: give each endpoint its own host port.";
        assert.deepEqual(problems(taken), [clash]);
        assert.deepEqual(problems({ ...taken, ...on() }), [clash]);
    });
});

describe("Headlamp on an existing cluster", () => {
    it("is served as HTTP on its own gateway port 4466, for the allowed ranges only", async () => {
        const run = await runStack("prod", {
            [`${K}kubeconfig`]: KUBECONFIG,
            [`${K}observability`]: { headlamp: { enabled: true }, gatewayExposure: { sourceRanges: ["203.0.113.0/24"] } },
        });
        const ports = run.get("istio-gateway").inputs.values.service.ports as { name: string; port: number; targetPort: number }[];
        assert.deepEqual(ports.at(-1), { name: "http-headlamp", port: 4466, protocol: "TCP", targetPort: 4466 });
        const server = run.get("observability-gateway-addons").inputs.spec.servers.at(-1);
        assert.deepEqual(server, { port: { number: 4466, name: "http-headlamp", protocol: "HTTP" }, hosts: ["*"] });
        const vs = run.get("observability-virtualservice-headlamp-ui").inputs.spec;
        assert.deepEqual(vs, {
            hosts: ["*"],
            gateways: ["addons"],
            http: [
                {
                    match: [{ port: 4466 }],
                    route: [{ destination: { host: "headlamp.observability.svc.cluster.local", port: { number: 80 } } }],
                },
            ],
        });
        const policy = run.get("observability-authorizationpolicy-addons-source-ranges").inputs.spec;
        assert.deepEqual(policy.rules[0].to[0].operation.ports, ["9090", "3000", "16686", "20001", "4466"]);
        for (const r of run.resources.filter((x) => x.parent === "observability" && /istio\.io/.test(x.type))) {
            await validateManifest(r.inputs as never);
        }
        assert.equal(run.find("observability-headlamp-ui"), undefined, "no NodePort off kind");
        assert.equal((await resolve(run.outputs.headlampUrl as never)).value, `http://${LOAD_BALANCER_IP}:4466`);
        assert.deepEqual(verifyTargets(run).find((e) => e.name === "Headlamp")?.target, {
            via: "url",
            url: `http://${LOAD_BALANCER_IP}:4466/`,
        });
    });

    it("stays in-cluster without gateway exposure, and is checked through the API server's service proxy", async () => {
        const run = await runStack("prod", { [`${K}kubeconfig`]: KUBECONFIG, ...on() });
        assert.equal((await resolve(run.outputs.headlampUrl as never)).value, "http://headlamp.observability.svc.cluster.local");
        const target = verifyTargets(run).find((e) => e.name === "Headlamp")?.target;
        assert.deepEqual(target, { via: "apiProxy", namespace: "observability", service: "headlamp", port: 80, path: "/" });
        assert.equal(apiProxyPath(target as never), "/api/v1/namespaces/observability/services/http:headlamp:80/proxy/");
    });
});
