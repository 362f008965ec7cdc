import { strict as assert } from "assert";
import { Captured, dockerState, kindClusterUrn, kindState, stateResources } from "../../../tools/deploy/facts";
import { DEV_KIND_CLUSTER_URN, fixtureState, fixtureText } from "../../eventFixtures";

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
