"""Task types for the Labtech peer benchmark driver (labtech_peer.py).

They live in their own importable module (not in __main__) so that
Labtech's 'spawn' backend can unpickle them in worker processes and so
that their cache keys do not depend on how the driver was launched.
Only Labtech's public API (@labtech.task, .result) is used.
"""
from __future__ import annotations

from array import array

import labtech

try:  # numpy is optional; array.array('d') is the fallback
    import numpy as _np
except ImportError:  # pragma: no cover - depends on the environment
    _np = None

BIG_DOUBLES = 625_000  # 625000 * 8 bytes = 5 MB


def array_impl() -> str:
    return 'numpy' if _np is not None else 'array.array'


def spin(iters: int) -> int:
    """Pure-Python CPU-bound loop (the same code is used for calibration)."""
    acc = 0
    for k in range(iters):
        acc = (acc + k * k) % 1_000_003
    return acc


@labtech.task
class Trivial:
    i: int

    def run(self):
        return self.i


@labtech.task
class Shared:
    seed: int

    def run(self):
        return self.seed


@labtech.task
class Dependent:
    i: int
    dep: Shared

    def run(self):
        return self.dep.result + self.i


@labtech.task
class Link:
    i: int
    prev: Link | None

    def run(self):
        return (0 if self.prev is None else self.prev.result) + 1


@labtech.task
class Spin:
    i: int
    iters: int

    def run(self):
        return spin(self.iters)


@labtech.task
class Big:
    i: int

    def run(self):
        if _np is not None:
            return _np.full(BIG_DOUBLES, float(self.i), dtype=_np.float64)
        return array('d', [float(self.i)]) * BIG_DOUBLES
