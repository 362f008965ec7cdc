import { strict as assert } from "assert";
import { planStack } from "../scripts/stack";

describe("deploy and destroy commands", () => {
    const pass = (): string => "generated";

    it("uses a local file backend with a generated 0600 passphrase when nothing is configured", () => {
        const plan = planStack("up", "dev", {}, "/work/p", pass);
        assert.equal(plan.env.PULUMI_BACKEND_URL, "file:///work/p/.pulumi-state");
        assert.equal(plan.env.PULUMI_CONFIG_PASSPHRASE_FILE, "/work/p/.pulumi-state/passphrase");
        assert.deepEqual(plan.files, [{ path: "/work/p/.pulumi-state/passphrase", content: "generated", mode: 0o600 }]);
        assert.deepEqual(plan.commands, [
            ["pulumi", "stack", "select", "--create", "dev"],
            ["pulumi", "up", "--yes", "--stack", "dev"],
        ]);
    });

    it("respects a backend and passphrase the user already set", () => {
        const plan = planStack("destroy", "staging", { PULUMI_BACKEND_URL: "s3://bucket", PULUMI_CONFIG_PASSPHRASE: "x" }, "/p", pass);
        assert.deepEqual(plan.env, {});
        assert.deepEqual(plan.files, []);
        assert.deepEqual(plan.commands[1], ["pulumi", "destroy", "--yes", "--stack", "staging"]);
    });

    it("rejects an unknown environment with the accepted names", () => {
        assert.throws(() => planStack("up", "qa", {}, "/p", pass), /unknown environment "qa": use one of dev, staging, prod/);
    });
});
