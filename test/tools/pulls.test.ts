import { strict as assert } from "assert";
import { parseGoDuration, pullReport, pullsFromEvents, renderPulls, upstreamFetches } from "../../tools/pulls";

const T0 = 1767261600; // 2026-01-01T10:00:00Z
const iso = (s: number): string => new Date(s * 1000).toISOString().replace(/\.000Z$/, "Z");
const event = (at: number, message: string, reason = "Pulled") => ({ reason, message, lastTimestamp: iso(at), metadata: {} });
const EVENTS = JSON.stringify({
    items: [
        event(T0 - 600, 'Successfully pulled image "docker.io/istio/pilot:1.31.1" in 9s (9s including waiting). Image size: 1 bytes.'),
        event(
            T0 + 30,
            'Successfully pulled image "docker.io/istio/proxyv2:1.31.1" in 12.5s (20.25s including waiting). Image size: 100000000 bytes.',
        ),
        event(
            T0 + 40,
            'Successfully pulled image "quay.io/kiali/kiali:v2.27.0" in 1m2.5s (1m3s including waiting). Image size: 80000000 bytes.',
        ),
        event(T0 + 50, 'Container image "docker.io/istio/proxyv2:1.31.1" already present on machine'),
        event(T0 + 60, 'Successfully pulled image "busybox:1.28" in 850ms (850ms including waiting). Image size: 700000 bytes.'),
        event(T0 + 61, "Started container x", "Started"),
        {
            reason: "Pulled",
            message: 'Successfully pulled image "x" in soon (soon including waiting). Image size: 1 bytes.',
            lastTimestamp: iso(T0 + 70),
        },
    ],
});

describe("image pulls", () => {
    it("reads Go durations as the kubelet prints them", () => {
        assert.deepEqual(
            ["0", "0s", "850ms", "12.5s", "1m2.5s", "1h0m1s", "250µs", "3us", "2s500ms"].map(parseGoDuration),
            [0, 0, 0.85, 12.5, 62.5, 3601, 0.00025, 0.000003, 2.5],
        );
        assert.deepEqual(["", "12", "soon", "1.5x", "s1", "x1s", "1s ", "1m2"].map(parseGoDuration), [
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
            undefined,
        ]);
    });

    it("counts the kubelet's pulls of this deploy, with their registry, size and time, and the images already present", () => {
        const { pulls, present } = pullsFromEvents(EVENTS, T0);
        assert.deepEqual(
            pulls.map((p) => [p.image, p.registry, p.seconds, p.secondsWithWaiting, p.bytes, p.at - T0]),
            [
                ["docker.io/istio/proxyv2:1.31.1", "docker.io", 12.5, 20.25, 100000000, 30],
                ["quay.io/kiali/kiali:v2.27.0", "quay.io", 62.5, 63, 80000000, 40],
                ["busybox:1.28", "docker.io", 0.85, 0.85, 700000, 60],
            ],
        );
        assert.equal(present, 1);
        assert.equal(pullsFromEvents(EVENTS).pulls.length, 4, "without a start, the older pull counts too");
        assert.deepEqual(pullsFromEvents("not json"), { pulls: [], present: 0 });
        assert.deepEqual(pullsFromEvents("{}"), { pulls: [], present: 0 });
        // In time order whatever the order of the list, an event of the deploy's first second included, and
        // only whole messages: one duration that does not parse, or text around them, is no pull.
        const shuffled = JSON.stringify({
            items: [
                event(T0 + 9, 'Successfully pulled image "b:1" in 1s (1s including waiting). Image size: 1 bytes.'),
                event(T0 + 9, 'Successfully pulled image "a:1" in 1s (1s including waiting). Image size: 1 bytes.'),
                event(T0, 'Successfully pulled image "z:1" in 1s (1s including waiting). Image size: 1 bytes.'),
                event(T0 + 1, 'Successfully pulled image "y:1" in 1s (later including waiting). Image size: 1 bytes.'),
                event(T0 + 1, 'Successfully pulled image "w:1" in later (1s including waiting). Image size: 1 bytes.'),
                event(T0 + 1, 'Successfully pulled image "v:1" in 1s (1s including waiting). Image size: 1 bytes. And more'),
                event(T0 + 1, 'Kubelet: Successfully pulled image "u:1" in 1s (1s including waiting). Image size: 1 bytes.'),
                event(T0 + 1, 'Note: Container image "t:1" already present on machine'),
                event(T0 + 1, 'Pulling image "s:1"'),
            ],
        });
        assert.equal(pullsFromEvents(shuffled, T0).present, 0);
        assert.deepEqual(
            pullsFromEvents(shuffled, T0).pulls.map((p) => p.image),
            ["z:1", "a:1", "b:1"],
        );
        // Only the Pulled reason counts, and an event without any time is left out rather than guessed.
        const odd = JSON.stringify({
            items: [
                event(T0 + 5, 'Successfully pulled image "a:1" in 1s (1s including waiting). Image size: 9 bytes.', "Failed"),
                { reason: "Pulled", message: 'Successfully pulled image "b:1" in 1s (1s including waiting). Image size: 9 bytes.' },
                {
                    reason: "Pulled",
                    message: 'Successfully pulled image "c:1" in 1s (1s including waiting). Image size: 9 bytes.',
                    eventTime: iso(T0 + 6),
                    metadata: {},
                },
            ],
        });
        assert.deepEqual(
            pullsFromEvents(odd, T0).pulls.map((p) => p.image),
            ["c:1"],
        );
    });

    it("counts what each cache fetched from upstream since the deploy began, by its storage", () => {
        const blob = (bytes: number, at: number) => ({ digest: `sha256:${bytes}`, bytes, fetchedAt: at });
        assert.deepEqual(
            upstreamFetches(
                [
                    { registry: "docker.io", snapshot: { blobs: [blob(5, T0 - 1), blob(7, T0), blob(11, T0 + 9)], repositories: [] } },
                    { registry: "quay.io", snapshot: { blobs: [blob(3, T0 - 100)], repositories: [] } },
                ],
                T0,
            ),
            [
                { registry: "docker.io", blobs: 2, bytes: 18 },
                { registry: "quay.io", blobs: 0, bytes: 0 },
            ],
        );
    });

    it("reports the bytes and the seconds of pulling, the longest pulls, and what came from the internet", () => {
        const r = pullReport(pullsFromEvents(EVENTS, T0), [
            { registry: "docker.io", blobs: 4, bytes: 90000000 },
            { registry: "quay.io", blobs: 0, bytes: 0 },
        ]);
        assert.equal(r.bytes, 180700000);
        assert.equal(r.seconds, 75.85);
        assert.equal(
            renderPulls(r),
            [
                "Image pulls (the kubelet's Pulled events):",
                "  3 images, 180.7 MB, 1m16s of pulling (each pull's own time, summed: pulls overlap); 1 already on the nodes.",
                "   1m03s    80.0 MB  quay.io/kiali/kiali:v2.27.0",
                "     13s   100.0 MB  docker.io/istio/proxyv2:1.31.1",
                "      1s   700.0 kB  busybox:1.28",
                "Fetched from the internet by the image caches (their own storage): 90.0 MB, docker.io 90.0 MB in 4 blobs.",
            ].join("\n"),
        );
        assert.equal(
            renderPulls(pullReport({ pulls: [], present: 2 }, [{ registry: "docker.io", blobs: 0, bytes: 0 }])),
            "Image pulls (the kubelet's Pulled events):\n  none; 2 images were already on the nodes.\nFetched from the internet by the image caches (their own storage): nothing.",
        );
        assert.equal(renderPulls(pullReport({ pulls: [], present: 0 }, undefined)), "Image pulls (the kubelet's Pulled events):\n  none.");
        // The three longest of four, and every registry the caches fetched from.
        const four = [...pullsFromEvents(EVENTS, T0).pulls, { ...pullsFromEvents(EVENTS, T0).pulls[2], image: "tiny:1", seconds: 0.1 }];
        const many = renderPulls(
            pullReport({ pulls: four, present: 0 }, [
                { registry: "docker.io", blobs: 1, bytes: 1000 },
                { registry: "ghcr.io", blobs: 2, bytes: 2000 },
            ]),
        );
        assert.ok(!many.includes("tiny:1"), many);
        assert.match(many, /: 3\.0 kB, docker\.io 1\.0 kB in 1 blobs, ghcr\.io 2\.0 kB in 2 blobs\.$/);
        assert.match(
            renderPulls(pullReport({ pulls: pullsFromEvents(EVENTS, T0).pulls, present: 0 }, undefined)),
            /\n {2}3 images, 180\.7 MB, 1m16s of pulling \(each pull's own time, summed: pulls overlap\)\.\n/,
        );
    });
});
