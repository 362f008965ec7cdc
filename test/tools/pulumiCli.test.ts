import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { PULUMI_CLI_VERSION } from "../../components/versions";
import { chooseCli, cliEnv, findCli, meetsPin, parseCliVersion, pinnedCommand, pinnedRoot } from "../../tools/pulumiCli";
import { ROOT } from "../harness";

describe("pinned Pulumi CLI", () => {
    it("pins the CLI at or above the @pulumi/pulumi SDK the project installs", () => {
        const sdk = (
            JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/@pulumi/pulumi/package.json"), "utf8")) as { version: string }
        ).version;
        assert.ok(meetsPin(PULUMI_CLI_VERSION, sdk), `PULUMI_CLI_VERSION ${PULUMI_CLI_VERSION} is below the SDK's ${sdk}`);
        assert.match(PULUMI_CLI_VERSION, /^\d+\.\d+\.\d+$/, "an exact version");
    });

    it("keeps the pinned CLI where PulumiCommand.install keeps it by default", () => {
        assert.equal(pinnedRoot("/home/u", "3.248.0"), "/home/u/.pulumi/versions/3.248.0");
        assert.equal(pinnedCommand("/home/u/.pulumi/versions/3.248.0"), "/home/u/.pulumi/versions/3.248.0/bin/pulumi");
    });

    it("reads the version pulumi version prints", () => {
        assert.equal(parseCliVersion("v3.248.0\n"), "3.248.0");
        assert.equal(parseCliVersion("v3.250.1-alpha.x1234\n"), "3.250.1-alpha.x1234");
        assert.equal(parseCliVersion("warning: something\n"), undefined);
    });

    it("accepts a CLI at or above the pin and refuses an older one or a pre-release of the pin", () => {
        assert.equal(meetsPin("3.248.0", "3.248.0"), true);
        assert.equal(meetsPin("v3.265.0", "3.248.0"), true);
        assert.equal(meetsPin(" v3.248.0\n", "3.248.0"), true, "as pulumi version prints it");
        assert.equal(meetsPin("4.0.0", "3.248.0"), true);
        assert.equal(meetsPin("3.247.9", "3.248.0"), false);
        assert.equal(meetsPin("3.248.0-alpha.1", "3.248.0"), false);
        assert.equal(meetsPin("garbage", "3.248.0"), false);
    });

    it("prefers a new enough CLI on PATH, then the pinned one, and says what is older", () => {
        const root = "/h/.pulumi/versions/3.248.0";
        assert.deepEqual(chooseCli("v3.250.0\n", "v3.248.0\n", root, "3.248.0"), { kind: "path", version: "3.250.0", command: "pulumi" });
        assert.deepEqual(chooseCli("v3.100.0\n", "v3.248.0\n", root, "3.248.0"), {
            kind: "pinned",
            version: "3.248.0",
            command: `${root}/bin/pulumi`,
            root,
        });
        assert.deepEqual(chooseCli("v3.100.0\n", undefined, root, "3.248.0"), { kind: "missing", onPath: "3.100.0", root });
        assert.deepEqual(chooseCli(undefined, undefined, root, "3.248.0"), { kind: "missing", onPath: undefined, root });
    });

    it("asks the CLI on PATH and the pinned one for their versions", async () => {
        const asked: string[] = [];
        const cli = await findCli(async (c) => {
            asked.push(c);
            return c === "pulumi" ? undefined : `v${PULUMI_CLI_VERSION}\n`;
        }, "/r");
        assert.deepEqual(asked.sort(), ["/r/bin/pulumi", "pulumi"]);
        assert.equal(cli.kind, "pinned");
    });

    it("puts the pinned CLI's folder first on PATH and leaves PATH alone for a CLI found there", () => {
        assert.deepEqual(cliEnv({ kind: "pinned", version: "3.248.0", command: "/r/bin/pulumi", root: "/r" }, "/usr/bin:/bin"), {
            PATH: "/r/bin:/usr/bin:/bin",
        });
        assert.deepEqual(cliEnv({ kind: "path", version: "3.248.0", command: "pulumi" }, "/usr/bin"), {});
    });
});
