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

import collections
import heapq
import math
import warnings
import weakref
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Final, Literal

from . import _exit
from ._core import WaitQueue, get_clock
from ._core import _primitives as _p

__all__ = ["Scheduler", "SchedulerStatistics", "TimerHandle", "default_scheduler"]

_NO_KWARGS: dict[str, Any] = {}  # (never changed)
_heappush = heapq.heappush

HandleState = Literal["scheduled", "running", "done", "cancelled", "misfired"]


class _Entry:
    """What a scheduler's heap holds: a call due at ``_when`` (a TimerHandle, or a Timer).

    All fields are guarded by the scheduler's lock. ``_seq`` counts the entry's rounds in
    the heap: an entry pushed again (``Timer.restart()``) while its call runs starts a new
    round, and the end of the old round's call must not settle it. (A class default of 0 in
    each subclass: only ``Timer.restart()`` changes it, so a first push writes nothing.)
    """

    __slots__ = ("_scheduler", "_state", "_when")

    _scheduler: Scheduler
    _when: float
    _seq: int
    _state: str

    def _call(self, seq: int) -> None:
        """Make the call (on the scheduler thread, or the executor); ``seq``: the heap place
        it was taken from."""
        raise NotImplementedError

    def _settle(self) -> None:
        """The entry left the heap for good (done, cancelled, misfired); lock held."""


class TimerHandle(_Entry):
    """A call scheduled on a ``Scheduler``: ask when it is due, or cancel it.

    ``state()`` is ``"scheduled"`` until the scheduler takes it, then ``"running"`` (it is
    being run or handed to an executor), then ``"done"``; or ``"cancelled"``, or
    ``"misfired"`` when it was due longer ago than the scheduler's ``misfire_grace``.

    Examples:
        >>> import threadkit
        >>> scheduler = threadkit.Scheduler()
        >>> handle = scheduler.call_later(3600, print, "an hour later")
        >>> handle.state(), handle.cancel(), handle.state(), handle.cancel()
        ('scheduled', True, 'cancelled', False)
        >>> scheduler.shutdown()
    """

    __slots__ = ("_args", "_fn", "_kwargs")

    _seq = 0  # (pushed once: one round)

    def __init__(
        self,
        scheduler: Scheduler,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self._scheduler = scheduler
        self._fn = fn
        self._args = args
        self._kwargs = kwargs or _NO_KWARGS

    def _call(self, seq: int) -> None:
        fn, args, kwargs = self._fn, self._args, self._kwargs
        self._fn = self._args = self._kwargs = None  # type: ignore[assignment]
        fn(*args, **kwargs)

    @property
    def when(self) -> float:
        """When the call is due, on the threadkit clock (``get_clock().now()``)."""
        return self._when

    def state(self) -> HandleState:
        """``"scheduled"``, ``"running"``, ``"done"``, ``"cancelled"`` or ``"misfired"``."""
        return self._state  # type: ignore[return-value]

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


_new = object.__new__


def _handle(
    scheduler: Scheduler, fn: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> TimerHandle:
    """``TimerHandle(scheduler, fn, args, kwargs)``, without the cost of calling a class
    whose ``__init__`` is Python code (calls are often scheduled by the thousand)."""
    handle: TimerHandle = _new(TimerHandle)
    handle._scheduler = scheduler
    handle._fn = fn
    handle._args = args
    handle._kwargs = kwargs or _NO_KWARGS  # (an empty one is freed at once)
    return handle


@dataclass(frozen=True, slots=True)
class SchedulerStatistics:
    """A snapshot of a ``Scheduler``.

    Attributes:
        pending: calls scheduled and not yet due (cancelled ones not counted).
        fired: calls taken and run (or handed to the executor).
        cancelled: calls cancelled before they were due.
        misfires: calls dropped because they were due more than ``misfire_grace`` ago.
        errors: calls that raised (reported to ``on_error``).
        handoffs: times a call held the thread ``handoff_after`` and another took over.
        running: whether the scheduler thread is alive.

    Examples:
        >>> import threadkit
        >>> scheduler = threadkit.Scheduler()
        >>> ran = threadkit.Event()
        >>> _ = scheduler.call_later(0, ran.set)
        >>> ran.wait(5), scheduler.call_later(3600, print).cancel()
        (True, True)
        >>> scheduler.shutdown()  # waits for the thread: the call that set ran is counted
        >>> stats = scheduler.statistics()
        >>> stats.fired, stats.cancelled, stats.pending, stats.running
        (1, 1, 0, False)
    """

    pending: int
    fired: int
    cancelled: int
    misfires: int
    errors: int
    handoffs: int
    running: bool


class Scheduler:
    """One thread that runs calls at given times: ``call_at``, ``call_later``, ``call_every``.

    The thread starts with the first call scheduled and ends after a second with nothing
    scheduled (the next call starts another). Calls run on the scheduler thread, one at a
    time, unless ``executor`` is given (then each call is submitted to it, and the scheduler
    thread only keeps time). A call that raises never stops the scheduler: the exception
    goes to ``on_error(handle, exc)``, by default ``threading.excepthook`` as for a thread.
    With ``misfire_grace`` set, a call found due longer ago than that (the scheduler was
    busy, or the machine asleep) is not run: ``on_misfire(handle, lateness)`` is told, by
    default a ``RuntimeWarning``.

    ``handoff_after`` guards against a call that blocks: once a call has run that long on
    the scheduler thread, a watchdog hands the timekeeping to a fresh thread (the blocked one
    ends when its call returns), so a slow call delays the others by about that much, not by
    its whole length. It costs one more thread, polling every ``handoff_after`` seconds
    while calls are scheduled. ``default_scheduler()``, which ``Timer`` uses, has it on.

    Args:
        name: the scheduler thread's name.
        executor: where calls run (None: on the scheduler thread).
        on_error: called with the handle and the exception when a call raises.
        misfire_grace: seconds a call may be late and still run (None: any lateness).
        on_misfire: called with the handle and its lateness when a call misfires.
        handoff_after: seconds (real time) a call may hold the scheduler thread before
            another takes over (None: never; calls then run strictly one after another).

    Examples:
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
        handoff_after: float | None = None,
    ) -> None:
        if misfire_grace is not None and not misfire_grace >= 0:
            raise ValueError(f"misfire_grace must be None or >= 0, not {misfire_grace!r}")
        if handoff_after is not None and not 0 < handoff_after < math.inf:
            raise ValueError(
                f"handoff_after must be None or a finite number > 0, not {handoff_after!r}"
            )
        self.name = name
        self._executor = executor
        self._on_error = on_error
        self._misfire_grace = misfire_grace
        self._on_misfire = on_misfire
        self._handoff_after = handoff_after
        # The scheduler thread parks here (its owner is a name, not self: the parked thread
        # holds the queue, and must hold the scheduler only weakly). Its lock guards
        # everything below and the state of every handle of this scheduler.
        self._queue = WaitQueue(f"<Scheduler {name!r}>")
        self._lock = self._queue.lock
        # The heap holds due times, bare floats: a push allocates no object the garbage
        # collector tracks (on the free-threaded build a collection stops every thread, so
        # fewer of them is less lateness), and floats compare faster than tuples. _entries
        # maps a due time to the entry due then that was pushed first; _ties maps it to the
        # others due at the very same time, in the order they were pushed (rare with a real
        # clock, common with a virtual one), keyed by id(): an entry leaves it by identity
        # (a subclass's __eq__ is not asked) and in O(1), from anywhere in the line. The
        # heap holds the time of each live entry not in _pending (below) once; a time with
        # fewer live entries than copies in the heap has dead copies (cancelled, or left
        # behind by a re-push): there are len(_heap) - len(_entries) - _tied of them,
        # dropped lazily (an equal live time taken
        # first leaves the dead copy for later: the same).
        self._heap: list[float] = []
        self._entries: dict[float, _Entry] = {}
        self._ties: dict[float, collections.OrderedDict[int, _Entry]] = {}
        self._tied = 0  # entries in _ties
        # Timers that Timer.start() scheduled and left here, in push order, instead of in
        # the heap: each is due no earlier than the heap's first time was when it came, and
        # that time only comes down until the thread next takes something off the heap
        # (which it does after _flush()), so the thread, asleep until that time, needs them
        # only then. Whatever else looks at or changes the heap flushes them in first.
        # (The caller of start() pays an append instead of a dict insert and a heap push.)
        self._pending: list[_Entry] = []
        # The thread that keeps time now (None: none; the next call starts one), and its
        # number: a thread whose number is no longer _token was replaced (hand-off) and ends.
        self._thread: _p.StdThread | None = None
        self._token = 0
        self._watchdog: _p.StdThread | None = None
        # Every timekeeping thread started and maybe alive (one handed off from may still be
        # in its call), for the exit supervisor's straggler report.
        self._threads: list[_p.StdThread] = []
        self._nap: _p.LockType | None = None  # the watchdog sleeps on it
        # When (real monotonic time) the timekeeping thread started the call it runs now;
        # None between calls. Written by the current timekeeping thread (a replaced one
        # clears it only if it still holds its own value; _start() resets it), read by the
        # watchdog.
        self._busy_since: float | None = None
        # _step's answers besides the entry it returns (written by the current timekeeping
        # thread under the lock, read by it right after).
        self._taken_seq = 0
        self._taken_at = 0.0
        self._sleep_waiter: Any = None
        self._sleep_deadline: float | None = None
        self._sleep_idle = False
        self._finalizer: weakref.finalize[Any, Any] | None = None  # while a thread runs
        self._closed = False
        self._drain = False  # shut down with cancel_pending=False: run what is left first
        self._fired = 0
        self._cancelled = 0
        self._misfires = 0
        self._errors = 0
        self._handoffs = 0
        # Virtual clocks: the earliest wake-up registered with the clock (inf: none), how
        # many times the thread has gone back to sleep, and the advancers waiting for that.
        self._virtual_next = math.inf
        self._rounds = 0
        self._settled = WaitQueue(self, self._lock)
        # Non-daemon Timers pending or running here (interpreter exit waits for them), and
        # whether this scheduler is on the exit's list.
        self._waited = 0
        self._exit_tracked = False
        self._quiet = WaitQueue(self, self._lock)
        # At interpreter exit, the supervisor stops it (before workers and pools: a
        # scheduler starts work); it holds the scheduler weakly.
        _exit.register(
            self,
            _stop_at_exit,
            threads=_scheduler_threads,
            priority=_exit.ExitPriority.TIMERS,
            name=f"Scheduler {name!r}",
        )

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
        handle = _handle(self, fn, args, kwargs)
        lock = self._lock
        lock.acquire()  # (not a with statement: this costs half as much)
        try:
            self._push(handle, when)
        finally:
            lock.release()
        return handle

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
        handle = _handle(self, fn, args, kwargs)
        when = get_clock().now() + delay
        lock = self._lock
        lock.acquire()
        try:
            self._push(handle, when)
        finally:
            lock.release()
        return handle

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

    def _push(self, entry: _Entry, when: float) -> None:
        """Put ``entry`` in the heap, due at ``when`` (lock held).

        ``Timer.start()`` has its own version of this for its common case, which leaves a
        timer that is not the new earliest in ``_pending``: change both.
        """
        if self._closed:
            raise RuntimeError("cannot schedule new calls after shutdown")
        if self._pending:
            self._flush()  # they were pushed first: an equal time queues behind them
        entry._when = when
        entry._state = "scheduled"
        heap = self._heap
        if self._entries.setdefault(when, entry) is not entry:
            self._tie(entry, when)
            _heappush(heap, when)  # (an equal time is in the heap: the thread knows it)
            return
        _heappush(heap, when)
        if heap[0] is when:  # the new earliest: the thread must know
            self._wake(when)

    def _flush(self) -> None:  # lock held
        """Put the timers that ``Timer.start()`` left in ``_pending`` into the heap."""
        pending = self._pending
        self._pending = []
        entries, heap = self._entries, self._heap
        for entry in pending:
            when = entry._when
            if entries.setdefault(when, entry) is not entry:
                self._tie(entry, when)
        if len(pending) > len(heap) >> 3:  # many: one heapify costs less than a push each
            heap.extend([entry._when for entry in pending])
            heapq.heapify(heap)
        else:
            for entry in pending:
                _heappush(heap, entry._when)

    def _tie(self, entry: _Entry, when: float) -> None:
        """``entry`` is due at the same time as one pushed before it: it queues behind."""
        queue = self._ties.get(when)
        if queue is None:
            queue = self._ties[when] = collections.OrderedDict()
        queue[id(entry)] = entry
        self._tied += 1

    def _wake(self, when: float) -> None:  # lock held
        """A call now due first, at ``when``: start the thread, or wake it to see it."""
        if self._thread is None:
            self._start()
        elif self._queue:
            self._queue.unpark(1)
        self._register_virtual(when)

    def _take(self, when: float, entry: _Entry) -> None:
        """Take ``entry`` (the first due at ``when``) out of ``_entries`` (lock held)."""
        queue = self._ties.get(when)
        if queue is None:
            del self._entries[when]
            return
        self._entries[when] = queue.popitem(last=False)[1]
        self._tied -= 1
        if not queue:
            del self._ties[when]

    def _live(self) -> list[_Entry]:
        """Every scheduled entry (lock held)."""
        if self._pending:
            self._flush()
        entries = list(self._entries.values())
        for queue in self._ties.values():
            entries.extend(queue.values())
        return entries

    def _schedule(
        self, when: float, fn: Callable[..., object], args: tuple[Any, ...]
    ) -> TimerHandle:
        """Schedule ``fn(*args)`` at ``when``, for a caller that does not hold the lock."""
        handle = _handle(self, fn, args, _NO_KWARGS)
        with self._lock:
            self._push(handle, when)
        return handle

    def cancel(self, handle: TimerHandle) -> bool:
        """Cancel ``handle`` (see ``TimerHandle.cancel``); True if that prevented the call."""
        with self._lock:
            return self._cancel_locked(handle)

    def _cancel_locked(self, entry: _Entry) -> bool:
        if entry._state != "scheduled" or entry._scheduler is not self:
            return False
        entry._state = "cancelled"
        self._cancelled += 1
        self._drop(entry)
        if not self._entries and self._queue:
            # Nothing left: the thread, asleep until the time of what was cancelled, wakes
            # to start its idle countdown (_IDLE_EXIT) instead of lingering until then.
            self._queue.unpark(1)
        entry._settle()
        if isinstance(entry, TimerHandle):
            entry._fn = entry._args = entry._kwargs = None  # type: ignore[assignment]
        return True

    def _drop(self, entry: _Entry) -> None:
        """Take a scheduled entry's place out of play (cancelled, or about to be pushed
        again); compact the heap when dead times are over half of it (lock held)."""
        if self._pending:
            self._flush()  # (entry may be among them)
        when = entry._when
        if self._entries[when] is entry:
            self._take(when, entry)
        else:
            queue = self._ties[when]
            del queue[id(entry)]
            self._tied -= 1
            if not queue:
                del self._ties[when]
        heap = self._heap
        dead = len(heap) - len(self._entries) - self._tied
        if dead > 64 and dead > len(heap) // 2:
            heap = self._heap = list(self._entries)
            for when, queue in self._ties.items():
                heap.extend([when] * len(queue))
            heapq.heapify(heap)

    # -- life cycle --------------------------------------------------------------------------

    def shutdown(self, wait: bool = True, *, cancel_pending: bool = True) -> None:
        """Stop the scheduler: no new calls; idempotent.

        Args:
            wait: return only once the scheduler thread has finished (and so has a call it
                was running on its own thread; a thread it handed off from, blocked in a
                call, is not waited for). This wait is a thread join, not a cancellation
                point; called from one of the scheduler's own calls, it does not wait.
            cancel_pending: cancel the calls not yet due (each handle's ``cancel()`` then
                returns False); False runs them at their times first (so leaving
                ``with Scheduler() as s:`` waits for the last call s has).
        """
        with self._lock:
            self._closed = True
            if cancel_pending:
                for entry in self._live():
                    entry._state = "cancelled"
                    self._cancelled += 1
                    entry._settle()
                self._entries.clear()
                self._ties.clear()
                self._tied = 0
                self._heap.clear()
            else:
                self._drain = True
            self._queue.unpark_all()
            thread, watchdog, nap = self._thread, self._watchdog, self._nap
            if self._finalizer is not None:
                self._finalizer.detach()
        me = _p.current_thread()
        if me in self._threads:  # from a call on a timekeeping thread: it ends on its return
            return
        if wait and thread is not None:
            thread.join()
        if wait and watchdog is not None and watchdog is not me and watchdog.ident is not None:
            if nap is not None and nap.locked():
                nap.release()  # look now: the thread is gone, so it ends
            watchdog.join()

    def __enter__(self) -> Scheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=True, cancel_pending=False)

    def statistics(self) -> SchedulerStatistics:
        """Return a snapshot of the scheduler's counters."""
        with self._lock:
            thread = self._thread
            return SchedulerStatistics(
                pending=len(self._entries) + self._tied + len(self._pending),
                fired=self._fired,
                cancelled=self._cancelled,
                misfires=self._misfires,
                errors=self._errors,
                handoffs=self._handoffs,
                running=thread is not None and thread.is_alive(),
            )

    def __repr__(self) -> str:
        s = self.statistics()
        state = "closed" if self._closed else "open"
        return f"<threadkit.Scheduler {self.name!r} {state} pending={s.pending}>"

    # -- the scheduler thread ----------------------------------------------------------------

    def _start(self) -> None:  # lock held
        """Start a timekeeping thread (the first, or one taking over from a blocked one)."""
        # The thread holds the scheduler weakly (DESIGN 8): one dropped without shutdown()
        # is collected, which wakes the thread to end (with a ResourceWarning).
        self._token += 1
        ref = weakref.ref(self)
        thread = _p.StdThread(target=_loop, args=(ref, self._token), name=self.name, daemon=True)
        self._thread = thread
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        self._busy_since = None
        if self._finalizer is None:
            self._finalizer = weakref.finalize(self, _collected, self._queue, self.name)
            self._finalizer.atexit = False
        thread.start()

    def _start_watchdog(self) -> None:
        """Start the hand-off watchdog if it is not running: done by a timekeeping thread
        before the first call it runs (it is needed only while a call runs), without the
        lock, so that the thread that schedules the first call waits for one thread start,
        not two, and nobody waits on the lock meanwhile."""
        with self._lock:
            if self._watchdog is not None or self._closed:
                return
            nap = self._nap = _p.allocate_lock()
            nap.acquire()  # released only to wake the watchdog early (shutdown)
            watchdog = self._watchdog = _p.StdThread(
                target=_watch,
                args=(weakref.ref(self), nap),
                name=f"{self.name} watchdog",
                daemon=True,
            )
        watchdog.start()

    def _step(self, token: int) -> _Entry | None:
        """One turn of a timekeeping thread: take a due call, or get ready to sleep.

        Returns the entry to dispatch now (``_taken_seq``, ``_taken_at``: its round and the
        time it was taken); ``_STOP``: this thread is done (shut down, or replaced
        after a hand-off); None: sleep, with ``_sleep_waiter`` queued, until
        ``_sleep_deadline`` (``_sleep_idle``: the one after which an idle thread ends).
        These fields, not a returned tuple, because this runs once per call and once per
        sleep: an allocation less each time is a garbage collection less now and then.
        Only the current timekeeping thread writes them, under the lock.
        """
        with self._lock:
            if token != self._token:
                return _STOP  # replaced while it ran a call
            heap = self._heap  # (cancel() may have compacted it into a new list)
            clock = get_clock()
            now = clock.now()
            entries = self._entries
            while heap:
                when = heap[0]
                entry = entries.get(when)
                if entry is not None and when > now:
                    break
                if self._pending:  # nothing leaves the heap before they are in (_pending)
                    self._flush()
                    continue
                heapq.heappop(heap)
                if entry is None:  # a dead time
                    continue
                self._take(when, entry)
                entry._state = "running"
                self._taken_seq = entry._seq
                self._taken_at = now
                return entry
            if self._closed and (not self._drain or not (entries or self._pending)):
                self._ended()
                return _STOP
            deadline = heap[0] if heap else None
            idle = False
            if clock.virtual:  # the clock's wake-up ends the wait (_virtual_due)
                if deadline is not None:
                    self._register_virtual(deadline)
                deadline = None
            elif deadline is None and not self._closed:
                deadline = now + _IDLE_EXIT  # no work: the thread ends if none comes
                idle = True
            self._sleep_waiter = self._queue.enqueue()
            self._sleep_deadline = deadline
            self._sleep_idle = idle
            self._rounds += 1  # asleep, with everything due dispatched
            self._settled.unpark_all()
            return None

    def _idle_exit(self, token: int) -> bool:
        """The thread slept ``_IDLE_EXIT`` with nothing scheduled: may it end? (A call
        scheduled later starts a new one.)"""
        with self._lock:
            if token != self._token:
                return True
            if self._entries or self._pending or self._closed:
                return False
            # Only dead times are left (a call scheduled and cancelled while this thread was
            # between its wait and this look): drop them, or the next call, not earlier
            # than one of them, would not be the new earliest and start no thread.
            self._heap.clear()
            self._ended()
            return True

    def _ended(self) -> None:  # lock held
        self._thread = None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        self._rounds += 1
        self._settled.unpark_all()

    def _dispatch(self, entry: _Entry, seq: int, now: float) -> None:
        late = now - entry._when
        grace = self._misfire_grace
        if grace is not None and late > grace:
            with self._lock:
                if entry._seq == seq:
                    entry._state = "misfired"
                    entry._settle()
                self._misfires += 1
            try:
                self._report_misfire(entry, late)
            except BaseException as exc:  # (a warning turned into an error): not our end
                report_to_excepthook(exc)
            return
        executor = self._executor
        if executor is None:
            if self._handoff_after is None:
                self._run(entry, seq)
            else:
                if self._watchdog is None:
                    self._start_watchdog()
                self._busy_since = since = _p.monotonic()
                try:
                    self._run(entry, seq)
                finally:
                    # Only if it is still ours: after a hand-off, the thread that took over
                    # writes its own (and a stale clear would hide its blocked call).
                    if self._busy_since is since:
                        self._busy_since = None
            return
        claim = [True]  # taken (list.pop(), atomic) by whichever comes first: run or drop
        try:
            future = executor.submit(self._run, entry, seq, claim)
        except BaseException as exc:  # the executor was shut down: the call cannot run
            with self._lock:
                if entry._seq == seq:
                    entry._state = "done"
                    entry._settle()
                self._errors += 1
            self._report_error(entry, exc)
            return
        future.add_done_callback(lambda done: self._dropped(entry, seq, claim, done))

    def _dropped(self, entry: _Entry, seq: int, claim: list[bool], future: Any) -> None:
        """An executor's future of a call ended: if it was cancelled before the call began
        (the executor shut down with ``cancel_futures``, or discarded it from a full
        queue), the call never runs: the entry ends cancelled instead of staying
        "running" (its ``join()`` waited forever, and interpreter exit for its deadline)."""
        if not future.cancelled():
            return
        try:
            claim.pop()
        except IndexError:
            return  # the call began: its end settles it
        with self._lock:
            if entry._seq == seq:
                entry._state = "cancelled"
                self._cancelled += 1
                entry._settle()

    def _run(self, entry: _Entry, seq: int, claim: list[bool] | None = None) -> None:
        if claim is not None:  # on an executor: a drop may have settled it already
            try:
                claim.pop()
            except IndexError:
                return
        failed = False
        try:
            entry._call(seq)
        except BaseException as exc:  # never the scheduler's end: to the error handler
            failed = True
            self._report_error(entry, exc)
            del exc
        with self._lock:
            if entry._seq == seq:  # (not pushed again meanwhile: Timer.restart())
                entry._state = "done"
                entry._settle()
            self._fired += 1
            self._errors += failed

    def _report_error(self, entry: _Entry, exc: BaseException) -> None:
        if self._on_error is not None and isinstance(entry, TimerHandle):
            try:
                self._on_error(entry, exc)
                return
            except BaseException as handler_exc:  # a broken handler: report that instead
                exc = handler_exc
        report_to_excepthook(exc)

    def _report_misfire(self, entry: _Entry, late: float) -> None:
        if self._on_misfire is not None and isinstance(entry, TimerHandle):
            try:
                self._on_misfire(entry, late)
            except BaseException as exc:
                self._report_error(entry, exc)
            return
        warnings.warn(
            f"{entry!r} misfired: due {late:.3f} s ago, beyond misfire_grace={self._misfire_grace}",
            RuntimeWarning,
            stacklevel=1,
        )

    def _check_handoff(self, seen: float | None) -> tuple[bool, float | None]:
        """The watchdog's look: hand off if the same call has run ``handoff_after``.

        Returns ``(keep watching, the call start it saw)``.
        """
        with self._lock:
            if self._thread is None:
                self._watchdog = None  # nothing to watch: it ends (the next start restarts it)
                return False, None
            busy = self._busy_since
            if busy is not None and busy == seen and not self._closed:
                self._handoffs += 1
                self._start()  # the blocked thread ends when its call returns
                busy = None
            return True, busy

    # -- virtual clocks ----------------------------------------------------------------------

    def _register_virtual(self, when: float) -> None:  # lock held
        """On a virtual clock, ask it to wake the scheduler at ``when`` (if not asked yet)."""
        clock = get_clock()
        # (Not for a time already reached: MockClock.call_at would run _virtual_due at once,
        # here, under the lock it takes; the unpark in _push wakes the thread instead.)
        if clock.virtual and when < self._virtual_next and when > clock.now():
            self._virtual_next = when
            clock.call_at(when, lambda: self._virtual_due(when))

    def _virtual_due(self, when: float) -> None:
        """A virtual clock reached ``when``: wake the scheduler thread, and wait (in the
        advancing thread) until it has dispatched what is due and gone back to sleep."""
        with self._lock:
            if self._virtual_next == when:
                self._virtual_next = math.inf
            thread = self._thread
            if thread is None or thread is _p.current_thread() or not thread.is_alive():
                return
            rounds = self._rounds
            self._queue.unpark(1)
        self._settled.wait_for(lambda: self._rounds != rounds or not thread.is_alive(), None)


def report_to_excepthook(exc: BaseException) -> None:
    """Hand an exception a callback raised to ``threading.excepthook`` (looked up now, so a
    hook installed later is used), naming the current thread, as a thread's would be."""
    _p.threading_module.excepthook(
        _p.ExceptHookArgs([type(exc), exc, exc.__traceback__, _p.current_thread()])
    )


def _loop(ref: weakref.ref[Scheduler], token: int) -> None:
    """A timekeeping thread: dispatch what is due, sleep until the next is."""
    scheduler = ref()
    while scheduler is not None:
        due = scheduler._step(token)
        if due is _STOP:
            return  # shut down, or replaced after a hand-off
        if due is not None:
            scheduler._dispatch(due, scheduler._taken_seq, scheduler._taken_at)
            del due
        else:
            queue, waiter = scheduler._queue, scheduler._sleep_waiter
            deadline, idle = scheduler._sleep_deadline, scheduler._sleep_idle
            del scheduler  # asleep, it holds the scheduler only weakly
            try:
                woken = queue.park(waiter, deadline)
            except BaseException:
                queue.abandon(waiter)
                raise
            del queue, waiter
            scheduler = ref()
            if idle and not woken and scheduler is not None and scheduler._idle_exit(token):
                return
            continue
        scheduler = ref()


def _watch(ref: weakref.ref[Scheduler], nap: _p.LockType) -> None:
    """The hand-off watchdog: every ``handoff_after`` (real time), replace a timekeeping
    thread that has been in the same call since the last look. (``nap`` is held: acquiring
    it again is a sleep that ``shutdown()`` can cut short by releasing it.)"""
    seen: float | None = None
    while True:
        scheduler = ref()
        if scheduler is None:
            return
        period = scheduler._handoff_after
        keep, seen = scheduler._check_handoff(seen)
        del scheduler
        if not keep or period is None:
            return
        nap.acquire(True, period)  # True when woken early: it is held again either way


def _stop_at_exit(scheduler: Scheduler, timeout: float | None) -> None:
    """The exit supervisor stops a scheduler: pending calls are dropped (the non-daemon
    ``Timer``s were waited for before, as the stdlib waits for their threads), then its
    threads are given until ``timeout`` to finish a call they are in."""
    scheduler.shutdown(wait=False)
    end = None if timeout is None else _p.monotonic() + timeout
    for thread in _scheduler_threads(scheduler):
        if thread is not _p.current_thread():
            thread.join(None if end is None else max(end - _p.monotonic(), 0.0))


def _scheduler_threads(scheduler: Scheduler) -> list[_p.StdThread]:
    with scheduler._lock:
        threads = [*scheduler._threads, scheduler._watchdog]
    return [t for t in threads if t is not None and t.is_alive()]


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


_STOP: Final = _Entry()  # _step's answer: this thread is done

# How long a scheduler thread with nothing scheduled waits before it ends (real seconds).
_IDLE_EXIT = 1.0

_default: Scheduler | None = None
_default_lock = _p.allocate_lock()


def default_scheduler() -> Scheduler:
    """Return the process-wide scheduler that ``Timer`` and ``PeriodicTimer`` use.

    It is made on first use, its thread starts with the first call scheduled, and it is
    stopped at interpreter exit (once every pending non-daemon ``Timer`` has run, as the
    stdlib waits for a non-daemon ``threading.Timer``).

    Examples:
        >>> import threadkit
        >>> threadkit.default_scheduler() is threadkit.default_scheduler()
        True
        >>> ran = threadkit.Event()
        >>> handle = threadkit.default_scheduler().call_later(0.01, ran.set)
        >>> ran.wait(5), handle.cancel()  # (too late to cancel: it ran)
        (True, False)
    """
    global _default
    scheduler = _default
    if scheduler is None:
        with _default_lock:
            scheduler = _default
            if scheduler is None:
                scheduler = _default = Scheduler(name="threadkit-scheduler", handoff_after=0.05)
    return scheduler
