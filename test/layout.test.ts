import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./harness";

/** The project's own TypeScript files and the project files each imports, by path from the root. */
function importGraph(): Map<string, string[]> {
    const graph = new Map<string, string[]>();
    const walk = (dir: string): void => {
        for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
            const file = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(file);
            else if (file.endsWith(".ts")) {
                const source = fs.readFileSync(path.join(ROOT, file), "utf8");
                const specs = [...source.matchAll(/(?:from|import|require)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]);
                graph.set(
                    file,
                    specs.map((s) => `${path.join(path.dirname(file), s)}.ts`),
                );
            }
        }
    };
    for (const dir of ["components", "scripts", "tools"]) walk(dir);
    graph.set("index.ts", []);
    return graph;
}

describe("source layout", () => {
    const graph = importGraph();

    it("resolves every relative import to a file of the project", () => {
        for (const [file, imports] of graph) {
            for (const target of imports)
                assert.ok(fs.existsSync(path.join(ROOT, target)), `${file} imports ${target}, which is not there`);
        }
    });

    it("has no import cycles", () => {
        const state = new Map<string, "open" | "done">();
        const visit = (file: string, trail: string[]): void => {
            if (state.get(file) === "done") return;
            assert.notEqual(state.get(file), "open", `import cycle: ${[...trail, file].join(" -> ")}`);
            state.set(file, "open");
            for (const next of graph.get(file) ?? []) visit(next, [...trail, file]);
            state.set(file, "done");
        };
        for (const file of graph.keys()) visit(file, []);
    });

    it("keeps the components apart from the developer commands and the tests", () => {
        for (const [file, imports] of graph) {
            if (!file.startsWith("components/") && !file.startsWith("scripts/")) continue;
            const outside = imports.filter((t) => t.startsWith("tools/") || t.startsWith("test/"));
            assert.deepEqual(outside, [], `${file} is deployed with the stack but imports ${outside.join(", ")}`);
        }
    });
});
