/** URL building, kept pure so that it is tested without a cluster. */

/** The host name users type for a kind listen address. */
export function hostForListenAddress(listenAddress: string): string {
    return listenAddress === "127.0.0.1" || listenAddress === "0.0.0.0" ? "localhost" : listenAddress;
}

/** `scheme://host[:port]`, leaving out the scheme's default port. */
export function baseUrl(scheme: "http" | "https", host: string, port?: number): string {
    const defaultPort = scheme === "http" ? 80 : 443;
    return `${scheme}://${host}${port === undefined || port === defaultPort ? "" : `:${port}`}`;
}

/** A LoadBalancer Service's status, as the API returns it. */
export interface ServiceStatus {
    readonly loadBalancer?: { readonly ingress?: readonly { readonly ip?: string; readonly hostname?: string }[] };
}

/** The address of a LoadBalancer Service, or undefined while it has none. */
export function loadBalancerHost(status: ServiceStatus | undefined): string | undefined {
    const first = status?.loadBalancer?.ingress?.[0];
    return first?.hostname || first?.ip || undefined;
}

/** Joins a base URL and a path without doubling or dropping the slash. */
export function joinUrl(base: string, path: string): string {
    return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}

/** The same scheme and host on another port; text that is not a URL (a pending address) is returned as is. */
export function withPort(base: string, port: number): string {
    let u: URL;
    try {
        u = new URL(base);
    } catch {
        return base;
    }
    return baseUrl(u.protocol === "https:" ? "https" : "http", u.hostname.includes(":") ? `[${u.hostname}]` : u.hostname, port);
}
