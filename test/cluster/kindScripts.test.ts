import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { exposedPorts } from "../../components/ports";
import {
    KindClusterSpec,
    kindCreateScript,
    kindDeleteScript,
    kindPreloadScript,
    renderHostsToml,
    renderKindConfig,
    shq,
} from "../../components/cluster/kindScripts";
import { DEFAULT_HOST_PORTS } from "../../components/cluster/config";
import { runStack, stackConfig } from "../harness";

const spec: KindClusterSpec = {
    name: "istio-test",
    nodeImage: "kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0",
    workers: 2,
    region: "eu",
    zones: ["eu-a", "eu-b"],
    listenAddress: "127.0.0.1",
    ports: exposedPorts(DEFAULT_HOST_PORTS),
    registryMirrors: [],
};

interface KindNode {
    role: string;
    image: string;
    labels: Record<string, string>;
    extraPortMappings?: { containerPort: number; hostPort: number; listenAddress: string; protocol: string }[];
}

describe("kind config", () => {
    const config = parse(renderKindConfig(spec)) as {
        kind: string;
        apiVersion: string;
        name: string;
        nodes: KindNode[];
        networking: { apiServerAddress: string };
        containerdConfigPatches?: string[];
    };

    it("renders a v1alpha4 Cluster with one control plane and the workers, all on the pinned image", () => {
        assert.equal(config.kind, "Cluster");
        assert.equal(config.apiVersion, "kind.x-k8s.io/v1alpha4");
        assert.deepEqual(
            config.nodes.map((n) => n.role),
            ["control-plane", "worker", "worker"],
        );
        assert.ok(config.nodes.every((n) => n.image === spec.nodeImage));
        assert.equal(config.networking.apiServerAddress, "127.0.0.1");
    });

    it("labels every node with region and zones round robin, and marks the ingress node", () => {
        assert.deepEqual(
            config.nodes.map((n) => n.labels["topology.kubernetes.io/zone"]),
            ["eu-a", "eu-b", "eu-a"],
        );
        assert.ok(config.nodes.every((n) => n.labels["topology.kubernetes.io/region"] === "eu"));
        assert.equal(config.nodes[0].labels["ingress-ready"], "true");
        assert.equal(config.nodes[1].labels["ingress-ready"], undefined);
    });

    it("maps each host port to its fixed nodePort on the control plane only, bound to loopback", () => {
        const mappings = config.nodes[0].extraPortMappings ?? [];
        assert.deepEqual(
            mappings.map((m) => [m.hostPort, m.containerPort]),
            [
                [8080, 30080],
                [8443, 30081],
                [9090, 30082],
                [3000, 30083],
                [16686, 30084],
                [20001, 30085],
                [4466, 30079],
            ],
        );
        assert.ok(mappings.every((m) => m.listenAddress === "127.0.0.1" && m.protocol === "TCP"));
        assert.equal(config.nodes[1].extraPortMappings, undefined);
    });

    it("binds to another address only when configured", () => {
        const c = parse(renderKindConfig({ ...spec, listenAddress: "0.0.0.0" })) as { nodes: KindNode[] };
        assert.ok((c.nodes[0].extraPortMappings ?? []).every((m) => m.listenAddress === "0.0.0.0"));
    });

    it("switches containerd to certs.d only when a mirror is configured", () => {
        assert.equal(config.containerdConfigPatches, undefined);
        const c = parse(renderKindConfig({ ...spec, registryMirrors: [{ registry: "docker.io", endpoint: "http://mirror:5000" }] })) as {
            containerdConfigPatches: string[];
        };
        assert.match(c.containerdConfigPatches[0], /config_path = "\/etc\/containerd\/certs.d"/);
    });

    it("renders a hosts.toml that tries the mirror, then upstream", () => {
        assert.equal(
            renderHostsToml("docker.io", "http://mirror:5000"),
            'server = "https://registry-1.docker.io"\n\n[host."http://mirror:5000"]\n  capabilities = ["pull", "resolve"]\n',
        );
        assert.match(renderHostsToml("ghcr.io", "https://cache"), /^server = "https:\/\/ghcr.io"/);
    });

    it("quotes shell values, including single quotes", () => {
        assert.equal(shq("a'b"), `'a'\\''b'`);
    });
});

/**
 * Stub docker and kind for the scripts, logging their calls. The kind stub writes and edits
 * kubeconfig files where kind does (pkg/cluster/internal/kubeconfig/internal/kubeconfig/paths.go):
 * the --kubeconfig path, else $KUBECONFIG (one path, as the tests set it), else
 * $HOME/.kube/config; create and export add a `kind-<name>` line (and the current context),
 * delete removes it. Each write is logged as `kubeconfig-write <path>`.
 */
function stubs(env: Record<string, string>): { dir: string; log: string; env: Record<string, string> } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kind-stub-"));
    const log = path.join(dir, "calls.log");
    fs.writeFileSync(
        path.join(dir, "kind"),
        `#!/bin/sh
echo "kind $*" >> "${log}"
explicit=""; prev=""
for a in "$@"; do
  case "$a" in --kubeconfig=*) explicit="\${a#--kubeconfig=}" ;; esac
  if [ "$prev" = --kubeconfig ]; then explicit="$a"; fi
  prev="$a"
done
if [ -n "$explicit" ]; then target="$explicit"; elif [ -n "\${KUBECONFIG:-}" ]; then target="$KUBECONFIG"; else target="$HOME/.kube/config"; fi
merge() { mkdir -p "$(dirname "$target")"; printf 'kind-%s\ncurrent-context: kind-%s\n' "$1" "$1" >> "$target"; echo "kubeconfig-write $target" >> "${log}"; }
case "$1 $2" in
  "get clusters") printf '%s\n' $FAKE_CLUSTERS ;;
  "get kubeconfig") echo "apiVersion: v1 # kubeconfig of $4" ;;
  "get nodes") echo "$4-control-plane" ;;
  "create cluster") cat > "${dir}/created.yaml"; merge "$4"; echo "kind-create-pid $$" >> "${log}"
    if [ "\${FAKE_CREATE_FAILS:-}" = 1 ]; then exit 1; fi
    if [ -n "\${FAKE_CREATE_SECONDS:-}" ]; then exec sleep "$FAKE_CREATE_SECONDS"; fi ;;
  "export kubeconfig") merge "$4" ;;
  "delete cluster")
    if [ -f "$target" ] && grep -q "kind-$4" "$target"; then
      grep -v "kind-$4" "$target" > "$target.new"; mv "$target.new" "$target"; echo "kubeconfig-write $target" >> "${log}"
    fi ;;
esac
`,
        { mode: 0o755 },
    );
    if (env.FAKE_NO_DOCKER !== "1") {
        fs.writeFileSync(
            path.join(dir, "docker"),
            `#!/bin/sh
echo "docker $*" >> "${log}"
if [ "$1" = info ] && [ "$FAKE_DOCKER_DOWN" = 1 ]; then exit 1; fi
case "$*" in *"test -f /etc/kubernetes/admin.conf"*) if [ "$FAKE_HALF_CREATED" = 1 ]; then exit 1; fi ;; esac
if [ "$1" = image ] && [ "$3" != present:1 ]; then exit 1; fi
case "$*" in *"wait --for=condition=Ready"*)
  if [ -n "$FAKE_WAIT_SECONDS" ]; then sleep "$FAKE_WAIT_SECONDS"; fi
  if [ "$FAKE_NODES_NOT_READY" = 1 ]; then exit 1; fi ;;
esac
cat >/dev/null 2>&1 || true
`,
            { mode: 0o755 },
        );
    }
    const node = path.dirname(process.execPath);
    const bin = env.FAKE_NO_KIND === "1" ? path.join(dir, "nokind") : dir;
    if (env.FAKE_NO_KIND === "1") {
        fs.mkdirSync(bin);
        fs.renameSync(path.join(dir, "docker"), path.join(bin, "docker"));
    }
    return { dir, log, env: { PATH: `${bin}:${node}:/usr/bin:/bin`, ...env } };
}

/** Runs a script with stub docker and kind on PATH; the stubs log their calls. */
function runScript(
    script: string,
    env: Record<string, string>,
    stdin = "",
): { status: number | null; stdout: string; stderr: string; log: string; createdConfig: string } {
    const stub = stubs(env);
    const result = spawnSync("/bin/sh", ["-c", script], { input: stdin, env: stub.env, encoding: "utf8" });
    const read = (f: string): string => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
    const out = {
        status: result.status,
        stdout: result.stdout,
        stderr: result.stderr,
        log: read(stub.log),
        createdConfig: read(path.join(stub.dir, "created.yaml")),
    };
    fs.rmSync(stub.dir, { recursive: true, force: true });
    return out;
}

/** A user's machine: a HOME with ~/.kube/config, a $KUBECONFIG file, and an empty TMPDIR. */
interface UserFiles {
    readonly env: { HOME: string; KUBECONFIG: string; TMPDIR: string };
    readonly homeConfig: string;
    /** What both kubeconfig files held before the script ran. */
    readonly before: string;
    /** Current contents of ~/.kube/config and $KUBECONFIG. */
    read(): { home: string; kubeconfig: string };
    /** Whatever the script left in TMPDIR. */
    leftInTmp(): string[];
    remove(): void;
}

function userFiles(): UserFiles {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "kind-user-"));
    const home = path.join(root, "home");
    const homeConfig = path.join(home, ".kube", "config");
    const kubeconfig = path.join(root, "work.kubeconfig");
    const tmp = path.join(root, "tmp");
    const before = "apiVersion: v1\nkind: Config\ncurrent-context: my-own-context\n";
    fs.mkdirSync(path.dirname(homeConfig), { recursive: true });
    fs.mkdirSync(tmp);
    fs.writeFileSync(homeConfig, before);
    fs.writeFileSync(kubeconfig, before);
    return {
        env: { HOME: home, KUBECONFIG: kubeconfig, TMPDIR: tmp },
        homeConfig,
        before,
        read: () => ({ home: fs.readFileSync(homeConfig, "utf8"), kubeconfig: fs.readFileSync(kubeconfig, "utf8") }),
        leftInTmp: () => fs.readdirSync(tmp),
        remove: () => fs.rmSync(root, { recursive: true, force: true }),
    };
}

/** The one kubeconfig path kind was given with --kubeconfig in `line`, checked to be a fresh file in TMPDIR. */
function throwawayPath(log: string, line: RegExp, tmp: string): string {
    const m = line.exec(log);
    assert.ok(m, `expected a line matching ${line} in:\n${log}`);
    const p = m[1];
    assert.equal(path.dirname(path.dirname(p)), tmp, p);
    assert.match(path.basename(path.dirname(p)), /^kind-kubeconfig\.[A-Za-z0-9]{6}$/);
    assert.equal(path.basename(p), "kubeconfig");
    return p;
}

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise((r) => s.close(r));
    return port;
}

describe("kind create script", function () {
    this.timeout(20000);
    let ports: KindClusterSpec["ports"];
    before(async () => {
        ports = [{ role: "http", hostPort: await freePort(), nodePort: 30080 }];
    });
    const config = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n";

    it("creates the cluster from the config on stdin, waits for Ready nodes and prints only the kubeconfig", () => {
        const r = runScript(kindCreateScript({ ...spec, ports }), { FAKE_CLUSTERS: "other" }, config);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "apiVersion: v1 # kubeconfig of istio-test\n");
        assert.equal(r.createdConfig.trim(), config.trim());
        assert.match(r.log, /kind create cluster --name istio-test --config=- --wait 0s/);
        assert.match(
            r.log,
            /docker exec istio-test-control-plane kubectl --kubeconfig=\/etc\/kubernetes\/admin.conf wait --for=condition=Ready nodes --all --timeout=300s/,
        );
    });

    it("adopts a cluster that already exists instead of failing", () => {
        const r = runScript(kindCreateScript({ ...spec, ports }), { FAKE_CLUSTERS: "istio-test" }, config);
        assert.equal(r.status, 0, r.stderr);
        assert.doesNotMatch(r.log, /kind create cluster/);
        assert.match(r.stderr, /kind cluster istio-test already exists; adopting it\./);
        assert.equal(r.stdout, "apiVersion: v1 # kubeconfig of istio-test\n");
    });

    it("refuses to adopt a cluster whose create was interrupted before its control plane existed", () => {
        const r = runScript(kindCreateScript({ ...spec, ports }), { FAKE_CLUSTERS: "istio-test", FAKE_HALF_CREATED: "1" }, config);
        assert.equal(r.status, 1);
        assert.match(
            r.stderr,
            /error: kind cluster istio-test exists but was never finished \(an interrupted kind create cluster\): delete it with kind delete cluster --name istio-test, then run pulumi up again\./,
        );
        assert.doesNotMatch(r.log, /wait --for=condition=Ready/);
    });

    it("fails clearly when Docker is not running", () => {
        const r = runScript(kindCreateScript({ ...spec, ports }), { FAKE_DOCKER_DOWN: "1" }, config);
        assert.equal(r.status, 1);
        assert.match(
            r.stderr,
            /error: Docker is not running \(docker info failed\)\. Start Docker Desktop or the Docker service, then re-run pulumi up\./,
        );
        assert.doesNotMatch(r.log, /kind create/);
    });

    it("fails clearly when kind is missing", () => {
        const r = runScript(kindCreateScript({ ...spec, ports }), { FAKE_NO_KIND: "1" }, config);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /error: kind was not found on PATH\. Install kind v0\.33\.0/);
    });

    it("fails before creating anything when a host port is taken, naming the config key", async () => {
        const busy = net.createServer();
        await new Promise<void>((r) => busy.listen(ports[0].hostPort, "127.0.0.1", () => r()));
        try {
            const r = runScript(kindCreateScript({ ...spec, ports }), { FAKE_CLUSTERS: "" }, config);
            assert.equal(r.status, 1);
            assert.match(
                r.stderr,
                new RegExp(`host port ${ports[0].hostPort} on 127\\.0\\.0\\.1 \\(kind\\.hostPorts\\.http\\) is already in use`),
            );
            assert.match(r.stderr, /pulumi config set --path kind\.hostPorts\.http <free port>/);
            assert.doesNotMatch(r.log, /kind create/);
        } finally {
            await new Promise((r) => busy.close(r));
        }
    });

    it("writes a hosts.toml into every node for each registry mirror", () => {
        const r = runScript(
            kindCreateScript({ ...spec, ports, registryMirrors: [{ registry: "docker.io", endpoint: "http://mirror:5000" }] }),
            { FAKE_CLUSTERS: "istio-test" },
            config,
        );
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.log, /docker exec istio-test-control-plane mkdir -p \/etc\/containerd\/certs.d\/docker.io/);
        assert.match(
            r.log,
            /docker exec -i istio-test-control-plane sh -c cat > "\$1\/hosts.toml" sh \/etc\/containerd\/certs.d\/docker.io/,
        );
    });
});

describe("kind scripts keep hostile values inert, whoever calls them", function () {
    this.timeout(20000);
    const config = "kind: Cluster\n";
    /** A value that, interpolated into a shell script unquoted or in double quotes, would create a file. */
    // No spaces (${IFS} stands for them), so the kind stub's word splitting keeps it whole.
    const hostile = (marker: string) => `x";touch\${IFS}${marker};"$(touch\${IFS}${marker})\`touch\${IFS}${marker}\``;

    function withMarker(run: (marker: string) => { stderr: string }): { stderr: string; created: boolean } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-"));
        const marker = path.join(dir, "PWNED");
        try {
            const r = run(marker);
            return { stderr: r.stderr, created: fs.existsSync(marker) };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    it("prints a hostile cluster name and listen address in its messages without running them", () => {
        const adopted = withMarker((m) =>
            runScript(kindCreateScript({ ...spec, name: hostile(m), ports: [] }), { FAKE_CLUSTERS: hostile(m) }, config),
        );
        assert.equal(adopted.created, false, "the adopt message ran a command");
        assert.match(
            adopted.stderr,
            /kind cluster x";touch\$\{IFS\}.*PWNED;"\$\(touch\$\{IFS\}.*PWNED\)`touch\$\{IFS\}.*PWNED` already exists; adopting it\./,
        );
        const port = withMarker((m) =>
            runScript(
                kindCreateScript({ ...spec, listenAddress: hostile(m), ports: [{ role: "http", hostPort: 8080, nodePort: 30080 }] }),
                { FAKE_CLUSTERS: "" },
                config,
            ),
        );
        assert.equal(port.created, false, "the port message ran a command");
        assert.match(port.stderr, /error: host port 8080 on x";touch\$\{IFS\}/);
        const gone = withMarker((m) => runScript(kindDeleteScript(hostile(m)), { FAKE_NO_KIND: "1" }));
        assert.equal(gone.created, false);
        const preload = withMarker((m) => runScript(kindPreloadScript("c", [hostile(m)]), {}));
        assert.equal(preload.created, false);
        assert.match(preload.stderr, /skipping preload of x";touch\$\{IFS\}/);
    });

    it("refuses a registry that is not a host, so nothing is written outside certs.d or run in a node", () => {
        for (const registry of ["..", "../../etc", "a/b", "docker.io;touch x", "docker.io\nserver", ""]) {
            assert.throws(
                () => kindCreateScript({ ...spec, registryMirrors: [{ registry, endpoint: "http://mirror:5000" }] }),
                {
                    message: `registry mirror ${JSON.stringify(registry)} is not a registry host such as "docker.io" or "registry.local:5000"`,
                },
                registry,
            );
        }
        assert.doesNotThrow(() =>
            kindCreateScript({ ...spec, registryMirrors: [{ registry: "registry.local:5000", endpoint: "http://m" }] }),
        );
    });

    it("keeps a hostile mirror endpoint inside one TOML string", () => {
        const toml = renderHostsToml("docker.io", 'http://m"]\n  skip_verify = true\n[x."');
        assert.equal(
            toml,
            'server = "https://registry-1.docker.io"\n\n[host."http://m\\"]\\n  skip_verify = true\\n[x.\\""]\n  capabilities = ["pull", "resolve"]\n',
        );
        assert.equal(toml.split("\n").length, 5, "no line of its own");
        assert.doesNotMatch(toml, /^\s*skip_verify/m);
    });
});

describe("kind delete and preload scripts", () => {
    it("deletes the named cluster", () => {
        const r = runScript(kindDeleteScript("istio-test"), {});
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.log, /^kind delete cluster --name istio-test --kubeconfig \S+$/m);
    });

    it("loads only the images Docker has locally", () => {
        const r = runScript(kindPreloadScript("istio-test", ["present:1", "absent:2"]), {});
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.log, /kind load docker-image --name istio-test present:1/);
        assert.doesNotMatch(r.log, /kind load docker-image --name istio-test absent:2/);
        assert.match(r.stderr, /skipping preload of absent:2/);
    });
});

describe("kind and the user's kubeconfig", function () {
    this.timeout(20000);
    const config = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n";
    // No host ports: these tests are about the kubeconfig, not about what listens on this machine.
    const cluster: KindClusterSpec = { ...spec, ports: [] };
    const CREATE = /^kind create cluster --name istio-test --config=- --wait 0s --kubeconfig (\S+)$/m;
    const DELETE = /^kind delete cluster --name istio-test --kubeconfig (\S+)$/m;
    let user: UserFiles;
    beforeEach(() => {
        user = userFiles();
    });
    afterEach(() => user.remove());

    it("creates the cluster into a throwaway kubeconfig: $KUBECONFIG, ~/.kube/config and the current context stay as they were", () => {
        for (const env of [user.env, { HOME: user.env.HOME, TMPDIR: user.env.TMPDIR }]) {
            const r = runScript(kindCreateScript(cluster), { ...env, FAKE_CLUSTERS: "" }, config);
            assert.equal(r.status, 0, r.stderr);
            const throwaway = throwawayPath(r.log, CREATE, user.env.TMPDIR);
            // kind did write credentials, into the throwaway file only, which is gone with its directory.
            assert.deepEqual(
                r.log.split("\n").filter((l) => l.startsWith("kubeconfig-write")),
                [`kubeconfig-write ${throwaway}`],
            );
            assert.equal(fs.existsSync(path.dirname(throwaway)), false);
            assert.deepEqual(user.leftInTmp(), []);
            assert.deepEqual(user.read(), { home: user.before, kubeconfig: user.before });
            assert.doesNotMatch(r.log, /kind export kubeconfig/);
            assert.equal(r.stdout, "apiVersion: v1 # kubeconfig of istio-test\n");
        }
    });

    it("removes the throwaway kubeconfig when a later step fails", () => {
        const r = runScript(kindCreateScript(cluster), { ...user.env, FAKE_CLUSTERS: "", FAKE_NODES_NOT_READY: "1" }, config);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /error: the nodes of kind cluster istio-test did not become Ready within 5 minutes\./);
        assert.ok(fs.existsSync(user.env.TMPDIR));
        assert.deepEqual(user.leftInTmp(), []);
        assert.deepEqual(user.read(), { home: user.before, kubeconfig: user.before });
    });

    it("removes the throwaway kubeconfig when the script is terminated", async () => {
        const stub = stubs({ ...user.env, FAKE_CLUSTERS: "", FAKE_WAIT_SECONDS: "1" });
        try {
            const child = spawn("/bin/sh", ["-c", kindCreateScript(cluster)], { env: stub.env, stdio: ["pipe", "ignore", "ignore"] });
            child.stdin.end(config);
            const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
            // Terminate it while it waits for the nodes, after kind has written the throwaway kubeconfig.
            for (
                let i = 0;
                i < 200 && !/wait --for=condition=Ready/.test(fs.existsSync(stub.log) ? fs.readFileSync(stub.log, "utf8") : "");
                i++
            ) {
                await new Promise((r) => setTimeout(r, 25));
            }
            assert.equal(user.leftInTmp().length, 1, "the throwaway kubeconfig exists while the script runs");
            child.kill("SIGTERM");
            assert.equal(await exited, 143);
            assert.deepEqual(user.leftInTmp(), []);
        } finally {
            fs.rmSync(stub.dir, { recursive: true, force: true });
        }
    });

    /** Runs the create script with a kind create that takes its time; resolves once kind create runs. */
    async function slowCreate(env: Record<string, string> = {}) {
        const stub = stubs({ ...user.env, FAKE_CLUSTERS: "", FAKE_CREATE_SECONDS: "30", ...env });
        const child = spawn("/bin/sh", ["-c", kindCreateScript(cluster)], { env: stub.env, stdio: ["pipe", "ignore", "ignore"] });
        child.stdin.end(config);
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        const log = (): string => (fs.existsSync(stub.log) ? fs.readFileSync(stub.log, "utf8") : "");
        for (let i = 0; i < 400 && !/^kind-create-pid \d+$/m.test(log()); i++) await new Promise((r) => setTimeout(r, 25));
        const kindPid = Number(/^kind-create-pid (\d+)$/m.exec(log())?.[1]);
        assert.ok(kindPid > 0, log());
        const alive = (): boolean => {
            try {
                process.kill(kindPid, 0);
                return true;
            } catch {
                return false;
            }
        };
        /** Waits up to 10 s for the clean-up: kind create gone, the throwaway kubeconfig gone, the half-made cluster deleted. */
        const cleanedUp = async (): Promise<void> => {
            for (let i = 0; i < 400 && (alive() || user.leftInTmp().length > 0 || !DELETE.test(log())); i++) {
                await new Promise((r) => setTimeout(r, 25));
            }
            assert.equal(alive(), false, "kind create was stopped");
            assert.deepEqual(user.leftInTmp(), [], "the throwaway kubeconfig is gone");
            assert.equal(throwawayPath(log(), DELETE, user.env.TMPDIR), throwawayPath(log(), CREATE, user.env.TMPDIR));
        };
        return { child, exited, log, alive, cleanedUp, remove: () => fs.rmSync(stub.dir, { recursive: true, force: true }) };
    }

    it("stops kind create and deletes its half-made cluster when the shell is killed outright, as pulumi-command cancels", async () => {
        const run = await slowCreate();
        try {
            assert.equal(run.alive(), true);
            assert.equal(user.leftInTmp().length, 1, "the throwaway kubeconfig exists while kind creates the cluster");
            run.child.kill("SIGKILL");
            await run.exited;
            await run.cleanedUp();
            assert.deepEqual(user.read(), { home: user.before, kubeconfig: user.before });
        } finally {
            run.remove();
        }
    });

    it("stops kind create and deletes its half-made cluster when the script is terminated or interrupted", async () => {
        for (const [signal, status] of [
            ["SIGTERM", 143],
            ["SIGINT", 130],
            ["SIGHUP", 129],
        ] as const) {
            const run = await slowCreate();
            try {
                run.child.kill(signal);
                assert.equal(await run.exited, status, signal);
                await run.cleanedUp();
            } finally {
                run.remove();
            }
        }
    });

    it("never deletes a cluster after a kind create that failed by itself, nor one it adopted", () => {
        const failed = runScript(kindCreateScript(cluster), { ...user.env, FAKE_CLUSTERS: "", FAKE_CREATE_FAILS: "1" }, config);
        assert.equal(failed.status, 1);
        assert.match(failed.stderr, /error: kind create cluster failed; see the messages above\./);
        assert.doesNotMatch(failed.log, /kind delete cluster/);
        assert.deepEqual(user.leftInTmp(), []);
        const adopted = runScript(kindCreateScript(cluster), { ...user.env, FAKE_CLUSTERS: "istio-test" }, config);
        assert.equal(adopted.status, 0, adopted.stderr);
        assert.doesNotMatch(adopted.log, /kind delete cluster/);
    });

    it("with exportKubeconfig merges the cluster into the user's kubeconfig with kind export kubeconfig, after the nodes are Ready", () => {
        const r = runScript(kindCreateScript(cluster, { exportKubeconfig: true }), { ...user.env, FAKE_CLUSTERS: "" }, config);
        assert.equal(r.status, 0, r.stderr);
        throwawayPath(r.log, CREATE, user.env.TMPDIR);
        const calls = r.log.split("\n");
        const exportAt = calls.indexOf("kind export kubeconfig --name istio-test");
        assert.ok(exportAt > calls.findIndex((l) => l.includes("wait --for=condition=Ready")), r.log);
        assert.ok(exportAt < calls.indexOf("kind get kubeconfig --name istio-test"), r.log);
        // kind merges into $KUBECONFIG when it is set (paths.go), and leaves ~/.kube/config alone.
        assert.equal(user.read().kubeconfig, `${user.before}kind-istio-test\ncurrent-context: kind-istio-test\n`);
        assert.equal(user.read().home, user.before);
        assert.deepEqual(user.leftInTmp(), []);
        assert.equal(r.stdout, "apiVersion: v1 # kubeconfig of istio-test\n");
    });

    it("adopts an existing cluster without writing any kubeconfig", () => {
        const r = runScript(kindCreateScript(cluster), { ...user.env, FAKE_CLUSTERS: "istio-test" }, config);
        assert.equal(r.status, 0, r.stderr);
        assert.doesNotMatch(r.log, /kubeconfig-write|kind create|kind export/);
        assert.deepEqual(user.leftInTmp(), []);
        assert.deepEqual(user.read(), { home: user.before, kubeconfig: user.before });
    });

    it("deletes the cluster against a throwaway kubeconfig, leaving entries in the user's kubeconfig alone", () => {
        // Entries the user exported by hand are theirs: the default delete does not touch them.
        const mine = `${user.before}kind-istio-test\n`;
        fs.writeFileSync(user.env.KUBECONFIG, mine);
        fs.writeFileSync(user.homeConfig, mine);
        const r = runScript(kindDeleteScript("istio-test"), user.env);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(fs.existsSync(path.dirname(throwawayPath(r.log, DELETE, user.env.TMPDIR))), false);
        assert.doesNotMatch(r.log, /kubeconfig-write/);
        assert.deepEqual(user.read(), { home: mine, kubeconfig: mine });
        assert.deepEqual(user.leftInTmp(), []);
    });

    it("with exportKubeconfig deletes the cluster's entries from the user's kubeconfig too", () => {
        fs.writeFileSync(user.env.KUBECONFIG, `${user.before}kind-istio-test\ncurrent-context: kind-istio-test\n`);
        const r = runScript(kindDeleteScript("istio-test", { exportKubeconfig: true }), user.env);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.log, `kind delete cluster --name istio-test\nkubeconfig-write ${user.env.KUBECONFIG}\n`);
        assert.deepEqual(user.read(), { home: user.before, kubeconfig: user.before });
        assert.deepEqual(user.leftInTmp(), []);
    });
});

describe("the kind cluster command in the program", () => {
    it("gives kind a throwaway kubeconfig on create and delete, and merges into the user's only with kind.exportKubeconfig", async () => {
        const dev = (await runStack("dev")).get("kind-cluster", "command:local:Command");
        assert.match(dev.inputs.create, /^trap 'rm -rf "\$kind_kubeconfig_dir"' EXIT$/m);
        assert.match(
            dev.inputs.create,
            /^ {2}printf '%s\\n' "\$config" \| kind create cluster --name 'istio-dev' --config=- --wait 0s --kubeconfig "\$kind_kubeconfig" >&2 &$/m,
        );
        assert.doesNotMatch(dev.inputs.create, /kind export kubeconfig/);
        assert.match(dev.inputs.delete, /^kind delete cluster --name 'istio-dev' --kubeconfig "\$kind_kubeconfig" >&2$/m);

        const devKind = stackConfig("dev")["istio-mesh:kind"] as Record<string, unknown>;
        const exported = (await runStack("dev", { "istio-mesh:kind": { ...devKind, exportKubeconfig: true } })).get(
            "kind-cluster",
            "command:local:Command",
        );
        assert.match(
            exported.inputs.create,
            /^kind export kubeconfig --name 'istio-dev' >&2 \|\| fail 'kind export kubeconfig failed \(kind\.exportKubeconfig is on\); see the messages above\.'$/m,
        );
        assert.match(exported.inputs.delete, /^kind delete cluster --name 'istio-dev' >&2$/m);
        assert.doesNotMatch(exported.inputs.delete, /--kubeconfig/);
        // Only the triggers replace a command: switching the export updates the cluster's command, it does not recreate the cluster.
        assert.deepEqual(exported.inputs.triggers, dev.inputs.triggers);
    });
});
