/**
 * The main example: a parameter sweep of polynomial ridge regressions that
 * share one dataset. Run it twice: the second run loads every result from
 * the cache in ./lab_storage.
 *
 *   npm run example                      (Deno, the one `npm ci` installed)
 *   deno run -A examples/sweep.ts        (Deno)
 *   bun examples/sweep.ts                (Bun; `npm run example:bun`)
 *   npm run example:node                 (Node: builds npm/, then runs
 *                                         node npm/esm/examples/sweep.js)
 *
 * Arguments: a runner name chooses the backend (`npm run example -- thread`),
 * `--storage=DIR` the cache directory.
 */
import { Lab, type RunnerName } from "../mod.ts";
import { dataset, ridgeFit } from "./sweep_tasks.ts";

const args = (globalThis as { process?: { argv: string[] } }).process?.argv ?? [];
const runner = (args.find((arg) => ["serial", "async", "thread", "spawn", "fork"].includes(arg)) ??
  "serial") as RunnerName;

const storage = args.find((arg) => arg.startsWith("--storage="))?.slice("--storage=".length) ??
  "lab_storage";

const data = dataset({ samples: 2000, noise: 0.3, seed: 42 });
const tasks = [1, 3, 5, 7, 9].flatMap((degree) =>
  [0, 1e-6, 1e-3, 1e-1].map((lambda) => ridgeFit({ data, degree, lambda }))
);

const lab = new Lab({ storage, runner });
const cached = (await Promise.all(tasks.map((t) => lab.isCached(t)))).filter(Boolean).length;
console.log(`Sweep of ${tasks.length} fits on the ${runner} runner: ${cached} already cached.`);

const started = performance.now();
const results = await lab.runTasks(tasks);
const elapsed = ((performance.now() - started) / 1000).toFixed(2);

console.log("\ndegree  lambda   test RMSE");
for (const [t, result] of results) {
  console.log(
    `${String(t.params.degree).padStart(6)}  ${t.params.lambda.toExponential(0).padStart(6)}   ${
      result.testRmse.toFixed(4)
    }`,
  );
}
const best = [...results].reduce((a, b) => (b[1].testRmse < a[1].testRmse ? b : a));
console.log(`\nBest: ${best[0]} with test RMSE ${best[1].testRmse.toFixed(4)}`);
console.log(
  cached === tasks.length
    ? `All ${tasks.length} results were loaded from the cache in ${elapsed}s.`
    : `Ran ${tasks.length - cached} fits in ${elapsed}s; run again to load them from the cache.`,
);
