/**
 * The Pulumi CLI the developer commands run, pinned by the project ({@link PULUMI_CLI_VERSION}).
 *
 * A `pulumi` on PATH is used when it is at least the pin. Otherwise the pinned release is used from
 * Pulumi's own version cache, `~/.pulumi/versions/<version>/bin/pulumi`, and installed there when it
 * is missing through the Automation API's `PulumiCommand.install` (@pulumi/pulumi
 * automation/cmd.ts: it downloads https://get.pulumi.com/install.sh, or install.ps1 on Windows, and
 * runs it with `--install-root ~/.pulumi/versions/<version> --version <version> --no-edit-path`, so
 * nothing on PATH or in a shell profile changes).
 */
import * as os from "os";
import * as path from "path";
import * as semver from "semver";
import { PULUMI_CLI_VERSION } from "../components/versions";

/** Where the pinned CLI lives: the folder `PulumiCommand.install` uses by default. */
export function pinnedRoot(home: string = os.homedir(), version: string = PULUMI_CLI_VERSION): string {
    return path.join(home, ".pulumi", "versions", version);
}

/** The `pulumi` executable under an installation root. */
export function pinnedCommand(root: string): string {
    return path.join(root, "bin", process.platform === "win32" ? "pulumi.exe" : "pulumi");
}

/** What the README and the doctor say the pinned CLI is, where it comes from and where it goes. */
export function installDescription(root: string = pinnedRoot(), version: string = PULUMI_CLI_VERSION): string {
    return `Pulumi CLI ${version}, downloaded from get.pulumi.com (Pulumi's official install script) into ${root}`;
}

/** Which CLI the commands run, or why none. */
export type PulumiCli =
    /** A CLI on PATH at least at the pin. */
    | { readonly kind: "path"; readonly version: string; readonly command: string }
    /** The pinned CLI in Pulumi's version cache. */
    | { readonly kind: "pinned"; readonly version: string; readonly command: string; readonly root: string }
    /** Neither: `onPath` is the version of an older CLI on PATH, if any. */
    | { readonly kind: "missing"; readonly onPath?: string; readonly root: string };

/** `pulumi version` prints `v3.248.0`; undefined when it is not a version. */
export function parseCliVersion(stdout: string): string | undefined {
    return semver.valid(semver.coerce(stdout.trim(), { includePrerelease: true }) ?? undefined) ?? undefined;
}

/** Whether a CLI version may run this project: at least the pin (a pre-release of the pin is below it). */
export function meetsPin(version: string, pin: string = PULUMI_CLI_VERSION): boolean {
    const v = semver.parse(version.trim().replace(/^v/, ""));
    return v !== null && semver.gte(v, pin);
}

/**
 * Picks the CLI from what is found: `onPath` is the output of `pulumi version` on PATH (undefined
 * when there is none), `pinned` the output of the pinned CLI's `version` (undefined when it is not
 * installed). Pure.
 */
export function chooseCli(
    onPath: string | undefined,
    pinned: string | undefined,
    root: string,
    pin: string = PULUMI_CLI_VERSION,
): PulumiCli {
    const pathVersion = onPath === undefined ? undefined : (parseCliVersion(onPath) ?? onPath.trim());
    if (pathVersion !== undefined && meetsPin(pathVersion, pin)) return { kind: "path", version: pathVersion, command: "pulumi" };
    const pinnedVersion = pinned === undefined ? undefined : parseCliVersion(pinned);
    if (pinnedVersion !== undefined && meetsPin(pinnedVersion, pin)) {
        return { kind: "pinned", version: pinnedVersion, command: pinnedCommand(root), root };
    }
    return { kind: "missing", onPath: pathVersion, root };
}

/** Runs a program's `version`; its stdout, or undefined when it does not run. */
export type VersionOf = (command: string) => Promise<string | undefined>;

/** Finds the CLI to use on this machine, without installing anything. */
export async function findCli(versionOf: VersionOf, root: string = pinnedRoot()): Promise<PulumiCli> {
    const [onPath, pinned] = await Promise.all([versionOf("pulumi"), versionOf(pinnedCommand(root))]);
    return chooseCli(onPath, pinned, root);
}

/**
 * Installs the pinned CLI into `root` (Pulumi's version cache) and returns it. Needs the internet
 * (get.pulumi.com and the release download it points at).
 */
export async function installCli(root: string = pinnedRoot(), log: (line: string) => void = (l) => console.error(l)): Promise<PulumiCli> {
    log(`Installing ${installDescription(root)} ...`);
    // Loaded here: the Automation API is heavy and only this path needs it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PulumiCommand } = require("@pulumi/pulumi/automation") as typeof import("@pulumi/pulumi/automation");
    const cli = await PulumiCommand.install({ version: new semver.SemVer(PULUMI_CLI_VERSION), root });
    const version = cli.version?.toString() ?? PULUMI_CLI_VERSION;
    log(`Installed Pulumi CLI ${version} at ${cli.command}.`);
    return { kind: "pinned", version, command: cli.command, root };
}

/**
 * The environment that makes `pulumi` in argv mean the chosen CLI: for the pinned one its folder goes
 * first on PATH (Node looks a command up on the PATH of the environment it is given), which also
 * lets it find the plugins bundled beside it, as the Automation API does (automation/cmd.ts, run).
 */
export function cliEnv(cli: PulumiCli, pathVar: string | undefined = process.env.PATH): Record<string, string> {
    if (cli.kind !== "pinned") return {};
    return { PATH: [path.dirname(cli.command), ...(pathVar ? [pathVar] : [])].join(path.delimiter) };
}
