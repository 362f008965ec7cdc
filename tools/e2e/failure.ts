/** How a scenario fails: with the reason the report gives. Apart, so that a scenario in a module of its own can fail too. */

/** A scenario's failure, with the reason the report gives. */
export class Failure extends Error {}

/** Fails the scenario with a reason. */
export function fail(reason: string): never {
    throw new Failure(reason);
}
