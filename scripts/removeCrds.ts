/**
 * Run by the delete step of the CRD cleanup command on `pulumi destroy` (when
 * istio.removeCrdsOnDestroy is on): deletes the CRDs of an API group and waits until they are
 * gone. Needs no kubectl.
 */
import { removeCrds } from "../components/mesh/crdRemoval";
import { kubeApiFromEnv, requireEnv } from "./kubeApi";

async function main(): Promise<void> {
    const api = await kubeApiFromEnv("CRD");
    const group = requireEnv("CRD_GROUP");
    const removed = await removeCrds(api, group, {
        timeoutMs: Number(process.env.CRD_TIMEOUT_SECONDS ?? "300") * 1000,
        intervalMs: 2000,
        log: (line) => console.error(line),
    });
    console.log(removed.length === 0 ? `No ${group} CRDs were left.` : `Removed ${removed.length} ${group} CRDs: ${removed.join(", ")}.`);
}

main().catch((e: Error) => {
    console.error(`error: ${e.message}`);
    process.exit(1);
});
