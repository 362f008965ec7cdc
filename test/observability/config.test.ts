import { strict as assert } from "assert";
import { validateConfig } from "../../components/config";
import { EXISTING_KUBECONFIG, rawConfigFor } from "../harness";
import { expectProblem, K, problems } from "../configProblems";

describe("observability config", () => {
    it("asks for the source ranges before exposing the addon UIs through the gateway, and only on existing clusters", () => {
        const prod = { [`${K}kubeconfig`]: EXISTING_KUBECONFIG };
        expectProblem(
            "prod",
            { ...prod, [`${K}observability`]: { gatewayExposure: {} } },
            "observability.gatewayExposure.sourceRanges must list the client address ranges allowed to open the UIs (got nothing). Fix: pulumi config set --path 'observability.gatewayExposure.sourceRanges[0]' 203.0.113.0/24 (Prometheus and Jaeger have no login of their own).",
        );
        expectProblem(
            "prod",
            { ...prod, [`${K}observability`]: { gatewayExposure: { sourceRanges: ["10.0.0.0/33", "office"] } } },
            `observability.gatewayExposure.sourceRanges[0] must be a CIDR such as "203.0.113.0/24" (got "10.0.0.0/33").`,
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

    it("refuses addon options that have no effect with the addon off", () => {
        const o = (observability: unknown) => problems("dev", { [`${K}observability`]: observability });
        assert.deepEqual(o({ jaeger: false, tracingSamplingPercent: 5 }), [
            "observability.tracingSamplingPercent has no effect with observability.jaeger false (got 5): nothing receives the traces. Fix: remove it, or turn Jaeger on.",
        ]);
        assert.deepEqual(o({ kiali: false, kialiAuth: "token" }), [
            `observability.kialiAuth has no effect with observability.kiali false (got "token"). Fix: remove it, or turn Kiali on.`,
        ]);
        assert.deepEqual(o({ headlamp: { access: "edit" } }), [
            `observability.headlamp.access has no effect while Headlamp is off (got "edit"). Fix: pulumi config set --path observability.headlamp.enabled true, or remove the access.`,
        ]);
    });

    it("refuses source ranges Node cannot parse", () => {
        const ranges = (sourceRanges: string[]) =>
            problems("prod", { [`${K}kubeconfig`]: EXISTING_KUBECONFIG, [`${K}observability`]: { gatewayExposure: { sourceRanges } } });
        assert.deepEqual(ranges(["1::2::3/64", "010.0.0.0/8"]), [
            `observability.gatewayExposure.sourceRanges[0] must be a CIDR such as "203.0.113.0/24" (got "1::2::3/64").`,
            `observability.gatewayExposure.sourceRanges[1] must be a CIDR such as "203.0.113.0/24" (got "010.0.0.0/8").`,
        ]);
        assert.deepEqual(ranges(["2001:db8::/32", "10.0.0.0/8"]), []);
    });

    it("reports every rule an addon breaks, each once its own settings are right", () => {
        assert.deepEqual(problems("dev", { [`${K}observability`]: { prometheus: false, jaeger: false, tracingSamplingPercent: 50 } }), [
            "observability.grafana needs observability.prometheus (got grafana true, prometheus false). Fix: enable prometheus or disable grafana.",
            "observability.kiali needs observability.prometheus (got kiali true, prometheus false). Fix: enable prometheus or disable kiali.",
            "observability.tracingSamplingPercent has no effect with observability.jaeger false (got 50): nothing receives the traces. Fix: remove it, or turn Jaeger on.",
        ]);
        assert.deepEqual(problems("dev", { [`${K}observability`]: { prometheus: false, kiali: "nope" } }), [
            `observability.kiali must be true or false (got "nope").`,
            "observability.grafana needs observability.prometheus (got grafana true, prometheus false). Fix: enable prometheus or disable grafana.",
        ]);
    });

    it("reads CIDRs as Node parses addresses, up to each family's prefix length", () => {
        const ranges = (sourceRanges: unknown) =>
            problems("prod", { [`${K}kubeconfig`]: EXISTING_KUBECONFIG, [`${K}observability`]: { gatewayExposure: { sourceRanges } } });
        assert.deepEqual(ranges(["0.0.0.0/0", "10.0.0.0/32", "::/128", "fd00::/8"]), []);
        for (const bad of ["10.0.0.0/33", "::/129", "10.0.0.0", "10.0.0.0/8/8", "10.0.0.0/08", "x/8"]) {
            assert.deepEqual(
                ranges([bad]),
                [`observability.gatewayExposure.sourceRanges[0] must be a CIDR such as "203.0.113.0/24" (got ${JSON.stringify(bad)}).`],
                bad,
            );
        }
        assert.deepEqual(ranges([]), [
            "observability.gatewayExposure.sourceRanges must list the client address ranges allowed to open the UIs (got []). Fix: pulumi config set --path 'observability.gatewayExposure.sourceRanges[0]' 203.0.113.0/24 (Prometheus and Jaeger have no login of their own).",
        ]);
        assert.deepEqual(problems("dev", { [`${K}observability`]: { tracingSamplingPercent: 5, kialiAuth: "token" } }), []);
    });

    it("fills the defaults an addon's settings leave out", () => {
        const o = (observability: unknown) => validateConfig(rawConfigFor("dev", { [`${K}observability`]: observability })).observability;
        assert.deepEqual(o({}), {
            prometheus: true,
            grafana: true,
            jaeger: true,
            kiali: true,
            tracingSamplingPercent: 100,
            kialiAuth: "token",
            gatewayExposure: undefined,
            headlamp: undefined,
        });
        assert.deepEqual(o({ headlamp: { enabled: true } }).headlamp, { access: "view" });
        assert.equal(o({ tracingSamplingPercent: 0 }).tracingSamplingPercent, 0);
    });
});
