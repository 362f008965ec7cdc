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
        for (const pid of [0, -3, 1.5])
            assert.equal(parseLock("/s/x.json", JSON.stringify({ pid, hostname: "laptop" })).pid, undefined, String(pid));
        assert.equal(parseLock("/s/x.json", JSON.stringify({ pid: 1, hostname: "laptop" })).pid, 1);
        assert.deepEqual(parseLock("/s/x.json", JSON.stringify({ pid: "12", hostname: "", username: 3 })), {
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

    it("says who holds a lock it will not remove, and how to remove it once that run is over", () => {
        const again = "npm run deploy -- dev";
        const cancel =
            "If no Pulumi runs on stack dev any more, remove the lock with pulumi cancel --yes --stack dev, then run npm run deploy -- dev again.";
        assert.deepEqual(decideLocks([lock(7)], here, "dev", again), {
            kind: "held",
            message: `stack dev is locked by ana@laptop (pid 7, at t), which still runs on this machine: wait for it to end, then run npm run deploy -- dev again. ${cancel}`,
        });
        assert.deepEqual(decideLocks([lock(12, "ci")], here, "dev", again), {
            kind: "held",
            message: `stack dev is locked by ana@ci (pid 12, at t), on another machine: wait for that run to end. ${cancel}`,
        });
        for (const text of [JSON.stringify({ hostname: "laptop" }), JSON.stringify({ pid: 12 })]) {
            assert.deepEqual(decideLocks([parseLock("/s/x.json", text)], here, "dev", again), {
                kind: "held",
                message: `stack dev is locked (/s/x.json), and the lock does not say by whom. ${cancel}`,
            });
        }
        assert.deepEqual(decideLocks([parseLock("/s/1.json", JSON.stringify({ pid: 1, hostname: "laptop" }))], here, "dev", again), {
            kind: "stale",
            files: ["/s/1.json"],
            message:
                "stack dev is locked by ?@laptop (pid 1), which no longer runs on this machine (killed or crashed): removing its lock.",
        });
        const two = decideLocks([lock(12), lock(13)], here, "dev", again);
        assert.equal(
            two.kind === "stale" && two.message,
            "stack dev is locked by ana@laptop (pid 12, at t), ana@laptop (pid 13, at t), which no longer run on this machine (killed or crashed): removing their locks.",
        );
    });
});
