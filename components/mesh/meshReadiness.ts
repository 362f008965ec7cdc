/**
 * The mesh readiness gate: decides whether istiod actually serves its webhooks, and has switched
 * them to fail closed, which is later than its Deployment being Ready (istio/istio#38930). Pure logic over a minimal
 * Kubernetes API, so it is unit-tested; scripts/meshReady.ts runs it against a real cluster.
 */
import { MeshMode } from "./config";
import { KubeApi, Probe } from "../probe";

const READY: Probe = { ready: true };

function message(body: unknown): string {
    if (typeof body === "object" && body !== null && typeof (body as { message?: unknown }).message === "string") {
        return (body as { message: string }).message;
    }
    return typeof body === "string" ? body : JSON.stringify(body);
}

/** The annotation istiod's validation rejects on every object (istio pkg/config/constants/constants.go AlwaysReject). */
export const ALWAYS_REJECT_ANNOTATION = "internal.istio.io/webhook-always-reject";

/** The label that names a control plane revision, on webhook configurations and on injected pods. */
export const REVISION_LABEL = "istio.io/rev";

/**
 * Label of the webhook configurations istiod patches for its revision (istio pkg/webhooks/validation/
 * controller); an istiod installed without a revision is revision `default`.
 */
export function webhookSelector(revision = "default"): string {
    return `${REVISION_LABEL}=${revision}`;
}

/** Label of the webhook configurations istiod patches for its default revision. */
export const WEBHOOK_SELECTOR = webhookSelector();

/**
 * Server-side dry run of an Istio object that istiod must reject. istiod's validating webhooks
 * are installed with `failurePolicy: Ignore`, so while istiod does not serve them the API server
 * lets every Istio object through, valid or not: a successful dry run of a valid object proves
 * nothing. Istio's own check before it switches to fail-closed is this one: an object carrying
 * the always-reject annotation must come back denied by the webhook
 * (istio pkg/webhooks/validation/controller/controller.go, isDryRunOfInvalidConfigRejected;
 * pkg/config/validation/validation.go rejects the annotation on every kind). The probe carries
 * no `istio.io/rev` label, like every Istio object this stack creates, so it goes through the
 * same webhook they do (base's istiod-default-validator).
 */
export async function probeValidation(api: KubeApi, namespace: string, revision?: string): Promise<Probe> {
    // With a revision, the probe carries its label, so that the revision's own webhook
    // (istio-validator-<revision>-<namespace>, objectSelector istio.io/rev) sees it too.
    const labels = revision === undefined ? {} : { labels: { [REVISION_LABEL]: revision } };
    const body = {
        apiVersion: "security.istio.io/v1",
        kind: "AuthorizationPolicy",
        metadata: { name: "mesh-readiness-probe", namespace, ...labels, annotations: { [ALWAYS_REJECT_ANNOTATION]: "true" } },
        spec: { action: "ALLOW", rules: [{}], selector: { matchLabels: { app: "mesh-readiness-probe" } } },
    };
    const res = await api.request("POST", `/apis/security.istio.io/v1/namespaces/${namespace}/authorizationpolicies?dryRun=All`, body);
    if (res.status >= 200 && res.status < 300) {
        return {
            ready: false,
            reason: `validation webhook: the API server accepted an object istiod must reject (annotation ${ALWAYS_REJECT_ANNOTATION}), so istiod's webhook is not serving yet and fails open`,
        };
    }
    const text = message(res.body);
    // The API server words a webhook's denial as `admission webhook "<name>" denied the request: <reason>`.
    if (/admission webhook "[^"]*validation\.istio\.io" denied the request/.test(text) && text.includes(ALWAYS_REJECT_ANNOTATION)) {
        return READY;
    }
    return { ready: false, reason: `validation webhook: HTTP ${res.status}: ${text}` };
}

interface WebhookConfigurationList {
    items?: { metadata?: { name?: string }; webhooks?: { name?: string; failurePolicy?: string }[] }[];
}

/**
 * istiod's validating webhooks fail closed: once istiod has seen its own webhook reject a bad
 * object it switches every webhook configuration of its revision from `Ignore` to `Fail`
 * (controller.go, updateValidatingWebhookConfiguration). Until then an istiod outage would let
 * invalid config through unnoticed.
 */
export async function probeFailurePolicy(api: KubeApi, revision = "default"): Promise<Probe> {
    const selector = webhookSelector(revision);
    const res = await api.request(
        "GET",
        `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations?labelSelector=${encodeURIComponent(selector)}`,
    );
    if (res.status !== 200) return { ready: false, reason: `validating webhook configurations: HTTP ${res.status}: ${message(res.body)}` };
    const items = (res.body as WebhookConfigurationList).items ?? [];
    if (items.length === 0) {
        return { ready: false, reason: `no validating webhook configuration labelled ${selector} exists yet` };
    }
    const open = items.flatMap((c) =>
        (c.webhooks ?? [])
            .filter((w) => w.failurePolicy !== "Fail")
            .map((w) => `${c.metadata?.name ?? "?"}/${w.name ?? "?"} (${w.failurePolicy ?? "unset"})`),
    );
    return open.length === 0
        ? READY
        : { ready: false, reason: `istiod has not switched its webhooks to failurePolicy Fail yet: ${open.join(", ")}` };
}

/** Which injection template a probe asks for: Bookinfo's sidecars, or the ingress gateway's pods. */
export type InjectionTemplate = "sidecar" | "gateway";

/**
 * Server-side dry run of a pod that asks for injection: the API server calls istiod's injector,
 * so a pod that comes back with its proxy proves injection works. `gateway` asks for the
 * template the gateway chart's pods use (annotation `inject.istio.io/templates: gateway`, a
 * container `istio-proxy` with image `auto` that the injector fills in): those pods are injected
 * in both data plane modes, so this probe runs in ambient mode too.
 */
export async function probeInjection(
    api: KubeApi,
    namespace: string,
    template: InjectionTemplate = "sidecar",
    revision?: { readonly select?: string; readonly expect: string },
): Promise<Probe> {
    const gateway = template === "gateway";
    // `select`: the pod asks for that revision itself (the revision's rev.object webhook takes it, in a
    // namespace without an istio.io/rev label); without it, the namespace's label (a tag) decides.
    const selected = revision?.select === undefined ? {} : { [REVISION_LABEL]: revision.select };
    const body = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
            generateName: "mesh-readiness-probe-",
            namespace,
            labels: { "sidecar.istio.io/inject": "true", app: "mesh-readiness-probe", ...selected },
            ...(gateway ? { annotations: { "inject.istio.io/templates": "gateway" } } : {}),
        },
        spec: {
            containers: [gateway ? { name: "istio-proxy", image: "auto" } : { name: "probe", image: "registry.k8s.io/pause:3.10" }],
        },
    };
    const what = gateway ? "gateway injector" : "sidecar injector";
    const res = await api.request("POST", `/api/v1/namespaces/${namespace}/pods?dryRun=All`, body);
    if (res.status < 200 || res.status >= 300) return { ready: false, reason: `${what}: HTTP ${res.status}: ${message(res.body)}` };
    const spec =
        (res.body as { spec?: { containers?: { name: string; image?: string }[]; initContainers?: { name: string; image?: string }[] } })
            .spec ?? {};
    const proxy = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].find((c) => c.name === "istio-proxy");
    if (!proxy) return { ready: false, reason: `${what}: the dry-run pod came back without an istio-proxy container` };
    if (gateway && (proxy.image ?? "auto") === "auto") {
        return { ready: false, reason: `${what}: the dry-run pod came back with image "auto": istiod did not inject it` };
    }
    if (revision) {
        // The injector labels the pod with its own revision (istiod chart files/injection-template.yaml
        // and gateway-injection-template.yaml: istio.io/rev: {{ .Revision | default "default" }}).
        const injectedBy = (res.body as { metadata?: { labels?: Record<string, string> } }).metadata?.labels?.[REVISION_LABEL];
        if (injectedBy !== revision.expect) {
            return {
                ready: false,
                reason: `${what}: the dry-run pod was injected by revision ${injectedBy ?? "(none)"}, not ${revision.expect}`,
            };
        }
    }
    return READY;
}

/** A DaemonSet is ready when every scheduled pod is ready and up to date. */
export async function probeDaemonSet(api: KubeApi, namespace: string, name: string): Promise<Probe> {
    const res = await api.request("GET", `/apis/apps/v1/namespaces/${namespace}/daemonsets/${name}`);
    if (res.status !== 200) return { ready: false, reason: `daemonset ${namespace}/${name}: HTTP ${res.status}: ${message(res.body)}` };
    const s =
        (res.body as { status?: { desiredNumberScheduled?: number; numberReady?: number; updatedNumberScheduled?: number } }).status ?? {};
    const desired = s.desiredNumberScheduled ?? 0;
    if (desired > 0 && s.numberReady === desired && (s.updatedNumberScheduled ?? desired) === desired) return READY;
    const updated = s.updatedNumberScheduled ?? desired;
    const rolling = desired > 0 && updated < desired ? `, ${updated}/${desired} up to date` : "";
    return { ready: false, reason: `daemonset ${namespace}/${name}: ${s.numberReady ?? 0}/${desired} pods ready${rolling}` };
}

/** Where the probes run: Istio's namespace and the ingress gateway's. */
export interface MeshNamespaces {
    readonly istio: string;
    readonly ingress: string;
}

/**
 * What a gate proves ready: the istiod installed without a revision (no target); one revision's
 * istiod, through its own webhooks, before any tag points at it; or the default tag, through the
 * webhooks every workload of the stack goes through (the cluster-wide validator, the tag's
 * injector in the tag-labelled ingress namespace), answered by the revision it points at.
 */
export type GateTarget = { readonly kind: "revision"; readonly revision: string } | { readonly kind: "tag"; readonly revision: string };

function controlPlaneProbes(api: KubeApi, mode: MeshMode, namespaces: MeshNamespaces, target?: GateTarget): (() => Promise<Probe>)[] {
    if (target?.kind === "revision") {
        // istio-system carries no istio.io/rev label, so the probe pods' own label picks the revision.
        const rev = { select: target.revision, expect: target.revision };
        return [
            () => probeValidation(api, namespaces.istio, target.revision),
            () => probeFailurePolicy(api, target.revision),
            () => probeInjection(api, namespaces.istio, "gateway", rev),
            ...(mode === "sidecar" ? [() => probeInjection(api, namespaces.istio, "sidecar", rev)] : []),
        ];
    }
    const expect = target ? { expect: target.revision } : undefined;
    return [
        () => probeValidation(api, namespaces.istio),
        () => probeFailurePolicy(api, target?.revision),
        () => probeInjection(api, namespaces.ingress, "gateway", expect),
        ...(mode === "sidecar" ? [() => probeInjection(api, namespaces.ingress, "sidecar", expect)] : []),
    ];
}

/**
 * Every probe the mode needs, in order; the first one not ready wins. Both modes need istiod's
 * validation (serving and fail-closed) and the gateway's injection; sidecar mode also needs
 * sidecar injection for Bookinfo, ambient mode istio-cni and ztunnel on every node.
 */
export async function probeMesh(api: KubeApi, mode: MeshMode, namespaces: MeshNamespaces, target?: GateTarget): Promise<Probe> {
    const probes = controlPlaneProbes(api, mode, namespaces, target);
    switch (mode) {
        case "sidecar":
            break;
        case "ambient":
            // istio-cni and ztunnel are shared by every revision (they cannot be canaried): the tag's gate checks them.
            if (target?.kind === "revision") break;
            probes.push(
                () => probeDaemonSet(api, namespaces.istio, "istio-cni-node"),
                () => probeDaemonSet(api, namespaces.istio, "ztunnel"),
            );
            break;
        default: {
            const unreachable: never = mode;
            throw new Error(`unknown mesh mode ${String(unreachable)}`);
        }
    }
    for (const p of probes) {
        const result = await p();
        if (!result.ready) return result;
    }
    return READY;
}
