/** The verification's config: `verifyDeployment`. */
import { bool, declared, doc } from "../schema";

export const verifyDeploymentSchema = doc(
    declared(bool(true, "")),
    "check the deployment from this machine after `pulumi up`: Bookinfo through the gateway, its pods, and every addon",
    "`true`",
    "true, false",
);
