import { stringify } from "yaml";
import { ExposedPort } from "./ports";
import { KIND_VERSION } from "./versions";

/** What a kind cluster is rendered from. */
export interface KindClusterSpec {
    readonly name: string;
    readonly nodeImage: string;
    readonly workers: number;
    readonly region: string;
    /** Zones assigned to the nodes round robin, control plane first. */
    readonly zones: readonly string[];
    readonly listenAddress: string;
    readonly ports: readonly ExposedPort[];
    readonly registryMirrors: readonly { readonly registry: string; readonly endpoint: string }[];
}

/** Label that marks the node carrying the host port mappings; the ingress gateway may be pinned to it. */
export const INGRESS_NODE_LABEL = "ingress-ready";

/** The containerd directory that holds one hosts.toml per mirrored registry. */
const CERTS_DIR = "/etc/containerd/certs.d";

/** Renders the kind v1alpha4 Cluster config. */
export function renderKindConfig(spec: KindClusterSpec): string {
    const nodeCount = spec.workers + 1;
    const nodes = Array.from({ length: nodeCount }, (_, i) => {
        const controlPlane = i === 0;
        const labels: Record<string, string> = {
            "topology.kubernetes.io/region": spec.region,
            "topology.kubernetes.io/zone": spec.zones[i % spec.zones.length],
        };
        if (controlPlane) labels[INGRESS_NODE_LABEL] = "true";
        return {
            role: controlPlane ? "control-plane" : "worker",
            image: spec.nodeImage,
            labels,
            // Only the control plane publishes ports: that is where the host reaches the cluster.
            ...(controlPlane && spec.ports.length > 0
                ? {
                      extraPortMappings: spec.ports.map((p) => ({
                          containerPort: p.nodePort,
                          hostPort: p.hostPort,
                          listenAddress: spec.listenAddress,
                          protocol: "TCP",
                      })),
                  }
                : {}),
        };
    });
    const config: Record<string, unknown> = {
        kind: "Cluster",
        apiVersion: "kind.x-k8s.io/v1alpha4",
        name: spec.name,
        networking: { apiServerAddress: "127.0.0.1" },
        nodes,
    };
    if (spec.registryMirrors.length > 0) {
        config.containerdConfigPatches = [`[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "${CERTS_DIR}"\n`];
    }
    return stringify(config);
}

/** The containerd hosts.toml that sends pulls of `registry` to `endpoint` first, then upstream. */
export function renderHostsToml(registry: string, endpoint: string): string {
    const upstream = registry === "docker.io" ? "https://registry-1.docker.io" : `https://${registry}`;
    return `server = "${upstream}"\n\n[host."${endpoint}"]\n  capabilities = ["pull", "resolve"]\n`;
}

/** Quotes a value for POSIX sh. */
export function shq(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

const PREFLIGHT = [
    `command -v docker >/dev/null 2>&1 || fail "docker was not found on PATH. Install Docker, start it, and re-run pulumi up."`,
    `docker info >/dev/null 2>&1 || fail "Docker is not running (docker info failed). Start Docker Desktop or the Docker service, then re-run pulumi up."`,
    `command -v kind >/dev/null 2>&1 || fail "kind was not found on PATH. Install kind ${KIND_VERSION} (https://kind.sigs.k8s.io/docs/user/quick-start/#installation) and re-run pulumi up."`,
];

/** Shared opening of every script: strict mode and a `fail` that explains itself on stderr. */
function prelude(): string[] {
    return ["set -eu", `fail() { printf 'error: %s\\n' "$1" >&2; exit 1; }`, `say() { printf '%s\\n' "$1" >&2; }`];
}

/**
 * The create script. Reads the kind config on stdin, so nothing is written to disk.
 * Idempotent: a cluster of this name that already exists is adopted. Waits until every
 * node is Ready (kind's own --wait never fails), then prints the kubeconfig on stdout;
 * everything else goes to stderr.
 */
export function kindCreateScript(spec: KindClusterSpec): string {
    const name = shq(spec.name);
    const portChecks = spec.ports.map(
        (p) =>
            `port_free ${shq(spec.listenAddress)} ${p.hostPort} || fail "host port ${p.hostPort} on ${spec.listenAddress} (kind.hostPorts.${p.role}) is already in use. Stop what listens there, or pick another port: pulumi config set --path kind.hostPorts.${p.role} <free port>"`,
    );
    const mirrors = spec.registryMirrors.map((m) => {
        const dir = `${CERTS_DIR}/${m.registry}`;
        return [
            `for node in $(kind get nodes --name ${name}); do`,
            `  docker exec "$node" mkdir -p ${shq(dir)}`,
            `  printf '%s' ${shq(renderHostsToml(m.registry, m.endpoint))} | docker exec -i "$node" sh -c ${shq(`cat > ${dir}/hosts.toml`)}`,
            `done`,
        ].join("\n");
    });
    return [
        ...prelude(),
        // Read the config first so that no later command can consume stdin.
        `config=$(cat)`,
        ...PREFLIGHT,
        // Binding the port is the one check that works the same on Linux, macOS and WSL; Node is a prerequisite.
        `port_free() { node -e 'const s=require("net").createServer();s.once("error",()=>process.exit(1));s.listen(Number(process.argv[2]),process.argv[1],()=>s.close(()=>process.exit(0)))' "$1" "$2"; }`,
        `if kind get clusters 2>/dev/null | grep -qx ${name}; then`,
        `  say "kind cluster ${spec.name} already exists; adopting it."`,
        `else`,
        ...portChecks.map((l) => `  ${l}`),
        `  printf '%s\\n' "$config" | kind create cluster --name ${name} --config=- --wait 0s >&2 || fail "kind create cluster failed; see the messages above."`,
        `fi`,
        ...mirrors,
        `docker exec ${shq(`${spec.name}-control-plane`)} kubectl --kubeconfig=/etc/kubernetes/admin.conf wait --for=condition=Ready nodes --all --timeout=300s >&2 || fail "the nodes of kind cluster ${spec.name} did not become Ready within 5 minutes."`,
        `kind get kubeconfig --name ${name}`,
        "",
    ].join("\n");
}

/** The delete script; deleting a cluster that is already gone succeeds. */
export function kindDeleteScript(name: string): string {
    return [
        ...prelude(),
        `command -v kind >/dev/null 2>&1 || fail "kind was not found on PATH, so kind cluster ${name} cannot be deleted. Install kind ${KIND_VERSION} and re-run pulumi destroy."`,
        `kind delete cluster --name ${shq(name)} >&2`,
        "",
    ].join("\n");
}

/** Loads the listed images into the cluster when Docker has them locally; skips the others. */
export function kindPreloadScript(name: string, images: readonly string[]): string {
    return [
        ...prelude(),
        ...images.map(
            (image) =>
                `if docker image inspect ${shq(image)} >/dev/null 2>&1; then kind load docker-image --name ${shq(name)} ${shq(image)} >&2; else say "skipping preload of ${image}: not in the local Docker image store"; fi`,
        ),
        "",
    ].join("\n");
}
