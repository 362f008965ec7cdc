import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { configReference, END, REFERENCE_FILE, rowsOf, START, withReference } from "../../tools/configReference";
import { PROJECT_KEYS, SECTIONS, SETTINGS } from "../../components/config";
import { bool, doc, retired, section } from "../../components/schema";
import { ROOT } from "../harness";

describe("configuration reference", () => {
    const reference = configReference();

    it("is in docs/configuration.md as the schemas generate it (npm run config-reference)", () => {
        assert.equal(REFERENCE_FILE, "docs/configuration.md");
        const doc = fs.readFileSync(path.join(ROOT, REFERENCE_FILE), "utf8");
        assert.equal(
            withReference(doc, reference),
            doc,
            "docs/configuration.md's configuration reference is stale: run npm run config-reference",
        );
    });

    it("documents every key the stack reads, and every setting of every section", () => {
        for (const key of PROJECT_KEYS.filter((k) => !(SECTIONS as readonly string[]).includes(k))) {
            assert.ok(reference.includes(`| \`${key}\` |`), key);
        }
        const rows = SECTIONS.flatMap((s) => rowsOf(s, SETTINGS[s] as z.ZodType));
        for (const key of [
            "kind.registryMirrors",
            "istio.meshConfig.accessLogs",
            "istio.gatewayApi.localFile",
            "bookinfo.extAuthz",
            "observability.headlamp",
        ]) {
            assert.ok(
                rows.some((r) => r.key === key),
                key,
            );
        }
        assert.ok(rows.every((r) => r.description.length > 0));
        assert.ok(!rows.some((r) => r.key.includes("kubernetesDashboard")), "a retired setting is left out");
        assert.deepEqual(rowsOf("x", section({ on: bool(true, "switch"), gone: retired(() => "is gone") })), [
            { key: "x.on", type: "true, false", default: "`true`", description: "switch" },
        ]);
    });

    it("refuses a setting without documentation", () => {
        assert.throws(() => rowsOf("x", section({ on: z.boolean() })), /x\.on has no documentation/);
        assert.deepEqual(rowsOf("x", doc(section({ on: z.boolean() }), "a section")), [
            { key: "x", type: "", default: "", description: "a section" },
        ]);
    });

    it("replaces only the block between its markers", () => {
        assert.equal(withReference(`a\n${START}\nold\n${END}\nb`, "new"), `a\n${START}\nnew\n${END}\nb`);
        assert.throws(() => withReference("no markers", "new"), /docs\/configuration\.md has no <!-- config:start -->/);
    });
});
