import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { EXISTING_KUBECONFIG, Recorded, Run, runStack } from "./harness";

const K = "istio-mesh:";

/** Fails unless `r` sits in `namespace` and takes that name from the Namespace resource `ns` (an input that is its output). */
function placedBy(r: Recorded, ns: string, namespace: string): void {
    assert.equal(r.inputs.metadata?.namespace, namespace, `${r.type}::${r.name} is not in ${namespace}`);
    assert.ok(
        r.dataDeps.includes(ns),
        `${r.type}::${r.name} does not take its namespace from ${ns}; its data comes from: ${r.dataDeps.join(", ")}`,
    );
}

describe("objects in the gateway and addon namespaces are ordered by data", () => {
    it("puts Bookinfo's Gateway API Gateway and its TLS Secret into istio-ingress through the Namespace resource", async () => {
        const run = await runStack("dev", {
            [`${K}bookinfo`]: { ingressApi: "gateway-api", tls: true },
            [`${K}ingressTlsCert`]: fs.readFileSync(path.join(__dirname, "fixtures", "self-signed.crt"), "utf8"),
            [`${K}ingressTlsKey`]: fs.readFileSync(path.join(__dirname, "fixtures", "self-signed.key"), "utf8"),
        });
        const gateway = run.get("bookinfo-gateway-bookinfo-gateway");
        assert.equal(gateway.type, "kubernetes:gateway.networking.k8s.io/v1:Gateway");
        placedBy(gateway, "istio-ingress-ns", "istio-ingress");
        placedBy(run.get("bookinfo-tls", "kubernetes:core/v1:Secret"), "istio-ingress-ns", "istio-ingress");
        // What lives in Bookinfo's own namespace is not tied to istio-ingress.
        const route = run.get("bookinfo-httproute-bookinfo");
        assert.equal(route.inputs.metadata.namespace, "bookinfo");
        assert.ok(!route.dataDeps.includes("istio-ingress-ns"), route.dataDeps.join(", "));
    });

    describe("with the addons exposed through the gateway", () => {
        let run: Run;
        before(async () => {
            run = await runStack("prod", {
                [`${K}kubeconfig`]: EXISTING_KUBECONFIG,
                [`${K}observability`]: { gatewayExposure: { sourceRanges: ["203.0.113.0/24"] } },
            });
        });

        it("puts the addon Gateway and every addon VirtualService into observability through its Namespace resource", () => {
            const routes = run.resources.filter(
                (r) => r.parent === "observability" && r.type === "kubernetes:networking.istio.io/v1:VirtualService",
            );
            assert.ok(routes.length >= 4, `expected one VirtualService per addon, got ${routes.map((r) => r.name).join(", ")}`);
            for (const r of [run.get("observability-gateway-addons"), ...routes]) placedBy(r, "observability-ns", "observability");
        });

        it("puts the AuthorizationPolicy that limits the addon ports into istio-ingress through its Namespace resource", () => {
            placedBy(run.get("observability-authorizationpolicy-addons-source-ranges"), "istio-ingress-ns", "istio-ingress");
        });
    });
});
