/**
 * A fake `docker` for the scripts that manage the image caches: a Node program on PATH that keeps
 * containers and volumes (their labels, state, networks and environment) in a JSON file and logs
 * every call with the credentials it received through its environment. It answers the Go
 * templates the scripts use the way Docker would for them: `index` of a missing label is "", of a
 * missing network `null`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A container as the fake keeps it. */
export interface FakeContainer {
    labels: Record<string, string>;
    running: boolean;
    networks: string[];
    env: Record<string, string>;
    publish: string[];
    volumes: string[];
    image: string;
    /** Lines `docker logs` prints. */
    logs?: string[];
    /** What `docker exec <name> <cmd...>` prints, by the command's first word. */
    exec?: Record<string, string>;
}

/** The fake Docker's state. */
export interface FakeDockerState {
    containers: Record<string, FakeContainer>;
    volumes: Record<string, { labels: Record<string, string>; size?: number }>;
}

/** One call of the fake: its arguments and the proxy credentials in its environment. */
export interface FakeCall {
    readonly argv: string[];
    readonly env: { REGISTRY_PROXY_USERNAME?: string; REGISTRY_PROXY_PASSWORD?: string };
}

const PROGRAM = String.raw`#!/usr/bin/env node
const fs = require("fs");
const stateFile = process.env.FAKE_DOCKER_STATE;
const state = JSON.parse(fs.readFileSync(stateFile, "utf8"));
const argv = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_DOCKER_LOG, JSON.stringify({ argv, env: {
  REGISTRY_PROXY_USERNAME: process.env.REGISTRY_PROXY_USERNAME, REGISTRY_PROXY_PASSWORD: process.env.REGISTRY_PROXY_PASSWORD } }) + "\n");
const save = () => fs.writeFileSync(stateFile, JSON.stringify(state));
const out = (s) => process.stdout.write(s + "\n");
const die = (msg, code = 1) => { process.stderr.write(msg + "\n"); process.exit(code); };
const flag = (args, name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const render = (format, labels, extra) => {
  const label = /index \.(?:Config\.)?Labels "([^"]+)"/.exec(format);
  if (label) return labels[label[1]] ?? "";
  if (format.includes(".State.Running")) return String(extra.running);
  const net = /Networks \\?"([^"\\]+)\\?"/.exec(format);
  if (net) return extra.networks.includes(net[1]) ? '{"NetworkID":"n1"}' : "null";
  return JSON.stringify(extra);
};
// A --format of docker ps or docker volume ls: {{.Field}} and {{.Label "key"}}.
const row = (format, fields, labels) =>
  format.replace(/\{\{\.Label "([^"]+)"\}\}/g, (_, k) => labels[k] ?? "").replace(/\{\{\.(\w+)\}\}/g, (_, f) => fields[f] ?? "");
const [cmd, ...rest] = argv;
if (cmd === "info") process.exit(process.env.FAKE_DOCKER_DOWN === "1" ? 1 : 0);
if (cmd === "inspect") {
  const name = rest[rest.length - 1];
  const c = state.containers[name];
  if (!c) die("Error: No such container: " + name);
  const format = flag(rest, "--format");
  out(format ? render(format, c.labels, c) : JSON.stringify([c]));
  process.exit(0);
}
if (cmd === "volume") {
  const [sub, ...args] = rest;
  const name = args[args.length - 1];
  if (sub === "inspect") {
    const v = state.volumes[name];
    if (!v) die("Error: No such volume: " + name);
    const format = flag(args, "--format");
    out(format ? render(format, v.labels, v) : JSON.stringify([v]));
    process.exit(0);
  }
  if (sub === "create") {
    if (process.env.FAKE_DOCKER_FAIL_VOLUME === name) die("Error response from daemon: create " + name + ": no space left on device");
    const labels = {};
    for (let i = 0; i < args.length; i++) if (args[i] === "--label") { const [k, ...v] = args[++i].split("="); labels[k] = v.join("="); }
    state.volumes[name] = state.volumes[name] ?? { labels };
    save(); out(name); process.exit(0);
  }
  if (sub === "rm") { for (const n of args.filter((a) => !a.startsWith("-"))) delete state.volumes[n]; save(); process.exit(0); }
  if (sub === "ls") {
    const filter = flag(args, "--filter") ?? "";
    const want = filter.startsWith("label=") ? filter.slice(6) : undefined;
    const format = flag(args, "--format") ?? "{{.Name}}";
    for (const [n, v] of Object.entries(state.volumes)) if (!want || want in v.labels) out(row(format, { Name: n }, v.labels));
    process.exit(0);
  }
}
if (cmd === "run") {
  const c = { labels: {}, running: true, networks: ["bridge"], env: {}, publish: [], volumes: [], image: rest[rest.length - 1] };
  let name;
  for (let i = 0; i < rest.length - 1; i++) {
    const a = rest[i];
    if (a === "--name") name = rest[++i];
    else if (a === "--label") { const [k, ...v] = rest[++i].split("="); c.labels[k] = v.join("="); }
    else if (a === "-e") { const [k, ...v] = rest[++i].split("="); c.env[k] = v.length > 0 ? v.join("=") : (process.env[k] ?? ""); }
    else if (a === "-p") c.publish.push(rest[++i]);
    else if (a === "-v") c.volumes.push(rest[++i]);
  }
  if (state.containers[name]) die("docker: Error response from daemon: Conflict. The container name \"/" + name + "\" is already in use.", 125);
  if (process.env.FAKE_DOCKER_FAIL_RUN === name) die("docker: Error response from daemon: driver failed programming external connectivity", 125);
  state.containers[name] = c;
  save(); out("0123456789ab"); process.exit(0);
}
if (cmd === "rm") {
  if (process.env.FAKE_DOCKER_FAIL_RM === "1") die("Error response from daemon: cannot remove container");
  for (const n of rest.filter((a) => !a.startsWith("-"))) delete state.containers[n];
  save(); process.exit(0);
}
if (cmd === "start") { const c = state.containers[rest[0]]; if (!c) die("Error: No such container: " + rest[0]); c.running = true; save(); process.exit(0); }
if (cmd === "network" && rest[0] === "connect") {
  if (process.env.FAKE_DOCKER_NO_NETWORK === rest[1]) die("Error response from daemon: network " + rest[1] + " not found");
  const c = state.containers[rest[2]]; c.networks.push(rest[1]); save(); process.exit(0);
}
if (cmd === "ps") {
  const filter = flag(rest, "--filter") ?? "";
  const want = filter.startsWith("label=") ? filter.slice(6) : undefined;
  const format = flag(rest, "--format") ?? "{{.Names}}";
  for (const [n, c] of Object.entries(state.containers))
    if (!want || want in c.labels) out(row(format, { Names: n, State: c.running ? "running" : "exited" }, c.labels));
  process.exit(0);
}
if (cmd === "logs") { const c = state.containers[rest[rest.length - 1]]; if (!c) die("Error: No such container"); for (const l of c.logs ?? []) out(l); process.exit(0); }
if (cmd === "exec") {
  const args = rest.filter((a) => a !== "-i");
  const c = state.containers[args[0]];
  if (c && c.exec) { const r = c.exec[args[1]]; if (r === undefined) die("exec: not found", 127); process.stdout.write(r); process.exit(0); }
  try { fs.readFileSync(0); } catch {}
  process.exit(0);
}
die("fake docker: unhandled " + argv.join(" "), 2);
`;

/** A fake Docker in a temp folder: put `bin` first on PATH and pass `env` to the script. */
export class FakeDocker {
    readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-"));
    readonly bin = path.join(this.dir, "bin");
    private readonly stateFile = path.join(this.dir, "state.json");
    private readonly logFile = path.join(this.dir, "calls.log");

    constructor(initial: Partial<FakeDockerState> = {}) {
        fs.mkdirSync(this.bin);
        fs.writeFileSync(path.join(this.bin, "docker"), PROGRAM, { mode: 0o755 });
        fs.writeFileSync(this.stateFile, JSON.stringify({ containers: {}, volumes: {}, ...initial }));
        fs.writeFileSync(this.logFile, "");
    }

    /** The environment that points the fake at its state; PATH has the fake, Node and the system's tools. */
    env(extra: Record<string, string> = {}): Record<string, string> {
        const node = path.dirname(process.execPath);
        return { PATH: `${this.bin}:${node}:/usr/bin:/bin`, FAKE_DOCKER_STATE: this.stateFile, FAKE_DOCKER_LOG: this.logFile, ...extra };
    }

    state(): FakeDockerState {
        return JSON.parse(fs.readFileSync(this.stateFile, "utf8")) as FakeDockerState;
    }

    calls(): FakeCall[] {
        return fs
            .readFileSync(this.logFile, "utf8")
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l) as FakeCall);
    }

    /** The calls whose arguments start with `words`. */
    callsOf(...words: string[]): FakeCall[] {
        return this.calls().filter((c) => words.every((w, i) => c.argv[i] === w));
    }

    remove(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
