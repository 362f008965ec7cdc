import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import { ROOT } from "./harness";
import { RETIRED_HOSTS as RETIRED } from "./retiredHosts";

/** The docs that explain the move to users of existing stacks, and so name the old hosts. */
const EXPLAINS_THE_MOVE = new Set(["CHANGELOG.md", "docs/operations.md"]);

/** Folders that are not the project's own files (installed packages, git's store, local run state). */
const SKIPPED = new Set(["node_modules", ".git", ".e2e", ".pulumi"]);

function projectFiles(dir: string, rel = ""): string[] {
    const out: string[] = [];
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (SKIPPED.has(entry.name)) continue;
        const relPath = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) out.push(...projectFiles(path.join(dir, entry.name), relPath));
        else if (entry.isFile()) out.push(relPath);
    }
    return out;
}

function text(file: string): string {
    const bytes = fs.readFileSync(path.join(ROOT, file));
    return (file.endsWith(".gz") ? zlib.gunzipSync(bytes) : bytes).toString("utf8");
}

describe("hosting", () => {
    it("names no retired Istio host anywhere in the project, except the docs that explain the move", () => {
        const files = projectFiles(ROOT);
        assert.ok(
            files.includes("components/versions.ts") && files.includes("test/fixtures/engine-events/dev-state.json.gz"),
            "the walk missed files",
        );
        const found = files
            .filter((f) => !EXPLAINS_THE_MOVE.has(f))
            .flatMap((f) => {
                const content = text(f);
                return RETIRED.filter((host) => content.includes(host)).map((host) => `${f}: ${host}`);
            });
        assert.deepEqual(found, []);
    });

    it("explains the move in the changelog, naming every retired host and its replacement", () => {
        const changelog = text("CHANGELOG.md");
        for (const host of [...RETIRED, "https://blob.istio.io/istio-release/charts", "docker.io/istio"]) {
            assert.ok(changelog.includes(host), `CHANGELOG.md does not name ${host}`);
        }
    });
});
