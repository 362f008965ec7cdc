import { strict as assert } from "assert";
import * as path from "path";
import { EXISTING_KUBECONFIG, inputValue, resolve, runProgram, runStack, StackReferenceMock } from "./harness";
import * as pulumi from "@pulumi/pulumi";
import {
    meshStackOutputs,
    MeshStackOutputs,
    MeshStackOutputValues,
    OUTPUT_NAMES,
    OUTPUTS_CONTRACT_VERSION,
    SECRET_OUTPUTS,
} from "../components/outputs";

const MESH = "organization/istio-mesh/dev";
const KUBECONFIG = "apiVersion: v1\nkind: Config\n# the mesh stack's kubeconfig\n";

/** What a deployed dev mesh stack exports, by the contract's type. */
const DEV_OUTPUTS: MeshStackOutputs = {
    contractVersion: OUTPUTS_CONTRACT_VERSION,
    clusterName: "istio-dev",
    clusterMode: "kind",
    kubeconfig: KUBECONFIG,
    kubeContext: "",
    istioVersion: "1.30.3",
    meshMode: "sidecar",
    ingressGatewayUrl: "http://localhost:8080",
    bookinfoUrl: "http://localhost:8080/productpage",
    prometheusUrl: "http://localhost:9090",
    grafanaUrl: "http://localhost:3000",
    jaegerUrl: "http://localhost:16686",
    kialiUrl: "http://localhost:20001/kiali",
    grafanaAdminPassword: "from-the-mesh-stack",
    istioRevisions: [{ revision: "default", version: "1.30.3" }],
    istioRevisionTag: "",
};

function runConsumer(mesh: StackReferenceMock, config: Record<string, string> = {}) {
    return runProgram(
        () => {
            const entry = require.resolve(path.join(__dirname, "..", "examples", "consumer", "index"));
            delete require.cache[entry];
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            return require(entry) as Record<string, unknown>;
        },
        {
            project: "istio-mesh-consumer",
            config: { "istio-mesh-consumer:meshStack": MESH, ...config },
            stackReferences: { [MESH]: mesh },
        },
    );
}

describe("example consumer (examples/consumer)", () => {
    it("reads the mesh stack's outputs by the contract and deploys with its secret kubeconfig", async () => {
        const run = await runConsumer({ outputs: { ...DEV_OUTPUTS }, secretOutputNames: SECRET_OUTPUTS });
        assert.equal(run.get("mesh", "pulumi:pulumi:StackReference").inputs.name, MESH);
        const provider = run.get("mesh-cluster", "pulumi:providers:kubernetes");
        assert.deepEqual(inputValue(provider.inputs.kubeconfig), { value: KUBECONFIG, secret: true });
        assert.equal(provider.inputs.context, undefined, "an empty kubeContext means the kubeconfig's current context");
        const ns = run.get("namespace", "kubernetes:core/v1:Namespace");
        assert.deepEqual(ns.inputs.metadata, { name: "team-a", labels: { "istio-injection": "enabled" } });
        assert.equal((await resolve(run.outputs.bookinfoUrl as never)).value, "http://localhost:8080/productpage");
        assert.deepEqual(await resolve(run.outputs.grafanaAdminPassword as never), { value: "from-the-mesh-stack", secret: true });
        assert.deepEqual(await resolve(run.outputs.kialiUrl as never), { value: "http://localhost:20001/kiali", secret: false });
    });

    it("labels its namespace for ambient mode and uses the mesh's context", async () => {
        const run = await runConsumer(
            { outputs: { ...DEV_OUTPUTS, meshMode: "ambient", kubeContext: "prod-admin" }, secretOutputNames: SECRET_OUTPUTS },
            { "istio-mesh-consumer:namespace": "payments" },
        );
        assert.deepEqual(run.get("namespace").inputs.metadata, { name: "payments", labels: { "istio.io/dataplane-mode": "ambient" } });
        assert.equal(run.get("mesh-cluster").inputs.context, "prod-admin");
    });

    it("refuses a stack of another contract version in every output, naming the stack and both versions", async () => {
        let read: MeshStackOutputValues | undefined;
        await runProgram(
            () => {
                read = meshStackOutputs(new pulumi.StackReference("mesh", { name: MESH }));
                return {};
            },
            { stackReferences: { [MESH]: { outputs: { ...DEV_OUTPUTS, contractVersion: 1 } } } },
        );
        const expected = `stack ${MESH} has contractVersion 1, but this program reads outputs contract version 2.`;
        for (const name of OUTPUT_NAMES) {
            // Output.promise() is how the engine waits on an output; it rejects when an apply throws.
            const value = (read![name] as unknown as { promise(): Promise<unknown> }).promise();
            await assert.rejects(value, (e: Error) => e.message.startsWith(expected), name);
        }
    });

    it("rejects a namespace that is not a DNS label before reading anything", async () => {
        await assert.rejects(runConsumer({ outputs: { ...DEV_OUTPUTS } }, { "istio-mesh-consumer:namespace": "Team_A" }), (e: Error) =>
            e.message.includes(
                `namespace must be a DNS-1123 label of at most 63 characters (got "Team_A"). Fix: pulumi config set namespace team-a`,
            ),
        );
    });
});

describe("outputs contract", () => {
    it("leaves out what is off instead of exporting it undefined, so no run warns about an undefined output", async () => {
        const warnings: string[] = [];
        const warn = console.warn;
        console.warn = (...args: unknown[]): void => void warnings.push(args.map(String).join(" "));
        try {
            await runStack("dev");
        } finally {
            console.warn = warn;
        }
        assert.deepEqual(
            warnings.filter((w) => w.includes("Undefined value")),
            [],
        );
    });

    it("is version 2: Headlamp's URL and token are its cluster web UI outputs", () => {
        assert.equal(OUTPUTS_CONTRACT_VERSION, 2);
        assert.deepEqual(OUTPUT_NAMES, [
            "contractVersion",
            "clusterName",
            "clusterMode",
            "kubeconfig",
            "kubeContext",
            "istioVersion",
            "meshMode",
            "ingressGatewayUrl",
            "bookinfoUrl",
            "prometheusUrl",
            "grafanaUrl",
            "jaegerUrl",
            "kialiUrl",
            "grafanaAdminPassword",
            "kialiToken",
            "headlampUrl",
            "headlampToken",
            "istioRevisions",
            "istioRevisionTag",
        ]);
        assert.deepEqual(SECRET_OUTPUTS, ["kubeconfig", "grafanaAdminPassword", "kialiToken", "headlampToken"]);
    });

    it("is exactly what each environment's program exports, less the outputs of what is off, with the declared secrets secret", async () => {
        const withHeadlamp = { "istio-mesh:observability": { headlamp: { enabled: true } } };
        const bare = { "istio-mesh:bookinfo": { enabled: false }, "istio-mesh:observability": { grafana: false, kiali: false } };
        const headlamp = ["headlampUrl", "headlampToken"];
        for (const [env, extra, absent] of [
            ["dev", {}, headlamp],
            ["dev", withHeadlamp, []],
            ["dev", bare, ["bookinfoUrl", "grafanaUrl", "grafanaAdminPassword", "kialiUrl", "kialiToken", ...headlamp]],
            ["prod", { "istio-mesh:kubeconfig": EXISTING_KUBECONFIG }, headlamp],
        ] as const) {
            const run = await runStack(env, extra);
            const expected = OUTPUT_NAMES.filter((n) => !(absent as readonly string[]).includes(n));
            assert.deepEqual(Object.keys(run.outputs).sort(), [...expected].sort(), env);
            for (const name of expected) {
                const { value, secret } = await resolve(run.outputs[name] as never);
                assert.notEqual(value, undefined, `${env}: ${name} is exported without a value`);
                assert.equal(secret, SECRET_OUTPUTS.includes(name), `${env}: ${name} secret=${secret}`);
            }
            if (extra === withHeadlamp) {
                assert.ok((await resolve(run.outputs.headlampToken as never)).value, "the token is there to check");
            }
            assert.equal((await resolve(run.outputs.contractVersion as never)).value, OUTPUTS_CONTRACT_VERSION);
        }
    });
});
