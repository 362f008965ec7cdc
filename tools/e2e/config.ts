/** The throwaway stack's config and the changes the scenarios make to it. Pure. */
import { PORT_ROLES, PortRole } from "../../components/ports";

/** The project's config namespace. */
export const PREFIX = "istio-mesh:";

export type Config = Readonly<Record<string, unknown>>;

function objectAt(config: Config, key: string): Record<string, unknown> {
    const v = config[PREFIX + key];
    return typeof v === "object" && v !== null && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : {};
}

/**
 * The throwaway stack's config: the environment's, with its own cluster name, its own host port
 * for every role (so it runs beside the user's clusters), and the verification on.
 */
export function e2eStackConfig(envConfig: Config, name: string, hostPorts: Readonly<Record<PortRole, number>>): Record<string, unknown> {
    const ports: Record<string, number> = {};
    for (const role of PORT_ROLES) ports[role] = hostPorts[role];
    return {
        ...envConfig,
        [`${PREFIX}clusterName`]: name,
        [`${PREFIX}kind`]: { ...objectAt(envConfig, "kind"), hostPorts: ports },
        [`${PREFIX}verifyDeployment`]: true,
    };
}

/** The routing change: a reviews split that differs from the one configured. */
export function withRoutingChange(config: Config): Record<string, unknown> {
    const bookinfo = objectAt(config, "bookinfo");
    const a = { mode: "weighted", weights: { v1: 50, v2: 50, v3: 0 } };
    const b = { mode: "weighted", weights: { v1: 50, v2: 0, v3: 50 } };
    const reviews = JSON.stringify(bookinfo.reviews) === JSON.stringify(a) ? b : a;
    return { ...config, [`${PREFIX}bookinfo`]: { ...bookinfo, reviews } };
}

/** Bookinfo and the heavier addons off, so that the next up has minutes of work to interrupt. */
export function withWorkloadsOff(config: Config): Record<string, unknown> {
    return {
        ...config,
        [`${PREFIX}bookinfo`]: { ...objectAt(config, "bookinfo"), enabled: false },
        [`${PREFIX}observability`]: { ...objectAt(config, "observability"), prometheus: false, grafana: false, kiali: false },
    };
}
