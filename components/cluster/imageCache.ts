/**
 * The image caches of a kind stack: one pull-through registry per upstream registry the stack's
 * images come from, each a container of the official `registry` image in proxy mode (distribution
 * docs/content/recipes/mirror.md: "It's currently possible to mirror only one upstream registry at
 * a time") with a named volume. They are machine-wide, named after their registry, so every stack
 * on this machine shares them, and `pulumi destroy` leaves them in place: they are a cache, not
 * part of a cluster. Pure: the specs and the script the cache command runs.
 *
 * Following kind's own recipe (site/static/examples/kind-with-registry.sh, kind docs
 * user/local-registry): a cache starts on Docker's default bridge network, and the cluster's create
 * script connects it to the `kind` network once kind has made it (kindScripts.ts); the nodes reach
 * it by its container name, which Docker's DNS resolves on that user-defined network.
 */
import * as crypto from "crypto";
import { Pins, PINS } from "../versions";
import { DOCKER_PREFLIGHT, failWith, isRegistryHost, prelude, sayThat, shq, upstreamUrl } from "./kindScripts";

/** The registry an image or repository prefix is pulled from, as containerd resolves it: `docker.io` when it names none. */
export function registryOf(image: string): string {
    const first = image.split("/")[0];
    return image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost") ? first : "docker.io";
}

/**
 * The upstream registries the stack's own images come from: those of the pinned images, and those
 * the pinned charts' default images name (read in their rendered templates: Prometheus and its
 * config reloader and Kiali from quay.io, Headlamp from ghcr.io, Grafana and Jaeger from Docker Hub).
 */
export function stackImageRegistries(pins: Pins = PINS): string[] {
    const pinned = [pins.istio.hub, pins.bookinfo.registry, pins.grafanaCurlImage].map(registryOf);
    return [...new Set([...pinned, "docker.io", "quay.io", "ghcr.io"])];
}

/** The registries cached by default. */
export const CACHED_REGISTRIES: readonly string[] = stackImageRegistries();

/** The port the registry listens on inside its container (the image's default `http.addr`). */
export const CACHE_PORT = 5000;

/**
 * The registry's debug server, bound to the container's loopback: only `docker exec` reaches it.
 * Its /debug/vars (Go's expvar, served by registry/registry.go configureDebugServer) holds the
 * proxy's own counters of upstream fetches (registry/proxy/proxymetrics.go).
 */
export const CACHE_DEBUG_ADDR = "127.0.0.1:5001";

/** Where the registry keeps its content inside the container (the image's storage root). */
export const CACHE_STORAGE = "/var/lib/registry";

/** Label on every cache container and volume, holding its registry: only what carries it is a cache. */
export const CACHE_LABEL = "io.istio-mesh.image-cache";

/** Label holding the digest of a cache container's settings; a container whose digest differs is recreated. */
export const CACHE_CONFIG_LABEL = "io.istio-mesh.image-cache.config";

/** One cache, as the scripts make it. */
export interface ImageCacheSpec {
    /** The upstream registry host it caches, e.g. `docker.io`. */
    readonly registry: string;
    /** Container name, also the host name the nodes reach it by. */
    readonly container: string;
    /** Docker volume that holds the cached content. */
    readonly volume: string;
    /** The URL the cache fetches from. */
    readonly remoteUrl: string;
    /** Host port the cache is published on, on `listenAddress`; none when undefined. */
    readonly hostPort?: number;
    /** Where that port is set: its index in kind.imageCache.hostPorts, for the messages. */
    readonly hostPortIndex?: number;
    readonly listenAddress: string;
    /** Whether credentials for the upstream come in through the command's environment. */
    readonly authenticated: boolean;
    readonly image: string;
}

/** The container (and volume) name of a registry's cache: `istio-mesh-cache-docker-io`. */
export function cacheName(registry: string): string {
    if (!isRegistryHost(registry)) throw new Error(`image cache registry ${JSON.stringify(registry)} is not a registry host`);
    return `istio-mesh-cache-${registry.replace(/[.:]/g, "-")}`;
}

/** The endpoint the nodes' containerd reaches a cache at, over the `kind` network. */
export function cacheEndpoint(spec: Pick<ImageCacheSpec, "container">): string {
    return `http://${spec.container}:${CACHE_PORT}`;
}

/** Environment variables that carry a cache's upstream credentials into the cache script, by index. */
export function credentialVariables(index: number): { readonly username: string; readonly password: string } {
    return { username: `IMAGE_CACHE_${index}_USERNAME`, password: `IMAGE_CACHE_${index}_PASSWORD` };
}

/** What the caches are made from. */
export interface ImageCacheOptions {
    /** Upstream registries to cache. */
    readonly registries: readonly string[];
    /** Registries the user mirrors: their mirror wins, so no cache is made for them. */
    readonly mirrored: readonly string[];
    /** Host ports to publish caches on, by registry. */
    readonly hostPorts: readonly { readonly registry: string; readonly hostPort: number }[];
    readonly listenAddress: string;
    /** Registries with upstream credentials. */
    readonly authenticated: readonly string[];
    /** @default PINS.registryImage */
    readonly image?: string;
}

/** The caches to make: one per registry, except those a user's mirror serves. */
export function imageCacheSpecs(o: ImageCacheOptions): ImageCacheSpec[] {
    return o.registries
        .filter((r) => !o.mirrored.includes(r))
        .map((registry) => {
            const at = o.hostPorts.findIndex((p) => p.registry === registry);
            return {
                registry,
                container: cacheName(registry),
                volume: cacheName(registry),
                remoteUrl: upstreamUrl(registry),
                hostPort: at >= 0 ? o.hostPorts[at].hostPort : undefined,
                hostPortIndex: at >= 0 ? at : undefined,
                listenAddress: o.listenAddress,
                authenticated: o.authenticated.includes(registry),
                image: o.image ?? PINS.registryImage,
            };
        });
}

/**
 * A digest of what a cache container is made from; a container made from anything else is
 * recreated. An authenticated cache's label adds a digest of its credentials, computed in the
 * script (they never reach the program's plain values).
 */
export function cacheConfigDigest(spec: ImageCacheSpec): string {
    const { image, remoteUrl, hostPort, listenAddress, authenticated } = spec;
    const json = JSON.stringify({
        image,
        remoteUrl,
        hostPort: hostPort ?? null,
        listenAddress: hostPort ? listenAddress : null,
        authenticated,
    });
    return crypto.createHash("sha256").update(json).digest("hex").slice(0, 16);
}

/** The `docker run` of one cache; credentials pass by variable name only, never as values on the command line. */
function runCommand(spec: ImageCacheSpec, index: number): string {
    const vars = credentialVariables(index);
    const args = [
        "docker run -d --restart=always",
        `--name ${shq(spec.container)}`,
        `--label ${shq(`${CACHE_LABEL}=${spec.registry}`)}`,
        // $want: the settings' digest, with the credentials' when there are any (see imageCacheScript).
        `--label "${CACHE_CONFIG_LABEL}=$want"`,
        `-v ${shq(`${spec.volume}:${CACHE_STORAGE}`)}`,
        `-e ${shq(`REGISTRY_PROXY_REMOTEURL=${spec.remoteUrl}`)}`,
        `-e ${shq(`REGISTRY_HTTP_DEBUG_ADDR=${CACHE_DEBUG_ADDR}`)}`,
        ...(spec.authenticated ? ["-e REGISTRY_PROXY_USERNAME", "-e REGISTRY_PROXY_PASSWORD"] : []),
        ...(spec.hostPort !== undefined ? [`-p ${shq(`${spec.listenAddress}:${spec.hostPort}:${CACHE_PORT}`)}`] : []),
        shq(spec.image),
    ].join(" ");
    // `-e NAME` without a value takes it from docker's own environment (docker run --env).
    const env = spec.authenticated ? `REGISTRY_PROXY_USERNAME="$${vars.username}" REGISTRY_PROXY_PASSWORD="$${vars.password}" ` : "";
    return `${env}${args} >/dev/null`;
}

/** The port check of a cache's host port, whose message names the setting and the fix. */
function portCheck(spec: ImageCacheSpec): string {
    const index = spec.hostPortIndex ?? 0;
    return `port_free ${shq(spec.listenAddress)} ${shq(String(spec.hostPort))} || ${failWith(
        `host port ${spec.hostPort} on ${spec.listenAddress} for the image cache of ${spec.registry} (kind.imageCache.hostPorts[${index}]) is already in use. Stop what listens there, or pick another port: pulumi config set --path 'kind.imageCache.hostPorts[${index}].hostPort' <free port>`,
    )}`;
}

/**
 * The script of the cache command. First every check, before anything is made: Docker runs, a
 * container of a cache's name that is not a cache is refused (never touched), and each new cache's
 * host port is free. Then each cache: its volume (kept when it exists), and its container, left
 * running when it was made from the same settings, started when stopped, recreated on the same
 * volume when its settings changed. A failure removes what this run made and nothing else.
 */
export function imageCacheScript(specs: readonly ImageCacheSpec[]): string {
    const checks = specs.flatMap((s, i) => {
        const c = shq(s.container);
        const vars = credentialVariables(i);
        return [
            ...(s.authenticated
                ? [
                      `[ -n "\${${vars.username}:-}" ] && [ -n "\${${vars.password}:-}" ] || ${failWith(
                          `the credentials for the image cache of ${s.registry} did not reach the cache command (${vars.username} and ${vars.password} are empty). Set them again: pulumi config set --secret imageCacheCredentials <json>`,
                      )}`,
                  ]
                : []),
            `owner=$(docker inspect --type container --format '{{index .Config.Labels "${CACHE_LABEL}"}}' ${c} 2>/dev/null || printf '%s' absent)`,
            `if [ "$owner" != absent ] && [ "$owner" != ${shq(s.registry)} ]; then ${failWith(
                `a Docker container named ${s.container} exists and is not this stack's image cache of ${s.registry}, so it is left alone. Rename or remove it (docker rm -f ${s.container}), or switch the cache off: pulumi config set --path kind.imageCache.enabled false`,
            )}; fi`,
            `owner=$(docker volume inspect --format '{{index .Labels "${CACHE_LABEL}"}}' ${shq(s.volume)} 2>/dev/null || printf '%s' absent)`,
            `if [ "$owner" != absent ] && [ "$owner" != ${shq(s.registry)} ]; then ${failWith(
                `a Docker volume named ${s.volume} exists and is not this stack's image cache of ${s.registry}, so it is left alone. Remove it (docker volume rm ${s.volume}), or switch the cache off: pulumi config set --path kind.imageCache.enabled false`,
            )}; fi`,
            ...(s.hostPort !== undefined
                ? [`if ! docker inspect --type container ${c} >/dev/null 2>&1; then`, `  ${portCheck(s)}`, `fi`]
                : []),
        ];
    });
    const makes = specs.flatMap((s, i) => {
        const c = shq(s.container);
        const v = shq(s.volume);
        const vars = credentialVariables(i);
        return [
            s.authenticated
                ? `want=${shq(cacheConfigDigest(s))}-$(secret_digest ${vars.username} ${vars.password})`
                : `want=${shq(cacheConfigDigest(s))}`,
            `if ! docker volume inspect ${v} >/dev/null 2>&1; then`,
            `  docker volume create --label ${shq(`${CACHE_LABEL}=${s.registry}`)} ${v} >/dev/null || ${failWith(
                `could not create the Docker volume ${s.volume} for the image cache of ${s.registry} (see Docker's message above). Free disk space for Docker (docker system df), or switch the cache off: pulumi config set --path kind.imageCache.enabled false`,
            )}`,
            `  made_volumes="$made_volumes ${s.volume}"`,
            `fi`,
            `current=$(docker inspect --type container --format '{{index .Config.Labels "${CACHE_CONFIG_LABEL}"}}' ${c} 2>/dev/null || printf '%s' absent)`,
            `if [ "$current" != absent ] && [ "$current" != "$want" ]; then`,
            `  ${sayThat(`image cache ${s.container}: its settings changed; recreating it on the same volume.`)}`,
            `  docker rm -f ${c} >/dev/null`,
            ...(s.hostPort !== undefined ? [`  ${portCheck(s)}`] : []),
            `  current=absent`,
            `fi`,
            `if [ "$current" = absent ]; then`,
            `  ${runCommand(s, i)} || ${failWith(`could not start the image cache ${s.container} (see Docker's message above).`)}`,
            `  made_containers="$made_containers ${s.container}"`,
            `  ${sayThat(`image cache ${s.container}: started, caching ${s.remoteUrl}.`)}`,
            `elif [ "$(docker inspect --type container --format '{{.State.Running}}' ${c})" != true ]; then`,
            `  docker start ${c} >/dev/null || ${failWith(`could not start the image cache ${s.container} (see Docker's message above).`)}`,
            `  ${sayThat(`image cache ${s.container}: started again.`)}`,
            `else`,
            `  ${sayThat(`image cache ${s.container}: running.`)}`,
            `fi`,
        ];
    });
    return [
        ...prelude(),
        ...DOCKER_PREFLIGHT,
        // Binding the port is the one check that works the same on Linux, macOS and WSL; Node is a prerequisite.
        `port_free() { node -e 'const s=require("net").createServer();s.once("error",()=>process.exit(1));s.listen(Number(process.argv[2]),process.argv[1],()=>s.close(()=>process.exit(0)))' "$1" "$2"; }`,
        // A digest of the credentials, so that new ones recreate the cache; node reads them from its environment by name, never from its arguments.
        `secret_digest() { node -e 'process.stdout.write(require("crypto").createHash("sha256").update(process.env[process.argv[1]] + "\\n" + process.env[process.argv[2]]).digest("hex").slice(0, 16))' "$1" "$2"; }`,
        ...checks,
        // Names are [a-z0-9-] by construction (cacheName), so the lists split on spaces safely.
        `made_containers=""`,
        `made_volumes=""`,
        `undo() { status=$?; if [ "$status" -ne 0 ]; then for c in $made_containers; do docker rm -f "$c" >/dev/null 2>&1 || true; done; for v in $made_volumes; do docker volume rm "$v" >/dev/null 2>&1 || true; done; fi; }`,
        `trap undo EXIT`,
        `trap 'exit 129' HUP`,
        `trap 'exit 130' INT`,
        `trap 'exit 143' TERM`,
        ...makes,
        "",
    ].join("\n");
}
