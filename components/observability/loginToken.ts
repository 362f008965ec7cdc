import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

/** Arguments of {@link LoginToken}. */
export interface LoginTokenArgs {
    /** Namespace of the service account and of the Secret that holds its token. */
    readonly namespace: pulumi.Input<string>;
    /** ClusterRole the service account is bound to, cluster-wide (for example `view`). */
    readonly clusterRole: pulumi.Input<string>;
    /** What the token is for, recorded on the service account for whoever finds it later. */
    readonly purpose: string;
}

/**
 * A dedicated service account, bound to one ClusterRole, and a long-lived token for it that a
 * person pastes into a UI's login page. The token lives in a `kubernetes.io/service-account-token`
 * Secret: pulumi-kubernetes waits until Kubernetes has filled it in, and the token leaves this
 * component only as a secret. Deleting the stack deletes the Secret, which revokes the token.
 */
export class LoginToken extends pulumi.ComponentResource {
    /** The bearer token (secret). */
    public readonly token: pulumi.Output<string>;

    constructor(name: string, args: LoginTokenArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-mesh:index:LoginToken", name, args, opts);
        const account = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            {
                metadata: { namespace: args.namespace, annotations: { "istio-mesh/purpose": args.purpose } },
                // The token is for people; no pod runs as this account.
                automountServiceAccountToken: false,
            },
            { parent: this },
        );
        new k8s.rbac.v1.ClusterRoleBinding(
            `${name}-binding`,
            {
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: args.clusterRole },
                subjects: [{ kind: "ServiceAccount", name: account.metadata.name, namespace: account.metadata.namespace }],
            },
            { parent: this },
        );
        const secret = new k8s.core.v1.Secret(
            `${name}-token`,
            {
                metadata: {
                    namespace: account.metadata.namespace,
                    // Names the account, so the Secret is created after it (the token controller would delete it otherwise).
                    annotations: { "kubernetes.io/service-account.name": account.metadata.name },
                },
                type: "kubernetes.io/service-account-token",
            },
            // The SDK's Secret already marks data (and so the token) secret in the state.
            { parent: this },
        );
        const secretName = secret.metadata.name;
        this.token = pulumi.secret(
            pulumi.all([secret.data, secretName]).apply(([data, n]) => {
                const encoded = data?.token;
                if (!encoded) {
                    throw new Error(
                        `Secret ${n} has no token: Kubernetes' token controller did not fill it in. Check that the controller manager runs, then run pulumi refresh and pulumi up again.`,
                    );
                }
                return Buffer.from(encoded, "base64").toString("utf8");
            }),
        );
        this.registerOutputs({ token: this.token });
    }
}
