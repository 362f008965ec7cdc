/**
 * Scripts the stack's commands run on the user's machine, from the project's own checkout and
 * with its own ts-node (a dependency, not a devDependency: they run at `pulumi up` and
 * `pulumi destroy`), so that they need nothing but Node.
 *
 * The command lines are relative and the commands set no `dir`: a command without `dir` runs
 * in the command provider's working directory (pulumi-command provider/pkg/provider/local/
 * commandOutputs.go, run: `cmd.Dir, err = os.Getwd()` when `in.Dir` is nil), and the engine
 * starts every provider in the project's root, the directory of Pulumi.yaml (pulumi/pulumi
 * sdk/go/common/resource/plugin/provider_plugin.go, `newPlugin(ctx, ctx.Pwd, ...)`, and
 * plugin.go, ExecPlugin: `cmd.Dir = pwd`; pkg/engine's getPwdMain: the project root when
 * Pulumi.yaml names no `main`). So nothing in the state names the checkout's absolute path,
 * and a moved or re-cloned checkout still runs the delete steps of the commands it holds.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/**
 * Root of this checkout, for tests and developer tools that run the scripts themselves. Never
 * put it into a resource's inputs: it would pin the state to this directory.
 */
export const PROJECT_ROOT = path.resolve(__dirname, "..");

/**
 * How a script reaches the cluster: `<PREFIX>_KUBECONFIG` (secret, so the whole environment is
 * secret in the state) and `<PREFIX>_CONTEXT`; scripts/kubeApi.ts kubeApiFromEnv reads them.
 */
export function clusterAccessEnv(
    prefix: string,
    kubeconfig: pulumi.Input<string>,
    context: string | undefined,
): Record<string, pulumi.Input<string>> {
    return { [`${prefix}_KUBECONFIG`]: pulumi.secret(kubeconfig), [`${prefix}_CONTEXT`]: context ?? "" };
}

/** The command line that runs `scripts/<script>.ts`, relative to the project root the command runs in. */
export function scriptCommand(script: string): string {
    return `node --require ts-node/register/transpile-only scripts/${script}.ts`;
}
