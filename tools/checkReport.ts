/**
 * What `pulumi up` of a validated stack config would create, for `npm run check`: the capabilities,
 * the URLs, and the CPU and memory its pods request. Pure: the config in, lines out.
 *
 * The URLs follow the program's own rules (components/observability/observability.ts, hostUrlOf and
 * urlOf; components/bookinfo/bookinfo.ts, url), and a test holds them equal to the outputs the
 * program exports under mocks for every committed kind stack.
 */
import { StackConfig } from "../components/config";
import { PortRole } from "../components/ports";
import { baseUrl, hostForListenAddress, joinUrl } from "../components/urls";
import { PINS } from "../components/versions";
import { AddonService, clusterUrl, enabledAddons, gatewayPortOf, KIALI } from "../components/observability/observabilityValues";
import { footprint, formatRequests } from "./footprint";

/** Where the ingress gateway's address stands on an existing cluster: known only once its load balancer has one. */
export const GATEWAY_ADDRESS = "<gateway address>";

/** An output URL: the output's name and the URL. */
export interface StackUrl {
    readonly output: string;
    readonly url: string;
}

/** The URLs the stack would export, by output name; on an existing cluster the gateway's address stays a placeholder. */
export function stackUrls(cfg: StackConfig): StackUrl[] {
    const host = cfg.kind ? hostForListenAddress(cfg.kind.listenAddress) : undefined;
    const hostUrl = (role: PortRole): string => baseUrl("http", host!, cfg.kind!.hostPorts[role]);
    const ingress = cfg.kind ? hostUrl("http") : `http://${GATEWAY_ADDRESS}`;
    const urls: StackUrl[] = [{ output: "ingressGatewayUrl", url: ingress }];
    if (cfg.bookinfo.enabled) urls.push({ output: "bookinfoUrl", url: joinUrl(ingress, "/productpage") });
    const addonUrl = (a: AddonService): string => {
        const base = cfg.kind
            ? hostUrl(a.role)
            : cfg.observability.gatewayExposure
              ? `http://${GATEWAY_ADDRESS}:${gatewayPortOf(a)}`
              : clusterUrl(a);
        return a === KIALI ? `${base}/kiali` : base;
    };
    for (const a of enabledAddons(cfg.observability)) urls.push({ output: `${a.role}Url`, url: addonUrl(a) });
    return urls;
}

/** The capabilities `up` would create, one line each. */
export function capabilities(cfg: StackConfig): string[] {
    const lines: string[] = [];
    if (cfg.kind) {
        const k = cfg.kind;
        lines.push(
            `kind cluster ${cfg.clusterName}: a control plane${k.workers > 0 ? ` and ${k.workers} worker${k.workers === 1 ? "" : "s"}` : ""}, zones ${k.zones.join(", ")}, node image ${k.nodeImage.split("@")[0]}, host ports on ${k.listenAddress}`,
        );
    } else {
        const e = cfg.existing;
        lines.push(
            `the existing cluster of ${e?.source === "file" ? "your kubeconfig file" : "the kubeconfig in the config"}${e?.context ? `, context ${e.context}` : ""}, named ${cfg.clusterName} in the outputs`,
        );
    }
    const gw = cfg.istio.gatewayApi;
    lines.push(
        gw.install
            ? `Gateway API ${PINS.gatewayApi.version} CRDs, ${gw.channel} channel`
            : "no Gateway API CRDs (istio.gatewayApi.install is false: the cluster's own are used)",
    );
    const g = cfg.istio.gateway;
    lines.push(
        `Istio ${PINS.istio.version} in ${cfg.istio.mode} mode, mTLS ${cfg.istio.mtls}: istiod (${cfg.istio.istiod.replicas} replica${cfg.istio.istiod.replicas === 1 ? "" : "s"}), ` +
            `an ingress gateway (${g.kind === "DaemonSet" ? "a DaemonSet" : `${g.replicas} replica${g.replicas === 1 ? "" : "s"}`}, ${cfg.kind ? "NodePort behind the kind host ports" : `Service ${g.service}`})` +
            (cfg.istio.mode === "ambient" ? ", istio-cni and ztunnel on every node" : ""),
    );
    const b = cfg.bookinfo;
    lines.push(
        b.enabled
            ? `Bookinfo through ${b.ingressApi === "gateway-api" ? "a Gateway API Gateway" : "an Istio Gateway"}, reviews ${b.reviews.mode}${b.tls ? ", HTTPS with your certificate" : ""}`
            : "no Bookinfo (bookinfo.enabled is false)",
    );
    const addons = enabledAddons(cfg.observability).map((a) => a.title);
    lines.push(addons.length > 0 ? `addons: ${addons.join(", ")}` : "no addons");
    lines.push(
        cfg.verifyDeployment
            ? "a last step that checks from this machine that Bookinfo and every addon answer"
            : "no deployment check (verifyDeployment is false)",
    );
    return lines;
}

/** The whole report of a valid config. */
export function renderCheck(cfg: StackConfig): string {
    const fp = footprint(cfg);
    const urls = stackUrls(cfg);
    const width = Math.max(...urls.map((u) => u.output.length));
    return [
        `Stack ${cfg.stack}: the config is valid. pulumi up would create:`,
        ...capabilities(cfg).map((l) => `  - ${l}`),
        "",
        "URLs (stack outputs):",
        ...urls.map((u) => `  ${u.output.padEnd(width)}  ${u.url}`),
        "",
        `Requested by its pods: ${formatRequests(fp.total)}${fp.perNode ? ` (${fp.perNode})` : ""}; the details:`,
        ...fp.lines.map((l) => `  ${formatRequests(l.requests).padEnd(20)} ${l.what}`),
        ...(cfg.warnings.length > 0 ? ["", "Warnings:", ...cfg.warnings.map((w) => `  - ${w}`)] : []),
    ].join("\n");
}
