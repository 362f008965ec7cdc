import { strict as assert } from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import {
    bookinfoUrlOf,
    canaryConfigs,
    canaryScenario,
    countAnswers,
    describeCount,
    nodeStatusGet,
    nonSuccess,
    otherRelease,
    StatusGet,
} from "../../../tools/e2e/canary";
import { Failure, ScenarioContext } from "../../../tools/e2e/scenarios";
import { PINS } from "../../../components/versions";
import { COMMANDS, parseCommandLine } from "../../../tools/commandLine";

const K = "istio-mesh:";

/** A local server whose answers follow `script`, one entry per request: a status, or "drop" to cut the connection. */
async function scriptedServer(script: (number | "drop")[]): Promise<{ url: string; served: () => number; close: () => Promise<void> }> {
    let n = 0;
    const server = http.createServer((req, res) => {
        const next = script[Math.min(n, script.length - 1)];
        n++;
        if (next === "drop") {
            req.socket.destroy();
            return;
        }
        res.statusCode = next;
        res.end("Simple Bookstore App");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/productpage`,
        served: () => n,
        close: () => new Promise((r) => server.close(() => r())),
    };
}

describe("e2e canary upgrade: counting Bookinfo's answers", () => {
    it("counts every answer against a real server, each failure by status or error, until told to stop", async () => {
        const server = await scriptedServer([200, 200, 503, 200, "drop", 404, 200]);
        try {
            let release!: () => void;
            const stop = new Promise<void>((r) => (release = r));
            const counting = countAnswers(nodeStatusGet(2000), server.url, stop, {
                intervalMs: 0,
                // stop once the server has answered the whole script once more
                sleep: async () => {
                    if (server.served() >= 8) release();
                },
            });
            const c = await counting;
            assert.equal(c.total, server.served());
            assert.deepEqual(c.failures, { "503": 1, "error: ECONNRESET": 1, "404": 1 });
            assert.equal(nonSuccess(c), 3);
            assert.equal(describeCount(c), `${c.total} requests, 3 not 2xx (404: 1, 503: 1, error: ECONNRESET: 1)`);
        } finally {
            await server.close();
        }
    });

    it("asks at least once, even when the step is already over, and counts a refused connection", async () => {
        const c = await countAnswers(nodeStatusGet(1000), "http://127.0.0.1:1/productpage", Promise.resolve(), { intervalMs: 0 });
        assert.equal(c.total, 1);
        assert.deepEqual(c.failures, { "error: ECONNREFUSED": 1 });
        assert.equal(describeCount({ total: 1, failures: {} }), "1 request, 0 not 2xx");
    });

    it("goes on counting when a request throws", async () => {
        let calls = 0;
        const get: StatusGet = async () => {
            calls++;
            if (calls === 2) throw new Error("boom");
            return { status: 200 };
        };
        let release!: () => void;
        const stop = new Promise<void>((r) => (release = r));
        const c = await countAnswers(get, "http://x", stop, { intervalMs: 0, sleep: async () => void (calls >= 3 && release()) });
        assert.deepEqual(c, { total: 3, failures: { "error: boom": 1 } });
    });
});

describe("e2e canary upgrade: the scenario", () => {
    const base = {
        [`${K}kind`]: { hostPorts: { http: 18080 }, listenAddress: "127.0.0.1" },
        [`${K}istio`]: { mtls: "STRICT" },
    };
    const other = otherRelease();

    it("opens the product page on the stack's kind host port", () => {
        assert.equal(bookinfoUrlOf(base), "http://localhost:18080/productpage");
        assert.throws(() => bookinfoUrlOf({}), /no kind\.hostPorts\.http/);
    });

    it("switches to revisions, keeps another release and moves the tag onto it, then back, keeping the stack's own istio settings", () => {
        assert.notEqual(other, PINS.istio.version);
        const c = canaryConfigs(base, other);
        assert.deepEqual(c.revisions[`${K}istio`], { mtls: "STRICT", upgrade: { strategy: "revisions" } });
        assert.deepEqual(c.moved[`${K}istio`], {
            mtls: "STRICT",
            upgrade: { strategy: "revisions", keepRevisions: [other], tags: { default: other } },
        });
        assert.deepEqual(c.back[`${K}istio`], { mtls: "STRICT", upgrade: { strategy: "revisions", keepRevisions: [other] } });
        assert.deepEqual(c.back[`${K}kind`], base[`${K}kind`]);
    });

    const verified = [
        {
            resOutputsEvent: {
                metadata: { urn: "urn:...::istio-mesh:index:DeploymentCheck$command:local:Command::verify-run", op: "replace" },
            },
        },
    ] as unknown as EngineEvent[];

    function fakeContext(events: EngineEvent[] = verified) {
        const configs: unknown[] = [];
        const ups: string[] = [];
        const ctx = {
            base,
            log: () => undefined,
            stack: () => ({ setConfig: async (c: unknown) => void configs.push(c) }),
            up: async (label: string) => {
                ups.push(label);
                await new Promise((r) => setTimeout(r, 5));
                return events;
            },
        } as unknown as ScenarioContext;
        return { ctx, configs, ups };
    }

    it("passes when every answer during the three ups is 2xx, and says how many it counted", async () => {
        const { ctx, configs, ups } = fakeContext();
        const urls: string[] = [];
        const reason = await canaryScenario(ctx, async (u) => (urls.push(u), { status: 200 }), 1).run();
        const c = canaryConfigs(base, other);
        assert.deepEqual(configs, [c.revisions, c.moved, c.back]);
        assert.equal(ups.length, 3);
        assert.ok(urls.length >= 3 && urls.every((u) => u === "http://localhost:18080/productpage"));
        assert.match(
            reason,
            /^no answer other than 2xx while the tag moved: .*: \d+ requests?, 0 not 2xx; .*: \d+ requests?, 0 not 2xx; .*: \d+ requests?, 0 not 2xx$/,
        );
    });

    it("fails on a single non-2xx answer, naming the step", async () => {
        const { ctx } = fakeContext();
        let n = 0;
        await assert.rejects(canaryScenario(ctx, async () => ({ status: n++ === 0 ? 503 : 200 }), 1).run(), (e: Error) => {
            assert.ok(e instanceof Failure);
            assert.match(
                e.message,
                /^Bookinfo answered 1 request with something other than 2xx while the tag moved: .*1 not 2xx \(503: 1\)/,
            );
            return true;
        });
    });

    it("fails when an up ran without the verification", async () => {
        const { ctx } = fakeContext([]);
        await assert.rejects(canaryScenario(ctx, async () => ({ status: 200 }), 1).run(), /succeeded but the verification did not run/);
    });

    it("runs only when npm run e2e is given --canary", () => {
        assert.deepEqual(parseCommandLine(COMMANDS.e2e, ["dev", "--canary"]), {
            kind: "run",
            env: "dev",
            flags: new Set(["--canary"]),
            values: {},
        });
    });
});
