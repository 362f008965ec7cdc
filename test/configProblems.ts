import { strict as assert } from "assert";
import { ConfigError, validateConfig } from "../components/config";
import { rawConfigFor } from "./harness";

/** The namespace of this project's config keys. */
export const K = "istio-mesh:";

/** Validates an environment's config with overrides and returns the problems (none when valid). */
export function problems(env: string, extra: Record<string, unknown>): string[] {
    try {
        validateConfig(rawConfigFor(env, extra));
        return [];
    } catch (e) {
        if (e instanceof ConfigError) return [...e.problems];
        throw e;
    }
}

/** Asserts that an environment's config with overrides has the problem `expected`, among others. */
export function expectProblem(env: string, extra: Record<string, unknown>, expected: string): void {
    const found = problems(env, extra);
    assert.ok(found.includes(expected), `expected problem:\n  ${expected}\ngot:\n  ${found.join("\n  ") || "(none)"}`);
}
