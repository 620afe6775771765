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
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import threadkit

Timer = Callable[[Any, int], float]  # (factory, operations) -> seconds per operation


def _uncontended_lock(factory: Any, ops: int) -> float:
    lock = factory()
    t0 = time.perf_counter()
    for _ in range(ops):
        with lock:
            pass
    return (time.perf_counter() - t0) / ops


def _uncontended_semaphore(factory: Any, ops: int) -> float:
    sem = factory(1)
    acquire, release = sem.acquire, sem.release
    t0 = time.perf_counter()
    for _ in range(ops):
        acquire()
        release()
    return (time.perf_counter() - t0) / ops


def _contended_semaphore(factory: Any, ops: int, threads: int = 4) -> float:
    sem = factory(2)
    per_thread = max(ops // threads, 1)
    go = threading.Event()

    def worker() -> None:
        go.wait()
        acquire, release = sem.acquire, sem.release
        for _ in range(per_thread):
            acquire()
            release()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    t0 = time.perf_counter()
    go.set()
    for w in workers:
        w.join()
    return (time.perf_counter() - t0) / (per_thread * threads)


def _round_trips(
    main_step: Callable[[], object], other_step: Callable[[], object], ops: int
) -> float:
    """Run ``other_step`` ``ops`` times in a second thread while timing ``main_step`` here."""

    def other() -> None:
        for _ in range(ops):
            other_step()

    t = threading.Thread(target=other)
    t.start()
    t0 = time.perf_counter()
    for _ in range(ops):
        main_step()
    elapsed = time.perf_counter() - t0
    t.join()
    return elapsed / ops


def _event_ping_pong(factory: Any, ops: int, *, consume: bool = False) -> float:
    """Two threads hand a turn back and forth through two events.

    With ``consume``, each side takes the other's ``set()`` with ``wait_and_clear()`` where
    the class has it (threadkit), and with ``wait(); clear()`` where it does not (the stdlib).
    """
    ping, pong = factory(), factory()

    def take(ev: Any) -> Callable[[], object]:
        if consume and hasattr(ev, "wait_and_clear"):
            return ev.wait_and_clear  # type: ignore[no-any-return]

        def wait_then_clear() -> None:
            ev.wait()
            ev.clear()

        return wait_then_clear

    take_ping, take_pong = take(ping), take(pong)

    def main_step() -> None:
        ping.set()
        take_pong()

    def other_step() -> None:
        take_ping()
        pong.set()

    return _round_trips(main_step, other_step, ops)


def _consume_ping_pong(factory: Any, ops: int) -> float:
    return _event_ping_pong(factory, ops, consume=True)


def _condition_ping_pong(factory: Any, ops: int) -> float:
    cond = factory()
    state = [0]  # whose turn: 0 main, 1 other

    def other() -> None:
        with cond:
            for _ in range(ops):
                while state[0] != 1:
                    cond.wait()
                state[0] = 0
                cond.notify()

    t = threading.Thread(target=other)
    t.start()
    t0 = time.perf_counter()
    with cond:
        for _ in range(ops):
            state[0] = 1
            cond.notify()
            while state[0] != 0:
                cond.wait()
    elapsed = time.perf_counter() - t0
    t.join()
    return elapsed / ops


def _barrier_two_threads(factory: Any, ops: int) -> float:
    barrier = factory(2)
    return _round_trips(barrier.wait, barrier.wait, ops)


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
        _uncontended_lock,
        200_000,
        1.00,
    ),
    (
        "Semaphore acquire+release, uncontended",
        "threading.Semaphore",
        threading.Semaphore,
        threadkit.Semaphore,
        _uncontended_semaphore,
        100_000,
        2.5,
    ),
    (
        "Semaphore(2), 4 threads contending",
        "threading.Semaphore",
        threading.Semaphore,
        threadkit.Semaphore,
        _contended_semaphore,
        40_000,
        1.0,
    ),
    (
        "BoundedSemaphore acquire+release",
        "threading.BoundedSemaphore",
        threading.BoundedSemaphore,
        threadkit.BoundedSemaphore,
        _uncontended_semaphore,
        100_000,
        None,
    ),
    (
        "Event ping-pong, 2 threads (per round trip)",
        "threading.Event",
        threading.Event,
        threadkit.Event,
        _event_ping_pong,
        4_000,
        1.3,
    ),
    (
        "Event consume ping-pong: wait_and_clear vs wait+clear",
        "threading.Event",
        threading.Event,
        threadkit.Event,
        _consume_ping_pong,
        4_000,
        None,
    ),
    (
        "Condition ping-pong, 2 threads",
        "threading.Condition",
        threading.Condition,
        threadkit.Condition,
        _condition_ping_pong,
        4_000,
        None,
    ),
    (
        "Barrier(2), 2 threads (per crossing)",
        "threading.Barrier",
        threading.Barrier,
        threadkit.Barrier,
        _barrier_two_threads,
        4_000,
        None,
    ),
    (
        "Mutex vs Lock: with, uncontended",
        "threading.Lock",
        threading.Lock,
        threadkit.Mutex,
        _uncontended_lock,
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
