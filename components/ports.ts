/**
 * The fixed in-cluster nodePorts that each host-facing endpoint uses on kind.
 *
 * A kind extraPortMapping forwards hostPort -> containerPort on the node, and the
 * Kubernetes Service pins the same number as its nodePort. Both sides read this
 * table (through {@link exposedPorts}), so they cannot drift apart.
 */

/**
 * The static band of the default NodePort range 30000-32767: its lowest
 * min(max(16, size / 32), 128) = 86 ports. Kubernetes allocates the nodePorts it picks itself (the
 * gateway's `status-port`, any Service without a fixed one) from the ports above this band first,
 * and from the band only once those are used up, so a fixed nodePort inside it does not collide
 * with a dynamic one (kubernetes/kubernetes pkg/registry/core/service/portallocator/allocator.go,
 * calculateRangeOffset; KEP-3668, on by default and GA since 1.29).
 */
export const STATIC_NODE_PORT_BAND = { first: 30000, last: 30085 } as const;

/** Fixed nodePorts, all inside {@link STATIC_NODE_PORT_BAND}. */
export const NODE_PORTS = {
    http: 30080,
    https: 30081,
    prometheus: 30082,
    grafana: 30083,
    jaeger: 30084,
    kiali: 30085,
    headlamp: 30079,
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
 * Pairs each configured host port with its fixed nodePort. Every role is mapped, the addons that
 * are switched off included: kind cannot add a mapping to a running cluster, so switching an addon
 * on later must not need a new one.
 */
export function exposedPorts(hostPorts: Readonly<Record<PortRole, number>>): ExposedPort[] {
    return PORT_ROLES.map((role) => ({ role, hostPort: hostPorts[role], nodePort: NODE_PORTS[role] }));
}
