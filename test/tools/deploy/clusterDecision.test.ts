import { strict as assert } from "assert";
import { ClusterFacts, clusterTarget, decideCluster, projectDefaults } from "../../../tools/deploy/clusterDecision";
import { DEV_KIND_CLUSTER_URN } from "../../eventFixtures";
import { ROOT } from "../../harness";

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
