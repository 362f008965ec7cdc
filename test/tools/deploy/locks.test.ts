import { strict as assert } from "assert";
import { decideLocks, lockDirs, parseLock } from "../../../tools/deploy/locks";

describe("a stack's locks", () => {
    const here = { hostname: "laptop", alive: (pid: number) => pid === 7 };
    const lock = (pid: number, hostname = "laptop") =>
        parseLock(`/s/${pid}.json`, JSON.stringify({ pid, username: "ana", hostname, timestamp: "t" }));

    it("lives in the backend's folder, under the project's qualified stack name or the older layout's", () => {
        assert.deepEqual(lockDirs("file:///s", "istio-mesh", "dev"), [
            "/s/.pulumi/locks/organization/istio-mesh/dev",
            "/s/.pulumi/locks/dev",
        ]);
        assert.deepEqual(lockDirs("s3://bucket", "istio-mesh", "dev"), []);
        assert.deepEqual(lockDirs("https://api.pulumi.com", "istio-mesh", "dev"), []);
    });

    it("reads a lock's owner, and nothing from a file that is not a lock", () => {
        assert.deepEqual(lock(12), { file: "/s/12.json", pid: 12, username: "ana", hostname: "laptop", timestamp: "t" });
        assert.deepEqual(parseLock("/s/x.json", "{"), { file: "/s/x.json" });
        assert.deepEqual(parseLock("/s/x.json", JSON.stringify({ pid: "12", hostname: "" })), {
            file: "/s/x.json",
            pid: undefined,
            username: undefined,
            hostname: undefined,
            timestamp: undefined,
        });
    });

    it("removes only locks of this machine whose Pulumi no longer runs, all of them or none", () => {
        assert.deepEqual(decideLocks([], here, "dev", "npm run deploy -- dev"), { kind: "free" });
        const stale = decideLocks([lock(12), lock(13)], here, "dev", "npm run deploy -- dev");
        assert.equal(stale.kind, "stale");
        assert.deepEqual(stale.kind === "stale" && stale.files, ["/s/12.json", "/s/13.json"]);
        assert.match(
            stale.kind === "stale" ? stale.message : "",
            /which no longer run on this machine \(killed or crashed\): removing their locks\./,
        );
        for (const locks of [
            [lock(12), lock(7)],
            [lock(12), lock(12, "ci")],
            [lock(12), parseLock("/s/x.json", "")],
        ]) {
            assert.equal(decideLocks(locks, here, "dev", "npm run deploy -- dev").kind, "held", JSON.stringify(locks));
        }
    });
});
