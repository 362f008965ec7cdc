import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./harness";

/** The project's documentation: the README, the CHANGELOG and every page under docs/. */
const DOCS = [
    "README.md",
    "CHANGELOG.md",
    ...fs
        .readdirSync(path.join(ROOT, "docs"))
        .filter((f) => f.endsWith(".md"))
        .map((f) => `docs/${f}`),
];

/** A Markdown file without its fenced code blocks, whose lines are neither headings nor links. */
function prose(file: string): string {
    return fs.readFileSync(path.join(ROOT, file), "utf8").replace(/^```[\s\S]*?^```/gm, "");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
    return heading
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-");
}

function anchorsOf(file: string): Set<string> {
    return new Set([...prose(file).matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1])));
}

describe("documentation", () => {
    it("computes GitHub's anchors for headings with code and punctuation", () => {
        assert.equal(slug("Kiali's links"), "kialis-links");
        assert.equal(slug("Fixed nodePorts"), "fixed-nodeports");
        assert.equal(
            slug("Outputs contract version 2: Headlamp replaces the Kubernetes Dashboard"),
            "outputs-contract-version-2-headlamp-replaces-the-kubernetes-dashboard",
        );
    });

    it("keeps the README short enough to read in five minutes", () => {
        const lines = fs.readFileSync(path.join(ROOT, "README.md"), "utf8").split("\n");
        assert.ok(lines.length <= 200, `README.md has ${lines.length} lines; move detail into docs/`);
        const long = lines.map((l, i) => [i + 1, l.length]).filter(([, n]) => n > 400);
        assert.deepEqual(long, [], "README.md lines over 400 characters (line, length)");
    });

    it("states the commands that deploy dev and run the tests", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        assert.match(readme, /```sh\nnpm ci\nnpm run deploy /);
        assert.match(readme, /```sh\nnpm test\n```/);
        const ci = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
        assert.match(ci, /^npm test \|\| test_status=\$\?$/m, ".ci/run runs the README's test command");
    });

    it("links only to files and headings that exist", () => {
        const broken: string[] = [];
        for (const file of DOCS) {
            for (const m of prose(file).matchAll(/\]\(([^)\s]+)\)/g)) {
                const target = m[1];
                if (/^[a-z]+:/.test(target)) continue;
                const [rel, anchor] = target.split("#");
                const linked = rel === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), rel));
                if (!fs.existsSync(path.join(ROOT, linked))) {
                    broken.push(`${file}: ${target} (no file ${linked})`);
                } else if (anchor !== undefined && !(linked.endsWith(".md") && anchorsOf(linked).has(anchor))) {
                    broken.push(`${file}: ${target} (no heading #${anchor} in ${linked})`);
                }
            }
        }
        assert.deepEqual(broken, []);
    });

    it("says nothing twice: no paragraph or list item appears in two places", () => {
        const seen = new Map<string, string>();
        const twice: string[] = [];
        for (const file of DOCS) {
            for (const block of prose(file).split(/\n\s*\n|\n(?=- )/)) {
                const text = block.replace(/\s+/g, " ").trim();
                if (text.length < 80 || text.startsWith("|") || text.startsWith("<!--")) continue;
                const where = seen.get(text);
                if (where !== undefined) twice.push(`${file} repeats ${where}: ${text.slice(0, 80)}`);
                else seen.set(text, file);
            }
        }
        assert.deepEqual(twice, []);
    });
});
