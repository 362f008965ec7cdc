import { strict as assert } from "node:assert";
import { imageReferenceProblem } from "../../components/cluster/imageReference";

// Cases marked "upstream" are copied from reference_test.go in github.com/distribution/reference
// at 0965666a6ade2e06035fe352e38344be1e68951a; the rest cite the regexp.go production that decides them.
const hex64 = "f".repeat(64);
const hex32 = "0123456789abcdefABCDEF0123456789";

const valid: string[] = [
    `foo@sha384:${"0".repeat(96)}`,
    `foo@sha512:${"a".repeat(128)}`,
    `kindest/node:v1.35.0@sha256:${hex64}`, // name ":" tag "@" digest
    "quay.io/prometheus/prometheus:v3.1.0", // domain-name with dots
    "localhost:5000/foo/bar:1", // domain := host [":" port-number]
    "[::1]:5000/x:y", // ipv6address = \[[a-fA-F0-9:]+\]; upstream "[::1]:5000/repo"
    "[2001:db8::1]/repo", // upstream
    "docker.io/library/busybox", // plain domain + two path components
    "busybox", // domain is optional
    "a__b/c", // separator: "__"
    "foo-----bar", // separator: [-]+
    "a.b_c-d/e", // separator: [._] once each
    "host:99999999999/x", // port-number := [0-9]+ (no range check in the grammar)
    "Foo/bar", // first component matches domainNameComponent, which allows A-Z; upstream FIXME (Uppercase/lowercase passes)
    "test_com", // upstream
    "test.com:5000", // upstream: without "/", "5000" is a tag, not a port
    "192.168.1.1:5000/repo:5050", // upstream
    "foo/foo_bar.com:8080", // upstream
    "lowercase:Uppercase", // upstream: tag := [\w][\w.-]{0,127} allows upper case
    `foo:${"a".repeat(128)}`, // tag of exactly 128 characters
    "foo:_x.-", // tag may start with "_" (\w)
    `xn--7o8h.com/myimage:xn--7o8h.com@sha256:${hex64}`, // upstream (punycode)
    `example.com/${"a".repeat(255)}:tag`, // upstream: domain is excluded from the 255 limit
    `${"a/".repeat(127)}a:tag-puts-this-over-max`, // upstream: "a" is the domain, path is 253 characters
];

const invalid: Array<[string, RegExp]> = [
    // go-digest (algorithm.go): only sha256, sha384 and sha512, with exactly 64, 96 and 128 lower-case hex digits.
    [`foo@sha256:${hex32}`, /sha256 digest that is not 64 lower-case hex digits/],
    [`foo@sha256:${"F".repeat(64)}`, /sha256 digest that is not 64/],
    [`foo@sha512:${hex64}`, /sha512 digest that is not 128/],
    [`foo@sha256+b64u.x:${hex32}`, /digest algorithm other than sha256, sha384 or sha512 \("sha256\+b64u\.x"\)/],
    [`foo@md5:${hex32}`, /digest algorithm other than/],
    ["", /empty reference/], // upstream ErrNameEmpty
    ["foo/Bar", /upper-case/], // path-component alphanumeric := [a-z0-9]+
    ["Uppercase:tag", /upper-case/], // upstream ErrNameContainsUppercase
    ["test:5000/Uppercase/lowercase:tag", /upper-case/], // upstream ErrNameContainsUppercase
    ["foo:", /empty tag/], // tag needs at least one character
    ["foo/bar:", /empty tag/],
    ["foo:-bar", /tag that starts/], // tag's first character is [\w]
    ["foo:a+b", /tag that starts/], // "+" is not in [\w.-]
    [`foo:${"a".repeat(129)}`, /tag longer than 128/], // [\w][\w.-]{0,127}
    ["foo@sha256:abc", /digest/], // digest-hex {32,}
    [`foo@sha256:${hex32.slice(1)}`, /digest/], // 31 hex digits
    [`foo@sha256:${"g".repeat(64)}`, /digest/], // not [[:xdigit:]]
    [`foo@256:${hex64}`, /digest/], // algorithm component starts with [A-Za-z]
    [`foo@${hex64}`, /digest/], // no algorithm ":"
    [`@sha256:${hex64}`, /no repository name/], // upstream
    [":tag", /no repository name/], // upstream ":justtag"
    ["foo//bar", /empty path component/], // components are joined by exactly one "/"
    ["foo/", /empty path component/],
    ["/foo", /empty path component/],
    ["a".repeat(256), /longer than 255/], // RepositoryNameTotalLengthMax
    [`domain/${"a".repeat(256)}:tag`, /longer than 255/], // upstream ErrNameTooLong
    ["foo bar", /a space/], // no production allows " "
    ["foo\nbar", /whitespace or a control/],
    ["foo\n", /whitespace or a control/], // Go's $ does not match before a trailing newline
    ["foo\tbar", /whitespace or a control/],
    ["foo\u0000", /whitespace or a control/],
    ["-foo", /invalid path component "-foo"/], // path-component starts with [a-z0-9]
    ["foo_", /invalid path component/], // a separator must be followed by [a-z0-9]+
    ["foo___bar", /invalid path component/], // separator is "_" or "__", never "___"
    ["foo..bar", /invalid path component/], // separator "." appears once
    ["café", /invalid path component/], // ASCII only
    ["aa/asdf$$^/aa", /invalid path component "asdf\$\$\^"/], // upstream
    ["host:port/x", /invalid domain or port/], // port-number := [0-9]+
    ["[fe80::1%eth0]:5000/repo", /invalid domain or port/], // upstream: no zone identifiers
    ["[2001:db8::1]:5000", /no repository path/], // upstream: a domain must be followed by "/" path
    ["[::1]", /no repository path/], // upstream "[2001:db8::1]"
];

describe("imageReferenceProblem", () => {
    for (const ref of valid) {
        it(`accepts ${JSON.stringify(ref.length > 60 ? `${ref.slice(0, 57)}...` : ref)}`, () => {
            assert.equal(imageReferenceProblem(ref), undefined);
        });
    }
    for (const [ref, reason] of invalid) {
        it(`rejects ${JSON.stringify(ref.length > 60 ? `${ref.slice(0, 57)}...` : ref)}`, () => {
            const problem = imageReferenceProblem(ref);
            assert.equal(typeof problem, "string");
            assert.match(problem!, reason);
        });
    }
    it("answers quickly on long near-miss input (no catastrophic backtracking)", () => {
        const start = Date.now();
        for (const ref of ["a-".repeat(50_000) + "!", "a.".repeat(50_000) + "/", `a@sha256:${"f".repeat(100_000)}g`]) {
            assert.equal(typeof imageReferenceProblem(ref), "string");
        }
        assert.ok(Date.now() - start < 1000);
    });
});
