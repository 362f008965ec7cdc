/**
 * Run before a revision is removed (`istio.upgrade.retire`): fails, and so stops the deploy before
 * Pulumi deletes anything, while any pod still runs a proxy of a revision being retired. Needs no
 * kubectl. RETIRE_REVISIONS: a JSON list of revision names; RETIRE_TAG: the tag to move pods onto.
 */
import { proxiesOn, retireRefusal } from "../components/mesh/retirement";
import { kubeApiFromEnv, requireEnv } from "./kubeApi";

async function main(): Promise<void> {
    const api = await kubeApiFromEnv("RETIRE");
    const revisions = JSON.parse(requireEnv("RETIRE_REVISIONS")) as string[];
    const pods = await proxiesOn(api, revisions);
    if (pods.length > 0) throw new Error(retireRefusal(pods, process.env.RETIRE_TAG || undefined));
    console.log(`No pod runs a proxy of revision ${revisions.join(", ")}: it can be removed.`);
}

main().catch((e: Error) => {
    console.error(`error: ${e.message}`);
    process.exit(1);
});
