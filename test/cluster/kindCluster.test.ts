import { strict as assert } from "assert";
import { parse } from "yaml";
import { exposedPorts } from "../../components/ports";
import { KindClusterSpec, renderKindConfig } from "../../components/cluster/kindScripts";
import { DEFAULT_IMAGE_IN_TRIGGER, replacementTrigger } from "../../components/cluster/kindCluster";
import { DEFAULT_HOST_PORTS } from "../../components/cluster/config";
import { PINS } from "../../components/versions";
import { runStack } from "../harness";

const spec: KindClusterSpec = {
    name: "istio-test",
    nodeImage: PINS.kind.nodeImage,
    workers: 1,
    region: "local",
    zones: ["local-a"],
    listenAddress: "127.0.0.1",
    ports: exposedPorts(DEFAULT_HOST_PORTS),
    registryMirrors: [],
};

/** The node images a trigger names. */
function images(trigger: string): string[] {
    return [...new Set((parse(trigger) as { nodes: { image: string }[] }).nodes.map((n) => n.image))];
}

describe("kind cluster replacement trigger", () => {
    it("names the frozen pre-1.31 default image when the cluster uses the stack's default", () => {
        assert.notEqual(PINS.kind.nodeImage, DEFAULT_IMAGE_IN_TRIGGER, "the pin moved on: the frozen value is the old default");
        assert.deepEqual(images(replacementTrigger(spec)), [DEFAULT_IMAGE_IN_TRIGGER]);
        // what a cluster created with the old default held: its whole rendered config
        assert.equal(replacementTrigger(spec), renderKindConfig({ ...spec, nodeImage: DEFAULT_IMAGE_IN_TRIGGER }));
    });

    it("names an image the user set, so that changing it replaces the cluster", () => {
        const own = { ...spec, nodeImage: "kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d" };
        assert.equal(replacementTrigger(own), renderKindConfig(own));
        assert.notEqual(replacementTrigger(own), replacementTrigger(spec));
    });

    it("still changes with the layout kind cannot change on a running cluster", () => {
        assert.notEqual(replacementTrigger({ ...spec, workers: 2 }), replacementTrigger(spec));
        assert.notEqual(replacementTrigger({ ...spec, listenAddress: "0.0.0.0" }), replacementTrigger(spec));
    });

    it("creates dev's cluster with the pinned image and keeps the frozen one in its trigger", async () => {
        const run = await runStack("dev");
        const cmd = run.get("kind-cluster", "command:local:Command");
        assert.deepEqual(images(cmd.inputs.stdin), [PINS.kind.nodeImage]);
        // the config the create command reads, with the frozen default image in place of the pin
        assert.deepEqual(cmd.inputs.triggers, [(cmd.inputs.stdin as string).split(PINS.kind.nodeImage).join(DEFAULT_IMAGE_IN_TRIGGER)]);
    });
});
