import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { ConfigError, validateConfig } from "../../components/config";
import { checkStack } from "../../tools/check";
import { GATEWAY_ADDRESS, stackUrls } from "../../tools/checkReport";
import { cpuMilli, footprint, formatRequests, memoryMi, requestsIn } from "../../tools/footprint";
import { rawConfigFromFiles, readStackFiles } from "../../tools/stackFiles";
import { EXISTING_KUBECONFIG, LOAD_BALANCER_IP, placeholderSecrets, rawConfigFor, resolve, ROOT, runStack } from "../harness";

const made: string[] = [];
after(() => {
    for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A copy of the project's Pulumi.yaml and one stack file, with `config` merged into the stack's. */
function project(env: string, config: Record<string, unknown>, drop: string[] = []): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "check-"));
    made.push(dir);
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const file = readStackFiles(ROOT, env).stack;
    const merged = { ...file, ...config };
    for (const k of drop) delete merged[k];
    fs.writeFileSync(path.join(dir, `Pulumi.${env}.yaml`), stringify({ config: merged }));
    return dir;
}

/** The problems the program itself reports for a config. */
function programProblems(env: string, extra: Record<string, unknown>): readonly string[] {
    try {
        validateConfig(rawConfigFor(env, extra));
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
    return [];
}

describe("npm run check", () => {
    it("passes dev offline and prints what up would create, the URLs and the requests", () => {
        const { status, text } = checkStack("dev");
        assert.equal(status, 0, text);
        assert.match(text, /^Stack dev: the config is valid\. pulumi up would create:\n/);
        assert.match(text, /\n {2}- kind cluster istio-dev: a control plane, zones local-a,/);
        assert.match(text, /\n {2}- Istio \d+\.\d+\.\d+ in sidecar mode/);
        assert.match(text, /\n {2}- addons: Prometheus, Grafana, Jaeger, Kiali\n/);
        assert.match(text, /\n {2}bookinfoUrl {8}http:\/\/localhost:8080\/productpage\n/);
        assert.match(text, /\nRequested by its pods: 1\.31 CPU, 2\.88 GiB; the details:\n/);
    });

    it("fails a bad value with the program's own message, every problem at once, exit 2", () => {
        const extra = { "istio-mesh:kind": { workers: 7, zones: ["local-a"] }, "istio-mesh:meshMode": "sidecars" };
        const dir = project("dev", extra);
        const { status, text } = checkStack("dev", dir);
        assert.equal(status, 2);
        const expected = programProblems("dev", extra);
        assert.equal(expected.length, 2);
        assert.equal(text, `Stack dev: Invalid stack configuration (2 problems):\n${expected.map((p) => `  - ${p}`).join("\n")}`);
        assert.match(text, /kind\.workers must be a whole number between 0 and 5 \(got 7\)/);
    });

    it("counts an encrypted kubeconfig as set, and refuses one stored in plain text", () => {
        const secure = checkStack("prod", project("prod", { "istio-mesh:kubeconfig": { secure: "v1:c2FsdA==:Y2lwaGVy" } }));
        assert.equal(secure.status, 0, secure.text);
        assert.match(secure.text, /the existing cluster of the kubeconfig in the config, named istio-prod/);
        assert.match(secure.text, /ingressGatewayUrl {2}http:\/\/<gateway address>\n/);
        const plain = checkStack("prod", project("prod", { "istio-mesh:kubeconfig": EXISTING_KUBECONFIG }));
        assert.equal(plain.status, 2);
        assert.match(plain.text, /kubeconfig is stored in plain text in Pulumi\.prod\.yaml/);
    });

    it("counts encrypted TLS files as set", () => {
        const tls = {
            "istio-mesh:bookinfo": { tls: true },
            "istio-mesh:ingressTlsCert": { secure: "v1:a" },
            "istio-mesh:ingressTlsKey": { secure: "v1:b" },
        };
        const { status, text } = checkStack("dev", project("dev", tls));
        assert.equal(status, 0, text);
        assert.match(text, /HTTPS with your certificate/);
    });

    it("names an environment without a stack file", () => {
        const { status, text } = checkStack("qa");
        assert.equal(status, 2);
        assert.match(text, /^error: Pulumi\.qa\.yaml does not exist in /);
    });

    for (const env of ["dev", "staging", "prod"]) {
        it(`prints the URLs the program exports for ${env}`, async () => {
            const secrets = placeholderSecrets(env);
            const run = await runStack(env, secrets.extra, { secretKeys: secrets.secretKeys });
            const cfg = validateConfig({ ...rawConfigFor(env, secrets.extra) });
            for (const { output, url } of stackUrls(cfg)) {
                const exported = (await resolve(run.outputs[output] as never)).value;
                assert.equal(url.replace(GATEWAY_ADDRESS, LOAD_BALANCER_IP), exported, output);
            }
            const listed = new Set(stackUrls(cfg).map((u) => u.output));
            for (const [name, value] of Object.entries(run.outputs)) {
                if (!name.endsWith("Url")) continue;
                const v = (await resolve(value as never)).value;
                assert.equal(listed.has(name), v !== undefined, `${name} is ${v === undefined ? "not " : ""}exported`);
            }
        });
    }
});

describe("footprint", () => {
    it("adds up dev to the 1.3 CPU and 2.9 GiB docs/architecture.md states", () => {
        const { total, lines } = footprint(validateConfig(rawConfigFor("dev")));
        assert.deepEqual(total, { cpuMilli: 1315, memoryMi: 2952 });
        assert.equal(formatRequests(total), "1.31 CPU, 2.88 GiB");
        assert.deepEqual(
            lines.map((l) => l.what),
            [
                "istiod, 1 replica",
                "ingress gateway, 1 pod",
                "Bookinfo, 6 pods",
                "6 Bookinfo sidecars at Istio's default",
                "Prometheus",
                "Grafana, with its Kiali-user sidecar",
                "Jaeger",
                "Kiali",
            ],
        );
    });

    it("counts istio-cni and ztunnel on every staging node and no sidecars in ambient mode", () => {
        const { lines } = footprint(validateConfig(rawConfigFor("staging")));
        const node = lines.find((l) => l.what === "istio-cni and ztunnel on 3 nodes");
        assert.deepEqual(node?.requests, { cpuMilli: 900, memoryMi: 1836 });
        assert.equal(
            lines.some((l) => /sidecars/.test(l.what)),
            false,
        );
        assert.ok(lines.some((l) => l.what === "Bookinfo's waypoint"));
    });

    it("scales istiod with its replicas and follows the addons that are on", () => {
        const cfg = validateConfig(
            rawConfigFor("dev", {
                "istio-mesh:istio": { istiod: { replicas: 3, resources: { requests: { cpu: "1", memory: "1Gi" } } } },
                "istio-mesh:observability": { jaeger: false, headlamp: { enabled: true } },
            }),
        );
        const { lines } = footprint(cfg);
        assert.deepEqual(lines[0], { what: "istiod, 3 replicas", requests: { cpuMilli: 3000, memoryMi: 3072 } });
        assert.equal(
            lines.some((l) => l.what === "Jaeger"),
            false,
        );
        assert.deepEqual(lines.find((l) => l.what === "Headlamp")?.requests, { cpuMilli: 25, memoryMi: 64 });
    });

    it("counts a DaemonSet gateway on every node, leaves out Bookinfo when it is off, and on an existing cluster counts one node", () => {
        const daemon = footprint(
            validateConfig(
                rawConfigFor("staging", {
                    "istio-mesh:istio": { gateway: { kind: "DaemonSet", nodeSelector: { "ingress-ready": "true" } } },
                    "istio-mesh:bookinfo": { enabled: false },
                }),
            ),
        );
        assert.deepEqual(daemon.lines[1], { what: "ingress gateway, 3 pods", requests: { cpuMilli: 300, memoryMi: 384 } });
        assert.equal(
            daemon.lines.some((l) => /Bookinfo/.test(l.what)),
            false,
        );
        assert.equal(daemon.perNode, undefined);
        const prod = footprint(validateConfig(rawConfigFor("prod", { "istio-mesh:kubeconfig": EXISTING_KUBECONFIG })));
        assert.ok(prod.lines.some((l) => l.what === "ingress gateway, 2 pods"));
        assert.ok(
            prod.lines.some((l) => l.what === "Grafana"),
            "no Kiali-user sidecar without a browser URL for Grafana",
        );
        assert.match(prod.perNode ?? "", /^a cluster of one node; /);
    });

    it("reads quantities and counts a Deployment's replicas", () => {
        assert.equal(cpuMilli(" 250m "), 250);
        assert.equal(memoryMi(" 64Mi\n"), 64);
        assert.throws(() => memoryMi("much"), /not a memory quantity: "much"/);
        assert.deepEqual(
            requestsIn([{ resources: { requests: { cpu: "1" } } }, { resources: { requests: { memory: "1Gi" } } }, null, "x"]),
            { cpuMilli: 1000, memoryMi: 1024 },
        );
        assert.deepEqual(
            requestsIn({ kind: "StatefulSet", spec: { replicas: 3, template: { resources: { requests: { cpu: "10m" } } } } }),
            {
                cpuMilli: 10,
                memoryMi: 0,
            },
        );
        assert.equal(cpuMilli("250m"), 250);
        assert.equal(cpuMilli("1.5"), 1500);
        assert.equal(memoryMi("1Gi"), 1024);
        assert.equal(memoryMi("128Mi"), 128);
        assert.throws(() => cpuMilli("lots"), /not a CPU quantity: "lots"/);
        const pod = {
            containers: [{ resources: { requests: { cpu: "10m", memory: "16Mi" } } }, { resources: { requests: { cpu: "5m" } } }],
        };
        assert.deepEqual(requestsIn({ kind: "Deployment", spec: { replicas: 3, template: { spec: pod } } }), {
            cpuMilli: 45,
            memoryMi: 48,
        });
        assert.deepEqual(requestsIn({ resources: { limits: { cpu: "1" } } }), { cpuMilli: 0, memoryMi: 0 });
    });
});

describe("stack files read offline", () => {
    const files = (stack: Record<string, unknown>) => ({
        project: { clusterMode: { default: "kind" }, clusterName: { default: "istio-mesh" } },
        stack,
    });

    it("applies Pulumi.yaml's defaults under the stack's values, and lists every key", () => {
        const raw = rawConfigFromFiles("dev", files({ "istio-mesh:clusterName": "mine", "pulumi:disable-default-providers": ["*"] }));
        assert.equal(raw.clusterMode, "kind");
        assert.equal(raw.clusterName, "mine");
        assert.deepEqual(raw.keys, ["istio-mesh:clusterMode", "istio-mesh:clusterName", "pulumi:disable-default-providers"]);
    });

    it("passes scalars as the strings the program receives and structured keys as objects", () => {
        const raw = rawConfigFromFiles(
            "dev",
            files({ "istio-mesh:verifyDeployment": false, "istio-mesh:kind": { workers: 1 }, "istio-mesh:istio": '{"mtls":"STRICT"}' }),
        );
        assert.equal(raw.verifyDeployment, "false");
        assert.deepEqual(raw.kind, { workers: 1 });
        assert.deepEqual(raw.istio, { mtls: "STRICT" });
    });

    it("marks a flat value that is not JSON as unreadable, as the program does", () => {
        const raw = rawConfigFromFiles("dev", files({ "istio-mesh:kind": "workers=2" }));
        assert.deepEqual(raw.unreadable, ["kind"]);
        assert.equal(raw.kind, undefined);
    });

    it("reads a secure value as set and encrypted, a plain one as not secret", () => {
        const raw = rawConfigFromFiles(
            "prod",
            files({ "istio-mesh:kubeconfig": { secure: "v1:abc" }, "istio-mesh:ingressTlsKey": "plain" }),
        );
        assert.deepEqual(raw.kubeconfig, { value: "v1:abc", secret: true, encrypted: true });
        assert.deepEqual(raw.ingressTlsKey, { value: "plain", secret: false });
    });

    it("reads the default kubeconfig file only for an existing cluster named by context alone", () => {
        let read = 0;
        const reader = (): string => {
            read += 1;
            return EXISTING_KUBECONFIG;
        };
        const raw = rawConfigFromFiles("prod", files({ "istio-mesh:clusterMode": "existing", "istio-mesh:kubeContext": "prod" }), reader);
        assert.equal(raw.kubeconfigFile?.content, EXISTING_KUBECONFIG);
        rawConfigFromFiles("dev", files({ "istio-mesh:kubeContext": "prod" }), reader);
        assert.equal(read, 1);
    });
});
