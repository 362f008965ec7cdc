import { strict as assert } from "assert";
import {
    Captured,
    ClusterFacts,
    clusterTarget,
    decideCluster,
    dockerState,
    executePlan,
    kindClusterUrn,
    kindState,
    planStack,
    projectDefaults,
    Shell,
    stateResources,
} from "../../tools/stack";
import type { KubeApi } from "../../components/probe";
import { DEV_KIND_CLUSTER_URN, fixtureState, fixtureText } from "../eventFixtures";
import { ROOT } from "../harness";

describe("deploy, preview, refresh and destroy commands", () => {
    const pass = (): string => "generated";

    it("uses a local file backend with a generated 0600 passphrase when nothing is configured", () => {
        const plan = planStack("up", "dev", {}, "/work/p", pass);
        assert.equal(plan.env.PULUMI_BACKEND_URL, "file:///work/p/.pulumi-state");
        assert.equal(plan.env.PULUMI_CONFIG_PASSPHRASE_FILE, "/work/p/.pulumi-state/passphrase");
        assert.deepEqual(plan.files, [{ path: "/work/p/.pulumi-state/passphrase", content: "generated", mode: 0o600 }]);
    });

    it("selects the stack, checks the cluster, deploys with an event log next to the state, then reports the timings", () => {
        const plan = planStack("up", "dev", {}, "/work/p", pass);
        const exportArgv = ["pulumi", "stack", "export", "--stack", "dev"];
        assert.deepEqual(plan.steps, [
            { kind: "command", argv: ["pulumi", "stack", "select", "--create", "dev"] },
            { kind: "cluster-check", configArgv: ["pulumi", "config", "--json", "--stack", "dev"], exportArgv },
            { kind: "pending-creates", exportArgv: [...exportArgv, "--show-secrets"] },
            { kind: "action", argv: ["pulumi", "up", "--yes", "--stack", "dev", "--event-log", "/work/p/.pulumi-state/dev.events.jsonl"] },
            {
                kind: "timings",
                eventLog: "/work/p/.pulumi-state/dev.events.jsonl",
                out: "/work/p/.pulumi-state/dev.timings.json",
                exportArgv,
            },
        ]);
        assert.deepEqual(plan.dirs, ["/work/p/.pulumi-state"]);
    });

    it("respects a backend and passphrase the user already set", () => {
        const plan = planStack("destroy", "staging", { PULUMI_BACKEND_URL: "s3://bucket", PULUMI_CONFIG_PASSPHRASE: "x" }, "/p", pass);
        assert.deepEqual(plan.env, {});
        assert.deepEqual(plan.files, []);
        assert.deepEqual(
            plan.steps.map((s) => s.kind),
            ["command", "cluster-check", "action"],
        );
        assert.deepEqual(plan.steps[2], { kind: "action", argv: ["pulumi", "destroy", "--yes", "--stack", "staging"] });
    });

    it("refreshes only after the cluster check", () => {
        const plan = planStack("refresh", "dev", {}, "/p", pass);
        assert.deepEqual(
            plan.steps.map((s) => s.kind),
            ["command", "cluster-check", "action"],
        );
        assert.deepEqual(plan.steps[2], { kind: "action", argv: ["pulumi", "refresh", "--yes", "--stack", "dev"] });
    });

    it("rejects an unknown environment with the accepted names", () => {
        assert.throws(() => planStack("up", "qa", {}, "/p", pass), /unknown environment "qa": use one of dev, staging, prod/);
        assert.throws(() => planStack("refresh", "qa", {}, "/p", pass), /e\.g\. npm run refresh -- dev/);
    });
});

describe("reading a stack's cluster from pulumi config --json", () => {
    // As `pulumi config --json --stack dev` prints it: the stack file, then the Pulumi.yaml defaults.
    const devConfig = JSON.stringify({
        "istio-mesh:clusterMode": { value: "kind", secret: false },
        "istio-mesh:clusterName": { value: "istio-dev", secret: false },
        "istio-mesh:kind": {
            value: '{"region":"local","workers":0,"zones":["local-a"]}',
            objectValue: { region: "local", workers: 0 },
            secret: false,
        },
        "istio-mesh:verifyDeployment": { value: "true", secret: false },
        "pulumi:disable-default-providers": { value: '["*"]', objectValue: ["*"], secret: false },
    });

    it("reads a kind stack's cluster name", () => {
        assert.deepEqual(clusterTarget(devConfig, {}), { mode: "kind", clusterName: "istio-dev" });
    });

    it("reads an existing-cluster stack, whose kubeconfig stays a secret it never needs", () => {
        const prod = JSON.stringify({
            "istio-mesh:clusterMode": { value: "existing", secret: false },
            "istio-mesh:clusterName": { value: "istio-prod", secret: false },
            "istio-mesh:kubeconfig": { secret: true },
        });
        assert.deepEqual(clusterTarget(prod, {}), { mode: "existing" });
    });

    it("falls back to the Pulumi.yaml defaults for keys the CLI left out", () => {
        assert.deepEqual(projectDefaults(ROOT), { clusterMode: "kind", clusterName: "istio-mesh" });
        assert.deepEqual(clusterTarget("{}", projectDefaults(ROOT)), { mode: "kind", clusterName: "istio-mesh" });
    });

    it("refuses a secret cluster name and an unknown mode, naming the key", () => {
        assert.throws(
            () => clusterTarget(JSON.stringify({ "istio-mesh:clusterName": { secret: true } }), { clusterMode: "kind" }),
            /istio-mesh:clusterName is a secret/,
        );
        assert.throws(
            () => clusterTarget(JSON.stringify({ "istio-mesh:clusterMode": { value: "eks", secret: false } }), {}),
            /clusterMode must be "kind" or "existing" \(got "eks"\)/,
        );
    });
});

describe("what each command does about the kind cluster", () => {
    const kind = { mode: "kind", clusterName: "istio-dev" } as const;
    const facts = (over: Partial<ClusterFacts> = {}): ClusterFacts => ({
        docker: () => "running",
        kind: () => ({ installed: true, clusters: ["istio-dev", "other"] }),
        clusterUrn: () => DEV_KIND_CLUSTER_URN,
        ...over,
    });
    const gone = facts({ kind: () => ({ installed: true, clusters: ["other"] }) });
    const dockerDown = facts({
        docker: () => "stopped",
        kind: () => assert.fail("kind must not be asked while Docker is down"),
    });

    it("never checks Docker or kind for a stack on an existing cluster", () => {
        const untouchable: ClusterFacts = {
            docker: () => assert.fail("docker was checked"),
            kind: () => assert.fail("kind was checked"),
            clusterUrn: () => assert.fail("the state was read"),
        };
        for (const action of ["up", "preview", "refresh", "destroy"] as const) {
            assert.deepEqual(decideCluster(action, "prod", { mode: "existing" }, untouchable), {
                kind: "proceed",
                before: [],
                replace: [],
                notes: [],
                awaitApi: false,
            });
        }
    });

    it("destroys straight away when the cluster is there, once its API server answers", () => {
        assert.deepEqual(decideCluster("destroy", "dev", kind, facts()), {
            kind: "proceed",
            before: [],
            replace: [],
            notes: [],
            awaitApi: true,
        });
    });

    it("waits for a listed cluster's API server before every action but a preview, and never for a cluster kind does not list", () => {
        for (const action of ["up", "refresh", "destroy"] as const) {
            const d = decideCluster(action, "dev", kind, facts());
            assert.equal(d.kind === "proceed" && d.awaitApi, true, action);
        }
        const preview = decideCluster("preview", "dev", kind, facts());
        assert.equal(preview.kind === "proceed" && preview.awaitApi, false);
        for (const action of ["up", "refresh", "destroy"] as const) {
            const d = decideCluster(action, "dev", kind, facts({ kind: gone.kind, clusterUrn: () => undefined }));
            assert.equal(d.kind === "proceed" && d.awaitApi, false, action);
        }
        const rebuild = decideCluster("up", "dev", kind, gone);
        assert.equal(rebuild.kind === "proceed" && rebuild.awaitApi, false);
    });

    it("refreshes before destroying when the cluster is gone, because deleting a Helm release on a missing cluster fails", () => {
        const d = decideCluster("destroy", "dev", kind, gone);
        assert.equal(d.kind, "proceed");
        assert.deepEqual(d.kind === "proceed" && d.before.map((b) => b.kind), ["refresh"]);
        assert.deepEqual(d.kind === "proceed" && d.replace, []);
    });

    it("stops a destroy at once when Docker is not running, and never refreshes then", () => {
        const d = decideCluster("destroy", "dev", kind, dockerDown);
        assert.equal(d.kind, "stop");
        assert.match(
            d.kind === "stop" ? d.message : "",
            /^Docker is not running \(docker info failed\): start Docker Desktop or the Docker service, then run npm run destroy -- dev again/,
        );
        assert.match(d.kind === "stop" ? d.message : "", /pulumi stack rm --force --stack dev \(this deletes the state, not the cluster\)/);
        const missing = decideCluster("destroy", "dev", kind, facts({ docker: () => "missing" }));
        assert.match(
            missing.kind === "stop" ? missing.message : "",
            /^docker was not found on PATH \(install Docker: https:\/\/docs\.docker\.com\/get-docker\/\)/,
        );
    });

    it("stops a destroy when kind is missing, since the cluster's delete step runs kind", () => {
        const d = decideCluster("destroy", "dev", kind, facts({ kind: () => ({ installed: false }) }));
        assert.equal(d.kind, "stop");
        assert.match(
            d.kind === "stop" ? d.message : "",
            /^kind was not found on PATH \(install kind v0\.33\.0: https:\/\/kind\.sigs\.k8s\.io/,
        );
    });

    it("refuses a refresh while Docker is down, saying what the refresh would do", () => {
        const d = decideCluster("refresh", "dev", kind, dockerDown);
        assert.equal(d.kind, "stop");
        assert.match(
            d.kind === "stop" ? d.message : "",
            /then run npm run refresh -- dev\. Not before: .*would drop every Kubernetes object of stack dev from the state/,
        );
    });

    it("refuses a refresh when the cluster is gone and names the recipes that rebuild or remove it", () => {
        const d = decideCluster("refresh", "dev", kind, gone);
        assert.equal(d.kind, "stop");
        assert.match(d.kind === "stop" ? d.message : "", /kind cluster istio-dev does not exist/);
        assert.match(
            d.kind === "stop" ? d.message : "",
            /npm run deploy -- dev \(it refreshes and then replaces the cluster itself\).*npm run destroy -- dev/,
        );
    });

    it("refreshes when the cluster is there, or when the state never had one", () => {
        assert.equal(decideCluster("refresh", "dev", kind, facts()).kind, "proceed");
        assert.equal(decideCluster("refresh", "dev", kind, facts({ kind: gone.kind, clusterUrn: () => undefined })).kind, "proceed");
    });

    it("recovers a deploy whose cluster was deleted: refresh, then replace the kind cluster command", () => {
        const d = decideCluster("up", "dev", kind, gone);
        assert.equal(d.kind, "proceed");
        assert.deepEqual(d.kind === "proceed" && d.before.map((b) => b.kind), ["refresh"]);
        assert.deepEqual(d.kind === "proceed" && d.replace, [DEV_KIND_CLUSTER_URN]);
    });

    it("deploys a first time without a refresh when the state has no cluster yet", () => {
        assert.deepEqual(decideCluster("up", "dev", kind, facts({ kind: gone.kind, clusterUrn: () => undefined })), {
            kind: "proceed",
            before: [],
            replace: [],
            notes: [],
            awaitApi: false,
        });
    });

    it("stops a deploy without Docker with the message of the create script's check", () => {
        const d = decideCluster("up", "dev", kind, dockerDown);
        assert.deepEqual(d, {
            kind: "stop",
            message:
                "Docker is not running (docker info failed): start Docker Desktop or the Docker service, then run npm run deploy -- dev again.",
        });
    });

    it("lets a preview run without Docker, with a note", () => {
        const d = decideCluster("preview", "dev", kind, dockerDown);
        assert.equal(d.kind, "proceed");
        assert.match(d.kind === "proceed" ? d.notes.join() : "", /the preview cannot tell whether kind cluster istio-dev exists/);
    });
});

describe("reading Docker, kind and the state", () => {
    const c = (status: number | null, stdout = "", stderr = "", missing = false): Captured => ({ status, stdout, stderr, missing });

    it("tells a running Docker from a stopped or missing one", () => {
        assert.equal(dockerState(c(0, "Server Version: 28.1.1")), "running");
        assert.equal(
            dockerState(c(1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")),
            "stopped",
        );
        assert.equal(dockerState(c(null, "", "", true)), "missing");
    });

    it("lists kind clusters, none, or kind's error", () => {
        assert.deepEqual(kindState(c(0, "istio-dev\nistio-staging\n")), { installed: true, clusters: ["istio-dev", "istio-staging"] });
        assert.deepEqual(kindState(c(0, "", "No kind clusters found.\n")), { installed: true, clusters: [] });
        assert.deepEqual(kindState(c(1, "", 'ERROR: failed to list clusters: command "docker ps -a" failed with error: exit status 1\n')), {
            installed: true,
            error: 'ERROR: failed to list clusters: command "docker ps -a" failed with error: exit status 1',
        });
        assert.deepEqual(kindState(c(null, "", "", true)), { installed: false });
    });

    it("finds the kind cluster command in a stack export by its component type", () => {
        assert.equal(kindClusterUrn(stateResources(fixtureText("dev-state.json.gz"))), DEV_KIND_CLUSTER_URN);
        assert.equal(kindClusterUrn(fixtureState().filter((r) => !r.urn.endsWith("::kind-cluster"))), undefined);
        assert.deepEqual(stateResources(JSON.stringify({ version: 3, deployment: { manifest: {} } })), []);
    });
});

describe("running a command's steps", () => {
    /** A machine whose commands answer from a table; records what ran. */
    function fakeShell(answers: Record<string, Captured>, files: Record<string, string> = {}) {
        const ran: string[] = [];
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
        };
        return { shell, ran, captured, logs, written };
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
