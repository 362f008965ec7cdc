/**
 * `npm run graph -- [env] [--mermaid]`: prints an environment's resource graph and its critical
 * path of blocking waits. The program runs under Pulumi's mocks with the committed stack config,
 * so it needs no cluster, no Pulumi CLI and no state.
 */
import { placeholderSecrets, runStack } from "../test/harness";
import { buildGraph, renderMarkdown, renderMermaid } from "./graphModel";
import { COMMANDS, withCommandLine } from "./commandLine";
import { ENVIRONMENTS } from "./deploy/plan";

/** Renders an environment's graph as Markdown (default) or bare Mermaid. */
export async function graphFor(env: string, format: "markdown" | "mermaid" = "markdown"): Promise<string> {
    if (!(ENVIRONMENTS as readonly string[]).includes(env)) {
        throw new Error(`unknown environment "${env}": use one of ${ENVIRONMENTS.join(", ")}, e.g. npm run graph -- dev`);
    }
    const { extra, secretKeys } = placeholderSecrets(env);
    const run = await runStack(env, extra, { secretKeys });
    const graph = buildGraph(run.resources);
    return format === "mermaid" ? renderMermaid(graph) : renderMarkdown(env, graph);
}

async function main(env: string, format: "markdown" | "mermaid"): Promise<number> {
    try {
        process.stdout.write(`${await graphFor(env, format)}\n`);
        return 0;
    } catch (e) {
        console.error(`error: ${(e as Error).message}`);
        return 2;
    }
}

if (require.main === module) {
    void withCommandLine(COMMANDS.graph, process.argv.slice(2), ({ env = "dev", flags }) =>
        main(env, flags.has("--mermaid") ? "mermaid" : "markdown"),
    ).then((code) => process.exit(code));
}
