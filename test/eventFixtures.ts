import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import type { GraphResource } from "../tools/graphModel";
import { parseEventLog, StateResource } from "../tools/timing";

/** Engine event sequences and a state export of dev, gzipped (test/fixtures/engine-events/README.md says what each holds). */
export const EVENTS_DIR = path.join(__dirname, "fixtures", "engine-events");

/** A fixture file's text. */
export function fixtureText(file: string): string {
    return zlib.gunzipSync(fs.readFileSync(path.join(EVENTS_DIR, file))).toString("utf8");
}

/** The events of `<name>.jsonl.gz`, as the CLI's --event-log wrote them. */
export function fixtureEvents(name: string): EngineEvent[] {
    return parseEventLog(fixtureText(`${name}.jsonl.gz`));
}

/** The resources of dev's state after the fresh up, as `pulumi stack export` prints them. */
export function fixtureState(): StateResource[] {
    return (JSON.parse(fixtureText("dev-state.json.gz")) as { deployment: { resources: StateResource[] } }).deployment.resources;
}

/** The URN of dev's kind cluster command in the fixtures. */
export const DEV_KIND_CLUSTER_URN = "urn:pulumi:dev::istio-mesh::istio-mesh:index:KindCluster$command:local:Command::kind-cluster";

/** A custom resource of the graph model (tools/graphModel.ts) that waits for nothing unless told. */
export function graphResource(name: string, type: string, extra: Partial<GraphResource> = {}): GraphResource {
    return { name, type, custom: true, dependsOn: [], dataDeps: [], ...extra };
}
