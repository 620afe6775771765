"""Benchmarks: what ``threadkit.trace()`` costs while it is on, in one run.

Standard library only. Each row times a workload with the tracer off and with it on, in
alternating rounds (so drift and noise hit both alike), takes the median time per operation
of each, and prints the ratio ``on / off`` (above 1.00: tracing makes it slower). Only the
workload is timed; the export at the end of a trace (labels, matching, JSON) is timed
separately and reported per recorded event.

Workloads:

* ``with mutex:`` on a ``threadkit.Mutex``, one thread (each iteration records an
  "acquired" and a "release" event);
* ``with mutex:`` from 4 threads at once (contended: parks and wake-ups are recorded too);
* ``with lock:`` on a ``threading.Lock()`` made while the tracer is on (a traced lock) against
  one made while it is off (the C lock).

    python bench/bench_trace.py            # the table
    python bench/bench_trace.py --json     # the same figures as JSON
    python bench/bench_trace.py --rounds 15 --scale 2

Speed is never asserted in the tests: these figures are for reading, on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import threadkit

Workload = Callable[[int], float]  # (operations) -> seconds per operation


def _uncontended_mutex(ops: int) -> float:
    mutex = threadkit.Mutex()
    t0 = time.perf_counter()
    for _ in range(ops):
        with mutex:
            pass
    return (time.perf_counter() - t0) / ops


def _contended_mutex(ops: int, threads: int = 4) -> float:
    mutex = threadkit.Mutex()
    per_thread = max(ops // threads, 1)
    go = threading.Event()

    def worker() -> None:
        go.wait()
        for _ in range(per_thread):
            with mutex:
                pass

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    t0 = time.perf_counter()
    go.set()
    for w in workers:
        w.join()
    return (time.perf_counter() - t0) / (per_thread * threads)


def _lock_made_now(ops: int) -> float:
    lock = threading.Lock()  # a traced lock while the tracer is on
    t0 = time.perf_counter()
    for _ in range(ops):
        with lock:
            pass
    return (time.perf_counter() - t0) / ops


ROWS: list[tuple[str, Workload, int]] = [
    ("Mutex with, uncontended", _uncontended_mutex, 100_000),
    ("Mutex with, 4 threads contending", _contended_mutex, 40_000),
    ("threading.Lock() made during the trace, with", _lock_made_now, 100_000),
]


@dataclass
class Row:
    name: str
    ops: int
    off_us: float
    on_us: float
    ratio: float
    events_per_op: float
    export_us_per_event: float


def _traced(workload: Workload, ops: int) -> tuple[float, int, float]:
    """Run ``workload`` under a tracer: (seconds per op, events recorded, export seconds)."""
    tracer = threadkit.trace(summary=False).start()
    try:
        per_op = workload(ops)
    finally:
        t0 = time.perf_counter()
        tracer.stop()
        tracer.to_json()  # (the timeline is made on first use)
        export = time.perf_counter() - t0
    return per_op, len(tracer.events), export


def run(rounds: int, scale: float) -> list[Row]:
    rows = []
    for name, workload, ops in ROWS:
        n = max(int(ops * scale), 1)
        workload(max(n // 10, 1))  # warm up both
        _traced(workload, max(n // 10, 1))
        off, on, events, exports = [], [], [], []
        for _ in range(rounds):
            off.append(workload(n))
            per_op, count, export = _traced(workload, n)
            on.append(per_op)
            events.append(count)
            exports.append(export / max(count, 1))
        f, o = statistics.median(off), statistics.median(on)
        rows.append(
            Row(
                name,
                n,
                f * 1e6,
                o * 1e6,
                o / f,
                statistics.median(events) / n,
                statistics.median(exports) * 1e6,
            )
        )
    return rows


def _python() -> str:
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    return f"{platform.python_implementation()} {platform.python_version()}" + (
        "" if gil else " (free-threaded, GIL off)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (median)")
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
        f"threadkit {threadkit.__version__} trace() on vs off on {_python()}, "
        f"{args.rounds} rounds, medians per operation; ratio = on / off"
    )
    header = (
        f"{'benchmark':<46} {'ops':>7} {'off us':>8} {'on us':>8} {'ratio':>7} "
        f"{'events/op':>9} {'export us/event':>15}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.name:<46} {r.ops:>7} {r.off_us:>8.3f} {r.on_us:>8.3f} {r.ratio:>6.2f}x "
            f"{r.events_per_op:>9.2f} {r.export_us_per_event:>15.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
