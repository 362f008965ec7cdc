/**
 * Istio objects the mesh itself owns, as plain data so that tests validate them against the
 * published schemas.
 */
import { MtlsMode } from "./config";
import { ISTIO_NAMESPACE } from "./istioValues";

/** A Kubernetes object as authored by this stack. */
export interface Manifest {
    readonly apiVersion: string;
    readonly kind: string;
    readonly metadata: {
        readonly name: string;
        readonly namespace?: string;
        readonly labels?: Record<string, string>;
        readonly annotations?: Record<string, string>;
    };
    readonly spec?: unknown;
    readonly [key: string]: unknown;
}

/** The mesh-wide PeerAuthentication: its name `default` in the root namespace makes it apply to the whole mesh. */
export function peerAuthentication(mode: MtlsMode): Manifest {
    return {
        apiVersion: "security.istio.io/v1",
        kind: "PeerAuthentication",
        metadata: { name: "default", namespace: ISTIO_NAMESPACE },
        spec: { mtls: { mode } },
    };
}

/** The mesh-wide Telemetry resource that sends traces to a provider at a sampling percentage. */
export function tracingTelemetry(provider: string, samplingPercent: number): Manifest {
    return {
        apiVersion: "telemetry.istio.io/v1",
        kind: "Telemetry",
        metadata: { name: "mesh-default", namespace: ISTIO_NAMESPACE },
        spec: { tracing: [{ providers: [{ name: provider }], randomSamplingPercentage: samplingPercent }] },
    };
}
