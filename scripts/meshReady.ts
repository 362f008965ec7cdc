/**
 * Run by the mesh readiness gates (command resources) on the user's machine: waits until
 * istiod rejects what it must reject, has switched its validating webhooks to fail closed, and
 * injects the gateway's pods (and Bookinfo's sidecars in sidecar mode; in ambient mode, until
 * istio-cni and ztunnel run on every node). With MESH_GATE "revision" it checks one revision's
 * istiod through its own webhooks; with "tag", the default tag, answered by MESH_REVISION. Needs
 * no kubectl.
 */
import { GateTarget, probeMesh } from "../components/mesh/meshReadiness";
import { waitUntilReady } from "../components/probe";
import type { MeshMode } from "../components/mesh/config";
import { kubeApiFromEnv, requireEnv } from "./kubeApi";

/** The gate's target from its environment; none for an istiod installed without a revision. */
export function gateTarget(env: NodeJS.ProcessEnv): GateTarget | undefined {
    const gate = env.MESH_GATE ?? "";
    if (gate === "") return undefined;
    if (gate !== "revision" && gate !== "tag")
        throw new Error(`MESH_GATE must be "revision", "tag" or empty (got ${JSON.stringify(gate)})`);
    const revision = env.MESH_REVISION ?? "";
    if (revision === "") throw new Error(`environment variable MESH_REVISION is not set`);
    return { kind: gate, revision };
}

async function main(): Promise<void> {
    const api = await kubeApiFromEnv("MESH");
    const mode = requireEnv("MESH_MODE") as MeshMode;
    const namespaces = { istio: requireEnv("ISTIO_NAMESPACE"), ingress: requireEnv("INGRESS_NAMESPACE") };
    const target = gateTarget(process.env);
    const timeoutMs = Number(process.env.MESH_TIMEOUT_SECONDS ?? "600") * 1000;
    const what = `Istio (${mode} mode${target ? `, ${target.kind === "tag" ? "default tag on revision" : "revision"} ${target.revision}` : ""})`;
    const attempts = await waitUntilReady(() => probeMesh(api, mode, namespaces, target), what, {
        timeoutMs,
        intervalMs: 3000,
        log: (line) => console.error(line),
    });
    console.log(`${what} serves its webhooks, fail-closed (after ${attempts} attempt${attempts === 1 ? "" : "s"}).`);
}

if (require.main === module) {
    main().catch((e: Error) => {
        console.error(`error: ${e.message}`);
        process.exit(1);
    });
}
