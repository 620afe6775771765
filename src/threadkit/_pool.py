"""``ThreadPoolExecutor``: a drop-in for ``concurrent.futures.ThreadPoolExecutor``, and more.

Design. The state the workers need lives in a ``_Core`` (the work deque, the wait queue of
idle workers, the flags and the pool's settings), so a worker never holds its executor: when
the executor is collected, a weak-reference callback shuts the core down and the workers
exit, as the stdlib's do. ``submit`` appends a work item under the core's lock and, in the
same locked step, wakes one parked worker, or starts a worker if none is parked and fewer
than ``max_workers`` run (the stdlib reuses idle threads the same way). A worker takes items
with a lock-free ``deque.popleft()`` and parks on threadkit's wait queue only when the deque
is empty (checked again under the lock, so no item waits for a sleeping worker). The parked
queue is the exact count of parked workers: a worker is in it only while parked, and a submit
that wakes one takes it out, both under the lock. Before it parks, a worker that has just run
a task may spin a moment for the next one (``spin_until``; one such worker per pool, the
``spinner``): a submit then hands it the task instead of waking a parked worker, which saves
a sequential ``submit(f).result()`` loop a wake-up per call (and ``result()`` spins for the
result likewise).

Each task runs in its own cancel scope (``_core._cancel``), whose deadline is the task's
``timeout``/``deadline``; ``Future.cancel(interrupt=True)`` cancels that scope, so a task
blocked in a threadkit call unwinds with ``Cancelled``. Each worker records the item it runs
(one slot, written by that worker only), which is what ``shutdown(timeout=...)`` reports.

Worker lifetime (after ``java.util.concurrent.ThreadPoolExecutor``): ``min_workers`` start
with the pool and stay; a worker above that count exits after ``idle_timeout`` seconds
without work; a worker that has run ``max_tasks_per_worker`` tasks exits and is replaced.

Interpreter exit: each pool registers with the exit supervisor (``_exit``), which stops it
after the timers and workers that may feed it. As the stdlib does at exit, new submissions are
refused and the workers finish the queued work, but within the pool's exit deadline: then the
tasks still queued are cancelled, the running ones interrupted, and the supervisor reports and
abandons the workers still busy.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
import os
import sys
import traceback
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import _base
from concurrent.futures.thread import BrokenThreadPool
from dataclasses import dataclass, field
from queue import Empty, Full
from typing import Any, Literal, ParamSpec, TypeVar, overload

from . import _exit
from ._core import (
    CancelScope,
    WaitQueue,
    _cancel,
    _waitqueue,
    check_timeout,
    deadline_after,
    get_clock,
    remaining,
    spin_until,
)
from ._core import _primitives as _p
from ._futures import CANCELLED, PENDING, RUNNING, Future, cancel_and_notify

__all__ = [
    "BrokenThreadPool",
    "PoolStatistics",
    "RunningTask",
    "ShutdownReport",
    "ThreadPoolExecutor",
    "threaded",
]

_T = TypeVar("_T")
_P = ParamSpec("_P")

OnFull = Literal["block", "raise", "caller_runs", "discard_oldest"]
_ON_FULL: tuple[str, ...] = ("block", "raise", "caller_runs", "discard_oldest")

_INF = math.inf

# Below this many items, map() does not chunk on its own (each item is a task).
_AUTO_CHUNK_MIN = 1000

# Set at interpreter exit (see _stop_at_exit): no new work anywhere, workers drain and stop.
_global_shutdown = False
_global_lock = _p.allocate_lock()  # guards _global_shutdown


def _positive_int(value: int | None, name: str, minimum: int = 1) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"{name} must be an int or None, not {type(value).__name__}")
    if value is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum} or None, not {value!r}")


class _WorkItem:
    __slots__ = ("args", "deadline", "fn", "future", "kwargs", "name", "scopes")

    def __init__(
        self,
        future: Future[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        deadline: float,
        name: str | None,
    ) -> None:
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.deadline = deadline  # math.inf: none
        self.name = name
        # The submitter's cancel scopes, which the task inherits (DESIGN 5); None: none.
        self.scopes: list[CancelScope] | None = None

    def describe(self) -> str:
        """The task's name: the one given to submit, else the function's."""
        if self.name is not None:
            return self.name
        fn = self.fn
        return getattr(fn, "__qualname__", None) or repr(fn)

    def run(self, state: _cancel._ThreadState) -> None:
        """Run the call in its own cancel scope on ``state`` (the running thread's)."""
        future = self.future
        deadline = self.deadline
        scope = CancelScope._for_task(deadline, state)
        future._tk_scope = scope  # before it turns RUNNING: cancel(interrupt) finds it
        with future._tk_lock:  # set_running_or_notify_cancel(), inlined for the common case
            start = future._state == PENDING
            if start:
                future._state = RUNNING
        if not start:
            if future._state == CANCELLED:
                future.set_running_or_notify_cancel()  # tells wait()/as_completed() waiters
            return
        if deadline != _INF and deadline <= get_clock().now():  # expired while queued
            future._finish(None, TimeoutError(f"task {self.describe()!r} expired before it ran"))
            return
        inherited = self.scopes
        depth = _cancel.enter_scopes(state, inherited) if inherited else len(state.scopes)
        state.scopes.append(scope)
        try:
            if inherited:
                _cancel.checkpoint()  # an inherited scope may be cancelled already
            result = self.fn(*self.args, **self.kwargs)
        except BaseException as exc:
            failed: BaseException | None = exc
        else:
            failed = None
        # Off the stack (to its depth at start, whatever the task left open), the scope applies
        # no more: a late cancel() finds it on no thread's stack and does nothing. (The
        # scope's _task_state stays: unlinking it would cost a lock per task.)
        if inherited:
            _cancel.leave_scopes(state, inherited, depth)
        else:
            del state.scopes[depth:]
        future._tk_scope = None
        if failed is None:
            future._finish(result, None)
            return
        _fail(future, self, scope, failed)
        # The traceback holds this frame: it must not hold the future (as the stdlib's).
        del failed, future, self


def _fail(future: Future[Any], item: _WorkItem, scope: CancelScope, exc: BaseException) -> None:
    """Complete a task's future with what it raised; its own deadline becomes TimeoutError."""
    if (
        isinstance(exc, _cancel.Cancelled)
        and exc.scope is scope
        and scope._source == _cancel.DEADLINE
    ):
        error = TimeoutError(f"task {item.describe()!r} did not finish by its deadline")
        error.__cause__ = exc
        future._finish(None, error)
    elif isinstance(exc, _cancel.Cancelled) and exc.scope is not scope:
        # An enclosing scope's: one the task inherited from its submitter, or, when the
        # caller runs it (on_full="caller_runs"), the caller's own. The task was cancelled.
        future._cancel_running()
        if item.scopes is None and exc.scope in _cancel.current_scopes():
            raise exc  # the calling thread's scope: it must unwind the caller too
    else:  # what the task raised; or Cancelled when interrupted (the future is cancelled)
        future._finish(None, exc)


# What a worker's ``item`` holds while it takes an item off the deque.
_TAKING = _WorkItem(Future(), int, (), {}, deadline=_INF, name="(taking a task)")


def _taken(me: _Worker) -> _WorkItem | None:
    """The task ``me`` runs or is about to run (None: none). A worker between taking a task
    off the queue and recording it is ``_TAKING`` for a few bytecodes: wait for which it is,
    else a shutdown that drained the queue and cancels running tasks would miss that one
    (called without ``core.lock``, which the worker may need to get past that point)."""
    item = me.item
    while item is _TAKING:
        _p.sleep(0)
        item = me.item
    return item


class _Worker:
    """One worker's record: its thread, the item it runs (written by the worker only)."""

    __slots__ = ("done", "item", "thread")

    def __init__(self) -> None:
        self.thread: _p.StdThread | None = None
        self.item: _WorkItem | None = None
        self.done = 0  # tasks run, counted by this worker only


class _Core:
    """What the workers of one pool share; they never hold the executor itself."""

    __slots__ = (
        "__weakref__",
        "bounded",
        "broken",
        "done_retired",
        "exits",
        "idle_timeout",
        "initargs",
        "initializer",
        "lock",
        "max_tasks",
        "max_workers",
        "min_workers",
        "names",
        "parked",
        "prefix",
        "rejected",
        "room",
        "shutdown",
        "spinner",
        "work",
        "workers",
    )

    def __init__(
        self,
        *,
        max_workers: int,
        min_workers: int,
        idle_timeout: float | None,
        max_tasks: int | None,
        prefix: str,
        initializer: Callable[..., object] | None,
        initargs: tuple[Any, ...],
    ) -> None:
        self.parked = WaitQueue("ThreadPoolExecutor workers")
        self.lock = self.parked.lock  # guards shutdown, broken, workers, and appends to work
        # Submitters waiting for room in a bounded queue (max_queue, on_full="block").
        self.room = WaitQueue("ThreadPoolExecutor submitters", self.lock)
        # Threads in shutdown(wait=True), woken each time a worker leaves the pool.
        self.exits = WaitQueue("ThreadPoolExecutor shutdown", self.lock)
        self.work: deque[_WorkItem] = deque()  # appended under lock, popped anywhere
        self.shutdown = False
        # The worker spinning for the next task (instead of parking), if one is: a submit
        # hands it the task (sets this back to None) rather than waking a parked worker.
        self.spinner: _Worker | None = None  # guarded by lock (read by the spinner without)
        self.bounded = False  # max_queue is set: workers wake submitters waiting for room
        self.broken: str | None = None
        self.workers: dict[_Worker, None] = {}  # live workers, in start order
        self.done_retired = 0  # tasks run by workers that have exited
        self.rejected = 0  # tasks refused or discarded by on_full; guarded by lock
        self.max_workers = max_workers
        self.min_workers = min_workers
        self.idle_timeout = idle_timeout
        self.max_tasks = max_tasks
        self.prefix = prefix
        self.names = itertools.count().__next__
        self.initializer = initializer
        self.initargs = initargs

    def stop(self) -> None:
        """No more work: wake every parked worker (and end a spin) so that each drains the
        deque and exits."""
        with self.lock:
            self.stopping()

    def stopping(self) -> None:
        """``stop()`` with the lock held (``shutdown()`` drains the deque in the same hold)."""
        self.shutdown = True
        self.spinner = None
        self.parked.unpark_all()
        self.room.unpark_all()

    def add_worker(self, *, draining: bool = False) -> bool:
        """Start a worker if there is room (lock held); return whether one started.

        It starts under the lock, so whoever sees it in ``workers`` can join it (a thread
        not yet started cannot be joined); ``Thread.start()`` returns once the thread runs,
        before the worker first takes the lock. After shutdown, only a worker that replaces
        one is added (``draining``): the queued work still runs, as
        ``shutdown(cancel_futures=False)`` promises.
        """
        if len(self.workers) >= self.max_workers or (self.shutdown and not draining):
            return False
        me = _Worker()
        me.thread = _p.StdThread(
            name=f"{self.prefix}_{self.names()}", target=_worker, args=(self, me)
        )
        self.workers[me] = None
        try:
            me.thread.start()
        except BaseException:  # no thread to be had (RuntimeError): the submit raises it
            del self.workers[me]
            raise
        return True

    def serve(self) -> None:
        """A task was queued (lock held): see that a worker will take it.

        A spinning worker takes it if there is one (it looks at the deque next); else a
        parked worker is woken if there is one; else a worker starts while fewer than
        ``max_workers`` run (else every worker is busy and will come back to the deque).
        Under the lock, with the append, so that a ``shutdown()`` cannot come between the
        two and leave the task with no worker.
        """
        if self.spinner is not None:
            self.spinner = None  # handed this task: the next one wakes a parked worker
        elif self.parked:
            self.parked.unpark(1)
        elif len(self.workers) < self.max_workers and len(self.work) > sum(
            # A worker between two tasks (or starting) comes back to the deque before it
            # parks (it looks again under this lock), so it will take one queued task: the
            # thread that just finished the caller's previous task is reused, as the stdlib
            # reuses its idle threads. A thread starts for each task beyond those.
            me.item is None
            for me in self.workers
        ):
            self.add_worker()

    def retire(self, me: _Worker, *, replace: bool, failed: bool = False) -> None:
        """Take a worker out of the pool (it is exiting); start its replacement if asked.

        A worker that ``failed`` (raised) may have been the spinner and handed a task that
        no other worker was told of: the queued work gets a worker (a parked one, else a
        new one), and ``min_workers`` are kept."""
        with self.lock:
            if self.workers.pop(me, 0) is None:
                self.done_retired += me.done
            self.exits.unpark_all()
            if self.spinner is me:  # it raised while it spun
                self.spinner = None
            if failed and self.work and self.parked:
                self.parked.unpark(1)
            elif (replace or failed) and self.work:
                self.add_worker(draining=True)
            elif (replace or failed) and len(self.workers) < self.min_workers:
                self.add_worker()

    def may_retire_idle(self, me: _Worker) -> bool:
        """An idle worker's timeout passed: may it exit? (It is then out of the pool.)"""
        with self.lock:
            if self.work or len(self.workers) <= self.min_workers or self.shutdown:
                return False
            del self.workers[me]
            self.done_retired += me.done
            return True


def _worker(core: _Core, me: _Worker) -> None:
    if core.initializer is not None:
        try:
            core.initializer(*core.initargs)
        except BaseException:
            _base.LOGGER.critical("Exception in initializer:", exc_info=True)
            _initializer_failed(core)
            core.retire(me, replace=False)
            return
    work = core.work
    parked = core.parked
    idle_timeout = core.idle_timeout
    bounded = core.bounded
    tasks_left = core.max_tasks or -1
    state = _cancel._state()  # this thread's scope stack, where each task's scope goes
    may_spin = False  # after a task, an idle worker may spin a moment before it parks
    replace = False
    failed = False
    try:
        while True:
            if work:
                me.item = _TAKING  # busy from before the pop: serve() must not count on it
                try:
                    item = work.popleft()
                except IndexError:  # another worker took the last one
                    me.item = None
                    continue
            else:  # (tested first: raising IndexError costs more than the test)
                with core.lock:
                    if work:
                        continue
                    if core.shutdown or _global_shutdown:
                        return
                    spinning = may_spin and core.spinner is None
                    if spinning:  # one worker at a time spins, after a task of its own
                        core.spinner = me
                    else:
                        waiter = parked.enqueue(front=True)  # LIFO: wake the warmest worker
                        # Only a worker above min_workers may time out: the others wait forever.
                        timed = idle_timeout is not None and len(core.workers) > core.min_workers
                if spinning:
                    may_spin = False  # it parks if this spin ends with no task
                    if not spin_until(lambda: core.spinner is not me):
                        with core.lock:
                            if core.spinner is me:
                                core.spinner = None
                    continue
                try:
                    woken = parked.park(
                        waiter,
                        get_clock().now() + idle_timeout if timed else None,  # type: ignore[operator]
                    )
                except BaseException:
                    parked.abandon(waiter)
                    raise
                if not woken and core.may_retire_idle(me):
                    return
                continue
            if bounded:  # a submitter may wait for the room this pop made: under the lock,
                with core.lock:  # so that it cannot queue itself just after a lock-free look
                    if core.room:
                        core.room.unpark(1)
            me.item = item
            item.run(state)
            me.item = None
            del item
            me.done += 1
            may_spin = _waitqueue.SPIN > 0
            if tasks_left > 0:
                tasks_left -= 1
                if tasks_left == 0:
                    replace = True
                    return
    except BaseException:
        _base.LOGGER.critical("Exception in worker", exc_info=True)
        failed = True
    finally:
        core.retire(me, replace=replace, failed=failed)


def _initializer_failed(core: _Core) -> None:
    with core.lock:
        core.broken = "A thread initializer failed, the thread pool is not usable anymore"
        failed = _drain(core.work)
        core.room.unpark_all()
    for item in failed:
        if item.future.set_running_or_notify_cancel():
            item.future._finish(None, BrokenThreadPool(core.broken))


@dataclass(frozen=True)
class PoolStatistics:
    """A snapshot of a ``ThreadPoolExecutor``, from ``stats()``.

    Attributes:
        workers: worker threads alive.
        active: workers running a task now.
        idle: workers not running a task.
        queued: tasks waiting for a worker.
        completed: tasks run to the end (successfully or not); a task is counted just after
            its future is settled, so right after ``result()`` returns it may not be yet.
        rejected: tasks refused (``on_full="raise"``), run by the caller, or discarded.
        threads_waiting_submit: threads blocked in ``submit`` for room in the queue.

    Examples:
        >>> from threadkit.futures import ThreadPoolExecutor
        >>> with ThreadPoolExecutor(2) as pool:
        ...     results = list(pool.map(abs, [-1, -2, 3]))
        >>> s = pool.stats()  # after the shutdown: every worker has exited
        >>> s.completed, s.queued, s.workers
        (3, 0, 0)
    """

    workers: int
    active: int
    idle: int
    queued: int
    completed: int
    rejected: int
    threads_waiting_submit: int


@dataclass(frozen=True)
class RunningTask:
    """A task that was still running when ``shutdown()`` returned.

    Attributes:
        name: the name given to ``submit(name=...)``, else the function's qualified name.
        thread: the name of the worker thread that runs it.
        stack: where that thread was, formatted as ``traceback.format_stack`` does.
        future: the task's future.

    Examples:
        >>> import threadkit
        >>> from threadkit.futures import ThreadPoolExecutor
        >>> started, gate = threadkit.Event(), threadkit.Event()
        >>> pool = ThreadPoolExecutor(1)
        >>> future = pool.submit(lambda: (started.set(), gate.wait()), name="waiter")
        >>> started.wait()
        True
        >>> [task] = pool.shutdown(wait=False).running
        >>> task.name, task.future is future
        ('waiter', True)
        >>> gate.set(); pool.shutdown().finished
        True
    """

    name: str
    thread: str
    stack: str
    future: Future[Any] = field(repr=False)


@dataclass(frozen=True)
class ShutdownReport:
    """What ``ThreadPoolExecutor.shutdown()`` left behind.

    Attributes:
        finished: every worker thread has exited.
        cancelled: queued tasks cancelled by this call (``cancel_futures=True``).
        interrupted: running tasks this call cancelled (``cancel_running=True``).
        running: the tasks still running when the call returned (with ``wait=True``, those
            that did not finish within ``timeout``), each with its thread's stack.

    Examples:
        >>> import threadkit
        >>> from threadkit.futures import ThreadPoolExecutor
        >>> started = threadkit.Event()
        >>> pool = ThreadPoolExecutor(1)
        >>> future = pool.submit(lambda: (started.set(), threadkit.Event().wait()))
        >>> started.wait()
        True
        >>> report = pool.shutdown(cancel_running=True)  # the wait raises Cancelled
        >>> report.finished, report.interrupted, report.running
        (True, 1, ())
        >>> print(report)
        the pool shut down: every worker has exited
    """

    finished: bool
    cancelled: int = 0
    interrupted: int = 0
    running: tuple[RunningTask, ...] = ()

    def __str__(self) -> str:
        if not self.running:
            if self.finished:
                return "the pool shut down: every worker has exited"
            return "the pool is shutting down: some workers have not exited yet (no task runs)"
        parts = [f"{len(self.running)} task(s) still running after shutdown:"]
        for task in self.running:
            parts.append(f"- {task.name} in thread {task.thread}:\n{task.stack.rstrip()}")
        return "\n".join(parts)


def _run_chunk(fn: Callable[..., Any], chunk: list[tuple[Any, ...]]) -> tuple[list[Any], Any]:
    """Run ``fn`` on each argument tuple; stop at the first exception (returned, not raised)."""
    results: list[Any] = []
    append = results.append
    try:
        for args in chunk:
            append(fn(*args))
    except _cancel.Cancelled:
        raise  # the task's scope: the pool reports it
    except BaseException as exc:
        return results, exc
    return results, None


class ThreadPoolExecutor(_base.Executor):
    """Run calls in a pool of threads: a drop-in for ``concurrent.futures.ThreadPoolExecutor``.

    Same signature, same behaviour (``submit``, ``map``, ``shutdown``, the context manager,
    ``thread_name_prefix``, ``initializer``), and futures that are
    ``concurrent.futures.Future``s, so ``concurrent.futures.wait`` and ``as_completed``
    accept them.

    Beyond the stdlib:

    * a bounded queue: ``max_queue=n`` with ``on_full="block" | "raise" | "caller_runs" |
      "discard_oldest"`` (cpython issue 73781: the stdlib's queue grows without limit);
    * worker lifetime: ``min_workers`` start at once and stay, others exit after
      ``idle_timeout`` seconds idle; ``max_tasks_per_worker`` replaces a worker after that
      many tasks;
    * per task ``timeout``/``deadline``/``name`` (``submit``), cancellation of a running task
      (``future.cancel(interrupt=True)``), and a ``shutdown`` with a timeout that reports what
      is still running;
    * ``map`` that chunks large inputs by itself, ``ordered=False`` and ``imap_unordered``;
    * ``stats()``.

    Examples:
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
        min_workers: int = 0,
        idle_timeout: float | None = None,
        max_tasks_per_worker: int | None = None,
    ) -> None:
        _positive_int(max_queue, "max_queue")
        _positive_int(max_tasks_per_worker, "max_tasks_per_worker")
        _positive_int(min_workers, "min_workers", 0)
        check_timeout(idle_timeout, "idle_timeout")
        if on_full not in _ON_FULL:
            raise ValueError(
                f"on_full must be one of {', '.join(map(repr, _ON_FULL))}, not {on_full!r}"
            )
        self._max_queue = max_queue
        self._on_full = on_full
        if max_workers is None:
            cpus = getattr(os, "process_cpu_count", os.cpu_count)() or 1
            max_workers = max(min(32, cpus + 4), min_workers)
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        if min_workers > max_workers:
            raise ValueError(
                f"min_workers ({min_workers}) must not exceed max_workers ({max_workers})"
            )
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        self._max_workers = max_workers
        self._thread_name_prefix = thread_name_prefix or f"ThreadPoolExecutor-{self._counter()}"
        self._initializer = initializer
        self._initargs = initargs
        core = self._core = _Core(
            max_workers=max_workers,
            min_workers=min_workers,
            idle_timeout=idle_timeout,
            max_tasks=max_tasks_per_worker,
            prefix=self._thread_name_prefix,
            initializer=initializer,
            initargs=initargs,
        )
        core.bounded = max_queue is not None
        # The exit supervisor holds the core weakly (it lives as long as a worker runs).
        _exit.register(
            core,
            _stop_at_exit,
            threads=_core_threads,
            priority=_exit.ExitPriority.POOLS,
            name=f"ThreadPoolExecutor {self._thread_name_prefix!r}",
        )
        # The workers hold the core, never the executor: collecting it stops them (and warns,
        # as an unclosed file does, if nobody shut it down). Not at interpreter exit, where
        # the exit supervisor drains every pool as the stdlib does.
        weakref.finalize(self, _collected, core, self._thread_name_prefix).atexit = False
        for _ in range(min_workers):
            with core.lock:
                core.add_worker()

    @property
    def _shutdown(self) -> bool:
        return self._core.shutdown

    @property
    def _broken(self) -> str | None:
        return self._core.broken

    @property
    def _threads(self) -> set[_p.StdThread]:  # the stdlib's attribute, read by some tests
        with self._core.lock:
            return {me.thread for me in self._core.workers if me.thread is not None}

    def submit(  # type: ignore[override]
        self,
        fn: Callable[..., _T],
        /,
        *args: Any,
        timeout: float | None = None,
        deadline: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> Future[_T]:
        """Schedule ``fn(*args, **kwargs)`` and return its ``Future``.

        The task runs in its own cancel scope. ``timeout`` (seconds from now) and
        ``deadline`` (an absolute time on the threadkit clock, ``get_clock().now()``) give
        that scope a deadline, the earlier of the two: a task still waiting when it passes
        does not start, and a running task's next threadkit blocking call raises; either
        way the future raises ``TimeoutError``. ``name`` names the task in
        ``shutdown()``'s report. These three keywords are the pool's, not ``fn``'s: pass a
        ``timeout`` to ``fn`` with ``functools.partial(fn, timeout=...)``.

        With ``max_queue`` set and that many tasks waiting, ``on_full`` decides: ``"block"``
        waits for room (a cancellation point), ``"raise"`` raises ``queue.Full``,
        ``"caller_runs"`` runs the task in the calling thread, ``"discard_oldest"`` cancels
        the oldest waiting task's future and queues this one.

        Raises:
            RuntimeError: after ``shutdown()`` or at interpreter exit (also while blocked).
            BrokenThreadPool: an initializer failed.
            queue.Full: the queue is full and ``on_full="raise"``.
            ValueError: a negative ``timeout``, or a NaN ``timeout``/``deadline``.
        """
        when = math.inf
        if timeout is not None:
            when = deadline_after(timeout, "timeout")
        if deadline is not None:
            if math.isnan(deadline):
                raise ValueError("deadline must be a number, not NaN")
            when = min(when, deadline)
        if timeout is not None or deadline is not None or name is not None:
            _check_keywords(fn, timeout=timeout, deadline=deadline, name=name)
        future: Future[_T] = Future()
        item = _WorkItem(future, fn, args, kwargs, deadline=when, name=name)
        state = _cancel._tls.state
        if state is not None and state.scopes:
            item.scopes = list(state.scopes)  # the task inherits them (DESIGN 5)
        core = self._core
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
                    core.serve()
                    break
                policy = self._on_full
                if policy == "discard_oldest":
                    try:
                        discarded = work.popleft()
                    except IndexError:  # a worker took it meanwhile: there is room now
                        discarded = None
                    else:
                        core.rejected += 1  # (the discarded task: counted once it is)
                    work.append(item)
                    core.serve()
                    break
                if policy != "block":
                    core.rejected += 1
                if policy == "raise":
                    raise Full(f"the pool's queue is full (max_queue={self._max_queue})")
                if policy == "caller_runs":
                    run_here = True
                    break
                waiter = core.room.enqueue()
            try:
                core.room.park(waiter, None)  # a cancellation point (raising: nothing queued)
            except BaseException:
                core.room.abandon(waiter)
                raise
        if discarded is not None:
            cancel_and_notify(discarded.future)  # never lost silently: its future says so
        if run_here:
            item.scopes = None  # it runs inside the caller's own scopes already
            item.run(_cancel._state())  # the queue was full: the submitting thread runs it
            return future
        return future

    def stats(self) -> PoolStatistics:
        """Return a snapshot of the pool's workers, queue and counts."""
        core = self._core
        with core.lock:
            workers = list(core.workers)
            active = sum(me.item is not None for me in workers)  # (_TAKING counts)
            return PoolStatistics(
                workers=len(workers),
                active=active,
                idle=len(workers) - active,
                queued=len(core.work),
                completed=core.done_retired + sum(me.done for me in workers),
                rejected=core.rejected,
                threads_waiting_submit=len(core.room),
            )

    # -- map --------------------------------------------------------------------------------

    def map(
        self,
        fn: Callable[..., _T],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int | None = None,
        buffersize: int | None = None,
        ordered: bool = True,
    ) -> Generator[_T, None, None]:
        """Return an iterator of ``fn(*args)`` over ``zip(*iterables)``, computed in the pool.

        As ``Executor.map``: results come in input order, an exception is raised where its
        item comes, ``timeout`` bounds the whole iteration (``TimeoutError``), and closing
        the iterator early cancels what has not started. ``buffersize`` (as in Python 3.14)
        takes the input lazily, keeping at most that many tasks in flight.

        Beyond it: with ``chunksize=None`` (the default) a large input (1000 items or more,
        without ``buffersize``) is cut into about four chunks per worker, each run as one
        task, which saves the per-task cost that dominates short calls;
        ``chunksize=1`` gives one task per item, as the stdlib does. ``ordered=False``
        yields results as they complete (see ``imap_unordered``).

        Raises:
            TypeError, ValueError: a ``chunksize`` or ``buffersize`` that is not an int >= 1.
        """
        if buffersize is not None and (
            isinstance(buffersize, bool) or not isinstance(buffersize, int)
        ):
            raise TypeError("buffersize must be an integer or None")
        if buffersize is not None and buffersize < 1:
            raise ValueError("buffersize must be None or > 0")
        if chunksize is not None and (
            isinstance(chunksize, bool) or not isinstance(chunksize, int)
        ):
            raise TypeError(f"chunksize must be an int or None, not {type(chunksize).__name__}")
        if chunksize is not None and chunksize < 1:
            raise ValueError("chunksize must be >= 1.")
        end = None if timeout is None else get_clock().now() + timeout
        args_iter: Iterator[tuple[Any, ...]] = zip(*iterables)  # noqa: B905 (the stdlib's: the shortest wins)
        if buffersize is None:
            items = list(args_iter)
            if chunksize is None:
                chunksize = self._auto_chunksize(len(items))
            args_iter = iter(items)
            del items
        elif chunksize is None:
            chunksize = 1
        if chunksize > 1:
            chunks = iter(functools.partial(_take, args_iter, chunksize), [])
            tasks: Iterator[tuple[Callable[..., Any], tuple[Any, ...]]] = (
                (_run_chunk, (fn, chunk)) for chunk in chunks
            )
        else:
            tasks = ((fn, args) for args in args_iter)
        submit = weakref.WeakMethod(self.submit)
        fs: deque[Future[Any]] = deque()
        try:
            for task_fn, task_args in itertools.islice(tasks, buffersize):
                fs.append(self.submit(task_fn, *task_args))
        except BaseException:  # queue.Full, shutdown: what was submitted is not wanted
            for future in fs:
                future.cancel()
            raise
        more = tasks if buffersize is not None else None
        results = _ordered_results if ordered else _unordered_results
        return results(fs, more, submit, chunksize > 1, end)

    def imap_unordered(
        self,
        fn: Callable[[Any], _T],
        iterable: Iterable[Any],
        *,
        timeout: float | None = None,
        chunksize: int | None = None,
        buffersize: int | None = None,
    ) -> Generator[_T, None, None]:
        """``map(fn, iterable, ordered=False)``: results in the order they complete."""
        return self.map(
            fn,
            iterable,
            timeout=timeout,
            chunksize=chunksize,
            buffersize=buffersize,
            ordered=False,
        )

    def _auto_chunksize(self, n: int) -> int:
        if n < _AUTO_CHUNK_MIN:
            return 1
        return -(-n // (4 * self._max_workers))

    # -- shutdown -----------------------------------------------------------------------------

    def shutdown(  # type: ignore[override]
        self,
        wait: bool = True,
        *,
        cancel_futures: bool = False,
        cancel_running: bool = False,
        timeout: float | None = None,
    ) -> ShutdownReport:
        """Stop taking work, and (``wait``) wait for the workers to finish; idempotent.

        ``cancel_futures`` cancels the tasks not yet started (their futures say so);
        ``cancel_running`` also cancels the running ones (``future.cancel(interrupt=True)``:
        a task unwinds at its next threadkit blocking call or ``checkpoint()``). ``timeout``
        bounds the wait: when it passes, the call returns anyway.

        Returns a ``ShutdownReport``: whether every worker exited, how many tasks this call
        cancelled, and the tasks still running, each with its name, thread and stack (the
        stdlib's ``shutdown`` returns None; a report is still a false-free object to ignore).
        """
        end = deadline_after(timeout, "timeout")
        core = self._core
        cancelled: list[_WorkItem] = []
        with core.lock:
            if cancel_futures:
                cancelled = _drain(core.work)
            core.stopping()
            workers = list(core.workers)
        for queued in cancelled:
            cancel_and_notify(queued.future)
        interrupted = 0
        if cancel_running:
            for me in workers:
                task = _taken(me)
                if task is not None and task.future.cancel(interrupt=True):
                    interrupted += 1
        if wait:
            workers = self._join_workers(end)
        running = []
        frames = sys._current_frames()
        for me in workers:
            task, thread = me.item, me.thread
            if task is None or task is _TAKING or thread is None or not thread.is_alive():
                continue
            frame = frames.get(thread.ident)  # type: ignore[arg-type]
            stack = _task_stack(frame) if frame is not None else ""
            if not stack:  # the task's function is not Python code (time.sleep, say)
                stack = f"  in {task.describe()} (not Python code: no frames)\n"
            running.append(RunningTask(task.describe(), thread.name, stack, task.future))
        del frames
        finished = not any(me.thread is not None and me.thread.is_alive() for me in workers)
        return ShutdownReport(finished, len(cancelled), interrupted, tuple(running))

    def _join_workers(self, end: float | None) -> list[_Worker]:
        """Wait until no worker is left in the pool, or ``end`` passes; return those seen.

        A threadkit wait (a cancellation point, on threadkit's clock), woken by each worker
        as it leaves the pool. A worker that retires (``max_tasks_per_worker``) while work is
        queued starts its replacement before it leaves, so the wait goes on for that one.
        Once none is left, their threads (past their last step) are joined.
        """
        core = self._core
        me_thread = _p.current_thread()
        seen: dict[_Worker, None] = {}
        exits = core.exits
        while True:
            with core.lock:
                for me in core.workers:
                    seen[me] = None
                if all(me.thread is me_thread for me in core.workers):
                    break
                waiter = exits.enqueue()
            try:
                woken = exits.park(waiter, end)
            except BaseException:
                exits.abandon(waiter)
                raise
            if not woken:
                return list(seen)
        for me in seen:
            thread = me.thread
            if thread is not None and thread is not me_thread:
                thread.join()  # it has left the pool: only its return is left
        return list(seen)


def _check_keywords(fn: Callable[..., Any], **given: object) -> None:
    """Refuse a pool keyword (``timeout``, ``deadline``, ``name``) that ``fn`` takes too.

    With the stdlib's pool, ``submit(fn, timeout=5)`` passes ``timeout`` to ``fn``; here it is
    the task's deadline. Rather than change the meaning of that call silently (the function
    losing its own timeout), say so: where ``fn`` has a parameter of that name, or takes any
    keyword (``**kwargs``; a ``functools.partial`` is taken as the caller's choice). A
    function with no signature to read (a few builtins) is not checked.
    """
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # no signature to read (some builtins)
        return
    partial = isinstance(fn, functools.partial)
    bound = fn.keywords if isinstance(fn, functools.partial) else {}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    any_keyword = not partial and any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )
    for key, value in given.items():
        if value is None or key in bound:
            continue
        if (key in params and params[key].kind in kinds) or any_keyword:
            label = getattr(fn, "__qualname__", None) or repr(fn)
            takes = f"takes {key!r} too" if key in params else "takes any keyword (**kwargs)"
            raise TypeError(
                f"submit({key}=...) is the pool's (the task's {key}), but {label}() {takes}: "
                f"pass its own with functools.partial({label}, {key}=...), and the task's as "
                f"submit(..., {key}=...)"
            )


def _drain(work: deque[_WorkItem]) -> list[_WorkItem]:
    """Take every item off the deque: popleft() one at a time, as workers may pop too (on the
    free-threaded build, iterating a deque another thread pops raises RuntimeError)."""
    items = []
    try:
        while True:
            items.append(work.popleft())
    except IndexError:
        return items


def _task_stack(frame: Any) -> str:
    """The formatted stack of a running task, from the task's function down (the worker's
    own frames above it are dropped)."""
    entries = traceback.extract_stack(frame)
    for i in range(len(entries) - 1, -1, -1):
        if entries[i].filename == __file__ and entries[i].name == "run":
            del entries[: i + 1]
            break
    return "".join(traceback.format_list(entries))


def _take(it: Iterator[tuple[Any, ...]], n: int) -> list[tuple[Any, ...]]:
    return list(itertools.islice(it, n))


def _result_or_cancel(future: _base.Future[Any], end: float | None) -> Any:
    try:
        return future.result(remaining(end))
    finally:
        future.cancel()
        del future


def _chunk_values(outcome: tuple[list[Any], BaseException | None]) -> Iterator[Any]:
    """A chunk's results in order, then its exception; holding none it has yielded."""
    results, exc = outcome
    del outcome
    results.reverse()
    while results:
        yield results.pop()
    if exc is not None:
        try:
            raise exc
        finally:
            del exc


def _submit_next(
    fs: deque[Future[Any]],
    more: Iterator[tuple[Callable[..., Any], tuple[Any, ...]]] | None,
    submit: weakref.WeakMethod[Callable[..., Future[Any]]],
) -> Future[Any] | None:
    if more is None:
        return None
    method = submit()
    task = next(more, None)
    if method is None or task is None:
        return None
    return method(task[0], *task[1])


def _ordered_results(
    fs: deque[Future[Any]],
    more: Iterator[tuple[Callable[..., Any], tuple[Any, ...]]] | None,
    submit: weakref.WeakMethod[Callable[..., Future[Any]]],
    chunked: bool,
    end: float | None,
) -> Generator[Any, None, None]:
    try:
        while fs:
            new = _submit_next(fs, more, submit)
            if new is not None:
                fs.append(new)
            if chunked:
                yield from _chunk_values(_result_or_cancel(fs.popleft(), end))
            else:  # (no local name: the caller alone holds the result, as the stdlib's)
                yield _result_or_cancel(fs.popleft(), end)
    finally:
        for future in fs:
            future.cancel()


def _notify(futures: Iterable[_base.Future[Any]], into: Any) -> None:
    """Put each future into ``into`` (a queue) when it is done."""
    for future in futures:
        future.add_done_callback(into.put_nowait)


def _unordered_results(
    fs: deque[Future[Any]],
    more: Iterator[tuple[Callable[..., Any], tuple[Any, ...]]] | None,
    submit: weakref.WeakMethod[Callable[..., Future[Any]]],
    chunked: bool,
    end: float | None,
) -> Generator[Any, None, None]:
    from ._queue import SimpleQueue

    finished: SimpleQueue[_base.Future[Any]] = SimpleQueue()
    pending: set[_base.Future[Any]] = set(fs)
    _notify(fs, finished)
    fs.clear()
    try:
        while pending:
            try:
                got = [finished.get(timeout=remaining(end))]  # popped below: no name holds it
            except Empty:
                raise TimeoutError() from None
            pending.discard(got[0])
            new = _submit_next(fs, more, submit)
            if new is not None:
                pending.add(new)
                new.add_done_callback(finished.put_nowait)
            if chunked:
                yield from _chunk_values(_result_or_cancel(got.pop(), end))
            else:
                yield _result_or_cancel(got.pop(), end)
    finally:
        for left in pending:
            left.cancel()


@overload
def threaded(fn: Callable[_P, _T], /) -> Callable[_P, Future[_T]]: ...
@overload
def threaded(
    *, executor: ThreadPoolExecutor | None = None, name: str | None = None, daemon: bool = False
) -> Callable[[Callable[_P, _T]], Callable[_P, Future[_T]]]: ...
def threaded(
    fn: Callable[_P, _T] | None = None,
    /,
    *,
    executor: ThreadPoolExecutor | None = None,
    name: str | None = None,
    daemon: bool = False,
) -> Any:
    """Decorate a function so that calling it runs it in another thread and returns a Future.

    ``@threaded`` starts a new thread per call (named ``name``, or after the function);
    ``@threaded(executor=pool)`` submits each call to ``pool``. Either way the call runs in
    its own cancel scope, so ``future.cancel(interrupt=True)`` cancels it at its next
    threadkit blocking call.

    Examples:
        >>> @threaded
        ... def double(x):
        ...     return 2 * x
        >>> double(21).result()
        42
    """

    def decorate(func: Callable[_P, _T]) -> Callable[_P, Future[_T]]:
        label = name or getattr(func, "__qualname__", None) or repr(func)

        @functools.wraps(func)
        def start(*args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
            if executor is not None:
                return executor.submit(functools.partial(func, *args, **kwargs), name=label)
            future: Future[_T] = Future()
            item = _WorkItem(future, func, args, kwargs, deadline=math.inf, name=label)
            thread = _p.StdThread(
                target=lambda: item.run(_cancel._state()), name=label, daemon=daemon
            )
            thread.start()
            return future

        return start

    if fn is not None:
        return decorate(fn)
    return decorate


def _collected(core: _Core, prefix: str) -> None:
    """The executor was collected: stop its workers; warn if it was never shut down."""
    if not core.shutdown:
        warnings.warn(
            f"ThreadPoolExecutor {prefix!r} was collected without shutdown(): use it as a "
            "context manager or call shutdown()",
            ResourceWarning,
            stacklevel=1,
        )
    core.stop()


def _core_threads(core: _Core) -> list[_p.StdThread]:
    with core.lock:
        return [me.thread for me in core.workers if me.thread is not None]


# Seconds that interrupted tasks get to unwind when a pool's exit deadline has passed.
_INTERRUPT_GRACE = 0.1


def _stop_at_exit(core: _Core, timeout: float | None) -> None:
    """The exit supervisor stops a pool: no new work, the queued work runs (as the stdlib
    lets it at exit) until ``timeout`` passes; then what is queued is cancelled and the
    running tasks are interrupted (the supervisor reports the workers still busy)."""
    global _global_shutdown
    if _exit.exiting():
        with _global_lock:
            _global_shutdown = True
    core.stop()
    end = None if timeout is None else _p.monotonic() + timeout
    me = _p.current_thread()
    while threads := [t for t in _core_threads(core) if t is not me and t.is_alive()]:
        for thread in threads:
            thread.join(None if end is None else max(end - _p.monotonic(), 0.0))
        if end is not None and _p.monotonic() >= end:
            break
    else:
        return
    with core.lock:
        cancelled = _drain(core.work)
        workers = list(core.workers)
    for item in cancelled:
        cancel_and_notify(item.future)
    for worker in workers:
        task = _taken(worker)
        if task is not None:
            task.future.cancel(interrupt=True)
    # A moment for the interrupted tasks to unwind (one blocked in a threadkit call does at
    # once), so that only those that cannot are reported as stragglers.
    grace = _p.monotonic() + _INTERRUPT_GRACE
    for thread in _core_threads(core):
        if thread is not me:
            thread.join(max(grace - _p.monotonic(), 0.0))
