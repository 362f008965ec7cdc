import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { validateConfig } from "../../components/config";
import { rawConfigFor } from "../harness";
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

    it("accepts host names up to DNS's limits and refuses them past", () => {
        const host = (hostnames: string[], ingressApi = "istio") => problems("dev", { [`${K}bookinfo`]: { hostnames, ingressApi } });
        const label63 = "a".repeat(63);
        const name253 = [label63, label63, label63, "a".repeat(61)].join(".");
        for (const ok of ["*", "*.example.com", "a.b", `${label63}.com`, name253, "bookinfo-1.example.com"])
            assert.deepEqual(host([ok]), [], ok);
        for (const bad of [
            "Bookinfo.example.com",
            "foo_bar.com",
            "a..b",
            "-a.com",
            "a-.com",
            `${label63}a.com`,
            `${name253}a`,
            "a.*.com",
            "example.com.",
        ]) {
            assert.deepEqual(
                host([bad]),
                [`bookinfo.hostnames[0] must be a DNS name such as "bookinfo.example.com" (got ${JSON.stringify(bad)}).`],
                bad,
            );
        }
        const names = (n: number) => Array.from({ length: n }, (_, i) => `h${i}.example.com`);
        assert.deepEqual(host(names(16), "gateway-api"), []);
        assert.deepEqual(host(names(17), "istio"), []);
        assert.deepEqual(host(["*", "a.example.com"], "istio"), []);
        assert.deepEqual(host(["*", "a.example.com"], "gateway-api"), [
            `bookinfo.hostnames must not mix "*" with names (got ["*","a.example.com"]).`,
        ]);
    });

    it("reads the routing, fault, retry and authorizer settings with their defaults, and refuses what is out of bounds", () => {
        const b = (bookinfo: unknown) => validateConfig(rawConfigFor("dev", { [`${K}bookinfo`]: bookinfo })).bookinfo;
        assert.deepEqual(b({ ratingsFault: { kind: "delay" } }).ratingsFault, {
            kind: "delay",
            percent: 100,
            delaySeconds: 7,
            user: undefined,
        });
        assert.deepEqual(b({ ratingsFault: { kind: "abort", user: "jason" } }).ratingsFault, {
            kind: "abort",
            percent: 100,
            httpStatus: 500,
            user: "jason",
        });
        assert.deepEqual(b({ reviews: { mode: "pinned" } }).reviews, { mode: "pinned", version: "v1" });
        assert.deepEqual(b({ reviews: { mode: "weighted", weights: { v1: 90, v3: 10 } } }).reviews, {
            mode: "weighted",
            weights: { v1: 90, v2: 0, v3: 10 },
        });
        assert.deepEqual(b({ reviews: { mode: "weighted", weights: { v1: 50, v2: 50 } } }).reviews, {
            mode: "weighted",
            weights: { v1: 50, v2: 50, v3: 0 },
        });
        assert.deepEqual(b({ reviews: {} }).reviews, { mode: "round-robin" });
        assert.deepEqual(b({ headerRoute: {} }).headerRoute, { user: "jason", version: "v2" });
        assert.deepEqual(b({ timeoutSeconds: 2, retries: { perTryTimeoutSeconds: 2 } }).retries, { attempts: 3, perTryTimeoutSeconds: 2 });
        assert.deepEqual(b({ retries: { perTryTimeoutSeconds: 60 } }).retries, { attempts: 3, perTryTimeoutSeconds: 60 });
        assert.equal(b({ authorization: "false" }).authorization, false);
        for (const service of ["authz.auth.svc", "authz.auth.svc.cluster.local"])
            assert.equal(b({ extAuthz: { service } }).extAuthz?.service, service);
        const bad = (bookinfo: unknown) => problems("dev", { [`${K}bookinfo`]: bookinfo });
        assert.deepEqual(bad({ reviews: { mode: "weighted" } }), [
            "bookinfo.reviews.weights must add up to 100 (got v1=0, v2=0, v3=0, total 0). Fix: for a 90/10 canary set v1: 90 and v3: 10.",
        ]);
        assert.deepEqual(bad({ ratingsFault: { kind: "delay", httpStatus: 503 } }), [
            "bookinfo.ratingsFault.httpStatus has no effect on a delay fault (got 503). Fix: remove it, or set bookinfo.ratingsFault.kind to abort.",
        ]);
        assert.deepEqual(bad({ timeoutSeconds: 2, retries: { perTryTimeoutSeconds: 3 } }), [
            "bookinfo.retries.perTryTimeoutSeconds must not exceed bookinfo.timeoutSeconds (got 3 for a timeout of 2). Fix: lower the per-try timeout or raise the timeout.",
        ]);
        for (const service of ["Authz.auth.svc", "authz.auth.svc.cluster.local.evil.com", "authz.auth.svc.cluster"]) {
            assert.deepEqual(bad({ extAuthz: { service } }), [
                `bookinfo.extAuthz.service must be a cluster service host such as "ext-authz.auth.svc.cluster.local" (got ${JSON.stringify(service)}).`,
            ]);
        }
    });

    it("says which TLS half is missing or wrong, and never quotes either", () => {
        const fix = "Fix: pulumi config set --secret ingressTlsCert < tls.crt && pulumi config set --secret ingressTlsKey < tls.key";
        const tls = (on: boolean, cert?: string, key?: string) =>
            problems("dev", {
                [`${K}bookinfo`]: { tls: on },
                ...(cert === undefined ? {} : { [`${K}ingressTlsCert`]: cert }),
                ...(key === undefined ? {} : { [`${K}ingressTlsKey`]: key }),
            });
        assert.deepEqual(tls(true, CERT), [
            `bookinfo.tls is true but ingressTlsCert and ingressTlsKey are not both set (got a certificate and no key). ${fix}`,
        ]);
        assert.deepEqual(tls(true, undefined, KEY), [
            `bookinfo.tls is true but ingressTlsCert and ingressTlsKey are not both set (got no certificate and a key). ${fix}`,
        ]);
        assert.deepEqual(tls(false, undefined, KEY), [
            "ingressTlsKey is set but bookinfo.tls is false (got a key nothing would serve). Fix: pulumi config set --path bookinfo.tls true, or pulumi config rm ingressTlsCert and ingressTlsKey",
        ]);
        assert.deepEqual(tls(true, KEY, KEY), [
            `ingressTlsCert must be a PEM certificate (-----BEGIN CERTIFICATE-----) (got something else). ${fix}`,
        ]);
        assert.deepEqual(tls(true, CERT, CERT), [
            `ingressTlsKey must be a PEM private key (-----BEGIN PRIVATE KEY-----) (got something else). ${fix}`,
        ]);
        const [unreadable, ...rest] = tls(true, "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n", KEY);
        assert.deepEqual(rest, []);
        assert.match(unreadable, /^ingressTlsCert and ingressTlsKey could not be read \(got .+\)\. Fix: /);
    });
});
