/**
 * The check that stands between `istio.upgrade.retire` and the removal of a control plane: no pod
 * may still run a proxy of the revision. Pure logic over a minimal Kubernetes API, unit-tested;
 * scripts/retireRevision.ts runs it, as a command the deploy stops at.
 *
 * A proxy's revision is read the two ways istiod's injector records it on the pod: the label
 * `istio.io/rev` (istiod chart files/injection-template.yaml and gateway-injection-template.yaml,
 * `{{ .Revision | default "default" }}`) and the `revision` of the `sidecar.istio.io/status`
 * annotation (istio pkg/kube/inject/inject.go, getInjectionStatus), so that a pod whose label was
 * edited away still counts.
 */
import type { KubeApi } from "../probe";
import { LEGACY_REVISION } from "./revisions";

/** A pod that still runs a proxy of a revision being retired. */
export interface ProxyPod {
    readonly namespace: string;
    readonly name: string;
    readonly revision: string;
}

interface PodList {
    readonly items?: readonly {
        readonly metadata?: {
            readonly name?: string;
            readonly namespace?: string;
            readonly labels?: Readonly<Record<string, string>>;
            readonly annotations?: Readonly<Record<string, string>>;
        };
        readonly status?: { readonly phase?: string };
    }[];
}

/** The revision of the proxy the injector put into a pod, or undefined for a pod without one. */
export function proxyRevision(meta: {
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
}): string | undefined {
    const status = meta.annotations?.["sidecar.istio.io/status"];
    if (status !== undefined) {
        try {
            const revision = (JSON.parse(status) as { revision?: unknown }).revision;
            if (typeof revision === "string" && revision !== "") return revision;
        } catch {
            // not the injector's JSON: fall back to the label
        }
    }
    // An injected pod without either was injected by an istiod without a revision.
    return meta.labels?.["istio.io/rev"] ?? (status !== undefined ? LEGACY_REVISION : undefined);
}

/** Every running pod, in any namespace, whose proxy belongs to one of `revisions`. */
export async function proxiesOn(api: KubeApi, revisions: readonly string[]): Promise<ProxyPod[]> {
    const res = await api.request("GET", "/api/v1/pods");
    if (res.status !== 200) throw new Error(`listing pods: HTTP ${res.status}`);
    const found: ProxyPod[] = [];
    for (const pod of (res.body as PodList).items ?? []) {
        // A finished pod runs nothing.
        if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") continue;
        const meta = pod.metadata ?? {};
        const revision = proxyRevision(meta);
        if (revision !== undefined && revisions.includes(revision)) {
            found.push({ namespace: meta.namespace ?? "?", name: meta.name ?? "?", revision });
        }
    }
    return found.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

/** The message that stops a retire, naming the pods (the first ten) and what moves them. */
export function retireRefusal(pods: readonly ProxyPod[], tag: string | undefined): string {
    const revisions = [...new Set(pods.map((p) => p.revision))];
    const shown = pods.slice(0, 10).map((p) => `${p.namespace}/${p.name} (${p.revision})`);
    const more = pods.length > shown.length ? `, and ${pods.length - shown.length} more` : "";
    const move = tag
        ? `label their namespaces istio.io/rev=${tag} (not istio-injection or a revision) and restart them (kubectl rollout restart deployment -n <namespace>)`
        : "restart them onto another revision";
    return [
        `Refusing to retire revision ${revisions.join(", ")}: ${pods.length} pod${pods.length === 1 ? "" : "s"} still run${pods.length === 1 ? "s" : ""} its proxy: ${shown.join(", ")}${more}. Nothing was removed.`,
        `Fix: ${move}, then run the deploy again; or keep the revision: pulumi config rm --path istio.upgrade.retire.`,
    ].join("\n");
}
