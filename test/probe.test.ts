import { strict as assert } from "assert";
import { waitUntilReady } from "../components/probe";

describe("waitUntilReady", () => {
    function clock() {
        let t = 0;
        return { now: () => t, sleep: async (ms: number) => void (t += ms) };
    }

    it("retries until the probe is ready and reports the attempts", async () => {
        let n = 0;
        const attempts = await waitUntilReady(async () => (++n < 3 ? { ready: false, reason: "not yet" } : { ready: true }), "Istio", {
            timeoutMs: 60000,
            intervalMs: 1000,
            ...clock(),
        });
        assert.equal(attempts, 3);
    });

    it("treats a thrown error as not ready and gives up with the last reason", async () => {
        await assert.rejects(
            waitUntilReady(async () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6443")), "Istio (sidecar mode)", {
                timeoutMs: 10000,
                intervalMs: 3000,
                ...clock(),
            }),
            { message: "Istio (sidecar mode) was not ready after 10s (4 attempts). Last reason: connect ECONNREFUSED 127.0.0.1:6443" },
        );
    });

    it("makes its last attempt when the time is exactly up, timing from its start, and logs each miss", async () => {
        // A clock that does not start at zero, and a budget the interval divides exactly.
        let t = 1_700_000_000_000;
        const lines: string[] = [];
        let n = 0;
        await assert.rejects(
            waitUntilReady(async () => ({ ready: false, reason: `try ${++n}` }), "ztunnel", {
                timeoutMs: 3000,
                intervalMs: 1000,
                now: () => t,
                sleep: async (ms) => void (t += ms),
                log: (line) => lines.push(line),
            }),
            { message: "ztunnel was not ready after 3s (4 attempts). Last reason: try 4" },
        );
        assert.deepEqual(lines, [
            "ztunnel not ready yet (attempt 1): try 1",
            "ztunnel not ready yet (attempt 2): try 2",
            "ztunnel not ready yet (attempt 3): try 3",
            "ztunnel not ready yet (attempt 4): try 4",
        ]);
    });
});
