import { strict as assert } from "assert";
import type { CacheSnapshot } from "../../../tools/cache/records";
import { pullReport } from "../../../tools/pulls";
import { CacheRecords, warmCacheVerdict, WarmCacheInput } from "../../../tools/e2e/warmCache";

const T0 = 1767261600;
const d = (c: string) => `sha256:${c.repeat(64)}`;
const blob = (c: string, bytes: number, fetchedAt: number) => ({ digest: d(c), bytes, fetchedAt });
const snap = (blobs: CacheSnapshot["blobs"], misses?: number): CacheSnapshot => ({
    blobs,
    repositories: [],
    counters: misses === undefined ? undefined : { requests: 0, hits: 0, misses, bytesPulled: 0 },
});
const pull = {
    image: "docker.io/istio/pilot:1.31.1",
    registry: "docker.io",
    seconds: 3,
    secondsWithWaiting: 3,
    bytes: 5_000_000,
    at: T0 + 900,
};

/** The caches after the cold up: docker.io fetched two blobs during it, one it had before; quay.io one. */
const BEFORE: CacheRecords[] = [
    {
        registry: "docker.io",
        snapshot: snap([blob("a", 1_000_000, T0 - 3600), blob("b", 2_000_000, T0 + 10), blob("c", 3_000_000, T0 + 20)], 2),
    },
    { registry: "quay.io", snapshot: snap([blob("e", 4_000_000, T0 + 30)], 1) },
];
const input = (after: CacheRecords[], over: Partial<WarmCacheInput> = {}): WarmCacheInput => ({
    cold: { startedAt: T0, seconds: 300 },
    warmSeconds: 120,
    before: BEFORE,
    after,
    warmPulls: pullReport({ pulls: [pull], present: 0 }, undefined),
    ...over,
});

describe("the warm re-creation's verdict", () => {
    it("passes when the caches fetched none of what they held again, giving the ratio beside the goal", () => {
        const v = warmCacheVerdict(
            input([
                // docker.io gained one new blob (a tag that moved) and fetched it, its counters say so.
                { registry: "docker.io", snapshot: snap([...BEFORE[0].snapshot.blobs, blob("f", 500, T0 + 1000)], 3) },
                { registry: "quay.io", snapshot: snap(BEFORE[1].snapshot.blobs, 1) },
            ]),
        );
        assert.equal(v.ok, true, v.reason);
        assert.equal(v.ratio, 0.4);
        assert.equal(v.goalMet, true);
        assert.deepEqual(v.held, { blobs: 4, bytes: 10_000_000, fetchedSinceColdUp: 3 });
        assert.deepEqual(v.refetched, []);
        assert.deepEqual(v.fresh, { blobs: 1, bytes: 500 });
        assert.equal(v.unstored, 0);
        assert.equal(
            v.reason,
            "re-created in 2m00s beside the cold up's 5m00s: ratio 0.40 (goal ≤ 0.5: met); the kubelet pulled 1 images (5.0 MB) and the caches fetched none of the 4 blobs (10.0 MB) they held from upstream again; 1 blobs (500 B) were new to them",
        );
    });

    it("fails naming each blob a cache fetched again though it held it", () => {
        const v = warmCacheVerdict(
            input([
                {
                    registry: "docker.io",
                    snapshot: snap([blob("a", 1_000_000, T0 - 3600), blob("b", 2_000_000, T0 + 1200), blob("c", 3_000_000, T0 + 20)], 3),
                },
                { registry: "quay.io", snapshot: snap(BEFORE[1].snapshot.blobs, 1) },
            ]),
        );
        assert.equal(v.ok, false);
        assert.deepEqual(v.refetched, [{ registry: "docker.io", digest: d("b") }]);
        assert.match(v.reason, /; but the caches fetched again from upstream 1 blobs they already held: docker\.io sha256:bbbbbbbbbbbb$/);
    });

    it("counts as fetched a held blob that is gone and back, and keeps a blob that expired without a new fetch out of it", () => {
        const v = warmCacheVerdict(
            input([
                { registry: "docker.io", snapshot: snap([blob("a", 1_000_000, T0 - 3600)], 2) },
                { registry: "quay.io", snapshot: snap([blob("e", 4_000_000, T0 + 2000)], 2) },
            ]),
        );
        assert.deepEqual(v.refetched, [{ registry: "quay.io", digest: d("e") }]);
    });

    it("says when the counters restarted, or saw fetches that stored nothing, and when the caches were warm before the run", () => {
        const same = (m0: number | undefined, m1: number | undefined) =>
            warmCacheVerdict(
                input(
                    [
                        { registry: "docker.io", snapshot: snap(BEFORE[0].snapshot.blobs, m1) },
                        { registry: "quay.io", snapshot: snap(BEFORE[1].snapshot.blobs, m1) },
                    ],
                    { before: BEFORE.map((b) => ({ ...b, snapshot: { ...b.snapshot, counters: snap([], m0).counters } })) },
                ),
            );
        assert.equal(same(5, 1).unstored, undefined);
        assert.match(same(5, 1).reason, /their counters restarted, so this rests on their storage alone/);
        assert.equal(same(1, 3).unstored, 4);
        assert.match(same(1, 3).reason, /4 more upstream fetches of blobs not yet stored/);
        assert.equal(same(undefined, 3).unstored, undefined);
        const warmBefore = warmCacheVerdict({
            ...input(BEFORE),
            before: BEFORE.map((b) => ({
                ...b,
                snapshot: snap(
                    b.snapshot.blobs.map((x) => ({ ...x, fetchedAt: T0 - 10 })),
                    1,
                ),
            })),
            after: BEFORE.map((b) => ({
                ...b,
                snapshot: snap(
                    b.snapshot.blobs.map((x) => ({ ...x, fetchedAt: T0 - 10 })),
                    1,
                ),
            })),
        });
        assert.equal(warmBefore.ok, true);
        assert.match(
            warmBefore.reason,
            /the caches were warm before the fresh up \(they fetched nothing since\), so the ratio compares two warm creations$/,
        );
    });

    it("counts a refetch as stored when weighing the counters, a blob of the cold up's first second as its own, and the goal as reached at 0.5", () => {
        const v = warmCacheVerdict(
            input(
                [
                    { registry: "docker.io", snapshot: snap([blob("a", 1, T0 - 3600), blob("b", 2, T0 + 1200), blob("c", 3, T0 + 20)], 3) },
                    { registry: "quay.io", snapshot: snap(BEFORE[1].snapshot.blobs, 1) },
                ],
                { warmSeconds: 150 },
            ),
        );
        assert.equal(v.unstored, 0, "the one upstream fetch is the refetched blob");
        assert.equal(v.goalMet, true);
        const edge = warmCacheVerdict({ ...input(BEFORE), before: [{ registry: "docker.io", snapshot: snap([blob("a", 1, T0)]) }] });
        assert.equal(edge.held.fetchedSinceColdUp, 1);
        const gone = warmCacheVerdict(input([{ registry: "docker.io", snapshot: snap(BEFORE[0].snapshot.blobs, 2) }]));
        assert.equal(gone.ok, true, "a cache that is gone afterwards fetched nothing again");
        assert.equal(gone.unstored, undefined);
    });

    it("reports a ratio above the goal without failing on it, and fails without caches or pulls", () => {
        const slow = warmCacheVerdict(input(BEFORE, { warmSeconds: 200 }));
        assert.equal(slow.ok, true);
        assert.equal(slow.goalMet, false);
        assert.match(slow.reason, /ratio 0\.67 \(goal ≤ 0\.5: not met\)/);
        assert.deepEqual(
            [warmCacheVerdict(input([], { before: [] })).ok, warmCacheVerdict(input([], { before: [] })).reason],
            [false, "there are no image caches on this machine: the stack made none (is kind.imageCache off?)"],
        );
        const none = warmCacheVerdict(input(BEFORE, { warmPulls: pullReport({ pulls: [], present: 12 }, undefined) }));
        assert.equal(none.ok, false);
        assert.equal(none.reason, "the re-creation pulled no image (no Pulled event of the kubelet), so it shows nothing about the caches");
        assert.equal(warmCacheVerdict(input(BEFORE, { cold: { startedAt: T0, seconds: 0 } })).ratio, Number.POSITIVE_INFINITY);
    });
});
