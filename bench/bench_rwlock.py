"""Benchmarks: threadkit's RWLock against readerwriterlock's and a plain Lock, in one run.

Standard library only; the peer ``readerwriterlock`` (``bench/requirements.txt``) gets rows
when it is importable, else they print "n/a (not importable: ...)". Each row times the
baseline and threadkit's ``RWLock`` in alternating rounds (so drift and noise hit both
alike), takes the median time per operation of each, and prints the ratio
``baseline / threadkit`` (above 1.00: threadkit is faster).

Workloads:

* read-mostly: 4 reader threads and 1 writer thread each do ``n`` operations with a tiny
  critical section (a reader reads a shared list item, the writer increments it); all start
  on one event and a round is timed until the last thread finishes. Per operation = the
  round's time / (5 n). The peer is ``readerwriterlock.rwlock.RWLockFair`` for the fair
  policy, ``RWLockWrite`` (writer priority) for write_preferring and ``RWLockRead``
  (reader priority) for read_preferring; the plain-Lock row uses one ``threading.Lock`` for
  readers and writer alike (no reader parallelism, which under a GIL costs nothing).
* readers only: 4 reader threads, ``n`` reads each, no writer (how reads scale).
* read-mostly, occasional writer: 4 readers as above and 1 writer that writes once per
  millisecond until the readers are done; per operation = the time / (4 n) (the reads).
* uncontended: one thread, ``with read:`` in a loop.

    python bench/bench_rwlock.py            # the table
    python bench/bench_rwlock.py --json     # the same figures as JSON
    python bench/bench_rwlock.py --rounds 15 --scale 2

Speed is never asserted in the tests: these figures are for reading, on a quiet machine.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from typing import Any

import threadkit
from threadkit._rwlock import RWLock


class Sides:
    """A lock under test: ``reader()``/``writer()`` give each thread its context manager."""

    def __init__(
        self, reader: Callable[[], AbstractContextManager[Any]], writer: Callable[[], Any]
    ):
        self.reader = reader
        self.writer = writer


Factory = Callable[[], Sides]  # builds a fresh lock for one round
Timer = Callable[[Factory, int], float]  # (factory, n) -> seconds per operation


def _threadkit(policy: str) -> Factory:
    def make() -> Sides:
        rw = RWLock(policy=policy)  # type: ignore[arg-type]
        return Sides(rw.read, rw.write)

    return make


def _peer(cls_name: str) -> Factory:
    cls = getattr(importlib.import_module("readerwriterlock.rwlock"), cls_name)

    def make() -> Sides:
        rw = cls()
        # A generated lock object remembers whether it is held: one per thread.
        return Sides(rw.gen_rlock, rw.gen_wlock)

    return make


def _plain_lock() -> Sides:
    lock = threading.Lock()
    return Sides(lambda: lock, lambda: lock)


def _threads(factory: Factory, n: int, readers: int, write_every: float | None) -> float:
    """``readers`` threads doing ``n`` reads each (a read of a shared list item is the
    critical section), and a writer that increments it: ``n`` times back to back when
    ``write_every`` is 0, once per ``write_every`` seconds until the readers are done when
    it is a number, none when it is None. All start on one event; the seconds until the
    last one is done (the readers, with a periodic writer)."""
    sides = factory()
    shared = [0]
    go = threading.Event()
    done = threading.Event()

    def reader() -> None:
        cm = sides.reader()
        go.wait()
        for _ in range(n):
            with cm:
                shared[0]

    def writer() -> None:
        cm = sides.writer()
        go.wait()
        if write_every == 0:
            for _ in range(n):
                with cm:
                    shared[0] += 1
            return
        while not done.wait(write_every):
            with cm:
                shared[0] += 1

    timed = [threading.Thread(target=reader) for _ in range(readers)]
    periodic = []
    if write_every == 0:
        timed.append(threading.Thread(target=writer))
    elif write_every is not None:
        periodic.append(threading.Thread(target=writer))
    for t in timed + periodic:
        t.start()
    t0 = time.perf_counter()
    go.set()
    for t in timed:
        t.join()
    elapsed = time.perf_counter() - t0
    done.set()
    for t in periodic:
        t.join()
    if write_every == 0:
        assert shared[0] == n
    return elapsed


def _read_mostly(factory: Factory, n: int, readers: int = 4) -> float:
    return _threads(factory, n, readers, 0) / (n * (readers + 1))


def _readers(factory: Factory, n: int, readers: int = 4) -> float:
    return _threads(factory, n, readers, None) / (n * readers)


def _occasional_writer(factory: Factory, n: int, readers: int = 4) -> float:
    return _threads(factory, n, readers, 0.001) / (n * readers)


def _uncontended_read(factory: Factory, n: int) -> float:
    cm = factory().reader()
    t0 = time.perf_counter()
    for _ in range(n):
        with cm:
            pass
    return (time.perf_counter() - t0) / n


@dataclass
class Row:
    name: str
    baseline: str
    baseline_us: float | None
    threadkit_us: float | None
    ratio: float | None
    target: float | None
    status: str  # "ok" or "n/a (not importable: ...)"


# (name, baseline label, baseline factory loader, threadkit factory, timer, n, target)
ROWS: list[tuple[str, str, Callable[[], Factory], Factory, Timer, int, float | None]] = [
    (
        "read-mostly 4R+1W, fair",
        "rwlock.RWLockFair",
        lambda: _peer("RWLockFair"),
        _threadkit("fair"),
        _read_mostly,
        5_000,
        3.0,
    ),
    (
        "read-mostly 4R+1W, write_preferring",
        "rwlock.RWLockWrite",
        lambda: _peer("RWLockWrite"),
        _threadkit("write_preferring"),
        _read_mostly,
        5_000,
        None,
    ),
    (
        "read-mostly 4R+1W, read_preferring",
        "rwlock.RWLockRead",
        lambda: _peer("RWLockRead"),
        _threadkit("read_preferring"),
        _read_mostly,
        5_000,
        None,
    ),
    (
        "read-mostly 4R+1W, fair",
        "threading.Lock",
        lambda: _plain_lock,
        _threadkit("fair"),
        _read_mostly,
        5_000,
        None,
    ),
    (
        "readers only, 4R, fair",
        "rwlock.RWLockFair",
        lambda: _peer("RWLockFair"),
        _threadkit("fair"),
        _readers,
        20_000,
        None,
    ),
    (
        "4R + a write every 1 ms, fair",
        "rwlock.RWLockFair",
        lambda: _peer("RWLockFair"),
        _threadkit("fair"),
        _occasional_writer,
        20_000,
        None,
    ),
    (
        "uncontended with read()",
        "rwlock.RWLockFair",
        lambda: _peer("RWLockFair"),
        _threadkit("fair"),
        _uncontended_read,
        100_000,
        None,
    ),
    (
        "uncontended with read()",
        "threading.Lock",
        lambda: _plain_lock,
        _threadkit("fair"),
        _uncontended_read,
        100_000,
        None,
    ),
]


def run(rounds: int, scale: float) -> list[Row]:
    rows = []
    for name, baseline, load, tk, timer, ops, target in ROWS:
        try:
            base = load()
        except ImportError as exc:
            rows.append(
                Row(name, baseline, None, None, None, target, f"n/a (not importable: {exc})")
            )
            continue
        n = max(int(ops * scale), 1)
        timer(base, max(n // 10, 1))  # warm up both
        timer(tk, max(n // 10, 1))
        base_times, tk_times = [], []
        for _ in range(rounds):
            base_times.append(timer(base, n))
            tk_times.append(timer(tk, n))
        b, t = statistics.median(base_times), statistics.median(tk_times)
        rows.append(Row(name, baseline, b * 1e6, t * 1e6, b / t, target, "ok"))
    return rows


def _python() -> str:
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    return f"{platform.python_implementation()} {platform.python_version()}" + (
        "" if gil else " (free-threaded, GIL off)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds (median)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the operation counts")
    args = parser.parse_args(argv)
    rows = run(args.rounds, args.scale)
    if args.json:
        print(
            json.dumps(
                {"python": _python(), "rounds": args.rounds, "rows": [asdict(r) for r in rows]},
                indent=2,
            )
        )
        return 0
    print(
        f"threadkit {threadkit.__version__} RWLock on {_python()}, {args.rounds} rounds, "
        "medians per operation; ratio = baseline / threadkit"
    )
    header = (
        f"{'benchmark':<38} {'baseline':<20} {'base us':>8} {'threadkit us':>13} "
        f"{'ratio':>7} {'target':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        target = "" if r.target is None else f">={r.target:.2f}"
        if r.status != "ok":
            print(f"{r.name:<38} {r.baseline:<20} {r.status}")
            continue
        print(
            f"{r.name:<38} {r.baseline:<20} {r.baseline_us:>8.3f} {r.threadkit_us:>13.3f} "
            f"{r.ratio:>6.2f}x {target:>7}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
