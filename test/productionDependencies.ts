/**
 * Run by .ci/run, not by mocha, in a copy of the project where `npm ci --omit=dev` installed the
 * production dependencies alone, as `node --require ts-node/register test/productionDependencies.ts`.
 * That is how `pulumi up` loads index.ts: with the project's ts-node and TypeScript, type-checked
 * (@pulumi/pulumi cmd/run/run.js: transpileOnly only with PULUMI_NODEJS_TRANSPILE_ONLY or the
 * tsconfig's noCheck; tsutils.js falls back to a vendored TypeScript 3.8 without them).
 *
 * It checks that the dev stack evaluates under mocks there, and that the scripts the stack's
 * commands run at `pulumi up` and `pulumi destroy` start from that copy. Exits non-zero, with the
 * reason, otherwise.
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as path from "path";
import { OUTPUT_NAMES } from "../components/outputs";
import { EXISTING_KUBECONFIG, runStack } from "./harness";

const ROOT = path.resolve(__dirname, "..");

/** Runs a command line with /bin/sh in the project root, as the command provider does. */
function sh(line: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn("/bin/sh", ["-c", line], { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (c: Buffer) => (stderr += c));
        child.on("close", (status) => resolve({ status, stderr }));
    });
}

/** Whether a package resolves from the project root. */
function installed(pkg: string): boolean {
    try {
        require.resolve(pkg, { paths: [ROOT] });
        return true;
    } catch {
        return false;
    }
}

async function main(): Promise<void> {
    // Without this the check proves nothing: the copy must really lack the devDependencies.
    for (const dev of ["mocha", "eslint", "prettier", "kubernetes-models"]) {
        assert.equal(installed(dev), false, `devDependency ${dev} is installed in ${ROOT}; run this after npm ci --omit=dev`);
    }
    for (const dep of ["ts-node", "typescript", "@pulumi/pulumi", "@kubernetes/client-node"]) {
        assert.equal(installed(dep), true, `${dep} is not installed in ${ROOT}: it must be a dependency, since it runs at deploy time`);
    }

    const dev = await runStack("dev");
    // Headlamp is off on dev, so its outputs are absent (components/outputs.ts, presentOutputs).
    assert.deepEqual(Object.keys(dev.outputs).sort(), OUTPUT_NAMES.filter((n) => !n.startsWith("headlamp")).sort());
    const kind = dev.get("kind-cluster", "command:local:Command");
    assert.match(kind.inputs.create, /kind create cluster --name 'istio-dev'/);

    // The commands run with the provider's working directory, the project root (components/localScripts.ts).
    const prod = await runStack("prod", {
        "istio-mesh:kubeconfig": EXISTING_KUBECONFIG,
        "istio-mesh:istio": { removeCrdsOnDestroy: true },
    });
    const scripts = [
        { line: dev.get("istio-ready").inputs.create as string, variable: "MESH_KUBECONFIG" },
        { line: dev.get("verify-run").inputs.create as string, variable: "VERIFY_PLAN" },
        { line: prod.get("istio-crd-cleanup").inputs.delete as string, variable: "CRD_KUBECONFIG" },
        { line: prod.get("ownership-run").inputs.create as string, variable: "OWNERSHIP_KUBECONFIG" },
        { line: prod.get("istio-gateway-ready").inputs.create as string, variable: "GATEWAY_KUBECONFIG" },
    ];
    const results = await Promise.all(
        scripts.map(({ line, variable }) => {
            const env = { ...process.env };
            delete env[variable];
            return sh(line, env);
        }),
    );
    results.forEach((r, i) => {
        const { line, variable } = scripts[i];
        // Each got as far as its own first check: ts-node, the script and all it imports were found.
        assert.equal(r.stderr, `error: environment variable ${variable} is not set\n`, `${line}: ${r.stderr}`);
        assert.equal(r.status, 1, line);
    });
    console.log(
        `ok   with production dependencies only, the dev stack evaluates (${dev.resources.length} resources, ${OUTPUT_NAMES.length} outputs) and ${scripts.length} deploy-time scripts start`,
    );
}

main().catch((e: Error) => {
    console.error(`error: ${e.stack ?? e.message}`);
    process.exit(1);
});
