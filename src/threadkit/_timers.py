"""``Timer`` and ``PeriodicTimer``: timed calls as entries of a ``Scheduler``, not threads.

``threading.Timer`` is a thread that sleeps: 10,000 of them are 10,000 threads, it can only
be started once, and its ``cancel()`` races with the call (``Timer.run`` checks the flag, then
calls). Here a ``Timer`` is itself an entry in the heap of one scheduler thread
(``default_scheduler()``), and its call runs on that thread (the default scheduler hands the
timekeeping to a fresh thread when a call blocks, so a slow callback holds up no other
timer). A ``PeriodicTimer``'s ticks are entries too, and its runs go to an executor (the
scheduler's, else threadkit's timer pool, whose idle threads exit), so that an overrun can be
seen. ``cancel()`` and the scheduler decide under one lock which of them wins, so
``cancel()`` returning True means the call never runs.
"""

from __future__ import annotations

import heapq
import itertools
import math
import weakref
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Literal

from . import _exit, _scheduler
from ._core import WaitQueue, _clock, deadline_after, get_clock, get_random, wait_deadline
from ._core import _primitives as _p
from ._pool import ThreadPoolExecutor
from ._scheduler import Scheduler, TimerHandle, _Entry, default_scheduler, report_to_excepthook
from ._sync import Event

__all__ = ["PeriodicStatistics", "PeriodicTimer", "Timer"]

Mode = Literal["fixed_rate", "fixed_delay"]
OnOverrun = Literal["skip", "delay", "burst"]

_pool: ThreadPoolExecutor | None = None
_pool_lock = _p.allocate_lock()


def _timer_pool() -> ThreadPoolExecutor:
    """The pool where timer callbacks run: made on first use; idle threads exit."""
    global _pool
    pool = _pool
    if pool is None:
        with _pool_lock:
            pool = _pool
            if pool is None:
                pool = _pool = ThreadPoolExecutor(
                    32, thread_name_prefix="threadkit-timer", idle_timeout=1.0
                )
    return pool


# Schedulers with non-daemon timers: interpreter exit waits for those timers, as it waits
# for a non-daemon threading.Timer (the count is each scheduler's _waited).
_waited_on: weakref.WeakSet[Scheduler] = weakref.WeakSet()
_counter = itertools.count(1)


class _Calling(_p.local):
    timer: Timer | None = None  # the Timer whose call this thread is running


_calling = _Calling()
_NO_KWARGS: dict[str, Any] = {}  # (never changed)
_LIVE = ("scheduled", "running")
_heappush = heapq.heappush
_get_ident = _p.get_ident


class Timer(_Entry):
    """Call a function after ``interval`` seconds: a drop-in for ``threading.Timer``.

    Same constructor and the surface code uses of it: ``start()`` (once; ``RuntimeError``
    the second time, as a thread), ``cancel()``, ``join(timeout)``, ``is_alive()``,
    ``name``, ``daemon``, ``finished`` (an ``Event``, set once the call ran or the timer was
    cancelled), ``interval``, ``function``, ``args``, ``kwargs``. But it is not a thread: it
    is an entry in the heap of the ``default_scheduler()`` (or ``scheduler=``), and the call
    runs on that scheduler's thread (the default one hands off to a fresh thread when a
    call blocks, so a slow callback does not hold up the other timers), or on its executor.
    ``isinstance(t, threading.Thread)`` is False.

    Beyond the stdlib: ``cancel()`` returns True iff it prevented the call (which then
    never runs); ``restart(interval=None)`` schedules it again, so a timer is reusable;
    ``remaining()`` and ``fired``. A subclass that overrides ``run()`` (the recipe that
    loops on ``finished.wait(interval)``) has its ``run()`` called at ``start()``, as a
    thread would. At interpreter exit, pending non-daemon timers still run (the exit waits
    for them, as for ``threading.Timer``); daemon ones are dropped.

    Examples:
        >>> fired = Event()
        >>> t = Timer(0.01, fired.set)
        >>> t.start()
        >>> fired.wait(5), t.join(5), t.fired
        (True, None, True)
    """

    # The scheduler's lock guards the _Entry fields (_state: "initial" before start(),
    # "scheduled", "running", then "done", "cancelled" or "misfired"; _seq, the round),
    # _cancelled (cancel() was called), _finished and _joiners (made on first use). _a/_kw
    # back args/kwargs (None: not made yet). Fields that seldom change are class defaults,
    # set in the instance's __dict__ when they do: a timer is small and quick to make.
    __slots__ = ("__dict__", "__weakref__", "_a", "_daemon", "_kw", "function", "interval")

    _seq = 0
    _cancelled = False
    _name: str | None = None
    _finished: Event | None = None
    _joiners: WaitQueue | None = None

    def __init__(
        self,
        interval: float,
        function: Callable[..., object],
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        *,
        scheduler: Scheduler | None = None,
        daemon: bool | None = None,
    ) -> None:
        self.interval = interval
        self.function = function
        self._a = args
        self._kw = kwargs
        self._scheduler = scheduler or _scheduler._default or default_scheduler()
        if daemon is None:  # inherited from the creating thread (the main thread's: False)
            daemon = _get_ident() != _MAIN and _p.current_thread().daemon
        self._daemon = daemon
        self._state = "initial"

    # -- the Thread-like surface -----------------------------------------------------------

    @property
    def args(self) -> Any:
        """The positional arguments (a list unless given; as the stdlib's)."""
        if self._a is None:
            self._a = []
        return self._a

    @args.setter
    def args(self, args: Iterable[Any]) -> None:
        self._a = args

    @property
    def kwargs(self) -> Any:
        """The keyword arguments (a dict unless given; as the stdlib's)."""
        if self._kw is None:
            self._kw = {}
        return self._kw

    @kwargs.setter
    def kwargs(self, kwargs: Mapping[str, Any]) -> None:
        self._kw = kwargs

    @property
    def name(self) -> str:
        """The timer's name (``Timer-N`` unless set)."""
        if self._name is None:
            self._name = f"Timer-{next(_counter)}"
        return self._name

    @name.setter
    def name(self, name: str) -> None:
        self._name = str(name)

    @property
    def daemon(self) -> bool:
        """A daemon timer is dropped at interpreter exit; a non-daemon one is waited for."""
        return self._daemon

    @daemon.setter
    def daemon(self, daemonic: bool) -> None:
        if self._state != "initial":
            raise RuntimeError("cannot set daemon status of active thread")
        self._daemon = bool(daemonic)

    @property
    def ident(self) -> None:
        """None: a timer is not a thread."""
        return None

    @property
    def finished(self) -> Event:
        """An ``Event`` set when the call has run or the timer was cancelled."""
        with self._scheduler._lock:
            event = self._finished
            if event is None:
                event = self._finished = Event()
                if self._cancelled or (self._state not in _LIVE and self._state != "initial"):
                    event.set()
        return event

    @property
    def fired(self) -> bool:
        """True once this round's call has started (``restart()`` begins a new round)."""
        return self._state in {"running", "done"}

    def is_alive(self) -> bool:
        """True from ``start()`` until the call has returned or the timer was cancelled."""
        return self._state in _LIVE

    def start(self) -> None:
        """Schedule the call ``interval`` seconds from now.

        Raises:
            RuntimeError: if called twice ("threads can only be started once").
            ValueError: a NaN ``interval`` (a negative one runs at once, as the stdlib's).
        """
        # (Timers are often started by the thousand: this is Scheduler._push for the common
        # case, cheaper, with acquire/release, which cost half as much as a with statement.)
        scheduler = self._scheduler
        interval = self.interval
        lock = scheduler._lock
        lock.acquire()
        try:
            if (
                self._state != "initial"
                or self._cancelled
                or not interval > 0
                or type(self).run is not _RUN  # (its run() does its own waiting: call it now)
                or scheduler._closed
            ):
                self._start_slowly()
                return
            self._when = when = _clock._current.now() + interval  # get_clock().now()
            self._state = "scheduled"
            heap = scheduler._heap
            if heap and when >= heap[0]:
                # Not the earliest: the thread sleeps until an earlier time, and puts this
                # one in the heap when it wakes (Scheduler._pending).
                scheduler._pending.append(self)
            else:  # the new earliest (no entry is due this early): the thread must know
                scheduler._entries[when] = self
                _heappush(heap, when)
                scheduler._wake(when)
            if not self._daemon:  # (as in _push_now)
                scheduler._waited += 1
                if not scheduler._exit_tracked:
                    scheduler._exit_tracked = True
                    _waited_on.add(scheduler)
        finally:
            lock.release()

    def _start_slowly(self) -> None:  # the scheduler's lock held
        if self._state != "initial":
            raise RuntimeError("threads can only be started once")
        if self._cancelled:  # cancelled before start: it never runs (as the stdlib's)
            self._state = "cancelled"
            return
        self._push_now(True)

    def _push_now(self, count: bool) -> None:
        """Put the timer in the heap, due ``interval`` from now (lock held); ``count``: it
        was not live, so a non-daemon one is one more for the exit to wait for."""
        interval = self.interval
        if not interval > 0:
            if math.isnan(interval):
                raise ValueError("interval must be a number, not NaN")
            interval = 0  # negative: at once, as the stdlib's
        if type(self).run is not _RUN:
            interval = 0  # a subclass's run() does its own waiting: call it now
        scheduler = self._scheduler
        scheduler._push(self, get_clock().now() + interval)
        if count and not self._daemon:
            scheduler._waited += 1
            if not scheduler._exit_tracked:
                scheduler._exit_tracked = True
                _waited_on.add(scheduler)

    def _call(self, seq: int) -> None:  # on the scheduler thread (or its executor)
        outer = _calling.timer
        _calling.timer = self  # join() from inside the call raises, as Thread.join() does
        try:
            self.run()  # what it raises goes to the scheduler's on_error / excepthook
        finally:
            _calling.timer = outer

    def run(self) -> None:
        """Call the function (what the timer does when due; a subclass may override it)."""
        self.function(*(self._a or ()), **(self._kw or _NO_KWARGS))

    def _settle(self) -> None:  # the scheduler's lock held: the call ran, or never will
        if self._finished is not None:
            self._finished.set()
        if self._joiners:
            self._joiners.unpark_all()
        if not self._daemon:
            scheduler = self._scheduler
            scheduler._waited -= 1
            if scheduler._waited == 0:
                scheduler._quiet.unpark_all()

    def cancel(self) -> bool:
        """Stop the timer, if its call has not started; True iff that prevented the call.

        When it returns True, the call never runs. False: it already ran, is running (it is
        not interrupted), or was cancelled before. Either way ``finished`` is set, as the
        stdlib's ``cancel()`` sets it.
        """
        scheduler = self._scheduler
        with scheduler._lock:
            if self._state == "initial":
                prevented = not self._cancelled
            else:
                prevented = scheduler._cancel_locked(self)
            self._cancelled = True  # finished is set from now on, even if made later
            if self._finished is not None:
                self._finished.set()
        return prevented

    def join(self, timeout: float | None = None) -> None:
        """Wait until the call has returned or the timer was cancelled (up to ``timeout``).

        Like ``Thread.join()``: returns None either way (check ``is_alive()``).

        Raises:
            RuntimeError: the timer was not started, or join() is called from its own call.
        """
        if _calling.timer is self:
            raise RuntimeError("cannot join current thread")
        deadline = wait_deadline(timeout)
        lock = self._scheduler._lock
        with lock:
            if self._state == "initial":
                raise RuntimeError("cannot join thread before it is started")
            queue = self._joiners
            if queue is None:
                queue = self._joiners = WaitQueue(self, lock)
        queue.wait_for(lambda: self._state not in _LIVE, deadline)

    # -- beyond the stdlib -----------------------------------------------------------------

    def restart(self, interval: float | None = None) -> None:
        """Schedule the call again, ``interval`` seconds from now (default: ``self.interval``).

        A pending call is dropped first; a running one is not interrupted (it finishes, and
        the new round goes on regardless). ``fired`` and ``finished`` start over. A timer
        never started is started.

        Raises:
            ValueError: a NaN ``interval``.
            RuntimeError: its scheduler was shut down (the timer is left as it was).
        """
        if interval is not None:
            if math.isnan(interval):
                raise ValueError("interval must be a number, not NaN")
            self.interval = interval
        scheduler = self._scheduler
        with scheduler._lock:
            if scheduler._closed:  # before anything changes: the timer stays as it is
                raise RuntimeError("cannot schedule new calls after shutdown")
            live = self._state in _LIVE
            if self._state == "scheduled":
                scheduler._drop(self)  # its old time in the heap is dead now
            self._seq += 1  # a new round: the end of a call of the old one leaves it be
            self._cancelled = False
            if self._finished is not None:
                self._finished.clear()
            self._push_now(not live)

    def remaining(self) -> float | None:
        """Seconds until the call is due (0.0 if overdue); None if it is not pending."""
        with self._scheduler._lock:
            when = self._when if self._state == "scheduled" else None
        if when is None:
            return None
        return max(0.0, when - get_clock().now())

    def __repr__(self) -> str:
        return f"<threadkit.Timer {self.name!r} {self._state} interval={self.interval!r}>"


_RUN = Timer.run
_MAIN = _p.main_thread().ident


@dataclass(frozen=True, slots=True)
class PeriodicStatistics:
    """A snapshot of a ``PeriodicTimer``.

    Attributes:
        runs: runs started.
        completed: runs that returned or raised.
        failures: runs that raised.
        overruns: times a run was due while ``max_concurrent`` runs were still going.
        skipped: due runs dropped for an overrun (``on_overrun="skip"``, or a second one
            while ``"delay"`` already held one back).
        delayed: due runs held back for an overrun and started when a run finished.
        running: runs going now.
        max_lateness: the most a run started after its due time (seconds; held-back runs
            not counted).
        last_duration: how long the last completed run took (seconds; None before one).

    Examples:
        >>> import threadkit
        >>> latch = threadkit.CountDownLatch(3)
        >>> timer = threadkit.PeriodicTimer(0.001, latch.count_down)
        >>> timer.start()
        >>> latch.wait(5)
        True
        >>> timer.stop()
        >>> timer.join(5)  # the run going now, if one is, ends
        True
        >>> stats = timer.statistics()
        >>> stats.runs >= 3, stats.failures, stats.running
        (True, 0, 0)
    """

    runs: int
    completed: int
    failures: int
    overruns: int
    skipped: int
    delayed: int
    running: int
    max_lateness: float
    last_duration: float | None


_MODES = ("fixed_rate", "fixed_delay")
_OVERRUNS = ("skip", "delay", "burst")


class PeriodicTimer:
    """Call a function every ``interval`` seconds, on the scheduler and the timer pool.

    Args:
        interval: seconds between runs (> 0).
        function: what to call, with ``args`` and ``kwargs``.
        mode: ``"fixed_rate"`` (the default) runs at start + k * interval, without drift;
            ``"fixed_delay"`` waits ``interval`` after each run ends.
        on_overrun: what to do with a run due while ``max_concurrent`` runs still go:
            ``"skip"`` drops it, ``"delay"`` starts it as soon as a run ends (at most one
            held back), ``"burst"`` keeps every one and runs them back to back to catch up.
        max_concurrent: how many runs may overlap.
        jitter: a fraction of ``interval`` (0 <= jitter < 1): each run is moved later by a
            random part of up to ``jitter * interval`` (from threadkit's injectable random
            source), so timers started together spread out. The schedule does not drift.
        scheduler: the scheduler that keeps time (default: ``default_scheduler()``).
        executor: where runs go (default: the scheduler's executor, else the timer pool).
        on_error: called with the exception when a run raises (default:
            ``threading.excepthook``); the timer goes on either way.
        name: for ``repr``.

    Examples:
        >>> ticks = Semaphore(0)
        >>> with PeriodicTimer(0.01, ticks.release) as timer:
        ...     ticks.acquire(timeout=5) and ticks.acquire(timeout=5)
        True
        >>> timer.statistics().runs >= 2
        True
    """

    def __init__(
        self,
        interval: float,
        function: Callable[..., object],
        /,
        *,
        args: Iterable[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        mode: Mode = "fixed_rate",
        on_overrun: OnOverrun = "skip",
        max_concurrent: int = 1,
        jitter: float = 0.0,
        scheduler: Scheduler | None = None,
        executor: Executor | None = None,
        on_error: Callable[[BaseException], object] | None = None,
        name: str | None = None,
    ) -> None:
        _check_interval(interval)
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, not {mode!r}")
        if on_overrun not in _OVERRUNS:
            raise ValueError(f"on_overrun must be one of {_OVERRUNS}, not {on_overrun!r}")
        if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int):
            raise TypeError(f"max_concurrent must be an int, not {type(max_concurrent).__name__}")
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be >= 1, not {max_concurrent!r}")
        if not 0 <= jitter < 1:
            raise ValueError(f"jitter must be a fraction in [0, 1), not {jitter!r}")
        self.interval = interval
        self.function = function
        self.args = tuple(args)
        self.kwargs = dict(kwargs) if kwargs is not None else {}
        self.mode: Mode = mode
        self.on_overrun: OnOverrun = on_overrun
        self.max_concurrent = max_concurrent
        self.jitter = jitter
        self.name = name or f"PeriodicTimer-{next(_counter)}"
        self._scheduler = scheduler if scheduler is not None else default_scheduler()
        self._executor = executor
        self._on_error = on_error
        # _joiners.lock guards everything below.
        self._joiners = WaitQueue(self)
        self._lock = self._joiners.lock
        self._active = False
        self._round = 0  # start()/restart() begin a round; a stale tick or run is ignored
        self._handle: TimerHandle | None = None
        self._running = 0
        self._backlog = 0  # runs held back by an overrun ("delay": at most 1)
        self._runs = self._completed = self._failures = 0
        self._overruns = self._skipped = self._delayed = 0
        self._max_lateness = 0.0
        self._last_duration: float | None = None

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the series: the first run is due ``interval`` seconds from now.

        Raises:
            RuntimeError: it is running already (``restart()`` starts it over).
        """
        with self._lock:
            if self._active:
                raise RuntimeError(f"{self.name} is already started")
            self._start_locked()

    def _start_locked(self) -> None:
        self._active = True
        self._round += 1
        self._tick_at(self._round, get_clock().now() + self.interval)

    def stop(self) -> None:
        """Stop the series; idempotent. Runs going now finish (``join()`` waits for them)."""
        with self._lock:
            handle = self._stop_locked()
        if handle is not None:
            handle.cancel()

    def _stop_locked(self) -> TimerHandle | None:
        """Stop the series (lock held); return the pending tick's handle, to be cancelled
        once the lock is let go."""
        self._active = False
        self._round += 1
        self._backlog = 0
        handle, self._handle = self._handle, None
        if self._running == 0:
            self._joiners.unpark_all()
        return handle

    def restart(self, interval: float | None = None) -> None:
        """Stop, then start again (the first run ``interval`` from now; default unchanged).

        Atomic: two threads restarting at once each stop and start the series in turn.

        Raises:
            ValueError: ``interval`` is not > 0.
        """
        if interval is not None:
            _check_interval(interval)
        with self._lock:
            handle = self._stop_locked()
            if interval is not None:
                self.interval = interval
            self._start_locked()
        if handle is not None:
            handle.cancel()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the timer is stopped and no run is going; False if ``timeout`` passed."""
        deadline = deadline_after(timeout, "timeout")
        return self._joiners.wait_for(lambda: not self._active and self._running == 0, deadline)

    def __enter__(self) -> PeriodicTimer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.join()

    @property
    def running(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._active

    def statistics(self) -> PeriodicStatistics:
        """Return a snapshot of the timer's counters."""
        with self._lock:
            return PeriodicStatistics(
                runs=self._runs,
                completed=self._completed,
                failures=self._failures,
                overruns=self._overruns,
                skipped=self._skipped,
                delayed=self._delayed,
                running=self._running,
                max_lateness=self._max_lateness,
                last_duration=self._last_duration,
            )

    def __repr__(self) -> str:
        state = "running" if self._active else "stopped"
        return f"<threadkit.PeriodicTimer {self.name!r} {state} interval={self.interval!r}>"

    # -- ticks (scheduler thread) and runs (executor) ----------------------------------------

    def _tick_at(self, round_: int, nominal: float) -> None:  # lock held
        """Schedule the tick of the run nominally due at ``nominal`` (moved by jitter)."""
        due = nominal
        if self.jitter:
            due += get_random().uniform(0.0, self.jitter * self.interval)
        self._handle = self._scheduler._schedule(due, self._tick, (round_, nominal, due))

    def _tick(self, round_: int, nominal: float, due: float) -> None:
        start = False
        with self._lock:
            if round_ != self._round or not self._active:
                return
            if self._running < self.max_concurrent:
                self._running += 1
                self._runs += 1
                self._max_lateness = max(self._max_lateness, get_clock().now() - due)
                start = True
            else:
                self._overruns += 1
                if self.on_overrun == "burst" or (
                    self.on_overrun == "delay" and self._backlog == 0
                ):
                    self._backlog += 1
                    self._delayed += 1
                else:
                    self._skipped += 1
            if self.mode == "fixed_rate":
                self._tick_at(round_, nominal + self.interval)
            else:
                self._handle = None  # fixed delay: the next tick comes when a run ends
        if start:
            self._submit(round_)

    def _submit(self, round_: int) -> None:
        executor = self._executor or self._scheduler._executor or _timer_pool()
        try:
            executor.submit(self._run, round_)
        except RuntimeError:  # the executor was shut down (interpreter exit): the series ends
            with self._lock:
                self._running -= 1
                self._runs -= 1
                self._active = False
                if self._running == 0:
                    self._joiners.unpark_all()

    def _run(self, round_: int) -> None:
        clock = get_clock()
        began = clock.now()
        failed = False
        try:
            self.function(*self.args, **self.kwargs)
        except BaseException as exc:
            failed = True
            self._report(exc)
            del exc
        ended = clock.now()
        again = False
        with self._lock:
            self._running -= 1
            self._completed += 1
            self._failures += failed
            self._last_duration = ended - began
            # A run of an earlier round (restart() while it went) frees a place too: the
            # current round's held-back run, or its next fixed-delay tick, may need it.
            round_ = self._round
            if self._active:
                if self._backlog:
                    self._backlog -= 1
                    self._running += 1
                    self._runs += 1
                    again = True
                elif self.mode == "fixed_delay" and self._handle is None:
                    self._tick_at(round_, ended + self.interval)
            if self._running == 0 and not self._active:
                self._joiners.unpark_all()
        if again:
            self._submit(round_)

    def _report(self, exc: BaseException) -> None:
        if self._on_error is not None:
            try:
                self._on_error(exc)
                return
            except BaseException as handler_exc:
                exc = handler_exc
        report_to_excepthook(exc)


def _check_interval(interval: float) -> None:
    if isinstance(interval, bool) or not isinstance(interval, (int, float)):
        raise TypeError(f"interval must be a number, not {type(interval).__name__}")
    if not interval > 0 or math.isinf(interval):
        raise ValueError(f"interval must be a finite number > 0, not {interval!r}")


def _wait_for_timers() -> None:
    """At interpreter exit, first of all: wait for the pending non-daemon timers, as the
    stdlib waits for a non-daemon ``threading.Timer``'s thread. Unlike the stdlib, not
    forever: once the last of them is due, their calls get the exit supervisor's default
    deadline to return; then the supervisor stops the schedulers and reports a call still
    running as a straggler (``_scheduler._stop_at_exit``). A timer that one of those calls
    starts on another scheduler is waited for too (one more pass over the schedulers)."""
    grace = _exit.get_default_deadline()
    given_up: set[int] = set()  # schedulers whose calls outran their grace
    while True:
        waited = False
        for scheduler in _snapshot(_waited_on):
            if id(scheduler) in given_up:
                continue
            with scheduler._lock:
                if scheduler._waited == 0:
                    continue
                last = max(
                    (
                        entry._when
                        for entry in scheduler._live()
                        if isinstance(entry, Timer) and not entry._daemon
                    ),
                    default=get_clock().now(),
                )
            waited = True
            deadline = None if grace is None else last + grace
            # False: a call still running past its grace; the supervisor reports it.
            if not scheduler._quiet.wait_for(lambda: scheduler._waited == 0, deadline):  # noqa: B023
                given_up.add(id(scheduler))
        if not waited:
            return


def _snapshot(schedulers: weakref.WeakSet[Scheduler]) -> list[Scheduler]:
    """The schedulers in the set now, although other threads may add to it meanwhile
    (iterating a ``WeakSet`` that changes size raises ``RuntimeError``: try again)."""
    while True:
        try:
            return list(schedulers)
        except RuntimeError:
            continue


# Registered after the exit supervisor's hook (threading runs them last in, first out), so it
# runs before the supervisor stops anything.
_p.register_atexit(_wait_for_timers)
