/**
 * Run by the deployment check (a command resource) on the user's machine once everything is up:
 * opens Bookinfo's product page and each addon, and lists the Bookinfo pods, until all pass or
 * the time is up. Needs neither kubectl nor curl.
 */
import { nodeHttpGet, VerificationPlan, verifyDeployment } from "../components/verify/verification";
import { kubeApiFrom, requireEnv } from "./kubeApi";

async function main(): Promise<number> {
    const plan = JSON.parse(requireEnv("VERIFY_PLAN")) as VerificationPlan;
    const kubeconfig = process.env.VERIFY_KUBECONFIG;
    const api = kubeconfig ? await kubeApiFrom(kubeconfig, process.env.VERIFY_CONTEXT || undefined) : undefined;
    const timeoutMs = Number(process.env.VERIFY_TIMEOUT_SECONDS ?? "300") * 1000;
    const report = await verifyDeployment(
        plan,
        { get: nodeHttpGet(), api },
        { timeoutMs, intervalMs: Number(process.env.VERIFY_INTERVAL_MS ?? "3000"), log: (line) => console.error(line) },
    );
    for (const line of report.passed) console.log(`ok   ${line}`);
    for (const message of report.failed) console.error(`FAIL ${message}`);
    if (report.failed.length > 0) {
        console.error(
            `error: ${report.failed.length} of ${report.passed.length + report.failed.length} checks failed. Nothing was rolled back; fix the cause and run pulumi up again (or set verifyDeployment to false to skip the checks).`,
        );
        return 1;
    }
    return 0;
}

main().then(
    (code) => process.exit(code),
    (e: Error) => {
        console.error(`error: ${e.message}`);
        process.exit(1);
    },
);
