/**
 * The fixed in-cluster nodePorts that each host-facing endpoint uses on kind.
 *
 * A kind extraPortMapping forwards hostPort -> containerPort on the node, and the
 * Kubernetes Service pins the same number as its nodePort. Both sides read this
 * table (through {@link exposedPorts}), so they cannot drift apart.
 */
export const NODE_PORTS = {
    http: 30080,
    https: 30443,
    prometheus: 30090,
    grafana: 30300,
    jaeger: 30686,
    kiali: 30201,
    kubernetesDashboard: 30444,
} as const;

/** A host-facing endpoint: the ingress gateway's HTTP and HTTPS ports and each addon UI. */
export type PortRole = keyof typeof NODE_PORTS;

/** Every role, in a stable order. */
export const PORT_ROLES = Object.keys(NODE_PORTS) as PortRole[];

/** One kind port mapping: the host port a user opens and the node port behind it. */
export interface ExposedPort {
    readonly role: PortRole;
    /** Port on the user's machine (bound to the listen address). */
    readonly hostPort: number;
    /** Port on the kind node; the Service's fixed nodePort. */
    readonly nodePort: number;
}

/**
 * Pairs each configured host port with its fixed nodePort. The Kubernetes Dashboard's port is
 * mapped only when the Dashboard is on: kind cannot add a mapping to a running cluster, so a
 * mapping that every stack carried would have recreated every existing cluster once.
 */
export function exposedPorts(
    hostPorts: Readonly<Record<PortRole, number>>,
    addons: { readonly kubernetesDashboard?: unknown },
): ExposedPort[] {
    return PORT_ROLES.filter((role) => role !== "kubernetesDashboard" || addons.kubernetesDashboard).map((role) => ({
        role,
        hostPort: hostPorts[role],
        nodePort: NODE_PORTS[role],
    }));
}
