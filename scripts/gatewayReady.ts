/**
 * Run by the ingress gateway check (a command resource) on an existing cluster: waits until the
 * gateway's pods are ready and it has an address (a load balancer's, or a node's for a NodePort),
 * and prints its base URL on stdout. Says what is missing when it has none. Needs no kubectl.
 */
import { GatewayTarget, waitForGateway } from "../components/mesh/gatewayReadiness";
import { kubeApiFromEnv, requireEnv } from "./kubeApi";

async function main(): Promise<void> {
    const api = await kubeApiFromEnv("GATEWAY");
    const target = JSON.parse(requireEnv("GATEWAY_TARGET")) as GatewayTarget;
    const url = await waitForGateway(api, target, {
        timeoutMs: Number(process.env.GATEWAY_TIMEOUT_SECONDS ?? "300") * 1000,
        intervalMs: Number(process.env.GATEWAY_INTERVAL_MS ?? "3000"),
        log: (line) => console.error(line),
    });
    console.error(`The ingress gateway answers at ${url}.`);
    console.log(url);
}

main().catch((e: Error) => {
    console.error(`error: ${e.message}`);
    process.exit(1);
});
