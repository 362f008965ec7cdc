/**
 * Run by the mesh readiness gate (a command resource) on the user's machine: waits until
 * istiod serves its validation and injection webhooks (and, in ambient mode, istio-cni and
 * ztunnel run on every node). Needs no kubectl.
 */
import { probeMesh, waitUntilReady } from "../components/meshReadiness";
import type { MeshMode } from "../components/config";
import { kubeApiFrom, requireEnv } from "./kubeApi";

async function main(): Promise<void> {
    const api = await kubeApiFrom(requireEnv("MESH_KUBECONFIG"), process.env.MESH_CONTEXT || undefined);
    const mode = requireEnv("MESH_MODE") as MeshMode;
    const namespace = requireEnv("ISTIO_NAMESPACE");
    const timeoutMs = Number(process.env.MESH_TIMEOUT_SECONDS ?? "600") * 1000;
    const attempts = await waitUntilReady(() => probeMesh(api, mode, namespace), `Istio (${mode} mode)`, {
        timeoutMs,
        intervalMs: 3000,
        log: (line) => console.error(line),
    });
    console.log(`Istio (${mode} mode) is serving its webhooks (after ${attempts} attempt${attempts === 1 ? "" : "s"}).`);
}

main().catch((e: Error) => {
    console.error(`error: ${e.message}`);
    process.exit(1);
});
