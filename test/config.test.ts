import { strict as assert } from "assert";
import { ConfigError, RawConfig, validateConfig } from "../components/config";
import { EXISTING_KUBECONFIG, rawConfigFor, runStack } from "./harness";
import { K, problems } from "./configProblems";

describe("config: the whole stack's", () => {
    const raw = (extra: Record<string, unknown> = {}, more: Partial<RawConfig> = {}): string[] => {
        try {
            validateConfig({ ...rawConfigFor("dev", extra), ...more });
            return [];
        } catch (e) {
            return [...(e as ConfigError).problems];
        }
    };

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

    it("reports every problem at once", () => {
        const found = problems("dev", { [`${K}meshMode`]: "proxyless", [`${K}kind`]: { workers: -1 } });
        assert.equal(found.length, 2, found.join("\n"));
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

    it("refuses extra values for a chart the mesh mode does not install", () => {
        const i = (istio: unknown) => problems("dev", { [`${K}istio`]: istio });
        assert.deepEqual(i({ extraValues: { cni: { cni: { logLevel: "debug" } } } }), [
            `istio.extraValues.cni has no effect in sidecar mode (got {"cni":{"logLevel":"debug"}}): the cni chart is installed only in ambient mode. Fix: remove it, or pulumi config set meshMode ambient.`,
        ]);
    });

    it("checks what spans the slices with the settings that are right, though a slice has a problem elsewhere", () => {
        const expect = (extra: Record<string, unknown>, env: string, ...expected: string[]) => {
            const found = problems(env, extra);
            for (const e of expected) assert.ok(found.includes(e), `expected:\n  ${e}\ngot:\n  ${found.join("\n  ")}`);
        };
        expect(
            { [`${K}kind`]: { foo: 1 }, [`${K}istio`]: { extraValues: { cni: { x: 1 } } } },
            "dev",
            "kind.foo is not a known setting (got 1). Fix: use one of workers, nodeImage, region, zones, listenAddress, hostPorts, registryMirrors, preloadImages, imageCache, exportKubeconfig.",
            `istio.extraValues.cni has no effect in sidecar mode (got {"x":1}): the cni chart is installed only in ambient mode. Fix: remove it, or pulumi config set meshMode ambient.`,
        );
        expect(
            { [`${K}kind`]: { workers: 9, listenAddress: "0.0.0.0" }, [`${K}observability`]: { kialiAuth: "anonymous" } },
            "dev",
            `observability.kialiAuth may be "anonymous" only on kind with kind.listenAddress "127.0.0.1" (got "0.0.0.0"). Fix: pulumi config set --path observability.kialiAuth token`,
        );
        expect(
            {
                [`${K}kind`]: { workers: 1, zones: ["a", "b"] },
                [`${K}istio`]: { mtls: "x", gateway: { kind: "DaemonSet", nodeSelector: { edge: "true" } } },
            },
            "dev",
            `istio.gateway.nodeSelector must include "ingress-ready": "true" on kind (got {"edge":"true"}): only that node carries the host port mappings.`,
        );
        expect(
            { [`${K}observability`]: { gatewayExposure: { sourceRanges: ["10.0.0.0/8", "x"] } } },
            "dev",
            `observability.gatewayExposure applies to existing clusters only (got it with clusterMode "kind", where every UI already has a host port). Fix: remove observability.gatewayExposure.`,
        );
        expect(
            { [`${K}bookinfo`]: { tls: true, timeoutSeconds: 0 } },
            "dev",
            "bookinfo.tls is true but ingressTlsCert and ingressTlsKey are not both set (got no certificate and no key). Fix: pulumi config set --secret ingressTlsCert < tls.crt && pulumi config set --secret ingressTlsKey < tls.key",
        );
    });

    it("refuses a section left empty in YAML (null), not reading it as no settings", () => {
        assert.deepEqual(problems("dev", { [`${K}bookinfo`]: null }), [
            "bookinfo must be an object (got null). Fix: set it as YAML under bookinfo: in Pulumi.<stack>.yaml.",
        ]);
    });

    it("suggests the nearest key, and counts the problems it lists", () => {
        const keys = (...k: string[]) => problems("dev", {}).concat(rawProblems(k));
        function rawProblems(k: string[]): string[] {
            try {
                validateConfig({ ...rawConfigFor("dev"), keys: k });
                return [];
            } catch (e) {
                return [...(e as ConfigError).problems];
            }
        }
        assert.deepEqual(keys("istio-mesh:clustrName", "istio-mesh:obsevability", "istio-mesh:foo.bar"), [
            "istio-mesh:clustrName is not a setting of this stack (got a key nothing reads). Fix: did you mean istio-mesh:clusterName? pulumi config rm clustrName --stack dev, then set clusterName.",
            "istio-mesh:obsevability is not a setting of this stack (got a key nothing reads). Fix: did you mean istio-mesh:observability? pulumi config rm obsevability --stack dev, then set observability.",
            "istio-mesh:foo.bar is not a setting of this stack (got a key nothing reads). Fix: did you mean istio-mesh:bookinfo? pulumi config rm foo.bar --stack dev, then set bookinfo.",
        ]);
        assert.throws(
            () => validateConfig(rawConfigFor("dev", { [`${K}kind`]: { workers: 9 } })),
            /^ConfigError: Invalid stack configuration \(1 problem\):\n {2}- kind\.workers/,
        );
        assert.throws(() => validateConfig(rawConfigFor("dev", { [`${K}kind`]: { workers: 9, region: "" } })), /\(2 problems\):/);
    });

    it("names a declared key that went missing, and refuses a whole number that is not whole", () => {
        const raw = { ...rawConfigFor("dev"), clusterMode: undefined, verifyDeployment: undefined };
        assert.throws(
            () => validateConfig(raw),
            (e: ConfigError) =>
                e.problems.includes(
                    "clusterMode is missing (got nothing). Fix: restore its declaration and default under config: in Pulumi.yaml, or pulumi config set clusterMode <value>.",
                ) &&
                e.problems.includes(
                    "verifyDeployment is missing (got nothing). Fix: restore its declaration and default under config: in Pulumi.yaml, or pulumi config set verifyDeployment <value>.",
                ),
        );
        assert.deepEqual(problems("dev", { [`${K}kind`]: { workers: 2.5 } }), [
            "kind.workers must be a whole number between 0 and 5 (got 2.5).",
        ]);
        assert.deepEqual(problems("dev", { [`${K}kind`]: { workers: "-1" } }), [
            "kind.workers must be a whole number between 0 and 5 (got -1).",
        ]);
    });
});
