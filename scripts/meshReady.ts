/**
 * Run by the mesh readiness gate (a command resource) on the user's machine: waits until
 * istiod rejects what it must reject, has switched its validating webhooks to fail closed, and
 * injects the gateway's pods (and Bookinfo's sidecars in sidecar mode; in ambient mode, until
 * istio-cni and ztunnel run on every node). Needs no kubectl.
 */
import { probeMesh } from "../components/mesh/meshReadiness";
import { waitUntilReady } from "../components/probe";
import type { MeshMode } from "../components/mesh/config";
import { kubeApiFromEnv, requireEnv } from "./kubeApi";

async function main(): Promise<void> {
    const api = await kubeApiFromEnv("MESH");
    const mode = requireEnv("MESH_MODE") as MeshMode;
    const namespaces = { istio: requireEnv("ISTIO_NAMESPACE"), ingress: requireEnv("INGRESS_NAMESPACE") };
    const timeoutMs = Number(process.env.MESH_TIMEOUT_SECONDS ?? "600") * 1000;
    const attempts = await waitUntilReady(() => probeMesh(api, mode, namespaces), `Istio (${mode} mode)`, {
        timeoutMs,
        intervalMs: 3000,
        log: (line) => console.error(line),
    });
    console.log(`Istio (${mode} mode) serves its webhooks, fail-closed (after ${attempts} attempt${attempts === 1 ? "" : "s"}).`);
}

main().catch((e: Error) => {
    console.error(`error: ${e.message}`);
    process.exit(1);
});
