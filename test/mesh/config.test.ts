import { strict as assert } from "assert";
import { ConfigError, validateConfig } from "../../components/config";
import { rawConfigFor } from "../harness";
import { K, problems } from "../configProblems";

describe("mesh config: istio", () => {
    it("refuses a Gateway API bundle from a URL, or from a file that is not there", () => {
        const fix =
            "Fix: download standard-install.yaml of Gateway API v1.6.1 and pulumi config set --path istio.gatewayApi.localFile ./standard-install.yaml";
        const local = (localFile: string, exists: boolean) => {
            try {
                validateConfig(rawConfigFor("dev", { [`${K}istio`]: { gatewayApi: { localFile } } }), () => exists);
                return [];
            } catch (e) {
                return [...(e as ConfigError).problems];
            }
        };
        assert.deepEqual(local("http://example.com/standard-install.yaml", true), [
            `istio.gatewayApi.localFile must be a file on this machine (got "http://example.com/standard-install.yaml"): a URL would bring the CRDs unpinned and, over http, unauthenticated; the stack already applies the pinned release asset by default. ${fix}`,
        ]);
        assert.deepEqual(local("./standard-install.yaml", false), [
            `istio.gatewayApi.localFile must exist (got "./standard-install.yaml", which is not there). ${fix}`,
        ]);
        assert.deepEqual(local("./standard-install.yaml", true), []);
    });

    it("refuses extra values that reach a prototype or undo what the stack sets", () => {
        const found = problems("dev", {
            [`${K}istio`]: {
                extraValues: JSON.parse('{"istiod": {"pilot": {"__proto__": {"polluted": true}}, "meshConfig": {"accessLogFile": ""}}}'),
            },
        });
        assert.deepEqual(found, [
            "istio.extraValues.istiod.pilot.__proto__ is not a Helm value (got a key that names an object's prototype). Fix: remove it.",
            `istio.extraValues.istiod.meshConfig is set by the stack itself (got {"accessLogFile":""}): overriding it would undo what the stack wires together. Fix: remove it and use the stack's own setting (istio.meshConfig, istio.gateway, meshMode) where there is one.`,
        ]);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    it("refuses a local bundle with install off, which nothing would apply", () => {
        assert.ok(
            problems("dev", { [`${K}istio`]: { gatewayApi: { install: false, localFile: __filename } } }).includes(
                "istio.gatewayApi.localFile is set but istio.gatewayApi.install is false (got a file nothing would apply). Fix: pulumi config rm --path istio.gatewayApi.localFile",
            ),
        );
    });

    it("refuses gateway settings that have no effect with its kind", () => {
        const i = (istio: unknown) => problems("dev", { [`${K}istio`]: istio });
        assert.deepEqual(i({ gateway: { kind: "DaemonSet", replicas: 2 } }), [
            "istio.gateway.replicas has no effect on a DaemonSet gateway (got 2): it runs one pod per selected node. Fix: remove istio.gateway.replicas.",
        ]);
        assert.deepEqual(i({ gateway: { nodeSelector: { "ingress-ready": "true" } } }), [
            `istio.gateway.nodeSelector has no effect on a Deployment gateway (got {"ingress-ready":"true"}): it is read only with istio.gateway.kind DaemonSet. Fix: remove it, or set istio.gateway.kind DaemonSet.`,
        ]);
    });

    it("refuses limits below requests, unknown resources and node selector labels Kubernetes rejects", () => {
        assert.deepEqual(
            problems("dev", {
                [`${K}istio`]: { istiod: { resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "512Mi" } } } },
            }),
            [
                `istio.istiod.resources.limits.memory must not be below istio.istiod.resources.requests.memory (got a limit of "512Mi" for a request of "1Gi"). Fix: raise the limit or lower the request.`,
            ],
        );
        assert.deepEqual(
            problems("dev", { [`${K}istio`]: { istiod: { resources: { requests: { cpu: "100m", memory: "1Gi", gpu: "1" } } } } }),
            [`istio.istiod.resources.requests.gpu is not a known setting (got "1"). Fix: use one of cpu, memory.`],
        );
        assert.deepEqual(
            problems("dev", { [`${K}istio`]: { gateway: { kind: "DaemonSet", nodeSelector: { "ingress ready": "true" } } } }),
            [
                `istio.gateway.nodeSelector["ingress ready"] must be a Kubernetes label name (an optional DNS prefix and "/", then at most 63 letters, digits, "-", "_" or ".") with a label value (got "ingress ready": "true"). Fix: use a label your nodes carry, such as "ingress-ready": "true".`,
            ],
        );
    });

    it("reports an empty bundle path once, and prototype keys wherever they hide", () => {
        assert.deepEqual(problems("dev", { [`${K}istio`]: { gatewayApi: { localFile: "" } } }), [
            `istio.gatewayApi.localFile must be a non-empty string (got "").`,
        ]);
        assert.deepEqual(
            problems("dev", {
                [`${K}istio`]: { gateway: { kind: "DaemonSet", nodeSelector: JSON.parse('{"__proto__": "x", "ingress-ready": "true"}') } },
            }),
            [
                `istio.gateway.nodeSelector.__proto__ must be a Kubernetes label name (got "__proto__"). Fix: use a label your nodes carry, such as "ingress-ready": "true".`,
            ],
        );
        assert.deepEqual(
            problems("dev", { [`${K}istio`]: { extraValues: { istiod: JSON.parse('{"env": [{"__proto__": {"x": 1}}]}') } } }),
            ["istio.extraValues.istiod.env[0].__proto__ is not a Helm value (got a key that names an object's prototype). Fix: remove it."],
        );
    });

    it("draws the lines of label names, quantities and the disruption budget where Kubernetes does", () => {
        const selector = (nodeSelector: Record<string, string>) =>
            problems("dev", {
                [`${K}istio`]: { gateway: { kind: "DaemonSet", nodeSelector: { "ingress-ready": "true", ...nodeSelector } } },
            });
        for (const [name, value] of [
            ["example.com/edge", "a.b-c_d"],
            ["a", ""],
            ["x".repeat(63), "v".repeat(63)],
        ]) {
            assert.deepEqual(selector({ [name]: value }), [], name);
        }
        for (const [name, value] of [
            ["a/b/c", "x"],
            ["Example.com/x", "x"],
            ["example.com/", "x"],
            ["x".repeat(64), "x"],
            [`${"a".repeat(254)}/x`, "x"],
            ["edge", "-a"],
            ["edge", "v".repeat(64)],
        ]) {
            assert.equal(selector({ [name]: value }).length, 1, `${name}: ${value}`);
        }
        const resources = (r: unknown) => problems("dev", { [`${K}istio`]: { istiod: { resources: r } } });
        assert.deepEqual(resources({ requests: { cpu: "1.5", memory: "1Gi" }, limits: { cpu: "1500m", memory: "1Gi" } }), []);
        assert.deepEqual(resources({ requests: { cpu: "1" }, limits: { cpu: "500m" } }), [
            `istio.istiod.resources.limits.cpu must not be below istio.istiod.resources.requests.cpu (got a limit of "500m" for a request of "1"). Fix: raise the limit or lower the request.`,
        ]);
        assert.deepEqual(problems("dev", { [`${K}istio`]: { istiod: { podDisruptionBudget: true } } }), [
            "istio.istiod.podDisruptionBudget needs istio.istiod.replicas of 2 or more (got 1): with one replica a budget of minAvailable 1 blocks every node drain. Fix: raise the replicas or set podDisruptionBudget to false.",
        ]);
        assert.equal(
            validateConfig(rawConfigFor("dev", { [`${K}istio`]: { istiod: { replicas: 2, podDisruptionBudget: false } } })).istio.istiod
                .podDisruptionBudget,
            false,
        );
        assert.deepEqual(problems("dev", { [`${K}istio`]: { gateway: { kind: "DaemonSet" } } }), []);
        assert.match(
            problems("dev", { [`${K}istio`]: { gatewayApi: { localFile: "file:///tmp/standard-install.yaml" } } })[0],
            /must be a file on this machine/,
        );
    });
});
