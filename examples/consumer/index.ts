/**
 * An example consumer of the istio-mesh outputs contract: it reads a deployed mesh stack through
 * a StackReference, deploys into the same cluster with the mesh's kubeconfig, and creates a
 * namespace whose pods join the mesh in whichever data plane mode it runs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { meshNamespaceLabels, meshStackOutputs } from "../../components/outputs";

const config = new pulumi.Config();
const meshStack = config.require("meshStack");
const namespace = config.get("namespace") ?? "team-a";
if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63) {
    throw new pulumi.RunError(
        `namespace must be a DNS-1123 label of at most 63 characters (got ${JSON.stringify(namespace)}). Fix: pulumi config set namespace team-a`,
    );
}

const mesh = meshStackOutputs(new pulumi.StackReference("mesh", { name: meshStack }));

// The mesh's cluster, reached with its (secret) kubeconfig; nothing falls back to the local kube context.
const cluster = new k8s.Provider("mesh-cluster", {
    kubeconfig: mesh.kubeconfig,
    context: mesh.kubeContext.apply((c) => (c === "" ? undefined : c)),
});

const ns = new k8s.core.v1.Namespace(
    "namespace",
    { metadata: { name: namespace, labels: mesh.meshMode.apply(meshNamespaceLabels) } },
    { provider: cluster },
);

export const namespaceName = ns.metadata.name;
export const meshMode = mesh.meshMode;
export const bookinfoUrl = mesh.bookinfoUrl;
export const grafanaUrl = mesh.grafanaUrl;
export const kialiUrl = mesh.kialiUrl;
export const grafanaAdminPassword = mesh.grafanaAdminPassword;
