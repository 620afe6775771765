"""``threadkit bench``: threadkit against the standard library, row by row, in one run.

Each case times the standard library's way and threadkit's way of doing the same work, in
alternating rounds (so drift and noise hit both alike), and reports the median time per
operation of each and the ratio ``stdlib / threadkit`` (above 1.00x threadkit is faster).
Standard library only, so it runs from any install; the deeper benchmarks (peers such as
pebble, janus or readerwriterlock, memory, free-threaded scaling) are the scripts in the
repository's ``bench/`` folder. Speed is never asserted in the tests.
"""

from __future__ import annotations

import concurrent.futures as _cf
import math
import platform
import queue as _queue
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._core import _primitives as _p

__all__ = ["GROUPS", "Case", "Result", "cases", "python_description", "run"]

_threading = _p.threading_module
_perf_counter = _p.time_module.perf_counter

#: One side of a case: ``(operations) -> seconds per operation``.
Timing = Callable[[int], float]

#: The groups of cases, in the order they run.
GROUPS = ("primitives", "queues", "pool", "timers")


@dataclass(frozen=True)
class Case:
    """One row: the same work done the standard library's way and threadkit's way."""

    name: str
    group: str
    baseline: str  # the standard library's side, as a reader knows it
    stdlib: Timing
    threadkit: Timing
    ops: int  # operations per round at scale 1


@dataclass(frozen=True)
class Result:
    """A case's medians (microseconds per operation) and their ratio."""

    name: str
    group: str
    baseline: str
    stdlib_us: float
    threadkit_us: float
    ratio: float  # stdlib / threadkit: above 1.0, threadkit is faster


# -- timings of the primitives (also used by bench/bench_sync.py) ------------------------------


def uncontended_lock(factory: Any, ops: int) -> float:
    """``with lock: pass``, in one thread."""
    lock = factory()
    t0 = _perf_counter()
    for _ in range(ops):
        with lock:
            pass
    return (_perf_counter() - t0) / ops


def uncontended_semaphore(factory: Any, ops: int) -> float:
    """``acquire(); release()`` of a ``factory(1)`` semaphore, in one thread."""
    sem = factory(1)
    acquire, release = sem.acquire, sem.release
    t0 = _perf_counter()
    for _ in range(ops):
        acquire()
        release()
    return (_perf_counter() - t0) / ops


def contended_semaphore(factory: Any, ops: int, threads: int = 4) -> float:
    """``threads`` threads taking and giving back a ``factory(2)`` semaphore."""
    sem = factory(2)
    per_thread = max(ops // threads, 1)
    go = _threading.Event()

    def worker() -> None:
        go.wait()
        acquire, release = sem.acquire, sem.release
        for _ in range(per_thread):
            acquire()
            release()

    workers = [_p.StdThread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    t0 = _perf_counter()
    go.set()
    for w in workers:
        w.join()
    return (_perf_counter() - t0) / (per_thread * threads)


def round_trips(
    main_step: Callable[[], object], other_step: Callable[[], object], ops: int
) -> float:
    """Run ``other_step`` ``ops`` times in a second thread while timing ``main_step`` here."""

    def other() -> None:
        for _ in range(ops):
            other_step()

    t = _p.StdThread(target=other)
    t.start()
    t0 = _perf_counter()
    for _ in range(ops):
        main_step()
    elapsed = _perf_counter() - t0
    t.join()
    return elapsed / ops


def event_ping_pong(factory: Any, ops: int, *, consume: bool = False) -> float:
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

    return round_trips(main_step, other_step, ops)


def consume_ping_pong(factory: Any, ops: int) -> float:
    """``event_ping_pong`` with the consuming wait."""
    return event_ping_pong(factory, ops, consume=True)


def condition_ping_pong(factory: Any, ops: int) -> float:
    """Two threads taking turns under one condition variable."""
    cond = factory()
    state = [0]  # whose turn: 0 main, 1 other

    def other() -> None:
        with cond:
            for _ in range(ops):
                while state[0] != 1:
                    cond.wait()
                state[0] = 0
                cond.notify()

    t = _p.StdThread(target=other)
    t.start()
    t0 = _perf_counter()
    with cond:
        for _ in range(ops):
            state[0] = 1
            cond.notify()
            while state[0] != 0:
                cond.wait()
    elapsed = _perf_counter() - t0
    t.join()
    return elapsed / ops


def barrier_two_threads(factory: Any, ops: int) -> float:
    """Two threads crossing a ``factory(2)`` barrier together."""
    barrier = factory(2)
    return round_trips(barrier.wait, barrier.wait, ops)


# -- queues, the pool, timers ------------------------------------------------------------------


def _one_to_one(put: Callable[[Any], object], get: Callable[[], object], ops: int) -> float:
    """One producer thread puts ``ops`` items; this thread gets them (time per item)."""

    def produce() -> None:
        for i in range(ops):
            put(i)

    t = _p.StdThread(target=produce)
    t0 = _perf_counter()
    t.start()
    for _ in range(ops):
        get()
    elapsed = _perf_counter() - t0
    t.join()
    return elapsed / ops


def _queue_spsc(factory: Callable[[], Any]) -> Timing:
    def timing(ops: int) -> float:
        q = factory()
        return _one_to_one(q.put, q.get, ops)

    return timing


def _channel_spsc(capacity: float) -> Timing:
    def timing(ops: int) -> float:
        from ._channel import open_channel

        tx, rx = open_channel(capacity)
        with tx, rx:
            return _one_to_one(tx.send, rx.recv, ops)

    return timing


def _pool_timing(factory: Callable[[], Any], work: Callable[[Any, int], object]) -> Timing:
    """Time ``work(pool, ops)`` on a pool made (and warmed up) outside the timed part."""

    def timing(ops: int) -> float:
        with factory() as pool:
            pool.submit(_noop).result()  # its first worker started
            t0 = _perf_counter()
            work(pool, ops)
            elapsed = _perf_counter() - t0
        return elapsed / ops

    return timing


def _noop(*_: object) -> None:
    return None


def _submit_then_result(pool: Any, ops: int) -> None:
    for f in [pool.submit(_noop) for _ in range(ops)]:
        f.result()


def _map_all(pool: Any, ops: int) -> None:
    list(pool.map(_noop, range(ops)))


def _round_trip(pool: Any, ops: int) -> None:
    for _ in range(ops):
        pool.submit(_noop).result()


def _timers_start_cancel(factory: Callable[..., Any]) -> Timing:
    """Start ``ops`` timers an hour away, then cancel them all (time per timer)."""

    def timing(ops: int) -> float:
        t0 = _perf_counter()
        timers = [factory(3600.0, _noop) for _ in range(ops)]
        for t in timers:
            t.start()
        for t in timers:
            t.cancel()
        elapsed = _perf_counter() - t0
        for t in timers:  # (a threading.Timer's thread ends once it sees the cancel)
            t.join()
        return elapsed / ops

    return timing


def _threadkit_timers(ops: int) -> float:
    """``_timers_start_cancel`` for threadkit's ``Timer``, on a scheduler of its own (its
    thread started before the timed part, stopped after it)."""
    from ._scheduler import Scheduler
    from ._timers import Timer

    scheduler = Scheduler()
    scheduler.call_later(3600.0, _noop).cancel()  # its thread started
    try:
        timing = _timers_start_cancel(lambda interval, fn: Timer(interval, fn, scheduler=scheduler))
        return timing(ops)
    finally:
        scheduler.shutdown()


def _bind(timing: Callable[[Any, int], float], factory: Any) -> Timing:
    return lambda ops: timing(factory, ops)


def cases() -> list[Case]:
    """Every case, in the order they run (groups in ``GROUPS`` order)."""
    import threadkit
    from threadkit import futures, queue

    t = _threading
    four = 4

    def std_pool() -> _cf.ThreadPoolExecutor:
        return _cf.ThreadPoolExecutor(four)

    def tk_pool() -> futures.ThreadPoolExecutor:
        return futures.ThreadPoolExecutor(four)

    def same(name: str, baseline: str, timing: Any, classes: tuple[Any, Any], ops: int) -> Case:
        std, tk = classes
        return Case(name, "primitives", baseline, _bind(timing, std), _bind(timing, tk), ops)

    def pool(name: str, work: Callable[[Any, int], object], ops: int) -> Case:
        return Case(
            name,
            "pool",
            "concurrent.futures.ThreadPoolExecutor(4)",
            _pool_timing(std_pool, work),
            _pool_timing(tk_pool, work),
            ops,
        )

    return [
        same("with Lock()", "threading.Lock", uncontended_lock,
             (t.Lock, threadkit.Lock), 200_000),
        same("Semaphore acquire + release", "threading.Semaphore",
             uncontended_semaphore, (t.Semaphore, threadkit.Semaphore), 100_000),
        same("Semaphore(2), 4 threads contending", "threading.Semaphore",
             contended_semaphore, (t.Semaphore, threadkit.Semaphore), 40_000),
        same("BoundedSemaphore acquire + release", "threading.BoundedSemaphore",
             uncontended_semaphore, (t.BoundedSemaphore, threadkit.BoundedSemaphore), 100_000),
        same("Event ping-pong, 2 threads", "threading.Event",
             event_ping_pong, (t.Event, threadkit.Event), 4_000),
        same("Event consume: wait_and_clear() vs wait() + clear()",
             "threading.Event", consume_ping_pong, (t.Event, threadkit.Event), 4_000),
        same("Condition ping-pong, 2 threads", "threading.Condition",
             condition_ping_pong, (t.Condition, threadkit.Condition), 4_000),
        same("Barrier(2), 2 threads crossing", "threading.Barrier",
             barrier_two_threads, (t.Barrier, threadkit.Barrier), 4_000),
        Case("Queue, 1 producer -> 1 consumer", "queues", "queue.Queue",
             _queue_spsc(_queue.Queue), _queue_spsc(queue.Queue), 50_000),
        Case("SimpleQueue, 1 producer -> 1 consumer", "queues", "queue.SimpleQueue",
             _queue_spsc(_queue.SimpleQueue), _queue_spsc(queue.SimpleQueue), 50_000),
        Case("Queue(64), 1 producer -> 1 consumer", "queues", "queue.Queue(64)",
             _queue_spsc(lambda: _queue.Queue(64)), _queue_spsc(lambda: queue.Queue(64)), 50_000),
        Case("unbounded channel vs Queue, 1 -> 1", "queues", "queue.Queue",
             _queue_spsc(_queue.Queue), _channel_spsc(math.inf), 50_000),
        pool("submit() N no-op tasks, then result() of each", _submit_then_result, 20_000),
        pool("list(map(f, range(N))), default arguments", _map_all, 20_000),
        pool("submit(f).result(), one at a time", _round_trip, 2_000),
        Case("Timer: start() then cancel()", "timers", "threading.Timer",
             _timers_start_cancel(t.Timer), _threadkit_timers, 300),
    ]  # fmt: skip


def run(
    selected: Sequence[Case],
    *,
    rounds: int = 5,
    scale: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
) -> list[Result]:
    """Time each case: a warm-up of both sides, then ``rounds`` alternating rounds each.

    ``progress(done, total)`` is called after each round of each case.
    """
    total = len(selected) * rounds
    done = 0
    results = []
    for case in selected:
        n = max(round(case.ops * scale), 1)
        case.stdlib(max(n // 10, 1))
        case.threadkit(max(n // 10, 1))
        std, tk = [], []
        for _ in range(rounds):
            std.append(case.stdlib(n))
            tk.append(case.threadkit(n))
            done += 1
            if progress is not None:
                progress(done, total)
        s, t = statistics.median(std), statistics.median(tk)
        results.append(
            Result(case.name, case.group, case.baseline, s * 1e6, t * 1e6, s / t if t else 0.0)
        )
    return results


def python_description() -> str:
    """``CPython 3.13.5 (free-threaded build, the GIL off)`` and the like (the build as
    ``threadkit doctor`` names it; nothing added for a GIL build)."""
    from ._doctor import _build

    build = _build()
    where = "" if build == "GIL build" else f" ({build})"
    return f"{platform.python_implementation()} {platform.python_version()}{where}"
