/**
 * The developer commands' command lines: what each takes, its `--help`, and the parsing, so that an
 * unknown flag or environment is an error naming what the command does take. Pure.
 */
import type { Plan } from "./deploy/plan";

/** A flag a command takes. */
export interface Flag {
    readonly name: `--${string}`;
    /** The value's placeholder, for a flag that takes one (`--out <dir>`). */
    readonly value?: string;
    readonly description: string;
}

/** One npm command. */
export interface CommandSpec {
    /** The npm script. */
    readonly script: string;
    /** One line: what it does. */
    readonly summary: string;
    /** Whether it takes an environment, and its default when one is optional. */
    readonly env: { readonly required: true } | { readonly required: false; readonly default: string } | undefined;
    readonly flags: readonly Flag[];
    /** More lines for the help: what it needs, what it changes. */
    readonly details: readonly string[];
}

/** The committed environments, one Pulumi.<env>.yaml each. */
export const ENVIRONMENT_NAMES = ["dev", "staging", "prod"] as const;

const YES: Flag = {
    name: "--yes",
    description: "on an existing cluster, apply without showing the preview and asking first (kind stacks never ask)",
};

/** Every command's command line. */
export const COMMANDS = {
    deploy: {
        script: "deploy",
        summary: "check the prerequisites, then create or update the stack (pulumi up)",
        env: { required: false, default: "dev" },
        flags: [YES],
        details: [
            "Runs the checks of npm run doctor first and creates nothing until they pass; installs the pinned Pulumi CLI when it is the one thing missing.",
            "On a kind stack it deploys straight on. On an existing cluster it shows the preview and asks before it applies, unless --yes.",
            "State: PULUMI_BACKEND_URL when set, else .pulumi-state/ with a generated passphrase file.",
        ],
    },
    preview: {
        script: "preview",
        summary: "show what a deploy would change, changing nothing (pulumi preview)",
        env: { required: false, default: "dev" },
        flags: [],
        details: ["Checks the config and the Pulumi CLI first."],
    },
    refresh: {
        script: "refresh",
        summary: "bring the state in line with the cluster, safely (pulumi refresh)",
        env: { required: false, default: "dev" },
        flags: [],
        details: [
            "On a kind stack it refuses while Docker is stopped or the cluster does not answer: a refresh then would drop the stack's objects from the state.",
        ],
    },
    destroy: {
        script: "destroy",
        summary: "delete everything the stack created (pulumi destroy)",
        env: { required: false, default: "dev" },
        flags: [YES],
        details: [
            "On kind this deletes the cluster. On an existing cluster it shows the preview and asks first, unless --yes, and keeps the CRDs unless istio.removeCrdsOnDestroy.",
        ],
    },
    e2e: {
        script: "e2e",
        summary: "run the real lifecycle of an environment on this machine, on a throwaway stack and kind cluster",
        env: { required: false, default: "dev" },
        flags: [
            { name: "--keep", description: "keep the stack and cluster at the end instead of destroying them" },
            { name: "--out", value: "<dir>", description: "where the report and timings go (default .e2e/)" },
            {
                name: "--canary",
                description:
                    "also switch the stack to istio.upgrade.strategy revisions and move the default tag, counting Bookinfo's non-2xx answers",
            },
        ],
        details: [
            "Needs Docker, kind and the internet; takes something like half an hour to an hour. Kind environments only (dev, staging).",
        ],
    },
    doctor: {
        script: "doctor",
        summary: "check every prerequisite of a stack at once, each problem with its fix",
        env: { required: false, default: "dev" },
        flags: [{ name: "--install", description: "install the pinned Pulumi CLI into ~/.pulumi/versions/<version> if it is missing" }],
        details: [
            "Node.js, the Pulumi CLI, Docker and its CPUs and memory, kind's version, Linux's inotify limits, the stack's host ports and its config.",
            "Exits 1 when something is missing.",
        ],
    },
    check: {
        script: "check",
        summary: "validate a stack's config offline and print what pulumi up would create",
        env: { required: true },
        flags: [],
        details: [
            "Reads Pulumi.yaml and Pulumi.<env>.yaml only: no Docker, no Pulumi CLI, no state. Encrypted values count as set.",
            "Prints the capabilities, the URLs and the CPU and memory the pods request; exits 2 on a problem.",
        ],
    },
    graph: {
        script: "graph",
        summary: "print a stack's resource graph and its critical path, under mocks",
        env: { required: false, default: "dev" },
        flags: [{ name: "--mermaid", description: "bare Mermaid instead of Markdown" }],
        details: ["Needs no cluster, no Pulumi CLI and no state."],
    },
    cache: {
        script: "cache",
        summary: "show or remove the image caches of the kind stacks on this machine: npm run cache -- status | prune",
        env: undefined,
        flags: [],
        details: [
            "status  what each cache holds (blobs, size, repositories) and what it fetched from upstream since it started.",
            "prune   remove every cache container and its volume; the next re-creation of a cluster (pulumi destroy, then pulumi up) makes them again.",
            "The caches are shared by every kind stack here and kept by pulumi destroy. Only what carries their label is touched.",
        ],
    },
    "config-reference": {
        script: "config-reference",
        summary: "regenerate the configuration reference in docs/configuration.md from the schemas",
        env: undefined,
        flags: [],
        details: [],
    },
} as const satisfies Record<string, CommandSpec>;

/** A parsed command line. */
export type Parsed =
    | { readonly kind: "help"; readonly text: string }
    | { readonly kind: "error"; readonly message: string }
    | {
          readonly kind: "run";
          /** The environment; undefined for a command that takes none. */
          readonly env?: string;
          /** The flags given without a value. */
          readonly flags: ReadonlySet<string>;
          /** The flags given with a value. */
          readonly values: Readonly<Record<string, string>>;
      };

/** The text of `--help`. */
export function helpText(spec: CommandSpec): string {
    const envPart = spec.env === undefined ? "" : spec.env.required ? " <env>" : " [env]";
    const flagPart = spec.flags.map((f) => ` [${f.name}${f.value ? ` ${f.value}` : ""}]`).join("");
    const args = `${envPart}${flagPart}`;
    const lines = [`npm run ${spec.script}${args ? ` --${args}` : ""}`, "", `  ${spec.summary}.`];
    if (spec.env !== undefined) {
        lines.push(
            "",
            `  env       one of ${ENVIRONMENT_NAMES.join(", ")} (Pulumi.<env>.yaml)${spec.env.required ? "" : `; default ${spec.env.default}`}`,
        );
    }
    const width = Math.max(8, ...spec.flags.map((f) => `${f.name}${f.value ? ` ${f.value}` : ""}`.length));
    for (const f of spec.flags) lines.push(`  ${`${f.name}${f.value ? ` ${f.value}` : ""}`.padEnd(width)}  ${f.description}`);
    lines.push(`  ${"--help".padEnd(width)}  this text`);
    if (spec.details.length > 0) lines.push("", ...spec.details.map((d) => `  ${d}`));
    return lines.join("\n");
}

/** Parses a command's arguments (what follows `npm run <script> --`). */
export function parseCommandLine(spec: CommandSpec, argv: readonly string[]): Parsed {
    if (argv.includes("--help") || argv.includes("-h")) return { kind: "help", text: helpText(spec) };
    const usage = `see npm run ${spec.script} -- --help`;
    const flags = new Set<string>();
    const values: Record<string, string> = {};
    const positional: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (!a.startsWith("-")) {
            positional.push(a);
            continue;
        }
        const flag = spec.flags.find((f) => f.name === a);
        if (!flag) {
            const known = spec.flags.map((f) => f.name);
            return {
                kind: "error",
                message: `unknown option ${a} for npm run ${spec.script}${known.length > 0 ? ` (it takes ${known.join(", ")})` : " (it takes none)"}; ${usage}`,
            };
        }
        if (flag.value) {
            const v = argv[i + 1];
            if (v === undefined || v.startsWith("-")) return { kind: "error", message: `${a} needs a value ${flag.value}; ${usage}` };
            values[a] = v;
            i++;
        } else {
            flags.add(a);
        }
    }
    if (spec.env === undefined) {
        if (positional.length > 0)
            return { kind: "error", message: `npm run ${spec.script} takes no arguments (got ${positional.join(" ")}); ${usage}` };
        return { kind: "run", flags, values };
    }
    if (positional.length > 1)
        return { kind: "error", message: `npm run ${spec.script} takes one environment (got ${positional.join(" ")}); ${usage}` };
    const env = positional[0] ?? (spec.env.required ? undefined : spec.env.default);
    if (env === undefined)
        return {
            kind: "error",
            message: `name an environment: one of ${ENVIRONMENT_NAMES.join(", ")}, e.g. npm run ${spec.script} -- dev`,
        };
    if (!(ENVIRONMENT_NAMES as readonly string[]).includes(env)) {
        return {
            kind: "error",
            message: `unknown environment "${env}": use one of ${ENVIRONMENT_NAMES.join(", ")}, e.g. npm run ${spec.script} -- dev`,
        };
    }
    return { kind: "run", env, flags, values };
}

/**
 * Runs `main` with the parsed command line, or prints the help (exit 0) or the error (exit 2). The
 * one place each command's `require.main` block goes through.
 */
export async function withCommandLine(
    spec: CommandSpec,
    argv: readonly string[],
    main: (parsed: Extract<Parsed, { kind: "run" }>) => number | Promise<number>,
): Promise<number> {
    const parsed = parseCommandLine(spec, argv);
    switch (parsed.kind) {
        case "help":
            console.log(parsed.text);
            return 0;
        case "error":
            console.error(`error: ${parsed.message}`);
            return 2;
        case "run":
            return main(parsed);
        default: {
            const never: never = parsed;
            throw new Error(`unknown command line ${JSON.stringify(never)}`);
        }
    }
}

/** Whether an action asks before it applies, goes straight on, or cannot run. */
export type Confirmation =
    | { readonly kind: "straight-on" }
    | { readonly kind: "ask" }
    | { readonly kind: "stop"; readonly message: string };

/**
 * On an existing cluster, a deploy or a destroy shows the preview and asks before it applies,
 * unless `--yes`: it changes a cluster that is not this machine's own. Kind stacks go straight on.
 * Without a terminal there is no one to ask: it stops and says to pass --yes.
 */
export function confirmation(
    action: "up" | "destroy" | "preview" | "refresh",
    mode: "kind" | "existing",
    yes: boolean,
    interactive: boolean,
    stack: string,
): Confirmation {
    if (mode === "kind" || yes || action === "preview" || action === "refresh") return { kind: "straight-on" };
    if (interactive) return { kind: "ask" };
    const script = action === "up" ? "deploy" : "destroy";
    return {
        kind: "stop",
        message: `stack ${stack} is on an existing cluster, so npm run ${script} shows the preview and asks before it applies, and there is no terminal to ask on. Run it in a terminal, or apply without asking: npm run ${script} -- ${stack} --yes`,
    };
}

/**
 * The plan with `--yes` taken out of its Pulumi action, so that the CLI shows the preview and asks
 * itself before it applies (`pulumi up` and `pulumi destroy` do without --yes on a terminal). The
 * steps that prepare the action are left as they are.
 */
export function askBeforeApplying(plan: Plan): Plan {
    return { ...plan, steps: plan.steps.map((s) => (s.kind === "action" ? { ...s, argv: s.argv.filter((a) => a !== "--yes") } : s)) };
}
