"""``ThreadPoolExecutor``: a drop-in for ``concurrent.futures.ThreadPoolExecutor``.

Design. The state the workers need lives in a ``_Core`` (the work deque, the wait queue of
idle workers and the flags), so a worker never holds its executor: when the executor is
collected, a weak-reference callback shuts the core down and the workers exit, as the
stdlib's do. ``submit`` appends a work item and wakes one parked worker under the core's
lock, or starts a worker if none is idle and fewer than ``max_workers`` run; a worker takes
items with a lock-free ``deque.popleft()`` and parks on threadkit's wait queue only when the
deque is empty (checked again under the lock, so no item waits for a sleeping worker).
``idle`` holds a token per worker that is not running a task (appended and popped without a
lock): a submit that takes one does not start a thread, which is how the stdlib reuses idle
threads.

Wake-ups (as in ``threadkit.queue``, after ``LinkedBlockingQueue``): a submit wakes a parked
worker only when it makes the deque non-empty, and a worker that takes an item and leaves
more behind wakes the next one, so a burst of submits does not wake every worker at once.

Interpreter exit is handled as the stdlib does: ``threading._register_atexit`` stops new
submissions, lets the workers finish the queued work and joins them.
"""

from __future__ import annotations

import itertools
import os
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import _base
from concurrent.futures.thread import BrokenThreadPool
from dataclasses import dataclass
from queue import Full
from typing import Any, Literal, TypeVar

from ._core import WaitQueue
from ._core import _primitives as _p
from ._futures import Future

__all__ = ["BrokenThreadPool", "PoolStatistics", "ThreadPoolExecutor"]

_T = TypeVar("_T")

OnFull = Literal["block", "raise", "caller_runs", "discard_oldest"]
_ON_FULL: tuple[str, ...] = ("block", "raise", "caller_runs", "discard_oldest")

# Set at interpreter exit (see _python_exit): no new work anywhere, workers drain and stop.
_global_shutdown = False
_global_lock = _p.allocate_lock()  # guards _global_shutdown and _cores
_cores: weakref.WeakSet[_Core] = weakref.WeakSet()


class _Core:
    """What the workers of one pool share; they never hold the executor itself."""

    __slots__ = (
        "__weakref__",
        "broken",
        "done_counts",
        "idle",
        "lock",
        "parked",
        "rejected",
        "room",
        "shutdown",
        "threads",
        "work",
    )

    def __init__(self) -> None:
        self.parked = WaitQueue("ThreadPoolExecutor workers")
        self.lock = self.parked.lock  # guards shutdown, broken, threads, and appends to work
        # Submitters waiting for room in a bounded queue (max_queue, on_full="block").
        self.room = WaitQueue("ThreadPoolExecutor submitters", self.lock)
        self.work: deque[_WorkItem | None] = deque()  # appended under lock, popped anywhere
        # One token per worker that is not running a task: appended by the worker when it
        # finishes one, popped by a submit that it will serve (both atomic deque operations,
        # no lock: the stdlib's idle Semaphore, without its lock).
        self.idle: deque[None] = deque()
        self.shutdown = False
        self.broken: str | None = None
        self.threads: set[_p.StdThread] = set()
        # Tasks each worker has run: one single-writer cell per worker (summed by stats()).
        self.done_counts: list[list[int]] = []
        self.rejected = 0  # tasks refused or discarded by on_full; guarded by lock

    def stop(self) -> None:
        """No more work: wake every parked worker so it drains the deque and exits."""
        with self.lock:
            self.shutdown = True
            self.parked.unpark_all()
            self.room.unpark_all()


@dataclass(frozen=True)
class PoolStatistics:
    """A snapshot of a ``ThreadPoolExecutor``, from ``stats()``.

    Attributes:
        workers: worker threads alive.
        idle: workers not running a task (approximate while tasks start and end).
        queued: tasks waiting for a worker.
        completed: tasks run to the end (successfully or not).
        rejected: tasks refused (``on_full="raise"``), run by the caller, or discarded.
        threads_waiting_submit: threads blocked in ``submit`` for room in the queue.
    """

    workers: int
    idle: int
    queued: int
    completed: int
    rejected: int
    threads_waiting_submit: int


class _WorkItem:
    __slots__ = ("args", "fn", "future", "kwargs")

    def __init__(
        self, future: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...], kwargs: Any
    ) -> None:
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:
            self.future.set_exception(exc)
            del exc  # (the traceback references this frame: no cycle kept alive)
        else:
            self.future.set_result(result)


def _worker(
    core: _Core, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]
) -> None:
    if initializer is not None:
        try:
            initializer(*initargs)
        except BaseException:
            _base.LOGGER.critical("Exception in initializer:", exc_info=True)
            _initializer_failed(core)
            return
    work = core.work
    parked = core.parked
    done = [0]  # written by this worker only
    with core.lock:
        core.done_counts.append(done)
    try:
        while True:
            try:
                item = work.popleft()
            except IndexError:
                with core.lock:
                    if work:
                        continue
                    if core.shutdown or _global_shutdown:
                        return
                    waiter = parked.enqueue()
                try:
                    parked.park(waiter, None)
                except BaseException:
                    parked.abandon(waiter)
                    raise
                continue
            if item is None:  # pragma: no cover - not used as a sentinel any more
                continue
            if core.room:  # a submitter waits for room in a bounded queue
                with core.lock:
                    core.room.unpark(1)
            if work and parked:  # more work and workers asleep: pass the baton on
                with core.lock:
                    if work:
                        parked.unpark(1)
            item.run()
            del item
            done[0] += 1
            core.idle.append(None)
    except BaseException:
        _base.LOGGER.critical("Exception in worker", exc_info=True)


def _initializer_failed(core: _Core) -> None:
    with core.lock:
        core.broken = "A thread initializer failed, the thread pool is not usable anymore"
        failed: list[_WorkItem] = []
        while core.work:
            item = core.work.popleft()
            if item is not None:
                failed.append(item)
    for item in failed:
        item.future.set_exception(BrokenThreadPool(core.broken))


class ThreadPoolExecutor(_base.Executor):
    """Run calls in a pool of threads: a drop-in for ``concurrent.futures.ThreadPoolExecutor``.

    Same signature, same behaviour (``submit``, ``map``, ``shutdown``, the context manager,
    ``thread_name_prefix``, ``initializer``), and futures that are
    ``concurrent.futures.Future``s, so ``concurrent.futures.wait`` and ``as_completed``
    accept them.

    Unlike ``concurrent.futures.ThreadPoolExecutor``, its queue can be bounded:
    ``max_queue=n`` with ``on_full="block" | "raise" | "caller_runs" | "discard_oldest"``
    (cpython issue 73781: the stdlib's queue grows without limit). Idle workers park on
    threadkit's wait queue and take work without a lock, which makes a submit-and-wait
    cheaper (see bench).

    Example:
        >>> with ThreadPoolExecutor(2) as pool:
        ...     list(pool.map(abs, [-1, -2, 3]))
        [1, 2, 3]
    """

    _counter = itertools.count().__next__

    def __init__(
        self,
        max_workers: int | None = None,
        thread_name_prefix: str = "",
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
        *,
        max_queue: int | None = None,
        on_full: OnFull = "block",
    ) -> None:
        if max_queue is not None and (
            isinstance(max_queue, bool) or not isinstance(max_queue, int) or max_queue < 1
        ):
            raise ValueError(f"max_queue must be an int >= 1 or None, not {max_queue!r}")
        if on_full not in _ON_FULL:
            raise ValueError(
                f"on_full must be one of {', '.join(map(repr, _ON_FULL))}, not {on_full!r}"
            )
        self._max_queue = max_queue
        self._on_full = on_full
        if max_workers is None:
            cpus = getattr(os, "process_cpu_count", os.cpu_count)() or 1
            max_workers = min(32, cpus + 4)
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        self._max_workers = max_workers
        self._thread_name_prefix = thread_name_prefix or f"ThreadPoolExecutor-{self._counter()}"
        self._initializer = initializer
        self._initargs = initargs
        core = self._core = _Core()
        with _global_lock:
            _cores.add(core)
        # The workers hold the core, never the executor: collecting it stops them.
        weakref.finalize(self, core.stop)

    @property
    def _shutdown(self) -> bool:
        return self._core.shutdown

    @property
    def _broken(self) -> str | None:
        return self._core.broken

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        """Schedule ``fn(*args, **kwargs)`` and return its ``Future``.

        With ``max_queue`` set and that many tasks waiting, ``on_full`` decides: ``"block"``
        waits for room (a cancellation point), ``"raise"`` raises ``queue.Full``,
        ``"caller_runs"`` runs the task in the calling thread, ``"discard_oldest"`` cancels
        the oldest waiting task's future and queues this one.

        Raises:
            RuntimeError: after ``shutdown()`` or at interpreter exit (also while blocked).
            BrokenThreadPool: an initializer failed.
            queue.Full: the queue is full and ``on_full="raise"``.
        """
        core = self._core
        future: Future[_T] = Future()
        item = _WorkItem(future, fn, args, kwargs)
        run_here = False
        while True:
            discarded = None
            with core.lock:
                if core.broken:
                    raise BrokenThreadPool(core.broken)
                if core.shutdown:
                    raise RuntimeError("cannot schedule new futures after shutdown")
                if _global_shutdown:
                    raise RuntimeError("cannot schedule new futures after interpreter shutdown")
                work = core.work
                if self._max_queue is None or len(work) < self._max_queue:
                    work.append(item)
                    if core.parked and len(work) <= 1:  # see "wake-ups" in the docstring
                        core.parked.unpark(1)
                    break
                policy = self._on_full
                if policy != "block":
                    core.rejected += 1
                if policy == "discard_oldest":
                    discarded = work.popleft()
                    work.append(item)
                    break
                if policy == "raise":
                    raise Full(f"the pool's queue is full (max_queue={self._max_queue})")
                if policy == "caller_runs":
                    run_here = True
                    break
                waiter = core.room.enqueue()
            try:
                core.room.park(waiter, None)  # a cancellation point: nothing was queued
            except BaseException:
                core.room.abandon(waiter)
                raise
        if discarded is not None:
            discarded.future.cancel()  # never lost silently: its future says so
        if run_here:
            item.run()  # the queue was full: the submitting thread runs it
            return future
        try:
            core.idle.pop()
        except IndexError:
            self._adjust_thread_count()
        return future

    def stats(self) -> PoolStatistics:
        """Return a snapshot of the pool's workers, queue and counts."""
        core = self._core
        with core.lock:
            workers = sum(t.is_alive() for t in core.threads)
            return PoolStatistics(
                workers=workers,
                idle=min(len(core.idle), workers),
                queued=len(core.work),
                completed=sum(cell[0] for cell in core.done_counts),
                rejected=core.rejected,
                threads_waiting_submit=len(core.room),
            )

    def _adjust_thread_count(self) -> None:
        core = self._core
        with core.lock:
            count = len(core.threads)
            if count >= self._max_workers or core.shutdown:
                return
            thread = _p.StdThread(
                name=f"{self._thread_name_prefix}_{count}",
                target=_worker,
                args=(core, self._initializer, self._initargs),
            )
            core.threads.add(thread)
        thread.start()

    def map(
        self,
        fn: Callable[..., _T],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[_T]:
        """As ``Executor.map``: results in order, each waited for up to ``timeout``."""
        return super().map(fn, *iterables, timeout=timeout, chunksize=chunksize)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking work; with ``cancel_futures``, cancel what has not started.

        With ``wait``, return once every worker has finished (idempotent).
        """
        core = self._core
        cancelled: list[_WorkItem] = []
        with core.lock:
            core.shutdown = True
            if cancel_futures:
                while core.work:
                    item = core.work.popleft()
                    if item is not None:
                        cancelled.append(item)
            core.parked.unpark_all()
            threads = list(core.threads)
        for item in cancelled:
            item.future.cancel()
        if wait:
            for thread in threads:
                thread.join()

    shutdown.__doc__ = _base.Executor.shutdown.__doc__


def _python_exit() -> None:
    """At interpreter exit: no new work; let the workers finish what is queued, join them."""
    global _global_shutdown
    with _global_lock:
        _global_shutdown = True
        cores = list(_cores)
    for core in cores:
        with core.lock:
            core.parked.unpark_all()
    for core in cores:
        for thread in list(core.threads):
            thread.join()


_p.register_atexit(_python_exit)
