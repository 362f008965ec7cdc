/**
 * Every version this stack pins, in one typed record. Upgrading Istio means reading its release
 * notes, then changing the Istio pin, the Gateway API pin it is built against, the addon charts it
 * generates its own addons from, and a kind node image in its supported Kubernetes range. The
 * record is read where it is used, never copied into a constant of its own, so that one change
 * here reaches every resource (test/upgrade.test.ts evaluates the program with another record).
 */

/** A Helm chart pinned to a version in a repository. */
export interface ChartPin {
    readonly chart: string;
    readonly version: string;
    readonly repo: string;
}

/** The shape of {@link PINS}. */
export interface Pins {
    readonly kind: {
        /** The kind release whose node images the stack uses. */
        readonly version: string;
        /** The default node image, with the digest kind's release notes give for it. */
        readonly nodeImage: string;
    };
    readonly istio: {
        /** The Istio release every Istio chart and image is at. */
        readonly version: string;
        /** Istio's Helm repository (HTTPS, `index.yaml`). */
        readonly helmRepo: string;
        /** The registry Istio's own images (pilot, proxyv2, install-cni, ztunnel) are pulled from. */
        readonly hub: string;
    };
    readonly gatewayApi: {
        /** The Gateway API release whose CRDs the stack installs. */
        readonly version: string;
    };
    readonly bookinfo: {
        /** Registry and repository prefix of the `examples-bookinfo-*` images. */
        readonly registry: string;
        readonly tag: string;
    };
    readonly charts: {
        readonly prometheus: ChartPin;
        readonly grafana: ChartPin;
        readonly kiali: ChartPin;
        readonly jaeger: ChartPin;
        readonly headlamp: ChartPin;
    };
    /** The curl image of Grafana's dashboard download and of its Kiali-user sidecar. */
    readonly grafanaCurlImage: string;
    /** The Pulumi CLI the developer commands run. */
    readonly pulumiCli: string;
    /** The `registry` image each image cache of a kind stack runs (components/cluster/imageCache.ts). */
    readonly registryImage: string;
}

/** The pins. */
export const PINS: Pins = {
    kind: {
        // https://github.com/kubernetes-sigs/kind/releases/tag/v0.33.0 ("Images pre-built for this
        // release", quoted whole in polarsquad/krops#112). kind only supports node images built for
        // its own release, hence the digest.
        version: "v0.33.0",
        // Kubernetes 1.36.4, inside Istio 1.31's supported range (1.32 to 1.36). Used when a cluster
        // is created: an existing cluster keeps the image it was created with (components/cluster/
        // kindCluster.ts says why).
        nodeImage: "kindest/node:v1.36.4@sha256:099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed",
    },
    istio: {
        // https://github.com/istio/istio/releases/tag/1.31.1, the newest 1.31 patch its release notes name.
        version: "1.31.1",
        // Istio's Helm repository since its GCP hosting was retired (Istio 1.31 upgrade notes,
        // "Deprecation of GCP infrastructure and hosting"; CHANGELOG.md names the old hosts). The
        // HTTPS repository rather than oci://ghcr.io/istio/release/charts: helm.v3.Release takes it as
        // repositoryOpts.repo and resolves the chart from its index.yaml like every other chart of
        // the stack, and changing repo or version upgrades the release in place (pulumi-kubernetes
        // provider/pkg/provider/helm_release.go: only name and namespace force a replacement).
        helmRepo: "https://blob.istio.io/istio-release/charts",
        // Docker Hub, where Istio publishes every release (the published charts' own default,
        // istio/release-builder DOCKER_HUB), not the retired GCP-hosted registries.
        hub: "docker.io/istio",
    },
    gatewayApi: {
        // https://github.com/kubernetes-sigs/gateway-api/releases/tag/v1.6.1, the patch release of
        // v1.6.0, which Istio 1.31 is built against (newer CRDs than istiod knows can keep it from
        // becoming ready, istio/istio#59443). Its standard channel adds TCPRoute and UDPRoute, and its
        // safe-upgrades admission policy refuses any CRD of bundle v1.5 or older once it is installed
        // (config/crd/standard/gateway.networking.k8s.io_vap_safeupgrades.yaml): no way back to v1.5.1.
        version: "v1.6.1",
    },
    bookinfo: {
        // Docker Hub copies of the images Istio 1.31's samples/bookinfo/platform/kube/bookinfo.yaml
        // names (tag 1.20.3), which still point at a registry retired with the GCP hosting.
        registry: "docker.io/istio",
        tag: "1.20.3",
    },
    charts: {
        // prometheus-community/prometheus 28.13.0: what Istio 1.31's manifests/addons/gen.sh generates its Prometheus addon from.
        prometheus: { chart: "prometheus", version: "28.13.0", repo: "https://prometheus-community.github.io/helm-charts" },
        // grafana 9.2.2: what Istio 1.31's gen.sh generates its Grafana addon from, installed from
        // grafana-community/helm-charts, where the chart moved (grafana/helm-charts is frozen and says
        // so). The maintained repository serves 9.2.2 with the same digest as the old one (its gh-pages
        // index.yaml, sha256 3c76a163be55660089ffafd6d0a9fe6c88fb6ac0ffdd421ec4781cc720093a8b; tag
        // grafana-9.2.2 is the same commit in both repositories).
        grafana: { chart: "grafana", version: "9.2.2", repo: "https://grafana-community.github.io/helm-charts" },
        // kiali/kiali-server 2.27.0: what Istio 1.31's gen.sh generates its Kiali addon from.
        kiali: { chart: "kiali-server", version: "2.27.0", repo: "https://kiali.org/helm-charts" },
        // jaegertracing/jaeger 4.11.1: the Jaeger v2 chart (all-in-one, OTLP).
        jaeger: { chart: "jaeger", version: "4.11.1", repo: "https://jaegertracing.github.io/helm-charts" },
        // headlamp 0.45.0 from kubernetes-sigs/headlamp (chart release tag headlamp-helm-0.45.0, the
        // newest in its gh-pages index.yaml), image ghcr.io/headlamp-k8s/headlamp:v0.45.0 (the chart's
        // appVersion). The Kubernetes project's web UI for clusters; off unless asked for.
        headlamp: { chart: "headlamp", version: "0.45.0", repo: "https://kubernetes-sigs.github.io/headlamp/" },
    },
    // curlimages/curl 8.9.1, the image the grafana 9.2.2 chart already pulls to download dashboards
    // (its values.yaml, downloadDashboardsImage): the Kiali-user sidecar runs it too, so nothing new is pulled.
    grafanaCurlImage: "docker.io/curlimages/curl:8.9.1",
    // 3.248.0, the version of the @pulumi/pulumi SDK in package.json
    // (https://github.com/pulumi/pulumi/releases/tag/v3.248.0). Kept equal to or above the SDK's (a
    // test holds it there): the Automation API refuses an older CLI (sdk/nodejs/automation/cmd.ts,
    // parseAndValidatePulumiVersion). A `pulumi` on PATH is used only when it is at least this version.
    pulumiCli: "3.248.0",
    // The official `registry` image (CNCF Distribution) 3.0.0, by the digest of its multi-platform
    // index; its proxy mode is distribution v3.0.0 registry/proxy/proxyregistry.go. kind's
    // local-registry recipe runs registry:3 too (site/static/examples/kind-with-registry.sh).
    registryImage: "docker.io/library/registry:3.0.0@sha256:6c5666b861f3505b116bb9aa9b25175e71210414bd010d92035ff64018f9457e",
};

/** The kind release, under the name the developer tools (tools/) use for it. */
export const KIND_VERSION = PINS.kind.version;

/** The Pulumi CLI version, under the name the developer tools (tools/) use for it. */
export const PULUMI_CLI_VERSION = PINS.pulumiCli;

/** Versioned release assets of the Gateway API CRDs at the pinned release; never a branch. */
export function gatewayApiCrdUrl(channel: "standard" | "experimental"): string {
    const file = channel === "standard" ? "standard-install.yaml" : "experimental-install.yaml";
    return `https://github.com/kubernetes-sigs/gateway-api/releases/download/${PINS.gatewayApi.version}/${file}`;
}

/**
 * Istio's Grafana dashboards, downloaded by Grafana at start from the Istio release tag itself
 * (the files Istio builds its own Grafana sample from, manifests/addons/dashboards), so they always
 * match the installed Istio. A tag, never a branch. Every file below exists at tag 1.30.3 and on
 * Istio's release-1.31 branch (read at 2026-08-20, days before 1.31.0), and selects its Prometheus
 * datasource through a `datasource` variable.
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
    return `https://raw.githubusercontent.com/istio/istio/${PINS.istio.version}/manifests/addons/dashboards/${file}`;
}
