/**
 * The notebook display in a real Deno Jupyter kernel, driven by Debian's
 * jupyter_client (tests/fixtures/notebook_kernel.py): the messages the kernel
 * sends for a run with the display on, logs reaching the cell, the advice for
 * cell-defined types on worker backends, and the task diagram. The kernel is
 * always Deno's, whatever runtime runs this file. Without python3's
 * jupyter_client the test is skipped, except under CI=true, where it fails.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { repoRoot, tempDir } from "./_helpers.ts";

const PYTHON = "/usr/bin/python3";
const root = repoRoot();
const deno = join(root, "node_modules", ".bin", "deno");
const mod = pathToFileURL(join(root, "mod.ts")).href;
const workerTasks = pathToFileURL(join(root, "tests", "fixtures", "notebook_tasks.ts")).href;

const haveClient =
  spawnSync(PYTHON, ["-c", "import jupyter_client, nbclient"], { stdio: "ignore" }).status === 0;
const missing = haveClient ? null : `${PYTHON} with jupyter_client and nbclient is not installed`;

interface KernelMessage {
  cell: number;
  msg_type: string;
  content: Record<string, unknown>;
}

function run(
  command: string,
  args: string[],
  env: Record<string, string>,
  input?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { cwd: root, env: { ...process.env, ...env }, timeout: 300_000, maxBuffer: 64 << 20 },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`${command} failed: ${error.message}\n${stderr}`))
          : resolve(stdout),
    );
    child.stdin?.end(input ?? "");
  });
}

const CELLS = [
  // 0: the library imported by path, and a task type defined in the cell.
  `import { createLogger, displayTaskDiagram, Lab, task } from "${mod}";
const nbSquare = task({
  name: "NbSquare",
  run(p: { x: number }, ctx) {
    ctx.logger.info(\`squaring \${p.x}\`);
    if (p.x === 3) throw new Error("three is right out");
    return p.x * p.x;
  },
});`,
  // 1: a run with the display on (the default in a kernel), one failure.
  `try {
  await new Lab({ storage: null }).runTasks([1, 2, 3].map((x) => nbSquare({ x })), { top: false });
} catch (error) {
  console.log(\`caught \${error.name}\`);
}`,
  // 2: logger lines still reach the cell after the run (the redirect was undone).
  `createLogger("after").warn("still here");`,
  // 3: a cell-defined type on a worker backend: refused once, with advice that works in a cell.
  `try {
  await new Lab({ storage: null, runner: "thread" }).runTasks([nbSquare({ x: 1 })]);
} catch (error) {
  console.log(error.message);
}`,
  // 4: a type imported from a module runs on workers; their console output reaches the cell.
  `import { nbWorker } from "${workerTasks}";
const done = await new Lab({ storage: null, runner: "thread", maxWorkers: 1 })
  .runTasks([nbWorker({ i: 7 })], { top: false });
console.log(\`result \${[...done.values()]}\`);`,
  // 5: the diagram, shown once.
  `await displayTaskDiagram([nbSquare({ x: 1 })]);`,
];

test("notebook display in a real Deno kernel: updates in place, logs reach the cell", {
  skip: missing !== null && process.env.CI !== "true" ? missing : false,
  timeout: 300_000,
}, async () => {
  if (missing !== null) assert.fail(`CI=true but ${missing}: .ci/run installs it`);
  const { dir, cleanup } = tempDir();
  try {
    // The kernelspec goes into a throwaway HOME; the Deno cache stays where it is.
    const denoDir = JSON.parse(await run(deno, ["info", "--json"], {})).denoDir as string;
    const env = { HOME: dir, DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1" };
    await run(deno, ["jupyter", "--install"], env);
    const out = await run(
      PYTHON,
      [join(root, "tests", "fixtures", "notebook_kernel.py")],
      env,
      JSON.stringify(CELLS),
    );
    const messages: KernelMessage[] = out.trim().split("\n").map((line) => JSON.parse(line));
    const of = (cell: number) => messages.filter((m) => m.cell === cell);
    const streams = (cell: number, name: string) =>
      of(cell).filter((m) => m.msg_type === "stream" && m.content.name === name)
        .map((m) => String(m.content.text)).join("");
    for (const cell of CELLS.keys()) {
      assert.deepEqual(
        of(cell).filter((m) => m.msg_type === "error"),
        [],
        `cell ${cell} raised:\n${JSON.stringify(of(cell), null, 1)}`,
      );
    }

    // One display, then updates of that same display, each with HTML and text.
    const shown = of(1).filter((m) => /display_data$/.test(m.msg_type));
    assert.equal(shown[0]?.msg_type, "display_data", JSON.stringify(of(1), null, 1));
    assert.ok(shown.length >= 2);
    assert.ok(shown.slice(1).every((m) => m.msg_type === "update_display_data"));
    const ids = new Set(
      shown.map((m) => (m.content.transient as { display_id?: string }).display_id),
    );
    assert.equal(ids.size, 1);
    assert.ok([...ids][0]);
    const final = shown.at(-1)!.content.data as Record<string, string>;
    assert.match(final["text/html"]!, /<progress value="3" max="3">/);
    assert.match(final["text/plain"]!, /^NbSquare +3\/3 .*\(1 failed\)$/m);
    // Logger lines and the failure reach the cell while the display is on.
    const logs = streams(1, "stderr");
    for (const x of [1, 2, 3]) {
      assert.match(logs, new RegExp(`NbSquare\\[0${x - 1}\\]: INFO: squaring ${x}`));
    }
    assert.match(logs, /labtech: ERROR: Task NbSquare\[02\] failed: Error: three is right out/);
    assert.match(streams(1, "stdout"), /caught LabError/);

    assert.match(streams(2, "stderr"), /after: WARN: still here/);

    const advice = streams(3, "stdout");
    assert.match(advice, /task type "NbSquare" was defined in a notebook cell/);
    assert.match(advice, /import \{ \.\.\. \} from "\.\/tasks\.ts"/);
    assert.doesNotMatch(advice, /import\.meta\.url/);

    assert.match(streams(4, "stderr"), /NbWorker\[00\].*from worker 7/);
    assert.match(streams(4, "stdout"), /result 7/);

    const diagram = of(5).filter((m) => m.msg_type === "display_data");
    assert.equal(diagram.length, 1);
    const data = diagram[0]!.content.data as Record<string, string>;
    assert.match(data["text/html"]!, /<pre class="mermaid"[^>]*>classDiagram/);
    assert.match(data["text/markdown"]!, /^```mermaid\nclassDiagram/);
    assert.deepEqual(of(5).filter((m) => m.msg_type === "execute_result"), []);
  } finally {
    cleanup();
  }
});
