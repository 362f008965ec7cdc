/**
 * The configuration reference in docs/configuration.md, generated from the config schemas
 * (components/config.ts SETTINGS): `npm run config-reference` rewrites the block between the
 * file's config markers, and a test fails when the block no longer matches the schemas.
 */
import * as fs from "fs";
import * as path from "path";
import type { z } from "zod";
import { SECTIONS, SETTINGS } from "../components/config";
import { docs, retiredSettings, shapeOf } from "../components/schema";
import { COMMANDS, withCommandLine } from "./commandLine";

export const START = "<!-- config:start -->";
export const END = "<!-- config:end -->";

/** The file that holds the reference, relative to the project root. */
export const REFERENCE_FILE = "docs/configuration.md";

/** One setting of the reference. */
export interface Row {
    readonly key: string;
    readonly type: string;
    readonly default: string;
    readonly description: string;
}

/**
 * The rows of a setting: one for a documented setting, the rows of its settings for an
 * undocumented section. A setting that is neither is an error: every setting is documented.
 */
export function rowsOf(key: string, schema: z.ZodType): Row[] {
    const doc = docs.get(schema);
    if (doc) return [{ key, type: doc.type ?? "", default: doc.default ?? "", description: doc.description }];
    const shape = shapeOf(schema);
    if (!shape) throw new Error(`${key} has no documentation: give it a description in its schema`);
    return Object.entries(shape)
        .filter(([, s]) => !retiredSettings.has(s))
        .flatMap(([k, s]) => rowsOf(`${key}.${k}`, s));
}

function table(rows: readonly Row[], strip: string): string {
    const cell = (s: string): string => s.replaceAll("|", "\\|");
    return [
        "| key | values | default | meaning |",
        "|---|---|---|---|",
        ...rows.map((r) => `| \`${r.key.slice(strip.length)}\` | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.description)} |`),
    ].join("\n");
}

/** The reference as Markdown, one table for the scalar keys and one per section. */
export function configReference(): string {
    const sections = SECTIONS as readonly string[];
    const scalars = Object.entries(SETTINGS).filter(([k]) => !sections.includes(k));
    const parts = [
        "Scalar keys (`pulumi config set <key> <value>`; those with a default are declared in `Pulumi.yaml`):",
        "",
        table(
            scalars.flatMap(([k, s]) => rowsOf(k, s as z.ZodType)),
            "",
        ),
    ];
    for (const section of SECTIONS) {
        parts.push(
            "",
            `\`${section}\` (\`pulumi config set --path ${section}.<key> <value>\`, or as YAML under \`istio-mesh:${section}:\` in the stack file):`,
            "",
            table(rowsOf(section, SETTINGS[section] as z.ZodType), `${section}.`),
        );
    }
    return parts.join("\n");
}

/** The document `doc` with its config block replaced by `reference`. */
export function withReference(doc: string, reference: string): string {
    const start = doc.indexOf(START);
    const end = doc.indexOf(END);
    if (start < 0 || end < start) throw new Error(`${REFERENCE_FILE} has no ${START} ... ${END} block`);
    return `${doc.slice(0, start + START.length)}\n${reference}\n${doc.slice(end)}`;
}

if (require.main === module) {
    void withCommandLine(COMMANDS["config-reference"], process.argv.slice(2), () => {
        const file = path.join(__dirname, "..", REFERENCE_FILE);
        fs.writeFileSync(file, withReference(fs.readFileSync(file, "utf8"), configReference()));
        console.log(`wrote the configuration reference into ${file}`);
        return 0;
    }).then((code) => process.exit(code));
}
