import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { OwnershipPlan } from "./ownership";
import { clusterAccessEnv, scriptCommand } from "../localScripts";

/** The command that checks, on an existing cluster, that the stack takes over nothing of someone else's. */
export const OWNERSHIP_COMMAND = scriptCommand("checkOwnership");

/** Arguments of {@link OwnershipCheck}. */
export interface OwnershipCheckArgs {
    /** What the stack is about to create in the cluster. */
    readonly plan: OwnershipPlan;
    /** Kubeconfig (secret) of the cluster. */
    readonly kubeconfig: pulumi.Input<string>;
    /** Context inside the kubeconfig. @default its current context */
    readonly context?: string;
}

/**
 * Runs, on an existing cluster and before the stack creates anything there, the check of
 * components/cluster/ownership.ts: the deploy stops, with the fix for each, when an object the stack
 * needs exists and is someone else's. Everything the stack creates in the cluster waits for it.
 * It runs again whenever the plan changes (another namespace, the Gateway API CRDs turned on).
 */
export class OwnershipCheck extends pulumi.ComponentResource {
    /** The check itself, for dependsOn. */
    public readonly run: command.local.Command;

    constructor(name: string, args: OwnershipCheckArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-mesh:index:OwnershipCheck", name, args, opts);
        const plan = JSON.stringify(args.plan);
        this.run = new command.local.Command(
            `${name}-run`,
            {
                create: OWNERSHIP_COMMAND,
                environment: {
                    ...clusterAccessEnv("OWNERSHIP", args.kubeconfig, args.context),
                    OWNERSHIP_PLAN: plan,
                },
                triggers: [plan],
                logging: "stdoutAndStderr",
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
