import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { ChartPin } from "./versions";

/**
 * A Helm release of a pinned chart with the stack's one install policy: wait for the chart's
 * workloads (so the next step starts on a running component), and roll a failed install back
 * (atomic, cleanupOnFail) so that re-running `pulumi up` starts clean.
 */
export function pinnedRelease(
    resourceName: string,
    args: {
        readonly releaseName: string;
        readonly pin: ChartPin;
        readonly namespace: pulumi.Input<string>;
        readonly values: pulumi.Input<Record<string, unknown>>;
        /**
         * Let Helm wait for the chart's workloads, and roll back an install that does not become
         * ready. Off for a release whose readiness the stack checks itself, with a better message
         * (Helm's atomic install always waits). @default true
         */
        readonly wait?: boolean;
    },
    opts: pulumi.CustomResourceOptions,
): k8s.helm.v3.Release {
    return new k8s.helm.v3.Release(
        resourceName,
        {
            name: args.releaseName,
            chart: args.pin.chart,
            version: args.pin.version,
            repositoryOpts: { repo: args.pin.repo },
            namespace: args.namespace,
            values: args.values,
            skipAwait: args.wait === false,
            timeout: 600,
            atomic: args.wait !== false,
            cleanupOnFail: true,
        },
        opts,
    );
}
