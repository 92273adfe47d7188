#!/usr/bin/env python3
"""Benchmark driver for the Python Labtech peer.

Runs one workload through Labtech's public API (labtech.task, labtech.Lab,
Lab.run_tasks) and prints exactly ONE JSON line on stdout. Everything else
(Labtech logging, warnings) goes to stderr.

Usage:
  python3 labtech_peer.py --workload W --backend B --n N --storage DIR
                          [--repeats R] [--workers K] [--recursion-limit L]

Workloads: trivial | fanout | chain | cpu | bigresult
Backends:  any Labtech runner_backend string:
           serial | thread | spawn | fork | fork-per-task

Output shape:
  {"workload", "backend", "n", "repeats", "workers",
   "fresh_ms": [...], "cached_ms": [...],
   "peak_rss_bytes", "peak_rss_children_bytes",
   "labtech_version", "python", ...workload extras..., ["error": "..."]}

A workload failure (e.g. RecursionError inside Labtech) is reported as
{"error": ...} in the JSON line with exit status 0; bad arguments or a
missing labtech module give a non-zero exit status.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import shutil
import sys
import time
import traceback

# Don't leave __pycache__ in the project tree (spawned workers inherit the env var).
sys.dont_write_bytecode = True
os.environ.setdefault('PYTHONDONTWRITEBYTECODE', '1')

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

BACKENDS = ['serial', 'thread', 'spawn', 'fork', 'fork-per-task']
WORKLOADS = ['trivial', 'fanout', 'chain', 'cpu', 'bigresult']
DEFAULT_N = {'trivial': 1000, 'fanout': 10000, 'chain': 2000, 'cpu': 8, 'bigresult': 200}
CPU_TARGET_MS = 200.0


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--workload', required=True, choices=WORKLOADS)
    p.add_argument('--backend', required=True, choices=BACKENDS)
    p.add_argument('--n', type=int, default=None, help='task count (default depends on workload)')
    p.add_argument('--storage', required=True,
                   help='parent directory; a fresh sub-directory is used per repeat and removed afterwards')
    p.add_argument('--repeats', type=int, default=1)
    p.add_argument('--workers', type=int, default=None, help='Lab(max_workers=...); default: Labtech default')
    p.add_argument('--recursion-limit', type=int, default=None,
                   help='optionally raise sys.setrecursionlimit (default: leave Python default)')
    p.add_argument('--keep-storage', action='store_true', help='do not delete per-repeat storage dirs')
    return p.parse_args(argv)


def peak_rss(who) -> int:
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    v = resource.getrusage(who).ru_maxrss
    return int(v if sys.platform == 'darwin' else v * 1024)


class Runner:
    def __init__(self, args):
        import labtech
        self.labtech = labtech
        self.args = args
        os.makedirs(args.storage, exist_ok=True)

    def storage_dir(self, rep: int) -> str:
        a = self.args
        d = os.path.join(os.path.abspath(a.storage), f'{a.workload}-{a.backend}-n{a.n}-pid{os.getpid()}-r{rep}')
        shutil.rmtree(d, ignore_errors=True)
        return d

    def cleanup(self, d: str):
        if not self.args.keep_storage:
            shutil.rmtree(d, ignore_errors=True)

    def lab(self, storage_dir: str):
        return self.labtech.Lab(
            storage=storage_dir,
            max_workers=self.args.workers,
            runner_backend=self.args.backend,
            # Fail fast so the first task error (e.g. RecursionError) is
            # raised as the cause instead of a generic "Failed to complete".
            continue_on_failure=False,
        )

    def timed_run(self, lab, tasks) -> tuple[float, dict]:
        t0 = time.perf_counter()
        results = lab.run_tasks(tasks, disable_progress=True, disable_top=True)
        t1 = time.perf_counter()
        return (t1 - t0) * 1000.0, results


def run_workload(args, out: dict):
    import labtech_peer_tasks as T

    r = Runner(args)
    n = args.n
    fresh, cached = out['fresh_ms'], out['cached_ms']

    for rep in range(args.repeats):
        d = r.storage_dir(rep)
        try:
            if args.workload == 'trivial':
                ms, res = r.timed_run(r.lab(d), [T.Trivial(i=i) for i in range(n)])
                assert list(res.values()) == list(range(n))
                fresh.append(ms)
                # Cached reload: new Lab on the same storage, new task objects.
                ms, res = r.timed_run(r.lab(d), [T.Trivial(i=i) for i in range(n)])
                assert list(res.values()) == list(range(n))
                cached.append(ms)

            elif args.workload == 'fanout':
                shared = T.Shared(seed=7)
                ms, res = r.timed_run(r.lab(d), [T.Dependent(i=i, dep=shared) for i in range(n)])
                assert list(res.values()) == [7 + i for i in range(n)]
                fresh.append(ms)

            elif args.workload == 'chain':
                link = None
                for i in range(n):
                    link = T.Link(i=i, prev=link)
                ms, res = r.timed_run(r.lab(d), [link])
                assert list(res.values()) == [n]
                fresh.append(ms)

            elif args.workload == 'cpu':
                if 'cpu_iters' not in out:
                    out['cpu_iters'] = calibrate(T.spin)
                    out['cpu_target_task_ms'] = CPU_TARGET_MS
                tasks = [T.Spin(i=i, iters=out['cpu_iters']) for i in range(n)]
                ms, res = r.timed_run(r.lab(d), tasks)
                assert len(res) == n
                fresh.append(ms)

            elif args.workload == 'bigresult':
                out['array_impl'] = T.array_impl()
                out['result_bytes_per_task'] = T.BIG_DOUBLES * 8
                ms, res = r.timed_run(r.lab(d), [T.Big(i=i) for i in range(n)])
                assert len(res) == n and all(len(v) == T.BIG_DOUBLES for v in res.values())
                fresh.append(ms)
                del res
                ms, res = r.timed_run(r.lab(d), [T.Big(i=i) for i in range(n)])
                assert len(res) == n and all(len(v) == T.BIG_DOUBLES for v in res.values())
                cached.append(ms)
                del res
        finally:
            r.cleanup(d)


def calibrate(spin) -> int:
    """Find an iteration count for spin() that takes ~CPU_TARGET_MS here."""
    iters = 100_000
    while True:
        t0 = time.perf_counter()
        spin(iters)
        ms = (time.perf_counter() - t0) * 1000.0
        if ms >= 50.0:
            break
        iters *= 2
    iters = int(iters * CPU_TARGET_MS / ms)
    # One refinement pass (take the best of 3 to reduce noise).
    best = min(_time_spin(spin, iters) for _ in range(3))
    return max(1, int(iters * CPU_TARGET_MS / best))


def _time_spin(spin, iters) -> float:
    t0 = time.perf_counter()
    spin(iters)
    return (time.perf_counter() - t0) * 1000.0


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.n is None:
        args.n = DEFAULT_N[args.workload]
    if args.recursion_limit:
        sys.setrecursionlimit(args.recursion_limit)

    try:
        import labtech
    except ImportError as ex:
        print(f'labtech_peer: cannot import labtech ({ex}); set PYTHONPATH/LABTECH_SRC', file=sys.stderr)
        return 2

    # Labtech's logger already writes to stderr; keep it there and quiet.
    logging.getLogger('labtech').setLevel(logging.WARNING)

    out = {
        'workload': args.workload,
        'backend': args.backend,
        'n': args.n,
        'repeats': args.repeats,
        'workers': args.workers,
        'fresh_ms': [],
        'cached_ms': [],
        'peak_rss_bytes': None,
        'peak_rss_children_bytes': None,
        'labtech_version': getattr(labtech, '__version__', 'unknown'),
        'python': f'{platform.python_implementation()} {platform.python_version()} ({sys.executable})',
        'recursion_limit': sys.getrecursionlimit(),
    }
    try:
        run_workload(args, out)
    except BaseException as ex:  # includes RecursionError, LabError, MemoryError
        if isinstance(ex, KeyboardInterrupt):
            raise
        cause = ex.__cause__ or ex.__context__
        msg = f'{type(ex).__name__}: {ex}'
        if cause is not None and str(cause) not in msg:
            msg += f' (cause: {type(cause).__name__}: {cause})'
        out['error'] = msg[:2000]
        traceback.print_exc(file=sys.stderr)
    out['peak_rss_bytes'] = peak_rss(resource.RUSAGE_SELF)
    out['peak_rss_children_bytes'] = peak_rss(resource.RUSAGE_CHILDREN)
    sys.stdout.write(json.dumps(out) + '\n')
    sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
