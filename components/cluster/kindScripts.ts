import { stringify } from "yaml";
import { ExposedPort } from "../ports";
import { KIND_VERSION } from "../versions";

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
    /**
     * The image caches the nodes pull through (components/cluster/imageCache.ts): each is connected
     * to kind's network once kind has made it, and gets the hosts.toml of its registry. @default []
     */
    readonly imageCaches?: readonly ImageCacheEndpoint[];
}

/** An image cache as the cluster sees it: the registry it caches, and the container that does. */
export interface ImageCacheEndpoint {
    readonly registry: string;
    readonly container: string;
    /** http://<container>:<port>, reached over kind's network. */
    readonly endpoint: string;
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
    // The caches need no patch: kind's node images since v0.27.0 read certs.d already (kind
    // site/static/examples/kind-with-registry.sh), so switching them on never changes a running cluster's config.
    if (spec.registryMirrors.length > 0) {
        config.containerdConfigPatches = [`[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "${CERTS_DIR}"\n`];
    }
    return stringify(config);
}

/**
 * A TOML basic string: JSON's string escapes (`\"`, `\\`, `\n`, `\uXXXX`) are TOML's too, so no
 * value can end the string or start a line of its own.
 */
export function tomlString(value: string): string {
    return JSON.stringify(value);
}

/** A registry host, with an optional port: the only names that make a directory under certs.d. */
const REGISTRY_HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$/;

/** Whether a name is a registry host (and port), the only names that make a directory under certs.d. */
export function isRegistryHost(registry: string): boolean {
    return REGISTRY_HOST.test(registry);
}

/**
 * The certs.d directory of a registry. Refuses anything but a host name (and port), whatever
 * the caller checked before: a name such as `..` or `a/b` would write outside certs.d.
 */
export function certsDirOf(registry: string): string {
    if (!isRegistryHost(registry)) {
        throw new Error(`registry mirror ${JSON.stringify(registry)} is not a registry host such as "docker.io" or "registry.local:5000"`);
    }
    return `${CERTS_DIR}/${registry}`;
}

/** The URL a registry's clients talk to: Docker Hub serves `docker.io` from registry-1.docker.io. */
export function upstreamUrl(registry: string): string {
    return registry === "docker.io" ? "https://registry-1.docker.io" : `https://${registry}`;
}

/**
 * The containerd hosts.toml that sends pulls of `registry` to `endpoint` first, then upstream.
 * containerd tries each `[host]` in order and the `server` after them when a host fails, a host
 * that cannot be reached or resolved included (containerd docs/hosts.md; remotes/docker/
 * resolver.go, Resolve, goes on to the next host on any error), so a mirror that is down never
 * blocks a pull.
 */
export function renderHostsToml(registry: string, endpoint: string): string {
    return `server = ${tomlString(upstreamUrl(registry))}\n\n[host.${tomlString(endpoint)}]\n  capabilities = ["pull", "resolve"]\n`;
}

/** Quotes a value for POSIX sh. */
export function shq(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A `fail` call whose message is quoted whole: nothing in it is expanded by the shell. */
export function failWith(message: string): string {
    return `fail ${shq(message)}`;
}

/** A `say` call whose message is quoted whole. */
export function sayThat(message: string): string {
    return `say ${shq(message)}`;
}

/** Docker on PATH and running, or a message that says what to do. */
export const DOCKER_PREFLIGHT: readonly string[] = [
    `command -v docker >/dev/null 2>&1 || ${failWith("docker was not found on PATH. Install Docker, start it, and re-run pulumi up.")}`,
    `docker info >/dev/null 2>&1 || ${failWith("Docker is not running (docker info failed). Start Docker Desktop or the Docker service, then re-run pulumi up.")}`,
];

const PREFLIGHT = [
    ...DOCKER_PREFLIGHT,
    `command -v kind >/dev/null 2>&1 || ${failWith(`kind was not found on PATH. Install kind ${KIND_VERSION} (https://kind.sigs.k8s.io/docs/user/quick-start/#installation) and re-run pulumi up.`)}`,
];

/** Shared opening of every script: strict mode and a `fail` that explains itself on stderr. */
export function prelude(): string[] {
    return ["set -eu", `fail() { printf 'error: %s\\n' "$1" >&2; exit 1; }`, `say() { printf '%s\\n' "$1" >&2; }`];
}

/** How the kind scripts treat the user's own kubeconfig. */
export interface KindKubeconfigOptions {
    /**
     * Merge the cluster's admin credentials into the user's kubeconfig (`$KUBECONFIG`, else
     * `~/.kube/config`) and make `kind-<name>` its current context, as plain `kind create cluster`
     * does; `kind delete cluster` then removes those entries again. Off, kind only ever writes a
     * throwaway kubeconfig. @default false
     */
    readonly exportKubeconfig?: boolean;
}

/**
 * Opens a throwaway kubeconfig for kind, removed when the script exits however it exits.
 * kind's --kubeconfig replaces $KUBECONFIG and ~/.kube/config altogether: "If the --kubeconfig
 * flag is set, then only that file is loaded" (kind pkg/cluster/internal/kubeconfig/internal/
 * kubeconfig/paths.go). `kind create cluster` merges the new cluster into that file and sets its
 * current context (merge.go, WriteMerged; pkg/cluster/internal/create/create.go calls
 * kubeconfig.Export with the flag's path, also passed by pkg/cmd/kind/create/cluster/
 * createcluster.go), and `kind delete cluster` removes the cluster's entries from it and unsets
 * a current context pointing at it (remove.go, RemoveKIND; pkg/cluster/internal/delete/delete.go).
 * A directory rather than a file: kind locks the kubeconfig with a `<path>.lock` beside it (lock.go).
 */
const THROWAWAY_KUBECONFIG = [
    `kind_kubeconfig_dir=$(mktemp -d "\${TMPDIR:-/tmp}/kind-kubeconfig.XXXXXX") || ${failWith("could not create a temporary directory for kind's kubeconfig.")}`,
    `trap 'rm -rf "$kind_kubeconfig_dir"' EXIT`,
    // sh runs the EXIT trap on exit, not when a signal kills it: turn the signals into exits.
    `trap 'exit 129' HUP`,
    `trap 'exit 130' INT`,
    `trap 'exit 143' TERM`,
    `kind_kubeconfig="$kind_kubeconfig_dir/kubeconfig"`,
];

/**
 * Makes the create script's clean-up hold however it ends. pulumi-command cancels a command by
 * killing its shell alone, with SIGKILL (provider/pkg/provider/local/commandOutputs.go:
 * exec.CommandContext, whose default Cancel is Process.Kill; no process group), so no trap runs
 * and `kind create cluster` would go on without it, the throwaway kubeconfig (admin credentials)
 * left in the temp folder. So kind create runs in the background with its pid in a file, and:
 * - `stop_kind` stops a kind create the script started and has not seen end, waits for it, and
 *   deletes the half-made cluster, which is the script's own (it saw no cluster of that name
 *   before it started kind) and unfinished; a kind create that ended by itself is never followed
 *   by a delete. The EXIT trap runs it, then removes the folder.
 * - a watcher, started before kind and deaf to the terminal's signals, outlives a SIGKILL of the
 *   shell: once the shell is gone it does the same. Its output goes nowhere, so it never holds the
 *   provider's pipes open.
 */
function createGuard(name: string): string[] {
    const stopKind = [
        `stop_kind() {`,
        `  [ -f "$kind_pid_file" ] || return 0`,
        `  kind_pid=$(cat "$kind_pid_file"); rm -f "$kind_pid_file"`,
        `  kill "$kind_pid" 2>/dev/null || true`,
        // The shell reaps its own child with wait; the watcher, whose child kind is not, polls until init has.
        `  wait "$kind_pid" 2>/dev/null || true`,
        `  while kill -0 "$kind_pid" 2>/dev/null; do sleep 1; done`,
        `  kind delete cluster --name ${name} --kubeconfig "$kind_kubeconfig" >&2 || true`,
        `}`,
    ];
    return [
        `kind_pid_file="$kind_kubeconfig_dir/kind-create.pid"`,
        ...stopKind,
        `trap 'stop_kind; rm -rf "$kind_kubeconfig_dir"' EXIT`,
        `script_pid=$$`,
        `(trap '' HUP INT TERM; while kill -0 "$script_pid" 2>/dev/null; do sleep 1; done; stop_kind; rm -rf "$kind_kubeconfig_dir") </dev/null >/dev/null 2>&1 &`,
    ];
}

/**
 * The create script. Reads the kind config on stdin. Idempotent: a cluster of this name that
 * already exists is adopted. Waits until every node is Ready (kind's own --wait never fails),
 * then prints the kubeconfig on stdout; everything else goes to stderr. The user's kubeconfig
 * and current context stay as they are unless `exportKubeconfig` is set.
 */
export function kindCreateScript(spec: KindClusterSpec, options: KindKubeconfigOptions = {}): string {
    const name = shq(spec.name);
    const portChecks = spec.ports.map(
        (p) =>
            `port_free ${shq(spec.listenAddress)} ${shq(String(p.hostPort))} || ${failWith(`host port ${p.hostPort} on ${spec.listenAddress} (kind.hostPorts.${p.role}) is already in use. Stop what listens there, or pick another port: pulumi config set --path kind.hostPorts.${p.role} <free port>`)}`,
    );
    const caches = (spec.imageCaches ?? []).flatMap((c) => {
        const container = shq(c.container);
        return [
            `if docker inspect --type container ${container} >/dev/null 2>&1; then`,
            // kind's recipe (site/static/examples/kind-with-registry.sh): connect once the network exists, if not yet connected.
            `  if [ "$(docker inspect --type container --format "{{json (index .NetworkSettings.Networks \\"$kind_network\\")}}" ${container})" = null ]; then`,
            `    docker network connect "$kind_network" ${container} >&2 || ${failWith(`could not connect the image cache ${c.container} to kind's Docker network (see Docker's message above). Remove the caches with npm run cache -- prune and run pulumi up again, or switch the cache off: pulumi config set --path kind.imageCache.enabled false`)}`,
            `  fi`,
            `else`,
            `  ${sayThat(`image cache ${c.container} is gone (npm run cache -- prune?): the nodes pull ${c.registry} images from upstream until it is back (pulumi destroy, then pulumi up, makes it again).`)}`,
            `fi`,
        ];
    });
    const hosts = [...spec.registryMirrors, ...(spec.imageCaches ?? [])];
    const mirrors = hosts.map((m) => {
        const dir = certsDirOf(m.registry);
        return [
            `for node in $(kind get nodes --name ${name}); do`,
            `  docker exec "$node" mkdir -p ${shq(dir)}`,
            // The directory reaches the node's shell as an argument, never as part of its script.
            `  printf '%s' ${shq(renderHostsToml(m.registry, m.endpoint))} | docker exec -i "$node" sh -c 'cat > "$1/hosts.toml"' sh ${shq(dir)}`,
            `done`,
        ].join("\n");
    });
    return [
        ...prelude(),
        // Read the config first so that no later command can consume stdin.
        `config=$(cat)`,
        ...PREFLIGHT,
        ...THROWAWAY_KUBECONFIG,
        ...createGuard(name),
        // Binding the port is the one check that works the same on Linux, macOS and WSL; Node is a prerequisite.
        `port_free() { node -e 'const s=require("net").createServer();s.once("error",()=>process.exit(1));s.listen(Number(process.argv[2]),process.argv[1],()=>s.close(()=>process.exit(0)))' "$1" "$2"; }`,
        `if kind get clusters 2>/dev/null | grep -qxF ${name}; then`,
        `  ${sayThat(`kind cluster ${spec.name} already exists; adopting it.`)}`,
        // A create interrupted before kubeadm finished leaves node containers without a control plane.
        `  docker exec ${shq(`${spec.name}-control-plane`)} test -f /etc/kubernetes/admin.conf || ${failWith(`kind cluster ${spec.name} exists but was never finished (an interrupted kind create cluster): delete it with kind delete cluster --name ${spec.name}, then run pulumi up again.`)}`,
        `else`,
        ...portChecks.map((l) => `  ${l}`),
        `  printf '%s\\n' "$config" | kind create cluster --name ${name} --config=- --wait 0s --kubeconfig "$kind_kubeconfig" >&2 &`,
        `  printf '%s' "$!" > "$kind_pid_file"`,
        // Ended by itself, kind create is no longer the script's to stop: the pid file goes first.
        `  if wait "$!"; then rm -f "$kind_pid_file"; else rm -f "$kind_pid_file"; ${failWith("kind create cluster failed; see the messages above.")}; fi`,
        `fi`,
        // kind makes its nodes' network, "kind" unless KIND_EXPERIMENTAL_DOCKER_NETWORK names another (kind pkg/cluster/internal/providers/docker/provider.go).
        ...(caches.length > 0 ? [`kind_network="\${KIND_EXPERIMENTAL_DOCKER_NETWORK:-kind}"`, ...caches] : []),
        ...mirrors,
        `docker exec ${shq(`${spec.name}-control-plane`)} kubectl --kubeconfig=/etc/kubernetes/admin.conf wait --for=condition=Ready nodes --all --timeout=300s >&2 || ${failWith(`the nodes of kind cluster ${spec.name} did not become Ready within 5 minutes.`)}`,
        // Only on request: without --kubeconfig kind merges into $KUBECONFIG or ~/.kube/config and switches its current context.
        ...(options.exportKubeconfig
            ? [
                  `kind export kubeconfig --name ${name} >&2 || ${failWith("kind export kubeconfig failed (kind.exportKubeconfig is on); see the messages above.")}`,
              ]
            : []),
        // Prints the kubeconfig and writes none (kind pkg/cluster/internal/kubeconfig/kubeconfig.go, Get: reads the node's admin.conf).
        `kind get kubeconfig --name ${name}`,
        "",
    ].join("\n");
}

/**
 * The delete script; deleting a cluster that is already gone succeeds. Like the create script,
 * it leaves the user's kubeconfig alone unless `exportKubeconfig` is set, and then removes the
 * `kind-<name>` entries the create script merged into it.
 */
export function kindDeleteScript(name: string, options: KindKubeconfigOptions = {}): string {
    return [
        ...prelude(),
        `command -v kind >/dev/null 2>&1 || ${failWith(`kind was not found on PATH, so kind cluster ${name} cannot be deleted. Install kind ${KIND_VERSION} and re-run pulumi destroy.`)}`,
        ...(options.exportKubeconfig
            ? [`kind delete cluster --name ${shq(name)} >&2`]
            : [...THROWAWAY_KUBECONFIG, `kind delete cluster --name ${shq(name)} --kubeconfig "$kind_kubeconfig" >&2`]),
        "",
    ].join("\n");
}

/** Loads the listed images into the cluster when Docker has them locally; skips the others. */
export function kindPreloadScript(name: string, images: readonly string[]): string {
    return [
        ...prelude(),
        ...images.map(
            (image) =>
                `if docker image inspect ${shq(image)} >/dev/null 2>&1; then kind load docker-image --name ${shq(name)} ${shq(image)} >&2; else ${sayThat(`skipping preload of ${image}: not in the local Docker image store`)}; fi`,
        ),
        "",
    ].join("\n");
}
