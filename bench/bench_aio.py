"""Benchmarks: items between a thread and an event loop, threadkit.aio against janus and culsans.

Standard library only; the peers in ``bench/requirements.txt`` (janus, culsans, aiologic) get
rows when they are importable, else "n/a". Each row is the median, over ``--rounds``, of items
per second moved across, and its ratio against each peer measured in the same run for the same
scenario (target: threadkit >= 1.00x each).

    python bench/bench_aio.py            # the table
    python bench/bench_aio.py --json     # the same figures as JSON
    python bench/bench_aio.py --rounds 9 --scale 2 --scenarios a

Scenarios:

(a) thread -> loop, unbounded: a producer thread puts N items; a consumer coroutine, on an
    event loop running in another thread, awaits them one by one.
(b) loop -> thread, unbounded: the reverse (the coroutine puts, the thread gets).
(c) thread -> loop, bounded(64): as (a) with capacity/maxsize 64, so both sides wait.

Shapes: threadkit is a channel (``tx.send`` in the thread, ``await aio.recv(rx)`` in the loop;
``await aio.send(tx, x)`` and ``rx.recv()`` the other way); janus and culsans are
``q.sync_q.put``/``await q.async_q.get()`` (and the reverse); aiologic is
``green_put``/``await async_get()``. Each queue is made inside the running loop (janus needs
that). The thread and the loop wait on one barrier; a round is timed from its release to the
consumer's last item. Implementations run in rotating order, round after round, so drift and
noise hit all alike; the count and sum of what arrived are checked after each round.

Speed is never asserted in the tests: these figures are for reading, on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import math
import platform
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

SyncPut = Callable[[int], object]
SyncGet = Callable[[], int]
AsyncPut = Callable[[int], Awaitable[object]]
AsyncGet = Callable[[], Awaitable[int]]


@dataclass
class Ends:
    """One round's queue, made in the running loop: both sides' calls, and a close."""

    sync_put: SyncPut
    sync_get: SyncGet
    async_put: AsyncPut
    async_get: AsyncGet
    close: Callable[[], Awaitable[None]]


Maker = Callable[[int | None], Ends]  # (capacity) -> ends, called in the running loop


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    to_loop: bool  # thread -> loop (else loop -> thread)
    capacity: int | None
    n: int


@dataclass(frozen=True)
class Impl:
    name: str
    load: Callable[[], Maker]  # raises ImportError / AttributeError when not importable
    ours: bool = False


async def _nothing() -> None:
    pass


def _load_threadkit() -> Maker:
    threadkit = importlib.import_module("threadkit")
    aio = importlib.import_module("threadkit.aio")

    def make(capacity: int | None) -> Ends:
        tx, rx = threadkit.open_channel(math.inf if capacity is None else capacity)

        async def close() -> None:
            tx.close()
            rx.close()

        return Ends(tx.send, rx.recv, lambda x: aio.send(tx, x), lambda: aio.recv(rx), close)

    return make


def _load_janus_like(module: str) -> Callable[[], Maker]:
    def load() -> Maker:
        klass: Any = importlib.import_module(module).Queue

        def make(capacity: int | None) -> Ends:
            q = klass(capacity or 0)

            async def close() -> None:
                q.close()
                await q.wait_closed()

            return Ends(q.sync_q.put, q.sync_q.get, q.async_q.put, q.async_q.get, close)

        return make

    return load


def _load_aiologic() -> Maker:
    klass: Any = importlib.import_module("aiologic").Queue

    def make(capacity: int | None) -> Ends:
        q = klass() if capacity is None else klass(maxsize=capacity)
        return Ends(q.green_put, q.green_get, q.async_put, q.async_get, _nothing)

    return make


IMPLS: list[Impl] = [
    Impl("threadkit channel + aio", _load_threadkit, ours=True),
    Impl("janus.Queue", _load_janus_like("janus")),
    Impl("culsans.Queue", _load_janus_like("culsans")),
    Impl("aiologic.Queue", _load_aiologic),
]

SCENARIOS: list[Scenario] = [
    Scenario("a", "(a) thread -> loop, unbounded", True, None, 100_000),
    Scenario("b", "(b) loop -> thread, unbounded", False, None, 100_000),
    Scenario("c", "(c) thread -> loop, bounded(64)", True, 64, 100_000),
]


class RoundError(Exception):
    pass


def time_round(make: Maker, sc: Scenario, n: int, timeout: float) -> float:
    """Run one round; return items per second from the barrier's release to the last item."""
    barrier = threading.Barrier(3)
    made: list[Ends] = []
    ends: list[float] = []
    got: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def consumed(count: int, total: int) -> None:
        ends.append(time.perf_counter())
        got.append((count, total))

    async def loop_side() -> None:
        q = make(sc.capacity)
        made.append(q)
        barrier.wait()  # the loop has nothing else to do yet: blocking it here is fine
        try:
            if sc.to_loop:
                get = q.async_get
                total = 0
                for _ in range(n):
                    total += await get()
                consumed(n, total)
            else:
                put = q.async_put
                for x in range(n):
                    await put(x)
            while not sc.to_loop and not got and not errors:
                await asyncio.sleep(0.001)  # let the thread drain before the queue closes
        finally:
            await q.close()

    def thread_side() -> None:
        barrier.wait()
        q = made[0]
        if sc.to_loop:
            put = q.sync_put
            for x in range(n):
                put(x)
        else:
            get = q.sync_get
            total = 0
            for _ in range(n):
                total += get()
            consumed(n, total)

    def guarded(fn: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:
                errors.append(exc)
                barrier.abort()

        return run

    threads = [
        threading.Thread(target=guarded(lambda: asyncio.run(loop_side())), daemon=True),
        threading.Thread(target=guarded(thread_side), daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        while barrier.n_waiting < 2 and not errors:
            time.sleep(0.0005)
        t0 = time.perf_counter()
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(deadline - time.monotonic(), 0.0))
    if any(t.is_alive() for t in threads):
        raise RoundError(f"threads still running after {timeout:g} s (left running, daemonic)")
    if errors:
        raise RoundError(f"{type(errors[0]).__name__}: {errors[0]}") from errors[0]
    if got != [(n, n * (n - 1) // 2)]:
        raise RoundError(f"lost or duplicated items: {got}")
    return n / (ends[0] - t0)


@dataclass
class Row:
    scenario: str
    implementation: str
    items: int
    status: str  # "ok", "n/a (not importable: ...)", "error: ..."
    items_per_s: float | None = None
    ratios: dict[str, float] | None = None  # ours only: ours / peer, per peer
    rounds_per_s: list[float] | None = None


def run_scenario(sc: Scenario, rounds: int, scale: float, timeout: float) -> list[Row]:
    n = max(int(sc.n * scale), 10)
    makers: dict[str, Maker] = {}
    rows: dict[str, Row] = {}
    for impl in IMPLS:
        rows[impl.name] = Row(sc.label, impl.name, n, "ok")
        try:
            makers[impl.name] = impl.load()
        except (ImportError, AttributeError) as exc:
            rows[impl.name].status = f"n/a (not importable: {exc})"
    samples: dict[str, list[float]] = {name: [] for name in makers}

    def attempt(name: str, items: int) -> float | None:
        if rows[name].status != "ok":
            return None
        try:
            return time_round(makers[name], sc, items, timeout)
        except Exception as exc:
            rows[name].status = f"error: {exc}"
            return None

    for name in makers:  # warm up every implementation once
        attempt(name, max(n // 10, 10))
    names = list(makers)
    for r in range(rounds if names else 0):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            rate = attempt(name, n)
            if rate is not None:
                samples[name].append(rate)
    for name, rates in samples.items():
        if rows[name].status == "ok" and rates:
            rows[name].items_per_s = statistics.median(rates)
            rows[name].rounds_per_s = rates
    ours = next(rows[i.name] for i in IMPLS if i.ours)
    if ours.items_per_s is not None:
        ours.ratios = {
            row.implementation: ours.items_per_s / row.items_per_s
            for row in rows.values()
            if row is not ours and row.items_per_s
        }
    return [rows[i.name] for i in IMPLS]


def _fmt_rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate / 1000:,.0f}k"


def print_table(all_rows: list[Row], rounds: int) -> None:
    print(f"threadkit.aio vs peers: items/s, median of {rounds} rounds (higher is better)")
    print(f"python {platform.python_version()} ({sys.version.split()[0]}), {platform.machine()}")
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    print(f"GIL {'enabled' if gil else 'disabled (free-threaded)'}")
    print()
    width = max(len(r.implementation) for r in all_rows)
    scenario = None
    for row in all_rows:
        if row.scenario != scenario:
            scenario = row.scenario
            print(scenario)
        if row.status != "ok":
            print(f"  {row.implementation:<{width}}  {row.status}")
            continue
        line = f"  {row.implementation:<{width}}  {_fmt_rate(row.items_per_s):>10}"
        if row.ratios:
            line += "   " + ", ".join(f"{v:.2f}x vs {k}" for k, v in row.ratios.items())
        print(line)
    print()
    print("Ratios: threadkit's median / the peer's median in the same run (target >= 1.00x).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--scenarios", default="".join(s.key for s in SCENARIOS))
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    for sc in SCENARIOS:
        if sc.key in args.scenarios:
            rows.extend(run_scenario(sc, args.rounds, args.scale, args.timeout))
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        print_table(rows, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
