import { strict as assert } from "assert";
import type { KubeApi } from "../../../components/probe";
import { executePlan } from "../../../tools/deploy/execute";
import type { Captured } from "../../../tools/deploy/facts";
import { planStack } from "../../../tools/deploy/plan";
import type { Shell } from "../../../tools/deploy/shell";
import { DEV_KIND_CLUSTER_URN, fixtureText } from "../../eventFixtures";
import { pulledEventsArgv } from "../../../tools/deploy/report";
import { snapshotArgv } from "../../../tools/cache/records";
import { CACHE_LABEL } from "../../../components/cluster/imageCache";

describe("running a command's steps", () => {
    /** A machine whose commands answer from a table; records what ran. */
    function fakeShell(answers: Record<string, Captured>, files: Record<string, string> = {}, alive: readonly number[] = []) {
        const ran: string[] = [];
        const removed: string[] = [];
        const captured: string[] = [];
        const logs: string[] = [];
        const written: Record<string, string> = {};
        const shell: Shell = {
            run: async (argv) => {
                ran.push(argv.join(" "));
                return 0;
            },
            capture: (argv) => {
                const key = argv.join(" ");
                captured.push(key);
                const a = answers[key];
                if (!a) throw new Error(`unexpected command: ${key}`);
                return a;
            },
            log: (line) => logs.push(line),
            readFile: (f) => files[f],
            writeFile: (f, content) => void (written[f] = content),
            jsonFiles: (dir) => Object.keys(files).filter((f) => f.startsWith(`${dir}/`) && f.endsWith(".json")),
            removeFile: (f) => {
                removed.push(f);
                delete files[f];
            },
            hostname: () => "laptop",
            pidAlive: (pid) => alive.includes(pid),
        };
        return { shell, ran, captured, logs, written, removed };
    }
    const ok = (stdout: string): Captured => ({ status: 0, stdout, stderr: "", missing: false });
    const kindConfig = (name: string): Captured =>
        ok(
            JSON.stringify({
                "istio-mesh:clusterMode": { value: "kind", secret: false },
                "istio-mesh:clusterName": { value: name, secret: false },
            }),
        );
    const defaults = { projectDefaults: { clusterMode: "kind", clusterName: "istio-mesh" } };
    const state = ok(fixtureText("dev-state.json.gz"));

    const LOCKS = "/p/.pulumi-state/.pulumi/locks/organization/istio-mesh/dev";
    const lock = (pid: number, hostname = "laptop"): string =>
        JSON.stringify({ pid, username: "ana", hostname, timestamp: "2026-12-03T06:00:00Z" });
    const upAnswers = {
        "pulumi config --json --stack dev": kindConfig("istio-dev"),
        "docker info": ok(""),
        "kind get clusters": ok("istio-dev\n"),
        "pulumi stack export --stack dev": state,
        "pulumi stack export --stack dev --show-secrets": state,
    };

    it("removes the lock a killed Pulumi left on the stack, and only that, then deploys", async () => {
        const files = {
            [`${LOCKS}/0b5e.json`]: lock(4242),
            "/p/.pulumi-state/.pulumi/locks/organization/istio-mesh/staging/1a.json": lock(4242),
        };
        const f = fakeShell(upAnswers, files);
        const code = await executePlan(
            planStack("up", "dev", {}, "/p", () => "x"),
            f.shell,
            defaults,
        );
        assert.equal(code, 0, f.logs.join("\n"));
        assert.deepEqual(f.removed, [`${LOCKS}/0b5e.json`], "another stack's lock is not touched");
        assert.match(
            f.logs.join("\n"),
            /stack dev is locked by ana@laptop \(pid 4242, at 2026-12-03T06:00:00Z\), which no longer runs on this machine \(killed or crashed\): removing its lock\./,
        );
        assert.equal(f.ran[1], "pulumi up --yes --stack dev --event-log /p/.pulumi-state/dev.events.jsonl");
    });

    it("stops, removing nothing, while the Pulumi that holds the lock still runs or ran on another machine", async () => {
        for (const [content, alive, reason] of [
            [
                lock(4242),
                [4242],
                /locked by ana@laptop \(pid 4242, at 2026-12-03T06:00:00Z\), which still runs on this machine: wait for it to end/,
            ],
            [lock(4242, "ci-runner"), [], /locked by ana@ci-runner \(pid 4242, at .*\), on another machine: wait for that run to end/],
            ["{not json", [], /stack dev is locked \(.*0b5e\.json\), and the lock does not say by whom/],
        ] as const) {
            const f = fakeShell(upAnswers, { [`${LOCKS}/0b5e.json`]: content }, alive);
            const code = await executePlan(
                planStack("up", "dev", {}, "/p", () => "x"),
                f.shell,
                defaults,
            );
            assert.equal(code, 1);
            assert.deepEqual(f.removed, []);
            assert.deepEqual(f.ran, ["pulumi stack select --create dev"]);
            const out = f.logs.join("\n");
            assert.match(out, reason);
            assert.match(out, /pulumi cancel --yes --stack dev, then run npm run deploy -- dev again\./);
        }
    });

    it("destroys a stack whose kind cluster is gone by refreshing first", async () => {
        const f = fakeShell({
            "pulumi config --json --stack dev": kindConfig("istio-dev"),
            "docker info": ok("Server Version: 28.1.1"),
            "kind get clusters": ok("other\n"),
        });
        const code = await executePlan(
            planStack("destroy", "dev", {}, "/p", () => "x"),
            f.shell,
            defaults,
        );
        assert.equal(code, 0);
        assert.deepEqual(f.ran, [
            "pulumi stack select --create dev",
            "pulumi refresh --yes --stack dev",
            "pulumi destroy --yes --stack dev",
        ]);
    });

    it("runs nothing after the check when Docker is down, and says to start it", async () => {
        const f = fakeShell({
            "pulumi config --json --stack dev": kindConfig("istio-dev"),
            "docker info": { status: 1, stdout: "", stderr: "Cannot connect to the Docker daemon", missing: false },
        });
        const code = await executePlan(
            planStack("refresh", "dev", {}, "/p", () => "x"),
            f.shell,
            defaults,
        );
        assert.equal(code, 1);
        assert.deepEqual(f.ran, ["pulumi stack select --create dev"]);
        assert.match(f.logs.join("\n"), /error: Docker is not running \(docker info failed\): start Docker Desktop/);
    });

    it("never asks Docker or kind about a stack on an existing cluster", async () => {
        const f = fakeShell({
            "pulumi config --json --stack prod": ok(JSON.stringify({ "istio-mesh:clusterMode": { value: "existing", secret: false } })),
        });
        await executePlan(
            planStack("destroy", "prod", {}, "/p", () => "x"),
            f.shell,
            defaults,
        );
        assert.deepEqual(f.captured, ["pulumi config --json --stack prod"]);
        assert.deepEqual(f.ran, ["pulumi stack select --create prod", "pulumi destroy --yes --stack prod"]);
    });

    it("redeploys a deleted cluster with a refresh and --replace, then prints and writes the timings", async () => {
        const log = "/p/.pulumi-state/dev.events.jsonl";
        const f = fakeShell(
            {
                "pulumi config --json --stack dev": kindConfig("istio-dev"),
                "docker info": ok(""),
                "kind get clusters": ok(""),
                "pulumi stack export --stack dev": state,
                "pulumi stack export --stack dev --show-secrets": state,
                // After the up: the kubelet's pulls, and what the image cache fetched (timestamps after the run began).
                [pulledEventsArgv("istio-dev").join(" ")]: ok(
                    JSON.stringify({
                        items: [
                            {
                                reason: "Pulled",
                                lastTimestamp: "2099-01-01T00:00:00Z",
                                message:
                                    'Successfully pulled image "docker.io/istio/pilot:1.31.1" in 4s (4s including waiting). Image size: 5000000 bytes.',
                            },
                        ],
                    }),
                ),
                [`docker ps --all --filter label=${CACHE_LABEL} --format {{.Names}}\t{{.Label "${CACHE_LABEL}"}}\t{{.State}}`]: ok(
                    "istio-mesh-cache-docker-io\tdocker.io\trunning\n",
                ),
                [`docker volume ls --filter label=${CACHE_LABEL} --format {{.Name}}\t{{.Label "${CACHE_LABEL}"}}`]: ok(
                    "istio-mesh-cache-docker-io\tdocker.io\n",
                ),
                [snapshotArgv("istio-mesh-cache-docker-io").join(" ")]: ok(
                    `== blobs\n4000000 4102444800 blobs/sha256/aa/${"a".repeat(64)}/data\n== counters\n`,
                ),
            },
            { [log]: fixtureText("dev-up-fresh.jsonl.gz") },
        );
        const code = await executePlan(
            planStack("up", "dev", {}, "/p", () => "x"),
            f.shell,
            {
                ...defaults,
                predict: async () => ({
                    criticalPath: ["kind-cluster", "verify-run"],
                    stepOf: { "kind-cluster": "kind-cluster", "verify-run": "verify-run" },
                    blocking: ["kind-cluster", "verify-run"],
                }),
            },
        );
        assert.equal(code, 0);
        assert.deepEqual(f.ran, [
            "pulumi stack select --create dev",
            "pulumi refresh --yes --stack dev",
            `pulumi up --yes --stack dev --event-log ${log} --replace ${DEV_KIND_CLUSTER_URN}`,
        ]);
        const out = f.logs.join("\n");
        assert.match(out, /Where the time went: pulumi up of dev, succeeded after 4m23s\./);
        assert.match(out, /Predicted critical path \(npm run graph\): kind-cluster → verify-run/);
        const timings = JSON.parse(f.written["/p/.pulumi-state/dev.timings.json"]);
        assert.equal(timings.stack, "dev");
        assert.equal(timings.slowest[0].name, "kind-cluster");
        assert.equal(timings.slowest[0].seconds, 108);
        assert.match(out, /Image pulls \(the kubelet's Pulled events\):\n {2}1 images, 5\.0 MB, 4s of pulling/);
        assert.match(out, /Fetched from the internet by the image caches \(their own storage\): 4\.0 MB, docker\.io 4\.0 MB in 1 blobs\./);
        assert.deepEqual(
            [timings.pulls.bytes, timings.pulls.seconds, timings.pulls.upstream],
            [5000000, 4, [{ registry: "docker.io", blobs: 1, bytes: 4000000 }]],
        );
    });

    /** dev's state after an up interrupted while installing istiod (a pending create), as --show-secrets exports it. */
    const interrupted = (): Captured => {
        const exported = JSON.parse(fixtureText("dev-state.json.gz"));
        const provider = exported.deployment.resources.find((r: { type: string }) => r.type === "pulumi:providers:kubernetes");
        // A secret input, as pulumi pkg/resource/stack/deployment.go writes it with --show-secrets.
        const kubeconfig = {
            "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
            plaintext: JSON.stringify(STATE_KUBECONFIG),
        };
        provider.inputs = { kubeconfig, deleteUnreachable: "true" };
        // The install never finished, so the state holds no istiod release: only its pending create.
        exported.deployment.resources = exported.deployment.resources.filter((r: { urn: string }) => !r.urn.endsWith("::istio-istiod"));
        exported.deployment.pending_operations = [
            {
                type: "creating",
                resource: {
                    urn: "urn:pulumi:dev::istio-mesh::istio-mesh:index:IstioMesh$kubernetes:helm.sh/v3:Release::istio-istiod",
                    type: "kubernetes:helm.sh/v3:Release",
                    inputs: { name: "istiod", namespace: "istio-system" },
                },
            },
        ];
        return ok(JSON.stringify(exported));
    };
    const STATE_KUBECONFIG = "apiVersion: v1\nkind: Config\n# the stack's provider\n";
    const KIND_KUBECONFIG = "apiVersion: v1\nkind: Config\n# kind get kubeconfig\n";
    /** A kind cluster whose API server answers /readyz, holding the records of istiod's half-made install. */
    function cluster(deleted: string[], readyz = 200, status = "pending-install"): (kubeconfig: string) => Promise<KubeApi> {
        return async (kubeconfig) => {
            assert.ok([STATE_KUBECONFIG, KIND_KUBECONFIG].includes(kubeconfig), kubeconfig);
            return {
                async request(method, p) {
                    if (p === "/readyz") {
                        assert.equal(kubeconfig, KIND_KUBECONFIG, "readiness is asked with kind's kubeconfig of the cluster");
                        return { status: readyz, body: "ok" };
                    }
                    assert.equal(kubeconfig, STATE_KUBECONFIG, "releases are freed with the stack's own provider kubeconfig");
                    if (method === "GET") {
                        return {
                            status: 200,
                            body: { items: [{ metadata: { name: "sh.helm.release.v1.istiod.v1", labels: { owner: "helm", status } } }] },
                        };
                    }
                    deleted.push(p);
                    return { status: 200, body: {} };
                },
            };
        };
    }
    const noWait = { tries: 3, sleep: async () => undefined };
    const CLEAR = "pulumi refresh --yes --skip-preview --non-interactive --clear-pending-creates --stack dev";

    it("after an interrupted deploy, frees the Helm release it was installing and clears the pending operations first", async () => {
        const deleted: string[] = [];
        const f = fakeShell({
            "pulumi config --json --stack dev": kindConfig("istio-dev"),
            "docker info": ok(""),
            "kind get clusters": ok("istio-dev\n"),
            "kind get kubeconfig --name istio-dev": ok(KIND_KUBECONFIG),
            "pulumi stack export --stack dev --show-secrets": interrupted(),
        });
        const code = await executePlan(
            planStack("up", "dev", {}, "/p", () => "x"),
            f.shell,
            {
                ...defaults,
                kube: cluster(deleted),
                apiWait: noWait,
            },
        );
        assert.equal(code, 0);
        assert.deepEqual(deleted, ["/api/v1/namespaces/istio-system/secrets/sh.helm.release.v1.istiod.v1"]);
        assert.deepEqual(f.ran, [
            "pulumi stack select --create dev",
            CLEAR,
            "pulumi up --yes --stack dev --event-log /p/.pulumi-state/dev.events.jsonl",
        ]);
        assert.match(f.logs.join("\n"), /The last run was interrupted while creating or updating 1 resource: istio-istiod\./);
    });

    it("never deletes the Helm history of a release whose pending create a later plain up finished", async () => {
        const exported = JSON.parse(interrupted().stdout);
        const istiod = exported.deployment.pending_operations[0].resource;
        exported.deployment.resources.push({ ...istiod, id: "istio-system/istiod" });
        const deleted: string[] = [];
        const listed: string[] = [];
        const f = fakeShell({
            "pulumi config --json --stack dev": kindConfig("istio-dev"),
            "docker info": ok(""),
            "kind get clusters": ok("istio-dev\n"),
            "kind get kubeconfig --name istio-dev": ok(KIND_KUBECONFIG),
            "pulumi stack export --stack dev --show-secrets": ok(JSON.stringify(exported)),
        });
        const kube = async (): Promise<KubeApi> => ({
            async request(method, p) {
                if (p === "/readyz") return { status: 200, body: "ok" };
                (method === "GET" ? listed : deleted).push(p);
                return {
                    status: 200,
                    body: { items: [{ metadata: { name: "sh.helm.release.v1.istiod.v1", labels: { status: "deployed" } } }] },
                };
            },
        });
        const code = await executePlan(
            planStack("up", "dev", {}, "/p", () => "x"),
            f.shell,
            { ...defaults, kube, apiWait: noWait },
        );
        assert.equal(code, 0, f.logs.join("\n"));
        assert.deepEqual(deleted, [], "no record of the deployed istiod is deleted");
        assert.deepEqual(listed, [], "a release the state holds is not even looked at");
        assert.deepEqual(f.ran, [
            "pulumi stack select --create dev",
            CLEAR,
            "pulumi up --yes --stack dev --event-log /p/.pulumi-state/dev.events.jsonl",
        ]);
        assert.match(f.logs.join("\n"), /The state still lists 1 pending create that a later run finished \(istio-istiod\)/);
    });

    it("stops without changing anything when an interrupted install's release has a finished record the state does not hold", async () => {
        const deleted: string[] = [];
        const f = fakeShell({
            "pulumi config --json --stack dev": kindConfig("istio-dev"),
            "docker info": ok(""),
            "kind get clusters": ok("istio-dev\n"),
            "kind get kubeconfig --name istio-dev": ok(KIND_KUBECONFIG),
            "pulumi stack export --stack dev --show-secrets": interrupted(),
        });
        const code = await executePlan(
            planStack("up", "dev", {}, "/p", () => "x"),
            f.shell,
            {
                ...defaults,
                kube: cluster(deleted, 200, "deployed"),
                apiWait: noWait,
            },
        );
        assert.equal(code, 1);
        assert.deepEqual(deleted, []);
        assert.deepEqual(f.ran, ["pulumi stack select --create dev"]);
        const out = f.logs.join("\n");
        assert.match(out, /error: Helm release istio-system\/istiod has a deployed record \(revision 1\) that the state does not hold/);
        assert.match(
            out,
            /pulumi refresh --yes --skip-preview --non-interactive --stack dev --import-pending-creates 'urn:pulumi:dev::istio-mesh::istio-mesh:index:IstioMesh\$kubernetes:helm\.sh\/v3:Release::istio-istiod' --import-pending-creates istio-system\/istiod, then npm run deploy -- dev/,
        );
        assert.match(out, /Nothing was changed/);
    });

    it("refuses to recover (or refresh) while a listed kind cluster does not answer, which would empty the state", async () => {
        const answers = {
            "pulumi config --json --stack dev": kindConfig("istio-dev"),
            "docker info": ok(""),
            "kind get clusters": ok("istio-dev\n"),
            "kind get kubeconfig --name istio-dev": ok(KIND_KUBECONFIG),
            "pulumi stack export --stack dev --show-secrets": interrupted(),
        };
        for (const action of ["up", "refresh"] as const) {
            const f = fakeShell(answers);
            const code = await executePlan(
                planStack(action, "dev", {}, "/p", () => "x"),
                f.shell,
                {
                    ...defaults,
                    kube: cluster([], 503),
                    apiWait: noWait,
                },
            );
            assert.equal(code, 1, action);
            assert.deepEqual(f.ran, ["pulumi stack select --create dev"], action);
            assert.match(
                f.logs.join("\n"),
                /error: kind lists cluster istio-dev, but its API server does not answer: its containers are stopped or still starting/,
            );
        }
    });

    it("clears pending operations in the refresh that rebuilds a deleted cluster, with nothing to free there", async () => {
        const f = fakeShell({
            "pulumi config --json --stack dev": kindConfig("istio-dev"),
            "docker info": ok(""),
            "kind get clusters": ok(""),
            "pulumi stack export --stack dev": state,
            "pulumi stack export --stack dev --show-secrets": interrupted(),
        });
        const never = async (): Promise<KubeApi> => assert.fail("a cluster that is gone is not asked");
        const code = await executePlan(
            planStack("up", "dev", {}, "/p", () => "x"),
            f.shell,
            { ...defaults, kube: never, apiWait: noWait },
        );
        assert.equal(code, 0);
        assert.deepEqual(f.ran.slice(1, 3), [
            CLEAR,
            `pulumi up --yes --stack dev --event-log /p/.pulumi-state/dev.events.jsonl --replace ${DEV_KIND_CLUSTER_URN}`,
        ]);
    });

    it("stops before changing anything when it cannot free an interrupted release, unreachable or refused", async () => {
        for (const [api, reason] of [
            [
                async (): Promise<KubeApi> => ({ request: async () => ({ status: 403, body: {} }) }),
                /listing the records of Helm release istio-system\/istiod: HTTP 403/,
            ],
            [
                async (): Promise<KubeApi> => ({ request: async () => Promise.reject(new Error("connect ECONNREFUSED 203.0.113.1:6443")) }),
                /ECONNREFUSED/,
            ],
        ] as const) {
            const f = fakeShell({
                "pulumi config --json --stack prod": ok(JSON.stringify({ "istio-mesh:clusterMode": { value: "existing", secret: false } })),
                "pulumi stack export --stack prod --show-secrets": interrupted(),
            });
            const code = await executePlan(
                planStack("up", "prod", {}, "/p", () => "x"),
                f.shell,
                { ...defaults, kube: api },
            );
            assert.equal(code, 1);
            assert.deepEqual(f.ran, ["pulumi stack select --create prod"]);
            const out = f.logs.join("\n");
            assert.match(out, /error: could not free the Helm releases the interrupted run left in progress \(/);
            assert.match(out, reason);
            assert.match(out, /\)\. Nothing was changed/);
        }
    });

    /** A first deploy's state, interrupted while kind created the cluster: the kind command is only a pending create. */
    const firstDeployInterrupted = (): Captured =>
        ok(
            JSON.stringify({
                version: 3,
                deployment: {
                    resources: [{ urn: "urn:pulumi:dev::istio-mesh::pulumi:pulumi:Stack::istio-mesh-dev", type: "pulumi:pulumi:Stack" }],
                    pending_operations: [
                        { type: "creating", resource: { urn: DEV_KIND_CLUSTER_URN, type: "command:local:Command", inputs: {} } },
                    ],
                },
            }),
        );
    const noCluster = async (): Promise<KubeApi> => assert.fail("no cluster exists, so none may be asked whether it answers");

    it("deploys straight away after a first deploy was interrupted while kind created the cluster", async () => {
        const f = fakeShell({
            "pulumi config --json --stack dev": kindConfig("istio-dev"),
            "docker info": ok(""),
            "kind get clusters": ok("other\n"),
            "pulumi stack export --stack dev": firstDeployInterrupted(),
            "pulumi stack export --stack dev --show-secrets": firstDeployInterrupted(),
        });
        const code = await executePlan(
            planStack("up", "dev", {}, "/p", () => "x"),
            f.shell,
            {
                ...defaults,
                kube: noCluster,
                apiWait: noWait,
            },
        );
        assert.equal(code, 0, f.logs.join("\n"));
        assert.deepEqual(f.ran, [
            "pulumi stack select --create dev",
            "pulumi up --yes --stack dev --event-log /p/.pulumi-state/dev.events.jsonl",
        ]);
        assert.doesNotMatch(f.logs.join("\n"), /API server does not answer/);
    });

    it("refreshes a stack that never had a cluster without waiting for one", async () => {
        const f = fakeShell({
            "pulumi config --json --stack dev": kindConfig("istio-dev"),
            "docker info": ok(""),
            "kind get clusters": ok(""),
            "pulumi stack export --stack dev": firstDeployInterrupted(),
        });
        const code = await executePlan(
            planStack("refresh", "dev", {}, "/p", () => "x"),
            f.shell,
            {
                ...defaults,
                kube: noCluster,
                apiWait: noWait,
            },
        );
        assert.equal(code, 0, f.logs.join("\n"));
        assert.deepEqual(f.ran, ["pulumi stack select --create dev", "pulumi refresh --yes --stack dev"]);
    });

    it("waits for a listed but stopped kind cluster's API server before destroying, and stops when it never answers", async () => {
        const answers = {
            "pulumi config --json --stack dev": kindConfig("istio-dev"),
            "docker info": ok(""),
            "kind get clusters": ok("istio-dev\n"),
            "kind get kubeconfig --name istio-dev": ok(KIND_KUBECONFIG),
        };
        const stopped = fakeShell(answers);
        let slept = 0;
        const code = await executePlan(
            planStack("destroy", "dev", {}, "/p", () => "x"),
            stopped.shell,
            {
                ...defaults,
                kube: cluster([], 503),
                apiWait: { tries: 3, sleep: async () => void (slept += 1) },
            },
        );
        assert.equal(code, 1);
        assert.equal(slept, 2, "three tries, two pauses between them");
        assert.deepEqual(stopped.ran, ["pulumi stack select --create dev"]);
        assert.match(
            stopped.logs.join("\n"),
            /error: kind lists cluster istio-dev, but its API server does not answer.*then run npm run destroy -- dev again/,
        );
        const running = fakeShell(answers);
        assert.equal(
            await executePlan(
                planStack("destroy", "dev", {}, "/p", () => "x"),
                running.shell,
                { ...defaults, kube: cluster([]), apiWait: noWait },
            ),
            0,
        );
        assert.deepEqual(running.ran, ["pulumi stack select --create dev", "pulumi destroy --yes --stack dev"]);
    });

    it("keeps the deploy's exit status when it fails, after reporting where the time went", async () => {
        const log = "/p/.pulumi-state/dev.events.jsonl";
        const f = fakeShell(
            {
                "pulumi config --json --stack dev": kindConfig("istio-dev"),
                "docker info": ok(""),
                "kind get clusters": ok("istio-dev\n"),
                "pulumi stack export --stack dev": state,
                "pulumi stack export --stack dev --show-secrets": state,
            },
            { [log]: fixtureText("dev-up-kind-fails.jsonl.gz") },
        );
        f.shell.run = async (argv) => {
            f.ran.push(argv.join(" "));
            return argv[1] === "up" ? 255 : 0;
        };
        const code = await executePlan(
            planStack("up", "dev", {}, "/p", () => "x"),
            f.shell,
            defaults,
        );
        assert.equal(code, 255);
        assert.match(f.logs.join("\n"), /Where the time went: pulumi up of dev, failed after 1m36s\./);
    });
});
