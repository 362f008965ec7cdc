import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { planStack, PROJECT } from "../../../tools/deploy/plan";
import { ROOT } from "../../harness";

describe("deploy, preview, refresh and destroy commands", () => {
    const pass = (): string => "generated";

    it("uses a local file backend with a generated 0600 passphrase when nothing is configured", () => {
        const plan = planStack("up", "dev", {}, "/work/p", pass);
        assert.equal(plan.env.PULUMI_BACKEND_URL, "file:///work/p/.pulumi-state");
        assert.equal(plan.env.PULUMI_CONFIG_PASSPHRASE_FILE, "/work/p/.pulumi-state/passphrase");
        assert.deepEqual(plan.files, [{ path: "/work/p/.pulumi-state/passphrase", content: "generated", mode: 0o600 }]);
    });

    it("selects the stack, checks its locks and the cluster, deploys with an event log next to the state, then reports the timings", () => {
        const plan = planStack("up", "dev", {}, "/work/p", pass);
        const exportArgv = ["pulumi", "stack", "export", "--stack", "dev"];
        assert.deepEqual(plan.steps, [
            { kind: "command", argv: ["pulumi", "stack", "select", "--create", "dev"] },
            {
                kind: "lock-check",
                dirs: ["/work/p/.pulumi-state/.pulumi/locks/organization/istio-mesh/dev", "/work/p/.pulumi-state/.pulumi/locks/dev"],
            },
            { kind: "cluster-check", configArgv: ["pulumi", "config", "--json", "--stack", "dev"], exportArgv },
            { kind: "pending-creates", exportArgv: [...exportArgv, "--show-secrets"] },
            { kind: "action", argv: ["pulumi", "up", "--yes", "--stack", "dev", "--event-log", "/work/p/.pulumi-state/dev.events.jsonl"] },
            {
                kind: "timings",
                eventLog: "/work/p/.pulumi-state/dev.events.jsonl",
                out: "/work/p/.pulumi-state/dev.timings.json",
                exportArgv,
            },
        ]);
        assert.deepEqual(plan.dirs, ["/work/p/.pulumi-state"]);
    });

    it("respects a backend and passphrase the user already set", () => {
        const plan = planStack("destroy", "staging", { PULUMI_BACKEND_URL: "s3://bucket", PULUMI_CONFIG_PASSPHRASE: "x" }, "/p", pass);
        assert.deepEqual(plan.env, {});
        assert.deepEqual(plan.files, []);
        assert.deepEqual(
            plan.steps.map((s) => s.kind),
            ["command", "cluster-check", "action"],
            "a backend that is not a folder has no lock files to check",
        );
        assert.deepEqual(plan.steps[2], { kind: "action", argv: ["pulumi", "destroy", "--yes", "--stack", "staging"] });
    });

    it("checks the locks of a folder backend the user set, too", () => {
        const plan = planStack("preview", "prod", { PULUMI_BACKEND_URL: "file:///srv/state" }, "/p", pass);
        assert.deepEqual(plan.steps[1], {
            kind: "lock-check",
            dirs: ["/srv/state/.pulumi/locks/organization/istio-mesh/prod", "/srv/state/.pulumi/locks/prod"],
        });
    });

    it("names the project as Pulumi.yaml does, since a file backend keeps its stacks under that name", () => {
        const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { name: string };
        assert.equal(PROJECT, project.name);
    });

    it("refreshes only after the cluster check", () => {
        const plan = planStack("refresh", "dev", {}, "/p", pass);
        assert.deepEqual(
            plan.steps.map((s) => s.kind),
            ["command", "lock-check", "cluster-check", "action"],
        );
        assert.deepEqual(plan.steps[3], { kind: "action", argv: ["pulumi", "refresh", "--yes", "--stack", "dev"] });
    });

    it("rejects an unknown environment with the accepted names", () => {
        assert.throws(() => planStack("up", "qa", {}, "/p", pass), /unknown environment "qa": use one of dev, staging, prod/);
        assert.throws(() => planStack("refresh", "qa", {}, "/p", pass), /e\.g\. npm run refresh -- dev/);
    });
});
