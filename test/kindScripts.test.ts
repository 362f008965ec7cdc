import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { exposedPorts } from "../components/ports";
import {
    KindClusterSpec,
    kindCreateScript,
    kindDeleteScript,
    kindPreloadScript,
    renderHostsToml,
    renderKindConfig,
    shq,
} from "../components/kindScripts";
import { DEFAULT_HOST_PORTS } from "../components/config";

const spec: KindClusterSpec = {
    name: "istio-test",
    nodeImage: "kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0",
    workers: 2,
    region: "eu",
    zones: ["eu-a", "eu-b"],
    listenAddress: "127.0.0.1",
    ports: exposedPorts(DEFAULT_HOST_PORTS, { kubernetesDashboard: false }),
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
                [8443, 30443],
                [9090, 30090],
                [3000, 30300],
                [16686, 30686],
                [20001, 30201],
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

/** Runs a script with stub docker and kind on PATH; the stubs log their calls. */
function runScript(
    script: string,
    env: Record<string, string>,
    stdin = "",
): { status: number | null; stdout: string; stderr: string; log: string; createdConfig: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kind-stub-"));
    const log = path.join(dir, "calls.log");
    fs.writeFileSync(
        path.join(dir, "kind"),
        `#!/bin/sh
echo "kind $*" >> "${log}"
case "$1 $2" in
  "get clusters") printf '%s\\n' $FAKE_CLUSTERS ;;
  "get kubeconfig") echo "apiVersion: v1 # kubeconfig of $4" ;;
  "get nodes") echo "$4-control-plane" ;;
  "create cluster") cat > "${dir}/created.yaml" ;;
esac
`,
        { mode: 0o755 },
    );
    if (env.FAKE_NO_DOCKER !== "1") {
        fs.writeFileSync(
            path.join(dir, "docker"),
            `#!/bin/sh\necho "docker $*" >> "${log}"\nif [ "$1" = info ] && [ "$FAKE_DOCKER_DOWN" = 1 ]; then exit 1; fi\nif [ "$1" = image ] && [ "$3" != present:1 ]; then exit 1; fi\ncat >/dev/null 2>&1 || true\n`,
            { mode: 0o755 },
        );
    }
    const node = path.dirname(process.execPath);
    const bin = env.FAKE_NO_KIND === "1" ? path.join(dir, "nokind") : dir;
    if (env.FAKE_NO_KIND === "1") {
        fs.mkdirSync(bin);
        fs.renameSync(path.join(dir, "docker"), path.join(bin, "docker"));
    }
    const result = spawnSync("/bin/sh", ["-c", script], {
        input: stdin,
        env: { PATH: `${bin}:${node}:/usr/bin:/bin`, ...env },
        encoding: "utf8",
    });
    const read = (f: string): string => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
    const out = {
        status: result.status,
        stdout: result.stdout,
        stderr: result.stderr,
        log: read(log),
        createdConfig: read(path.join(dir, "created.yaml")),
    };
    fs.rmSync(dir, { recursive: true, force: true });
    return out;
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
        assert.match(r.log, /docker exec -i istio-test-control-plane sh -c cat > \/etc\/containerd\/certs.d\/docker.io\/hosts.toml/);
    });
});

describe("kind delete and preload scripts", () => {
    it("deletes the named cluster", () => {
        const r = runScript(kindDeleteScript("istio-test"), {});
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.log, /kind delete cluster --name istio-test/);
    });

    it("loads only the images Docker has locally", () => {
        const r = runScript(kindPreloadScript("istio-test", ["present:1", "absent:2"]), {});
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.log, /kind load docker-image --name istio-test present:1/);
        assert.doesNotMatch(r.log, /kind load docker-image --name istio-test absent:2/);
        assert.match(r.stderr, /skipping preload of absent:2/);
    });
});
