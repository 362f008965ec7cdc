/**
 * Validates Kubernetes objects against the published schemas of kubernetes-models,
 * @kubernetes-models/istio and @kubernetes-models/gateway-api. An object of a kind this table
 * does not know fails, so nothing escapes validation silently.
 */
type ModelClass = new (data: unknown) => { validate(): void };

const MODULES: Record<string, () => Promise<Record<string, unknown>>> = {
    v1: () => import("kubernetes-models/v1"),
    "apps/v1": () => import("kubernetes-models/apps/v1"),
    "policy/v1": () => import("kubernetes-models/policy/v1"),
    "admissionregistration.k8s.io/v1": () => import("kubernetes-models/admissionregistration.k8s.io/v1"),
    "rbac.authorization.k8s.io/v1": () => import("kubernetes-models/rbac.authorization.k8s.io/v1"),
    "networking.istio.io/v1": () => import("@kubernetes-models/istio/networking.istio.io/v1"),
    "security.istio.io/v1": () => import("@kubernetes-models/istio/security.istio.io/v1"),
    "telemetry.istio.io/v1": () => import("@kubernetes-models/istio/telemetry.istio.io/v1"),
    "gateway.networking.k8s.io/v1": () => import("@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1"),
};

/** Throws with the schema's message if `obj` is not a valid object of its apiVersion and kind. */
export async function validateManifest(obj: { apiVersion: string; kind: string; metadata?: { name?: string } }): Promise<void> {
    const load = MODULES[obj.apiVersion];
    if (!load) throw new Error(`no schema loaded for apiVersion ${obj.apiVersion} (${obj.kind} ${obj.metadata?.name})`);
    const mod = await load();
    const Model = mod[obj.kind] as ModelClass | undefined;
    if (!Model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
    try {
        new Model(obj).validate();
    } catch (e) {
        throw new Error(`${obj.kind} ${obj.metadata?.name} is invalid: ${(e as Error).message}`);
    }
}
