import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as semver from "semver";
import { ROOT } from "./harness";

interface Lock {
    readonly packages: Record<string, { readonly engines?: { readonly node?: string } | readonly string[]; readonly dev?: boolean }>;
}

describe("engines", () => {
    it("names only Node.js versions every locked package supports, so npm ci on them prints no engine warning", () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { engines: { node: string } };
        const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as Lock;
        const outside: string[] = [];
        for (const [where, entry] of Object.entries(lock.packages)) {
            if (where === "") continue;
            // npm reads only the object form (an old array form is ignored by npm's engine check).
            const range = Array.isArray(entry.engines) ? undefined : (entry.engines as { node?: string } | undefined)?.node;
            if (range && !semver.subset(pkg.engines.node, range)) outside.push(`${where.replace(/^node_modules\//, "")} wants ${range}`);
        }
        assert.deepEqual(outside, [], `engines.node ${pkg.engines.node} includes Node versions these packages do not support`);
    });
});
