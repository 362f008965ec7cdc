/**
 * Every version this stack pins, in one place. Upgrading Istio means reading its
 * release notes, then changing the Istio pin, the Gateway API pin it is built against,
 * the addon charts it ships values for, and a kind node image in its supported range.
 */

/**
 * kind release whose node images we use. kind only supports node images that were
 * built for its own release, so the image below carries the digest from the
 * v0.33.0 release notes (https://github.com/kubernetes-sigs/kind/releases/tag/v0.33.0).
 */
export const KIND_VERSION = "v0.33.0";

/**
 * Kubernetes v1.35.8 node image from kind v0.33.0. Istio 1.30 supports Kubernetes
 * 1.32 to 1.36, so 1.35 is inside its tested range.
 */
export const KIND_NODE_IMAGE = "kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0";

/**
 * The Pulumi CLI the developer commands run: 3.248.0, the version of the @pulumi/pulumi SDK in
 * package.json (https://github.com/pulumi/pulumi/releases/tag/v3.248.0). Kept equal to or above the
 * SDK's (a test holds it there): the Automation API refuses an older CLI (sdk/nodejs/automation/cmd.ts,
 * parseAndValidatePulumiVersion). A `pulumi` on PATH is used only when it is at least this version.
 */
export const PULUMI_CLI_VERSION = "3.248.0";

/** Istio release 1.30.3 (https://github.com/istio/istio/releases/tag/1.30.3). Every Istio chart uses it. */
export const ISTIO_VERSION = "1.30.3";

/** Istio's official Helm repository. */
export const ISTIO_HELM_REPO = "https://istio-release.storage.googleapis.com/charts";

/**
 * Gateway API v1.5.1, the release Istio 1.30 is built against
 * (https://github.com/kubernetes-sigs/gateway-api/releases/tag/v1.5.1). Newer CRDs
 * than istiod knows can keep it from becoming ready (istio/istio#59443).
 */
export const GATEWAY_API_VERSION = "v1.5.1";

/** Versioned release assets of the Gateway API CRDs; never a branch. */
export function gatewayApiCrdUrl(channel: "standard" | "experimental"): string {
    const file = channel === "standard" ? "standard-install.yaml" : "experimental-install.yaml";
    return `https://github.com/kubernetes-sigs/gateway-api/releases/download/${GATEWAY_API_VERSION}/${file}`;
}

/** Bookinfo sample images, tag 1.20.3, as in Istio 1.30.3's samples/bookinfo/platform/kube/bookinfo.yaml. */
export const BOOKINFO_IMAGE_REGISTRY = "registry.istio.io/release";
export const BOOKINFO_IMAGE_TAG = "1.20.3";

/** A Helm chart pinned to a version in a repository. */
export interface ChartPin {
    readonly chart: string;
    readonly version: string;
    readonly repo: string;
}

/** prometheus-community/prometheus 28.13.0: the chart and version Istio 1.30.3 generates its Prometheus addon from. */
export const PROMETHEUS_CHART: ChartPin = {
    chart: "prometheus",
    version: "28.13.0",
    repo: "https://prometheus-community.github.io/helm-charts",
};

/**
 * grafana 9.2.2: the chart and version Istio 1.30.3 generates its Grafana addon from, installed from
 * grafana-community/helm-charts, where the chart moved (grafana/helm-charts is frozen and says so).
 * The maintained repository serves 9.2.2 with the same digest as the old one (its gh-pages
 * index.yaml, sha256 3c76a163be55660089ffafd6d0a9fe6c88fb6ac0ffdd421ec4781cc720093a8b; tag
 * grafana-9.2.2 is the same commit in both repositories).
 */
export const GRAFANA_CHART: ChartPin = {
    chart: "grafana",
    version: "9.2.2",
    repo: "https://grafana-community.github.io/helm-charts",
};

/**
 * curlimages/curl 8.9.1, the image the grafana 9.2.2 chart already pulls to download dashboards
 * (its values.yaml, downloadDashboardsImage); the Grafana pod's sidecar that keeps Kiali's Grafana
 * user in place runs it too, so nothing new is pulled.
 */
export const GRAFANA_CURL_IMAGE = "docker.io/curlimages/curl:8.9.1";

/** kiali/kiali-server 2.26.0: the chart and version Istio 1.30.3 generates its Kiali addon from. */
export const KIALI_CHART: ChartPin = {
    chart: "kiali-server",
    version: "2.26.0",
    repo: "https://kiali.org/helm-charts",
};

/** jaegertracing/jaeger 4.11.1: the Jaeger v2 chart (all-in-one, OTLP). */
export const JAEGER_CHART: ChartPin = {
    chart: "jaeger",
    version: "4.11.1",
    repo: "https://jaegertracing.github.io/helm-charts",
};

/**
 * headlamp 0.45.0 from kubernetes-sigs/headlamp (chart release tag headlamp-helm-0.45.0, the newest in
 * its gh-pages index.yaml), image ghcr.io/headlamp-k8s/headlamp:v0.45.0 (the chart's appVersion). The
 * Kubernetes project's web UI for clusters; off unless asked for.
 */
export const HEADLAMP_CHART: ChartPin = {
    chart: "headlamp",
    version: "0.45.0",
    repo: "https://kubernetes-sigs.github.io/headlamp/",
};

/**
 * Istio's Grafana dashboards, downloaded by Grafana at start from the Istio release tag itself
 * (the files Istio builds its own Grafana sample from, manifests/addons/dashboards at 1.30.3),
 * so they always match the installed Istio. A tag, never a branch. Every file below was checked
 * to exist at tag 1.30.3 and to select its Prometheus datasource through a `datasource` variable.
 */
export const ISTIO_GRAFANA_DASHBOARDS = {
    mesh: "istio-mesh-dashboard.gen.json",
    service: "istio-service-dashboard.json",
    workload: "istio-workload-dashboard.json",
    controlPlane: "pilot-dashboard.gen.json",
    performance: "istio-performance-dashboard.json",
    ztunnel: "ztunnel-dashboard.gen.json",
} as const;

/** URL of one of Istio's dashboards at the pinned Istio release tag. */
export function istioDashboardUrl(file: string): string {
    return `https://raw.githubusercontent.com/istio/istio/${ISTIO_VERSION}/manifests/addons/dashboards/${file}`;
}
