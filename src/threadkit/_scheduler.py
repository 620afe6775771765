"""``Scheduler``: one thread over a heap of timed calls.

Every timed call in threadkit (``Timer``, ``PeriodicTimer``, ``Scheduler.call_at``) is an
entry in a heap, not a thread: one scheduler thread sleeps until the earliest entry is due,
runs it (or hands it to an executor) and sleeps again. ``threading.Timer`` spends a whole
thread on each call; ``sched.scheduler`` blocks the thread that runs it and does not notice
an earlier event added from another thread while it sleeps (cpython issue 64325). Here an
earlier entry wakes the sleeping thread.

The scheduler thread parks on a threadkit ``WaitQueue`` with the earliest deadline, so it
runs on the injectable clock. On a virtual clock (``MockClock``) it does not park with a
deadline: it registers a wake-up with the clock instead, and ``MockClock.advance()`` waits at
each due time until the scheduler has dispatched everything due then, so a test steps through
a day of timers, in order, in milliseconds.
"""

from __future__ import annotations

import heapq
import itertools
import math
import warnings
import weakref
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Literal

from ._core import WaitQueue, get_clock
from ._core import _primitives as _p

__all__ = ["Scheduler", "SchedulerStatistics", "TimerHandle", "default_scheduler"]

HandleState = Literal["scheduled", "running", "done", "cancelled", "misfired"]


class TimerHandle:
    """A call scheduled on a ``Scheduler``: ask when it is due, or cancel it.

    ``state()`` is ``"scheduled"`` until the scheduler takes it, then ``"running"`` (it is
    being run or handed to an executor), then ``"done"``; or ``"cancelled"``, or
    ``"misfired"`` when it was due longer ago than the scheduler's ``misfire_grace``.
    """

    __slots__ = ("_args", "_executor", "_fn", "_kwargs", "_scheduler", "_state", "_when")

    def __init__(
        self,
        scheduler: Scheduler,
        when: float,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        executor: Executor | None,
    ) -> None:
        self._scheduler = scheduler
        self._when = when
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._executor = executor
        self._state: HandleState = "scheduled"  # guarded by the scheduler's lock

    @property
    def when(self) -> float:
        """When the call is due, on the threadkit clock (``get_clock().now()``)."""
        return self._when

    def state(self) -> HandleState:
        """``"scheduled"``, ``"running"``, ``"done"``, ``"cancelled"`` or ``"misfired"``."""
        return self._state

    def cancelled(self) -> bool:
        """True if ``cancel()`` prevented the call."""
        return self._state == "cancelled"

    def cancel(self) -> bool:
        """Prevent the call; True if it was still scheduled (it will then never run).

        False if the scheduler had already taken it (it runs, or ran, or misfired) or it was
        cancelled before.
        """
        return self._scheduler.cancel(self)

    def __repr__(self) -> str:
        fn = getattr(self._fn, "__qualname__", None) or repr(self._fn)
        return f"<TimerHandle {fn} when={self._when:.3f} {self._state}>"


@dataclass(frozen=True, slots=True)
class SchedulerStatistics:
    """A snapshot of a ``Scheduler``.

    Attributes:
        pending: calls scheduled and not yet due (cancelled ones not counted).
        fired: calls taken and run (or handed to the executor).
        cancelled: calls cancelled before they were due.
        misfires: calls dropped because they were due more than ``misfire_grace`` ago.
        errors: calls that raised (reported to ``on_error``).
        running: whether the scheduler thread is alive.
    """

    pending: int
    fired: int
    cancelled: int
    misfires: int
    errors: int
    running: bool


class Scheduler:
    """One thread that runs calls at given times: ``call_at``, ``call_later``, ``call_every``.

    The thread starts with the first call scheduled. Calls run on the scheduler thread,
    one at a time, unless ``executor`` is given (then each call is submitted to it, and the
    scheduler thread only keeps time). A call that raises never stops the scheduler: the
    exception goes to ``on_error(handle, exc)``, by default ``threading.excepthook`` as for a
    thread. With ``misfire_grace`` set, a call found due longer ago than that (the scheduler
    was busy, or the machine asleep) is not run: ``on_misfire(handle, lateness)`` is told, by
    default a ``RuntimeWarning``.

    Args:
        name: the scheduler thread's name.
        executor: where calls run (None: on the scheduler thread).
        on_error: called with the handle and the exception when a call raises.
        misfire_grace: seconds a call may be late and still run (None: any lateness).
        on_misfire: called with the handle and its lateness when a call misfires.

    Example:
        >>> with Scheduler() as s:
        ...     h = s.call_later(0.01, print, "tick")
        ...     s.call_later(60, print, "never").cancel()
        True
        tick
        >>> h.state()
        'done'
    """

    def __init__(
        self,
        *,
        name: str = "threadkit-scheduler",
        executor: Executor | None = None,
        on_error: Callable[[TimerHandle, BaseException], object] | None = None,
        misfire_grace: float | None = None,
        on_misfire: Callable[[TimerHandle, float], object] | None = None,
    ) -> None:
        if misfire_grace is not None and (math.isnan(misfire_grace) or misfire_grace < 0):
            raise ValueError(f"misfire_grace must be None or >= 0, not {misfire_grace!r}")
        self.name = name
        self._executor = executor
        self._on_error = on_error
        self._misfire_grace = misfire_grace
        self._on_misfire = on_misfire
        # The scheduler thread parks here; its lock guards everything below and the state
        # of every handle of this scheduler.
        self._queue = WaitQueue(f"<Scheduler {name!r}>")  # not self: the parked thread holds it
        self._lock = self._queue.lock
        self._heap: list[tuple[float, int, TimerHandle]] = []  # (when, seq, handle)
        self._seq = itertools.count()
        self._thread: _p.StdThread | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None  # while the thread runs
        self._ident: int | None = None  # the scheduler thread's, once it runs
        self._closed = False
        self._drain = False  # shut down with cancel_pending=False: run what is left first
        self._cancelled_in_heap = 0  # cancelled entries still in the heap (removed lazily)
        self._fired = 0
        self._cancelled = 0
        self._misfires = 0
        self._errors = 0
        # Virtual clocks: the earliest wake-up registered with the clock (inf: none), how
        # many times the thread has gone back to sleep, and the advancers waiting for that.
        self._virtual_next = math.inf
        self._rounds = 0
        self._settled = WaitQueue(self, self._lock)

    # -- scheduling ------------------------------------------------------------------------

    def call_at(
        self, when: float, fn: Callable[..., object], /, *args: Any, **kwargs: Any
    ) -> TimerHandle:
        """Run ``fn(*args, **kwargs)`` at ``when`` (a reading of the threadkit clock).

        A time already passed runs it as soon as the scheduler gets to it.

        Raises:
            ValueError: ``when`` is NaN.
            RuntimeError: the scheduler was shut down.
        """
        if math.isnan(when):
            raise ValueError("when must be a number, not NaN")
        return self._schedule(when, fn, args, kwargs, self._executor)

    def call_later(
        self, delay: float, fn: Callable[..., object], /, *args: Any, **kwargs: Any
    ) -> TimerHandle:
        """Run ``fn(*args, **kwargs)`` ``delay`` seconds from now.

        Raises:
            ValueError: ``delay`` is negative or NaN.
            RuntimeError: the scheduler was shut down.
        """
        if not delay >= 0:  # (NaN fails it too)
            raise ValueError(f"delay must be >= 0, not {delay!r}")
        return self._schedule(get_clock().now() + delay, fn, args, kwargs, self._executor)

    def call_every(
        self,
        interval: float,
        fn: Callable[..., object],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Run ``fn(*args, **kwargs)`` every ``interval`` seconds; return its started
        ``PeriodicTimer`` (``stop()`` it to end the series).

        Runs go to this scheduler's executor, or to threadkit's timer pool, so that a run
        that overruns the next one is seen and handled (``PeriodicTimer``'s ``on_overrun``;
        build a ``PeriodicTimer(..., scheduler=s)`` for the other options).
        """
        from ._timers import PeriodicTimer  # (the timers are built on this module)

        timer = PeriodicTimer(interval, fn, args=args, kwargs=kwargs, scheduler=self)
        timer.start()
        return timer

    def _schedule(
        self,
        when: float,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        executor: Executor | None,
    ) -> TimerHandle:
        handle = TimerHandle(self, when, fn, args, kwargs, executor=executor)
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new calls after shutdown")
            heap = self._heap
            heapq.heappush(heap, (when, next(self._seq), handle))
            if heap[0][2] is handle:  # the new earliest: the sleeping thread must know
                if self._thread is None:
                    self._start()
                elif self._queue:
                    self._queue.unpark(1)
                self._register_virtual(when)
        return handle

    def cancel(self, handle: TimerHandle) -> bool:
        """Cancel ``handle`` (see ``TimerHandle.cancel``); True if that prevented the call."""
        with self._lock:
            return self._cancel_locked(handle)

    def _cancel_locked(self, handle: TimerHandle) -> bool:
        if handle._state != "scheduled" or handle._scheduler is not self:
            return False
        handle._state = "cancelled"
        handle._fn = handle._args = handle._kwargs = None  # type: ignore[assignment]
        self._cancelled += 1
        self._cancelled_in_heap += 1
        if self._cancelled_in_heap > 64 and self._cancelled_in_heap > len(self._heap) // 2:
            self._heap = [e for e in self._heap if e[2]._state == "scheduled"]
            heapq.heapify(self._heap)
            self._cancelled_in_heap = 0
        return True

    # -- life cycle --------------------------------------------------------------------------

    def shutdown(self, wait: bool = True, *, cancel_pending: bool = True) -> None:
        """Stop the scheduler: no new calls; idempotent.

        Args:
            wait: return only once the scheduler thread has finished (and so has a call it
                was running on its own thread).
            cancel_pending: cancel the calls not yet due (each handle's ``cancel()`` then
                returns False); False runs them at their times first.
        """
        with self._lock:
            self._closed = True
            if cancel_pending:
                for _, _, handle in self._heap:
                    if handle._state == "scheduled":
                        handle._state = "cancelled"
                        self._cancelled += 1
                self._heap.clear()
                self._cancelled_in_heap = 0
            else:
                self._drain = True
            self._queue.unpark_all()
            thread = self._thread
            if self._finalizer is not None:
                self._finalizer.detach()
        if wait and thread is not None and thread.ident != _p.get_ident():
            thread.join()

    def __enter__(self) -> Scheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=True, cancel_pending=False)

    def statistics(self) -> SchedulerStatistics:
        """Return a snapshot of the scheduler's counters."""
        with self._lock:
            thread = self._thread
            return SchedulerStatistics(
                pending=len(self._heap) - self._cancelled_in_heap,
                fired=self._fired,
                cancelled=self._cancelled,
                misfires=self._misfires,
                errors=self._errors,
                running=thread is not None and thread.is_alive(),
            )

    def __repr__(self) -> str:
        s = self.statistics()
        state = "closed" if self._closed else "open"
        return f"<threadkit.Scheduler {self.name!r} {state} pending={s.pending}>"

    # -- the scheduler thread ----------------------------------------------------------------

    def _start(self) -> None:  # lock held
        # The thread holds the scheduler weakly (DESIGN 8): one dropped without shutdown()
        # is collected, which wakes the thread to end (with a ResourceWarning).
        thread = _p.StdThread(target=_loop, args=(weakref.ref(self),), name=self.name, daemon=True)
        self._thread = thread
        self._finalizer = weakref.finalize(self, _collected, self._queue, self.name)
        self._finalizer.atexit = False
        thread.start()

    def _step(self) -> tuple[list[TimerHandle], float, Any, float | None, bool]:
        """One turn of the scheduler thread: take what is due, or say how long to sleep.

        Returns ``(due, now, waiter, deadline, idle)``: the calls to dispatch now, or none
        and the waiter to park (None: the scheduler ended) with its deadline (``idle``: the
        one after which an idle thread ends).
        """
        due: list[TimerHandle] = []
        waiter = None
        deadline = None
        idle = False
        with self._lock:
            heap = self._heap  # (cancel() may have compacted it into a new list)
            clock = get_clock()
            now = clock.now()
            while heap and heap[0][0] <= now:
                handle = heapq.heappop(heap)[2]
                if handle._state == "scheduled":
                    handle._state = "running"
                    due.append(handle)
                else:
                    self._cancelled_in_heap -= 1
            if not due:
                if self._closed and (not self._drain or len(heap) == self._cancelled_in_heap):
                    self._rounds += 1
                    self._settled.unpark_all()
                    return due, now, None, None, False
                deadline = heap[0][0] if heap else None
                if deadline is None and not clock.virtual and not self._closed:
                    deadline = now + _IDLE_EXIT  # no work: the thread ends if none comes
                    idle = True
                if clock.virtual:  # the clock's wake-up ends the wait (_virtual_due)
                    if deadline is not None:
                        self._register_virtual(deadline)
                    deadline = None
                waiter = self._queue.enqueue()
                self._rounds += 1  # asleep, with everything due dispatched
                self._settled.unpark_all()
        return due, now, waiter, deadline, idle

    def _idle_exit(self) -> bool:
        """The thread slept ``_IDLE_EXIT`` with nothing scheduled: may it end? (A call
        scheduled later starts a new one.)"""
        with self._lock:
            if len(self._heap) > self._cancelled_in_heap or self._closed:
                return False
            self._thread = None
            if self._finalizer is not None:
                self._finalizer.detach()
                self._finalizer = None
            self._rounds += 1
            self._settled.unpark_all()
            return True

    def _dispatch(self, handle: TimerHandle, now: float) -> None:
        late = now - handle._when
        grace = self._misfire_grace
        if grace is not None and late > grace:
            with self._lock:
                handle._state = "misfired"
                self._misfires += 1
            self._report_misfire(handle, late)
            return
        executor = handle._executor
        if executor is None:
            self._run(handle)
            return
        try:
            executor.submit(self._run, handle)
        except BaseException as exc:  # the executor was shut down: the call cannot run
            with self._lock:
                handle._state = "done"
                self._errors += 1
            self._report_error(handle, exc)

    def _run(self, handle: TimerHandle) -> None:
        fn, args, kwargs = handle._fn, handle._args, handle._kwargs
        handle._fn = handle._args = handle._kwargs = None  # type: ignore[assignment]
        failed = False
        try:
            fn(*args, **kwargs)
        except BaseException as exc:  # never the scheduler's end: to the error handler
            failed = True
            self._report_error(handle, exc)
            del exc
        with self._lock:
            handle._state = "done"
            self._fired += 1
            self._errors += failed

    def _report_error(self, handle: TimerHandle, exc: BaseException) -> None:
        if self._on_error is not None:
            try:
                self._on_error(handle, exc)
                return
            except BaseException as handler_exc:  # a broken handler: report that instead
                exc = handler_exc
        report_to_excepthook(exc)

    def _report_misfire(self, handle: TimerHandle, late: float) -> None:
        if self._on_misfire is not None:
            try:
                self._on_misfire(handle, late)
            except BaseException as exc:
                self._report_error(handle, exc)
            return
        warnings.warn(
            f"{handle!r} misfired: due {late:.3f} s ago, beyond misfire_grace="
            f"{self._misfire_grace}",
            RuntimeWarning,
            stacklevel=1,
        )

    # -- virtual clocks ----------------------------------------------------------------------

    def _register_virtual(self, when: float) -> None:  # lock held
        """On a virtual clock, ask it to wake the scheduler at ``when`` (if not asked yet)."""
        clock = get_clock()
        if clock.virtual and when < self._virtual_next:
            self._virtual_next = when
            clock.call_at(when, lambda: self._virtual_due(when))

    def _virtual_due(self, when: float) -> None:
        """A virtual clock reached ``when``: wake the scheduler thread, and wait (in the
        advancing thread) until it has dispatched what is due and gone back to sleep."""
        with self._lock:
            if self._virtual_next == when:
                self._virtual_next = math.inf
            thread = self._thread
            if thread is None or self._ident == _p.get_ident() or not thread.is_alive():
                return
            rounds = self._rounds
            self._queue.unpark(1)
            while self._rounds == rounds and thread.is_alive():
                waiter = self._settled.enqueue()
                self._lock.release()
                try:
                    self._settled.park(waiter, None)
                except BaseException:
                    self._settled.abandon(waiter)
                    raise
                finally:
                    self._lock.acquire()


def report_to_excepthook(exc: BaseException) -> None:
    """Hand an exception a callback raised to ``threading.excepthook`` (looked up now, so a
    hook installed later is used), naming the current thread, as a thread's would be."""
    _p.threading_module.excepthook(
        _p.ExceptHookArgs([type(exc), exc, exc.__traceback__, _p.current_thread()])
    )


def _loop(ref: weakref.ref[Scheduler]) -> None:
    """The scheduler thread: dispatch what is due, sleep until the next is."""
    scheduler = ref()
    if scheduler is not None:
        scheduler._ident = _p.get_ident()
    while scheduler is not None:
        due, now, waiter, deadline, idle = scheduler._step()
        if due:
            for handle in due:
                scheduler._dispatch(handle, now)
            del handle, due
        elif waiter is None:
            return  # shut down
        else:
            queue = scheduler._queue
            del scheduler  # asleep, it holds the scheduler only weakly
            try:
                woken = queue.park(waiter, deadline)
            except BaseException:
                queue.abandon(waiter)
                raise
            del queue, waiter
            scheduler = ref()
            if idle and not woken and scheduler is not None and scheduler._idle_exit():
                return
            continue
        scheduler = ref()


def _collected(queue: WaitQueue, name: str) -> None:
    """A started scheduler was dropped without ``shutdown()``: its thread ends."""
    with queue.lock:
        queue.unpark_all()
    warnings.warn(
        f"threadkit.Scheduler {name!r} was collected without shutdown(): its pending calls "
        "were dropped",
        ResourceWarning,
        stacklevel=2,
    )


# How long a scheduler thread with nothing scheduled waits before it ends (real seconds).
_IDLE_EXIT = 1.0

_default: Scheduler | None = None
_default_lock = _p.allocate_lock()


def default_scheduler() -> Scheduler:
    """Return the process-wide scheduler that ``Timer`` and ``PeriodicTimer`` use.

    It is made on first use, its thread starts with the first call scheduled, and it is
    stopped at interpreter exit (once every pending non-daemon ``Timer`` has run, as the
    stdlib waits for a non-daemon ``threading.Timer``).
    """
    global _default
    scheduler = _default
    if scheduler is None:
        with _default_lock:
            scheduler = _default
            if scheduler is None:
                scheduler = _default = Scheduler(name="threadkit-scheduler")
    return scheduler
