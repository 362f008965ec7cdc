/**
 * The stack's dependency graph, from what a program run under mocks registered: which steps
 * wait for which, the critical path of blocking waits, and a Mermaid rendering. Pure, so it
 * is tested on its own; tools/graph.ts runs it for an environment.
 */

/** A registered resource, as the mock run recorded it. */
export interface GraphResource {
    readonly type: string;
    readonly name: string;
    readonly custom: boolean;
    /** Logical name of the parent resource. */
    readonly parent?: string;
    /** Logical names in opts.dependsOn (components included). */
    readonly dependsOn: readonly string[];
    /** Logical names of the resources whose outputs feed this one's inputs. */
    readonly dataDeps: readonly string[];
    /** Provider reference, `urn::id`. */
    readonly provider?: string;
    /** Whether it only reads an existing object, which blocks on nothing. */
    readonly read?: boolean;
}

/**
 * Resources whose creation blocks until something in the cluster or on the machine is done,
 * as opposed to an API call that returns at once.
 */
export const BLOCKING: Readonly<Record<string, string>> = {
    "command:local:Command": "runs a script and waits for it to finish",
    "kubernetes:helm.sh/v3:Release": "waits for the chart's workloads to be ready",
    "kubernetes:apps/v1:Deployment": "waits for the rollout",
    "kubernetes:core/v1:Service": "waits for ready endpoints",
    "kubernetes:yaml/v2:ConfigFile": "waits for the CRDs to be established",
};

/** One step of the graph: a resource, or resources of one kind that wait for the same things. */
export interface Step {
    readonly id: string;
    readonly label: string;
    readonly parent?: string;
    readonly blocking: boolean;
    readonly members: readonly string[];
}

/** The stack's steps, the edges between them (transitively reduced) and its critical path. */
export interface StackGraph {
    readonly steps: readonly Step[];
    readonly edges: readonly (readonly [string, string])[];
    /** Resource names on the longest chain of blocking waits, in order. */
    readonly criticalPath: readonly string[];
    /** How many blocking waits that chain has. */
    readonly criticalWaits: number;
    /** For each resource, the blocking waits on the longest chain that ends with it. */
    readonly chainTo: ReadonlyMap<string, readonly string[]>;
}

const COMPONENT = /^istio-mesh:index:/;
const PROVIDER = /^pulumi:providers:/;
const MESH_CONFIG = /^kubernetes:([a-z]+\.istio\.io|gateway\.networking\.k8s\.io)\//;

function providerName(ref: string | undefined): string | undefined {
    // urn:pulumi:<stack>::<project>::pulumi:providers:<pkg>::<name>::<id>
    const parts = ref?.split("::");
    return parts && parts.length >= 4 ? parts[parts.length - 2] : undefined;
}

function kindOf(type: string): string {
    return type.slice(type.lastIndexOf(":") + 1);
}

/** Builds the graph: resource-level edges for the critical path, grouped steps for the picture. */
export function buildGraph(resources: readonly GraphResource[]): StackGraph {
    const byName = new Map(resources.map((r) => [r.name, r]));
    // What happens: custom resources and remote components (the CRD bundle), not our own
    // components, which only group their children.
    const nodes = resources.filter((r) => !COMPONENT.test(r.type) && (r.custom || BLOCKING[r.type]));
    const nodeNames = new Set(nodes.map((r) => r.name));
    const descendants = (name: string): string[] => {
        const out: string[] = [];
        for (const r of resources) if (r.parent === name) out.push(...(nodeNames.has(r.name) ? [r.name] : []), ...descendants(r.name));
        return out;
    };
    // Waiting on a component means waiting on everything in it.
    const expand = (name: string): string[] => (nodeNames.has(name) ? [name] : byName.has(name) ? descendants(name) : []);
    const deps = new Map<string, Set<string>>();
    for (const r of nodes) {
        const d = new Set<string>();
        for (const n of [...r.dependsOn, ...r.dataDeps]) for (const x of expand(n)) d.add(x);
        const p = providerName(r.provider);
        if (p && nodeNames.has(p)) d.add(p);
        d.delete(r.name);
        deps.set(r.name, d);
    }

    // Longest chain of blocking waits ending at each resource (the graph is acyclic, as Pulumi requires).
    const weight = (n: string): number => {
        const r = byName.get(n)!;
        return BLOCKING[r.type] && !r.read ? 1 : 0;
    };
    const best = new Map<string, { waits: number; path: string[] }>();
    const longest = (n: string): { waits: number; path: string[] } => {
        const known = best.get(n);
        if (known) return known;
        let pick = { waits: 0, path: [] as string[] };
        for (const d of [...deps.get(n)!].sort()) {
            const c = longest(d);
            if (c.waits > pick.waits || (c.waits === pick.waits && c.path.length > pick.path.length)) pick = c;
        }
        const result = { waits: pick.waits + weight(n), path: [...pick.path, n] };
        best.set(n, result);
        return result;
    };
    let critical = { waits: 0, path: [] as string[] };
    for (const r of nodes) {
        const c = longest(r.name);
        if (c.waits > critical.waits || (c.waits === critical.waits && c.path.length > critical.path.length)) critical = c;
    }

    // Steps: a component's resources of one kind (or its Istio config) that wait for the same kinds of things.
    const category = (r: GraphResource): string => (PROVIDER.test(r.type) ? r.name : MESH_CONFIG.test(r.type) ? "mesh-config" : r.type);
    const shape = (n: string): string => {
        const r = byName.get(n)!;
        return `${r.parent ?? ""}|${category(r)}`;
    };
    const keyOf = new Map<string, string>();
    for (const r of nodes) {
        const depShapes = [...new Set([...deps.get(r.name)!].map(shape))].sort().join(",");
        // Helm releases, commands and the CRD bundle are steps of their own: each is a named wait.
        const single =
            r.type === "kubernetes:helm.sh/v3:Release" || r.type === "command:local:Command" || !r.custom || PROVIDER.test(r.type);
        keyOf.set(r.name, single ? `one:${r.name}` : `${shape(r.name)}<-${depShapes}`);
    }
    const groups = new Map<string, string[]>();
    for (const r of nodes) groups.set(keyOf.get(r.name)!, [...(groups.get(keyOf.get(r.name)!) ?? []), r.name]);
    const steps: Step[] = [];
    const stepOf = new Map<string, string>();
    for (const members of groups.values()) {
        const first = byName.get(members[0])!;
        const id =
            members.length === 1
                ? members[0]
                : `${first.parent ?? "stack"}-${MESH_CONFIG.test(first.type) ? "mesh-config" : kindOf(first.type).toLowerCase()}s`;
        const kinds = [...new Set(members.map((m) => kindOf(byName.get(m)!.type)))];
        const label =
            members.length === 1
                ? `${members[0]}<br/><small>${PROVIDER.test(first.type) ? `${first.name} provider` : kindOf(first.type)}</small>`
                : `${first.parent}: ${members.length} × ${kinds.length === 1 ? kinds[0] : "Istio config"}${kinds.length === 1 ? "" : `<br/><small>${kinds.join(", ")}</small>`}`;
        steps.push({ id, label, parent: first.parent, blocking: members.some((m) => weight(m) > 0), members });
        for (const m of members) stepOf.set(m, id);
    }

    // Step edges, transitively reduced so the picture shows only what each step directly waits for.
    const stepDeps = new Map<string, Set<string>>(steps.map((s) => [s.id, new Set<string>()]));
    for (const [n, ds] of deps) for (const d of ds) if (stepOf.get(d) !== stepOf.get(n)) stepDeps.get(stepOf.get(n)!)!.add(stepOf.get(d)!);
    const reach = new Map<string, Set<string>>();
    const reachable = (s: string): Set<string> => {
        const known = reach.get(s);
        if (known) return known;
        const out = new Set<string>();
        for (const d of stepDeps.get(s)!) {
            out.add(d);
            for (const x of reachable(d)) out.add(x);
        }
        reach.set(s, out);
        return out;
    };
    const edges: [string, string][] = [];
    for (const s of steps) {
        const direct = [...stepDeps.get(s.id)!];
        for (const d of direct) {
            const implied = direct.some((o) => o !== d && reachable(o).has(d));
            if (!implied) edges.push([d, s.id]);
        }
    }
    edges.sort((a, b) => (a[0] + a[1] < b[0] + b[1] ? -1 : 1));
    const blockingOnly = (path: readonly string[]): string[] => path.filter((n) => weight(n) > 0);
    return {
        steps,
        edges,
        criticalPath: blockingOnly(critical.path),
        criticalWaits: critical.waits,
        chainTo: new Map(nodes.map((r) => [r.name, blockingOnly(longest(r.name).path)])),
    };
}

function mermaidId(id: string): string {
    return id.replace(/[^A-Za-z0-9_]/g, "_");
}

/** Mermaid flowchart of the steps, grouped by component, with the critical path highlighted. */
export function renderMermaid(graph: StackGraph): string {
    const lines = ["flowchart LR"];
    const onPath = new Set(graph.steps.filter((s) => s.members.some((m) => graph.criticalPath.includes(m))).map((s) => s.id));
    const byParent = new Map<string, Step[]>();
    for (const s of graph.steps) byParent.set(s.parent ?? "", [...(byParent.get(s.parent ?? "") ?? []), s]);
    const node = (s: Step): string => `${mermaidId(s.id)}${s.blocking ? `(["${s.label}"])` : `["${s.label}"]`}`;
    for (const [parent, steps] of byParent) {
        if (parent === "") {
            for (const s of steps) lines.push(`    ${node(s)}`);
            continue;
        }
        lines.push(`    subgraph ${mermaidId(`c_${parent}`)}["${parent}"]`);
        for (const s of steps) lines.push(`        ${node(s)}`);
        lines.push("    end");
    }
    for (const [from, to] of graph.edges) lines.push(`    ${mermaidId(from)} --> ${mermaidId(to)}`);
    lines.push("    classDef critical stroke:#d33,stroke-width:3px");
    if (onPath.size > 0) lines.push(`    class ${[...onPath].map(mermaidId).join(",")} critical`);
    return lines.join("\n");
}

/** The graph as Markdown: the Mermaid block and the critical path in words. */
export function renderMarkdown(env: string, graph: StackGraph): string {
    return [
        "```mermaid",
        renderMermaid(graph),
        "```",
        "",
        `Critical path of \`${env}\` (${graph.criticalWaits} blocking waits, outlined in red): ${graph.criticalPath.map((n) => `\`${n}\``).join(" → ")}.`,
        "Rounded steps block until something is ready (a script finishes, a chart's pods or a rollout are ready, a Service has endpoints, CRDs are established); square ones are single API calls.",
    ].join("\n");
}
