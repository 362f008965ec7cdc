import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { K, problems } from "../configProblems";

describe("bookinfo config", () => {
    const CERT = fs.readFileSync(path.join(__dirname, "..", "fixtures", "self-signed.crt"), "utf8");
    const KEY = fs.readFileSync(path.join(__dirname, "..", "fixtures", "self-signed.key"), "utf8");

    it("accepts a certificate with its own key, and refuses them swapped, not PEM, or not belonging together", () => {
        const tls = (cert: string, key: string) =>
            problems("dev", { [`${K}bookinfo`]: { tls: true }, [`${K}ingressTlsCert`]: cert, [`${K}ingressTlsKey`]: key });
        const fix = "Fix: pulumi config set --secret ingressTlsCert < tls.crt && pulumi config set --secret ingressTlsKey < tls.key";
        assert.deepEqual(tls(CERT, KEY), []);
        assert.deepEqual(tls(KEY, CERT), [
            `ingressTlsCert and ingressTlsKey are swapped (got a private key as the certificate and a certificate as the key). ${fix}`,
        ]);
        assert.deepEqual(tls("cert", KEY), [
            `ingressTlsCert must be a PEM certificate (-----BEGIN CERTIFICATE-----) (got something else). ${fix}`,
        ]);
        const other = crypto
            .generateKeyPairSync("rsa", { modulusLength: 2048 })
            .privateKey.export({ type: "pkcs8", format: "pem" })
            .toString();
        assert.deepEqual(tls(CERT, other), [`ingressTlsKey does not belong to ingressTlsCert (got a key of another certificate). ${fix}`]);
    });

    it("refuses TLS material nothing would serve", () => {
        assert.deepEqual(problems("dev", { [`${K}ingressTlsCert`]: CERT, [`${K}ingressTlsKey`]: KEY }), [
            "ingressTlsCert is set but bookinfo.tls is false (got a certificate nothing would serve). Fix: pulumi config set --path bookinfo.tls true, or pulumi config rm ingressTlsCert and ingressTlsKey",
        ]);
    });

    it("refuses an authorizer with authorization off, which nothing would ask", () => {
        const extAuthz = { name: "ext-authz", service: "authz.auth.svc.cluster.local", port: 9000 };
        assert.deepEqual(problems("dev", { [`${K}bookinfo`]: { extAuthz, authorization: false } }), [
            "bookinfo.extAuthz needs bookinfo.authorization true (got authorization false): the authorizer is consulted by a CUSTOM AuthorizationPolicy, which the stack creates only with authorization on, so nothing would ask it. Fix: pulumi config set --path bookinfo.authorization true, or remove bookinfo.extAuthz",
        ]);
    });

    it("refuses routing and fault settings that have no effect in the combination given", () => {
        const b = (bookinfo: unknown) => problems("dev", { [`${K}bookinfo`]: bookinfo });
        assert.deepEqual(b({ reviews: { mode: "round-robin", version: "v2" } }), [
            `bookinfo.reviews.version has no effect with mode "round-robin" (got "v2"): it is read only with mode "pinned". Fix: set bookinfo.reviews.mode to pinned, or remove bookinfo.reviews.version.`,
        ]);
        assert.deepEqual(b({ reviews: { mode: "pinned", version: "v2", weights: { v1: 100 } } }), [
            `bookinfo.reviews.weights has no effect with mode "pinned" (got {"v1":100}): it is read only with mode "weighted". Fix: set bookinfo.reviews.mode to weighted, or remove bookinfo.reviews.weights.`,
        ]);
        assert.deepEqual(b({ ratingsFault: { kind: "abort", percent: 50, httpStatus: 500, delaySeconds: 7 } }), [
            "bookinfo.ratingsFault.delaySeconds has no effect on a abort fault (got 7). Fix: remove it, or set bookinfo.ratingsFault.kind to delay.",
        ]);
    });

    it("refuses host names that would fail only halfway through pulumi up", () => {
        assert.deepEqual(problems("dev", { [`${K}bookinfo`]: { hostnames: [] } }), [
            "bookinfo.hostnames must name at least one host (got []): Bookinfo would answer to nothing. Fix: remove it for the default, or list your DNS name.",
        ]);
        const many = Array.from({ length: 17 }, (_, n) => `h${n}.example.com`);
        assert.ok(
            problems("dev", { [`${K}bookinfo`]: { ingressApi: "gateway-api", hostnames: many } }).includes(
                `bookinfo.hostnames must list at most 16 names with ingressApi "gateway-api" (got 17). Fix: use a wildcard such as "*.example.com".`,
            ),
        );
        assert.deepEqual(problems("dev", { [`${K}bookinfo`]: { hostnames: [`${"a".repeat(64)}.example.com`] } }), [
            `bookinfo.hostnames[0] must be a DNS name such as "bookinfo.example.com" (got "${"a".repeat(64)}.example.com").`,
        ]);
    });

    it("checks each rule once the settings it reads are right, whatever else is wrong", () => {
        assert.deepEqual(problems("dev", { [`${K}bookinfo`]: { hostnames: [], ingressApi: 2 } }), [
            `bookinfo.ingressApi must be one of "istio", "gateway-api" (got 2).`,
            "bookinfo.hostnames must name at least one host (got []): Bookinfo would answer to nothing. Fix: remove it for the default, or list your DNS name.",
        ]);
        assert.deepEqual(problems("dev", { [`${K}bookinfo`]: { extAuthz: { service: "bad" }, authorization: false } }), [
            `bookinfo.extAuthz.service must be a cluster service host such as "ext-authz.auth.svc.cluster.local" (got "bad").`,
            "bookinfo.extAuthz needs bookinfo.authorization true (got authorization false): the authorizer is consulted by a CUSTOM AuthorizationPolicy, which the stack creates only with authorization on, so nothing would ask it. Fix: pulumi config set --path bookinfo.authorization true, or remove bookinfo.extAuthz",
        ]);
    });
});
