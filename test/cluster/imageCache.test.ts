import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import {
    CACHE_CONFIG_LABEL,
    CACHE_LABEL,
    CACHED_REGISTRIES,
    cacheConfigDigest,
    cacheName,
    credentialVariables,
    ImageCacheSpec,
    imageCacheScript,
    imageCacheSpecs,
    registryOf,
    stackImageRegistries,
} from "../../components/cluster/imageCache";
import { kindCreateScript, KindClusterSpec } from "../../components/cluster/kindScripts";
import { PINS } from "../../components/versions";
import { FakeContainer, FakeDocker } from "./fakeDocker";
import { EXISTING_KUBECONFIG, inputValue, runStack, stackConfig } from "../harness";

const specs = (extra: Partial<Parameters<typeof imageCacheSpecs>[0]> = {}): ImageCacheSpec[] =>
    imageCacheSpecs({
        registries: ["docker.io", "quay.io"],
        mirrored: [],
        hostPorts: [],
        listenAddress: "127.0.0.1",
        authenticated: [],
        ...extra,
    });

/** A container as the cache script would have made it for `spec`. */
function made(spec: ImageCacheSpec, over: Partial<FakeContainer> = {}): FakeContainer {
    return {
        labels: { [CACHE_LABEL]: spec.registry, [CACHE_CONFIG_LABEL]: cacheConfigDigest(spec) },
        running: true,
        networks: ["bridge"],
        env: {},
        publish: [],
        volumes: [`${spec.volume}:/var/lib/registry`],
        image: spec.image,
        ...over,
    };
}

function run(script: string, docker: FakeDocker, env: Record<string, string> = {}, stdin = "") {
    const r = spawnSync("/bin/sh", ["-c", script], { input: stdin, env: docker.env(env), encoding: "utf8" });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("image cache specs", () => {
    it("caches each registry the stack's images come from, named so that Docker's DNS resolves it", () => {
        assert.deepEqual(CACHED_REGISTRIES, ["docker.io", "quay.io", "ghcr.io"]);
        assert.equal(cacheName("registry.example.io"), "istio-mesh-cache-registry-example-io");
        assert.equal(cacheName("registry.local:5000"), "istio-mesh-cache-registry-local-5000");
        assert.throws(() => cacheName("../x"), /image cache registry "..\/x" is not a registry host/);
        const [hub, quay] = specs();
        assert.deepEqual(
            [hub.remoteUrl, quay.remoteUrl, hub.container, hub.volume, hub.image],
            [
                "https://registry-1.docker.io",
                "https://quay.io",
                "istio-mesh-cache-docker-io",
                "istio-mesh-cache-docker-io",
                PINS.registryImage,
            ],
        );
    });

    it("follows the pinned images to their registries", () => {
        assert.deepEqual(
            ["docker.io/istio", "istio", "registry.example.io/release", "localhost:5000/x", "quay.io/kiali/kiali:v2", "busybox:1.28"].map(
                registryOf,
            ),
            ["docker.io", "docker.io", "registry.example.io", "localhost:5000", "quay.io", "docker.io"],
        );
        const moved = stackImageRegistries({ ...PINS, bookinfo: { ...PINS.bookinfo, registry: "registry.example.io/release" } });
        assert.deepEqual(moved, ["docker.io", "registry.example.io", "quay.io", "ghcr.io"]);
    });

    it("makes no cache for a registry the user mirrors: their mirror wins", () => {
        assert.deepEqual(
            specs({ mirrored: ["docker.io"] }).map((s) => s.registry),
            ["quay.io"],
        );
    });

    it("publishes a host port only where configured, and remembers where it was set", () => {
        const [hub, quay] = specs({ hostPorts: [{ registry: "quay.io", hostPort: 5002 }] });
        assert.equal(hub.hostPort, undefined);
        assert.deepEqual([quay.hostPort, quay.hostPortIndex], [5002, 0]);
    });

    it("digests every setting a container is made from, so a changed one recreates it", () => {
        const [base] = specs();
        const digests = [
            base,
            { ...base, image: "registry:3.0.1" },
            { ...base, remoteUrl: "https://mirror.gcr.io" },
            { ...base, hostPort: 5001 },
            { ...base, authenticated: true },
        ].map(cacheConfigDigest);
        assert.equal(new Set(digests).size, digests.length);
        assert.match(digests[0], /^[0-9a-f]{16}$/);
        // The listen address matters only for a published port.
        assert.equal(cacheConfigDigest({ ...base, listenAddress: "0.0.0.0" }), digests[0]);
        assert.notEqual(cacheConfigDigest({ ...base, hostPort: 5001, listenAddress: "0.0.0.0" }), digests[3]);
    });
});

describe("image cache script", function () {
    this.timeout(20000);
    let docker: FakeDocker;
    beforeEach(() => {
        docker = new FakeDocker();
    });
    afterEach(() => docker.remove());

    it("makes a labelled volume and a proxy-mode registry container per registry, with no host port", () => {
        const r = run(imageCacheScript(specs()), docker);
        assert.equal(r.status, 0, r.stderr);
        const s = docker.state();
        assert.deepEqual(Object.keys(s.volumes), ["istio-mesh-cache-docker-io", "istio-mesh-cache-quay-io"]);
        assert.deepEqual(s.volumes["istio-mesh-cache-quay-io"].labels, { [CACHE_LABEL]: "quay.io" });
        const hub = s.containers["istio-mesh-cache-docker-io"];
        assert.equal(hub.image, PINS.registryImage);
        assert.deepEqual(hub.env, {
            REGISTRY_PROXY_REMOTEURL: "https://registry-1.docker.io",
            REGISTRY_HTTP_DEBUG_ADDR: "127.0.0.1:5001",
        });
        assert.deepEqual(hub.volumes, ["istio-mesh-cache-docker-io:/var/lib/registry"]);
        assert.deepEqual(hub.publish, []);
        assert.equal(hub.labels[CACHE_CONFIG_LABEL], cacheConfigDigest(specs()[0]));
        assert.deepEqual(docker.callsOf("run")[0].argv.slice(0, 3), ["run", "-d", "--restart=always"]);
        assert.match(r.stderr, /image cache istio-mesh-cache-docker-io: started, caching https:\/\/registry-1\.docker\.io\./);
    });

    it("leaves running caches of the same settings alone, starts stopped ones, and keeps the volume of one it recreates", () => {
        const [hub, quay] = specs();
        docker.remove();
        docker = new FakeDocker({
            containers: {
                [hub.container]: made(hub),
                [quay.container]: made(quay, { running: false }),
            },
            volumes: { [hub.volume]: { labels: { [CACHE_LABEL]: "docker.io" } }, [quay.volume]: { labels: { [CACHE_LABEL]: "quay.io" } } },
        });
        let r = run(imageCacheScript([hub, quay]), docker);
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(docker.callsOf("run"), []);
        assert.deepEqual(docker.callsOf("volume", "create"), []);
        assert.deepEqual(
            docker.callsOf("start").map((c) => c.argv),
            [["start", quay.container]],
        );
        assert.match(r.stderr, /image cache istio-mesh-cache-docker-io: running\./);

        docker.remove();
        docker = new FakeDocker({
            containers: { [hub.container]: made(hub) },
            volumes: { [hub.volume]: { labels: { [CACHE_LABEL]: "docker.io" } } },
        });
        const vars = credentialVariables(0);
        r = run(imageCacheScript([{ ...hub, authenticated: true }]), docker, { [vars.username]: "me", [vars.password]: "pw" });
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /its settings changed; recreating it on the same volume/);
        assert.deepEqual(
            docker.callsOf("rm").map((c) => c.argv),
            [["rm", "-f", hub.container]],
        );
        assert.deepEqual(docker.callsOf("volume", "rm"), []);
        assert.ok(docker.state().volumes[hub.volume]);
        const label = docker.state().containers[hub.container].labels[CACHE_CONFIG_LABEL];
        assert.match(label, new RegExp(`^${cacheConfigDigest({ ...hub, authenticated: true })}-[0-9a-f]{16}$`));
        assert.ok(!label.includes("pw"));
        // The same credentials leave it running; new ones recreate it, on the same volume.
        const again = (password: string) => {
            const before = docker.callsOf("run").length;
            const res = run(imageCacheScript([{ ...hub, authenticated: true }]), docker, {
                [vars.username]: "me",
                [vars.password]: password,
            });
            assert.equal(res.status, 0, res.stderr);
            return docker.callsOf("run").length - before;
        };
        assert.equal(again("pw"), 0);
        assert.equal(again("rotated"), 1);
        assert.ok(docker.state().volumes[hub.volume]);
    });

    it("hands upstream credentials to docker through its environment, never on its command line", () => {
        const [hub] = specs({ authenticated: ["docker.io"] });
        const vars = credentialVariables(0);
        const r = run(imageCacheScript([hub]), docker, { [vars.username]: "me", [vars.password]: "s3cr3t-token" });
        assert.equal(r.status, 0, r.stderr);
        const [call] = docker.callsOf("run");
        assert.deepEqual(call.env, { REGISTRY_PROXY_USERNAME: "me", REGISTRY_PROXY_PASSWORD: "s3cr3t-token" });
        assert.ok(!call.argv.join(" ").includes("s3cr3t-token"), call.argv.join(" "));
        assert.ok(!imageCacheScript([hub]).includes("s3cr3t-token"));
        assert.deepEqual(docker.state().containers[hub.container].env.REGISTRY_PROXY_PASSWORD, "s3cr3t-token");
        // No other docker call sees them.
        assert.ok(docker.calls().every((c) => c.argv[0] === "run" || c.env.REGISTRY_PROXY_PASSWORD === undefined));
    });

    it("refuses a container or volume of a cache's name that is not a cache, before making anything", () => {
        const [hub, quay] = specs();
        for (const initial of [
            { containers: { [quay.container]: made(quay, { labels: {} }) } },
            { volumes: { [quay.volume]: { labels: { other: "x" } } } },
        ]) {
            docker.remove();
            docker = new FakeDocker(initial);
            const r = run(imageCacheScript([hub, quay]), docker);
            assert.equal(r.status, 1);
            assert.match(
                r.stderr,
                /error: a Docker (container|volume) named istio-mesh-cache-quay-io exists and is not this stack's image cache of quay\.io, so it is left alone\./,
            );
            assert.match(r.stderr, /pulumi config set --path kind\.imageCache\.enabled false/);
            assert.deepEqual(docker.callsOf("run"), []);
            assert.deepEqual(docker.callsOf("volume", "create"), []);
            assert.deepEqual(docker.callsOf("rm"), []);
        }
    });

    it("fails before making anything when a cache's host port is taken, naming the setting", async () => {
        const busy = net.createServer();
        await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
        const port = (busy.address() as net.AddressInfo).port;
        try {
            const [hub, quay] = specs({ hostPorts: [{ registry: "quay.io", hostPort: port }] });
            const r = run(imageCacheScript([hub, quay]), docker);
            assert.equal(r.status, 1);
            assert.match(
                r.stderr,
                new RegExp(
                    `error: host port ${port} on 127\\.0\\.0\\.1 for the image cache of quay\\.io \\(kind\\.imageCache\\.hostPorts\\[0\\]\\) is already in use\\. Stop what listens there, or pick another port: pulumi config set --path 'kind\\.imageCache\\.hostPorts\\[0\\]\\.hostPort' <free port>`,
                ),
            );
            assert.deepEqual(docker.state(), { containers: {}, volumes: {} });
        } finally {
            await new Promise((r) => busy.close(r));
        }
    });

    it("publishes a configured port on the listen address", async () => {
        const probe = net.createServer();
        await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
        const port = (probe.address() as net.AddressInfo).port;
        await new Promise((r) => probe.close(r));
        const [hub] = specs({ hostPorts: [{ registry: "docker.io", hostPort: port }] });
        const r = run(imageCacheScript([hub]), docker);
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(docker.state().containers[hub.container].publish, [`127.0.0.1:${port}:5000`]);
    });

    it("removes what this run made, and only that, when a volume cannot be created", () => {
        const [hub, quay] = specs();
        const r = run(imageCacheScript([hub, quay]), docker, { FAKE_DOCKER_FAIL_VOLUME: quay.volume });
        assert.equal(r.status, 1);
        assert.match(
            r.stderr,
            /error: could not create the Docker volume istio-mesh-cache-quay-io for the image cache of quay\.io \(see Docker's message above\)\. Free disk space for Docker \(docker system df\), or switch the cache off/,
        );
        assert.match(r.stderr, /no space left on device/);
        assert.deepEqual(docker.state(), { containers: {}, volumes: {} });
    });

    it("keeps caches that were there before a failure", () => {
        const [hub, quay] = specs();
        docker.remove();
        docker = new FakeDocker({
            containers: { [hub.container]: made(hub) },
            volumes: { [hub.volume]: { labels: { [CACHE_LABEL]: "docker.io" } } },
        });
        const r = run(imageCacheScript([hub, quay]), docker, { FAKE_DOCKER_FAIL_RUN: quay.container });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /error: could not start the image cache istio-mesh-cache-quay-io/);
        assert.deepEqual(Object.keys(docker.state().containers), [hub.container]);
        assert.deepEqual(Object.keys(docker.state().volumes), [hub.volume]);
    });

    it("refuses to start an authenticated cache without its credentials", () => {
        const r = run(imageCacheScript(specs({ authenticated: ["quay.io"] })), docker);
        assert.equal(r.status, 1);
        assert.match(
            r.stderr,
            /error: the credentials for the image cache of quay\.io did not reach the cache command \(IMAGE_CACHE_1_USERNAME and IMAGE_CACHE_1_PASSWORD are empty\)/,
        );
        assert.deepEqual(docker.state(), { containers: {}, volumes: {} });
    });

    it("fails clearly when Docker is not running", () => {
        const r = run(imageCacheScript(specs()), docker, { FAKE_DOCKER_DOWN: "1" });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /error: Docker is not running \(docker info failed\)/);
        assert.equal(docker.calls().length, 1);
    });
});

describe("the kind create script and the image caches", function () {
    this.timeout(20000);
    const [hub, quay] = specs();
    const cluster: KindClusterSpec = {
        name: "istio-test",
        nodeImage: "kindest/node:v1",
        workers: 0,
        region: "r",
        zones: ["z"],
        listenAddress: "127.0.0.1",
        ports: [],
        registryMirrors: [],
        imageCaches: [hub, quay].map((s) => ({ registry: s.registry, container: s.container, endpoint: `http://${s.container}:5000` })),
    };
    let docker: FakeDocker;
    beforeEach(() => {
        docker = new FakeDocker({
            containers: { [hub.container]: made(hub), [quay.container]: made(quay, { networks: ["bridge", "kind"] }) },
        });
        fs.writeFileSync(
            path.join(docker.bin, "kind"),
            `#!/bin/sh\ncase "$1 $2" in\n  "get clusters") echo istio-test ;;\n  "get nodes") echo istio-test-control-plane ;;\n  "get kubeconfig") echo kubeconfig ;;\nesac\n`,
            { mode: 0o755 },
        );
    });
    afterEach(() => docker.remove());

    it("connects each cache to kind's network once, then points each registry's hosts.toml at its cache", () => {
        const r = run(kindCreateScript(cluster), docker, {}, "kind: Cluster\n");
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(
            docker.callsOf("network", "connect").map((c) => c.argv),
            [["network", "connect", "kind", hub.container]],
        );
        const writes = docker.callsOf("exec", "-i").map((c) => c.argv[c.argv.length - 1]);
        assert.deepEqual(writes, ["/etc/containerd/certs.d/docker.io", "/etc/containerd/certs.d/quay.io"]);
        const script = kindCreateScript(cluster);
        assert.ok(script.includes(`[host."http://istio-mesh-cache-docker-io:5000"]`), script);
        // Connected before the hosts.toml that sends pulls there.
        const calls = docker.calls().map((c) => c.argv.join(" "));
        assert.ok(calls.findIndex((c) => c.startsWith("network connect")) < calls.findIndex((c) => c.startsWith("exec -i")));
    });

    it("uses the network kind was told to use", () => {
        const r = run(kindCreateScript(cluster), docker, { KIND_EXPERIMENTAL_DOCKER_NETWORK: "lab" }, "kind: Cluster\n");
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(
            docker.callsOf("network", "connect").map((c) => c.argv[2]),
            ["lab", "lab"],
        );
    });

    it("goes on without a cache that is gone, saying that pulls go upstream", () => {
        docker.remove();
        docker = new FakeDocker({ containers: { [quay.container]: made(quay) } });
        fs.writeFileSync(
            path.join(docker.bin, "kind"),
            `#!/bin/sh\ncase "$1 $2" in\n  "get clusters") echo istio-test ;;\n  "get nodes") echo istio-test-control-plane ;;\nesac\n`,
            {
                mode: 0o755,
            },
        );
        const r = run(kindCreateScript(cluster), docker, {}, "kind: Cluster\n");
        assert.equal(r.status, 0, r.stderr);
        assert.match(
            r.stderr,
            /image cache istio-mesh-cache-docker-io is gone \(npm run cache -- prune\?\): the nodes pull docker\.io images from upstream until it is back/,
        );
        assert.deepEqual(
            docker.callsOf("network", "connect").map((c) => c.argv[3]),
            [quay.container],
        );
    });

    it("fails clearly when a cache cannot join kind's network", () => {
        const r = run(kindCreateScript(cluster), docker, { FAKE_DOCKER_NO_NETWORK: "kind" }, "kind: Cluster\n");
        assert.equal(r.status, 1);
        assert.match(r.stderr, /error: could not connect the image cache istio-mesh-cache-docker-io to kind's Docker network/);
    });
});

describe("the image caches in the program", () => {
    const devKind = stackConfig("dev")["istio-mesh:kind"] as Record<string, unknown>;

    it("makes the caches before the cluster, with a command that pulumi destroy leaves alone", async () => {
        const run = await runStack("dev");
        const cache = run.get("kind-image-cache", "command:local:Command");
        assert.equal(cache.parent, "kind");
        assert.equal(cache.inputs.delete, undefined);
        for (const registry of CACHED_REGISTRIES) {
            assert.ok(cache.inputs.create.includes(`--name '${cacheName(registry)}'`), registry);
        }
        const cluster = run.get("kind-cluster", "command:local:Command");
        assert.deepEqual(cluster.dependsOn, ["kind-image-cache"]);
        for (const registry of CACHED_REGISTRIES) {
            assert.ok(cluster.inputs.create.includes(`docker network connect "$kind_network" '${cacheName(registry)}'`), registry);
            assert.ok(cluster.inputs.create.includes(`/etc/containerd/certs.d/${registry}`), registry);
        }
        // kind's node images read certs.d already: the kind config, and with it the cluster's trigger, stays as it was.
        assert.doesNotMatch(cluster.inputs.stdin, /containerdConfigPatches/);
    });

    it("makes no cache, and leaves containerd as kind sets it, when kind.imageCache.enabled is false", async () => {
        const run = await runStack("dev", { "istio-mesh:kind": { ...devKind, imageCache: { enabled: false } } });
        assert.equal(run.find("kind-image-cache"), undefined);
        const cluster = run.get("kind-cluster", "command:local:Command");
        assert.deepEqual(cluster.dependsOn, []);
        assert.doesNotMatch(cluster.inputs.create, /kind_network|certs\.d/);
        // Switching the caches on or off runs the create script again; it never replaces the cluster.
        const on = (await runStack("dev")).get("kind-cluster", "command:local:Command");
        assert.deepEqual(cluster.inputs.triggers, on.inputs.triggers);
    });

    it("sends a registry the user mirrors to their mirror, not to a cache, and still preloads images", async () => {
        const run = await runStack("dev", {
            "istio-mesh:kind": {
                ...devKind,
                registryMirrors: [{ registry: "docker.io", endpoint: "http://mirror.example:5000" }],
                preloadImages: ["docker.io/istio/pilot:1.30.3"],
            },
        });
        assert.doesNotMatch(run.get("kind-image-cache").inputs.create, /istio-mesh-cache-docker-io/);
        const create: string = run.get("kind-cluster", "command:local:Command").inputs.create;
        assert.ok(create.includes(`[host."http://mirror.example:5000"]`));
        assert.ok(!create.includes("istio-mesh-cache-docker-io"));
        assert.ok(create.includes(`[host."http://istio-mesh-cache-quay-io:5000"]`));
        assert.ok(run.find("kind-preload"));
    });

    it("makes no cache for an existing cluster", async () => {
        const run = await runStack("prod", { "istio-mesh:kubeconfig": EXISTING_KUBECONFIG });
        assert.equal(run.find("kind-image-cache"), undefined);
    });
});

describe("the image caches' upstream credentials in the program", () => {
    it("reach only the cache command's environment, secret, by the variables its script reads", async () => {
        const run = await runStack("dev", {
            "istio-mesh:imageCacheCredentials": JSON.stringify({ "quay.io": { username: "robot", password: "s3cr3t-token" } }),
        });
        const cache = run.get("kind-image-cache", "command:local:Command");
        const vars = credentialVariables(CACHED_REGISTRIES.indexOf("quay.io"));
        // The engine receives the environment as one secret (and the state holds it encrypted).
        assert.deepEqual(inputValue(cache.inputs.environment), {
            value: { [vars.username]: "robot", [vars.password]: "s3cr3t-token" },
            secret: true,
        });
        assert.ok(!cache.inputs.create.includes("s3cr3t-token"));
        assert.match(
            cache.inputs.create,
            /REGISTRY_PROXY_USERNAME="\$IMAGE_CACHE_1_USERNAME" REGISTRY_PROXY_PASSWORD="\$IMAGE_CACHE_1_PASSWORD" docker run/,
        );
        // The component records its args, the environment among them, as a secret too.
        assert.equal(inputValue(run.get("kind").inputs.imageCacheEnvironment).secret, true);
        for (const r of run.resources) {
            if (r.name !== "kind-image-cache" && r.name !== "kind") assert.ok(!JSON.stringify(r.inputs).includes("s3cr3t-token"), r.name);
        }
    });
});
