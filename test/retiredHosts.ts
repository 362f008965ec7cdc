/**
 * Istio's GCP hosting, retired after the outage test of 2026-12-08/09 (Istio 1.31 upgrade notes,
 * "Deprecation of GCP infrastructure and hosting"). The one place in the tests that names them,
 * spelled in parts so that test/hosting.test.ts, which keeps them out of every other file, does
 * not find them here.
 */
export const RETIRED_CHART_HOST = ["istio-release", "storage", "googleapis", "com"].join(".");
/** The retired registries: Istio's release images and Bookinfo's. */
export const RETIRED_REGISTRIES = [["gcr", "io"].join(".") + "/istio-release", ["registry", "istio", "io"].join(".")] as const;
/** Every retired host. */
export const RETIRED_HOSTS = [RETIRED_CHART_HOST, ...RETIRED_REGISTRIES] as const;
