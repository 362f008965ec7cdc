import { strict as assert } from "assert";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { PORT_ROLES, PortRole } from "../../../components/ports";
import type { DockerState } from "../../../tools/deploy/clusterDecision";
import { e2eStackConfig, withRoutingChange, withWorkloadsOff } from "../../../tools/e2e/config";
import type { E2eBackend, E2eMachine, E2eOptions, E2ePorts, E2eStack, OpOptions, OpOutcome } from "../../../tools/e2e/ports";
import { E2eReport, renderReport } from "../../../tools/e2e/report";
import { runE2e } from "../../../tools/e2e/runner";
import { changedResources } from "../../../tools/mockRun";
import { DEV_KIND_CLUSTER_URN, fixtureEvents, fixtureState } from "../../eventFixtures";
import { stackConfig } from "../../harness";

type OpKind = "up" | "refresh" | "destroy" | "up-killed" | "deploy";

/** One scripted answer of the fake stack: the events it replays and how the operation ends. */
interface Script {
    readonly op: OpKind;
    readonly fixture: string;
    readonly ok?: boolean;
    readonly error?: string;
    /** What the operation does to the machine and the state. */
    readonly effect?: "cluster-up" | "cluster-down";
    /** The replay requires the runner to have interrupted it before the CLI's "^C received" event. */
    readonly interruptible?: boolean;
    /** Aborts the user's Ctrl-C controller halfway through the replay. */
    readonly userPressesCtrlC?: boolean;
}

const NAME = "e2e-dev-abc123";
const HOST_PORTS = Object.fromEntries(PORT_ROLES.map((r, i) => [r, 41000 + i])) as Record<PortRole, number>;
/** Keys of what the routing fixture changes: the reviews VirtualService and the Bookinfo component holding it. */
const ROUTING_CHANGES = [
    "istio-mesh:index:Bookinfo::bookinfo",
    "kubernetes:networking.istio.io/v1:VirtualService::bookinfo-virtualservice-reviews",
];

/** Every scenario behaving, as the recorded sequences show it. */
const HAPPY: Script[] = [
    { op: "up", fixture: "dev-up-fresh", effect: "cluster-up" },
    { op: "up", fixture: "dev-up-no-change" },
    { op: "up", fixture: "dev-up-routing" },
    { op: "up", fixture: "dev-up-workloads-off" },
    { op: "up", fixture: "dev-up-interrupted", ok: false, error: "code: 255\n stderr: error: update canceled", interruptible: true },
    { op: "up", fixture: "dev-up-resume" },
    { op: "up", fixture: "dev-up-workloads-off" },
    { op: "up-killed", fixture: "dev-up-interrupted" },
    { op: "deploy", fixture: "dev-up-resume" },
    { op: "destroy", fixture: "dev-destroy", effect: "cluster-down" },
    { op: "up", fixture: "dev-up-fresh", effect: "cluster-up" },
    { op: "refresh", fixture: "dev-refresh-cluster-gone" },
    { op: "up", fixture: "dev-up-replace-cluster", effect: "cluster-up" },
    { op: "destroy", fixture: "dev-destroy", effect: "cluster-down" },
    { op: "up", fixture: "dev-up-fresh", effect: "cluster-up" },
    { op: "destroy", fixture: "dev-destroy", effect: "cluster-down" },
];

/** A machine with Docker and kind, a clock, a file system and the slice of the Automation API the runner uses, all fake. */
class World {
    now = Date.UTC(2026, 0, 1, 10, 0, 0);
    docker: DockerState = "running";
    kind: string | undefined = "v0.33.0";
    pulumi: string | undefined = "v3.248.0";
    clusters = new Set<string>(["istio-dev"]);
    stacks = new Set<string>();
    deployed = false;
    readonly calls: string[] = [];
    readonly configs: Record<string, unknown>[] = [];
    readonly files: Record<string, string> = {};
    readonly logs: string[] = [];
    /** The event after which each interrupted replay saw its signal aborted. */
    readonly abortedAfter: EngineEvent[] = [];
    cleanedUp = false;
    openedBackend = false;
    /** The state's pending operations, as the killed up leaves them and the deploy clears them. */
    pending: { type: string; urn: string }[] = [];
    deployClearsPending = true;
    /** What the killed up replayed: its last event is the one it was killed at. */
    killedEvents: EngineEvent[] = [];
    askedExpectations = false;
    readonly user = new AbortController();

    constructor(private readonly script: Script[]) {}

    private async replay(kind: OpKind, options: OpOptions, detail = ""): Promise<OpOutcome> {
        this.calls.push(`${kind}${detail}`);
        const s = this.script.shift() ?? assert.fail(`unscripted ${kind}: ${this.calls.join(", ")}`);
        assert.equal(s.op, kind, `expected a scripted ${s.op}, got ${kind}`);
        const events = fixtureEvents(s.fixture);
        let seen: EngineEvent | undefined;
        for (const [i, e] of events.entries()) {
            if (s.interruptible && e.stdoutEvent?.message.startsWith("^C received")) {
                assert.ok(options.signal?.aborted, `the runner did not interrupt ${s.fixture} before the CLI's ^C event`);
            }
            options.onEvent(e);
            if (options.signal?.aborted && !seen) {
                seen = e;
                this.abortedAfter.push(e);
            }
            if (s.userPressesCtrlC && i === Math.floor(events.length / 2)) this.user.abort();
        }
        this.now += (events[events.length - 1].timestamp - events[0].timestamp) * 1000;
        if (s.effect === "cluster-up") {
            this.clusters.add(NAME);
            this.deployed = true;
        }
        if (s.effect === "cluster-down") {
            this.clusters.delete(NAME);
            this.deployed = false;
        }
        return s.ok === false ? { ok: false, error: s.error ?? "failed" } : { ok: true };
    }

    readonly stack: E2eStack = {
        up: (o) => this.replay("up", o, o.replace ? ` --replace ${o.replace.join(" ")}` : ""),
        upKilled: async ({ onEvent, killAt }) => {
            this.calls.push("up-killed");
            const s = this.script.shift() ?? assert.fail(`unscripted up-killed: ${this.calls.join(", ")}`);
            assert.equal(s.op, "up-killed", `expected a scripted ${s.op}, got up-killed`);
            // The CLI dies at the kill point: nothing after it is replayed, and its create stays pending.
            for (const e of fixtureEvents(s.fixture)) {
                this.killedEvents.push(e);
                onEvent(e);
                if (killAt(e)) {
                    if (s.ok !== true) this.pending = [{ type: "creating", urn: e.resourcePreEvent!.metadata.urn }];
                    return { ok: false, error: "pulumi up was killed (SIGKILL)" };
                }
            }
            return { ok: true };
        },
        deploy: async (o) => {
            const r = await this.replay("deploy", o);
            if (r.ok && this.deployClearsPending) this.pending = [];
            return r;
        },
        pendingOperations: async () => this.pending,
        refresh: (o) => this.replay("refresh", o),
        destroy: async (o) => {
            const r = await this.replay("destroy", o, o.remove ? " --remove" : "");
            if (r.ok && o.remove) this.stacks.delete(NAME);
            return r;
        },
        resources: async () => (this.deployed ? fixtureState() : []),
        setConfig: async (config) => void this.configs.push({ ...config }),
    };

    readonly machine: E2eMachine = {
        docker: async () => this.docker,
        kindVersion: async () => this.kind,
        pulumiVersion: async () => this.pulumi,
        kindClusters: async () =>
            this.docker !== "running"
                ? { installed: true, error: "Cannot connect to the Docker daemon" }
                : { installed: true, clusters: [...this.clusters] },
        deleteKindCluster: async (name) => {
            this.calls.push(`kind delete cluster ${name}`);
            this.clusters.delete(name);
        },
        kindContainers: async (name) => (this.clusters.has(name) ? [`${name}-control-plane`] : []),
        // One cache holding what the fresh up fetched, unchanged by the re-creation (tools/e2e/warmCache.ts weighs it).
        imageCaches: async () => [
            {
                registry: "docker.io",
                snapshot: { blobs: [{ digest: `sha256:${"a".repeat(64)}`, bytes: 1000, fetchedAt: 0 }], repositories: ["istio/pilot"] },
            },
        ],
        pulledEvents: async () =>
            JSON.stringify({
                items: [
                    {
                        reason: "Pulled",
                        lastTimestamp: "2099-01-01T00:00:00Z",
                        message:
                            'Successfully pulled image "docker.io/istio/pilot:1.31.1" in 1s (1s including waiting). Image size: 1000 bytes.',
                    },
                ],
            }),
    };

    readonly backend: E2eBackend = {
        createStack: async (name, config) => {
            this.stacks.add(name);
            this.configs.push({ ...config });
            return this.stack;
        },
        stackNames: async () => [...this.stacks, "dev"],
        removeStack: async (name) => {
            this.calls.push(`stack rm ${name}`);
            this.stacks.delete(name);
        },
        cleanUp: async () => void (this.cleanedUp = true),
        shellEnv: { PULUMI_HOME: "/tmp/istio-mesh-e2e-x/pulumi-home", PULUMI_BACKEND_URL: "file:///tmp/istio-mesh-e2e-x/state" },
        leftovers: ["/tmp/istio-mesh-e2e-x", `/work/Pulumi.${NAME}.yaml`],
    };

    ports(routingChanges: readonly string[] = ROUTING_CHANGES): E2ePorts {
        return {
            machine: this.machine,
            openBackend: async () => {
                this.openedBackend = true;
                return this.backend;
            },
            expectations: async () => {
                this.askedExpectations = true;
                return { routingChanges };
            },
            now: () => this.now,
            log: (line) => this.logs.push(line),
            writeFile: (file, content) => void (this.files[file] = content),
        };
    }

    options(over: Partial<E2eOptions> = {}): E2eOptions {
        return {
            env: "dev",
            name: NAME,
            envConfig: stackConfig("dev"),
            hostPorts: HOST_PORTS,
            keep: false,
            outDir: "/out",
            interrupt: this.user.signal,
            ...over,
        };
    }

    /** What the run left: kind cluster, its node containers, the stack. */
    async leftovers(): Promise<string[]> {
        return [
            ...(this.clusters.has(NAME) ? ["cluster"] : []),
            ...(await this.machine.kindContainers(NAME)),
            ...(this.stacks.has(NAME) ? ["stack"] : []),
        ];
    }
}

const results = (r: E2eReport): string[] => r.scenarios.map((s) => `${s.id} ${s.result}`);

describe("e2e scenarios", () => {
    it("passes every scenario when each step behaves, and leaves no cluster, container or stack behind", async () => {
        const w = new World([...HAPPY]);
        const report = await runE2e(w.options(), w.ports());
        assert.deepEqual(results(report), [
            "fresh-up PASS",
            "no-change-up PASS",
            "routing-change PASS",
            "interrupted-up PASS",
            "killed-up PASS",
            "destroy-then-up PASS",
            "cluster-deleted PASS",
            "warm-recreate PASS",
            "final-destroy PASS",
        ]);
        assert.equal(report.exitCode, 0);
        assert.deepEqual(await w.leftovers(), []);
        assert.ok(w.cleanedUp, "the temp backend and the stack file are removed");
        assert.ok(w.clusters.has("istio-dev"), "the user's own cluster is untouched");
        assert.deepEqual(w.calls, [
            "up",
            "up",
            "up",
            "up",
            "up",
            "up",
            "up",
            "up-killed",
            "deploy",
            "destroy",
            "up",
            `kind delete cluster ${NAME}`,
            "refresh",
            `up --replace ${DEV_KIND_CLUSTER_URN}`,
            "destroy",
            "up",
            "destroy --remove",
        ]);
    });

    it("runs the throwaway stack on its own cluster name and host ports, and changes only the routing for the routing scenario", async () => {
        const w = new World([...HAPPY]);
        await runE2e(w.options(), w.ports());
        const [created, routing, off, restored] = w.configs;
        assert.equal(created["istio-mesh:clusterName"], NAME);
        assert.deepEqual((created["istio-mesh:kind"] as { hostPorts: unknown }).hostPorts, HOST_PORTS);
        assert.deepEqual(routing["istio-mesh:bookinfo"], { reviews: { mode: "weighted", weights: { v1: 50, v2: 50, v3: 0 } } });
        assert.deepEqual(off["istio-mesh:bookinfo"], { enabled: false });
        assert.deepEqual(restored, created, "the interrupted up restores the stack's own config");
    });

    it("interrupts the up as its first Helm release starts, and then needs a plain up that finishes", async () => {
        const w = new World([...HAPPY]);
        const report = await runE2e(w.options(), w.ports());
        assert.equal(w.abortedAfter.length, 1);
        const at = w.abortedAfter[0].resourcePreEvent?.metadata;
        assert.equal(at?.op, "create");
        assert.equal(at?.type, "kubernetes:helm.sh/v3:Release");
        assert.match(at?.urn ?? "", /::observability-prometheus$/);
        const row = report.scenarios.find((s) => s.id === "interrupted-up");
        assert.match(
            row?.reason ?? "",
            /^stopped as observability-prometheus started; the next up made the other \d+ changes and the verification passed$/,
        );
    });

    it("kills an up as its first Helm release installs, then needs npm run deploy to recover and verify", async () => {
        const w = new World([...HAPPY]);
        const report = await runE2e(w.options(), w.ports());
        const killed = report.scenarios.find((r) => r.id === "killed-up");
        assert.equal(killed?.result, "PASS", killed?.reason);
        const at = w.killedEvents[w.killedEvents.length - 1].resourcePreEvent?.metadata;
        assert.equal(at?.type, "kubernetes:helm.sh/v3:Release", "killed at a Helm install, not earlier");
        assert.equal(at?.op, "create");
        assert.equal(
            w.killedEvents.filter(
                (e) => e.resourcePreEvent?.metadata.type === "kubernetes:helm.sh/v3:Release" && e.resourcePreEvent.metadata.op === "create",
            ).length,
            1,
            "the first Helm install, and nothing replayed after it",
        );
        assert.match(killed?.reason ?? "", /^killed while \S+ installed \(1 pending operations left\); npm run deploy recovered/);
        const i = w.calls.indexOf("up-killed");
        assert.deepEqual(w.calls.slice(i - 1, i + 2), ["up", "up-killed", "deploy"]);
        assert.equal((w.configs[4]["istio-mesh:observability"] as { grafana?: boolean }).grafana, false, "addons off first");
        assert.deepEqual(w.configs[5], w.configs[0], "then the environment's config again, for the up that is killed");
    });

    it("fails the killed-up scenario when the kill left nothing pending, or npm run deploy left pending operations", async () => {
        const nothingPending = new World([
            ...HAPPY.slice(0, 7),
            { op: "up-killed", fixture: "dev-up-interrupted", ok: true },
            ...HAPPY.slice(8),
        ]);
        const a = (await runE2e(nothingPending.options(), nothingPending.ports())).scenarios.find((r) => r.id === "killed-up");
        assert.equal(a?.result, "FAIL");
        assert.match(a?.reason ?? "", /the kill left no pending create of \S+, so the recovery was not exercised/);
        const stillPending = new World([...HAPPY]);
        stillPending.deployClearsPending = false;
        const b = (await runE2e(stillPending.options(), stillPending.ports())).scenarios.find((r) => r.id === "killed-up");
        assert.equal(b?.result, "FAIL");
        assert.match(b?.reason ?? "", /^npm run deploy left pending operations: \S+ \(creating\)$/);
        const failing = new World([
            ...HAPPY.slice(0, 8),
            { op: "deploy", fixture: "dev-up-kind-fails", ok: false, error: "exit 1" },
            ...HAPPY.slice(9),
        ]);
        const c = (await runE2e(failing.options(), failing.ports())).scenarios.find((r) => r.id === "killed-up");
        assert.match(c?.reason ?? "", /^npm run deploy failed after the kill: /);
    });

    it("fails the interrupted-up scenario when the up finishes although it was interrupted", async () => {
        const script = HAPPY.map((s) => (s.interruptible ? { ...s, ok: true, interruptible: false } : s));
        const w = new World(script);
        const report = await runE2e(w.options(), w.ports());
        const row = report.scenarios.find((s) => s.id === "interrupted-up");
        assert.equal(row?.result, "FAIL");
        assert.equal(row?.reason, "the up finished although it was interrupted when observability-prometheus started");
    });

    it("reports a failed fresh up as failed, skips the rest, and still destroys the cluster and the stack", async () => {
        const w = new World([
            { op: "up", fixture: "dev-up-kind-fails", ok: false, error: "code: 255", effect: "cluster-up" },
            { op: "destroy", fixture: "dev-destroy", effect: "cluster-down" },
        ]);
        const report = await runE2e(w.options(), w.ports());
        assert.deepEqual(results(report), [
            "fresh-up FAIL",
            "no-change-up SKIP",
            "routing-change SKIP",
            "interrupted-up SKIP",
            "killed-up SKIP",
            "destroy-then-up SKIP",
            "cluster-deleted SKIP",
            "warm-recreate SKIP",
            "final-destroy PASS",
        ]);
        assert.equal(report.exitCode, 1);
        assert.equal(report.scenarios[0].reason, 'up (fresh) failed: kind-cluster failed: error: exit status 1: running "set -eu ...":');
        assert.equal(report.scenarios[1].reason, "not run: fresh up, verification passing failed");
        assert.deepEqual(w.calls, ["up", "destroy --remove"]);
        assert.deepEqual(await w.leftovers(), []);
        assert.ok(w.cleanedUp);
    });

    it("fails the routing scenario naming what else changed", async () => {
        const w = new World([...HAPPY.slice(0, 3), { op: "destroy", fixture: "dev-destroy", effect: "cluster-down" }]);
        const report = await runE2e(w.options(), w.ports([ROUTING_CHANGES[1]]));
        const row = report.scenarios.find((s) => s.id === "routing-change");
        assert.equal(row?.result, "FAIL");
        assert.equal(row?.reason, "also changed bookinfo");
        assert.equal(report.scenarios.find((s) => s.id === "final-destroy")?.result, "PASS");
    });

    it("fails the no-change scenario when the second up changes something", async () => {
        const w = new World([
            HAPPY[0],
            { op: "up", fixture: "dev-up-routing" },
            { op: "destroy", fixture: "dev-destroy", effect: "cluster-down" },
        ]);
        const report = await runE2e(w.options(), w.ports());
        assert.equal(report.scenarios[1].result, "FAIL");
        assert.equal(report.scenarios[1].reason, "changed bookinfo (update), bookinfo-virtualservice-reviews (create)");
    });

    it("refreshes before the final destroy when the cluster is already gone", async () => {
        // The recovery's up --replace fails, leaving the stack with a state but no cluster.
        const w = new World([
            ...HAPPY.slice(0, 12),
            { op: "up", fixture: "dev-up-kind-fails", ok: false, error: "code: 255" },
            { op: "refresh", fixture: "dev-refresh-cluster-gone" },
            { op: "destroy", fixture: "dev-destroy", effect: "cluster-down" },
        ]);
        const report = await runE2e(w.options(), w.ports());
        assert.equal(report.scenarios.find((s) => s.id === "cluster-deleted")?.result, "FAIL");
        assert.deepEqual(w.calls.slice(-3), [`up --replace ${DEV_KIND_CLUSTER_URN}`, "refresh", "destroy --remove"]);
        assert.equal(report.scenarios.find((s) => s.id === "final-destroy")?.result, "PASS");
    });

    it("removes what a failed final destroy left behind, and reports the final destroy as failed", async () => {
        const w = new World([
            HAPPY[0],
            { op: "up", fixture: "dev-up-kind-fails", ok: false },
            { op: "destroy", fixture: "dev-destroy", ok: false, error: "deleting a release: timed out" },
        ]);
        const report = await runE2e(w.options(), w.ports());
        const final = report.scenarios.find((s) => s.id === "final-destroy");
        assert.equal(final?.result, "FAIL");
        assert.equal(
            final?.reason,
            `destroy failed: deleting a release: timed out; left behind: kind cluster ${NAME}, containers ${NAME}-control-plane, stack ${NAME}; removed them directly`,
        );
        assert.deepEqual(w.calls.slice(-3), ["destroy --remove", `kind delete cluster ${NAME}`, `stack rm ${NAME}`]);
        assert.deepEqual(await w.leftovers(), []);
    });

    it("stops on Ctrl-C after the running operation, skips the rest and still cleans up", async () => {
        const w = new World([
            HAPPY[0],
            { ...HAPPY[1], userPressesCtrlC: true },
            { op: "destroy", fixture: "dev-destroy", effect: "cluster-down" },
        ]);
        const report = await runE2e(w.options(), w.ports());
        assert.deepEqual(results(report).slice(0, 3), ["fresh-up PASS", "no-change-up FAIL", "routing-change SKIP"]);
        assert.equal(report.scenarios[1].reason, "interrupted by the user (Ctrl-C)");
        assert.equal(report.scenarios[2].reason, "not run: interrupted");
        assert.equal(report.scenarios.find((r) => r.id === "final-destroy")?.result, "PASS");
        assert.deepEqual(await w.leftovers(), []);
    });

    it("with --keep leaves the last cluster and the stack up and says how to reach and remove them", async () => {
        const w = new World(HAPPY.slice(0, -1));
        const report = await runE2e(w.options({ keep: true }), w.ports());
        assert.equal(report.exitCode, 0);
        assert.deepEqual(
            report.scenarios.find((r) => r.id === "final-destroy"),
            {
                id: "final-destroy",
                title: "final destroy leaves nothing behind",
                result: "SKIP",
                seconds: 0,
                reason: `--keep: stack and kind cluster ${NAME} left for inspection`,
            },
        );
        assert.deepEqual(await w.leftovers(), ["cluster", `${NAME}-control-plane`, "stack"]);
        assert.equal(w.cleanedUp, false);
        const out = w.logs.join("\n");
        assert.match(
            out,
            /export PULUMI_HOME="\/tmp\/istio-mesh-e2e-x\/pulumi-home" PULUMI_BACKEND_URL="file:\/\/\/tmp\/istio-mesh-e2e-x\/state"/,
        );
        assert.match(
            out,
            new RegExp(`pulumi destroy --yes --remove --stack ${NAME} && rm -rf "/tmp/istio-mesh-e2e-x" "/work/Pulumi.${NAME}.yaml"`),
        );
    });

    it("fails the warm re-creation when a cache fetched again what it held, and still destroys", async () => {
        const w = new World([...HAPPY]);
        let asked = 0;
        // The second look finds the blob written anew: fetched from upstream again.
        w.machine.imageCaches = async () => [
            {
                registry: "docker.io",
                snapshot: {
                    blobs: [{ digest: `sha256:${"a".repeat(64)}`, bytes: 1000, fetchedAt: asked++ === 0 ? 0 : 4102444800 }],
                    repositories: [],
                },
            },
        ];
        const report = await runE2e(w.options(), w.ports());
        const row = report.scenarios.find((s) => s.id === "warm-recreate");
        assert.equal(row?.result, "FAIL");
        assert.match(
            row?.reason ?? "",
            /but the caches fetched again from upstream 1 blobs they already held: docker\.io sha256:aaaaaaaaaaaa$/,
        );
        assert.equal(report.exitCode, 1);
        assert.equal(report.scenarios.find((s) => s.id === "final-destroy")?.result, "PASS");
        assert.deepEqual(await w.leftovers(), []);
    });

    it("writes the report as a table and as JSON, and the fresh up's timings", async () => {
        const w = new World([...HAPPY]);
        const report = await runE2e(w.options(), w.ports());
        assert.deepEqual(JSON.parse(w.files["/out/e2e-dev.json"]), JSON.parse(JSON.stringify(report)));
        const timings = JSON.parse(w.files["/out/e2e-dev-fresh-up.timings.json"]);
        assert.equal(timings.slowest[0].name, "kind-cluster");
        assert.match(w.logs.join("\n"), /Where the time went: fresh up of e2e-dev-abc123, succeeded after 4m23s\./);
        assert.ok(
            w.files["/out/dev-events/01-up-fresh.jsonl"].startsWith('{"sequence":0,'),
            "each operation's events are kept for inspection",
        );
        const table = renderReport(report).split("\n");
        assert.match(table[0], /^scenario +result +duration +reason$/);
        assert.match(table[1], /^fresh up, verification passing +PASS +4m23s +\d+ resources created in 4m23s; the verification passed$/);
        assert.equal(table.length, 12);
        assert.match(table[11], /^e2e dev: every scenario passed in \d+m\d\ds\.$/);
        const warm = JSON.parse(w.files["/out/e2e-dev-warm-recreate.json"]);
        assert.deepEqual([warm.ok, warm.refetched, warm.held.blobs], [true, [], 1]);
    });
});

describe("e2e on a machine that lacks something", () => {
    const lacking = async (set: (w: World) => void): Promise<{ w: World; report: E2eReport }> => {
        const w = new World([]);
        set(w);
        return { w, report: await runE2e(w.options(), w.ports()) };
    };

    it("stops at once without Docker and kind, naming both, and creates nothing", async () => {
        const { w, report } = await lacking((x) => {
            x.docker = "missing";
            x.kind = undefined;
        });
        assert.equal(report.exitCode, 2);
        assert.deepEqual(report.missing, [
            "Docker: docker is not on PATH (install it: https://docs.docker.com/get-docker/)",
            "kind: kind is not on PATH (install kind v0.33.0: https://kind.sigs.k8s.io/docs/user/quick-start/#installation)",
        ]);
        assert.match(
            w.logs.join("\n"),
            /^error: npm run e2e needs Docker \(running\), kind v0\.33\.0 and the Pulumi CLI\. Missing:\n {2}- Docker: .*\n {2}- kind: .*\nNothing was created\.$/,
        );
        assert.equal(w.openedBackend, false);
        assert.equal(w.askedExpectations, false);
        assert.deepEqual(w.files, {});
        assert.deepEqual(w.calls, []);
    });

    it("names a stopped Docker and a missing Pulumi CLI", async () => {
        const { report } = await lacking((x) => {
            x.docker = "stopped";
            x.pulumi = undefined;
        });
        assert.deepEqual(report.missing, [
            "the Pulumi CLI: pulumi is not on PATH (install it: https://www.pulumi.com/docs/install/)",
            "a running Docker: docker info failed (start Docker Desktop or the Docker service)",
        ]);
    });

    it("refuses an environment on an existing cluster before looking at the machine", async () => {
        const w = new World([]);
        w.machine.docker = () => assert.fail("the machine was checked");
        const report = await runE2e(w.options({ env: "prod", envConfig: stackConfig("prod") }), w.ports());
        assert.equal(report.exitCode, 2);
        assert.match(
            report.missing[0],
            /^environment prod runs on an existing cluster \(clusterMode existing\); npm run e2e needs a kind environment/,
        );
    });

    it("warns about another kind version but runs", async () => {
        const w = new World([
            { op: "up", fixture: "dev-up-kind-fails", ok: false },
            { op: "destroy", fixture: "dev-destroy" },
        ]);
        w.kind = "v0.31.0";
        await runE2e(w.options(), w.ports());
        assert.match(w.logs.join("\n"), /warning: kind v0\.31\.0 is installed; the node image is pinned for kind v0\.33\.0/);
    });
});

describe("the throwaway stack's config", () => {
    const dev = stackConfig("dev");

    it("keeps the environment's settings and gives every host port role its own port", () => {
        const c = e2eStackConfig(dev, NAME, HOST_PORTS);
        assert.equal(c["istio-mesh:clusterName"], NAME);
        assert.equal(c["istio-mesh:meshMode"], dev["istio-mesh:meshMode"]);
        assert.equal(c["istio-mesh:verifyDeployment"], true);
        const kind = c["istio-mesh:kind"] as Record<string, unknown>;
        assert.deepEqual(Object.keys(kind.hostPorts as object).sort(), [...PORT_ROLES].sort());
        assert.equal(kind.workers, (dev["istio-mesh:kind"] as Record<string, unknown>).workers);
        assert.notEqual(c["istio-mesh:clusterName"], dev["istio-mesh:clusterName"]);
    });

    it("changes the reviews split to one the environment does not have", () => {
        assert.deepEqual((withRoutingChange(dev)["istio-mesh:bookinfo"] as { reviews: unknown }).reviews, {
            mode: "weighted",
            weights: { v1: 50, v2: 50, v3: 0 },
        });
        const already = withRoutingChange(withRoutingChange(dev));
        assert.deepEqual((already["istio-mesh:bookinfo"] as { reviews: unknown }).reviews, {
            mode: "weighted",
            weights: { v1: 50, v2: 0, v3: 50 },
        });
        const staging = withRoutingChange(stackConfig("staging"))["istio-mesh:bookinfo"] as Record<string, unknown>;
        assert.equal(staging.ingressApi, "gateway-api", "the rest of staging's Bookinfo settings stay");
    });

    it("switches Bookinfo and the heavier addons off for the interruption's preparation", () => {
        const staging = stackConfig("staging");
        const c = withWorkloadsOff(staging);
        assert.deepEqual(c["istio-mesh:observability"], {
            ...(staging["istio-mesh:observability"] as object),
            prometheus: false,
            grafana: false,
            kiali: false,
        });
        assert.deepEqual(c["istio-mesh:bookinfo"], { ...(staging["istio-mesh:bookinfo"] as object), enabled: false });
    });
});

describe("what a config change should touch, from two mock runs", () => {
    const reg = (type: string, name: string, inputs: unknown) => ({ type, name, inputs });

    it("lists the resources whose inputs differ, and those only one run registered", () => {
        const before = [reg("k:Service", "a", { port: 80 }), reg("k:Service", "b", { port: 80 }), reg("k:Deployment", "gone", {})];
        const after = [reg("k:Service", "a", { port: 80 }), reg("k:Service", "b", { port: 81 }), reg("k:VirtualService", "new", {})];
        assert.deepEqual(changedResources(before, after), ["k:Deployment::gone", "k:Service::b", "k:VirtualService::new"]);
    });

    it("tells resources of the same name apart by type", () => {
        assert.deepEqual(changedResources([reg("k:Service", "x", {})], [reg("k:Service", "x", {}), reg("k:Deployment", "x", {})]), [
            "k:Deployment::x",
        ]);
    });
});
