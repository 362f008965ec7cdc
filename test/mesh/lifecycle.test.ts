import { strict as assert } from "assert";
import { inGroup, removeCrds } from "../../components/mesh/crdRemoval";
import { KubeApi } from "../../components/probe";
import { retainChildren } from "../../components/mesh/gatewayApiCrds";
import { REMOVE_CRDS_COMMAND } from "../../components/mesh/istioMesh";
import { EXISTING_KUBECONFIG, inputValue, Run, runStack } from "../harness";

const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

/** A fake API server holding CRDs; deleted ones linger for `linger` more listings. */
function crdServer(groups: Record<string, string>, linger = 0): KubeApi & { deleted: string[] } {
    const live = new Map(Object.entries(groups));
    const terminating = new Map<string, number>();
    const deleted: string[] = [];
    return {
        deleted,
        async request(method, p) {
            if (method === "GET" && p === CRDS) {
                for (const [name, left] of terminating) {
                    if (left <= 0) live.delete(name);
                    else terminating.set(name, left - 1);
                }
                return { status: 200, body: { items: [...live].map(([name, group]) => ({ metadata: { name }, spec: { group } })) } };
            }
            if (method === "DELETE" && p.startsWith(`${CRDS}/`)) {
                const name = p.slice(CRDS.length + 1);
                deleted.push(name);
                terminating.set(name, linger);
                return { status: 200, body: {} };
            }
            return { status: 404, body: {} };
        },
    };
}

const clock = () => {
    let t = 0;
    return { now: () => t, sleep: async (ms: number) => void (t += ms) };
};

describe("CRD removal on destroy", () => {
    const groups = {
        "virtualservices.networking.istio.io": "networking.istio.io",
        "authorizationpolicies.security.istio.io": "security.istio.io",
        "gateways.gateway.networking.k8s.io": "gateway.networking.k8s.io",
        "widgets.notistio.io": "notistio.io",
    };

    it("matches an API group and its subgroups only", () => {
        assert.equal(inGroup("networking.istio.io", "istio.io"), true);
        assert.equal(inGroup("istio.io", "istio.io"), true);
        assert.equal(inGroup("notistio.io", "istio.io"), false);
        assert.equal(inGroup("gateway.networking.k8s.io", "istio.io"), false);
    });

    it("deletes exactly the Istio CRDs and waits until they are gone", async () => {
        const api = crdServer(groups, 2);
        const removed = await removeCrds(api, "istio.io", { timeoutMs: 60000, intervalMs: 1000, ...clock() });
        assert.deepEqual(removed, ["authorizationpolicies.security.istio.io", "virtualservices.networking.istio.io"]);
        assert.deepEqual(api.deleted.sort(), removed);
    });

    it("reports CRDs that stay, with the reason, instead of stripping finalizers", async () => {
        const api = crdServer(groups, 1000);
        await assert.rejects(removeCrds(api, "istio.io", { timeoutMs: 4000, intervalMs: 2000, ...clock() }), {
            message:
                "removal of the istio.io CRDs was not ready after 4s (3 attempts). Last reason: 2 still terminating (authorizationpolicies.security.istio.io, virtualservices.networking.istio.io): objects of these kinds may carry finalizers whose controller is gone",
        });
    });

    it("does nothing when no CRD of the group is left", async () => {
        const api = crdServer({ "gateways.gateway.networking.k8s.io": "gateway.networking.k8s.io" });
        assert.deepEqual(await removeCrds(api, "istio.io", { timeoutMs: 1000, intervalMs: 100, ...clock() }), []);
        assert.deepEqual(api.deleted, []);
    });
});

describe("lifecycle in the program", () => {
    let dev: Run;
    before(async () => {
        dev = await runStack("dev");
    });

    it("keeps the CRDs by default: the Gateway API bundle and everything it creates are retained", async () => {
        const bundle = dev.get("gateway-api-bundle");
        assert.equal(bundle.retainOnDelete, true);
        // the first transform labels the objects as the stack's (test/cluster/ownership.test.ts), the second keeps them
        assert.equal(bundle.transforms.length, 2);
        assert.equal(bundle.transforms[1], retainChildren);
        const child = await retainChildren({
            type: "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
            name: "gateway-api-bundle:gateways.gateway.networking.k8s.io",
            custom: true,
            props: { kind: "CustomResourceDefinition" },
            opts: { parent: undefined },
        });
        assert.equal(child?.opts.retainOnDelete, true);
        assert.deepEqual(child?.props, { kind: "CustomResourceDefinition" });
        assert.equal(dev.find("istio-crd-cleanup"), undefined, "Istio's CRDs stay by default (Helm keeps them)");
        assert.deepEqual(dev.get("istio-base").dependsOn, ["gateway-api-bundle"]);
    });

    it("removes every CRD on destroy when istio.removeCrdsOnDestroy is set, after base is gone", async () => {
        const prod = await runStack("prod", {
            "istio-mesh:kubeconfig": EXISTING_KUBECONFIG,
            "istio-mesh:istio": { istiod: { replicas: 2, podDisruptionBudget: true }, gateway: { replicas: 2 }, removeCrdsOnDestroy: true },
        });
        const bundle = prod.get("gateway-api-bundle");
        assert.notEqual(bundle.retainOnDelete, true);
        assert.equal(bundle.transforms.length, 1, "only the labels, no retention");
        assert.ok(!bundle.transforms.includes(retainChildren));
        const cleanup = prod.get("istio-crd-cleanup", "command:local:Command");
        assert.equal(cleanup.parent, "istio");
        assert.equal(cleanup.inputs.create, undefined, "it acts only on delete");
        assert.equal(cleanup.inputs.delete, REMOVE_CRDS_COMMAND);
        const env = inputValue(cleanup.inputs.environment);
        assert.equal(env.secret, true);
        assert.equal((env.value as Record<string, string>).CRD_GROUP, "istio.io");
        // Pulumi deletes in reverse order: base (and all that waits for it) first, then the cleanup.
        assert.deepEqual(prod.get("istio-base").dependsOn, ["istio-crd-cleanup", "gateway-api-bundle"]);
        for (const r of prod.resources.filter((x) => x.custom && /security|networking|telemetry/.test(x.type))) {
            assert.ok(prod.waitsFor(r.name).has("istio-base"), `${r.name} would outlive istio-base on destroy`);
        }
    });

    it("adds no CRD cleanup on kind, whose CRDs go with the cluster, so destroy works with the cluster already gone", async () => {
        const run = await runStack("dev", { "istio-mesh:istio": { removeCrdsOnDestroy: true } });
        assert.equal(run.find("istio-crd-cleanup"), undefined);
        assert.notEqual(run.get("gateway-api-bundle").retainOnDelete, true, "the bundle itself is not kept");
    });

    it("makes every Istio object wait for istiod, so destroy deletes them before the control plane", () => {
        const istioObjects = dev.resources.filter((r) => r.custom && /\.istio\.io\/|gateway\.networking\.k8s\.io\//.test(r.type));
        assert.ok(istioObjects.length > 10);
        for (const r of istioObjects) assert.ok(dev.waitsFor(r.name).has("istio-istiod"), `${r.name} does not wait for istiod`);
    });
});
