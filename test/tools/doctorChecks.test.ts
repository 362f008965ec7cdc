import { strict as assert } from "assert";
import * as net from "net";
import {
    checkDocker,
    checkInotify,
    checkKind,
    checkNode,
    checkPorts,
    checkPulumi,
    checksFor,
    diagnose,
    DoctorMachine,
    dockerNeeds,
    Finding,
    kindDownload,
    PortState,
    Ran,
    renderFindings,
    StackNeeds,
    stackNeeds,
} from "../../tools/doctorChecks";
import { portState, preflight } from "../../tools/preflight";
import { PulumiCli } from "../../tools/pulumiCli";
import { PORT_ROLES, PortRole } from "../../components/ports";
import { rawConfigFor, ROOT } from "../harness";

const ran = (stdout: string, status = 0, stderr = ""): Ran => ({ status, stdout, stderr, missing: false });
const notFound: Ran = { status: null, stdout: "", stderr: "", missing: true };
const GiB = 1024 ** 3;
const DEV_PORTS: Record<PortRole, number> = {
    http: 8080,
    https: 8443,
    prometheus: 9090,
    grafana: 3000,
    jaeger: 16686,
    kiali: 20001,
    headlamp: 4466,
};
const problems = (fs: readonly Finding[]): Finding[] => fs.filter((f) => !f.ok);

/** A machine with Docker, kind, the CLI and roomy limits; each test breaks what it is about. */
function machine(over: Partial<DoctorMachine> & { commands?: Record<string, Ran> } = {}): DoctorMachine & { asked: string[] } {
    const asked: string[] = [];
    const commands: Record<string, Ran> = {
        "docker info --format {{.NCPU}} {{.MemTotal}}": ran(`8 ${16 * GiB}\n`),
        "kind version": ran("kind v0.33.0 go1.24.5 linux/amd64\n"),
        "kind get clusters": ran(""),
        ...over.commands,
    };
    return {
        asked,
        capture: async (argv) => {
            asked.push(argv.join(" "));
            const r = commands[argv.join(" ")];
            if (!r) throw new Error(`unexpected command ${argv.join(" ")}`);
            return r;
        },
        readFile: (file) =>
            ({ "/proc/sys/fs/inotify/max_user_watches": "524288\n", "/proc/sys/fs/inotify/max_user_instances": "512\n" })[file],
        port: async () => "free",
        pulumiCli: async () => ({ kind: "path", version: "3.248.0", command: "pulumi" }),
        platform: "linux",
        arch: "x64",
        nodeVersion: "v22.20.0",
        ...over,
    };
}

const devNeeds: StackNeeds = {
    mode: "kind",
    clusterName: "istio-dev",
    workers: 0,
    ports: { listenAddress: "127.0.0.1", hostPorts: DEV_PORTS },
};
const inputs = { env: "dev", needs: devNeeds, engines: ">=20.19", pulumiPin: "3.248.0" };

describe("doctor checks", () => {
    it("asks 4 CPUs and 8 GB for a one-node cluster and 1 CPU and 2 GB more per worker", () => {
        assert.deepEqual(dockerNeeds(0), { cpus: 4, memoryGiB: 8 });
        assert.deepEqual(dockerNeeds(2), { cpus: 6, memoryGiB: 12 });
    });

    it("accepts Node inside the engines range and names the range when outside", () => {
        assert.equal(checkNode("v20.19.0", ">=20.19").ok, true);
        const old = checkNode("v20.18.3", ">=20.19");
        assert.equal(old.ok, false);
        assert.equal(old.message, "Node.js v20.18.3 is outside what the project supports (>=20.19)");
        assert.match(old.fix ?? "", /install a Node\.js release in >=20\.19/);
    });

    it("accepts a CLI on PATH or the pinned one, and offers to install a missing one from get.pulumi.com", () => {
        assert.equal(checkPulumi({ kind: "path", version: "3.250.0", command: "pulumi" }, "3.248.0").ok, true);
        const pinned = checkPulumi(
            { kind: "pinned", version: "3.248.0", command: "/h/.pulumi/versions/3.248.0/bin/pulumi", root: "/r" },
            "3.248.0",
        );
        assert.deepEqual(
            [pinned.ok, pinned.message],
            [true, "Pulumi CLI 3.248.0, the pinned one, at /h/.pulumi/versions/3.248.0/bin/pulumi"],
        );
        const none = checkPulumi({ kind: "missing", root: "/h/.pulumi/versions/3.248.0" }, "3.248.0");
        assert.equal(none.ok, false);
        assert.equal(none.installable, true);
        assert.equal(none.message, "the Pulumi CLI 3.248.0 is not installed (no pulumi on PATH, none in /h/.pulumi/versions/3.248.0)");
        assert.match(
            none.fix ?? "",
            /^npm run doctor -- --install installs the Pulumi CLI 3\.248\.0, downloaded from get\.pulumi\.com .* into \/h\/\.pulumi\/versions\/3\.248\.0/,
        );
        const old = checkPulumi({ kind: "missing", onPath: "3.100.0", root: "/r" }, "3.248.0");
        assert.equal(old.message, "the pulumi on PATH is 3.100.0, older than the pinned 3.248.0, and /r has no pinned CLI");
    });

    it("tells a missing Docker from a stopped one, each with its own fix", () => {
        const [missing] = checkDocker(notFound, 0, "darwin");
        assert.deepEqual([missing.ok, missing.message], [false, "Docker is not installed (docker is not on PATH)"]);
        assert.match(missing.fix ?? "", /docs\.docker\.com\/get-docker/);
        const [stopped] = checkDocker(ran("", 1, "info\nCannot connect to the Docker daemon\n"), 0, "darwin");
        assert.deepEqual(
            [stopped.ok, stopped.message, stopped.fix],
            [false, "Docker is not running (docker info failed: Cannot connect to the Docker daemon)", "start Docker Desktop"],
        );
        assert.match(checkDocker(ran("", 1), 0, "linux")[0].fix ?? "", /systemctl start docker/);
    });

    it("fails too few CPUs and too little memory for the stack's nodes, each on its own", () => {
        const found = checkDocker(ran(`4 ${8 * GiB}`), 2, "darwin");
        assert.deepEqual(
            found.map((f) => [f.check, f.ok]),
            [
                ["docker", true],
                ["resources", false],
                ["resources", false],
            ],
        );
        assert.equal(found[1].message, "Docker gives 4 CPUs; a kind cluster with 2 workers needs 6");
        assert.equal(found[1].fix, "Docker Desktop: Settings > Resources > Advanced: CPUs at least 6");
        assert.equal(found[2].message, "Docker gives 8.0 GiB of memory; a kind cluster with 2 workers needs 12 GB");
        assert.match(found[2].fix ?? "", /Memory at least 12 GB$/);
        assert.match(checkDocker(ran(`2 ${16 * GiB}`), 0, "linux")[1].fix ?? "", /^Docker Engine on Linux uses this machine's own CPUs/);
    });

    it("lets Docker Desktop's 8 GB setting pass, which it reports as a little less", () => {
        const at = (bytes: number): boolean => checkDocker(ran(`4 ${bytes}`), 0, "darwin")[2].ok;
        assert.equal(at(7.68 * GiB), true);
        assert.equal(at(7.2 * GiB), true);
        assert.equal(at(7.1 * GiB), false);
        assert.equal(checkDocker(ran(`3 ${8 * GiB}`), 0, "darwin")[1].ok, false);
        assert.equal(checkDocker(ran(`4 ${8 * GiB}`), 0, "darwin")[1].ok, true);
    });

    it("wants exactly the pinned kind to deploy, and any kind to destroy", () => {
        assert.deepEqual(checkKind(ran("kind v0.33.0 go1.24.5 linux/amd64\n"), true, "linux", "x64"), {
            check: "kind",
            ok: true,
            message: "kind v0.33.0",
        });
        const wrong = checkKind(ran("kind v0.29.0 go1.24.5 darwin/arm64\n"), true, "darwin", "arm64");
        assert.equal(wrong.ok, false);
        assert.equal(wrong.message, "kind v0.29.0 is installed; this stack needs exactly v0.33.0, the release its node image is built for");
        assert.match(
            wrong.fix ?? "",
            /go install sigs\.k8s\.io\/kind@v0\.33\.0, or download https:\/\/kind\.sigs\.k8s\.io\/dl\/v0\.33\.0\/kind-darwin-arm64 /,
        );
        assert.equal(checkKind(ran("kind v0.29.0 go1.24.5 darwin/arm64\n"), false, "darwin", "arm64").ok, true);
        const missing = checkKind(notFound, false, "linux", "x64");
        assert.deepEqual([missing.ok, missing.message], [false, "kind is not installed (kind is not on PATH)"]);
        assert.match(missing.fix ?? "", /kind-linux-amd64/);
        assert.equal(checkKind(ran("", 2, "boom"), true, "linux", "x64").message, "kind version failed (boom)");
    });

    it("checks Linux's inotify limits against kind's known-issues values, and nothing elsewhere", () => {
        const files = (watches: string, instances: string) => (f: string) =>
            ({ "/proc/sys/fs/inotify/max_user_watches": watches, "/proc/sys/fs/inotify/max_user_instances": instances })[f];
        assert.equal(checkInotify("linux", files("524288", "512"))?.ok, true);
        const low = checkInotify("linux", files("8192\n", "512"));
        assert.equal(low?.ok, false);
        assert.match(low?.message ?? "", /^fs\.inotify\.max_user_watches is 8192 \(kind needs 524288\): pods fail/);
        assert.match(low?.fix ?? "", /^sudo sysctl fs\.inotify\.max_user_watches=524288 fs\.inotify\.max_user_instances=512;/);
        assert.match(
            checkInotify("linux", files("524288", "511"))?.message ?? "",
            /^fs\.inotify\.max_user_instances is 511 \(kind needs 512\)/,
        );
        assert.match(checkInotify("linux", () => undefined)?.message ?? "", /max_user_watches is unreadable/);
        assert.equal(
            checkInotify("darwin", () => undefined),
            undefined,
        );
    });

    it("names each busy host port with its key and the command that moves it", () => {
        const states = Object.fromEntries(PORT_ROLES.map((r) => [r, r === "grafana" ? "busy" : "free"])) as Record<PortRole, PortState>;
        const found = checkPorts("staging", { listenAddress: "127.0.0.1", hostPorts: DEV_PORTS }, states);
        assert.deepEqual(
            found.map((f) => f.ok),
            [false],
        );
        assert.equal(found[0].message, "host port 3000 on 127.0.0.1 (kind.hostPorts.grafana) is in use");
        assert.match(found[0].fix ?? "", /pulumi config set --path kind\.hostPorts\.grafana <port> --stack staging$/);
        const free = checkPorts("dev", { listenAddress: "127.0.0.1", hostPorts: DEV_PORTS }, { ...states, grafana: "free" });
        assert.deepEqual(
            free.map((f) => [f.ok, f.message]),
            [[true, "host ports 8080, 8443, 9090, 3000, 16686, 20001, 4466 free on 127.0.0.1"]],
        );
    });

    it("tells a bound port from a free one with real sockets", async () => {
        const server = net.createServer();
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
        const port = (server.address() as net.AddressInfo).port;
        try {
            assert.equal(await portState("127.0.0.1", port), "busy");
        } finally {
            await new Promise((r) => server.close(r));
        }
        assert.equal(await portState("127.0.0.1", port), "free");
    });

    it("derives the needs of dev, staging and prod from their committed config", () => {
        assert.deepEqual(stackNeeds(rawConfigFor("dev")).needs, devNeeds);
        const staging = stackNeeds(rawConfigFor("staging")).needs;
        assert.equal(staging.mode === "kind" && staging.workers, 2);
        assert.equal(staging.mode === "kind" && staging.ports?.hostPorts.http, 18080);
        const prod = stackNeeds(rawConfigFor("prod"));
        assert.deepEqual(prod.needs, { mode: "existing" });
        assert.equal(prod.config.ok, false, "prod has no kubeconfig until the user sets one");
        assert.match(prod.config.message, /kubeconfig is required when clusterMode is "existing"/);
        assert.equal(prod.config.fix, "npm run check -- prod lists the same problems without deploying");
    });

    it("keeps the workers of an invalid kind config, and leaves its ports unchecked", () => {
        const { needs, config } = stackNeeds(rawConfigFor("dev", { "istio-mesh:kind": { workers: 2, hostPorts: { http: 70000 } } }));
        assert.deepEqual(needs, { mode: "kind", clusterName: "istio-dev", workers: 2 });
        assert.equal(config.ok, false);
        assert.match(config.message, /kind\.hostPorts\.http/);
    });

    it("checks only what each command needs, and no Docker or kind for an existing cluster", () => {
        assert.deepEqual(checksFor("up", devNeeds), ["node", "config", "pulumi", "docker", "resources", "kind", "inotify", "ports"]);
        assert.deepEqual(checksFor("doctor", { mode: "existing" }), ["node", "config", "pulumi"]);
        assert.deepEqual(checksFor("destroy", devNeeds), ["node", "pulumi", "docker", "kind"]);
        assert.deepEqual(checksFor("refresh", { mode: "existing" }), ["node", "pulumi"]);
        assert.deepEqual(checksFor("e2e", devNeeds), ["node", "pulumi", "docker", "resources", "kind", "inotify"]);
        assert.deepEqual(checksFor("preview", devNeeds), ["node", "config", "pulumi"]);
    });

    it("reports every missing tool in one run: the Pulumi CLI, Docker and kind", async () => {
        const m = machine({
            commands: { "docker info --format {{.NCPU}} {{.MemTotal}}": notFound, "kind version": notFound, "kind get clusters": notFound },
            pulumiCli: async (): Promise<PulumiCli> => ({ kind: "missing", root: "/r" }),
        });
        const found = await diagnose(checksFor("doctor", devNeeds), inputs, m);
        assert.deepEqual(
            problems(found).map((f) => f.check),
            ["pulumi", "docker", "kind"],
        );
        assert.match(renderFindings("Checks for stack dev:", found), /\n3 problems to fix; nothing was created\.$/);
    });

    it("skips the port check while the stack's own cluster exists and holds them", async () => {
        const m = machine({ commands: { "kind get clusters": ran("istio-dev\nother\n") }, port: async () => "busy" });
        const found = await diagnose(["ports"], inputs, m);
        assert.deepEqual(found, [
            { check: "ports", ok: true, message: "host ports not checked: kind cluster istio-dev, this stack's, exists and holds them" },
        ]);
        const other = await diagnose(["ports"], inputs, machine({ port: async (_h, p) => (p === 8080 ? "busy" : "free") }));
        assert.deepEqual(
            problems(other).map((f) => f.message),
            ["host port 8080 on 127.0.0.1 (kind.hostPorts.http) is in use"],
        );
    });

    it("asks nothing of Docker or kind for an existing cluster", async () => {
        const m = machine();
        const found = await diagnose(checksFor("up", { mode: "existing" }), { ...inputs, needs: { mode: "existing" } }, m);
        assert.deepEqual(m.asked, []);
        assert.deepEqual(
            found.map((f) => f.check),
            ["node", "pulumi"],
        );
    });

    it("says what it found when a check passes", () => {
        assert.equal(checkNode("v22.20.0", ">=22").message, "Node.js v22.20.0 (the project wants >=22)");
        assert.equal(
            checkPulumi({ kind: "path", version: "3.250.0", command: "pulumi" }, "3.248.0").message,
            "Pulumi CLI 3.250.0 on PATH (at least the pinned 3.248.0)",
        );
        const [docker, cpus, memory] = checkDocker(ran(`6 ${12 * GiB}\n`), 1, "darwin");
        assert.deepEqual(
            [docker.message, cpus.message, memory.message],
            [
                "Docker is running",
                "Docker gives 6 CPUs (a kind cluster with 1 worker needs 5)",
                "Docker gives 12.0 GiB of memory (a kind cluster with 1 worker needs 10 GB)",
            ],
        );
        assert.equal(checkDocker(ran(`1 ${16 * GiB}`), 0, "darwin")[1].message, "Docker gives 1 CPU; a one-node kind cluster needs 4");
        assert.equal(
            checkKind(ran("kind v0.29.0 go1 linux/amd64"), false, "linux", "x64").message,
            "kind v0.29.0 (deploying needs exactly v0.33.0)",
        );
        const files = (f: string): string | undefined =>
            ({ "/proc/sys/fs/inotify/max_user_watches": " 524288\n", "/proc/sys/fs/inotify/max_user_instances": "1024\n" })[f];
        assert.equal(checkInotify("linux", files)?.message, "inotify limits at least 524288 watches and 512 instances");
        assert.equal(stackNeeds(rawConfigFor("dev")).config.message, "the config of stack dev is valid");
    });

    it("passes Docker whose CPUs and memory it cannot read, saying so", () => {
        for (const out of ["", "x y", "0 0", `4 0`]) {
            const found = checkDocker(ran(out), 0, "darwin");
            assert.equal(found.length, 1, out);
            assert.equal(found[0].ok, true);
            assert.match(found[0].message, /^Docker is running \(its CPUs and memory could not be read: /);
        }
        assert.equal(checkDocker(ran("", 1, ""), 0, "darwin")[0].message, "Docker is not running (docker info failed: exit status 1)");
    });

    it("fails a kind whose version it cannot read", () => {
        const f = checkKind(ran("something else\n"), true, "linux", "x64");
        assert.deepEqual([f.ok, f.message], [false, "kind version failed (exit status 0)"]);
        assert.equal(kindDownload("win32", "x64", "v0.33.0"), "https://kind.sigs.k8s.io/dl/v0.33.0/kind-windows-amd64");
    });

    it("lists both low inotify limits, and ports it may not bind without root", () => {
        const low = checkInotify("linux", () => "128");
        assert.match(
            low?.message ?? "",
            /max_user_watches is 128 \(kind needs 524288\); fs\.inotify\.max_user_instances is 128 \(kind needs 512\): /,
        );
        const states = Object.fromEntries(PORT_ROLES.map((r) => [r, r === "http" ? "untestable" : "free"])) as Record<PortRole, PortState>;
        const [f] = checkPorts("dev", { listenAddress: "127.0.0.1", hostPorts: { ...DEV_PORTS, http: 80 } }, states);
        assert.equal(
            f.message,
            "host ports 8443, 9090, 3000, 16686, 20001, 4466 free on 127.0.0.1; 80 not testable without root (Docker binds them)",
        );
    });

    it("lets an error other than a config problem through", () => {
        assert.throws(
            () =>
                stackNeeds(rawConfigFor("dev"), () => {
                    throw new Error("boom");
                }),
            /^Error: boom$/,
        );
    });

    it("asks Docker for its resources alone, and reads a stack's workers only on kind", async () => {
        const m = machine({ commands: { "docker info --format {{.NCPU}} {{.MemTotal}}": ran(`4 ${8 * GiB}`) } });
        const found = await diagnose(["resources"], { ...inputs, needs: { mode: "kind", clusterName: "c", workers: 2 } }, m);
        assert.deepEqual(m.asked, ["docker info --format {{.NCPU}} {{.MemTotal}}"]);
        assert.deepEqual(
            found.map((f) => [f.check, f.ok]),
            [
                ["resources", false],
                ["resources", false],
            ],
        );
        const kindOnly = machine();
        await diagnose(["kind"], inputs, kindOnly);
        assert.deepEqual(kindOnly.asked, ["kind version"]);
    });

    it("renders each problem with its fix under it", () => {
        const text = renderFindings("T:", [
            { check: "node", ok: true, message: "Node.js v20.20.2" },
            { check: "kind", ok: false, message: "kind is not installed", fix: "install it" },
        ]);
        assert.equal(
            text,
            [
                "T:",
                "  ok    node      Node.js v20.20.2",
                "  FAIL  kind      kind is not installed",
                "                  fix: install it",
                "1 problem to fix; nothing was created.",
            ].join("\n"),
        );
    });
});

describe("preflight", () => {
    const quiet = { log: () => undefined, root: ROOT };

    it("passes dev on a machine that has everything, and hands over the CLI to run", async () => {
        const result = await preflight("up", "dev", { ...quiet, machine: machine() });
        assert.equal(result.ok, true, JSON.stringify(problems(result.findings)));
        assert.deepEqual(result.cli, { kind: "path", version: "3.248.0", command: "pulumi" });
    });

    it("stops on every problem at once and does not install the CLI while something else is wrong", async () => {
        let lines: string[] = [];
        const m = machine({
            commands: { "kind version": ran("kind v0.20.0 go1 linux/amd64") },
            pulumiCli: async () => ({ kind: "missing", root: "/nowhere" }),
        });
        const result = await preflight("up", "dev", { ...quiet, log: (l) => (lines = [...lines, l]), machine: m });
        assert.equal(result.ok, false);
        assert.deepEqual(
            problems(result.findings).map((f) => f.check),
            ["pulumi", "kind"],
        );
        assert.equal(lines.length, 1);
        assert.match(lines[0], /^Checks for stack dev before npm run deploy:\n/);
    });

    it("names a Node.js below package.json's engines, whatever Node runs the tests", async () => {
        const result = await preflight("up", "dev", { ...quiet, machine: machine({ nodeVersion: "v20.20.2" }) });
        assert.deepEqual(
            problems(result.findings).map((f) => f.message),
            ["Node.js v20.20.2 is outside what the project supports (^22.13.0 || >=24)"],
        );
    });

    it("fails a deploy of an invalid config before anything else, with the program's own message", async () => {
        const result = await preflight("up", "prod", { ...quiet, machine: machine() });
        assert.equal(result.ok, false);
        assert.deepEqual(
            problems(result.findings).map((f) => f.check),
            ["config"],
        );
    });

    it("lets a destroy through with a kind version the deploy would refuse", async () => {
        const m = machine({
            commands: {
                "kind version": ran("kind v0.20.0 go1 linux/amd64"),
                "docker info --format {{.NCPU}} {{.MemTotal}}": ran(`1 ${GiB}`),
            },
        });
        assert.equal((await preflight("destroy", "dev", { ...quiet, machine: m })).ok, true);
        assert.equal((await preflight("up", "dev", { ...quiet, machine: m })).ok, false);
    });
});
