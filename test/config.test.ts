import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, defaultKubeconfigPath, validateConfig } from "../components/config";
import { rawConfigFor } from "./harness";

const K = "istio-mesh:";

/** Validates dev's config with overrides and returns the problems (none when valid). */
function problems(env: string, extra: Record<string, unknown>): string[] {
    try {
        validateConfig(rawConfigFor(env, extra));
        return [];
    } catch (e) {
        if (e instanceof ConfigError) return [...e.problems];
        throw e;
    }
}

function expectProblem(env: string, extra: Record<string, unknown>, expected: string): void {
    const found = problems(env, extra);
    assert.ok(found.includes(expected), `expected problem:\n  ${expected}\ngot:\n  ${found.join("\n  ") || "(none)"}`);
}

describe("config validation", () => {
    it("accepts every committed environment (prod with a kubeconfig)", () => {
        assert.deepEqual(problems("dev", {}), []);
        assert.deepEqual(problems("staging", {}), []);
        assert.deepEqual(problems("prod", { [`${K}kubeconfig`]: "apiVersion: v1" }), []);
    });

    it("returns a frozen config", () => {
        const cfg = validateConfig(rawConfigFor("dev"));
        assert.ok(Object.isFrozen(cfg));
        assert.ok(Object.isFrozen(cfg.kind));
        assert.ok(Object.isFrozen(cfg.kind?.zones));
    });

    it("rejects an unknown cluster mode naming the key, value and fix", () => {
        expectProblem(
            "dev",
            { [`${K}clusterMode`]: "minikube" },
            `clusterMode must be one of "kind", "existing" (got "minikube"). Fix: pulumi config set clusterMode kind --stack dev`,
        );
    });

    it("rejects a cluster name that is not a DNS-1123 label", () => {
        expectProblem(
            "dev",
            { [`${K}clusterName`]: "Istio_Dev" },
            `clusterName must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit, at most 40 characters (got "Istio_Dev"). Fix: pulumi config set clusterName istio-dev --stack dev`,
        );
    });

    it("rejects kind.workers above 5 naming the key", () => {
        expectProblem("dev", { [`${K}kind`]: { workers: 7 } }, "kind.workers must be a whole number between 0 and 5 (got 7).");
    });

    it("rejects host ports out of range and duplicated", () => {
        const found = problems("dev", { [`${K}kind`]: { hostPorts: { http: 70000, grafana: 9090 } } });
        assert.ok(found.includes("kind.hostPorts.http must be a whole number between 1 and 65535 (got 70000)."), found.join("\n"));
        assert.ok(
            found.includes(
                "kind.hostPorts.grafana must differ from kind.hostPorts.prometheus (both got 9090). Fix: give each endpoint its own host port.",
            ),
            found.join("\n"),
        );
    });

    it("rejects a listen address that is not IPv4", () => {
        expectProblem(
            "dev",
            { [`${K}kind`]: { listenAddress: "localhost" } },
            `kind.listenAddress must be an IPv4 address such as "127.0.0.1" (got "localhost").`,
        );
    });

    it("rejects zone labels that are not label values, and more zones than nodes", () => {
        const found = problems("dev", { [`${K}kind`]: { zones: ["zone a", "b"] } });
        assert.ok(found.includes(`kind.zones entry "zone a" must be a Kubernetes label value.`), found.join("\n"));
        assert.ok(
            found.some((f) => f.startsWith("kind.zones names 2 zones but the cluster has only 1 node(s)")),
            found.join("\n"),
        );
    });

    it("rejects a registry mirror without a URL endpoint", () => {
        expectProblem(
            "dev",
            { [`${K}kind`]: { registryMirrors: [{ registry: "docker.io", endpoint: "mirror:5000" }] } },
            `kind.registryMirrors[0].endpoint must be an http:// or https:// URL (got "mirror:5000").`,
        );
    });

    it("rejects a typo in a structured key instead of ignoring it", () => {
        expectProblem(
            "dev",
            { [`${K}kind`]: { worker: 2 } },
            "kind.worker is not a known setting (got 2). Fix: use one of workers, nodeImage, region, zones, listenAddress, hostPorts, registryMirrors, preloadImages, exportKubeconfig.",
        );
    });

    it("leaves the user's kubeconfig alone unless kind.exportKubeconfig asks for the merge", () => {
        assert.equal(validateConfig(rawConfigFor("dev")).kind?.exportKubeconfig, false);
        assert.equal(validateConfig(rawConfigFor("staging")).kind?.exportKubeconfig, false);
        // `pulumi config set --path kind.exportKubeconfig true` stores a boolean; a string from YAML is read too.
        assert.equal(validateConfig(rawConfigFor("dev", { [`${K}kind`]: { exportKubeconfig: true } })).kind?.exportKubeconfig, true);
        assert.equal(validateConfig(rawConfigFor("dev", { [`${K}kind`]: { exportKubeconfig: "true" } })).kind?.exportKubeconfig, true);
        expectProblem("dev", { [`${K}kind`]: { exportKubeconfig: "yes" } }, `kind.exportKubeconfig must be true or false (got "yes").`);
    });

    it("reports every problem at once", () => {
        const found = problems("dev", { [`${K}meshMode`]: "proxyless", [`${K}kind`]: { workers: -1 } });
        assert.equal(found.length, 2, found.join("\n"));
    });

    it("tells prod users which command sets the missing kubeconfig", () => {
        expectProblem(
            "prod",
            {},
            `kubeconfig is required when clusterMode is "existing" (got nothing). Fix: pulumi config set --secret kubeconfig --stack prod < ~/.kube/config   (or name a context of your kubeconfig file: pulumi config set kubeContext my-context --stack prod)`,
        );
    });

    it("keeps the existing cluster's kubeconfig secret", async () => {
        const cfg = validateConfig(rawConfigFor("prod", { [`${K}kubeconfig`]: "apiVersion: v1" }));
        assert.equal(await pulumi.isSecret(cfg.existing!.kubeconfig), true);
    });

    it("reads a context's kubeconfig from the default file and keeps it secret", async () => {
        const raw = {
            ...rawConfigFor("prod", { [`${K}kubeContext`]: "prod-admin" }),
            kubeconfigFile: { path: "/home/u/.kube/config", content: "apiVersion: v1" },
        };
        const cfg = validateConfig(raw);
        assert.equal(cfg.existing?.context, "prod-admin");
        assert.equal(await pulumi.isSecret(cfg.existing!.kubeconfig), true);
    });

    it("finds the kubeconfig file as kubectl does", () => {
        assert.equal(defaultKubeconfigPath({ KUBECONFIG: "/a/config:/b/config" }), "/a/config");
        assert.match(defaultKubeconfigPath({}), /\.kube[/\\]config$/);
    });

    it("rejects kind settings on an existing cluster", () => {
        const found = problems("prod", { [`${K}kubeconfig`]: "x", [`${K}kind`]: { workers: 1 } });
        assert.ok(
            found.some((f) => f.startsWith('kind is set but clusterMode is "existing"')),
            found.join("\n"),
        );
    });

    it("asks for the source ranges before exposing the addon UIs through the gateway, and only on existing clusters", () => {
        const prod = { [`${K}kubeconfig`]: "apiVersion: v1" };
        expectProblem(
            "prod",
            { ...prod, [`${K}observability`]: { gatewayExposure: {} } },
            "observability.gatewayExposure.sourceRanges must list the client address ranges allowed to open the UIs (got nothing). Fix: pulumi config set --path 'observability.gatewayExposure.sourceRanges[0]' 203.0.113.0/24 (Prometheus and Jaeger have no login of their own).",
        );
        expectProblem(
            "prod",
            { ...prod, [`${K}observability`]: { gatewayExposure: { sourceRanges: ["10.0.0.0/33", "office"] } } },
            'observability.gatewayExposure.sourceRanges entry "10.0.0.0/33" must be a CIDR such as "203.0.113.0/24".',
        );
        expectProblem(
            "dev",
            { [`${K}observability`]: { gatewayExposure: { sourceRanges: ["10.0.0.0/8"] } } },
            'observability.gatewayExposure applies to existing clusters only (got it with clusterMode "kind", where every UI already has a host port). Fix: remove observability.gatewayExposure.',
        );
        assert.deepEqual(
            problems("prod", { ...prod, [`${K}observability`]: { gatewayExposure: { sourceRanges: ["10.0.0.0/8", "fd00::/8"] } } }),
            [],
        );
        expectProblem(
            "prod",
            { ...prod, [`${K}istio`]: { removeCrdsOnDestroy: "yes" } },
            'istio.removeCrdsOnDestroy must be true or false (got "yes").',
        );
    });
});
