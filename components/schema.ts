/**
 * The building blocks of the config schemas (zod): settings that carry their own problem message
 * and their documentation, strict sections, and the translation of zod's issues into the stack's
 * problems, each `<key> must ... (got <value>). Fix: ...`.
 *
 * Messages may hold two placeholders, filled in when problems are listed: {@link KEY}, the full
 * key of the setting, and {@link STACK}, the `--stack <name>` flag of the stack's commands.
 */
import { z } from "zod";

/**
 * Placeholder of the setting's full key in a message. A NUL on each side: a value quoted in a
 * message is JSON, which escapes control characters, so no value the user wrote can contain one.
 */
export const KEY = "\u0000key\u0000";
/** Placeholder of the `--stack <name>` flag in a message. */
export const STACK = "\u0000stack\u0000";

/** How a setting appears in the configuration reference (docs/configuration.md). */
export interface Doc {
    /** What the setting does. */
    readonly description: string;
    /** Its default as the reference shows it; none when the setting has no default. */
    readonly default?: string;
    /** The values it takes, as the reference shows them. */
    readonly type?: string;
}

/** The documentation of every setting, read by tools/configReference.ts. */
export const docs = z.registry<Doc>();

/** A value as a problem quotes it. */
export function show(value: unknown): string {
    if (value === undefined) return "nothing";
    if (typeof value === "string") return JSON.stringify(value);
    // JSON writes Infinity and NaN as null, which would misreport what the user wrote.
    if (typeof value === "number" && !Number.isFinite(value)) return String(value);
    return JSON.stringify(value) ?? String(value);
}

/** Problems, and warnings (allowed, but exposing something), collected across every slice. */
export class Problems {
    readonly list: string[] = [];
    readonly warnings: string[] = [];
    constructor(private readonly stackFlag: string) {}
    add(message: string): void {
        this.list.push(message.replaceAll(STACK, () => this.stackFlag));
    }
    warn(message: string): void {
        this.warnings.push(message);
    }
    /** Parses `value` at config key `at` and records its issues; the typed value, or undefined when invalid. */
    parse<S extends z.ZodType>(schema: S, value: unknown, at: string): z.output<S> | undefined {
        const result = schema.safeParse(value, { reportInput: true });
        if (result.success) return result.data;
        for (const issue of result.error.issues) {
            const key = keyOf(at, issue.path);
            if (issue.code === "unrecognized_keys") {
                const input = (issue.input ?? {}) as Record<string, unknown>;
                for (const k of issue.keys) this.add(`${key}.${k} is not a known setting (got ${show(input[k])}). ${issue.message}`);
            } else if (isWhole(issue)) {
                this.add(issue.message);
            } else {
                this.add(`${key} ${issue.message.replaceAll(KEY, () => key)}`);
            }
        }
        return undefined;
    }
}

/** `istio.gateway.replicas`, `kind.registryMirrors[0].registry`. */
function keyOf(at: string, path: readonly PropertyKey[]): string {
    return path.reduce<string>((key, p) => {
        if (typeof p === "number") return `${key}[${p}]`;
        const name = String(p);
        // A map's key that is not a plain name (a label such as "ingress ready") is quoted.
        if (!/^[A-Za-z_$][\w$-]*$/.test(name)) return `${key}[${JSON.stringify(name)}]`;
        return key ? `${key}.${name}` : name;
    }, at);
}

/** A problem that spans settings, reported at `path` (relative to the schema), its message starting after the key. */
export function problemAt(ctx: z.RefinementCtx, path: PropertyKey[], message: string): void {
    ctx.addIssue({ code: "custom", path, message, input: undefined });
}

function isWhole(issue: { code?: string; params?: unknown }): boolean {
    return issue.code === "custom" && (issue.params as { whole?: boolean } | undefined)?.whole === true;
}

/** A problem whose message names its keys itself. */
export function problem(ctx: z.RefinementCtx, message: string): void {
    ctx.addIssue({ code: "custom", message, input: undefined, params: { whole: true } });
}

type Msg = (input: unknown) => string;

function documented<T extends z.ZodType>(schema: T, doc: Doc): T {
    docs.add(schema, doc);
    return schema;
}

function boolean() {
    return z.preprocess(
        (v) => (v === "true" ? true : v === "false" ? false : v),
        z.boolean({ error: (iss) => `must be true or false (got ${show(iss.input)}).` }),
    );
}

/** true or false; `pulumi config set --path` stores "true" and "false" as strings. */
export function bool(fallback: boolean, description: string) {
    return documented(boolean().default(fallback), { description, default: `\`${fallback}\``, type: "true, false" });
}

/** true or false, undefined when not set: for a default that depends on other settings. */
export function maybeBool(description: string, fallback: string) {
    return documented(boolean().optional(), { description, default: fallback, type: "true, false" });
}

function wholeNumber(min: number, max: number) {
    const message: Msg = (v) => `must be a whole number between ${min} and ${max} (got ${show(v)}).`;
    return z.preprocess(
        (v) => (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : v),
        z
            .number({ error: (iss) => message(iss.input) })
            .refine((n) => Number.isInteger(n) && n >= min && n <= max, { error: (iss) => message(iss.input) }),
    );
}

/** A whole number from `min` to `max`; a numeric string counts. */
export function int(min: number, max: number, fallback: number, description: string) {
    return documented(wholeNumber(min, max).default(fallback), { description, default: `\`${fallback}\``, type: `${min} to ${max}` });
}

/** A whole number from `min` to `max`, undefined when not set. */
export function maybeInt(min: number, max: number, description: string, fallback?: string) {
    return documented(wholeNumber(min, max).optional(), { description, default: fallback, type: `${min} to ${max}` });
}

/** One of `values`; `fix` is added to the problem. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, fallback: T[number], description: string, fix?: string) {
    return documented(enumOf(values, fix).default(fallback as never), { description, default: `\`${fallback}\``, type: values.join(", ") });
}

/** One of `values`, without a default. */
export function enumOf<const T extends readonly [string, ...string[]]>(values: T, fix?: string) {
    return z.enum(values, {
        error: (iss) => `must be one of ${values.map((a) => `"${a}"`).join(", ")} (got ${show(iss.input)}).${fix ? ` Fix: ${fix}` : ""}`,
    });
}

/** A non-empty string that passes `check`, whose problem is `must` (then the value it got, then `fix`). */
export function text(must = "must be a non-empty string", check: (s: string) => boolean = () => true, fix?: string) {
    const message: Msg = (v) => `${must} (got ${show(v)}).${fix ? ` Fix: ${fix}` : ""}`;
    return z.string({ error: (iss) => message(iss.input) }).refine((s) => s.length > 0 && check(s), { error: (iss) => message(iss.input) });
}

/** A list whose every entry is `item`. */
export function list<T extends z.ZodType>(item: T, must = "must be a list of non-empty strings") {
    return z.array(item, { error: (iss) => `${must} (got ${show(iss.input)}).` });
}

/** Helm values: an object, left to the chart. */
export function helmValues() {
    return z.record(z.string(), z.unknown(), { error: (iss) => `must be an object of Helm values (got ${show(iss.input)}).` });
}

/** Settings that are gone: refused with `message`, left out of the known keys and of the reference. */
export const retiredSettings = new WeakSet<z.ZodType>();

/** A setting that is gone; setting it is a problem whose message (after the key) says what replaces it. */
export function retired(message: (got: string) => string) {
    const schema = z
        .unknown()
        .superRefine((v, ctx) => {
            if (v !== undefined) problemAt(ctx, [], message(show(v)));
        })
        .transform(() => undefined)
        .optional();
    retiredSettings.add(schema);
    return schema;
}

/** A section of settings: an unknown key is a problem naming the known ones. Missing, it is `{}`. */
export function section<S extends z.ZodRawShape>(shape: S) {
    const known = Object.keys(shape).filter((k) => !retiredSettings.has(shape[k] as z.ZodType));
    return z.strictObject(shape, {
        error: (iss) =>
            iss.code === "unrecognized_keys"
                ? `Fix: use one of ${known.join(", ")}.`
                : `must be an object (got ${show(iss.input)}). Fix: set it as YAML under ${KEY}: in Pulumi.<stack>.yaml.`,
    });
}

/** Attaches documentation to a setting built from the blocks above. */
export function doc<T extends z.ZodType>(schema: T, description: string, fallback?: string, type?: string): T {
    return documented(schema, { description, default: fallback, type });
}

/** The fix of a scalar key declared with a default in Pulumi.yaml, which is missing only if Pulumi.yaml was edited. */
export const DECLARED_FIX = `restore its declaration and default under config: in Pulumi.yaml, or pulumi config set ${KEY} <value>.`;

/** A scalar declared in Pulumi.yaml: missing is its own problem. */
export function declared<T extends z.ZodType>(schema: T) {
    return z
        .unknown()
        .superRefine((v, ctx) => {
            if (v === undefined) ctx.addIssue({ code: "custom", message: `is missing (got nothing). Fix: ${DECLARED_FIX}`, input: v });
        })
        .pipe(schema);
}

/** The value the user set at `path` in a raw config value; undefined when not set. */
export function setting(raw: unknown, ...path: string[]): unknown {
    let v = raw;
    for (const p of path) {
        if (typeof v !== "object" || v === null || !Object.prototype.hasOwnProperty.call(v, p)) return undefined;
        v = (v as Record<string, unknown>)[p];
    }
    return v;
}

type Def = { type: string; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType; shape?: Record<string, z.ZodType> };
const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The settings of the section (strict object) a schema wraps; undefined when it wraps none. */
export function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | undefined {
    const def = defOf(schema);
    if (def.type === "object") return def.shape;
    if (def.innerType) return shapeOf(def.innerType);
    if (def.type === "pipe") return (def.in && shapeOf(def.in)) ?? (def.out && shapeOf(def.out));
    return undefined;
}

/**
 * The settings of a section that parse on their own, for the checks across slices when the
 * section as a whole has a problem (already reported). Rules of the section itself are not run.
 */
export function settingsOf<S extends z.ZodType>(schema: S, raw: unknown): Partial<z.output<S>> {
    const shape = shapeOf(schema) ?? {};
    const input = typeof raw === "object" && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(shape)) {
        const parsed = field.safeParse(input[key]);
        if (parsed.success) out[key] = parsed.data;
    }
    return out as Partial<z.output<S>>;
}

/**
 * Parameters of a check that spans `fields` of a section: it runs when each of them parsed, even
 * if another setting of the section did not, so that every problem is reported at once.
 */
export function whenParsed(...fields: string[]) {
    return {
        when: (payload: z.core.ParsePayload): boolean =>
            !payload.issues.some((i) =>
                // A problem of the section's that names its keys itself (problem()) says nothing of the settings' values.
                i.path?.length ? fields.includes(String(i.path[0])) : i.code !== "unrecognized_keys" && !isWhole(i),
            ),
    };
}

/** The settings of a section that did not parse, for a check that looks at the others. */
export function unparsed(ctx: z.RefinementCtx): Set<string> {
    return new Set(ctx.issues.filter((i) => i.path?.length).map((i) => String(i.path?.[0])));
}
