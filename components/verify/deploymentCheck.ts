import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { MeshMode } from "../mesh/config";
import { clusterAccessEnv, scriptCommand } from "../localScripts";
import { AddonEndpoint, BookinfoBackends, PodsCheck, verificationPlan, ProxiesCheck } from "./verification";

/** The command that runs the verification script on the user's machine. */
export const VERIFY_COMMAND = scriptCommand("verifyDeployment");

/** Arguments of {@link DeploymentCheck}. */
export interface DeploymentCheckArgs {
    /** Data plane mode, which decides what a correctly meshed Bookinfo pod looks like. @default "sidecar" */
    readonly mode?: MeshMode;
    /** Bookinfo's /productpage URL, its namespace and workloads; undefined when Bookinfo is off. @default undefined */
    readonly bookinfo?: {
        readonly url: pulumi.Input<string>;
        readonly namespace: string;
        readonly workloads: PodsCheck["workloads"];
        /** Which services behind productpage must answer. @default all of them */
        readonly backends?: BookinfoBackends;
    };
    /** The enabled addons and their health endpoints. @default [] */
    readonly addons?: pulumi.Input<AddonEndpoint[]>;
    /** Kubeconfig (secret) for the pod listing and the API server's service proxy. */
    readonly kubeconfig: pulumi.Input<string>;
    /** Context inside the kubeconfig. @default its current context */
    readonly context?: string;
    /** Everything that must be up before the checks start. */
    readonly waitFor: pulumi.Resource[];
    /** With revisions: the namespaces whose proxies must all run the default tag's revision. @default not checked */
    readonly proxies?: ProxiesCheck;
    /** How long each check keeps retrying, in seconds. @default 300 */
    readonly timeoutSeconds?: number;
}

/**
 * Checks from the user's machine, once everything is up, that Bookinfo answers through the
 * ingress gateway with its title, that its pods run on the mesh's data plane, and that every
 * enabled addon answers. A failure fails `pulumi up` with the URL, the last status and a hint;
 * nothing is rolled back, and the next `pulumi up` checks again.
 */
export class DeploymentCheck extends pulumi.ComponentResource {
    /** The checks, as JSON. */
    public readonly plan: pulumi.Output<string>;
    /** What the checks printed: one `ok` line per check. */
    public readonly report: pulumi.Output<string>;

    constructor(name: string, args: DeploymentCheckArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-mesh:index:DeploymentCheck", name, args, opts);
        const b = args.bookinfo;
        this.plan = pulumi.all([b ? pulumi.output(b.url) : undefined, pulumi.output(args.addons ?? [])]).apply(([url, addons]) =>
            JSON.stringify(
                verificationPlan({
                    mode: args.mode ?? "sidecar",
                    bookinfo: b && url ? { url, namespace: b.namespace, workloads: b.workloads, backends: b.backends } : undefined,
                    addons,
                    proxies: args.proxies,
                }),
            ),
        );
        const run = new command.local.Command(
            `${name}-run`,
            {
                create: VERIFY_COMMAND,
                environment: {
                    VERIFY_PLAN: this.plan,
                    ...clusterAccessEnv("VERIFY", args.kubeconfig, args.context),
                    VERIFY_TIMEOUT_SECONDS: String(args.timeoutSeconds ?? 300),
                },
                // Check again whenever what is checked changes.
                triggers: [this.plan],
                logging: "stdoutAndStderr",
            },
            // the checks open what these create; starting earlier would only burn retries
            { parent: this, dependsOn: args.waitFor, customTimeouts: { create: "15m" } },
        );
        this.report = run.stdout;
        this.registerOutputs({ plan: this.plan, report: this.report });
    }
}
