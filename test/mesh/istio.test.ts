import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { gatewayApiCrdUrl } from "../../components/versions";
import { NODE_PORTS } from "../../components/ports";
import { gatewayValues, mergeValues, meshConfig } from "../../components/mesh/istioValues";
import { baseUrl, hostForListenAddress, joinUrl, loadBalancerHost } from "../../components/urls";
import { EXISTING_KUBECONFIG, FAKE_KUBECONFIG, inputValue, resolve, Run, runStack } from "../harness";

const RELEASE = "kubernetes:helm.sh/v3:Release";
/** Istio 1.31.1 from its Helm repository on blob.istio.io (the GCP hosting is retired). */
const ISTIO_VERSION = "1.31.1";
const ISTIO_HELM_REPO = "https://blob.istio.io/istio-release/charts";
const K = "istio-mesh:";

/** Every Istio or Gateway API object the stack creates directly. */
function meshObjects(run: Run) {
    return run.resources.filter(
        (r) =>
            r.type.startsWith("kubernetes:") && /(istio\.io|gateway\.networking\.k8s\.io)/.test(`${r.type} ${r.inputs.apiVersion ?? ""}`),
    );
}

describe("Istio mesh: dev (sidecar)", () => {
    let run: Run;
    before(async () => {
        run = await runStack("dev");
    });

    it("installs base, istiod and the gateway at Istio 1.31.1 from blob.istio.io", () => {
        const releases = run.ofType(RELEASE).filter((r) => r.parent === "istio");
        assert.deepEqual(releases.map((r) => r.inputs.chart).sort(), ["base", "gateway", "istiod"]);
        for (const r of releases) {
            assert.equal(r.inputs.version, ISTIO_VERSION, `${r.name} version`);
            assert.equal(r.inputs.repositoryOpts.repo, ISTIO_HELM_REPO, `${r.name} repo`);
            assert.equal(r.inputs.atomic, true, `${r.name} atomic`);
        }
    });

    it("installs the Gateway API CRDs, then base, then istiod: Istio's order for Helm upgrades", () => {
        assert.deepEqual(run.get("istio-base").dependsOn, ["gateway-api-bundle"]);
        assert.deepEqual(run.get("istio-istiod").dependsOn, ["istio-base"]);
    });

    it("applies the Gateway API CRDs from the versioned release asset", () => {
        assert.equal(run.get("gateway-api-bundle").inputs.file, gatewayApiCrdUrl("standard"));
        assert.match(gatewayApiCrdUrl("standard"), /\/releases\/download\/v1\.6\.1\/standard-install\.yaml$/);
    });

    it("gates on istiod's webhooks, then installs the gateway", () => {
        const gate = run.get("istio-ready");
        assert.deepEqual(gate.dependsOn, ["istio-istiod"]);
        assert.equal((inputValue(gate.inputs.environment).value as any).MESH_MODE, "sidecar");
        // the probes run in Istio's and the ingress namespace, taken from the Namespace resources
        assert.equal((inputValue(gate.inputs.environment).value as any).ISTIO_NAMESPACE, "istio-system");
        assert.equal((inputValue(gate.inputs.environment).value as any).INGRESS_NAMESPACE, "istio-ingress");
        assert.ok(gate.dataDeps.includes("istio-ingress-ns") && gate.dataDeps.includes("istio-system-ns"), gate.dataDeps.join(","));
        assert.equal(gate.inputs.create, "node --require ts-node/register/transpile-only scripts/meshReady.ts");
        assert.deepEqual(run.get("istio-gateway").dependsOn, ["istio-ready"]);
    });

    it("passes the kubeconfig to the gate as a secret", () => {
        const env = inputValue(run.get("istio-ready").inputs.environment);
        assert.equal(env.secret, true);
        assert.equal((env.value as any).MESH_KUBECONFIG, FAKE_KUBECONFIG);
    });

    it("exposes the gateway as a NodePort whose nodePorts equal the kind port mappings", () => {
        const values = run.get("istio-gateway").inputs.values;
        assert.equal(values.service.type, "NodePort");
        const byName = Object.fromEntries(values.service.ports.map((p: any) => [p.name, p]));
        assert.equal(byName.http2.nodePort, NODE_PORTS.http);
        assert.equal(byName.https.nodePort, NODE_PORTS.https);
        const kind = parse(run.get("kind-cluster").inputs.stdin) as {
            nodes: { extraPortMappings?: { containerPort: number; hostPort: number }[] }[];
        };
        const mappings = kind.nodes[0].extraPortMappings ?? [];
        assert.ok(mappings.some((m) => m.containerPort === byName.http2.nodePort && m.hostPort === 8080));
        assert.ok(mappings.some((m) => m.containerPort === byName.https.nodePort && m.hostPort === 8443));
        assert.equal(values.autoscaling.enabled, false);
        assert.equal(run.get("istio-gateway").inputs.namespace, "istio-ingress");
    });

    it("sets mesh-wide STRICT mutual TLS after the gate", () => {
        const pa = run.get("istio-peer-authentication");
        assert.equal(pa.inputs.kind, "PeerAuthentication");
        assert.equal(pa.inputs.metadata.namespace, "istio-system");
        assert.equal(pa.inputs.spec.mtls.mode, "STRICT");
    });

    it("makes every Istio and Gateway API object wait for the readiness gate", () => {
        const objects = meshObjects(run);
        assert.ok(objects.length > 0);
        for (const o of objects) assert.ok(run.waitsFor(o.name).has("istio-ready"), `${o.type}::${o.name} does not wait for istio-ready`);
    });

    it("exports the version, mode and the ingress URL on the kind host port", async () => {
        assert.equal((await resolve(run.outputs.istioVersion as never)).value, ISTIO_VERSION);
        assert.equal((await resolve(run.outputs.meshMode as never)).value, "sidecar");
        assert.equal((await resolve(run.outputs.ingressGatewayUrl as never)).value, "http://localhost:8080");
    });

    it("does not install cni or ztunnel in sidecar mode", () => {
        assert.equal(run.find("istio-cni"), undefined);
        assert.equal(run.find("istio-ztunnel"), undefined);
    });
});

describe("Istio mesh: staging (ambient)", () => {
    let run: Run;
    before(async () => {
        run = await runStack("staging");
    });

    it("installs base, istiod, then cni and ztunnel, then the gate, then the gateway", () => {
        assert.deepEqual(run.get("istio-cni").dependsOn, ["istio-istiod"]);
        assert.deepEqual(run.get("istio-ztunnel").dependsOn, ["istio-istiod"]);
        assert.deepEqual(run.get("istio-ready").dependsOn.sort(), ["istio-cni", "istio-istiod", "istio-ztunnel"]);
        assert.deepEqual(run.get("istio-gateway").dependsOn, ["istio-ready"]);
        for (const r of run.ofType(RELEASE).filter((x) => x.parent === "istio")) assert.equal(r.inputs.version, ISTIO_VERSION);
    });

    it("pulls every Istio image from docker.io/istio: istiod's hub (the injector's too), cni's and ztunnel's", () => {
        assert.equal(run.get("istio-istiod").inputs.values.global.hub, "docker.io/istio");
        assert.equal(run.get("istio-cni").inputs.values.global.hub, "docker.io/istio");
        // the ztunnel chart reads a top-level hub
        assert.equal(run.get("istio-ztunnel").inputs.values.hub, "docker.io/istio");
    });

    it("sets the ambient profile on istiod and cni", () => {
        assert.equal(run.get("istio-istiod").inputs.values.profile, "ambient");
        assert.equal(run.get("istio-cni").inputs.values.profile, "ambient");
        assert.equal((inputValue(run.get("istio-ready").inputs.environment).value as any).MESH_MODE, "ambient");
    });

    it("maps the gateway nodePorts to staging's own host ports", () => {
        const kind = parse(run.get("kind-cluster").inputs.stdin) as {
            nodes: { extraPortMappings?: { containerPort: number; hostPort: number }[] }[];
        };
        assert.ok((kind.nodes[0].extraPortMappings ?? []).some((m) => m.containerPort === NODE_PORTS.http && m.hostPort === 18080));
    });

    it("makes every Istio and Gateway API object wait for the readiness gate", () => {
        for (const o of meshObjects(run))
            assert.ok(run.waitsFor(o.name).has("istio-ready"), `${o.type}::${o.name} does not wait for istio-ready`);
    });
});

describe("Istio mesh: options", () => {
    it("skips the Gateway API CRDs when the cluster has them", async () => {
        const run = await runStack("dev", { [`${K}istio`]: { gatewayApi: { install: false } } });
        assert.equal(run.find("gateway-api-bundle"), undefined);
        assert.deepEqual(run.get("istio-base").dependsOn, []);
    });

    it("reads the CRDs from a local file for air-gapped machines", async () => {
        // a file that exists: the config check looks for it
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "crds-")), "standard-install.yaml");
        fs.writeFileSync(file, "# Gateway API CRDs\n");
        const run = await runStack("dev", { [`${K}istio`]: { gatewayApi: { localFile: file } } });
        assert.equal(run.get("gateway-api-bundle").inputs.file, file);
        fs.rmSync(path.dirname(file), { recursive: true });
    });

    it("runs the gateway as a DaemonSet on the tainted control-plane node of a multi-node kind cluster", async () => {
        const run = await runStack("staging", { [`${K}istio`]: { gateway: { kind: "DaemonSet" } } });
        const values = run.get("istio-gateway").inputs.values;
        assert.equal(values.kind, "DaemonSet");
        assert.deepEqual(values.nodeSelector, { "ingress-ready": "true" });
        // kind keeps the control plane's NoSchedule taint when there are workers
        assert.deepEqual(values.tolerations, [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" }]);
        assert.equal(values.replicaCount, undefined);
        const kind = parse(run.get("kind-cluster").inputs.stdin) as { nodes: { role: string; labels: Record<string, string> }[] };
        const selected = kind.nodes.filter((n) => Object.entries(values.nodeSelector).every(([k, v]) => n.labels[k] === v));
        assert.deepEqual(
            selected.map((n) => n.role),
            ["control-plane"],
        );
    });

    it("adds no toleration to a Deployment gateway", () => {
        const v = gatewayValues({
            replicas: 2,
            kind: "Deployment",
            nodeSelector: { "ingress-ready": "true" },
            exposure: { type: "LoadBalancer" },
        });
        assert.equal(v.tolerations, undefined);
        assert.equal(v.nodeSelector, undefined);
    });

    it("merges the escape-hatch values over the stack's own", async () => {
        const run = await runStack("dev", {
            [`${K}istio`]: { extraValues: { istiod: { pilot: { env: { PILOT_TRACE_SAMPLING: "5" } }, replicaCount: 3 } } },
        });
        const values = run.get("istio-istiod").inputs.values;
        assert.equal(values.replicaCount, 3);
        assert.equal(values.pilot.env.PILOT_TRACE_SAMPLING, "5");
        assert.equal(values.meshConfig.outboundTrafficPolicy.mode, "ALLOW_ANY");
    });

    it("uses a LoadBalancer on an existing cluster and never pins nodePorts there", async () => {
        const run = await runStack("prod", { [`${K}kubeconfig`]: EXISTING_KUBECONFIG });
        const values = run.get("istio-gateway").inputs.values;
        assert.equal(values.service.type, "LoadBalancer");
        assert.ok(values.service.ports.every((p: any) => p.nodePort === undefined));
        // prod upgrades through revisions: its istiod is the pinned version's revision
        const istiod = run.get(`istio-istiod-${ISTIO_VERSION.replaceAll(".", "-")}`).inputs.values;
        assert.equal(istiod.replicaCount, 2);
        assert.equal(istiod.global.defaultPodDisruptionBudget.enabled, true);
        // two gateway pods, restarted one new pod at a time, with a disruption budget
        assert.equal(values.replicaCount, 2);
        assert.deepEqual(values.strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
        assert.deepEqual(values.podDisruptionBudget, { minAvailable: 1 });
    });
});

describe("Istio values and URLs", () => {
    it("builds meshConfig with access logs, outbound policy, locality and providers", () => {
        const m = meshConfig({
            accessLogs: true,
            outboundTrafficPolicy: "REGISTRY_ONLY",
            localityLoadBalancing: true,
            tracing: { name: "jaeger", service: "jaeger-collector.observability.svc.cluster.local", port: 4317 },
            extAuthz: { name: "ext-authz", service: "authz.auth.svc.cluster.local", port: 9000 },
        });
        assert.equal(m.accessLogFile, "/dev/stdout");
        assert.deepEqual(m.outboundTrafficPolicy, { mode: "REGISTRY_ONLY" });
        assert.deepEqual(m.localityLbSetting, { enabled: true });
        assert.deepEqual(m.extensionProviders, [
            { name: "jaeger", opentelemetry: { service: "jaeger-collector.observability.svc.cluster.local", port: 4317 } },
            { name: "ext-authz", envoyExtAuthzGrpc: { service: "authz.auth.svc.cluster.local", port: 9000 } },
        ]);
        assert.equal(
            meshConfig({ accessLogs: false, outboundTrafficPolicy: "ALLOW_ANY", localityLoadBalancing: false }).accessLogFile,
            undefined,
        );
    });

    it("merges values like Helm: maps deeply, lists replaced", () => {
        assert.deepEqual(mergeValues({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: 2 }), { a: { b: 1, c: [3] }, d: 1, e: 2 });
    });

    it("builds URLs for kind hosts and load balancers", () => {
        assert.equal(hostForListenAddress("127.0.0.1"), "localhost");
        assert.equal(hostForListenAddress("192.168.1.10"), "192.168.1.10");
        assert.equal(baseUrl("http", "localhost", 8080), "http://localhost:8080");
        assert.equal(baseUrl("https", "example.com", 443), "https://example.com");
        assert.equal(loadBalancerHost({ loadBalancer: { ingress: [{ ip: "203.0.113.7" }] } }), "203.0.113.7");
        assert.equal(loadBalancerHost({ loadBalancer: { ingress: [{ hostname: "lb.example.com", ip: "" }] } }), "lb.example.com");
        assert.equal(loadBalancerHost({}), undefined);
        assert.equal(joinUrl("http://localhost:8080/", "/productpage"), "http://localhost:8080/productpage");
    });
});
