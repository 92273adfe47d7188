/**
 * Turns the suite's raw results into markdown tables and target checks.
 *
 * @module
 */
import type { WorkloadResult } from "./run_workload.ts";
import { renderPeers } from "./_report_peers.ts";

/** Everything one `npm run bench` measured. */
export interface Report {
  machine: { nproc: number; cpu: string; date: string };
  quick: boolean;
  runtimes: string[];
  backends: string[];
  sizes: Record<string, number>;
  results: WorkloadResult[];
  peer: Array<Record<string, unknown>>;
  skipped: string[];
  versions: Record<string, string>;
  tmpdir: string;
  totalSeconds?: number;
}

/** One bar pair of the overhead chart. */
export interface OverheadBar {
  backend: string;
  runtime: string;
  fresh: number | null;
  cached: number | null;
}

/** Median of the numbers, or null for none. */
export function median(values: readonly number[] | undefined): number | null {
  if (!values || values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function fmt(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toPrecision(digits);
}

function perTask(ms: readonly number[] | undefined, n: number): number | null {
  const m = median(ms);
  return m === null ? null : m / n;
}

export function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

/** Builds the markdown (tables and target checks) and the chart's data. */
export function renderMarkdown(report: Report): { tables: string; svgData: OverheadBar[] } {
  const out: string[] = [];
  const checks: string[] = [];
  const check = (ok: boolean | null, text: string) => {
    if (ok !== null) checks.push(`- ${ok ? "✅" : "❌"} ${text}`);
  };
  const find = (
    workload: string,
    backend: string | null,
    runtime: string,
    storage?: string,
    n?: number,
  ) =>
    report.results.find((r) =>
      r.workload === workload && (backend === null || r.backend === backend) &&
      r.runtime === runtime &&
      (storage === undefined || r.storage === storage) && (n === undefined || r.n === n)
    );
  const peer = (workload: string, backend: string) =>
    report.peer.find((p) => p.workload === workload && p.backend === backend && !p.error) as
      | (Record<string, unknown> & { n: number; fresh_ms: number[]; cached_ms: number[] })
      | undefined;
  const errors = [...report.results, ...report.peer].filter((r) => r.error);

  const { machine } = report;
  out.push(
    `Measured ${
      machine.date.slice(0, 16).replace("T", " ")
    } UTC on ${machine.nproc} × ${machine.cpu}` +
      `${report.quick ? " (quick mode)" : ""}; ${
        Object.entries(report.versions).map(([k, v]) => `${k}: ${v}`).join("; ")
      }; storage under \`${report.tmpdir}\`. Figures are medians; ms/task = wall time of \`runTasks\` ÷ tasks.`,
  );

  // Limits.
  const limits = new Map<string, WorkloadResult>();
  for (const runtime of report.runtimes) {
    const l = find("limits", null, runtime);
    if (l && !l.error) limits.set(runtime, l);
  }
  if (limits.size > 0) {
    out.push("\n### Limits: bare primitives (ms per round trip or per entry)\n");
    out.push(table(
      [
        "runtime",
        "Worker postMessage round trip",
        "subprocess IPC round trip",
        "cache entry write+rename",
        "cache entry stat+read+decode",
      ],
      [...limits].map(([runtime, l]) => [
        runtime,
        fmt(median(l.worker_rt_ms as number[])),
        `${fmt(median(l.ipc_rt_ms as number[]))} (${l.ipc_kind})`,
        fmt(median(l.fs_write_ms as number[])),
        fmt(median(l.fs_read_ms as number[])),
      ]),
    ));
  }
  const limitFor = (runtime: string, backend: string, phase: "fresh" | "cached"): number | null => {
    const l = limits.get(runtime);
    if (!l) return null;
    const fs = median((phase === "fresh" ? l.fs_write_ms : l.fs_read_ms) as number[]) ?? 0;
    const channel = backend === "thread"
      ? median(l.worker_rt_ms as number[]) ?? 0
      : backend === "spawn" || backend === "fork"
      ? median(l.ipc_rt_ms as number[]) ?? 0
      : 0;
    return fs + channel;
  };

  // Trivial overhead.
  const svgData: OverheadBar[] = [];
  const trivialRows: string[][] = [];
  for (const storage of ["local", "null"]) {
    for (const backend of report.backends) {
      for (const runtime of report.runtimes) {
        const r = find("trivial", backend, runtime, storage);
        if (!r) continue;
        const fresh = perTask(r.fresh_ms, r.n);
        const cached = perTask(r.cached_ms, r.n);
        if (storage === "local") svgData.push({ backend, runtime, fresh, cached });
        const p = peer("trivial", backend);
        const pf = storage === "local" && p ? perTask(p.fresh_ms, p.n) : null;
        const pc = storage === "local" && p ? perTask(p.cached_ms, p.n) : null;
        const lf = storage === "local" ? limitFor(runtime, backend, "fresh") : null;
        const lc = storage === "local" ? limitFor(runtime, backend, "cached") : null;
        const xf = fresh !== null && lf ? fresh / lf : null;
        const xc = cached !== null && lc ? cached / lc : null;
        trivialRows.push([
          backend,
          storage === "local" ? "LocalStorage" : "null",
          runtime,
          r.error ? "error" : fmt(fresh),
          fmt(cached),
          xf === null ? "–" : `${fmt(xf, 2)}×`,
          xc === null ? "–" : `${fmt(xc, 2)}×`,
          fmt(pf),
          fmt(pc),
          pf !== null && fresh ? `${fmt(pf / fresh, 2)}×` : "–",
          pc !== null && cached ? `${fmt(pc / cached, 2)}×` : "–",
        ]);
        if (storage === "local") {
          check(
            xf === null ? null : xf <= 3,
            `${backend}/${runtime} fresh within 3× its limit: ${fmt(xf, 2)}×`,
          );
          check(
            xc === null ? null : xc <= 3,
            `${backend}/${runtime} cached within 3× its limit: ${fmt(xc, 2)}×`,
          );
          if (pf !== null && fresh) {
            check(
              pf / fresh >= 10,
              `${backend}/${runtime} fresh ≥ 10× lower than Labtech: ${fmt(pf / fresh, 2)}×`,
            );
          }
          if (pc !== null && cached) {
            check(
              pc / cached >= 10,
              `${backend}/${runtime} cached ≥ 10× lower than Labtech: ${fmt(pc / cached, 2)}×`,
            );
          }
        }
        if (backend === "serial" && storage === "local") {
          check(
            fresh === null ? null : fresh <= 0.06,
            `serial+LocalStorage/${runtime} ≤ 0.06 ms/task fresh (${r.n} tasks): ${fmt(fresh)}`,
          );
          check(
            cached === null ? null : cached <= 0.05,
            `serial+LocalStorage/${runtime} ≤ 0.05 ms/task cached (${r.n} tasks): ${fmt(cached)}`,
          );
        }
      }
    }
  }
  if (trivialRows.length > 0) {
    out.push(`\n### Per-task overhead: ${report.sizes.trivialN} trivial tasks (ms/task)\n`);
    out.push(
      "“×limit” divides by the bare primitives above (fs write or read, plus one Worker or IPC round trip " +
        "for thread or spawn/fork). Labtech: the Python peer with the same backend, " +
        `${report.sizes.peerTrivialN} tasks; “Labtech÷ours” ≥ 10 is the target.\n`,
    );
    out.push(table(
      [
        "backend",
        "storage",
        "runtime",
        "fresh",
        "cached",
        "fresh ×limit",
        "cached ×limit",
        "Labtech fresh",
        "Labtech cached",
        "Labtech÷ours fresh",
        "Labtech÷ours cached",
      ],
      trivialRows,
    ));
  }

  // Scaling.
  const scaleRows: string[][] = [];
  const { scaleSmall, scaleLarge } = report.sizes as { scaleSmall: number; scaleLarge: number };
  for (const backend of ["serial", "async"]) {
    for (const storage of ["local", "null"]) {
      for (const runtime of report.runtimes) {
        const small = find("scale", backend, runtime, storage, scaleSmall);
        const large = find("scale", backend, runtime, storage, scaleLarge);
        if (!small || !large) continue;
        const ratio = (a: number[], b: number[]) => {
          const ma = median(a), mb = median(b);
          return ma !== null && mb !== null ? mb / ma : null;
        };
        const rf = ratio(small.fresh_ms, large.fresh_ms);
        const rc = ratio(small.cached_ms, large.cached_ms);
        scaleRows.push([
          backend,
          storage === "local" ? "LocalStorage" : "null",
          runtime,
          fmt(perTask(small.fresh_ms, scaleSmall)),
          fmt(perTask(large.fresh_ms, scaleLarge)),
          fmt(rf, 3),
          fmt(perTask(small.cached_ms, scaleSmall)),
          fmt(perTask(large.cached_ms, scaleLarge)),
          fmt(rc, 3),
        ]);
        const factor = scaleLarge / scaleSmall;
        const limit = 1.2 * factor;
        check(
          rf === null ? null : rf <= limit,
          `${backend}+${storage}/${runtime} fresh time(${scaleLarge})/time(${scaleSmall}) ≤ ${
            fmt(limit)
          }: ${fmt(rf)}`,
        );
        check(
          rc === null ? null : rc <= limit,
          `${backend}+${storage}/${runtime} cached time(${scaleLarge})/time(${scaleSmall}) ≤ ${
            fmt(limit)
          }: ${fmt(rc)}`,
        );
        if (backend === "serial" && storage === "local") {
          const pf = perTask(large.fresh_ms, scaleLarge), pc = perTask(large.cached_ms, scaleLarge);
          check(
            pf === null ? null : pf <= 0.06,
            `serial+LocalStorage/${runtime} ≤ 0.06 ms/task fresh at ${scaleLarge}: ${fmt(pf)}`,
          );
          check(
            pc === null ? null : pc <= 0.05,
            `serial+LocalStorage/${runtime} ≤ 0.05 ms/task cached at ${scaleLarge}: ${fmt(pc)}`,
          );
        }
      }
    }
  }
  if (scaleRows.length > 0) {
    out.push(
      `\n### Scaling: ${scaleSmall} vs ${scaleLarge} trivial tasks (ms/task; ratio = time(${scaleLarge}) / time(${scaleSmall}), linear = ${
        scaleLarge / scaleSmall
      })\n`,
    );
    out.push(table(
      [
        "backend",
        "storage",
        "runtime",
        `fresh ${scaleSmall}`,
        `fresh ${scaleLarge}`,
        "fresh ratio",
        `cached ${scaleSmall}`,
        `cached ${scaleLarge}`,
        "cached ratio",
      ],
      scaleRows,
    ));
  }

  // Scheduler: fan-out and chain.
  const graphRows: string[][] = [];
  for (const backend of report.backends) {
    for (const runtime of report.runtimes) {
      const f = find("fanout", backend, runtime);
      const c = find("chain", backend, runtime);
      if (!f && !c) continue;
      const pf = peer("fanout", backend), pc = peer("chain", backend);
      graphRows.push([
        backend,
        runtime,
        f?.error ? "error" : fmt(f ? perTask(f.fresh_ms, f.n + 1) : null),
        c?.error ? "error" : fmt(c ? perTask(c.fresh_ms, c.n) : null),
        fmt(pf ? perTask(pf.fresh_ms, pf.n + 1) : null),
        fmt(pc ? perTask(pc.fresh_ms, pc.n) : null),
      ]);
    }
  }
  if (graphRows.length > 0) {
    out.push(
      `\n### Scheduler: fan-out (1 shared dependency + ${report.sizes.fanoutN} dependents) and chain (${report.sizes.chainN} deep; ${report.sizes.workerChainN} on thread, spawn and fork), LocalStorage, fresh (ms/task)\n`,
    );
    out.push(
      `Labtech: ${report.sizes.peerFanoutN} dependents and a chain of ${report.sizes.peerChainN}.\n`,
    );
    out.push(
      table(
        ["backend", "runtime", "fan-out", "chain", "Labtech fan-out", "Labtech chain"],
        graphRows,
      ),
    );
  }

  // CPU-bound.
  const cpuRows: string[][] = [];
  const peerSerialCpu = median(peer("cpu", "serial")?.fresh_ms);
  for (const backend of report.backends) {
    for (const runtime of report.runtimes) {
      const r = find("cpu", backend, runtime);
      if (!r) continue;
      const serial = median(find("cpu", "serial", runtime)?.fresh_ms);
      const wall = median(r.fresh_ms);
      const speedup = serial !== null && wall !== null ? serial / wall : null;
      const p = median(peer("cpu", backend)?.fresh_ms);
      cpuRows.push([
        backend,
        runtime,
        r.error ? "error" : fmt(wall),
        fmt(speedup, 3),
        fmt(p),
        fmt(p !== null && peerSerialCpu !== null ? peerSerialCpu / p : null, 3),
      ]);
      if (["thread", "spawn", "fork"].includes(backend)) {
        check(
          speedup === null ? null : speedup >= 1.8,
          `${backend}/${runtime} CPU speedup over serial ≥ 1.8: ${fmt(speedup, 3)}`,
        );
      }
    }
  }
  if (cpuRows.length > 0) {
    out.push(
      `\n### CPU-bound: ${report.sizes.cpuN} tasks of ~200 ms (pure-JS loop calibrated per runtime), wall ms\n`,
    );
    out.push(
      table([
        "backend",
        "runtime",
        "wall ms",
        "speedup over serial",
        "Labtech wall ms",
        "Labtech speedup",
      ], cpuRows),
    );
  }

  // Big results.
  const bigRows: string[][] = [];
  for (const backend of report.backends) {
    for (const runtime of report.runtimes) {
      const r = find("bigresult", backend, runtime);
      if (!r) continue;
      const mb = Number(r.result_bytes ?? 0) / 2 ** 20;
      const fresh = perTask(r.fresh_ms, r.n), cached = perTask(r.cached_ms, r.n);
      const peak = Number(r.peak_rss_bytes ?? 0), alive = Number(r.alive_bytes ?? 0);
      const ratio = alive > 0 && peak > 0 ? peak / alive : null;
      const bare = find("bigbare", "serial", runtime);
      const bareRatio = bare && Number(bare.alive_bytes) > 0
        ? Number(bare.peak_rss_bytes ?? 0) / Number(bare.alive_bytes)
        : null;
      const collected = find("bigcollect", backend, runtime);
      const collectedRatio = collected && !collected.error &&
          Number(collected.alive_bytes) > 0
        ? Number(collected.peak_rss_bytes ?? 0) / Number(collected.alive_bytes)
        : null;
      const p = peer("bigresult", backend);
      bigRows.push([
        backend,
        runtime,
        r.error ? "error" : `${fmt(fresh)} (${fmt(fresh ? mb / fresh * 1000 : null)} MiB/s)`,
        `${fmt(cached)} (${fmt(cached ? mb / cached * 1000 : null)} MiB/s)`,
        fmt(Number(r.baseline_rss_bytes ?? 0) / 2 ** 20),
        fmt(peak / 2 ** 20),
        fmt(alive / 2 ** 20),
        fmt(ratio, 3),
        fmt(collectedRatio, 3),
        fmt(bareRatio, 3),
        r.workers_peak_rss_bytes == null ? "–" : fmt(Number(r.workers_peak_rss_bytes) / 2 ** 20),
        fmt(p ? perTask(p.fresh_ms, p.n) : null),
        fmt(p ? perTask(p.cached_ms, p.n) : null),
      ]);
      check(
        ratio === null ? null : ratio < 2,
        `${backend}/${runtime} big results: peak RSS / results alive < 2: ${fmt(ratio, 3)}`,
      );
      check(
        collectedRatio === null ? null : collectedRatio < 2,
        `${backend}/${runtime} big results, garbage collected between batches: peak RSS / ` +
          `results alive < 2: ${fmt(collectedRatio, 3)}`,
      );
    }
  }
  if (bigRows.length > 0) {
    out.push(
      `\n### Big results: ${report.sizes.bigN} tasks × 5 MiB Float64Array, in runTasks batches of ${report.sizes.bigBatch} (ms/task)\n`,
    );
    out.push(table(
      [
        "backend",
        "runtime",
        "fresh",
        "cached",
        "RSS before MiB",
        "peak RSS MiB",
        "alive MiB",
        "peak ÷ alive",
        "collected between batches",
        "no-Lab loop's peak ÷ alive",
        "worker processes' peak RSS MiB",
        "Labtech fresh",
        "Labtech cached",
      ],
      bigRows,
    ));
  }

  // Observability.
  const obsRows: string[][] = [];
  for (const runtime of report.runtimes) {
    const r = find("observe", "serial", runtime);
    if (!r) continue;
    const off = median(r.fresh_ms), on = median(r.on_ms as number[]);
    const ratio = off !== null && on !== null ? on / off : null;
    obsRows.push([runtime, fmt(off), fmt(on), fmt(ratio, 3)]);
    check(
      ratio === null ? null : ratio <= 1.1,
      `observability/${runtime} progress+top on ÷ off ≤ 1.10: ${fmt(ratio, 3)}`,
    );
  }
  if (obsRows.length > 0) {
    out.push(
      `\n### Observability: ${report.sizes.observeN} trivial tasks, serial, LocalStorage, progress+top on vs off (ms per run)\n`,
    );
    out.push(table(["runtime", "off", "on", "on ÷ off"], obsRows));
  }

  out.push(...renderPeers(report.results, check));
  if (checks.length > 0) out.push("\n### Targets\n\n" + checks.join("\n"));
  const notes = [
    ...report.skipped,
    ...errors.map((e) =>
      `error in ${e.runtime ?? "python"} ${e.workload} ${e.backend ?? ""}: ${
        String(e.error).split("\n")[0]
      }`
    ),
  ];
  if (notes.length > 0) {
    out.push("\n### Skipped and failed\n\n" + notes.map((n) => `- ${n}`).join("\n"));
  }
  return { tables: out.join("\n"), svgData };
}
