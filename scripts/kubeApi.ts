/**
 * A minimal Kubernetes API client for the scripts the stack runs on the user's machine. It takes
 * the kubeconfig from the environment (never from a file the stack wrote) and lets
 * @kubernetes/client-node handle every auth method a kubeconfig can name (certificates,
 * tokens, exec plugins).
 */
import * as https from "https";
import * as http from "http";
import type { KubeApi } from "../components/probe";

/** Builds a KubeApi from kubeconfig content and an optional context. */
export async function kubeApiFrom(kubeconfig: string, context?: string): Promise<KubeApi> {
    const k8s = await import("@kubernetes/client-node");
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kubeconfig);
    if (context) kc.setCurrentContext(context);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`the kubeconfig has no cluster for context ${context ?? kc.getCurrentContext()}`);
    const server = new URL(cluster.server);
    return {
        async request(method, path, body) {
            const opts: https.RequestOptions = { method, headers: { accept: "application/json", "content-type": "application/json" } };
            await kc.applyToHTTPSOptions(opts);
            const url = new URL(path, server);
            const lib = url.protocol === "http:" ? http : https;
            return new Promise((resolve, reject) => {
                const req = lib.request(url, { ...opts, timeout: 15000 }, (res) => {
                    let data = "";
                    res.setEncoding("utf8");
                    res.on("data", (c: string) => (data += c));
                    res.on("end", () => {
                        let parsed: unknown = data;
                        try {
                            parsed = JSON.parse(data);
                        } catch {
                            // keep the raw text
                        }
                        resolve({ status: res.statusCode ?? 0, body: parsed });
                    });
                });
                req.on("timeout", () => req.destroy(new Error(`request to ${url.href} timed out`)));
                req.on("error", reject);
                if (body !== undefined) req.write(JSON.stringify(body));
                req.end();
            });
        },
    };
}

/** A KubeApi from `<PREFIX>_KUBECONFIG` and `<PREFIX>_CONTEXT`, as components/localScripts.ts clusterAccessEnv sets them. */
export async function kubeApiFromEnv(prefix: string): Promise<KubeApi> {
    return kubeApiFrom(requireEnv(`${prefix}_KUBECONFIG`), process.env[`${prefix}_CONTEXT`] || undefined);
}

/** Reads a required environment variable or explains which one is missing. */
export function requireEnv(name: string): string {
    const v = process.env[name];
    if (v === undefined || v === "") throw new Error(`environment variable ${name} is not set`);
    return v;
}
