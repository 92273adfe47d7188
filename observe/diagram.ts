/**
 * `taskDiagram`: a Mermaid class diagram of the task types reachable from
 * some tasks, with their parameters and dependency edges.
 *
 * @module
 */
import { isTaskLike } from "../core/params.ts";
import type { Task } from "../core/task.ts";
import { taskDependencies } from "../core/task.ts";

/**
 * Which way `taskDiagram` lays task types out, from dependents to their dependencies.
 * @example
 * ```ts
 * import { type DiagramDirection, task, taskDiagram } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const direction: DiagramDirection = "LR";
 * const leaf = task({ name: "DocDiagramDirection", run: (p: { n: number }) => p.n });
 * assert.match(taskDiagram([leaf({ n: 1 })], { direction }), /direction LR/);
 * ```
 */
export type DiagramDirection = "BT" | "TB" | "RL" | "LR";

/**
 * What `taskDiagram` takes.
 * @example
 * ```ts
 * import { task, taskDiagram, type TaskDiagramOptions } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const options: TaskDiagramOptions = { direction: "TB" };
 * const leaf = task({ name: "DocTaskDiagramOptions", run: (p: { n: number }) => p.n });
 * assert.match(taskDiagram([leaf({ n: 1 })], options), /direction TB/);
 * ```
 */
export interface TaskDiagramOptions {
  /** Layout direction, from dependent task types to their dependencies (default `"BT"`). */
  direction?: DiagramDirection;
}

interface TypeInfo {
  name: string;
  /** Parameter name → the kinds of value seen in it (`number`, `Experiment`, `Experiment[]` …). */
  params: Map<string, Set<string>>;
  /** `param|Dependency` → whether some value held many tasks (an array or object of them). */
  edges: Map<string, { param: string; to: string; many: boolean }>;
}

const DIRECTIONS = new Set(["BT", "TB", "RL", "LR"]);

/** A short type description of one parameter value. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (isTaskLike(value)) return value.type.name;
  if (Array.isArray(value)) {
    const kinds = [...new Set(value.map(kindOf))].sort();
    return kinds.length === 0 ? "Array" : `Array~${kinds.join(" | ")}~`;
  }
  if (typeof value === "object") return "Object";
  return typeof value;
}

/** Tasks nested anywhere in `value`. */
function tasksIn(value: unknown, found: Task[] = []): Task[] {
  if (isTaskLike(value)) found.push(value as unknown as Task);
  else if (Array.isArray(value)) { for (const item of value) tasksIn(item, found); }
  else if (typeof value === "object" && value !== null) {
    for (const item of Object.values(value)) tasksIn(item, found);
  }
  return found;
}

/**
 * Returns a [Mermaid class diagram](https://mermaid.js.org/syntax/classDiagram.html)
 * of the task types reachable from `tasks`. Each type lists its parameters
 * with the kinds of value seen in them; an arrow goes from a dependency's
 * type to the type that depends on it, labelled with the parameter, and
 * marked `"many"` when that parameter holds several tasks (an array or object
 * of them). Parameter kinds come from the tasks given, since TypeScript types
 * do not exist at run time.
 *
 * @param tasks The tasks to start from.
 * @param options The layout `direction` (default `"BT"`).
 * @returns The diagram's Mermaid source.
 * @throws {RangeError} for an unknown direction.
 * @example
 * ```ts
 * import { task, taskDiagram } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * const load = task({ name: "DocDiagramLoad", run: (p: { n: number }) => p.n });
 * const sum = task({
 *   name: "DocDiagramSum",
 *   run: (p: { parts: ReturnType<typeof load>[] }) => p.parts.length,
 * });
 * const diagram = taskDiagram([sum({ parts: [load({ n: 1 }), load({ n: 2 })] })]);
 * assert.match(diagram, /^classDiagram\n {4}direction BT\n/);
 * assert.match(diagram, /DocDiagramLoad : number n/);
 * assert.match(diagram, /DocDiagramSum <-- "many" DocDiagramLoad : parts/);
 * ```
 */
export function taskDiagram(tasks: readonly Task[], options: TaskDiagramOptions = {}): string {
  const direction = options.direction ?? "BT";
  if (!DIRECTIONS.has(direction)) {
    throw new RangeError(
      `Cannot draw task diagram as direction must be BT, TB, RL or LR: received ${direction}`,
    );
  }
  const types = new Map<string, TypeInfo>();
  const seen = new Set<string>();
  const queue = [...tasks];
  for (let i = 0; i < queue.length; i++) {
    const t = queue[i]!;
    if (seen.has(t.cacheKey)) continue;
    seen.add(t.cacheKey);
    const name = t.type.name;
    let info = types.get(name);
    if (info === undefined) types.set(name, info = { name, params: new Map(), edges: new Map() });
    const params = t.params as Record<string, unknown>;
    for (const param of Object.keys(params)) {
      const value = params[param];
      let kinds = info.params.get(param);
      if (kinds === undefined) info.params.set(param, kinds = new Set());
      kinds.add(kindOf(value));
      const many = !isTaskLike(value);
      for (const dep of tasksIn(value)) {
        const key = `${param}|${dep.type.name}`;
        const edge = info.edges.get(key);
        if (edge === undefined) info.edges.set(key, { param, to: dep.type.name, many });
        else edge.many ||= many;
      }
    }
    queue.push(...taskDependencies(t));
  }
  const classes = [...types.values()].map((info) =>
    [
      `class ${info.name}`,
      ...[...info.params].map(([param, kinds]) =>
        `${info.name} : ${[...kinds].sort().join(" | ")} ${param}`
      ),
      `${info.name} : run()`,
    ].map((line) => `    ${line}`).join("\n")
  );
  const edges = [...types.values()].filter((info) => info.edges.size > 0).map((info) =>
    [...info.edges.values()].map((e) =>
      `    ${info.name} <-- ${e.many ? '"many" ' : ""}${e.to} : ${e.param}`
    ).join("\n")
  );
  return `classDiagram\n    direction ${direction}\n\n${classes.join("\n\n")}\n\n\n${
    edges.join("\n\n")
  }\n`;
}

/**
 * Shows the diagram of `tasks`: in a Jupyter notebook (Deno's kernel) as a
 * rendered Mermaid diagram (`text/html`, with the Mermaid source as
 * `text/markdown` and `text/plain` for other front ends), else printed as
 * Mermaid source. It returns nothing, so a cell that ends with it shows the
 * diagram once; use {@linkcode taskDiagram} for the source as a string.
 *
 * @param tasks The tasks to start from.
 * @param options As for {@linkcode taskDiagram}.
 * @returns Once the diagram is shown.
 * @throws {RangeError} for an unknown direction.
 * @example
 * ```ts
 * import { displayTaskDiagram, task, taskDiagram } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const one = task({ name: "DocDisplayDiagram", run: () => 1 });
 * assert.equal(await displayTaskDiagram([one({})]), undefined); // printed, not returned
 * assert.match(taskDiagram([one({})]), /class DocDisplayDiagram/);
 * ```
 */
export async function displayTaskDiagram(
  tasks: readonly Task[],
  options: TaskDiagramOptions = {},
): Promise<void> {
  const diagram = taskDiagram(tasks, options);
  const { loadRuntimeAdapter } = await import("../runtime/adapter.ts");
  const adapter = await loadRuntimeAdapter();
  const jupyter = adapter.jupyter();
  if (jupyter === null) {
    adapter.write("stdout", diagram);
    return;
  }
  const { sendToKernel } = await import("./notebook.ts");
  sendToKernel(jupyter, "display_data", {
    data: {
      "text/html": diagramHtml(diagram),
      "text/markdown": "```mermaid\n" + diagram + "```\n",
      "text/plain": diagram,
    },
    metadata: {},
    transient: {},
  });
}

let diagramCounter = 0;

/**
 * The diagram as HTML: the source in a `<pre class="mermaid">`, rendered by
 * Mermaid loaded in the notebook page (the source stays readable where
 * scripts do not run, as in nbconvert's output).
 */
function diagramHtml(diagram: string): string {
  const id = `labtech-diagram-${Date.now().toString(36)}-${diagramCounter++}`;
  const source = diagram.replace(/[&<>]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;" })[c]!);
  return `<pre class="mermaid" id="${id}">${source}</pre>\n<script type="module">\n` +
    `import mermaid from "https://cdn.jsdelivr.net/npm/mermaid@11/dist/mermaid.esm.min.mjs";\n` +
    `mermaid.run({ nodes: [document.getElementById("${id}")] });\n</script>`;
}
