import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, RawConfig, validateConfig } from "../components/config";
import { defaultKubeconfigPath } from "../components/cluster/config";
import { EXISTING_KUBECONFIG, rawConfigFor, runStack } from "./harness";

const K = "istio-mesh:";

/** Validates dev's config with overrides and returns the problems (none when valid). */
function problems(env: string, extra: Record<string, unknown>): string[] {
    try {
        validateConfig(rawConfigFor(env, extra));
        return [];
    } catch (e) {
        if (e instanceof ConfigError) return [...e.problems];
        throw e;
    }
}

function expectProblem(env: string, extra: Record<string, unknown>, expected: string): void {
    const found = problems(env, extra);
    assert.ok(found.includes(expected), `expected problem:\n  ${expected}\ngot:\n  ${found.join("\n  ") || "(none)"}`);
}

describe("config validation", () => {
    it("accepts every committed environment (prod with a kubeconfig)", () => {
        assert.deepEqual(problems("dev", {}), []);
        assert.deepEqual(problems("staging", {}), []);
        assert.deepEqual(problems("prod", { [`${K}kubeconfig`]: EXISTING_KUBECONFIG }), []);
    });

    it("returns a frozen config", () => {
        const cfg = validateConfig(rawConfigFor("dev"));
        assert.ok(Object.isFrozen(cfg));
        assert.ok(Object.isFrozen(cfg.kind));
        assert.ok(Object.isFrozen(cfg.kind?.zones));
    });

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
            "kind.worker is not a known setting (got 2). Fix: use one of workers, nodeImage, region, zones, listenAddress, hostPorts, registryMirrors, preloadImages, exportKubeconfig.",
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

    it("reports every problem at once", () => {
        const found = problems("dev", { [`${K}meshMode`]: "proxyless", [`${K}kind`]: { workers: -1 } });
        assert.equal(found.length, 2, found.join("\n"));
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

    it("asks for the source ranges before exposing the addon UIs through the gateway, and only on existing clusters", () => {
        const prod = { [`${K}kubeconfig`]: EXISTING_KUBECONFIG };
        expectProblem(
            "prod",
            { ...prod, [`${K}observability`]: { gatewayExposure: {} } },
            "observability.gatewayExposure.sourceRanges must list the client address ranges allowed to open the UIs (got nothing). Fix: pulumi config set --path 'observability.gatewayExposure.sourceRanges[0]' 203.0.113.0/24 (Prometheus and Jaeger have no login of their own).",
        );
        expectProblem(
            "prod",
            { ...prod, [`${K}observability`]: { gatewayExposure: { sourceRanges: ["10.0.0.0/33", "office"] } } },
            `observability.gatewayExposure.sourceRanges[0] must be a CIDR such as "203.0.113.0/24" (got "10.0.0.0/33").`,
        );
        expectProblem(
            "dev",
            { [`${K}observability`]: { gatewayExposure: { sourceRanges: ["10.0.0.0/8"] } } },
            'observability.gatewayExposure applies to existing clusters only (got it with clusterMode "kind", where every UI already has a host port). Fix: remove observability.gatewayExposure.',
        );
        assert.deepEqual(
            problems("prod", { ...prod, [`${K}observability`]: { gatewayExposure: { sourceRanges: ["10.0.0.0/8", "fd00::/8"] } } }),
            [],
        );
        expectProblem(
            "prod",
            { ...prod, [`${K}istio`]: { removeCrdsOnDestroy: "yes" } },
            'istio.removeCrdsOnDestroy must be true or false (got "yes").',
        );
    });
});

describe("config validation: secrets and the cluster they point at", () => {
    const CERT = fs.readFileSync(path.join(__dirname, "fixtures", "self-signed.crt"), "utf8");
    const KEY = fs.readFileSync(path.join(__dirname, "fixtures", "self-signed.key"), "utf8");
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

    it("refuses secrets stored in plain text, with the --secret command", () => {
        const raw = rawConfigFor("prod", { [`${K}kubeconfig`]: EXISTING_KUBECONFIG });
        const found = (() => {
            try {
                validateConfig({ ...raw, kubeconfig: { value: EXISTING_KUBECONFIG, secret: false } });
                return [];
            } catch (e) {
                return [...(e as ConfigError).problems];
            }
        })();
        assert.deepEqual(found, [
            "kubeconfig is stored in plain text in Pulumi.prod.yaml (got a value set without --secret). Fix: pulumi config rm kubeconfig --stack prod && pulumi config set --secret kubeconfig --stack prod < <file>",
        ]);
    });

    it("reads whether a key was set with --secret from Pulumi itself", async () => {
        await assert.rejects(
            runStack("prod", { [`${K}kubeconfig`]: EXISTING_KUBECONFIG }, { secretKeys: [] }),
            /kubeconfig is stored in plain text in Pulumi\.prod\.yaml \(got a value set without --secret\)/,
        );
    });

    it("refuses a kubeconfig or kube context on kind, which makes its own cluster", () => {
        assert.deepEqual(problems("dev", { [`${K}kubeconfig`]: EXISTING_KUBECONFIG, [`${K}kubeContext`]: "prod" }), [
            `kubeconfig is set but clusterMode is "kind" (got a kubeconfig the stack would ignore: it makes its own cluster). Fix: pulumi config rm kubeconfig --stack dev, or pulumi config set clusterMode existing --stack dev`,
            `kubeContext is set but clusterMode is "kind" (got a kubeContext the stack would ignore: it makes its own cluster). Fix: pulumi config rm kubeContext --stack dev, or pulumi config set clusterMode existing --stack dev`,
        ]);
    });

    it("accepts a certificate with its own key, and refuses them swapped, not PEM, or not belonging together", () => {
        const tls = (cert: string, key: string) =>
            problems("dev", { [`${K}bookinfo`]: { tls: true }, [`${K}ingressTlsCert`]: cert, [`${K}ingressTlsKey`]: key });
        const fix = "Fix: pulumi config set --secret ingressTlsCert < tls.crt && pulumi config set --secret ingressTlsKey < tls.key";
        assert.deepEqual(tls(CERT, KEY), []);
        assert.deepEqual(tls(KEY, CERT), [
            `ingressTlsCert and ingressTlsKey are swapped (got a private key as the certificate and a certificate as the key). ${fix}`,
        ]);
        assert.deepEqual(tls("cert", KEY), [
            `ingressTlsCert must be a PEM certificate (-----BEGIN CERTIFICATE-----) (got something else). ${fix}`,
        ]);
        const other = crypto
            .generateKeyPairSync("rsa", { modulusLength: 2048 })
            .privateKey.export({ type: "pkcs8", format: "pem" })
            .toString();
        assert.deepEqual(tls(CERT, other), [`ingressTlsKey does not belong to ingressTlsCert (got a key of another certificate). ${fix}`]);
    });

    it("refuses TLS material nothing would serve", () => {
        assert.deepEqual(problems("dev", { [`${K}ingressTlsCert`]: CERT, [`${K}ingressTlsKey`]: KEY }), [
            "ingressTlsCert is set but bookinfo.tls is false (got a certificate nothing would serve). Fix: pulumi config set --path bookinfo.tls true, or pulumi config rm ingressTlsCert and ingressTlsKey",
        ]);
    });
});

describe("config validation: what would reach a shell, a file, or nobody", () => {
    const mirror = (m: unknown) => problems("dev", { [`${K}kind`]: { registryMirrors: [m] } });

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

    it("refuses a Gateway API bundle from a URL, or from a file that is not there", () => {
        const fix =
            "Fix: download standard-install.yaml of Gateway API v1.5.1 and pulumi config set --path istio.gatewayApi.localFile ./standard-install.yaml";
        const local = (localFile: string, exists: boolean) => {
            try {
                validateConfig(rawConfigFor("dev", { [`${K}istio`]: { gatewayApi: { localFile } } }), () => exists);
                return [];
            } catch (e) {
                return [...(e as ConfigError).problems];
            }
        };
        assert.deepEqual(local("http://example.com/standard-install.yaml", true), [
            `istio.gatewayApi.localFile must be a file on this machine (got "http://example.com/standard-install.yaml"): a URL would bring the CRDs unpinned and, over http, unauthenticated; the stack already applies the pinned release asset by default. ${fix}`,
        ]);
        assert.deepEqual(local("./standard-install.yaml", false), [
            `istio.gatewayApi.localFile must exist (got "./standard-install.yaml", which is not there). ${fix}`,
        ]);
        assert.deepEqual(local("./standard-install.yaml", true), []);
    });

    it("refuses settings nothing would use: a local bundle with install off, an authorizer with authorization off", () => {
        assert.ok(
            problems("dev", { [`${K}istio`]: { gatewayApi: { install: false, localFile: __filename } } }).includes(
                "istio.gatewayApi.localFile is set but istio.gatewayApi.install is false (got a file nothing would apply). Fix: pulumi config rm --path istio.gatewayApi.localFile",
            ),
        );
        const extAuthz = { name: "ext-authz", service: "authz.auth.svc.cluster.local", port: 9000 };
        assert.deepEqual(problems("dev", { [`${K}bookinfo`]: { extAuthz, authorization: false } }), [
            "bookinfo.extAuthz needs bookinfo.authorization true (got authorization false): the authorizer is consulted by a CUSTOM AuthorizationPolicy, which the stack creates only with authorization on, so nothing would ask it. Fix: pulumi config set --path bookinfo.authorization true, or remove bookinfo.extAuthz",
        ]);
    });

    it("warns, on every run, about UIs opened beyond this machine or to every address", () => {
        assert.deepEqual(validateConfig(rawConfigFor("dev")).warnings, []);
        assert.deepEqual(validateConfig(rawConfigFor("dev", { [`${K}kind`]: { listenAddress: "192.168.1.10" } })).warnings, [
            `kind.listenAddress is "192.168.1.10": every UI and the ingress gateway are reachable from other machines on that network, Prometheus and Jaeger without a login. Keep it "127.0.0.1" unless you mean that.`,
        ]);
        const exposed = validateConfig(
            rawConfigFor("prod", {
                [`${K}kubeconfig`]: EXISTING_KUBECONFIG,
                [`${K}observability`]: { gatewayExposure: { sourceRanges: ["203.0.113.0/24", "0.0.0.0/0", "::/0"] } },
            }),
        );
        assert.deepEqual(exposed.warnings, [
            "observability.gatewayExposure.sourceRanges includes 0.0.0.0/0 and ::/0: the addon UIs are open to every address, Prometheus and Jaeger without a login. Name the ranges of your clients instead.",
        ]);
    });
});

describe("config validation: nothing silently ignored, nothing left to fail halfway", () => {
    const raw = (extra: Record<string, unknown> = {}, more: Partial<RawConfig> = {}): string[] => {
        try {
            validateConfig({ ...rawConfigFor("dev", extra), ...more });
            return [];
        } catch (e) {
            return [...(e as ConfigError).problems];
        }
    };

    it("names the key a typo meant, the --path form of a flat key, and a misspelt project namespace", () => {
        const keys = [
            "istio-mesh:clusterName",
            "istio-mesh:observabilty",
            "istio-mesh:meshmode",
            "istio-mesh:kind.workers",
            "istio-mes:clusterName",
            "pulumi:disable-default-providers",
            "kubernetes:enableServerSideApply",
        ];
        assert.deepEqual(raw({}, { keys }), [
            "istio-mesh:observabilty is not a setting of this stack (got a key nothing reads). Fix: did you mean istio-mesh:observability? pulumi config rm observabilty --stack dev, then set observability.",
            "istio-mesh:meshmode is not a setting of this stack (got a key nothing reads). Fix: did you mean istio-mesh:meshMode? pulumi config rm meshmode --stack dev, then set meshMode.",
            "istio-mesh:kind.workers is stored as a key of its own, which nothing reads (got a flat key with a dot). Fix: pulumi config rm 'kind.workers' --stack dev && pulumi config set --path kind.workers <value> --stack dev",
            `istio-mes:clusterName is in namespace "istio-mes", which nothing in this stack reads (got a key outside "istio-mesh:"). Fix: pulumi config rm 'istio-mes:clusterName' --stack dev, then set it as istio-mesh:clusterName.`,
        ]);
    });

    it("reports a structured key that does not parse among the other problems, with a fix", () => {
        assert.deepEqual(raw({}, { unreadable: ["istio"] }), [
            "istio must be an object written as YAML or JSON (got text that does not parse). Fix: write it as YAML under istio-mesh:istio: in Pulumi.dev.yaml, or set one setting at a time with pulumi config set --path istio.<setting> <value> --stack dev",
        ]);
    });

    it("says Infinity, not null", () => {
        assert.ok(
            problems("dev", { [`${K}kind`]: { workers: Infinity } }).includes(
                "kind.workers must be a whole number between 0 and 5 (got Infinity).",
            ),
        );
    });

    it("refuses settings that have no effect in the combination given", () => {
        const b = (bookinfo: unknown) => problems("dev", { [`${K}bookinfo`]: bookinfo });
        assert.deepEqual(b({ reviews: { mode: "round-robin", version: "v2" } }), [
            `bookinfo.reviews.version has no effect with mode "round-robin" (got "v2"): it is read only with mode "pinned". Fix: set bookinfo.reviews.mode to pinned, or remove bookinfo.reviews.version.`,
        ]);
        assert.deepEqual(b({ reviews: { mode: "pinned", version: "v2", weights: { v1: 100 } } }), [
            `bookinfo.reviews.weights has no effect with mode "pinned" (got {"v1":100}): it is read only with mode "weighted". Fix: set bookinfo.reviews.mode to weighted, or remove bookinfo.reviews.weights.`,
        ]);
        assert.deepEqual(b({ ratingsFault: { kind: "abort", percent: 50, httpStatus: 500, delaySeconds: 7 } }), [
            "bookinfo.ratingsFault.delaySeconds has no effect on a abort fault (got 7). Fix: remove it, or set bookinfo.ratingsFault.kind to delay.",
        ]);
        const o = (observability: unknown) => problems("dev", { [`${K}observability`]: observability });
        assert.deepEqual(o({ jaeger: false, tracingSamplingPercent: 5 }), [
            "observability.tracingSamplingPercent has no effect with observability.jaeger false (got 5): nothing receives the traces. Fix: remove it, or turn Jaeger on.",
        ]);
        assert.deepEqual(o({ kiali: false, kialiAuth: "token" }), [
            `observability.kialiAuth has no effect with observability.kiali false (got "token"). Fix: remove it, or turn Kiali on.`,
        ]);
        assert.deepEqual(o({ headlamp: { access: "edit" } }), [
            `observability.headlamp.access has no effect while Headlamp is off (got "edit"). Fix: pulumi config set --path observability.headlamp.enabled true, or remove the access.`,
        ]);
        const i = (istio: unknown) => problems("dev", { [`${K}istio`]: istio });
        assert.deepEqual(i({ gateway: { kind: "DaemonSet", replicas: 2 } }), [
            "istio.gateway.replicas has no effect on a DaemonSet gateway (got 2): it runs one pod per selected node. Fix: remove istio.gateway.replicas.",
        ]);
        assert.deepEqual(i({ gateway: { nodeSelector: { "ingress-ready": "true" } } }), [
            `istio.gateway.nodeSelector has no effect on a Deployment gateway (got {"ingress-ready":"true"}): it is read only with istio.gateway.kind DaemonSet. Fix: remove it, or set istio.gateway.kind DaemonSet.`,
        ]);
        assert.deepEqual(i({ extraValues: { cni: { cni: { logLevel: "debug" } } } }), [
            `istio.extraValues.cni has no effect in sidecar mode (got {"cni":{"logLevel":"debug"}}): the cni chart is installed only in ambient mode. Fix: remove it, or pulumi config set meshMode ambient.`,
        ]);
    });

    it("refuses extra values that reach a prototype or undo what the stack sets", () => {
        const found = problems("dev", {
            [`${K}istio`]: {
                extraValues: JSON.parse('{"istiod": {"pilot": {"__proto__": {"polluted": true}}, "meshConfig": {"accessLogFile": ""}}}'),
            },
        });
        assert.deepEqual(found, [
            "istio.extraValues.istiod.pilot.__proto__ is not a Helm value (got a key that names an object's prototype). Fix: remove it.",
            `istio.extraValues.istiod.meshConfig is set by the stack itself (got {"accessLogFile":""}): overriding it would undo what the stack wires together. Fix: remove it and use the stack's own setting (istio.meshConfig, istio.gateway, meshMode) where there is one.`,
        ]);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    it("refuses what would fail only halfway through pulumi up", () => {
        assert.deepEqual(problems("dev", { [`${K}bookinfo`]: { hostnames: [] } }), [
            "bookinfo.hostnames must name at least one host (got []): Bookinfo would answer to nothing. Fix: remove it for the default, or list your DNS name.",
        ]);
        const many = Array.from({ length: 17 }, (_, n) => `h${n}.example.com`);
        assert.ok(
            problems("dev", { [`${K}bookinfo`]: { ingressApi: "gateway-api", hostnames: many } }).includes(
                `bookinfo.hostnames must list at most 16 names with ingressApi "gateway-api" (got 17). Fix: use a wildcard such as "*.example.com".`,
            ),
        );
        assert.deepEqual(problems("dev", { [`${K}bookinfo`]: { hostnames: [`${"a".repeat(64)}.example.com`] } }), [
            `bookinfo.hostnames[0] must be a DNS name such as "bookinfo.example.com" (got "${"a".repeat(64)}.example.com").`,
        ]);
        const ranges = (sourceRanges: string[]) =>
            problems("prod", { [`${K}kubeconfig`]: EXISTING_KUBECONFIG, [`${K}observability`]: { gatewayExposure: { sourceRanges } } });
        assert.deepEqual(ranges(["1::2::3/64", "010.0.0.0/8"]), [
            `observability.gatewayExposure.sourceRanges[0] must be a CIDR such as "203.0.113.0/24" (got "1::2::3/64").`,
            `observability.gatewayExposure.sourceRanges[1] must be a CIDR such as "203.0.113.0/24" (got "010.0.0.0/8").`,
        ]);
        assert.deepEqual(ranges(["2001:db8::/32", "10.0.0.0/8"]), []);
        const listen = (listenAddress: string) => problems("dev", { [`${K}kind`]: { listenAddress } });
        assert.deepEqual(listen("127.000.0.1"), [`kind.listenAddress must be an IPv4 address such as "127.0.0.1" (got "127.000.0.1").`]);
        assert.deepEqual(listen("239.1.1.1"), [
            `kind.listenAddress must be an address of this machine, not a multicast or broadcast one (got "239.1.1.1"). Fix: pulumi config set --path kind.listenAddress 127.0.0.1`,
        ]);
        assert.deepEqual(listen("255.255.255.255").length, 1);
        assert.deepEqual(
            problems("dev", {
                [`${K}istio`]: { istiod: { resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "512Mi" } } } },
            }),
            [
                `istio.istiod.resources.limits.memory must not be below istio.istiod.resources.requests.memory (got a limit of "512Mi" for a request of "1Gi"). Fix: raise the limit or lower the request.`,
            ],
        );
        assert.deepEqual(
            problems("dev", { [`${K}istio`]: { istiod: { resources: { requests: { cpu: "100m", memory: "1Gi", gpu: "1" } } } } }),
            [`istio.istiod.resources.requests.gpu is not a known setting (got "1"). Fix: use one of cpu, memory.`],
        );
        assert.deepEqual(
            problems("dev", { [`${K}istio`]: { gateway: { kind: "DaemonSet", nodeSelector: { "ingress ready": "true" } } } }),
            [
                `istio.gateway.nodeSelector["ingress ready"] must be a Kubernetes label name (an optional DNS prefix and "/", then at most 63 letters, digits, "-", "_" or ".") with a label value (got "ingress ready": "true"). Fix: use a label your nodes carry, such as "ingress-ready": "true".`,
            ],
        );
    });
});

describe("config validation: schemas", () => {
    it("refuses image references no registry accepts, saying why", () => {
        assert.deepEqual(problems("dev", { [`${K}kind`]: { nodeImage: "kindest/Node:v1.35.8" } }), [
            `kind.nodeImage must be an image reference such as "kindest/node:v1.35.8@sha256:..." (got "kindest/Node:v1.35.8": upper-case letters in the repository path).`,
        ]);
        assert.deepEqual(problems("dev", { [`${K}kind`]: { preloadImages: ["busybox:1.37", "busybox\n--all", 7] } }), [
            `kind.preloadImages[1] must be an image reference such as "registry.istio.io/release/proxyv2:1.30.3" (got "busybox\\n--all": whitespace or a control character).`,
            `kind.preloadImages[2] must be an image reference such as "registry.istio.io/release/proxyv2:1.30.3" (got 7).`,
        ]);
        assert.deepEqual(problems("dev", { [`${K}kind`]: { preloadImages: "busybox" } }), [
            `kind.preloadImages must be a list of image references (got "busybox").`,
        ]);
    });

    it("checks a rule across settings even when another setting of the section is wrong", () => {
        assert.deepEqual(
            problems("prod", {
                [`${K}kubeconfig`]: EXISTING_KUBECONFIG,
                [`${K}istio`]: { gateway: { kind: "DaemonSet", replicas: 2, service: "ClusterIP" } },
            }),
            [
                `istio.gateway.service must be one of "LoadBalancer", "NodePort" (got "ClusterIP").`,
                `istio.gateway.replicas has no effect on a DaemonSet gateway (got 2): it runs one pod per selected node. Fix: remove istio.gateway.replicas.`,
            ],
        );
        // ...but not one that reads the wrong setting: a replica count that is not a number says only that.
        assert.deepEqual(problems("dev", { [`${K}istio`]: { istiod: { replicas: "two", podDisruptionBudget: true } } }), [
            `istio.istiod.replicas must be a whole number between 1 and 5 (got "two").`,
        ]);
        assert.deepEqual(problems("dev", { [`${K}kind`]: { workers: "many", zones: ["a", "b"] } }), [
            `kind.workers must be a whole number between 0 and 5 (got "many").`,
        ]);
        assert.deepEqual(problems("dev", { [`${K}kind`]: { hostPorts: { http: "x", https: 9090 } } }), [
            `kind.hostPorts.http must be a whole number between 1 and 65535 (got "x").`,
            `kind.hostPorts.prometheus must differ from kind.hostPorts.https (both got 9090). Fix: give each endpoint its own host port.`,
        ]);
    });

    it("quotes a value as the user wrote it, even one that looks like a placeholder of the messages", () => {
        assert.deepEqual(problems("dev", { [`${K}bookinfo`]: { hostnames: ["{key}", "{stack}"] } }), [
            `bookinfo.hostnames[0] must be a DNS name such as "bookinfo.example.com" (got "{key}").`,
            `bookinfo.hostnames[1] must be a DNS name such as "bookinfo.example.com" (got "{stack}").`,
        ]);
    });

    it("names a section that is not an object, and the settings of a missing one take their defaults", () => {
        assert.deepEqual(problems("dev", { [`${K}istio`]: { gateway: "DaemonSet" } }), [
            `istio.gateway must be an object (got "DaemonSet"). Fix: set it as YAML under istio.gateway: in Pulumi.<stack>.yaml.`,
        ]);
        const cfg = validateConfig(rawConfigFor("dev", { [`${K}istio`]: { istiod: { replicas: 3 } } }));
        assert.deepEqual(cfg.istio.istiod, {
            replicas: 3,
            resources: { requests: { cpu: "200m", memory: "512Mi" } },
            podDisruptionBudget: true,
        });
        assert.deepEqual(cfg.istio.gateway, {
            kind: "Deployment",
            replicas: 1,
            nodeSelector: { "ingress-ready": "true" },
            service: "LoadBalancer",
        });
        assert.deepEqual(
            validateConfig(rawConfigFor("dev", { [`${K}kind`]: { workers: "2", exportKubeconfig: "false" } })).kind?.workers,
            2,
        );
    });
});
