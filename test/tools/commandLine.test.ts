import { strict as assert } from "assert";
import { askBeforeApplying, COMMANDS, confirmation, ENVIRONMENT_NAMES, helpText, parseCommandLine } from "../../tools/commandLine";
import { ENVIRONMENTS, planStack } from "../../tools/deploy/plan";

describe("command lines", () => {
    it("knows the same environments as the deploy wrapper", () => {
        assert.deepEqual([...ENVIRONMENTS], [...ENVIRONMENT_NAMES]);
    });

    it("gives every npm command of package.json but build, lint, format and the tests a --help", () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const scripts = Object.keys((require("../../package.json") as { scripts: Record<string, string> }).scripts);
        const developer = scripts.filter((s) => !["build", "lint", "format", "test", "test:unit"].includes(s));
        const missing = developer.filter((s) => !Object.values(COMMANDS).some((c) => c.script === s));
        assert.deepEqual(missing, [], "npm scripts without a command line in tools/commandLine.ts");
        for (const spec of Object.values(COMMANDS)) {
            const parsed = parseCommandLine(spec, ["--help"]);
            assert.equal(parsed.kind, "help");
            assert.match(parsed.kind === "help" ? parsed.text : "", new RegExp(`^npm run ${spec.script}\\b`));
        }
    });

    it("writes the usage line, each flag and the default environment", () => {
        const text = helpText(COMMANDS.e2e);
        assert.match(text, /^npm run e2e -- \[env\] \[--keep\] \[--out <dir>\] \[--canary\]\n\n {2}run the real lifecycle/);
        assert.match(text, /\n {2}env {7}one of dev, staging, prod \(Pulumi\.<env>\.yaml\); default dev\n/);
        assert.match(text, /\n {2}--out <dir> {2}where the report/);
        assert.match(helpText(COMMANDS.check), /^npm run check -- <env>\n/);
        assert.match(helpText(COMMANDS["config-reference"]), /^npm run config-reference\n/);
    });

    it("prints a command's help whole: usage, summary, environment, flags, --help and the details", () => {
        assert.equal(
            helpText(COMMANDS.doctor),
            [
                "npm run doctor -- [env] [--install]",
                "",
                "  check every prerequisite of a stack at once, each problem with its fix.",
                "",
                "  env       one of dev, staging, prod (Pulumi.<env>.yaml); default dev",
                "  --install  install the pinned Pulumi CLI into ~/.pulumi/versions/<version> if it is missing",
                "  --help     this text",
                "",
                "  Node.js, the Pulumi CLI, Docker and its CPUs and memory, kind's version, Linux's inotify limits, the stack's host ports and its config.",
                "  Exits 1 when something is missing.",
            ].join("\n"),
        );
        assert.equal(helpText(COMMANDS["config-reference"]).split("\n").length, 4, "no details section when there are none");
        assert.equal((parseCommandLine(COMMANDS.check, ["-h"]) as { kind: string }).kind, "help");
    });

    it("reads the environment, flags and values, defaulting the environment", () => {
        assert.deepEqual(parseCommandLine(COMMANDS.deploy, []), { kind: "run", env: "dev", flags: new Set(), values: {} });
        assert.deepEqual(parseCommandLine(COMMANDS.deploy, ["prod", "--yes"]), {
            kind: "run",
            env: "prod",
            flags: new Set(["--yes"]),
            values: {},
        });
        assert.deepEqual(parseCommandLine(COMMANDS.e2e, ["--out", "/tmp/x", "staging"]), {
            kind: "run",
            env: "staging",
            flags: new Set(),
            values: { "--out": "/tmp/x" },
        });
    });

    it("refuses an unknown option, a missing value, a second or unknown environment, naming what it takes", () => {
        const error = (spec: (typeof COMMANDS)[keyof typeof COMMANDS], argv: string[]): string => {
            const p = parseCommandLine(spec, argv);
            assert.equal(p.kind, "error", JSON.stringify(p));
            return p.kind === "error" ? p.message : "";
        };
        assert.equal(
            error(COMMANDS.deploy, ["--force"]),
            "unknown option --force for npm run deploy (it takes --yes); see npm run deploy -- --help",
        );
        assert.equal(
            error(COMMANDS.preview, ["-y"]),
            "unknown option -y for npm run preview (it takes none); see npm run preview -- --help",
        );
        assert.equal(error(COMMANDS.e2e, ["--out"]), "--out needs a value <dir>; see npm run e2e -- --help");
        assert.equal(error(COMMANDS.e2e, ["--out", "--keep"]), "--out needs a value <dir>; see npm run e2e -- --help");
        assert.deepEqual(parseCommandLine(COMMANDS.e2e, ["--out", "a-b-"]), {
            kind: "run",
            env: "dev",
            flags: new Set(),
            values: { "--out": "a-b-" },
        });
        assert.deepEqual(parseCommandLine(COMMANDS["config-reference"], []), { kind: "run", flags: new Set(), values: {} });
        assert.equal(
            error(COMMANDS.deploy, ["dev", "prod"]),
            "npm run deploy takes one environment (got dev prod); see npm run deploy -- --help",
        );
        assert.equal(error(COMMANDS.deploy, ["qa"]), 'unknown environment "qa": use one of dev, staging, prod, e.g. npm run deploy -- dev');
        assert.equal(error(COMMANDS.check, []), "name an environment: one of dev, staging, prod, e.g. npm run check -- dev");
        assert.match(error(COMMANDS["config-reference"], ["dev"]), /^npm run config-reference takes no arguments \(got dev\)/);
    });

    it("asks before a deploy or a destroy on an existing cluster, and never on kind", () => {
        assert.deepEqual(confirmation("up", "existing", false, true, "prod"), { kind: "ask" });
        assert.deepEqual(confirmation("destroy", "existing", false, true, "prod"), { kind: "ask" });
        assert.deepEqual(confirmation("up", "existing", true, false, "prod"), { kind: "straight-on" });
        assert.deepEqual(confirmation("up", "kind", false, false, "dev"), { kind: "straight-on" });
        assert.deepEqual(confirmation("refresh", "existing", false, false, "prod"), { kind: "straight-on" });
        assert.deepEqual(confirmation("preview", "existing", false, false, "prod"), { kind: "straight-on" });
    });

    it("stops without a terminal to ask on, and says to pass --yes", () => {
        const c = confirmation("up", "existing", false, false, "prod");
        assert.equal(c.kind, "stop");
        assert.match(
            c.kind === "stop" ? c.message : "",
            /no terminal to ask on\. Run it in a terminal, or apply without asking: npm run deploy -- prod --yes$/,
        );
        const d = confirmation("destroy", "existing", false, false, "prod");
        assert.match(
            d.kind === "stop" ? d.message : "",
            /^stack prod is on an existing cluster, so npm run destroy shows .* npm run destroy -- prod --yes$/,
        );
    });

    it("lets the Pulumi CLI ask by taking --yes out of the action only", () => {
        const plan = planStack("up", "prod", {}, "/p", () => "x");
        const asking = askBeforeApplying(plan);
        const action = asking.steps.find((s) => s.kind === "action");
        assert.deepEqual(action?.kind === "action" && action.argv.slice(0, 4), ["pulumi", "up", "--stack", "prod"]);
        assert.deepEqual(
            asking.steps.filter((s) => s.kind !== "action"),
            plan.steps.filter((s) => s.kind !== "action"),
        );
        const destroy = askBeforeApplying(planStack("destroy", "prod", {}, "/p", () => "x")).steps.find((s) => s.kind === "action");
        assert.deepEqual(destroy?.kind === "action" && destroy.argv, ["pulumi", "destroy", "--stack", "prod"]);
    });
});
