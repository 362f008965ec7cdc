import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as random from "@pulumi/random";
import { ConfigError, loadConfig } from "./components/config";
import { connectCluster } from "./components/cluster/cluster";
import { ownerLabels } from "./components/cluster/ownership";
import { INGRESS_NAMESPACE, ISTIO_BASE_RELEASE, ISTIO_NAMESPACE } from "./components/mesh/istioValues";
import { GatewayApiCrds } from "./components/mesh/gatewayApiCrds";
import { IstioMesh } from "./components/mesh/istioMesh";
import { NODE_PORTS } from "./components/ports";
import { Bookinfo } from "./components/bookinfo/bookinfo";
import { Observability } from "./components/observability/observability";
import {
    OBSERVABILITY_NAMESPACE,
    addonGatewayPorts,
    clusterHost,
    enabledAddons,
    JAEGER,
    JAEGER_OTLP_GRPC_PORT,
    TRACING_PROVIDER,
} from "./components/observability/observabilityValues";
import { baseUrl, hostForListenAddress } from "./components/urls";
import { DeploymentCheck } from "./components/verify/deploymentCheck";
import { bookinfoBackends, bookinfoWorkloads, BOOKINFO_NAMESPACE } from "./components/bookinfo/bookinfoManifests";
import { MeshStackProgramOutputs, OUTPUTS_CONTRACT_VERSION, PresentOutputs, presentOutputs } from "./components/outputs";
import { planRevisions, RevisionPlanError } from "./components/mesh/revisions";
import { lastDeployedRevisions } from "./components/mesh/lastDeployment";
import { RetireGuard } from "./components/mesh/retireGuard";
import { DEFAULT_VALIDATOR_NAME, tagWebhookName } from "./components/mesh/revisionTags";

// Composition root: load config, read what the last deployment installed, build components, export outputs.
// An async program (the Node runtime awaits an exported function: @pulumi/pulumi cmd/run/run.ts).
export = async (): Promise<PresentOutputs> => {
    const cfg = loadConfig();

    // Which istiod revisions this up installs, tags and retires; every problem before anything is created.
    const previous = await lastDeployedRevisions();
    const revisions = (() => {
        try {
            return planRevisions({ version: cfg.istio.version, upgrade: cfg.istio.upgrade, previous, stackFlag: `--stack ${cfg.stack}` });
        } catch (e) {
            if (e instanceof RevisionPlanError) throw new ConfigError(e.problems);
            throw e;
        }
    })();

    // Default providers are disabled for this stack, so every provider is explicit.
    const commandProvider = new command.Provider("command");
    const randomProvider = new random.Provider("random");

    // What the stack creates in the cluster, for the ownership check on an existing cluster.
    const cluster = connectCluster(
        cfg,
        {
            namespaces: [
                { name: ISTIO_NAMESPACE },
                { name: INGRESS_NAMESPACE },
                ...(cfg.bookinfo.enabled ? [{ name: BOOKINFO_NAMESPACE, feature: "pulumi config set --path bookinfo.enabled false" }] : []),
                { name: OBSERVABILITY_NAMESPACE },
            ],
            gatewayApi: cfg.istio.gatewayApi.install,
            istioBase: { release: ISTIO_BASE_RELEASE, namespace: ISTIO_NAMESPACE },
            webhooks: {
                mutating: revisions.tags.map((t) => tagWebhookName(t.tag)),
                validating: revisions.strategy === "revisions" ? [DEFAULT_VALIDATOR_NAME] : [],
            },
        },
        { providers: [commandProvider] },
    );
    const providers = [cluster.provider, commandProvider];

    const gatewayApi = cfg.istio.gatewayApi.install
        ? new GatewayApiCrds(
              "gateway-api",
              {
                  channel: cfg.istio.gatewayApi.channel,
                  localFile: cfg.istio.gatewayApi.localFile,
                  retainOnDestroy: !cfg.istio.removeCrdsOnDestroy,
                  labels: ownerLabels(cfg.stack),
                  clusterReady: cluster.ready,
              },
              { providers },
          )
        : undefined;

    const kindHost = cfg.kind ? hostForListenAddress(cfg.kind.listenAddress) : undefined;
    const addonExposure = cfg.observability.gatewayExposure;
    const mesh = new IstioMesh(
        "istio",
        {
            mode: cfg.istio.mode,
            kubeconfig: cluster.kubeconfig,
            context: cluster.context,
            mtls: cfg.istio.mtls,
            istiod: cfg.istio.istiod,
            gateway: cfg.istio.gateway,
            meshConfig: cfg.istio.meshConfig,
            exposure: cfg.kind
                ? { type: "NodePort", httpNodePort: NODE_PORTS.http, httpsNodePort: NODE_PORTS.https }
                : { type: cfg.istio.gateway.service },
            extraPorts: addonExposure ? addonGatewayPorts(enabledAddons(cfg.observability)) : [],
            hostHttpUrl: cfg.kind && kindHost ? baseUrl("http", kindHost, cfg.kind.hostPorts.http) : undefined,
            // Jaeger's address is a fixed name, so the mesh does not wait for the addons.
            tracing: cfg.observability.jaeger
                ? { name: TRACING_PROVIDER, service: clusterHost(JAEGER), port: JAEGER_OTLP_GRPC_PORT }
                : undefined,
            extAuthz: cfg.bookinfo.extAuthz,
            extraValues: cfg.istio.extraValues,
            // On kind the cluster goes on destroy, its CRDs with it: no cleanup step that would need it to be there.
            removeCrdsOnDestroy: cfg.istio.removeCrdsOnDestroy && cfg.clusterMode === "existing",
            clusterReady: cluster.ready,
            dependsOn: gatewayApi ? [gatewayApi.bundle] : [],
            revisions,
        },
        { providers },
    );

    const bookinfo = cfg.bookinfo.enabled
        ? new Bookinfo(
              "bookinfo",
              {
                  mode: cfg.istio.mode,
                  settings: cfg.bookinfo,
                  gateway: { namespace: mesh.gatewayNamespace, name: mesh.gatewayName, labels: mesh.gatewayLabels },
                  gatewayNamespaceName: mesh.gatewayNamespaceName,
                  meshReady: mesh.ready,
                  ingressUrl: mesh.ingressUrl,
                  clusterReady: cluster.ready,
                  revision: mesh.revisionTag ? { tag: mesh.revisionTag, revision: mesh.activeRevision } : undefined,
                  istioVersion: mesh.activeVersion,
              },
              { providers },
          )
        : undefined;

    // Retiring a revision: a check that no proxy runs it, before Pulumi removes its istiod.
    if (revisions.retiring.length > 0) {
        new RetireGuard(
            "retire",
            {
                retiring: revisions.retiring,
                tag: mesh.revisionTag,
                kubeconfig: cluster.kubeconfig,
                context: cluster.context,
                // the gateway and Bookinfo restart onto the default tag's revision first
                waitFor: [mesh, ...(bookinfo ? [bookinfo] : [])],
            },
            { providers },
        );
    }

    // Installed side by side with Bookinfo: neither waits for the other.
    const observability = new Observability(
        "observability",
        {
            mode: cfg.istio.mode,
            settings: cfg.observability,
            kind: cfg.kind && kindHost ? { host: kindHost, hostPorts: cfg.kind.hostPorts } : undefined,
            gateway: addonExposure
                ? {
                      namespace: mesh.gatewayNamespace,
                      namespaceName: mesh.gatewayNamespaceName,
                      labels: mesh.gatewayLabels,
                      ingressUrl: mesh.ingressUrl,
                      sourceRanges: addonExposure.sourceRanges,
                  }
                : undefined,
            meshReady: mesh.ready,
            clusterReady: cluster.ready,
        },
        { providers: [...providers, randomProvider] },
    );

    if (cfg.verifyDeployment) {
        new DeploymentCheck(
            "verify",
            {
                mode: cfg.istio.mode,
                bookinfo: bookinfo
                    ? {
                          url: bookinfo.url,
                          namespace: BOOKINFO_NAMESPACE,
                          workloads: bookinfoWorkloads(),
                          backends: bookinfoBackends(cfg.bookinfo),
                      }
                    : undefined,
                addons: observability.endpoints,
                kubeconfig: cluster.kubeconfig,
                context: cluster.context,
                // the checks open Bookinfo through the gateway and each addon: all of them must be up
                waitFor: [mesh, ...(bookinfo ? [bookinfo] : []), observability],
                // with revisions, every proxy of the stack's namespaces must have moved onto the default tag's revision
                proxies: mesh.revisionTag
                    ? { namespaces: [mesh.gatewayNamespace, ...(bookinfo ? [BOOKINFO_NAMESPACE] : [])], revision: mesh.activeRevision }
                    : undefined,
            },
            { providers },
        );
    }

    // The outputs contract (components/outputs.ts): other stacks read these names.
    const outputs: MeshStackProgramOutputs = {
        contractVersion: pulumi.output(OUTPUTS_CONTRACT_VERSION),
        clusterName: cluster.clusterName,
        clusterMode: pulumi.output(cluster.mode),
        kubeconfig: cluster.kubeconfig,
        kubeContext: pulumi.output(cluster.context ?? ""),
        istioVersion: mesh.version,
        meshMode: mesh.mode,
        ingressGatewayUrl: mesh.ingressUrl,
        bookinfoUrl: bookinfo?.url,
        prometheusUrl: observability.prometheusUrl,
        grafanaUrl: observability.grafanaUrl,
        jaegerUrl: observability.jaegerUrl,
        kialiUrl: observability.kialiUrl,
        grafanaAdminPassword: observability.grafanaAdminPassword,
        kialiToken: observability.kialiToken,
        headlampUrl: observability.headlampUrl,
        headlampToken: observability.headlampToken,
        istioRevisions: mesh.installedRevisions,
        istioRevisionTag: pulumi.output(mesh.revisionTag ?? ""),
    };
    // Only the outputs of the features that are on: the others are absent, as the contract says.
    return presentOutputs(outputs);
};
