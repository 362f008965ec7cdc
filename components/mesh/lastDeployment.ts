/**
 * What this stack's last deployment installed, read back from its own outputs through a
 * StackReference to the stack itself, so that a revision is never dropped because the pin moved.
 *
 * The engine reads a StackReference's outputs from the backend's latest checkpoint (pulumi
 * pkg/resource/deploy/builtins.go, readStackReference → pkg/backend/backend.go,
 * GetStackOutputs). During an `up` that checkpoint still carries the last deployment's outputs:
 * the root stack resource is a "same" step that keeps its old outputs (pkg/resource/deploy/
 * step.go, SameStep.Apply) until the program registers new ones at its end. On the local backend
 * a stack never deployed has a checkpoint without a deployment and reads as no outputs (pkg/
 * backend/diy/state.go, getSnapshotStackOutputs). The read happens in `preview` too, so a preview
 * shows the plan the `up` will carry out.
 */
import * as pulumi from "@pulumi/pulumi";
import { InstalledRevision, previousRevisions } from "./revisions";

/** The fully qualified name of the running stack, as a StackReference names it. */
export function selfStackName(): string {
    return `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
}

/** The revisions the last deployment of this stack installed; none for a stack never deployed. */
export async function lastDeployedRevisions(opts?: pulumi.CustomResourceOptions): Promise<InstalledRevision[]> {
    const self = new pulumi.StackReference("last-deployment", { name: selfStackName() }, opts);
    const [revisions, version] = await Promise.all([self.getOutputDetails("istioRevisions"), self.getOutputDetails("istioVersion")]);
    return previousRevisions({ istioRevisions: revisions.value, istioVersion: version.value });
}
