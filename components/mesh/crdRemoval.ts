/**
 * Removal of CRDs on `pulumi destroy`, for CRDs that Helm keeps on purpose (Istio's carry
 * `helm.sh/resource-policy: keep`). Pure logic over a minimal Kubernetes API, unit-tested;
 * scripts/removeCrds.ts runs it from the delete step of a command resource.
 */
import { KubeApi, Probe, RetryOptions, waitUntilReady } from "../probe";

const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

interface CrdList {
    items?: { metadata?: { name?: string }; spec?: { group?: string } }[];
}

/** Whether a CRD's API group is `suffix` or one of its subgroups (`istio.io` matches `networking.istio.io`). */
export function inGroup(group: string, suffix: string): boolean {
    return group === suffix || group.endsWith(`.${suffix}`);
}

async function matching(api: KubeApi, suffix: string): Promise<string[]> {
    const res = await api.request("GET", CRDS);
    if (res.status !== 200) throw new Error(`listing CRDs: HTTP ${res.status}`);
    return ((res.body as CrdList).items ?? [])
        .filter((c) => inGroup(c.spec?.group ?? "", suffix))
        .map((c) => c.metadata?.name ?? "")
        .filter((n) => n !== "")
        .sort();
}

/**
 * Deletes every CRD of an API group and waits until they are gone (the API server deletes
 * their objects first). Returns the names deleted. Never strips finalizers: a CRD that stays
 * is reported, with the reason, rather than forced.
 */
export async function removeCrds(api: KubeApi, suffix: string, options: RetryOptions): Promise<string[]> {
    const names = await matching(api, suffix);
    for (const name of names) {
        const res = await api.request("DELETE", `${CRDS}/${name}`);
        if (res.status !== 200 && res.status !== 202 && res.status !== 404) {
            throw new Error(`deleting CRD ${name}: HTTP ${res.status}`);
        }
    }
    if (names.length === 0) return names;
    const gone = async (): Promise<Probe> => {
        const left = await matching(api, suffix);
        return left.length === 0
            ? { ready: true }
            : {
                  ready: false,
                  reason: `${left.length} still terminating (${left.join(", ")}): objects of these kinds may carry finalizers whose controller is gone`,
              };
    };
    await waitUntilReady(gone, `removal of the ${suffix} CRDs`, options);
    return names;
}
