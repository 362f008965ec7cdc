import { strict as assert } from "assert";
import { parse } from "yaml";
import { EXISTING_KUBECONFIG, FAKE_KUBECONFIG, inputValue, resolve, Run, runStack } from "./harness";

const K = "istio-mesh:";

describe("program: dev", function () {
    let run: Run;
    before(async () => {
        run = await runStack("dev");
    });

    it("creates the kind cluster through one create/delete command, replaced delete-first", () => {
        const [cmd] = run.ofType("command:local:Command").filter((c) => c.name === "kind-cluster");
        assert.ok(cmd, "no kind-cluster command");
        assert.match(cmd.inputs.create, /kind create cluster --name 'istio-dev' --config=-/);
        assert.match(cmd.inputs.delete, /kind delete cluster --name 'istio-dev'/);
        assert.equal(cmd.deleteBeforeReplace, true);
        assert.deepEqual(cmd.additionalSecretOutputs, ["stdout"]);
        assert.equal(cmd.inputs.logging, "stderr");
        assert.equal(cmd.parent, "kind");
        const kindConfig = parse(cmd.inputs.stdin) as { nodes: unknown[] };
        assert.equal(kindConfig.nodes.length, 1);
    });

    it("registers exactly one Kubernetes provider, fed by the secret kubeconfig", async () => {
        const providers = run.ofType("pulumi:providers:kubernetes");
        assert.equal(providers.length, 1);
        assert.deepEqual(inputValue(providers[0].inputs.kubeconfig), { value: FAKE_KUBECONFIG, secret: true });
        assert.equal(providers[0].inputs.deleteUnreachable, "true");
        const out = await resolve(run.outputs.kubeconfig as never);
        assert.equal(out.value, FAKE_KUBECONFIG);
        assert.equal(out.secret, true, "kubeconfig output must be secret");
    });

    it("uses no default provider anywhere", () => {
        // The StackReference to the stack itself is read by the engine from the backend, through no provider.
        const custom = run.resources.filter(
            (r) => r.custom && !r.type.startsWith("pulumi:providers:") && r.type !== "pulumi:pulumi:StackReference",
        );
        assert.ok(custom.length > 0);
        for (const r of custom) {
            assert.ok(r.provider, `${r.type}::${r.name} has no provider`);
            assert.doesNotMatch(r.provider!, /::default/, `${r.type}::${r.name} uses a default provider: ${r.provider}`);
        }
    });

    it("exports the cluster name and mode", async () => {
        assert.equal((await resolve(run.outputs.clusterName as never)).value, "istio-dev");
        assert.equal((await resolve(run.outputs.clusterMode as never)).value, "kind");
    });

    it("disables default providers in every committed stack file", () => {
        for (const env of ["dev", "staging", "prod"]) {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const file = parse(require("fs").readFileSync(`${__dirname}/../Pulumi.${env}.yaml`, "utf8")) as {
                config: Record<string, unknown>;
            };
            assert.deepEqual(file.config["pulumi:disable-default-providers"], ["*"], env);
        }
    });
});

describe("program: staging", () => {
    it("registers three kind nodes in two zones", async () => {
        const run = await runStack("staging");
        const cmd = run.get("kind-cluster");
        const config = parse(cmd.inputs.stdin) as { nodes: { role: string; labels: Record<string, string> }[] };
        assert.deepEqual(
            config.nodes.map((n) => n.role),
            ["control-plane", "worker", "worker"],
        );
        assert.deepEqual(
            config.nodes.map((n) => n.labels["topology.kubernetes.io/zone"]),
            ["local-a", "local-b", "local-a"],
        );
    });
});

describe("program: prod", () => {
    it("fails without a kubeconfig, naming the key and the command to set it", async () => {
        await assert.rejects(runStack("prod"), (e: Error) => {
            assert.match(
                e.message,
                /kubeconfig is required when clusterMode is "existing" \(got nothing\)\. Fix: pulumi config set --secret kubeconfig --stack prod < ~\/\.kube\/config/,
            );
            return true;
        });
    });

    it("registers no kind command and feeds the provider the secret kubeconfig", async () => {
        const run = await runStack("prod", { [`${K}kubeconfig`]: EXISTING_KUBECONFIG });
        assert.equal(run.ofType("command:local:Command").filter((c) => c.name.startsWith("kind")).length, 0);
        const [provider] = run.ofType("pulumi:providers:kubernetes");
        assert.deepEqual(inputValue(provider.inputs.kubeconfig), { value: EXISTING_KUBECONFIG, secret: true });
        assert.equal(provider.inputs.deleteUnreachable, "false");
        const out = await resolve(run.outputs.kubeconfig as never);
        assert.equal(out.secret, true);
    });
});
