/**
 * Syntax check for container image references ("[domain/]path[:tag][@digest]"), ported from
 * github.com/distribution/reference at commit 0965666a6ade2e06035fe352e38344be1e68951a:
 *  - regexp.go: alphanumeric, separator, domainNameComponent, ipv6address, optionalPort, tag,
 *    digestPat, and referencePat / anchoredNamePat built from them.
 *  - reference.go Parse(): "" is ErrNameEmpty; a string that matches once lower-cased is
 *    ErrNameContainsUppercase; a path (domain excluded, as split by anchoredNamePat) longer than
 *    RepositoryNameTotalLengthMax (255) is ErrNameTooLong.
 *  - Parse() then validates the digest with github.com/opencontainers/go-digest (algorithm.go):
 *    only sha256, sha384 and sha512 are registered, with exactly 64, 96 and 128 lower-case hex
 *    digits (anchoredEncodedRegexps).
 * Not applied: normalize.go's ParseNormalizedNamed, which rewrites familiar names to
 * docker.io/library/... and also refuses a bare 64-hex name.
 */
const alnum = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const host = String.raw`(?:${domainComponent}(?:\.${domainComponent})*|\[(?:[a-fA-F0-9:]+)\])`;
const domainAndPort = `${host}(?::[0-9]+)?`;
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const tag = String.raw`[\w][\w.-]{0,127}`;
const digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"; // [[:xdigit:]]
const anchored = (p: string) => new RegExp(`^${p}$`);
const REFERENCE = anchored(`((?:${domainAndPort}/)?${remoteName})(?::(${tag}))?(?:@(${digest}))?`);
const NAME = anchored(`(?:(${domainAndPort})/)?(${remoteName})`);
const [DOMAIN, PATH_COMPONENT, TAG, DIGEST] = [domainAndPort, pathComponent, tag, digest].map(anchored);
const PATH_MAX = 255;
/** go-digest's registered algorithms and the length of their lower-case hex encoding. */
const DIGEST_HEX: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };

/** go-digest's Validate: a registered algorithm and its exact lower-case hex length. */
function digestProblem(digest: string): string | undefined {
    const [algorithm, hex] = digest.split(":");
    const length = DIGEST_HEX[algorithm];
    if (length === undefined) return `a digest algorithm other than sha256, sha384 or sha512 ("${algorithm}")`;
    return new RegExp(`^[a-f0-9]{${length}}$`).test(hex) ? undefined : `a ${algorithm} digest that is not ${length} lower-case hex digits`;
}

/** undefined if `ref` is a valid reference per the grammar above, else a short English reason. */
export function imageReferenceProblem(ref: string): string | undefined {
    if (ref === "") return "an empty reference";
    if (ref.includes(" ")) return "a space";
    if ([...ref].some((c) => /\s/.test(c) || c.charCodeAt(0) < 0x20 || (c.charCodeAt(0) >= 0x7f && c.charCodeAt(0) <= 0x9f)))
        return "whitespace or a control character";
    const m = REFERENCE.exec(ref);
    if (m) {
        const path = NAME.exec(m[1])![2];
        if (path.length > PATH_MAX) return `a name longer than ${PATH_MAX} characters (domain excluded)`;
        return m[3] === undefined ? undefined : digestProblem(m[3]);
    }
    if (REFERENCE.test(ref.toLowerCase())) return "upper-case letters in the repository path";
    // The grammar rejected it; find the first part at fault, only to phrase the reason.
    let rest = ref;
    const at = rest.indexOf("@");
    if (at >= 0) {
        if (!DIGEST.test(rest.slice(at + 1))) return "a digest that is not algorithm:hex of at least 32 characters";
        rest = rest.slice(0, at);
    }
    if (rest.startsWith("[") && !rest.includes("/")) return "an IPv6 domain with no repository path after it";
    const colon = rest.indexOf(":", rest.lastIndexOf("/") + 1);
    if (colon >= 0) {
        const t = rest.slice(colon + 1);
        if (t === "") return "an empty tag";
        if (!TAG.test(t))
            return /^\w[\w.-]*$/.test(t)
                ? "a tag longer than 128 characters"
                : "a tag that starts with '.' or '-' or has characters other than A-Za-z0-9_.-";
        rest = rest.slice(0, colon);
    }
    if (rest === "") return "no repository name";
    const parts = rest.split("/");
    if (parts.includes("")) return "empty path component";
    const skip = parts.length > 1 && DOMAIN.test(parts[0]) ? 1 : 0;
    if (!skip && parts.length > 1 && /[:[\]]/.test(parts[0])) return `an invalid domain or port "${parts[0]}"`;
    const bad = parts.slice(skip).find((p) => !PATH_COMPONENT.test(p));
    return bad !== undefined ? `an invalid path component "${bad}"` : "an invalid reference format";
}
