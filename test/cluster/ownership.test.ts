import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as http from "http";
import { AddressInfo } from "net";
import { KubeApi } from "../../components/probe";
import {
    conflictMessage,
    findConflicts,
    GATEWAY_API_POLICY,
    ownerLabels,
    OwnershipPlan,
    STACK_LABEL,
} from "../../components/cluster/ownership";
import { OWNERSHIP_COMMAND } from "../../components/cluster/ownershipCheck";
import { labelChildren } from "../../components/mesh/gatewayApiCrds";
import { PROJECT_ROOT } from "../../components/localScripts";
import { EXISTING_KUBECONFIG, inputValue, kubeconfigFor, Run, runStack } from "../harness";

const PLAN: OwnershipPlan = {
    stack: "prod",
    namespaces: [{ name: "istio-system" }, { name: "bookinfo", feature: "pulumi config set --path bookinfo.enabled false" }],
    gatewayApi: true,
    istioBase: { release: "istio-base", namespace: "istio-system" },
};

interface Obj {
    metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    spec?: { group: string };
}

/** A fake API server holding some objects: namespaces, CRDs and the Gateway API admission policy. */
function cluster(objects: {
    namespaces?: Obj[];
    crds?: Obj[];
    policies?: Obj[];
    bindings?: Obj[];
    mutating?: Obj[];
    validating?: Obj[];
}): KubeApi {
    const byName = (list: Obj[] | undefined, name: string) => list?.find((o) => o.metadata.name === name);
    return {
        async request(method, path) {
            assert.equal(method, "GET", "the check only reads");
            const one = (o: Obj | undefined) => (o ? { status: 200, body: o } : { status: 404, body: { message: "not found" } });
            let m: RegExpMatchArray | null;
            if ((m = path.match(/^\/api\/v1\/namespaces\/([^/]+)$/))) return one(byName(objects.namespaces, m[1]));
            if (path === "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
                return { status: 200, body: { items: objects.crds ?? [] } };
            if ((m = path.match(/^\/apis\/admissionregistration\.k8s\.io\/v1\/validatingadmissionpolicies\/(.+)$/)))
                return one(byName(objects.policies, m[1]));
            if ((m = path.match(/^\/apis\/admissionregistration\.k8s\.io\/v1\/validatingadmissionpolicybindings\/(.+)$/)))
                return one(byName(objects.bindings, m[1]));
            if ((m = path.match(/^\/apis\/admissionregistration\.k8s\.io\/v1\/mutatingwebhookconfigurations\/(.+)$/)))
                return one(byName(objects.mutating, m[1]));
            if ((m = path.match(/^\/apis\/admissionregistration\.k8s\.io\/v1\/validatingwebhookconfigurations\/(.+)$/)))
                return one(byName(objects.validating, m[1]));
            return { status: 500, body: { message: `unexpected ${path}` } };
        },
    };
}

const ours = { [STACK_LABEL]: "prod" };
const crd = (name: string, group: string, extra: Partial<Obj["metadata"]> = {}): Obj => ({ metadata: { name, ...extra }, spec: { group } });
const helmBase = { annotations: { "meta.helm.sh/release-name": "istio-base", "meta.helm.sh/release-namespace": "istio-system" } };

describe("ownership: what the stack may take over on an existing cluster", () => {
    it("lets a first deploy into an empty cluster go on", async () => {
        assert.deepEqual(await findConflicts(cluster({}), PLAN), []);
    });

    it("stops at a revision tag webhook someone else made (istioctl tag set), and takes over its own and its base's old validator", async () => {
        const plan: OwnershipPlan = {
            ...PLAN,
            webhooks: { mutating: ["istio-revision-tag-default"], validating: ["istiod-default-validator"] },
        };
        assert.deepEqual(await findConflicts(cluster({}), plan), []);
        const istioctl = cluster({
            mutating: [{ metadata: { name: "istio-revision-tag-default", labels: { "istio.io/tag": "default" } } }],
            validating: [{ metadata: { name: "istiod-default-validator", labels: { "istio-mesh.dev/stack": "staging" } } }],
        });
        assert.deepEqual(await findConflicts(istioctl, plan), [
            {
                object: "mutatingwebhookconfiguration istio-revision-tag-default",
                problem:
                    "exists and belongs to someone else, not to this stack: another Istio control plane (istioctl tag set, or another Helm release) routes pods or validation through it",
                fix: "remove it if that control plane is gone (istioctl tag remove, or kubectl delete mutatingwebhookconfiguration istio-revision-tag-default); to let this stack take it over, kubectl label mutatingwebhookconfiguration istio-revision-tag-default istio-mesh.dev/stack=prod",
            },
            {
                object: "validatingwebhookconfiguration istiod-default-validator",
                problem:
                    'exists and belongs to stack "staging" of this project, not to this stack: another Istio control plane (istioctl tag set, or another Helm release) routes pods or validation through it',
                fix: "remove it if that control plane is gone (istioctl tag remove, or kubectl delete validatingwebhookconfiguration istiod-default-validator); to let this stack take it over, kubectl label validatingwebhookconfiguration istiod-default-validator istio-mesh.dev/stack=prod",
            },
        ]);
        const own = cluster({
            mutating: [{ metadata: { name: "istio-revision-tag-default", labels: ours } }],
            validating: [{ metadata: { name: "istiod-default-validator", ...helmBase } }],
        });
        assert.deepEqual(await findConflicts(own, plan), []);
        const otherBase = cluster({
            validating: [
                {
                    metadata: {
                        name: "istiod-default-validator",
                        annotations: { "meta.helm.sh/release-name": "istio-base", "meta.helm.sh/release-namespace": "other" },
                    },
                },
            ],
        });
        assert.equal((await findConflicts(otherBase, plan)).length, 1);
    });

    it("marks what a stack creates with its name under the stack label", () => {
        assert.deepEqual(ownerLabels("prod"), { "istio-mesh.dev/stack": "prod" });
    });

    it("stops when the API server refuses a read, instead of taking the refusal for a foreign object", async () => {
        const refusing = (refused: RegExp): KubeApi => ({
            async request(method, path) {
                return refused.test(path) ? { status: 403, body: { message: "forbidden" } } : cluster({}).request(method, path);
            },
        });
        await assert.rejects(findConflicts(refusing(/^\/api\/v1\/namespaces\/istio-system$/), PLAN), {
            message: "reading /api/v1/namespaces/istio-system: HTTP 403",
        });
        await assert.rejects(findConflicts(refusing(/customresourcedefinitions$/), PLAN), { message: "listing CRDs: HTTP 403" });
    });

    it("takes over what carries its own label, the Gateway API CRDs it kept on destroy among them, and Istio's CRDs of its own base release", async () => {
        const api = cluster({
            namespaces: [{ metadata: { name: "istio-system", labels: ours } }, { metadata: { name: "bookinfo", labels: ours } }],
            crds: [
                crd("gateways.gateway.networking.k8s.io", "gateway.networking.k8s.io", { labels: ours }),
                crd("virtualservices.networking.istio.io", "networking.istio.io", helmBase),
                crd("certificates.cert-manager.io", "cert-manager.io"),
            ],
            policies: [{ metadata: { name: GATEWAY_API_POLICY, labels: ours } }],
            bindings: [{ metadata: { name: GATEWAY_API_POLICY, labels: ours } }],
        });
        assert.deepEqual(await findConflicts(api, PLAN), []);
    });

    it("stops on a namespace of someone else's, or of another stack, naming the object and the fix", async () => {
        const api = cluster({
            namespaces: [
                { metadata: { name: "istio-system", labels: { [STACK_LABEL]: "dev" } } },
                { metadata: { name: "bookinfo", labels: { team: "shop" } } },
            ],
        });
        const conflicts = await findConflicts(api, PLAN);
        assert.equal(
            conflictMessage(conflicts),
            [
                "This stack would take over 2 objects it did not create; nothing was changed:",
                `  - namespace istio-system exists and belongs to stack "dev" of this project, not to this stack. Fix: if it is left over, delete it (kubectl delete namespace istio-system); to let this stack take it over with everything in it, kubectl label namespace istio-system istio-mesh.dev/stack=prod.`,
                `  - namespace bookinfo exists and belongs to someone else, not to this stack. Fix: if it is left over, delete it (kubectl delete namespace bookinfo); to let this stack take it over with everything in it, kubectl label namespace bookinfo istio-mesh.dev/stack=prod; or do without it: pulumi config set --path bookinfo.enabled false --stack prod.`,
            ].join("\n"),
        );
    });

    it("stops on Gateway API CRDs and their admission policy installed by someone else, unless the stack does not install them", async () => {
        const objects = {
            crds: [
                crd("gateways.gateway.networking.k8s.io", "gateway.networking.k8s.io"),
                crd("httproutes.gateway.networking.k8s.io", "gateway.networking.k8s.io", { labels: ours }),
                crd("xbackendtrafficpolicies.gateway.networking.x-k8s.io", "gateway.networking.x-k8s.io"),
            ],
            policies: [{ metadata: { name: GATEWAY_API_POLICY } }],
            bindings: [{ metadata: { name: GATEWAY_API_POLICY, labels: ours } }],
        };
        const conflicts = await findConflicts(cluster(objects), PLAN);
        assert.deepEqual(
            conflicts.map((c) => `${c.object}: ${c.fix}`),
            [
                "the Gateway API CRDs (gateways.gateway.networking.k8s.io, xbackendtrafficpolicies.gateway.networking.x-k8s.io): use the cluster's own if it is Gateway API v1.6, which Istio 1.31.1 is built for: pulumi config set --path istio.gatewayApi.install false --stack prod; or, to let this stack manage them, kubectl label crd gateways.gateway.networking.k8s.io xbackendtrafficpolicies.gateway.networking.x-k8s.io istio-mesh.dev/stack=prod",
                "validatingadmissionpolicy safe-upgrades.gateway.networking.k8s.io: use the cluster's Gateway API installation: pulumi config set --path istio.gatewayApi.install false --stack prod; or kubectl label validatingadmissionpolicy safe-upgrades.gateway.networking.k8s.io istio-mesh.dev/stack=prod",
            ],
        );
        assert.deepEqual(
            conflicts.map((c) => c.problem),
            ["exist and belong to someone else, not to this stack", "exists and belongs to someone else, not to this stack"],
        );
        assert.deepEqual(await findConflicts(cluster(objects), { ...PLAN, gatewayApi: false }), []);
        // A binding left by another stack of this project, the policy this stack's own.
        const binding = await findConflicts(
            cluster({
                policies: [{ metadata: { name: GATEWAY_API_POLICY, labels: ours } }],
                bindings: [{ metadata: { name: GATEWAY_API_POLICY, labels: { [STACK_LABEL]: "dev" } } }],
            }),
            PLAN,
        );
        assert.deepEqual(binding, [
            {
                object: "validatingadmissionpolicybinding safe-upgrades.gateway.networking.k8s.io",
                problem: 'exists and belongs to stack "dev" of this project, not to this stack',
                fix: "use the cluster's Gateway API installation: pulumi config set --path istio.gatewayApi.install false --stack prod; or kubectl label validatingadmissionpolicybinding safe-upgrades.gateway.networking.k8s.io istio-mesh.dev/stack=prod",
            },
        ]);
    });

    it("stops on Istio CRDs of another Istio installation", async () => {
        const istioctl = cluster({
            crds: [
                crd("gateways.networking.istio.io", "networking.istio.io"),
                crd("meshes.istio.io", "istio.io"),
                // Not Istio's: groups that only contain istio.io.
                crd("widgets.istio.io.example.com", "istio.io.example.com"),
                crd("gadgets.notistio.io", "notistio.io"),
            ],
        });
        assert.deepEqual(await findConflicts(istioctl, PLAN), [
            {
                object: "Istio's CRDs (2, for example gateways.networking.istio.io)",
                problem:
                    "exist and belong to someone else: another Istio installation (istioctl, or Helm under another release name) owns them",
                fix: "uninstall that Istio first (istioctl uninstall --purge, or helm uninstall of its base release), or deploy this stack to another cluster",
            },
        ]);
        const otherRelease = cluster({
            crds: [
                crd("peerauthentications.security.istio.io", "security.istio.io", {
                    annotations: { "meta.helm.sh/release-name": "base", "meta.helm.sh/release-namespace": "istio-system" },
                }),
            ],
        });
        assert.match((await findConflicts(otherRelease, PLAN))[0].problem, /^exist and belong to Helm release istio-system\/base:/);
        // The release name alone is not enough: istio-base of another namespace is another installation.
        const otherNamespace = cluster({
            crds: [
                crd("peerauthentications.security.istio.io", "security.istio.io", {
                    annotations: { "meta.helm.sh/release-name": "istio-base", "meta.helm.sh/release-namespace": "istio-old" },
                }),
            ],
        });
        assert.deepEqual(
            (await findConflicts(otherNamespace, PLAN)).map((c) => [c.object, c.problem]),
            [
                [
                    "Istio's CRDs (1, for example peerauthentications.security.istio.io)",
                    "exist and belong to Helm release istio-old/istio-base: another Istio installation (istioctl, or Helm under another release name) owns them",
                ],
            ],
        );
    });

    it("names a Helm release without its namespace annotation with a question mark, and counts one object in the singular", async () => {
        const conflicts = await findConflicts(
            cluster({ namespaces: [{ metadata: { name: "istio-system", annotations: { "meta.helm.sh/release-name": "mesh" } } }] }),
            PLAN,
        );
        assert.equal(
            conflictMessage(conflicts),
            [
                "This stack would take over 1 object it did not create; nothing was changed:",
                "  - namespace istio-system exists and belongs to Helm release ?/mesh, not to this stack. Fix: if it is left over, delete it (kubectl delete namespace istio-system); to let this stack take it over with everything in it, kubectl label namespace istio-system istio-mesh.dev/stack=prod.",
            ].join("\n"),
        );
    });
});

describe("ownership check in the program", () => {
    let prod: Run;
    let dev: Run;
    before(async () => {
        prod = await runStack("prod", { "istio-mesh:kubeconfig": EXISTING_KUBECONFIG });
        dev = await runStack("dev");
    });

    it("lets the provider take over existing objects, on kind and on an existing cluster", () => {
        for (const run of [dev, prod]) assert.equal(run.get("k8s", "pulumi:providers:kubernetes").inputs.upsertExistingObjects, "true");
    });

    it("checks an existing cluster before anything is created in it, with the plan of what the stack creates", () => {
        const check = prod.get("ownership-run", "command:local:Command");
        assert.equal(check.parent, "ownership");
        assert.equal(check.inputs.create, "node --require ts-node/register/transpile-only scripts/checkOwnership.ts");
        const env = inputValue(check.inputs.environment);
        assert.equal(env.secret, true, "the kubeconfig stays secret");
        const plan = JSON.parse((env.value as Record<string, string>).OWNERSHIP_PLAN) as OwnershipPlan;
        assert.deepEqual(plan, {
            stack: "prod",
            namespaces: [
                { name: "istio-system" },
                { name: "istio-ingress" },
                { name: "bookinfo", feature: "pulumi config set --path bookinfo.enabled false" },
                { name: "observability" },
            ],
            gatewayApi: true,
            istioBase: { release: "istio-base", namespace: "istio-system" },
            // prod upgrades through revisions: the default tag's webhooks are the stack's own objects
            webhooks: { mutating: ["istio-revision-tag-default"], validating: ["istiod-default-validator"] },
        });
        assert.deepEqual(check.inputs.triggers, [JSON.stringify(plan)]);
        // Everything in the cluster is in one of these namespaces or comes from the CRD bundle.
        const first = prod.resources.filter((r) => r.type === "kubernetes:core/v1:Namespace" || r.type === "kubernetes:yaml/v2:ConfigFile");
        assert.equal(first.length, 5);
        for (const r of first) assert.ok(r.dependsOn.includes("ownership-run"), `${r.name} does not wait for the ownership check`);
        // ...and so, through dependsOn or data, does every object the stack creates in the cluster.
        const after = (name: string, seen = new Set<string>()): boolean => {
            if (name === "ownership-run") return true;
            if (seen.has(name)) return false;
            seen.add(name);
            const r = prod.find(name);
            return !!r && [...r.dependsOn, ...r.dataDeps].some((d) => after(d, seen));
        };
        const objects = prod.resources.filter(
            (x) => x.custom && x.type.startsWith("kubernetes:") && !x.read && !x.type.startsWith("pulumi:"),
        );
        assert.ok(objects.length > 40);
        for (const r of objects) assert.ok(after(r.name), `${r.type}::${r.name} may be created before the ownership check`);
    });

    it("labels its namespaces and the Gateway API objects as its own", () => {
        for (const ns of prod.ofType("kubernetes:core/v1:Namespace")) assert.equal(ns.inputs.metadata.labels[STACK_LABEL], "prod", ns.name);
        const bundle = prod.get("gateway-api-bundle");
        let applied = {
            props: { metadata: { name: "gateways.gateway.networking.k8s.io", labels: { keep: "me" } } } as Record<string, any>,
            opts: {} as Record<string, any>,
        };
        for (const t of bundle.transforms) {
            applied = (t({ type: "x", name: "y", props: applied.props, opts: applied.opts, custom: true }) as typeof applied) ?? applied;
        }
        assert.deepEqual(applied.props.metadata.labels, { keep: "me", [STACK_LABEL]: "prod" });
        assert.equal(applied.opts.retainOnDelete, true);
        assert.deepEqual(labelChildren({ a: "b" })({ type: "t", name: "n", props: {}, opts: {}, custom: true } as never), {
            props: { metadata: { labels: { a: "b" } } },
            opts: {},
        });
    });

    it("has nothing to check on kind, where everything in the cluster is the stack's", () => {
        assert.equal(dev.find("ownership-run"), undefined);
        assert.ok(
            dev.ofType("kubernetes:core/v1:Namespace").every((ns) => ns.dependsOn.length === 0 || !ns.dependsOn.includes("ownership-run")),
        );
    });
});

describe("ownership script", function () {
    this.timeout(30000);

    it("stops with every conflict and its fix, reading through the API server", async () => {
        const api = cluster({ namespaces: [{ metadata: { name: "bookinfo" } }] });
        const server = http.createServer((req, res) => {
            void api.request("GET", req.url ?? "").then((a) => {
                res.statusCode = a.status;
                res.setHeader("content-type", "application/json");
                res.end(JSON.stringify(a.body));
            });
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
        try {
            const [cmd, ...args] = OWNERSHIP_COMMAND.split(" ");
            const result = await new Promise<{ status: number; stdout: string; stderr: string }>((resolveRun) => {
                const child = spawn(cmd, args, {
                    cwd: PROJECT_ROOT,
                    env: {
                        ...process.env,
                        OWNERSHIP_KUBECONFIG: kubeconfigFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
                        OWNERSHIP_PLAN: JSON.stringify(PLAN),
                    },
                });
                let stdout = "";
                let stderr = "";
                child.stdout.on("data", (c: Buffer) => (stdout += c));
                child.stderr.on("data", (c: Buffer) => (stderr += c));
                child.on("close", (status: number) => resolveRun({ status, stdout, stderr }));
            });
            assert.equal(result.status, 1);
            assert.match(
                result.stderr,
                /^error: This stack would take over 1 object it did not create; nothing was changed:\n {2}- namespace bookinfo exists/,
            );
        } finally {
            server.close();
        }
    });
});
