/**
 * Revision tags as the stack's own objects, not a Helm release's: the injector webhook of a tag,
 * and for the `default` tag the cluster-wide validating webhook. Pure data, checked against the
 * Kubernetes schemas in the tests.
 *
 * The injector is the one the istiod chart renders for `revisionTags` (templates/
 * revision-tags-mwc.yaml, which istioctl's `tag set` renders too: istioctl/pkg/tag/generate.go),
 * kept out of the istiod releases so that moving a tag never upgrades, and never removes, a
 * control plane. Neither object carries a `caBundle` or (the validator) a `failurePolicy`: istiod
 * patches both into every webhook configuration labelled with its revision (pkg/webhooks/
 * webhookpatch.go for the injector; pkg/webhooks/validation/controller/controller.go, which also
 * turns validation fail-closed once its own webhook rejects a bad object). Leaving those fields to
 * istiod keeps the stack's server-side apply from ever fighting it over them when a tag moves.
 */
import { ownerLabels } from "../cluster/ownership";
import { DEFAULT_TAG } from "./revisions";

/** Name of a tag's injector configuration, as the chart and istioctl name it in istio-system. */
export function tagWebhookName(tag: string): string {
    return `istio-revision-tag-${tag}`;
}

/** The cluster-wide validating webhook configuration that follows the default tag (base chart's and istioctl's name). */
export const DEFAULT_VALIDATOR_NAME = "istiod-default-validator";

/** The Service of a revision's istiod (istiod chart templates/service.yaml: `istiod-<revision>`). */
export function istiodService(revision: string): string {
    return `istiod-${revision}`;
}

interface LabelSelectorRequirement {
    readonly key: string;
    readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    readonly values?: string[];
}

/** A mutating webhook configuration, as authored (kubernetes-models admissionregistration v1). */
export interface MutatingWebhookConfigurationManifest {
    readonly apiVersion: "admissionregistration.k8s.io/v1";
    readonly kind: "MutatingWebhookConfiguration";
    readonly metadata: { readonly name: string; readonly labels: Record<string, string> };
    readonly webhooks: {
        readonly name: string;
        readonly clientConfig: {
            readonly service: { readonly name: string; readonly namespace: string; readonly path: string; readonly port: number };
        };
        readonly sideEffects: "None";
        readonly rules: { operations: string[]; apiGroups: string[]; apiVersions: string[]; resources: string[] }[];
        readonly failurePolicy: "Fail";
        readonly reinvocationPolicy: "Never";
        readonly admissionReviewVersions: string[];
        readonly namespaceSelector: { readonly matchExpressions: LabelSelectorRequirement[] };
        readonly objectSelector: { readonly matchExpressions: LabelSelectorRequirement[] };
    }[];
}

/** A validating webhook configuration, as authored. */
export interface ValidatingWebhookConfigurationManifest {
    readonly apiVersion: "admissionregistration.k8s.io/v1";
    readonly kind: "ValidatingWebhookConfiguration";
    readonly metadata: { readonly name: string; readonly labels: Record<string, string> };
    readonly webhooks: {
        readonly name: string;
        readonly clientConfig: { readonly service: { readonly name: string; readonly namespace: string; readonly path: string } };
        readonly rules: { operations: string[]; apiGroups: string[]; apiVersions: string[]; resources: string[] }[];
        readonly sideEffects: "None";
        readonly admissionReviewVersions: string[];
    }[];
}

const NOT_DISABLED: LabelSelectorRequirement = { key: "sidecar.istio.io/inject", operator: "NotIn", values: ["false"] };

/**
 * The injector webhook configuration of tag `tag` on `revision`: the chart's revision-tags-mwc.yaml
 * with `revisionTags: [tag]`, `revision: <revision>`, at the chart's defaults (injection path
 * `/inject`, reinvocation `Never`, no namespaces injected by default). The `default` tag also takes
 * over `istio-injection=enabled` and the object label `sidecar.istio.io/inject=true`, as the
 * unrevisioned istiod's injector would.
 */
export function tagWebhook(tag: string, revision: string, istioNamespace: string, stack: string): MutatingWebhookConfigurationManifest {
    const hook = (prefix: string, namespaceSelector: LabelSelectorRequirement[], objectSelector: LabelSelectorRequirement[]) => ({
        name: `${prefix}sidecar-injector.istio.io`,
        clientConfig: { service: { name: istiodService(revision), namespace: istioNamespace, path: "/inject", port: 443 } },
        sideEffects: "None" as const,
        rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
        failurePolicy: "Fail" as const,
        reinvocationPolicy: "Never" as const,
        admissionReviewVersions: ["v1"],
        namespaceSelector: { matchExpressions: namespaceSelector },
        objectSelector: { matchExpressions: objectSelector },
    });
    const webhooks = [
        hook(
            "rev.namespace.",
            [
                { key: "istio.io/rev", operator: "In", values: [tag] },
                { key: "istio-injection", operator: "DoesNotExist" },
            ],
            [NOT_DISABLED],
        ),
        hook(
            "rev.object.",
            [
                { key: "istio.io/rev", operator: "DoesNotExist" },
                { key: "istio-injection", operator: "DoesNotExist" },
            ],
            [NOT_DISABLED, { key: "istio.io/rev", operator: "In", values: [tag] }],
        ),
        ...(tag === DEFAULT_TAG
            ? [
                  hook("namespace.", [{ key: "istio-injection", operator: "In", values: ["enabled"] }], [NOT_DISABLED]),
                  hook(
                      "object.",
                      [
                          { key: "istio-injection", operator: "DoesNotExist" },
                          { key: "istio.io/rev", operator: "DoesNotExist" },
                      ],
                      [
                          { key: "sidecar.istio.io/inject", operator: "In", values: ["true"] },
                          { key: "istio.io/rev", operator: "DoesNotExist" },
                      ],
                  ),
              ]
            : []),
    ];
    return {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "MutatingWebhookConfiguration",
        metadata: {
            name: tagWebhookName(tag),
            // istio.io/rev: the revision whose istiod patches the caBundle in; istio.io/tag: what istioctl lists.
            labels: {
                "istio.io/tag": tag,
                "istio.io/rev": revision,
                app: "sidecar-injector",
                "app.kubernetes.io/name": "istiod",
                ...ownerLabels(stack),
            },
        },
        webhooks,
    };
}

/**
 * The cluster-wide validating webhook of the default tag, sent to the tag's revision: the base
 * chart's templates/defaultrevision-validatingwebhookconfiguration.yaml with `defaultRevision:
 * <revision>`, which istioctl renders for `tag set default` (generate.go, generateValidatingWebhook).
 * The stack renders it itself, after the revision's readiness gate, instead of through base's
 * `defaultRevision`: base installs before a new istiod (its CRDs first), so a base release that
 * followed the tag would send every Istio object's validation to an istiod that does not serve
 * yet, fail-closed once Helm upgrades it (the template sets `failurePolicy: Ignore` on install
 * only), and stay there if the new istiod never came up.
 */
export function defaultValidator(revision: string, istioNamespace: string, stack: string): ValidatingWebhookConfigurationManifest {
    return {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingWebhookConfiguration",
        metadata: {
            name: DEFAULT_VALIDATOR_NAME,
            labels: { app: "istiod", istio: "istiod", "istio.io/rev": revision, "app.kubernetes.io/name": "istiod", ...ownerLabels(stack) },
        },
        webhooks: [
            {
                name: "validation.istio.io",
                clientConfig: { service: { name: istiodService(revision), namespace: istioNamespace, path: "/validate" } },
                rules: [
                    {
                        operations: ["CREATE", "UPDATE"],
                        apiGroups: ["security.istio.io", "networking.istio.io", "telemetry.istio.io", "extensions.istio.io"],
                        apiVersions: ["*"],
                        resources: ["*"],
                    },
                ],
                sideEffects: "None",
                admissionReviewVersions: ["v1"],
            },
        ],
    };
}
