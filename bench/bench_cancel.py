"""Cancellation latency: from ``cancel()`` to the cancelled thread running again.

A thread blocks in a threadkit call inside a cancel scope; the main thread waits until it is
parked (through the primitive's ``statistics()``), records the time and cancels the scope;
the blocked thread records the time as soon as ``Cancelled`` reaches it. The latency is the
difference, a median over ``--rounds`` rounds.

The baselines are what the standard library offers instead, measured the same way:
* a sentinel put on the ``queue.Queue`` the worker waits on (the notebook's way: wake the
  worker with a special item), from ``put()`` to the worker running;
* a ``should_run`` flag that the worker polls between ``get(timeout=0.1)`` calls (the
  notebook's other way), from clearing the flag to the worker noticing.

Usage: ``python bench/bench_cancel.py [--rounds N] [--json]`` (standard library and
threadkit only).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import queue
import statistics
import sys
import threading
import time
from collections.abc import Callable

import threadkit
import threadkit.queue

Setup = Callable[[], tuple[Callable[[], object], Callable[[], bool]]]


def _parked(n: int, read: Callable[[], int]) -> Callable[[], bool]:
    return lambda: read() >= n


def _event() -> tuple[Callable[[], object], Callable[[], bool]]:
    ev = threadkit.Event()
    return ev.wait, _parked(1, lambda: ev.statistics().threads_waiting)


def _queue_get() -> tuple[Callable[[], object], Callable[[], bool]]:
    q: threadkit.queue.Queue[int] = threadkit.queue.Queue()
    return q.get, _parked(1, lambda: q.statistics().threads_waiting_get)


def _recv() -> tuple[Callable[[], object], Callable[[], bool]]:
    tx, rx = threadkit.open_channel(math.inf)
    _keep.append((tx, rx))
    return rx.recv, _parked(1, lambda: rx.statistics().threads_waiting_receive)


def _select() -> tuple[Callable[[], object], Callable[[], bool]]:
    tx, rx = threadkit.open_channel(math.inf)
    _keep.append((tx, rx))
    ev = threadkit.Event()
    return (
        lambda: threadkit.select(rx.recv_op(), ev.wait_op()),
        _parked(1, lambda: rx.statistics().threads_waiting_receive),
    )


def _sleep() -> tuple[Callable[[], object], Callable[[], bool]]:
    flag = threading.Event()

    def block() -> None:
        flag.set()
        threadkit.sleep(60)

    return block, flag.is_set  # sleep parks at once after the flag (a small head start)


_keep: list[tuple[threadkit.Sender[int], threadkit.Receiver[int]]] = []

CASES: dict[str, Setup] = {
    "Event.wait": _event,
    "threadkit.queue.Queue.get": _queue_get,
    "channel recv": _recv,
    "select(recv, wait)": _select,
    "threadkit.sleep": _sleep,
}


def _wait_for(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("the thread never blocked")
        time.sleep(0.0002)


def scope_latency(setup: Setup) -> float:
    block, parked = setup()
    scopes: list[threadkit.CancelScope] = []
    woke: list[float] = []
    ready = threading.Event()

    def run() -> None:
        try:
            with threadkit.CancelScope() as scope:
                scopes.append(scope)
                ready.set()
                block()
        finally:
            woke.append(time.perf_counter())

    t = threading.Thread(target=run)
    t.start()
    ready.wait()
    _wait_for(parked)
    start = time.perf_counter()
    scopes[0].cancel()
    t.join(10)
    return woke[0] - start


def thread_cancel_latency() -> float:
    q: threadkit.queue.Queue[int] = threadkit.queue.Queue()
    woke: list[float] = []

    def run() -> None:
        try:
            q.get()
        finally:
            woke.append(time.perf_counter())

    t = threadkit.Thread(target=run)
    t.start()
    _wait_for(lambda: q.statistics().threads_waiting_get == 1)
    start = time.perf_counter()
    t.cancel()
    t.join(10)
    return woke[0] - start


def sentinel_latency() -> float:
    q: queue.Queue[object] = queue.Queue()
    stop = object()
    woke: list[float] = []

    def run() -> None:
        while q.get() is not stop:
            pass
        woke.append(time.perf_counter())

    t = threading.Thread(target=run)
    t.start()
    _wait_for(lambda: len(q.not_empty._waiters) == 1)  # type: ignore[attr-defined]
    start = time.perf_counter()
    q.put(stop)
    t.join(10)
    return woke[0] - start


def polled_flag_latency() -> float:
    q: queue.Queue[object] = queue.Queue()
    state = {"should_run": True}
    woke: list[float] = []
    polling = threading.Event()

    def run() -> None:
        while state["should_run"]:
            polling.set()
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.1)
        woke.append(time.perf_counter())

    t = threading.Thread(target=run)
    t.start()
    polling.wait()
    time.sleep(0.037)  # the flag is cleared at an arbitrary point of a poll: that is the point
    start = time.perf_counter()
    state["should_run"] = False
    t.join(10)
    return woke[0] - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    rows: list[tuple[str, float]] = []
    for name, setup in CASES.items():
        rows.append(
            (
                f"CancelScope.cancel(): {name}",
                statistics.median(scope_latency(setup) for _ in range(args.rounds)),
            )
        )
    rows.append(
        (
            "Thread.cancel(): thread in Queue.get",
            statistics.median(thread_cancel_latency() for _ in range(args.rounds)),
        )
    )
    sentinel = statistics.median(sentinel_latency() for _ in range(args.rounds))
    polled = statistics.median(polled_flag_latency() for _ in range(max(args.rounds // 3, 3)))
    rows.append(("stdlib: sentinel put on queue.Queue (baseline)", sentinel))
    rows.append(("stdlib: should_run flag, get(timeout=0.1) poll", polled))
    for tx, rx in _keep:
        tx.close()
        rx.close()

    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    if args.json:
        print(
            json.dumps(
                {
                    "python": sys.version.split()[0],
                    "gil_enabled": gil,
                    "rounds": args.rounds,
                    "rows": [
                        {"name": n, "median_us": v * 1e6, "vs_sentinel": sentinel / v}
                        for n, v in rows
                    ],
                },
                indent=1,
            )
        )
        return
    print(
        f"threadkit {threadkit.__version__}, CPython {sys.version.split()[0]} "
        f"(GIL {'on' if gil else 'off'}), {args.rounds} rounds; median latency from the "
        "cancel (or put, or flag) to the blocked thread running"
    )
    print(f"{'':58s} {'median us':>10s} {'vs sentinel':>12s}")
    for name, value in rows:
        print(f"{name:58s} {value * 1e6:10.1f} {sentinel / value:11.2f}x")


if __name__ == "__main__":
    main()
