"""Benchmarks: threadkit's drop-in primitives against the standard library's, in one run.

Standard library only. Each row times the stdlib class and the threadkit class in alternating
rounds (so drift and noise hit both alike), takes the median time per operation of each, and
prints the ratio ``stdlib / threadkit`` (above 1.00: threadkit is faster).

    python bench/bench_sync.py            # the table
    python bench/bench_sync.py --json     # the same figures as JSON
    python bench/bench_sync.py --rounds 15 --scale 2

Speed is never asserted in the tests: these figures are for reading, on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import threadkit
from threadkit._bench import (  # the timings `threadkit bench` runs too
    barrier_two_threads,
    condition_ping_pong,
    consume_ping_pong,
    contended_semaphore,
    event_ping_pong,
    uncontended_lock,
    uncontended_semaphore,
)
from threadkit._bench import python_description as _python

Timer = Callable[[Any, int], float]  # (factory, operations) -> seconds per operation


@dataclass
class Row:
    name: str
    baseline: str
    stdlib_us: float
    threadkit_us: float
    ratio: float
    target: float | None


ROWS: list[tuple[str, str, Any, Any, Timer, int, float | None]] = [
    (
        "with Lock()",
        "threading.Lock",
        threading.Lock,
        threadkit.Lock,
        uncontended_lock,
        200_000,
        1.00,
    ),
    (
        "Semaphore acquire+release, uncontended",
        "threading.Semaphore",
        threading.Semaphore,
        threadkit.Semaphore,
        uncontended_semaphore,
        100_000,
        2.5,
    ),
    (
        "Semaphore(2), 4 threads contending",
        "threading.Semaphore",
        threading.Semaphore,
        threadkit.Semaphore,
        contended_semaphore,
        40_000,
        1.0,
    ),
    (
        "BoundedSemaphore acquire+release",
        "threading.BoundedSemaphore",
        threading.BoundedSemaphore,
        threadkit.BoundedSemaphore,
        uncontended_semaphore,
        100_000,
        None,
    ),
    (
        "Event ping-pong, 2 threads (per round trip)",
        "threading.Event",
        threading.Event,
        threadkit.Event,
        event_ping_pong,
        4_000,
        1.3,
    ),
    (
        "Event consume ping-pong: wait_and_clear vs wait+clear",
        "threading.Event",
        threading.Event,
        threadkit.Event,
        consume_ping_pong,
        4_000,
        None,
    ),
    (
        "Condition ping-pong, 2 threads",
        "threading.Condition",
        threading.Condition,
        threadkit.Condition,
        condition_ping_pong,
        4_000,
        None,
    ),
    (
        "Barrier(2), 2 threads (per crossing)",
        "threading.Barrier",
        threading.Barrier,
        threadkit.Barrier,
        barrier_two_threads,
        4_000,
        None,
    ),
    (
        "Mutex vs Lock: with, uncontended",
        "threading.Lock",
        threading.Lock,
        threadkit.Mutex,
        uncontended_lock,
        100_000,
        None,
    ),
]


def run(rounds: int, scale: float) -> list[Row]:
    rows = []
    for name, baseline, std, tk, timer, ops, target in ROWS:
        n = max(int(ops * scale), 1)
        timer(std, max(n // 10, 1))  # warm up both
        timer(tk, max(n // 10, 1))
        std_times, tk_times = [], []
        for _ in range(rounds):
            std_times.append(timer(std, n))
            tk_times.append(timer(tk, n))
        s, t = statistics.median(std_times), statistics.median(tk_times)
        rows.append(Row(name, baseline, s * 1e6, t * 1e6, s / t, target))
    return rows


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
        f"threadkit {threadkit.__version__} vs the standard library on {_python()}, "
        f"{args.rounds} rounds, medians per operation; ratio = stdlib / threadkit"
    )
    header = f"{'benchmark':<55} {'stdlib us':>10} {'threadkit us':>13} {'ratio':>7} {'target':>7}"
    print(header)
    print("-" * len(header))
    for r in rows:
        target = "" if r.target is None else f">={r.target:.2f}"
        if r.target == 1.00 and r.name.startswith("with Lock"):
            target = "1.00"
        print(
            f"{r.name:<55} {r.stdlib_us:>10.3f} {r.threadkit_us:>13.3f} "
            f"{r.ratio:>6.2f}x {target:>7}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
