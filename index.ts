import * as command from "@pulumi/command";
import { loadConfig } from "./components/config";
import { connectCluster } from "./components/cluster";

// Composition root: load config, build components, export outputs.
const cfg = loadConfig();

// Default providers are disabled for this stack, so every provider is explicit.
const commandProvider = new command.Provider("command");

const cluster = connectCluster(cfg, { providers: [commandProvider] });

export const clusterName = cluster.clusterName;
export const clusterMode = cluster.mode;
export const kubeconfig = cluster.kubeconfig;
