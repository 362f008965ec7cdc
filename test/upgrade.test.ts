import { strict as assert } from "assert";
import { PINS, Pins } from "../components/versions";
import { DEFAULT_IMAGE_IN_TRIGGER } from "../components/cluster/kindCluster";
import { EXISTING_KUBECONFIG, lastOutputsOf, Recorded, Run, runStack, runStackWithPins } from "./harness";
import { RETIRED_CHART_HOST, RETIRED_REGISTRIES } from "./retiredHosts";

/**
 * The pins a stack was deployed with before the move to Istio 1.31 (Istio 1.30.3 from Istio's retired
 * GCP hosting, Gateway API v1.5.1, Kiali 2.26.0, kind node v1.35.8). The program is evaluated with
 * them and with today's PINS, so the difference is what the pin move itself changes in a deployed
 * stack; the code changes that came with it (the hub stated in the values, minHealthPercent, base
 * after the Gateway API CRDs) change inputs that force no replacement either.
 */
const BEFORE_1_31: Pins = {
    ...PINS,
    kind: { version: "v0.33.0", nodeImage: DEFAULT_IMAGE_IN_TRIGGER },
    // The published 1.30.3 charts' default hub was docker.io/istio already (istio/release-builder).
    istio: { version: "1.30.3", helmRepo: `https://${RETIRED_CHART_HOST}/charts`, hub: "docker.io/istio" },
    gatewayApi: { version: "v1.5.1" },
    bookinfo: { registry: `${RETIRED_REGISTRIES[1]}/release`, tag: "1.20.3" },
    charts: { ...PINS.charts, kiali: { ...PINS.charts.kiali, version: "2.26.0" } },
};

/**
 * The inputs whose change makes the engine replace a resource (delete and create it again) rather
 * than update it, by resource type:
 * - a Helm release: its name and namespace only; chart, version, repository and values upgrade it in
 *   place (pulumi-kubernetes provider/pkg/provider/helm_release.go, Diff: forceNewFields);
 * - a Kubernetes object: its name and namespace, and a Deployment's selector (provider/pkg/provider/
 *   provider.go, Diff; diff.go, forceNewProperties);
 * - a command: its triggers, the only input marked replaceOnChanges (pulumi-command's schema.json).
 */
function replaceForcing(r: Recorded): unknown {
    if (r.type === "kubernetes:helm.sh/v3:Release") return [r.inputs.name, r.inputs.namespace];
    if (r.type === "command:local:Command") return r.inputs.triggers;
    if (r.type.startsWith("kubernetes:") && r.custom) {
        return [
            r.inputs.metadata?.name,
            r.inputs.metadata?.namespace,
            r.type.endsWith(":Deployment") ? r.inputs.spec?.selector : undefined,
        ];
    }
    return undefined;
}

/** A canonical form of a value: object keys sorted, so that only content counts. */
function canonical(v: unknown): string {
    const sort = (x: unknown): unknown =>
        Array.isArray(x)
            ? x.map(sort)
            : x !== null && typeof x === "object"
              ? Object.fromEntries(
                    Object.keys(x)
                        .sort()
                        .map((k) => [k, sort((x as Record<string, unknown>)[k])]),
                )
              : x;
    return JSON.stringify(sort(v));
}

/** What the engine would do to each resource when the stack goes from `before` to `after`. */
interface Plan {
    readonly created: string[];
    readonly deleted: string[];
    /** Custom resources (and remote components) whose inputs change. */
    readonly changed: string[];
    /** Of those, the ones whose replace-forcing inputs change. */
    readonly replaced: string[];
}

/** Custom resources, and the remote yaml/v2 component whose objects the provider creates from its inputs. */
const diffed = (r: Recorded): boolean => r.custom || r.type === "kubernetes:yaml/v2:ConfigFile";

function plan(before: Run, after: Run): Plan {
    const byKey = (run: Run) => new Map(run.resources.filter(diffed).map((r) => [`${r.type}::${r.name}`, r]));
    const old = byKey(before);
    const now = byKey(after);
    const changed: string[] = [];
    const replaced: string[] = [];
    for (const [key, r] of now) {
        const o = old.get(key);
        if (!o || canonical(o.inputs) === canonical(r.inputs)) continue;
        changed.push(r.name);
        if (canonical(replaceForcing(o)) !== canonical(replaceForcing(r))) replaced.push(r.name);
    }
    return {
        created: [...now.keys()].filter((k) => !old.has(k)),
        deleted: [...old.keys()].filter((k) => !now.has(k)),
        changed: changed.sort(),
        replaced: replaced.sort(),
    };
}

const BOOKINFO_DEPLOYMENTS = ["details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3"].map(
    (w) => `bookinfo-deployment-${w}`,
);
const ISTIO = ["istio-base", "istio-istiod", "istio-gateway"];
const ADDONS = ["observability-grafana", "observability-kiali"];
/** The readiness gate: a local check with nothing in the cluster, re-run after every Istio upgrade by design. */
const GATE = "istio-ready";

describe("upgrading a stack deployed with the Istio 1.30.3 pins", function () {
    this.timeout(120000);
    const envs: Record<string, Record<string, unknown>> = { dev: {}, staging: {}, prod: { "istio-mesh:kubeconfig": EXISTING_KUBECONFIG } };
    const runs: Record<string, { before: Run; after: Run; plan: Plan }> = {};
    before(async () => {
        for (const [env, extra] of Object.entries(envs)) {
            const b = await runStackWithPins(env, BEFORE_1_31, extra);
            // The next up reads back what the last one installed (components/mesh/lastDeployment.ts).
            const a = await runStack(env, extra, { lastOutputs: await lastOutputsOf(b) });
            runs[env] = { before: b, after: a, plan: plan(b, a) };
        }
    });

    it("evaluates the program with the old pins, and with the new ones after that", () => {
        const old = runs.dev.before.get("istio-istiod").inputs;
        assert.deepEqual([old.version, old.repositoryOpts.repo], ["1.30.3", `https://${RETIRED_CHART_HOST}/charts`]);
        const now = runs.dev.after.get("istio-istiod").inputs;
        assert.deepEqual([now.version, now.repositoryOpts.repo], ["1.31.1", "https://blob.istio.io/istio-release/charts"]);
    });

    it("creates and deletes nothing on kind, where istiod upgrades in place", () => {
        for (const env of ["dev", "staging"]) assert.deepEqual([runs[env].plan.created, runs[env].plan.deleted], [[], []], env);
    });

    it("adds the new revision's istiod and its gate beside the running one on prod, and deletes nothing", () => {
        assert.deepEqual(runs.prod.plan.created, [
            "kubernetes:helm.sh/v3:Release::istio-istiod-1-31-1",
            "command:local:Command::istio-ready-1-31-1",
        ]);
        assert.deepEqual(runs.prod.plan.deleted, []);
    });

    it("changes exactly the Istio releases, the Gateway API bundle, Bookinfo's images, Grafana's dashboards, Kiali and the kind commands", () => {
        const kind = ["kind-cluster", "kind-image-cache"];
        assert.deepEqual(runs.dev.plan.changed, [...ADDONS, ...BOOKINFO_DEPLOYMENTS, "gateway-api-bundle", ...ISTIO, GATE, ...kind].sort());
        assert.deepEqual(
            runs.staging.plan.changed,
            [...ADDONS, ...BOOKINFO_DEPLOYMENTS, "gateway-api-bundle", ...ISTIO, "istio-cni", "istio-ztunnel", GATE, ...kind].sort(),
        );
        // prod upgrades through revisions: the default tag (its injector and the validator) moves to
        // 1.31.1 and the workloads restart onto it; the running 1.30.3 istiod only changes repository
        // (the same chart version from blob.istio.io: Helm renders the same objects, no pod restarts).
        assert.deepEqual(
            runs.prod.plan.changed,
            [
                ...ADDONS,
                ...BOOKINFO_DEPLOYMENTS,
                "gateway-api-bundle",
                "istio-base",
                "istio-gateway",
                "istio-istiod-1-30-3",
                "istio-tag-default",
                "istio-default-validator",
                GATE,
                // the deployment check names the revision every proxy must run, so it checks again
                "verify-run",
            ].sort(),
        );
        const running = [runs.prod.before.get("istio-istiod-1-30-3"), runs.prod.after.get("istio-istiod-1-30-3")];
        assert.deepEqual(running[1].inputs.values, running[0].inputs.values);
        assert.deepEqual([running[0].inputs.version, running[1].inputs.version], ["1.30.3", "1.30.3"]);
    });

    it("replaces nothing but the readiness gate, which re-checks the upgraded istiod", () => {
        for (const env of ["dev", "staging"]) assert.deepEqual(runs[env].plan.replaced, [GATE], env);
        // prod: the deployment check too, a local check like the gate, re-run to see every proxy on the new revision
        assert.deepEqual(runs.prod.plan.replaced, [GATE, "verify-run"]);
        const gate = runs.dev.after.get(GATE);
        assert.equal(gate.inputs.delete, undefined, "the gate has no delete step: replacing it only runs the check again");
        for (const [env, r] of Object.entries(runs)) {
            const fed = r.after.resources.filter((x) => x.dataDeps.includes(GATE)).map((x) => x.name);
            assert.deepEqual(fed, [], `${env}: no resource takes an input from the gate, so its re-run changes nothing else`);
        }
    });

    it("upgrades the Helm releases in place: same release names and namespaces, new version and repository", () => {
        for (const r of runs.staging.after.ofType("kubernetes:helm.sh/v3:Release").filter((x) => x.parent === "istio")) {
            const o = runs.staging.before.get(r.name, r.type);
            assert.deepEqual([r.inputs.name, r.inputs.namespace], [o.inputs.name, o.inputs.namespace], r.name);
            assert.deepEqual([o.inputs.version, r.inputs.version], ["1.30.3", "1.31.1"], r.name);
            assert.equal(r.inputs.repositoryOpts.repo, "https://blob.istio.io/istio-release/charts", r.name);
        }
    });

    it("keeps a kind cluster created with the old default node image: its trigger is the same, only the create step reruns", () => {
        for (const env of ["dev", "staging"]) {
            const [o, n] = [runs[env].before.get("kind-cluster"), runs[env].after.get("kind-cluster")];
            // before the move the trigger was the rendered config itself
            assert.deepEqual(o.inputs.triggers, [o.inputs.stdin], env);
            assert.deepEqual(n.inputs.triggers, o.inputs.triggers, env);
            assert.notEqual(n.inputs.stdin, o.inputs.stdin, `${env}: a new cluster gets the new image`);
            assert.match(n.inputs.stdin, /kindest\/node:v1\.36\.4@sha256:099e0493/);
        }
    });

    it("moves Bookinfo's images off the retired registry without touching what would replace its Deployments", () => {
        for (const name of BOOKINFO_DEPLOYMENTS) {
            const [o, n] = [runs.dev.before.get(name), runs.dev.after.get(name)];
            assert.match(
                o.inputs.spec.template.spec.containers[0].image,
                new RegExp(`^${RETIRED_REGISTRIES[1].replace(/\./g, "\\.")}/release/`),
            );
            assert.match(n.inputs.spec.template.spec.containers[0].image, /^docker\.io\/istio\/examples-bookinfo-.*:1\.20\.3$/);
            assert.deepEqual(n.inputs.spec.selector, o.inputs.spec.selector, name);
        }
    });

    it("runs the upgrade in Istio's order: Gateway API CRDs, base, istiod, cni and ztunnel, the gate, the gateway", () => {
        const run = runs.staging.after;
        const waits = (a: string, b: string) => assert.ok(run.waitsFor(a).has(b), `${a} does not wait for ${b}`);
        waits("istio-base", "gateway-api-bundle");
        waits("istio-istiod", "istio-base");
        waits("istio-cni", "istio-istiod");
        waits("istio-ztunnel", "istio-istiod");
        waits(GATE, "istio-cni");
        waits(GATE, "istio-ztunnel");
        waits("istio-gateway", GATE);
        assert.ok(
            !run.waitsFor("istio-cni").has("istio-ztunnel") && !run.waitsFor("istio-ztunnel").has("istio-cni"),
            "cni and ztunnel side by side",
        );
    });

    it("rolls Bookinfo's sidecar pods on every Istio upgrade, by the version in their template, not only when an image moves", () => {
        for (const name of BOOKINFO_DEPLOYMENTS) {
            const [o, n] = [runs.dev.before.get(name), runs.dev.after.get(name)];
            assert.equal(o.inputs.spec.template.metadata.annotations["istio-mesh.dev/istio-version"], "1.30.3", name);
            assert.equal(n.inputs.spec.template.metadata.annotations["istio-mesh.dev/istio-version"], "1.31.1", name);
            // ambient pods have no proxy of their own to replace
            assert.equal(runs.staging.after.get(name).inputs.spec.template.metadata.annotations, undefined, name);
        }
    });

    it("rolls Bookinfo's pods only after the gate, so the upgraded istiod injects their new proxies", () => {
        for (const env of Object.keys(runs)) {
            for (const name of BOOKINFO_DEPLOYMENTS)
                assert.ok(runs[env].after.waitsFor(name).has(GATE), `${env}: ${name} may roll before istiod is upgraded`);
        }
    });
});
