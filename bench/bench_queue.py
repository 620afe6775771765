"""Benchmarks: queue and channel throughput against ``queue.Queue``, in one run.

Standard library only; the optional peers in ``bench/requirements.txt`` (aiologic, janus) get
rows when they are importable. Each row is the median, over ``--rounds``, of items per second
moved from the producer threads to the consumer threads, and its ratio against ``queue.Queue``
measured in the same run for the same scenario (above 1.00: faster than ``queue.Queue``).

    python bench/bench_queue.py            # the table
    python bench/bench_queue.py --json     # the same figures as JSON
    python bench/bench_queue.py --rounds 9 --scale 2 --scenarios ad

Scenarios:

(a) unbounded SPSC: 1 producer thread puts N items, 1 consumer thread gets them.
(b) unbounded MPMC: 4 producers and 4 consumers move N items in all; the count and the sum of
    what the consumers received are checked after each round, outside the timing.
(c) bounded(64) SPSC: as (a) with ``maxsize``/capacity 64.
(d) select: one producer sends N items alternately on two unbounded channels and the consumer
    calls ``threadkit.select(rx1.recv_op(), rx2.recv_op())`` N times; compared with a consumer
    calling ``rx.recv()`` N times on one channel (target: select >= 1/1.5 of plain recv).

Queues end their consumers with sentinels (one per consumer, put by the last producer to
finish); channels end them by closing (``for item in rx:``). All threads wait on one barrier,
and a round is timed from its release to the last consumer finishing. Every row whose
implementation is not importable (a threadkit API not written yet, a peer not installed) is
printed as "n/a (not importable: ...)" instead of failing the run.

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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

Producer = Callable[[], None]
Consumer = Callable[[], tuple[int, int]]  # -> (count, sum) of the items it received


@dataclass
class Setup:
    """One round's worth of endpoints, built outside the timing."""

    producers: list[Producer]
    consumers: list[Consumer]
    cleanup: Callable[[], None] = lambda: None


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str  # short, for the table
    title: str  # long, for the header
    producers: int
    consumers: int
    capacity: int | None  # None: unbounded
    n: int  # items per round at --scale 1


Builder = Callable[[Scenario, int], Setup]  # (scenario, items) -> endpoints


@dataclass(frozen=True)
class Impl:
    name: str
    load: Callable[[], Builder]  # raises ImportError / AttributeError when not importable
    baseline: bool = False  # the row the others are divided by
    plain_recv: bool = False  # (d): the row the select row is divided by
    vs_plain_recv: bool = False  # (d): the select row
    target: float | None = None  # against plain recv


_SENTINEL = object()
SELECT_TARGET = 1 / 1.5


# --- endpoints -------------------------------------------------------------------------------


def _slices(n: int, parts: int) -> list[range]:
    step = n // parts
    return [range(i * step, n if i == parts - 1 else (i + 1) * step) for i in range(parts)]


def _queue_setup(
    put: Callable[[Any], object], get: Callable[[], Any], sc: Scenario, n: int
) -> Setup:
    """Producers put their slices; the last one to finish puts one sentinel per consumer."""
    lock = threading.Lock()
    left = [sc.producers]

    def producer(items: range) -> Producer:
        def run() -> None:
            try:
                for x in items:
                    put(x)
            finally:
                with lock:
                    left[0] -= 1
                    last = left[0] == 0
                if last:
                    for _ in range(sc.consumers):
                        put(_SENTINEL)

        return run

    def consumer() -> tuple[int, int]:
        count = total = 0
        for item in iter(get, _SENTINEL):
            count += 1
            total += item
        return count, total

    return Setup(
        [producer(s) for s in _slices(n, sc.producers)], [consumer for _ in range(sc.consumers)]
    )


QueueFactory = Callable[[int | None], tuple[Callable[[Any], object], Callable[[], Any]]]


def _queue_builder(factory: QueueFactory) -> Builder:
    def build(sc: Scenario, n: int) -> Setup:
        put, get = factory(sc.capacity)
        return _queue_setup(put, get, sc, n)

    return build


def _load_stdlib_queue() -> Builder:
    import queue

    def factory(capacity: int | None) -> tuple[Callable[[Any], object], Callable[[], Any]]:
        q: queue.Queue[Any] = queue.Queue(capacity or 0)
        return q.put, q.get

    return _queue_builder(factory)


def _load_stdlib_simple_queue() -> Builder:
    import queue

    def factory(capacity: int | None) -> tuple[Callable[[Any], object], Callable[[], Any]]:
        assert capacity is None
        q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        return q.put, q.get

    return _queue_builder(factory)


def _load_threadkit_queue(cls: str) -> Callable[[], Builder]:
    def load() -> Builder:
        klass: Any = getattr(importlib.import_module("threadkit.queue"), cls)

        def factory(capacity: int | None) -> tuple[Callable[[Any], object], Callable[[], Any]]:
            q = klass() if capacity is None else klass(capacity)
            return q.put, q.get

        return _queue_builder(factory)

    return load


def _load_aiologic(cls: str) -> Callable[[], Builder]:
    def load() -> Builder:
        klass: Any = getattr(importlib.import_module("aiologic"), cls)

        def factory(capacity: int | None) -> tuple[Callable[[Any], object], Callable[[], Any]]:
            # aiologic's thread-side (and greenlet-side) API is green_put / green_get.
            q = klass() if capacity is None else klass(maxsize=capacity)
            return q.green_put, q.green_get

        return _queue_builder(factory)

    return load


def _load_janus() -> Builder:
    janus: Any = importlib.import_module("janus")

    def make(capacity: int | None) -> Any:
        # janus.Queue is created inside a running event loop (its documented requirement),
        # here in a helper thread; the threads then use only its .sync_q.
        box: list[Any] = []

        async def create() -> None:
            box.append(janus.Queue(capacity or 0))

        t = threading.Thread(target=asyncio.run, args=(create(),))
        t.start()
        t.join()
        return box[0]

    def build(sc: Scenario, n: int) -> Setup:
        jq = make(sc.capacity)
        setup = _queue_setup(jq.sync_q.put, jq.sync_q.get, sc, n)
        setup.cleanup = jq.close
        return setup

    return build


def _threadkit_attr(name: str) -> Any:
    threadkit = importlib.import_module("threadkit")
    return getattr(threadkit, name)  # AttributeError until it lands


def _load_channel() -> Builder:
    open_channel = _threadkit_attr("open_channel")

    def build(sc: Scenario, n: int) -> Setup:
        tx, rx = open_channel(math.inf if sc.capacity is None else sc.capacity)
        # One endpoint per thread: the originals for one thread, clones (and the originals
        # closed) for several; the channel ends when every sender clone is closed.
        txs = [tx] if sc.producers == 1 else [tx.clone() for _ in range(sc.producers)]
        rxs = [rx] if sc.consumers == 1 else [rx.clone() for _ in range(sc.consumers)]
        if sc.producers > 1:
            tx.close()
        if sc.consumers > 1:
            rx.close()

        def producer(tx: Any, items: range) -> Producer:
            def run() -> None:
                send = tx.send
                try:
                    for x in items:
                        send(x)
                finally:
                    tx.close()

            return run

        def consumer(rx: Any) -> Consumer:
            def run() -> tuple[int, int]:
                count = total = 0
                try:
                    for item in rx:
                        count += 1
                        total += item
                finally:
                    rx.close()
                return count, total

            return run

        return Setup(
            [producer(t, s) for t, s in zip(txs, _slices(n, sc.producers), strict=True)],
            [consumer(r) for r in rxs],
        )

    return build


# (d): N items, no sentinel and no close inside the timing: the consumer takes exactly N.


def _load_stdlib_queue_get_n() -> Builder:
    import queue

    def build(sc: Scenario, n: int) -> Setup:
        q: queue.Queue[int] = queue.Queue()

        def producer() -> None:
            put = q.put
            for x in range(n):
                put(x)

        def consumer() -> tuple[int, int]:
            get = q.get
            total = 0
            for _ in range(n):
                total += get()
            return n, total

        return Setup([producer], [consumer])

    return build


def _load_channel_recv_n() -> Builder:
    open_channel = _threadkit_attr("open_channel")

    def build(sc: Scenario, n: int) -> Setup:
        tx, rx = open_channel(math.inf)

        def producer() -> None:
            send = tx.send
            for x in range(n):
                send(x)

        def consumer() -> tuple[int, int]:
            recv = rx.recv
            total = 0
            for _ in range(n):
                total += recv()
            return n, total

        def cleanup() -> None:
            tx.close()
            rx.close()

        return Setup([producer], [consumer], cleanup)

    return build


def _load_channel_select_n() -> Builder:
    open_channel = _threadkit_attr("open_channel")
    select = _threadkit_attr("select")

    def build(sc: Scenario, n: int) -> Setup:
        tx1, rx1 = open_channel(math.inf)
        tx2, rx2 = open_channel(math.inf)

        def producer() -> None:
            send1, send2 = tx1.send, tx2.send
            for x in range(0, n - 1, 2):
                send1(x)
                send2(x + 1)
            if n % 2:
                send1(n - 1)

        def consumer() -> tuple[int, int]:
            total = 0
            for _ in range(n):
                _, value = select(rx1.recv_op(), rx2.recv_op())
                total += value
            return n, total

        def cleanup() -> None:
            # Closed only after the round: a closed, drained channel could win a select.
            for end in (tx1, tx2, rx1, rx2):
                end.close()

        return Setup([producer], [consumer], cleanup)

    return build


# --- the rows --------------------------------------------------------------------------------

SCENARIOS: list[Scenario] = [
    Scenario("a", "(a) unbounded SPSC", "unbounded, 1 producer x 1 consumer", 1, 1, None, 40_000),
    Scenario("b", "(b) unbounded MPMC", "unbounded, 4 producers x 4 consumers", 4, 4, None, 40_000),
    Scenario("c", "(c) bounded(64) SPSC", "capacity 64, 1 producer x 1 consumer", 1, 1, 64, 40_000),
    Scenario(
        "d",
        "(d) select vs recv",
        "1 producer x 1 consumer: select over 2 unbounded channels vs recv on 1",
        1,
        1,
        None,
        40_000,
    ),
]

_UNBOUNDED_ONLY = {"queue.SimpleQueue", "threadkit.queue.SimpleQueue", "aiologic.SimpleQueue"}

_FLOW_IMPLS: list[Impl] = [
    Impl("queue.Queue", _load_stdlib_queue, baseline=True),
    Impl("queue.SimpleQueue", _load_stdlib_simple_queue),
    Impl("threadkit.queue.Queue", _load_threadkit_queue("Queue")),
    Impl("threadkit.queue.SimpleQueue", _load_threadkit_queue("SimpleQueue")),
    Impl("threadkit channel", _load_channel),
    Impl("aiologic.SimpleQueue", _load_aiologic("SimpleQueue")),
    Impl("aiologic.Queue", _load_aiologic("Queue")),
    Impl("janus.Queue (sync_q)", _load_janus),
]

_SELECT_IMPLS: list[Impl] = [
    Impl("queue.Queue get() x N", _load_stdlib_queue_get_n, baseline=True),
    Impl("threadkit channel recv() x N", _load_channel_recv_n, plain_recv=True),
    Impl(
        "threadkit select(2 channels) x N",
        _load_channel_select_n,
        vs_plain_recv=True,
        target=SELECT_TARGET,
    ),
]


def impls_for(sc: Scenario) -> list[Impl]:
    if sc.key == "d":
        return _SELECT_IMPLS
    if sc.capacity is None:
        return _FLOW_IMPLS
    return [i for i in _FLOW_IMPLS if i.name not in _UNBOUNDED_ONLY]


# --- timing ----------------------------------------------------------------------------------


class RoundError(Exception):
    pass


def time_round(setup: Setup, n: int, timeout: float) -> float:
    """Run one round; return items per second from the barrier's release to the last consumer."""
    parties = len(setup.producers) + len(setup.consumers) + 1
    barrier = threading.Barrier(parties)
    ends: list[float] = []
    results: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def run_producer(fn: Producer) -> None:
        barrier.wait()
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    def run_consumer(fn: Consumer) -> None:
        barrier.wait()
        try:
            result = fn()
        except BaseException as exc:
            errors.append(exc)
            return
        ends.append(time.perf_counter())
        results.append(result)

    threads = [
        threading.Thread(target=run_consumer, args=(c,), daemon=True) for c in setup.consumers
    ]
    threads += [
        threading.Thread(target=run_producer, args=(p,), daemon=True) for p in setup.producers
    ]
    for t in threads:
        t.start()
    while barrier.n_waiting < parties - 1:  # everyone parked: this thread releases them
        time.sleep(0.0005)
    t0 = time.perf_counter()
    barrier.wait()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(deadline - time.monotonic(), 0.0))
    if any(t.is_alive() for t in threads):
        raise RoundError(f"threads still running after {timeout:g} s (left running, daemonic)")
    setup.cleanup()
    if errors:
        raise RoundError(f"{type(errors[0]).__name__}: {errors[0]}") from errors[0]
    count = sum(c for c, _ in results)
    total = sum(s for _, s in results)
    if count != n or total != n * (n - 1) // 2:
        raise RoundError(f"lost or duplicated items: {count} of {n}, sum {total}")
    return n / (max(ends) - t0)


@dataclass
class Row:
    scenario: str
    implementation: str
    items: int
    status: str  # "ok", "n/a (not importable: ...)", "error: ..."
    items_per_s: float | None = None
    ratio_vs_queue: float | None = None
    ratio_vs_plain_recv: float | None = None
    target_vs_plain_recv: float | None = None
    rounds_per_s: list[float] | None = None


def run_scenario(sc: Scenario, rounds: int, scale: float, timeout: float) -> list[Row]:
    n = max(int(sc.n * scale), sc.producers * sc.consumers * 2)
    impls = impls_for(sc)
    builders: dict[str, Builder] = {}
    rows: dict[str, Row] = {}
    for impl in impls:
        row = Row(sc.label, impl.name, n, "ok", target_vs_plain_recv=impl.target)
        rows[impl.name] = row
        try:
            builders[impl.name] = impl.load()
        except (ImportError, AttributeError) as exc:
            row.status = f"n/a (not importable: {exc})"
    samples: dict[str, list[float]] = {name: [] for name in builders}

    def attempt(name: str, items: int) -> float | None:
        if rows[name].status != "ok":
            return None
        try:
            return time_round(builders[name](sc, items), items, timeout)
        except Exception as exc:
            rows[name].status = f"error: {exc}"
            return None

    for name in builders:  # warm up every implementation once
        attempt(name, max(n // 10, sc.producers * sc.consumers * 2))
    names = list(builders)
    for r in range(rounds if names else 0):  # rotate the order: drift and noise hit all alike
        for name in names[r % len(names) :] + names[: r % len(names)]:
            rate = attempt(name, n)
            if rate is not None:
                samples[name].append(rate)

    for name, rates in samples.items():
        if rows[name].status == "ok" and rates:
            rows[name].items_per_s = statistics.median(rates)
            rows[name].rounds_per_s = rates

    def median_of(flag: str) -> float | None:
        for impl in impls:
            if getattr(impl, flag):
                return rows[impl.name].items_per_s
        return None

    base, plain = median_of("baseline"), median_of("plain_recv")
    for impl in impls:
        row = rows[impl.name]
        if row.items_per_s is None:
            continue
        if base:
            row.ratio_vs_queue = row.items_per_s / base
        if impl.vs_plain_recv and plain:
            row.ratio_vs_plain_recv = row.items_per_s / plain
    return [rows[i.name] for i in impls]


# --- output ----------------------------------------------------------------------------------


def gil_enabled() -> bool:
    check: Callable[[], bool] | None = getattr(sys, "_is_gil_enabled", None)
    return True if check is None else check()


def _python() -> str:
    return f"{platform.python_implementation()} {platform.python_version()}"


def _versions() -> dict[str, str]:
    out = {}
    for mod in ("threadkit", "aiologic", "janus"):
        try:
            m: Any = importlib.import_module(mod)
        except ImportError:
            continue
        out[mod] = str(getattr(m, "__version__", "?"))
    return out


def print_table(rows: Sequence[Row], scenarios: Sequence[Scenario], args: Any) -> None:
    gil = gil_enabled()
    versions = ", ".join(f"{k} {v}" for k, v in _versions().items())
    print(
        f"{_python()}, GIL {'enabled' if gil else 'disabled'}"
        f"{'' if hasattr(sys, '_is_gil_enabled') else ' (no free-threaded build)'}; {versions}"
    )
    print(
        f"{args.rounds} rounds, scale {args.scale:g}; median items/s; "
        "ratio = items/s / queue.Queue's items/s in the same run (above 1.00: faster)"
    )
    for sc in scenarios:
        n = next((r.items for r in rows if r.scenario == sc.label), sc.n)
        print(f"  {sc.label}: {sc.title}, N={n:,}")
    header = (
        f"{'scenario':<22} {'implementation':<34} {'items/s':>12} "
        f"{'vs Queue':>9} {'vs recv':>8} {'target':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        if r.items_per_s is None:
            print(f"{r.scenario:<22} {r.implementation:<34} {r.status}")
            continue
        vq = "" if r.ratio_vs_queue is None else f"{r.ratio_vs_queue:.2f}x"
        vr = "" if r.ratio_vs_plain_recv is None else f"{r.ratio_vs_plain_recv:.2f}x"
        tg = "" if r.target_vs_plain_recv is None else f">={r.target_vs_plain_recv:.2f}"
        print(
            f"{r.scenario:<22} {r.implementation:<34} {r.items_per_s:>12,.0f} "
            f"{vq:>9} {vr:>8} {tg:>7}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per row (median)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the item counts")
    parser.add_argument(
        "--scenarios", default="abcd", help="which scenarios to run, e.g. 'ad' (default: abcd)"
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds one round may take before it fails"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    unknown = set(args.scenarios) - {sc.key for sc in SCENARIOS}
    if unknown:
        parser.error(f"unknown scenarios: {''.join(sorted(unknown))}")
    scenarios = [sc for sc in SCENARIOS if sc.key in args.scenarios]
    rows: list[Row] = []
    for sc in scenarios:
        rows += run_scenario(sc, args.rounds, args.scale, args.timeout)
    if args.json:
        print(
            json.dumps(
                {
                    "python": _python(),
                    "gil_enabled": gil_enabled(),
                    "versions": _versions(),
                    "rounds": args.rounds,
                    "scale": args.scale,
                    "scenarios": [asdict(sc) for sc in scenarios],
                    "rows": [asdict(r) for r in rows],
                },
                indent=2,
            )
        )
        return 0
    print_table(rows, scenarios, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
