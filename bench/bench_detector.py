"""Benchmarks: the cost of the lock-order detector, on against off, in one run.

Each row times the same workload with the detector off and on (``threadkit.diagnostics.
enable("collect")``, runtime deadlock detection included) in alternating rounds, takes the
median time per operation of each and prints ``on / off`` (the detector's cost factor;
the issue's target is <= 3x for Mutex).

* ``Mutex uncontended``: one thread, ``with m:`` in a loop (the lock-order check is a dict
  lookup per held lock; this holds none).
* ``Mutex under Mutex``: one thread, ``with outer: with inner:`` (one order check per
  acquire of ``inner``).
* ``Mutex contended x4``: 4 threads, ``with m: counter += 1``; a round is timed from one
  start event until the last thread ends; per operation = round time / (4 n).
* ``Lock uncontended``: ``threading.Lock()`` made while on is a traced lock (Python code
  around the C lock); against the C lock with the detector off.

``--without SRC`` adds the "off" rows against a build of threadkit without the detector
(a ``src`` directory of an older checkout, e.g. ``git worktree add /tmp/old <commit>``):
each round runs both in fresh subprocesses, alternating, and prints ``this off / without``.

    python bench/bench_detector.py
    python bench/bench_detector.py --without /tmp/old/src --rounds 9

Speed is never asserted in the tests: these figures are for reading, on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import threadkit
from threadkit import Mutex, diagnostics

Workload = Callable[[int], float]  # n -> seconds per operation


def mutex_uncontended(n: int) -> float:
    m = Mutex()
    start = time.perf_counter()
    for _ in range(n):
        with m:
            pass
    return (time.perf_counter() - start) / n


def mutex_nested(n: int) -> float:
    outer, inner = Mutex(), Mutex()
    start = time.perf_counter()
    for _ in range(n):
        with outer, inner:
            pass
    return (time.perf_counter() - start) / n


def mutex_contended(n: int, threads: int = 4) -> float:
    m = Mutex()
    go = threading.Event()
    box = [0]

    def worker() -> None:
        go.wait()
        for _ in range(n):
            with m:
                box[0] += 1

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for t in workers:
        t.start()
    start = time.perf_counter()
    go.set()
    for t in workers:
        t.join()
    elapsed = time.perf_counter() - start
    assert box[0] == n * threads
    return elapsed / (n * threads)


def lock_uncontended(n: int) -> float:
    lock = threading.Lock()  # traced while the detector is on
    start = time.perf_counter()
    for _ in range(n):
        with lock:
            pass
    return (time.perf_counter() - start) / n


ROWS: list[tuple[str, Workload, int]] = [
    ("Mutex uncontended", mutex_uncontended, 100_000),
    ("Mutex under Mutex", mutex_nested, 50_000),
    ("Mutex contended x4", mutex_contended, 20_000),
    ("Lock uncontended", lock_uncontended, 100_000),
]


def on_off(work: Workload, n: int, rounds: int) -> tuple[float, float]:
    """Median seconds per operation with the detector off and on (alternating rounds)."""
    off: list[float] = []
    on: list[float] = []
    work(max(n // 10, 1))  # warm up
    for _ in range(rounds):
        off.append(work(n))
        diagnostics.enable("collect")
        try:
            on.append(work(n))
        finally:
            diagnostics.disable()
            diagnostics.clear()
    return statistics.median(off), statistics.median(on)


CHILD = "--child"


def child(name: str, n: int) -> None:
    """Print one timing of ``name`` with the detector off (in a fresh process)."""
    work = {row: fn for row, fn, _ in ROWS}[name]
    work(max(n // 10, 1))
    print(json.dumps(work(n)))


def without(src: str, rounds: int, scale: float) -> list[dict[str, object]]:
    rows = []
    here = str(Path(threadkit.__file__).parents[1])
    for name, _, size in ROWS[:3]:
        n = int(size * scale)
        times: dict[str, list[float]] = {"this": [], "without": []}
        for _ in range(rounds):
            for label, path in (("this", here), ("without", src)):
                env = {**os.environ, "PYTHONPATH": path}
                out = subprocess.run(
                    [sys.executable, __file__, CHILD, name, str(n)],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                times[label].append(json.loads(out.stdout))
        this, base = statistics.median(times["this"]), statistics.median(times["without"])
        rows.append(
            {"row": name, "off_us": this * 1e6, "without_us": base * 1e6, "ratio": this / base}
        )
    return rows


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == CHILD:
        child(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--without", metavar="SRC", help="src dir of a build without the detector")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    build = "GIL" if gil else "free-threaded"
    header = f"Python {platform.python_version()} ({build}), {os.cpu_count()} CPUs"
    results = []
    for name, work, n in ROWS:
        off, on = on_off(work, int(n * args.scale), args.rounds)
        results.append({"row": name, "off_us": off * 1e6, "on_us": on * 1e6, "ratio": on / off})
    extra = without(args.without, args.rounds, args.scale) if args.without else []
    if args.json:
        print(json.dumps({"python": header, "on_off": results, "without": extra}, indent=2))
        return
    print(header)
    print(f"{'detector on vs off':<24}{'off us/op':>12}{'on us/op':>12}{'on/off':>10}")
    for r in results:
        print(f"{r['row']:<24}{r['off_us']:>12.3f}{r['on_us']:>12.3f}{r['ratio']:>9.2f}x")
    if extra:
        print(f"\n{'off vs without detector':<24}{'off us/op':>12}{'w/o us/op':>12}{'off/w/o':>10}")
        for r in extra:
            print(f"{r['row']:<24}{r['off_us']:>12.3f}{r['without_us']:>12.3f}{r['ratio']:>9.2f}x")


if __name__ == "__main__":
    main()
