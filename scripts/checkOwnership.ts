/**
 * Run by the ownership check (a command resource) on an existing cluster, before the stack
 * creates anything there: stops the deploy, with the fix for each, when an object the stack needs
 * exists and is not its own. Needs no kubectl.
 */
import { conflictMessage, findConflicts, OwnershipPlan } from "../components/cluster/ownership";
import { kubeApiFromEnv, requireEnv } from "./kubeApi";

async function main(): Promise<number> {
    const api = await kubeApiFromEnv("OWNERSHIP");
    const plan = JSON.parse(requireEnv("OWNERSHIP_PLAN")) as OwnershipPlan;
    const conflicts = await findConflicts(api, plan);
    if (conflicts.length > 0) {
        console.error(`error: ${conflictMessage(conflicts)}`);
        return 1;
    }
    console.log(`Nothing in the cluster stands in the way of stack ${plan.stack}.`);
    return 0;
}

main().then(
    (code) => process.exit(code),
    (e: Error) => {
        console.error(`error: ${e.message}`);
        process.exit(1);
    },
);
