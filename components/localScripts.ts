/**
 * Scripts the stack's commands run on the user's machine, from the project's own checkout and
 * with its own ts-node, so that they need nothing but Node.
 */
import * as path from "path";

/** Root of the project, where the scripts that commands run live. */
export const PROJECT_ROOT = path.resolve(__dirname, "..");

/** The command line that runs `scripts/<script>.ts`; commands run it with `dir: PROJECT_ROOT`. */
export function scriptCommand(script: string): string {
    return `node --require ts-node/register/transpile-only scripts/${script}.ts`;
}
