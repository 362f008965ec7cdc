import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { InstalledRevision } from "./revisions";
import { clusterAccessEnv, scriptCommand } from "../localScripts";

/** The command that refuses to retire a revision while a pod runs its proxy. */
export const RETIRE_COMMAND = scriptCommand("retireRevision");

/** Arguments of {@link RetireGuard}. */
export interface RetireGuardArgs {
    /** The revisions this `up` removes. */
    readonly retiring: readonly InstalledRevision[];
    /** The tag workloads should move onto, for the message. @default none */
    readonly tag?: string;
    /** Kubeconfig (secret) of the cluster. */
    readonly kubeconfig: pulumi.Input<string>;
    /** Context inside the kubeconfig. @default its current context */
    readonly context?: string;
    /** What restarts workloads onto the remaining revisions (the gateway, Bookinfo): the check runs after it. @default [] */
    readonly waitFor?: pulumi.Resource[];
}

/**
 * The explicit step that retires revisions: a check, run before anything is removed, that no pod
 * runs a proxy of them (components/mesh/retirement.ts). The retired istiod releases are no longer
 * in the program, so Pulumi deletes them after every other step of the `up`, and only when every
 * step succeeded: a failed step cancels the deployment before its deletes (pulumi
 * pkg/resource/deploy/deployment_executor.go, Execute: performPostSteps runs only once the
 * program and every step are done).
 */
export class RetireGuard extends pulumi.ComponentResource {
    constructor(name: string, args: RetireGuardArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-mesh:index:RetireGuard", name, args, opts);
        const revisions = args.retiring.map((r) => r.revision);
        new command.local.Command(
            `${name}-check`,
            {
                create: RETIRE_COMMAND,
                environment: {
                    ...clusterAccessEnv("RETIRE", args.kubeconfig, args.context),
                    RETIRE_REVISIONS: JSON.stringify(revisions),
                    RETIRE_TAG: args.tag ?? "",
                },
                // Checks again if another revision is retired.
                triggers: [JSON.stringify(revisions)],
                logging: "stdoutAndStderr",
            },
            // the workloads restart onto the remaining revisions first
            { parent: this, dependsOn: [...(args.waitFor ?? [])] },
        );
        this.registerOutputs({});
    }
}
