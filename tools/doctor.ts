/**
 * `npm run doctor -- [env] [--install]`: checks every prerequisite of a stack at once (Node.js, the
 * pinned Pulumi CLI, Docker and its CPUs and memory, kind at the pinned version, Linux's inotify
 * limits, the stack's host ports, its config) and prints each problem with its fix. Exits 1 when
 * something is missing. `--install` installs the pinned Pulumi CLI when it is missing.
 */
import { COMMANDS, withCommandLine } from "./commandLine";
import { preflight } from "./preflight";

if (require.main === module) {
    void withCommandLine(COMMANDS.doctor, process.argv.slice(2), async ({ env = "dev", flags }) => {
        const result = await preflight("doctor", env, { install: flags.has("--install"), log: (l) => console.log(l) });
        return result.ok ? 0 : 1;
    }).then((code) => process.exit(code));
}
