import { strict as assert } from "assert";
import { CACHE_LABEL } from "../../components/cluster/imageCache";
import { listCaches, machineWith, main, renderStatus } from "../../tools/cache";
import { formatBytes, parseSnapshot, SNAPSHOT_SCRIPT, snapshotArgv } from "../../tools/cache/records";
import { FakeContainer, FakeDocker } from "../cluster/fakeDocker";

const HEX = (c: string) => c.repeat(64);
/** What SNAPSHOT_SCRIPT prints in a cache holding two blobs of two repositories. */
const SNAPSHOT = [
    "== blobs",
    `2048 1767261600 blobs/sha256/aa/${HEX("a")}/data`,
    `1000000 1767261700 blobs/sha256/bb/${HEX("b")}/data`,
    "== repositories",
    "repositories/istio/pilot/_manifests",
    "repositories/library/busybox/_manifests",
    "== counters",
    JSON.stringify({ registry: { proxy: { blobs: { Requests: 5, Hits: 3, Misses: 2, BytesPulled: 1002048, BytesPushed: 9 } } } }),
    "",
].join("\n");

function cache(registry: string, over: Partial<FakeContainer> = {}): FakeContainer {
    return {
        labels: { [CACHE_LABEL]: registry },
        running: true,
        networks: ["bridge"],
        env: {},
        publish: [],
        volumes: [],
        image: "registry:3",
        exec: { sh: SNAPSHOT },
        ...over,
    };
}

describe("cache records", () => {
    it("reads a cache's blobs, repositories and upstream counters from its own storage and debug vars", () => {
        const s = parseSnapshot(SNAPSHOT);
        assert.deepEqual(s.blobs, [
            { digest: `sha256:${HEX("a")}`, bytes: 2048, fetchedAt: 1767261600 },
            { digest: `sha256:${HEX("b")}`, bytes: 1000000, fetchedAt: 1767261700 },
        ]);
        assert.deepEqual(s.repositories, ["istio/pilot", "library/busybox"]);
        assert.deepEqual(s.counters, { requests: 5, hits: 3, misses: 2, bytesPulled: 1002048 });
    });

    it("reads an empty cache, and one whose debug server did not answer, without inventing counters", () => {
        assert.deepEqual(parseSnapshot("== counters\n"), { blobs: [], repositories: [], counters: undefined });
        assert.equal(parseSnapshot("== blobs\n== counters\nnot json\n").counters, undefined);
        assert.equal(parseSnapshot("== blobs\ngarbage line\n").blobs.length, 0);
    });

    it("reads only its own section headers and whole lines, ignores stray text, and sorts the repositories", () => {
        const text = [
            "stray line before any section",
            "  == blobs  ",
            `  4096 1767261800 blobs/sha256/cc/${HEX("c")}/data  `,
            `x 1 2 blobs/sha256/dd/${HEX("d")}/data`,
            `5 6 blobs/sha256/ee/${HEX("e")}/data.partial`,
            "",
            "not == a header",
            "x == blobs",
            "== counters extra",
            "== repositories",
            "  repositories/z/app/_manifests  ",
            "repositories/a/app/_manifests",
            "repositories/b/app/_manifests/extra",
            "prefix repositories/c/app/_manifests",
            "== counters",
            '{"registry": {"proxy":',
            '  {"blobs": {"Misses": 4}}}}',
        ].join("\n");
        const s = parseSnapshot(text);
        assert.deepEqual(s.blobs, [{ digest: `sha256:${HEX("c")}`, bytes: 4096, fetchedAt: 1767261800 }]);
        assert.deepEqual(s.repositories, ["a/app", "z/app"]);
        assert.deepEqual(s.counters, { requests: 0, hits: 0, misses: 4, bytesPulled: 0 });
        assert.equal(parseSnapshot("== counters\n{}\n").counters, undefined);
        assert.equal(parseSnapshot('== counters\n{"registry": {}}\n').counters, undefined);
        assert.equal(parseSnapshot("== blobs\n").counters, undefined);
    });

    it("asks the registry's storage and its loopback debug address", () => {
        assert.deepEqual(snapshotArgv("c").slice(0, 5), ["docker", "exec", "c", "sh", "-c"]);
        assert.equal(
            SNAPSHOT_SCRIPT,
            [
                "if cd /var/lib/registry/docker/registry/v2 2>/dev/null; then",
                "  echo '== blobs'; find blobs -type f -name data -exec stat -c '%s %Y %n' {} + 2>/dev/null",
                "  echo '== repositories'; find repositories -type d -name _manifests 2>/dev/null",
                "fi",
                "echo '== counters'; wget -qO- http://127.0.0.1:5001/debug/vars 2>/dev/null || true",
            ].join("\n"),
        );
        assert.match(SNAPSHOT_SCRIPT, /cd \/var\/lib\/registry\/docker\/registry\/v2/);
        assert.match(SNAPSHOT_SCRIPT, /wget -qO- http:\/\/127\.0\.0\.1:5001\/debug\/vars/);
    });

    it("prints sizes in Docker's decimal units", () => {
        assert.deepEqual([0, 999, 1000, 1002048, 2.5e9, 2.5e12, 5e15].map(formatBytes), [
            "0 B",
            "999 B",
            "1.0 kB",
            "1.0 MB",
            "2.5 GB",
            "2.5 TB",
            "5000.0 TB",
        ]);
    });
});

describe("npm run cache", function () {
    this.timeout(20000);
    let docker: FakeDocker;
    afterEach(() => docker.remove());

    function run(argv: string[], env: Record<string, string> = {}): { code: number; out: string } {
        const out: string[] = [];
        const code = main(
            argv,
            machineWith(docker.env(env), (l) => out.push(l)),
        );
        return { code, out: out.join("\n") };
    }

    it("says what each cache holds and fetched, lists only what carries the cache label, and says how to remove them", () => {
        docker = new FakeDocker({
            containers: {
                "istio-mesh-cache-docker-io": cache("docker.io"),
                "istio-mesh-cache-quay-io": cache("quay.io", { running: false }),
                "someone-elses-registry": cache("x", { labels: {} }),
            },
            volumes: {
                "istio-mesh-cache-docker-io": { labels: { [CACHE_LABEL]: "docker.io" } },
                "istio-mesh-cache-quay-io": { labels: { [CACHE_LABEL]: "quay.io" } },
                "istio-mesh-cache-ghcr-io": { labels: { [CACHE_LABEL]: "ghcr.io" } },
                "my-data": { labels: {} },
            },
        });
        const r = run(["status"]);
        assert.equal(r.code, 0, r.out);
        assert.equal(
            r.out,
            [
                "Image caches on this machine (shared by every kind stack; pulumi destroy leaves them):",
                "  docker.io: istio-mesh-cache-docker-io, volume istio-mesh-cache-docker-io: 2 blobs, 1.0 MB; 2 repositories: istio/pilot, library/busybox",
                "    since it started: 2 blobs fetched from upstream (1.0 MB), 3 served from the cache",
                "  ghcr.io: volume istio-mesh-cache-ghcr-io without its container; pulumi up makes it again, npm run cache -- prune removes it.",
                "  quay.io: istio-mesh-cache-quay-io is exited; docker start istio-mesh-cache-quay-io (or the next pulumi up) starts it again.",
                "Remove them all: npm run cache -- prune",
            ].join("\n"),
        );
        assert.ok(!r.out.includes("someone-elses-registry") && !r.out.includes("my-data"));
        // Only the running cache was asked what it holds.
        assert.deepEqual(
            docker.callsOf("exec").map((c) => c.argv[1]),
            ["istio-mesh-cache-docker-io"],
        );
    });

    it("says so when there is no cache", () => {
        docker = new FakeDocker();
        assert.match(run(["status"]).out, /^No image caches on this machine\./);
        assert.deepEqual(listCaches(machineWith(docker.env())), []);
        assert.equal(renderStatus([]), run(["status"]).out);
    });

    it("prune removes every cache container and volume, and nothing else", () => {
        docker = new FakeDocker({
            containers: { "istio-mesh-cache-docker-io": cache("docker.io"), other: cache("x", { labels: {} }) },
            volumes: {
                "istio-mesh-cache-docker-io": { labels: { [CACHE_LABEL]: "docker.io" } },
                "istio-mesh-cache-quay-io": { labels: { [CACHE_LABEL]: "quay.io" } },
                "my-data": { labels: {} },
            },
        });
        const r = run(["prune"]);
        assert.equal(r.code, 0, r.out);
        assert.deepEqual(Object.keys(docker.state().containers), ["other"]);
        assert.deepEqual(Object.keys(docker.state().volumes), ["my-data"]);
        assert.match(r.out, /Removed the cache containers istio-mesh-cache-docker-io\./);
        assert.match(r.out, /Removed the cache volumes istio-mesh-cache-docker-io, istio-mesh-cache-quay-io and what they held\./);
        assert.match(r.out, /the caches come back with the next re-creation of a cluster \(pulumi destroy, then pulumi up\)/);
        assert.equal(run(["prune"]).out, "No image caches on this machine; nothing to remove.");
    });

    it("keeps the volumes when the containers could not be removed, and fails", () => {
        docker = new FakeDocker({
            containers: { "istio-mesh-cache-docker-io": cache("docker.io") },
            volumes: { "istio-mesh-cache-docker-io": { labels: { [CACHE_LABEL]: "docker.io" } } },
        });
        const r = run(["prune"], { FAKE_DOCKER_FAIL_RM: "1" });
        assert.equal(r.code, 1);
        assert.match(r.out, /error: docker rm failed: Error response from daemon: cannot remove container/);
        assert.deepEqual(docker.callsOf("volume", "rm"), []);
    });

    it("explains itself with --help, refuses an unknown command, and needs Docker running", () => {
        docker = new FakeDocker();
        const help = run(["--help"]);
        assert.equal(help.code, 0);
        assert.match(help.out, /^npm run cache\n/);
        assert.match(help.out, /\n {2}prune {3}remove every cache container and its volume/);
        assert.match(
            help.out,
            /By default a kind stack caches docker\.io, quay\.io, ghcr\.io; only containers and volumes labelled io\.istio-mesh\.image-cache are caches\.$/,
        );
        assert.equal(run([]).code, 2);
        const bad = run(["purge"]);
        assert.equal(bad.code, 2);
        assert.equal(bad.out, 'error: unknown command "purge": use status or prune; see npm run cache -- --help');
        assert.equal(run(["status", "extra"]).code, 2);
        const down = run(["status"], { FAKE_DOCKER_DOWN: "1" });
        assert.equal(down.code, 1);
        assert.match(down.out, /error: Docker is not running \(docker info failed\)/);
        assert.deepEqual(docker.callsOf("ps"), []);
    });
});
