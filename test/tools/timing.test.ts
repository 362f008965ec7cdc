import { strict as assert } from "assert";
import type { EngineEvent, OpType } from "@pulumi/pulumi/automation";
import { buildGraph } from "../../tools/graphModel";
import {
    analyzeTimings,
    dependenciesFromState,
    formatDuration,
    parseEventLog,
    predictedFromGraph,
    renderTimings,
    StateResource,
    urnName,
} from "../../tools/timing";
import { fixtureEvents, fixtureState, graphResource } from "../eventFixtures";

const STACK = "urn:pulumi:dev::p::pulumi:pulumi:Stack::p-dev";
const urn = (name: string, type = "command:local:Command"): string => `urn:pulumi:dev::p::${type}::${name}`;
const PROVIDER = `${urn("cmd", "pulumi:providers:command")}::4f2d`;

/** A small engine event sequence, written as the CLI logs it: pre and outputs events per step. */
class Recording {
    readonly events: EngineEvent[] = [];
    private seq = 0;
    constructor(private readonly t0 = 1_767_261_600) {
        this.push(0, { preludeEvent: { config: {} } });
    }
    private push(at: number, body: Omit<EngineEvent, "sequence" | "timestamp">): this {
        this.events.push({ sequence: this.seq++, timestamp: this.t0 + at, ...body });
        return this;
    }
    private meta(name: string, op: OpType, custom = true, type = "command:local:Command", parent = STACK) {
        const state = { type, urn: urn(name, type), custom, id: "", parent, inputs: {}, outputs: {}, provider: custom ? PROVIDER : "" };
        return { op, urn: urn(name, type), type, old: undefined, new: state, provider: custom ? PROVIDER : "" };
    }
    start(at: number, name: string, op: OpType = "create", custom = true, type?: string, parent?: string): this {
        return this.push(at, { resourcePreEvent: { metadata: this.meta(name, op, custom, type, parent) } });
    }
    end(at: number, name: string, op: OpType = "create", custom = true, type?: string): this {
        return this.push(at, { resOutputsEvent: { metadata: this.meta(name, op, custom, type) } });
    }
    failed(at: number, name: string): this {
        this.push(at, { diagnosticEvent: { urn: urn(name), message: "exit status 1: the check failed", color: "raw", severity: "error" } });
        return this.push(at, { resOpFailedEvent: { metadata: this.meta(name, "create"), status: 0, steps: 3 } });
    }
    stdout(at: number, message: string): this {
        return this.push(at, { stdoutEvent: { message, color: "always" } });
    }
    summary(at: number): this {
        this.push(at, { summaryEvent: { maybeCorrupt: false, durationSeconds: at, resourceChanges: {}, policyPacks: {} } });
        return this.push(at, { cancelEvent: {} });
    }
}

const state = (deps: Record<string, string[]>): StateResource[] =>
    Object.entries(deps).map(([name, d]) => ({
        urn: urn(name),
        type: "command:local:Command",
        custom: true,
        dependencies: d.map((x) => urn(x)),
    }));

describe("timing analysis", () => {
    // cluster → (chart, addon in parallel) → check; `noise` ends in the same second as the chart but waits for nothing.
    const run = new Recording()
        .start(1, "app", "create", false, "p:index:App")
        .start(1, "cluster")
        .start(1, "noise")
        .end(11, "cluster")
        .start(11, "chart")
        .start(11, "addon")
        .end(16, "addon")
        .end(31, "chart")
        .end(31, "noise")
        .start(31, "check")
        .end(34, "check")
        .end(34, "app", "create", false, "p:index:App")
        .summary(35);
    const deps = dependenciesFromState(
        state({ cluster: [], noise: [], chart: ["cluster"], addon: ["cluster"], check: ["chart", "addon"] }),
    );

    it("times every step from its pre event to its outputs event, components apart", () => {
        const t = analyzeTimings(run.events, { dependencies: deps });
        const seconds = Object.fromEntries(t.steps.map((s) => [s.name, s.seconds]));
        assert.deepEqual(seconds, { app: 33, cluster: 10, noise: 30, chart: 20, addon: 5, check: 3 });
        assert.equal(t.wallSeconds, 35);
        assert.equal(t.result, "succeeded");
        assert.deepEqual(
            t.slowest.map((s) => s.name),
            ["noise", "chart", "cluster", "addon", "check"],
            "components only group their children, so they are not among the slowest steps",
        );
    });

    it("follows what each step waited for back from the last one to end, to the start", () => {
        const t = analyzeTimings(run.events, { dependencies: deps });
        assert.deepEqual(
            t.criticalPath.map((l) => [l.name, l.start, l.seconds, l.waited]),
            [
                ["cluster", 1, 10, 1],
                ["chart", 11, 20, 0],
                ["check", 31, 3, 0],
            ],
        );
        assert.equal(t.criticalSeconds, 34);
    });

    it("without the state's dependencies, takes the step that ended last before each start", () => {
        const t = analyzeTimings(run.events);
        // noise ended after chart in the same second, so by the clock alone it looks like check's cause
        assert.deepEqual(
            t.criticalPath.map((l) => l.name),
            ["noise", "check"],
        );
        assert.equal(t.criticalSeconds, 34, "the chain still spans the same time");
    });

    it("chains the halves of a replacement and pairs a refresh's result with its start", () => {
        const replaced = new Recording()
            .start(1, "cluster", "delete-replaced")
            .end(4, "cluster", "delete-replaced")
            .start(4, "cluster", "create-replacement")
            .end(60, "cluster", "create-replacement")
            .start(60, "chart", "create")
            .end(70, "chart", "create")
            .summary(71);
        const t = analyzeTimings(replaced.events, { dependencies: dependenciesFromState(state({ cluster: [], chart: ["cluster"] })) });
        assert.deepEqual(
            t.criticalPath.map((l) => `${l.name}:${l.op}`),
            ["cluster:delete-replaced", "cluster:create-replacement", "chart:create"],
        );
        const refreshed = new Recording().start(1, "svc", "refresh").end(2, "svc", "delete").summary(3);
        const r = analyzeTimings(refreshed.events);
        assert.deepEqual(
            r.steps.map((s) => [s.name, s.op, s.result, s.seconds]),
            [["svc", "refresh", "done", 1]],
        );
    });

    it("reports a failed step, a step the run never finished, and a cancelled run", () => {
        const t = analyzeTimings(new Recording().start(1, "check").failed(9, "check").start(9, "late").summary(12).events);
        assert.equal(t.result, "failed");
        assert.deepEqual(
            t.steps.map((s) => [s.name, s.result, s.seconds]),
            [
                ["check", "failed", 8],
                ["late", "unfinished", 3],
            ],
        );
        const c = analyzeTimings(
            new Recording()
                .start(1, "chart")
                .stdout(2, "^C received; cancelling. If you would like to terminate immediately, press ^C again.\n")
                .end(20, "chart")
                .summary(21).events,
        );
        assert.equal(c.result, "cancelled");
    });

    it("reads an event log whose last line was cut off, in sequence order", () => {
        const lines = run.events.map((e) => JSON.stringify(e));
        const text = [lines[2], lines[0], lines[1], '{"sequence": 99, "timest'].join("\n");
        assert.deepEqual(
            parseEventLog(text).map((e) => e.sequence),
            [0, 1, 2],
        );
    });

    it("formats durations the way the report prints them", () => {
        assert.deepEqual([0, 45, 60, 123, 3600 + 125].map(formatDuration), ["0s", "45s", "1m00s", "2m03s", "1h02m"]);
    });
});

describe("measured against predicted critical path", () => {
    const res = graphResource;
    // The graph groups the two deployments into one step and predicts the alphabetically first.
    const graph = buildGraph([
        res("cluster", "command:local:Command"),
        res("app", "p:index:App", { custom: false }),
        res("deploy-a", "kubernetes:apps/v1:Deployment", { parent: "app", dependsOn: ["cluster"] }),
        res("deploy-b", "kubernetes:apps/v1:Deployment", { parent: "app", dependsOn: ["cluster"] }),
        res("monitoring", "kubernetes:helm.sh/v3:Release", { dependsOn: ["cluster"] }),
        res("check", "command:local:Command", { dependsOn: ["app", "monitoring"] }),
    ]);
    const predicted = predictedFromGraph(graph);
    const deps = dependenciesFromState(
        state({
            cluster: [],
            "deploy-a": ["cluster"],
            "deploy-b": ["cluster"],
            monitoring: ["cluster"],
            check: ["deploy-a", "deploy-b", "monitoring"],
        }).map((r) => (r.urn.includes("deploy") ? { ...r, type: "kubernetes:apps/v1:Deployment" } : r)),
    );
    const recording = (slowest: "deploy-b" | "monitoring"): EngineEvent[] =>
        new Recording()
            .start(1, "cluster")
            .end(10, "cluster")
            .start(10, "deploy-a")
            .start(10, "deploy-b")
            .start(10, "monitoring")
            .end(20, "deploy-a")
            .end(slowest === "deploy-b" ? 40 : 30, "deploy-b")
            .end(slowest === "monitoring" ? 40 : 30, "monitoring")
            .start(40, "check")
            .end(42, "check")
            .summary(43).events;

    it("predicts what npm run graph prints, with each resource's graph step", () => {
        assert.deepEqual(predicted.criticalPath, ["cluster", "deploy-a", "check"]);
        assert.equal(predicted.stepOf["deploy-b"], predicted.stepOf["deploy-a"]);
        assert.deepEqual(predicted.blocking, ["check", "cluster", "deploy-a", "deploy-b", "monitoring"]);
    });

    it("agrees when the measured path runs through the same graph steps, naming the group's slowest member", () => {
        const t = analyzeTimings(recording("deploy-b"), { dependencies: deps, predicted });
        assert.deepEqual(t.comparison?.measured, ["cluster", "deploy-b", "check"]);
        assert.equal(t.comparison?.agrees, true);
        assert.deepEqual(t.comparison?.substitutions, [
            { step: predicted.stepOf["deploy-a"], predicted: "deploy-a", measured: "deploy-b" },
        ]);
        assert.match(
            renderTimings(t, "up of dev"),
            /The measured path runs through the same graph steps as the predicted one\.\nIn app-deployments the graph names deploy-a; the one that took longest here was deploy-b\./,
        );
    });

    it("names the steps where the measured path left the predicted one", () => {
        const t = analyzeTimings(recording("monitoring"), { dependencies: deps, predicted });
        assert.equal(t.comparison?.agrees, false);
        assert.deepEqual(t.comparison?.onlyMeasured, ["monitoring"]);
        assert.deepEqual(t.comparison?.onlyPredicted, ["app-deployments"]);
        assert.match(
            renderTimings(t, "up of dev"),
            /differs from the prediction: it ran through monitoring, which the graph did not predict; the predicted app-deployments was not on it\./,
        );
    });
});

describe("timings of a recorded fresh up of dev", () => {
    const events = fixtureEvents("dev-up-fresh");
    const resources = fixtureState();
    // npm run graph's model over the same resources (the CRDs of the Gateway API bundle are the provider's, not the program's).
    const inProgram = resources.filter((r) => r.type !== "pulumi:pulumi:Stack" && !r.parent?.includes("kubernetes:yaml/v2:ConfigFile"));
    const predicted = predictedFromGraph(
        buildGraph(
            inProgram.map((r) => ({
                name: urnName(r.urn),
                type: r.type,
                custom: r.custom ?? false,
                parent: r.parent && !r.parent.includes("pulumi:pulumi:Stack") ? urnName(r.parent) : undefined,
                dependsOn: (r.dependencies ?? []).map(urnName),
                dataDeps: [],
                provider: r.provider,
            })),
        ),
    );
    const t = analyzeTimings(events, { dependencies: dependenciesFromState(resources), predicted });

    it("puts the kind cluster first among the slowest steps", () => {
        assert.equal(t.wallSeconds, 263);
        assert.deepEqual(
            t.slowest.slice(0, 3).map((s) => [s.name, s.seconds]),
            [
                ["kind-cluster", 108],
                ["bookinfo-deployment-reviews-v2", 69],
                ["bookinfo-service-reviews-v2", 68],
            ],
        );
    });

    it("measures the chain from the kind cluster through Istio's install and the slowest rollout to the verification", () => {
        assert.deepEqual(
            t.criticalPath.map((l) => l.name),
            [
                "command",
                "kind-cluster",
                "k8s",
                "istio-system-ns",
                "istio-base",
                "istio-istiod",
                "istio-ready",
                "bookinfo-deployment-reviews-v2",
                "verify-run",
            ],
        );
        assert.equal(t.criticalSeconds, 261);
    });

    it("agrees with the graph's prediction step for step", () => {
        assert.deepEqual(predicted.criticalPath, [
            "kind-cluster",
            "istio-base",
            "istio-istiod",
            "istio-ready",
            "bookinfo-deployment-details-v1",
            "verify-run",
        ]);
        assert.deepEqual(t.comparison?.measured, [
            "kind-cluster",
            "istio-base",
            "istio-istiod",
            "istio-ready",
            "bookinfo-deployment-reviews-v2",
            "verify-run",
        ]);
        assert.equal(t.comparison?.agrees, true);
    });

    it("reads an interrupted run as cancelled and a failed kind create as failed", () => {
        assert.equal(analyzeTimings(fixtureEvents("dev-up-interrupted")).result, "cancelled");
        const failed = analyzeTimings(fixtureEvents("dev-up-kind-fails"));
        assert.equal(failed.result, "failed");
        assert.deepEqual(
            failed.steps.filter((s) => s.result === "failed").map((s) => [s.name, s.seconds]),
            [["kind-cluster", 93]],
        );
    });
});
