/**
 * Istio control plane revisions: which istiod releases an `up` installs, which revision each
 * revision tag points at, and what is retired. Pure logic, unit-tested across a sequence of
 * configs; the mesh component builds the releases and tags from the plan.
 *
 * Canary upgrades as Istio documents them (istio.io "Canary upgrades", and "Upgrade with Helm":
 * one istiod per revision, installed with `revision=<name>`; workloads select a revision tag, not
 * a revision; the tag moves, the workloads restart onto it, the old revision is removed once no
 * proxy uses it). The revision of a version is derived from it (`1.31.1` → `1-31-1`), so changing
 * the pin adds a control plane beside the running one instead of replacing it.
 *
 * What is installed comes from three places: the pinned version (or `istio.version`), the versions
 * the user keeps (`istio.upgrade.keepRevisions`), and the revisions the last deployment of this
 * stack installed (its `istioRevisions` output, read back through a StackReference to the stack
 * itself), minus the ones the user retires (`istio.upgrade.retire`). So a revision is never
 * removed as a side effect of a pin change: only an explicit retire removes it.
 */
import { show } from "../schema";

/**
 * The Istio releases the stack's chart values were checked against (rendered with the charts of
 * each): the ones `istio.version`, `istio.upgrade.keepRevisions` and the tags may name. The pin
 * (components/versions.ts) is one of them (test/mesh/upgradeConfig.test.ts); the one before it
 * stays, so that a stack on it upgrades through revisions.
 */
export const ISTIO_RELEASES: readonly string[] = ["1.30.3", "1.31.1"];

/** How Istio is upgraded when its version changes. */
export type UpgradeStrategy = "revisions" | "inPlace";

/**
 * The name Istio gives the control plane installed without a revision: its webhooks carry
 * `istio.io/rev=default` (istiod chart templates/mutatingwebhook.yaml, `revision | default "default"`).
 */
export const LEGACY_REVISION = "default";

/** The revision tag the stack's own namespaces select, and that base's `defaultRevision` follows. */
export const DEFAULT_TAG = "default";

/** A control plane revision and the Istio version its istiod runs. */
export interface InstalledRevision {
    /** `1-31-1`, or {@link LEGACY_REVISION} for an istiod installed without a revision. */
    readonly revision: string;
    /** `1.31.1`. */
    readonly version: string;
}

/** A revision tag and the revision it points at. */
export interface RevisionTag {
    readonly tag: string;
    readonly revision: string;
    readonly version: string;
}

/** The `istio.upgrade` settings, validated. */
export interface UpgradeSettings {
    /** `revisions`: one istiod per version, workloads on a tag; `inPlace`: one unrevisioned istiod, upgraded in place. */
    readonly strategy: UpgradeStrategy;
    /** Versions installed besides the pinned one. */
    readonly keepRevisions: readonly string[];
    /** Tag name → version (or revision) it points at; `default` is the pinned version unless set. */
    readonly tags: Readonly<Record<string, string>>;
    /** Versions (or `default`, the unrevisioned control plane) to remove, each after a check that no proxy uses it. */
    readonly retire: readonly string[];
}

/** What one `up` installs, tags and retires. */
export interface RevisionPlan {
    readonly strategy: UpgradeStrategy;
    /** The revisioned istiod releases, oldest version first. */
    readonly revisions: readonly InstalledRevision[];
    /**
     * The istiod installed without a revision by an earlier deployment (or the only one, in place),
     * kept until it is retired.
     */
    readonly legacy?: InstalledRevision;
    /** Every tag, `default` first. Empty in place. */
    readonly tags: readonly RevisionTag[];
    /** The revision the `default` tag points at: the one the stack's workloads run on. */
    readonly active: InstalledRevision;
    /** Revisions this `up` removes, each behind its guard. */
    readonly retiring: readonly InstalledRevision[];
    /** `base` runs at the highest installed version, its validating webhook on the default tag's revision. */
    readonly base: { readonly version: string; readonly defaultRevision: string };
}

/** Thrown when the settings and what is installed disagree; every problem at once. */
export class RevisionPlanError extends Error {
    constructor(readonly problems: readonly string[]) {
        super(problems.join("\n"));
        this.name = "RevisionPlanError";
    }
}

const VERSION = /^(\d+)\.(\d+)\.(\d+)$/;
const REVISION = /^(\d+)-(\d+)-(\d+)$/;

/** Whether a string is an Istio release version such as `1.31.1`. */
export function isVersion(s: string): boolean {
    return VERSION.test(s);
}

/** The revision of an Istio version: `1.31.1` → `1-31-1` (a revision must be a DNS label). */
export function revisionOf(version: string): string {
    if (!isVersion(version)) throw new Error(`not an Istio version: ${show(version)}`);
    return version.replaceAll(".", "-");
}

/** The version of a revision the stack derived: `1-31-1` → `1.31.1`; undefined for any other name. */
export function versionOfRevision(revision: string): string | undefined {
    return REVISION.test(revision) ? revision.replaceAll("-", ".") : undefined;
}

/** Orders versions numerically (`1.9.0` before `1.10.0`). */
export function compareVersions(a: string, b: string): number {
    const pa = a.split(".").map(Number);
    const pb = b.split(".").map(Number);
    for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
    return 0;
}

/**
 * A version or revision as the user wrote it (`1.30.3`, `1-30-3`, or `default` for the unrevisioned
 * control plane), as a revision name; undefined when it is neither.
 */
export function revisionNamed(s: string): string | undefined {
    if (s === LEGACY_REVISION) return LEGACY_REVISION;
    if (isVersion(s)) return revisionOf(s);
    if (REVISION.test(s)) return s;
    return undefined;
}

/**
 * What the last deployment installed, from its outputs: `istioRevisions` since this stack has
 * revisions; before that, one unrevisioned istiod at `istioVersion`. Nothing for a stack never
 * deployed (a StackReference to it reads no outputs: pulumi pkg/backend/diy/state.go,
 * getSnapshotStackOutputs, returns an empty map for a checkpoint without a deployment).
 */
export function previousRevisions(outputs: { readonly istioRevisions?: unknown; readonly istioVersion?: unknown }): InstalledRevision[] {
    const recorded = outputs.istioRevisions;
    if (Array.isArray(recorded)) {
        return recorded.flatMap((r: unknown) => {
            if (typeof r !== "object" || r === null) return [];
            const { revision, version } = r as Record<string, unknown>;
            if (typeof revision !== "string" || typeof version !== "string" || !isVersion(version)) return [];
            if (revision !== LEGACY_REVISION && revision !== revisionOf(version)) return [];
            return [{ revision, version }];
        });
    }
    if (typeof outputs.istioVersion === "string" && isVersion(outputs.istioVersion)) {
        return [{ revision: LEGACY_REVISION, version: outputs.istioVersion }];
    }
    return [];
}

/** How a list of revisions reads in a message. */
function listed(revisions: readonly InstalledRevision[]): string {
    return revisions.map((r) => (r.revision === LEGACY_REVISION ? `the unrevisioned istiod (${r.version})` : r.version)).join(", ");
}

const FIX_STACK = "--stack <stack>";

/**
 * The plan for one `up`: what to install, tag and retire, given the pinned version, the
 * `istio.upgrade` settings and what the last deployment installed. Throws a
 * {@link RevisionPlanError} listing every problem; checks what no schema can, because it needs
 * the stack's last outputs (the settings' own rules are in the mesh config schema).
 */
export function planRevisions(input: {
    readonly version: string;
    readonly upgrade: UpgradeSettings;
    readonly previous: readonly InstalledRevision[];
    /** The `--stack <name>` flag for the fixes. @default "--stack <stack>" */
    readonly stackFlag?: string;
}): RevisionPlan {
    const { version, upgrade, previous } = input;
    const flag = input.stackFlag ?? FIX_STACK;
    const problems: string[] = [];
    const pinned: InstalledRevision = { revision: revisionOf(version), version };

    if (upgrade.strategy === "inPlace") {
        const revisioned = previous.filter((p) => p.revision !== LEGACY_REVISION);
        if (revisioned.length > 0) {
            problems.push(
                `istio.upgrade.strategy "inPlace" needs a single istiod installed without a revision, but this stack runs revisions ${listed(revisioned)} (got strategy "inPlace"). Fix: pulumi config set --path istio.upgrade.strategy revisions ${flag}`,
            );
            throw new RevisionPlanError(problems);
        }
        const only = { revision: LEGACY_REVISION, version };
        return {
            strategy: "inPlace",
            revisions: [],
            legacy: only,
            tags: [],
            active: only,
            retiring: [],
            base: { version, defaultRevision: "default" },
        };
    }

    const retire = new Set(upgrade.retire.map((r) => revisionNamed(r)).filter((r): r is string => r !== undefined));
    const byRevision = new Map<string, InstalledRevision>();
    const add = (r: InstalledRevision): void => void (byRevision.has(r.revision) ? undefined : byRevision.set(r.revision, r));
    add(pinned);
    for (const v of upgrade.keepRevisions) add({ revision: revisionOf(v), version: v });
    for (const p of previous) add(p);
    const before = [...byRevision.values()];
    const kept = before.filter((r) => !retire.has(r.revision));
    const retiring = previous.filter((p) => retire.has(p.revision));

    const tagged = { [DEFAULT_TAG]: version, ...upgrade.tags };
    const tags: RevisionTag[] = [];
    for (const [tag, target] of Object.entries(tagged)) {
        const revision = revisionNamed(target);
        const found = kept.find((r) => r.revision === revision);
        if (revision !== undefined && retire.has(revision)) {
            problems.push(
                `istio.upgrade.tags.${tag} points at ${show(target)}, which istio.upgrade.retire removes: a revision a tag points at is in use. Fix: point the tag at another revision first${tag === DEFAULT_TAG && !upgrade.tags[DEFAULT_TAG] ? " (it follows the pinned version: move the pin)" : ""}, or pulumi config rm --path istio.upgrade.retire ${flag}`,
            );
        } else if (revision === LEGACY_REVISION) {
            problems.push(
                `istio.upgrade.tags.${tag} points at the istiod installed without a revision (got ${show(target)}): a tag points at a revision, and that istiod has its own webhooks. Fix: point it at one of ${listed(kept.filter((r) => r.revision !== LEGACY_REVISION))}, or keep that version as a revision: pulumi config set --path 'istio.upgrade.keepRevisions[0]' <version> ${flag}`,
            );
        } else if (!found) {
            problems.push(
                `istio.upgrade.tags.${tag} must point at an installed revision (got ${show(target)}; installed: ${listed(kept)}). Fix: point it at one of those, or install it too: pulumi config set --path 'istio.upgrade.keepRevisions[0]' ${versionOfRevision(revision ?? "") ?? "<version>"} ${flag}`,
            );
        } else {
            tags.push({ tag, revision: found.revision, version: found.version });
        }
    }
    if (problems.length > 0) throw new RevisionPlanError(problems);

    const revisions = kept.filter((r) => r.revision !== LEGACY_REVISION).sort((a, b) => compareVersions(a.version, b.version));
    const legacy = kept.find((r) => r.revision === LEGACY_REVISION);
    const active = tags[0];
    const highest = [...kept].sort((a, b) => compareVersions(b.version, a.version))[0];
    return {
        strategy: "revisions",
        revisions,
        legacy,
        tags,
        active: { revision: active.revision, version: active.version },
        retiring,
        base: { version: highest.version, defaultRevision: active.revision },
    };
}

/** What a deployment records in its `istioRevisions` output, read back by the next one. */
export function recordedRevisions(plan: RevisionPlan): InstalledRevision[] {
    return [...(plan.legacy ? [plan.legacy] : []), ...plan.revisions].map((r) => ({ revision: r.revision, version: r.version }));
}
