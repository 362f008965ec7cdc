import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, validateConfig } from "../../components/config";
import { defaultKubeconfigPath } from "../../components/cluster/config";
import { EXISTING_KUBECONFIG, rawConfigFor } from "../harness";
import { expectProblem, K, problems } from "../configProblems";

describe("cluster config: clusterMode, clusterName and kind", () => {
    const mirror = (m: unknown) => problems("dev", { [`${K}kind`]: { registryMirrors: [m] } });

    it("rejects an unknown cluster mode naming the key, value and fix", () => {
        expectProblem(
            "dev",
            { [`${K}clusterMode`]: "minikube" },
            `clusterMode must be one of "kind", "existing" (got "minikube"). Fix: pulumi config set clusterMode kind --stack dev`,
        );
    });

    it("rejects a cluster name that is not a DNS-1123 label", () => {
        expectProblem(
            "dev",
            { [`${K}clusterName`]: "Istio_Dev" },
            `clusterName must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit, at most 40 characters (got "Istio_Dev"). Fix: pulumi config set clusterName istio-dev --stack dev`,
        );
    });

    it("rejects kind.workers above 5 naming the key", () => {
        expectProblem("dev", { [`${K}kind`]: { workers: 7 } }, "kind.workers must be a whole number between 0 and 5 (got 7).");
    });

    it("rejects host ports out of range and duplicated", () => {
        const found = problems("dev", { [`${K}kind`]: { hostPorts: { http: 70000, grafana: 9090 } } });
        assert.ok(found.includes("kind.hostPorts.http must be a whole number between 1 and 65535 (got 70000)."), found.join("\n"));
        assert.ok(
            found.includes(
                "kind.hostPorts.grafana must differ from kind.hostPorts.prometheus (both got 9090). Fix: give each endpoint its own host port.",
            ),
            found.join("\n"),
        );
    });

    it("rejects a listen address that is not IPv4", () => {
        expectProblem(
            "dev",
            { [`${K}kind`]: { listenAddress: "localhost" } },
            `kind.listenAddress must be an IPv4 address such as "127.0.0.1" (got "localhost").`,
        );
    });

    it("rejects zone labels that are not label values, and more zones than nodes", () => {
        const found = problems("dev", { [`${K}kind`]: { zones: ["zone a", "b"] } });
        assert.ok(
            found.includes(`kind.zones[0] must be a Kubernetes label value (letters, digits, "-", "_", ".", at most 63) (got "zone a").`),
            found.join("\n"),
        );
        assert.ok(
            found.some((f) => f.startsWith("kind.zones names 2 zones but the cluster has only 1 node(s)")),
            found.join("\n"),
        );
    });

    it("rejects a registry mirror without a URL endpoint", () => {
        expectProblem(
            "dev",
            { [`${K}kind`]: { registryMirrors: [{ registry: "docker.io", endpoint: "mirror:5000" }] } },
            `kind.registryMirrors[0].endpoint must be an http:// or https:// URL without spaces, quotes or control characters (got "mirror:5000").`,
        );
    });

    it("rejects a typo in a structured key instead of ignoring it", () => {
        expectProblem(
            "dev",
            { [`${K}kind`]: { worker: 2 } },
            "kind.worker is not a known setting (got 2). Fix: use one of workers, nodeImage, region, zones, listenAddress, hostPorts, registryMirrors, preloadImages, imageCache, exportKubeconfig.",
        );
    });

    it("leaves the user's kubeconfig alone unless kind.exportKubeconfig asks for the merge", () => {
        assert.equal(validateConfig(rawConfigFor("dev")).kind?.exportKubeconfig, false);
        assert.equal(validateConfig(rawConfigFor("staging")).kind?.exportKubeconfig, false);
        // `pulumi config set --path kind.exportKubeconfig true` stores a boolean; a string from YAML is read too.
        assert.equal(validateConfig(rawConfigFor("dev", { [`${K}kind`]: { exportKubeconfig: true } })).kind?.exportKubeconfig, true);
        assert.equal(validateConfig(rawConfigFor("dev", { [`${K}kind`]: { exportKubeconfig: "true" } })).kind?.exportKubeconfig, true);
        expectProblem("dev", { [`${K}kind`]: { exportKubeconfig: "yes" } }, `kind.exportKubeconfig must be true or false (got "yes").`);
    });

    it("tells prod users which command sets the missing kubeconfig", () => {
        expectProblem(
            "prod",
            {},
            `kubeconfig is required when clusterMode is "existing" (got nothing). Fix: pulumi config set --secret kubeconfig --stack prod < ~/.kube/config   (or name a context of your kubeconfig file: pulumi config set kubeContext my-context --stack prod)`,
        );
    });

    it("keeps the existing cluster's kubeconfig secret", async () => {
        const cfg = validateConfig(rawConfigFor("prod", { [`${K}kubeconfig`]: EXISTING_KUBECONFIG }));
        assert.equal(await pulumi.isSecret(cfg.existing!.kubeconfig), true);
    });

    it("reads a context's kubeconfig from the default file and keeps it secret", async () => {
        const raw = {
            ...rawConfigFor("prod", { [`${K}kubeContext`]: "prod-admin" }),
            kubeconfigFile: { path: "/home/u/.kube/config", content: EXISTING_KUBECONFIG.replace(/\bprod\b/g, "prod-admin") },
        };
        const cfg = validateConfig(raw);
        assert.equal(cfg.existing?.context, "prod-admin");
        assert.equal(await pulumi.isSecret(cfg.existing!.kubeconfig), true);
    });

    it("finds the kubeconfig file as kubectl does", () => {
        assert.equal(defaultKubeconfigPath({ KUBECONFIG: "/a/config:/b/config" }), "/a/config");
        assert.match(defaultKubeconfigPath({}), /\.kube[/\\]config$/);
    });

    it("rejects kind settings on an existing cluster", () => {
        const found = problems("prod", { [`${K}kubeconfig`]: EXISTING_KUBECONFIG, [`${K}kind`]: { workers: 1 } });
        assert.ok(
            found.some((f) => f.startsWith('kind is set but clusterMode is "existing"')),
            found.join("\n"),
        );
    });

    it("refuses registry mirrors that would write outside certs.d or a line of their own into hosts.toml", () => {
        assert.deepEqual(mirror({ registry: "..", endpoint: "http://m:5000" }), [
            `kind.registryMirrors[0].registry must be a registry host, with a port from 1 to 65535 if any, such as "docker.io" or "registry.local:5000" (got "..").`,
        ]);
        assert.deepEqual(mirror({ registry: "registry.local:70000", endpoint: "http://m:5000" }), [
            `kind.registryMirrors[0].registry must be a registry host, with a port from 1 to 65535 if any, such as "docker.io" or "registry.local:5000" (got "registry.local:70000").`,
        ]);
        assert.deepEqual(mirror({ registry: "docker.io", endpoint: 'http://m:5000"]\n  skip_verify = true' }), [
            `kind.registryMirrors[0].endpoint must be an http:// or https:// URL without spaces, quotes or control characters (got "http://m:5000\\"]\\n  skip_verify = true").`,
        ]);
        assert.deepEqual(mirror({ registry: "docker.io", endpoint: "http://m:5000", insecure: true }), [
            `kind.registryMirrors[0].insecure is not a known setting (got true). Fix: use one of registry, endpoint.`,
        ]);
        assert.deepEqual(
            problems("dev", {
                [`${K}kind`]: {
                    registryMirrors: [
                        { registry: "docker.io", endpoint: "http://a:5000" },
                        { registry: "docker.io", endpoint: "http://b:5000" },
                    ],
                },
            }),
            [`kind.registryMirrors[1].registry repeats a registry mirrored above (got "docker.io"). Fix: keep one mirror per registry.`],
        );
        assert.deepEqual(mirror({ registry: "registry.local:5000", endpoint: "https://cache.example.com/v2" }), []);
    });

    it("refuses image references no registry accepts, saying why", () => {
        assert.deepEqual(problems("dev", { [`${K}kind`]: { nodeImage: "kindest/Node:v1.35.8" } }), [
            `kind.nodeImage must be an image reference such as "kindest/node:v1.36.4@sha256:..." (got "kindest/Node:v1.35.8": upper-case letters in the repository path).`,
        ]);
        assert.deepEqual(problems("dev", { [`${K}kind`]: { preloadImages: ["busybox:1.37", "busybox\n--all", 7] } }), [
            `kind.preloadImages[1] must be an image reference such as "docker.io/istio/proxyv2:1.31.1" (got "busybox\\n--all": whitespace or a control character).`,
            `kind.preloadImages[2] must be an image reference such as "docker.io/istio/proxyv2:1.31.1" (got 7).`,
        ]);
        assert.deepEqual(problems("dev", { [`${K}kind`]: { preloadImages: "busybox" } }), [
            `kind.preloadImages must be a list of image references (got "busybox").`,
        ]);
    });

    it("refuses listen addresses Node cannot parse, and multicast or broadcast ones", () => {
        const listen = (listenAddress: string) => problems("dev", { [`${K}kind`]: { listenAddress } });
        assert.deepEqual(listen("127.000.0.1"), [`kind.listenAddress must be an IPv4 address such as "127.0.0.1" (got "127.000.0.1").`]);
        assert.deepEqual(listen("239.1.1.1"), [
            `kind.listenAddress must be an address of this machine, not a multicast or broadcast one (got "239.1.1.1"). Fix: pulumi config set --path kind.listenAddress 127.0.0.1`,
        ]);
        assert.deepEqual(listen("255.255.255.255").length, 1);
    });
});

describe("cluster config: an existing cluster's kubeconfig", () => {
    const FIX = "Fix: pulumi config set --secret kubeconfig --stack prod < path/to/kubeconfig (the file's content, not its path)";
    const prod = (kubeconfig: string, extra: Record<string, unknown> = {}) =>
        problems("prod", { [`${K}kubeconfig`]: kubeconfig, ...extra });

    it("refuses an empty kubeconfig, which would send Istio to the current kube context", () => {
        assert.deepEqual(prod("  \n"), [
            `kubeconfig is empty (got an empty value in the kubeconfig): the provider would fall back to your current kube context and install Istio wherever it points. ${FIX}`,
        ]);
    });

    it("refuses a kubeconfig that is a path, not YAML, or names no cluster and context, without quoting it", () => {
        assert.deepEqual(prod("~/.kube/config"), [
            `kubeconfig must be a kubeconfig file's content (got a file path in the kubeconfig). ${FIX}`,
        ]);
        assert.deepEqual(prod("token: [unclosed"), [
            `kubeconfig must be a kubeconfig file's content (got text that is not a YAML map in the kubeconfig). ${FIX}`,
        ]);
        assert.deepEqual(prod("apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: s3cr3t}}]\n"), [
            `kubeconfig must name a cluster and a context (got 0 clusters and 0 contexts in the kubeconfig). ${FIX}`,
        ]);
        assert.ok(!prod("apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: s3cr3t}}]\n").join().includes("s3cr3t"));
    });

    it("refuses a kubeContext the kubeconfig does not have, naming the contexts it has", () => {
        assert.deepEqual(prod(EXISTING_KUBECONFIG, { [`${K}kubeContext`]: "staging" }), [
            `kubeContext must be a context of the kubeconfig (got "staging"; it has "prod"). Fix: pulumi config set kubeContext prod --stack prod`,
        ]);
        assert.deepEqual(prod(EXISTING_KUBECONFIG.replace("current-context: prod", "current-context: gone")), [
            `kubeconfig has no current context to use (got "gone"; it has "prod"). Fix: pulumi config set kubeContext prod --stack prod`,
        ]);
    });

    it("refuses a kubeconfig or kube context on kind, which makes its own cluster", () => {
        assert.deepEqual(problems("dev", { [`${K}kubeconfig`]: EXISTING_KUBECONFIG, [`${K}kubeContext`]: "prod" }), [
            `kubeconfig is set but clusterMode is "kind" (got a kubeconfig the stack would ignore: it makes its own cluster). Fix: pulumi config rm kubeconfig --stack dev, or pulumi config set clusterMode existing --stack dev`,
            `kubeContext is set but clusterMode is "kind" (got a kubeContext the stack would ignore: it makes its own cluster). Fix: pulumi config rm kubeContext --stack dev, or pulumi config set clusterMode existing --stack dev`,
        ]);
    });

    it("finds a repeated registry among the mirrors that are right, not among the wrong ones", () => {
        const mirrors = (registryMirrors: unknown[]) => problems("dev", { [`${K}kind`]: { registryMirrors } });
        assert.deepEqual(
            mirrors([
                { registry: "..", endpoint: "http://a:5000" },
                { registry: "..", endpoint: "http://b:5000" },
                { registry: "docker.io", endpoint: "http://c:5000" },
                { registry: "docker.io", endpoint: "bad" },
                { registry: "docker.io", endpoint: "http://d:5000" },
            ]),
            [
                `kind.registryMirrors[0].registry must be a registry host, with a port from 1 to 65535 if any, such as "docker.io" or "registry.local:5000" (got "..").`,
                `kind.registryMirrors[1].registry must be a registry host, with a port from 1 to 65535 if any, such as "docker.io" or "registry.local:5000" (got "..").`,
                `kind.registryMirrors[3].endpoint must be an http:// or https:// URL without spaces, quotes or control characters (got "bad").`,
                `kind.registryMirrors[4].registry repeats a registry mirrored above (got "docker.io"). Fix: keep one mirror per registry.`,
            ],
        );
    });

    it("draws the lines of mirrors, listen addresses, cluster names and whole numbers where they are", () => {
        const mirror = (m: unknown) => problems("dev", { [`${K}kind`]: { registryMirrors: [m] } });
        const endpoint = (e: string) => mirror({ registry: "docker.io", endpoint: e });
        for (const ok of ["https://m", "http://m:5000/v2"]) assert.deepEqual(endpoint(ok), [], ok);
        for (const bad of ["http://m:5000/\u0007", "http://m/\u007f", "ftp://m", "http://", "http://m/'x'"]) {
            assert.deepEqual(
                endpoint(bad),
                [
                    `kind.registryMirrors[0].endpoint must be an http:// or https:// URL without spaces, quotes or control characters (got ${JSON.stringify(bad)}).`,
                ],
                bad,
            );
        }
        const registry = (r: string) => mirror({ registry: r, endpoint: "http://m:5000" });
        for (const ok of ["registry.local:1", "registry.local:65535"]) assert.deepEqual(registry(ok), [], ok);
        for (const bad of ["registry.local:0", "registry.local:65536"]) assert.equal(registry(bad).length, 1, bad);
        const listen = (listenAddress: string) => problems("dev", { [`${K}kind`]: { listenAddress } });
        assert.deepEqual(listen("223.255.255.254"), []);
        assert.deepEqual(listen("224.0.0.1"), [
            `kind.listenAddress must be an address of this machine, not a multicast or broadcast one (got "224.0.0.1"). Fix: pulumi config set --path kind.listenAddress 127.0.0.1`,
        ]);
        assert.deepEqual(problems("dev", { [`${K}clusterName`]: "a".repeat(40) }), []);
        assert.equal(problems("dev", { [`${K}clusterName`]: "a".repeat(41) }).length, 1);
        assert.deepEqual(problems("dev", { [`${K}kind`]: { workers: " " } }), [
            `kind.workers must be a whole number between 0 and 5 (got " ").`,
        ]);
        assert.equal(validateConfig(rawConfigFor("dev", { [`${K}kind`]: { workers: " 1 ", zones: ["a", "b"] } })).kind?.workers, 1);
        assert.equal(defaultKubeconfigPath({ KUBECONFIG: ":/b/config" }), "/b/config");
    });

    it("tells a path from a kubeconfig, counts only named contexts, and reads an empty kubeContext as none", () => {
        assert.deepEqual(prod("C:\\Users\\me\\.kube\\config"), [
            `kubeconfig must be a kubeconfig file's content (got a file path in the kubeconfig). ${FIX}`,
        ]);
        assert.deepEqual(prod("./kubeconfig"), [
            `kubeconfig must be a kubeconfig file's content (got a file path in the kubeconfig). ${FIX}`,
        ]);
        assert.deepEqual(prod("clusters: [{name: c}]\ncontexts: [{context: {cluster: c}}]\n"), [
            `kubeconfig must name a cluster and a context (got 1 clusters and 0 contexts in the kubeconfig). ${FIX}`,
        ]);
        assert.deepEqual(prod(EXISTING_KUBECONFIG, { [`${K}kubeContext`]: "" }), []);
        const noFile = () => {
            try {
                validateConfig({
                    ...rawConfigFor("prod", { [`${K}kubeContext`]: "edge" }),
                    kubeconfigFile: { path: "/home/u/.kube/config" },
                });
                return [];
            } catch (e) {
                return [...(e as ConfigError).problems];
            }
        };
        assert.deepEqual(noFile(), [
            `kubeContext is "edge" but no kubeconfig file was found at /home/u/.kube/config (got nothing). Fix: point KUBECONFIG at your kubeconfig, or pulumi config set --secret kubeconfig --stack prod < path/to/kubeconfig`,
        ]);
    });
});

describe("cluster config: kind.imageCache", () => {
    const cache = (imageCache: unknown, kind: Record<string, unknown> = {}) => problems("dev", { [`${K}kind`]: { ...kind, imageCache } });

    it("caches the stack's registries by default, publishing nothing", () => {
        assert.deepEqual(validateConfig(rawConfigFor("dev")).kind?.imageCache, {
            enabled: true,
            registries: ["docker.io", "quay.io", "ghcr.io"],
            hostPorts: [],
        });
        assert.deepEqual(
            validateConfig(rawConfigFor("dev", { [`${K}kind`]: { imageCache: { enabled: "false" } } })).kind?.imageCache.enabled,
            false,
        );
    });

    it("rejects a registry that is not a host, and two registries whose caches would share a name", () => {
        assert.deepEqual(cache({ registries: ["docker.io", "a/b"] }), [
            `kind.imageCache.registries[1] must be a registry host, with a port from 1 to 65535 if any, such as "docker.io" or "registry.local:5000" (got "a/b").`,
        ]);
        assert.deepEqual(cache({ registries: ["a.b", "a-b"] }), [
            `kind.imageCache.registries must not repeat a registry (got ["a.b","a-b"]; "a.b" and "a-b" count as one, their caches share a name).`,
        ]);
    });

    it("rejects a published port for a registry without a cache, repeated, or missing", () => {
        assert.deepEqual(cache({ hostPorts: [{ registry: "gcr.io", hostPort: 5001 }] }), [
            `kind.imageCache.hostPorts[0].registry must be a registry of kind.imageCache.registries (got "gcr.io"; they are ["docker.io","quay.io","ghcr.io"]).`,
        ]);
        assert.deepEqual(
            cache(
                { hostPorts: [{ registry: "docker.io", hostPort: 5001 }] },
                { registryMirrors: [{ registry: "docker.io", endpoint: "http://m:5000" }] },
            ),
            [
                `kind.imageCache.hostPorts[0].registry names a registry that kind.registryMirrors sends to your own mirror, so it has no cache to publish (got "docker.io").`,
            ],
        );
        assert.deepEqual(
            cache({
                hostPorts: [
                    { registry: "quay.io", hostPort: 5001 },
                    { registry: "quay.io", hostPort: 5002 },
                ],
            }),
            [`kind.imageCache.hostPorts[1].registry repeats a registry published above (got "quay.io").`],
        );
        assert.deepEqual(cache({ hostPorts: [{ registry: "quay.io" }] }), [
            "kind.imageCache.hostPorts[0].hostPort must be set (got nothing). Fix: give the cache a free port, such as 5001.",
        ]);
        assert.deepEqual(cache({ hostPorts: [{ registry: "quay.io", hostPort: 0 }] }), [
            "kind.imageCache.hostPorts[0].hostPort must be a whole number between 1 and 65535 (got 0).",
        ]);
    });

    it("rejects a published port that kind or another cache already maps", () => {
        assert.deepEqual(
            cache({
                hostPorts: [
                    { registry: "quay.io", hostPort: 8080 },
                    { registry: "ghcr.io", hostPort: 5001 },
                    { registry: "docker.io", hostPort: 5001 },
                ],
            }),
            [
                "kind.imageCache.hostPorts[0].hostPort must differ from kind.hostPorts.http (both got 8080). Fix: give each its own host port.",
                "kind.imageCache.hostPorts[2].hostPort must differ from kind.imageCache.hostPorts[1].hostPort (both got 5001). Fix: give each its own host port.",
            ],
        );
    });

    it("rejects an unknown setting of the section", () => {
        assert.deepEqual(cache({ enable: true }), [
            "kind.imageCache.enable is not a known setting (got true). Fix: use one of enabled, registries, hostPorts.",
        ]);
    });
});

describe("cluster config: imageCacheCredentials", () => {
    const creds = (value: unknown, extra: Record<string, unknown> = {}) =>
        problems("dev", { [`${K}imageCacheCredentials`]: typeof value === "string" ? value : JSON.stringify(value), ...extra });
    const FIX = `Fix: pulumi config set --secret imageCacheCredentials '{"docker.io": {"username": "me", "password": "<access token>"}}' --stack dev`;

    it("keeps the credentials of a cached registry secret, and names the registries in plain text", async () => {
        const cfg = validateConfig(
            rawConfigFor("dev", { [`${K}imageCacheCredentials`]: JSON.stringify({ "docker.io": { username: "me", password: "tok" } }) }),
        );
        assert.deepEqual(cfg.imageCacheCredentials?.registries, ["docker.io"]);
        const values = cfg.imageCacheCredentials!.values;
        assert.equal(await pulumi.isSecret(values), true);
        assert.equal(validateConfig(rawConfigFor("dev")).imageCacheCredentials, undefined);
    });

    it("rejects credentials that are not JSON, incomplete, or for a registry without a cache, quoting no value", () => {
        assert.deepEqual(creds("user:pass"), [
            `imageCacheCredentials must be a JSON object of registry → {username, password} (got text that is not one). ${FIX}`,
        ]);
        const found = creds({ "docker.io": { username: "alice", password: "" }, "gcr.io": { username: "a", password: "b" } });
        assert.deepEqual(found, [
            `imageCacheCredentials.docker.io must be {"username": ..., "password": ...} with both non-empty and nothing else (got the keys ["username","password"]). ${FIX}`,
            `imageCacheCredentials names "gcr.io", which has no image cache (the caches are ["docker.io","quay.io","ghcr.io"]). Fix: name one of them, or add it to kind.imageCache.registries.`,
        ]);
        assert.ok(!found.join("\n").includes("alice"));
        assert.deepEqual(
            creds(
                { "docker.io": { username: "me", password: "p" } },
                { [`${K}kind`]: { registryMirrors: [{ registry: "docker.io", endpoint: "http://m:5000" }] } },
            )[0],
            `imageCacheCredentials names "docker.io", which has no image cache (the caches are ["quay.io","ghcr.io"]). Fix: name one of them, or add it to kind.imageCache.registries.`,
        );
    });

    it("rejects credentials nothing would use, and credentials in plain text", () => {
        assert.deepEqual(creds({ "docker.io": { username: "me", password: "p" } }, { [`${K}kind`]: { imageCache: { enabled: false } } }), [
            "imageCacheCredentials is set but kind.imageCache.enabled is false (got credentials nothing would use). Fix: pulumi config rm imageCacheCredentials --stack dev",
        ]);
        const plain = () => {
            try {
                validateConfig({ ...rawConfigFor("dev"), imageCacheCredentials: { value: "{}", secret: false } });
                return [];
            } catch (e) {
                return [...(e as ConfigError).problems];
            }
        };
        assert.deepEqual(plain(), [
            "imageCacheCredentials is stored in plain text in Pulumi.dev.yaml (got a value set without --secret). Fix: pulumi config rm imageCacheCredentials --stack dev && pulumi config set --secret imageCacheCredentials --stack dev < <file>",
        ]);
    });
});
