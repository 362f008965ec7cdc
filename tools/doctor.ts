/**
 * `npm run doctor -- [env] [--install]`: checks every prerequisite of a stack at once (Node.js, the
 * pinned Pulumi CLI, Docker and its CPUs and memory, kind at the pinned version, Linux's inotify
 * limits, the stack's host ports, its config) and prints each problem with its fix. Exits 1 when
 * something is missing. `--install` installs the pinned Pulumi CLI when it is missing.
 */
import { ENVIRONMENTS } from "./deploy/plan";
import { preflight } from "./preflight";

async function main(argv: string[]): Promise<number> {
    const env = argv.find((a) => !a.startsWith("-")) ?? "dev";
    if (!(ENVIRONMENTS as readonly string[]).includes(env)) {
        console.error(`error: unknown environment "${env}": use one of ${ENVIRONMENTS.join(", ")}, e.g. npm run doctor -- dev`);
        return 2;
    }
    const result = await preflight("doctor", env, { install: argv.includes("--install"), log: (l) => console.log(l) });
    return result.ok ? 0 : 1;
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => process.exit(code));
