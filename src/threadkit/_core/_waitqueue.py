"""The one wait queue under everything in threadkit that blocks.

A ``WaitQueue`` is a FIFO of ``Waiter`` records guarded by one C lock (``WaitQueue.lock``).
A blocking primitive checks its own state under that lock (Event and Semaphore use it as their
only lock), and if it must wait, ``enqueue()``s a waiter, releases the lock and ``park()``s.
Whoever changes the state calls ``unpark()`` under the lock; that marks the waiter WOKEN and
releases its parker.

Design (after trio's ``_core/_parking_lot.py`` and CPython's ``Condition``):

* **One parker per thread.** Each thread owns one ``_thread`` lock, kept *acquired* while idle.
  Parking is ``parker.acquire(timeout)``; unparking is ``parker.release()``. CPython's
  ``Condition`` allocates a fresh lock for every wait; reusing one is cheaper and is what
  makes the drop-ins faster than the stdlib.
* **Exactly one release per wake-up.** A waiter moves from QUEUED to exactly one of WOKEN
  (by ``unpark``, which then releases the parker once), TIMED_OUT or ABANDONED (by the parked
  thread itself, or by a virtual clock, under ``lock``). If a timeout races with a wake-up, the
  lock decides: either the waiter is still QUEUED and times out, or it was WOKEN and the parked
  thread takes the pending release, so the parker is acquired again when ``park`` returns.
  A wake-up is never lost and a parker is never left released.
* **Deadlines, not timeouts.** ``park`` takes an absolute deadline on the current clock
  (``_clock``). On a virtual clock it blocks without an OS timeout and registers a wake-up with
  the clock, so tests run in virtual time.
* **Fairness** is FIFO here, once: ``unpark`` wakes the oldest waiters; a primitive that lets
  a woken thread lose a race (barging, as ``threading.Semaphore`` does) re-queues it at the
  front with ``enqueue(front=True)``.
* **Hooks** (``_hooks``) are emitted on the slow path only, and only when enabled.
* Re-entrancy: a signal handler that blocks on a threadkit primitive while the main thread is
  parked gets a fresh parker (the thread's own is busy).

Select (waiting on several queues at once, after crossbeam-channel's ``select.rs`` and
``context.rs``): a thread that selects queues one ``Arm`` per operation, each in that
operation's own WaitQueue, all sharing one ``SelectContext``. A waker treats an Arm like a
Waiter, except that it must first *claim* the context: the first claim wins (a non-blocking
acquire of a C lock: an atomic compare-and-swap on every build), records which arm fired and
unparks the thread; a later claim fails and the waker goes on to the next entry of its queue,
so no wake-up is spent on a select that already fired.

Cancellation (cancel scopes) plugs in here as well, in ``park``.

Spinning before parking (``spin_until``, after Go's scheduler, whose idle threads look for work
a moment before they sleep, and .NET's spin-then-block waits): a thread about to park for what
another thread will do within microseconds (a pool worker between a caller's tasks, a caller
waiting for a short task's result) looks a while first, giving its CPU (and the GIL) away
between looks. Waking a parked thread costs tens of microseconds where an idle CPU sleeps (a
virtual machine's above all); a look costs about one. Bounded: ``SPIN`` seconds at most
(under the GIL, plus the wait to get it back), about one spinning thread per CPU
(process-wide), no later than the thread's cancel scope's deadline, and not at all on one
CPU, in a cancelled scope, with hook listeners on, or under the explorer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Final

from . import _cancel, _clock, _hooks, _primitives

__all__ = [
    "ABANDONED",
    "CANCELLED",
    "QUEUED",
    "TIMED_OUT",
    "WOKEN",
    "Arm",
    "SelectContext",
    "WaitQueue",
    "Waiter",
    "spin_until",
]

QUEUED: Final = 0
WOKEN: Final = 1
TIMED_OUT: Final = 2
ABANDONED: Final = 3
CANCELLED: Final = 4

_TIMEOUT_MAX = _primitives.TIMEOUT_MAX
_INF = float("inf")

# How long a thread spins before it parks, in seconds (0: never): about two wake-ups on a
# virtual machine's idle CPU. ``THREADKIT_SPIN_US`` (microseconds, at most 5,000) sets it
# for a process; the explorer sets it to 0 for its runs.
SPIN: float = _primitives.spin_setting(50e-6)
# One claim per CPU: when the thread spinning on it started (0.0: free). A thread spins only
# where it finds a claim free or lapsed, so spinners do not outnumber the CPUs; a claim lapses
# on its own after _CLAIM_LAPSES, so one that an exception (from a signal handler) or a
# fork left behind costs nothing lasting. No lock: two threads that take one claim at the
# same moment both spin (the cap is "about").
_spin_claims: list[float] = [0.0] * _primitives.cpu_count()
_CLAIM_LAPSES = 0.01  # seconds (perf_counter): longer than a spin, GIL wait included


class Waiter:
    """A thread's parker, and the record of its current wait.

    Each thread has one (reused for every wait, so a wait allocates nothing). ``lock`` is kept
    acquired while idle and released once per wake-up. ``need`` is the primitive's own
    business (how many units a Semaphore waiter wants, the item a rendezvous sender offers in
    ``payload``); ``value`` is what the waker passed to ``unpark``; ``generation`` counts the
    waits, so a stale virtual-clock wake-up of an earlier wait is recognised and ignored.
    ``select`` is None: it tells a waker this entry is a plain waiter, not an ``Arm``.
    """

    __slots__ = ("busy", "generation", "lock", "need", "payload", "select", "state", "value")

    def __init__(self) -> None:
        self.lock = _primitives.allocate_lock()
        self.lock.acquire()
        self.busy = False
        self.generation = 0
        self.need = 1
        self.payload: object = None
        self.select: SelectContext | None = None
        self.state: int = ABANDONED
        self.value: object = None


class Arm:
    """One operation of a select, queued in that operation's WaitQueue in place of a Waiter.

    ``need`` and ``payload`` mean what they mean on a Waiter; ``index`` is the operation's
    position in the select; ``queue`` is where it was queued (for ``unregister``).
    """

    __slots__ = ("index", "need", "payload", "queue", "select")

    def __init__(self, select: SelectContext, index: int, payload: object = None) -> None:
        self.select = select
        self.index = index
        self.need = 1
        self.payload = payload
        self.queue: WaitQueue | None = None

    def __repr__(self) -> str:
        return f"<Arm {self.index} of {self.select!r}>"


class SelectContext:
    """The shared state of one blocking select: the thread's waiter and the winning arm.

    ``claim`` is acquired exactly once: by the waker whose arm fires (``fire``), or by the
    selecting thread itself when it gives up (``abort``: a timeout, or an operation found
    ready while registering). Whoever acquires it decides the outcome; ``fired`` is the arm
    that won (None if the select was aborted), ``value`` what its waker passed.
    """

    __slots__ = ("claim", "fired", "released", "settled", "value", "waiter")

    def __init__(self) -> None:
        waiter = _waiter()
        waiter.busy = True
        waiter.state = QUEUED
        waiter.value = None
        waiter.generation += 1
        self.waiter = waiter
        self.claim = _primitives.allocate_lock()
        self.fired: Arm | None = None
        self.value: object = None
        self.settled = False  # the selecting thread knows the outcome (only it sets this)
        self.released = False  # set by the claimer once it has released the waiter

    def __repr__(self) -> str:
        return f"<SelectContext fired={None if self.fired is None else self.fired.index}>"

    def fire(self, arm: Arm, value: object) -> bool:
        """Make ``arm`` the winner and unpark the thread; False if the select already ended.

        Called by a waker, with the lock of the queue ``arm`` was in held.
        """
        if not self.claim.acquire(False):
            return False
        self.fired = arm
        self.value = value
        waiter = self.waiter
        waiter.state = WOKEN
        waiter.value = value
        waiter.lock.release()
        self.released = True
        return True

    def abort(self, *, interrupted: bool = False) -> bool:
        """End the select with no winner; False if an arm fired first (then take its wake-up).

        Called by the selecting thread only; idempotent. ``interrupted``: an exception left
        ``park`` at an unknown point, so the wake-up may already have been taken.
        """
        if not self.settled:
            self.settled = True
            self.waiter.busy = False
            if self.claim.acquire(False):
                return True
            if interrupted:
                while not self.released:  # the claimer is between claim and release
                    _primitives.sleep(0)
                self.waiter.lock.acquire(False)  # taken now, unless park had taken it
            else:
                self.waiter.lock.acquire()  # the release that fire() made
        return self.fired is None

    def park(self, deadline: float | None) -> Arm | None:
        """Block until an arm fires (return it) or ``deadline`` passes (return None).

        Called with no lock held, after every arm was registered. On return the context is
        claimed and the thread's parker is acquired again; the caller unregisters the arms.
        In a cancel scope, a cancellation wakes it too (it returns None, and the caller's
        next park raises ``Cancelled``), and ``Cancelled`` is raised before parking, unless
        an arm fired already (that arm is returned: its operation took effect).
        """
        state = _cancel.current_state()
        if state is None:
            return self._park(deadline)
        state.notice()  # a passed deadline cancels its scope: done before taking state.lock
        with state.lock:
            exc = state.check()
            if exc is None:
                state.parked = (self, None)
        if exc is not None:
            if not self.abort():  # an arm fired before this look: the select completed
                return self.fired
            raise exc
        scope_deadline = state.deadline()
        if scope_deadline != _INF and (deadline is None or scope_deadline < deadline):
            deadline = scope_deadline
        try:
            return self._park(deadline)
        finally:
            with state.lock:
                state.parked = None

    def cancel_waiter(self, _: object) -> None:
        """Wake the selecting thread because its scope was cancelled (unless an arm fired)."""
        if self.claim.acquire(False):
            self.waiter.lock.release()
            self.released = True

    def _park(self, deadline: float | None) -> Arm | None:
        waiter = self.waiter
        try:
            if deadline is None:
                waiter.lock.acquire()
            else:
                clock = _clock._current
                if clock.virtual:
                    clock.call_at(deadline, self._expire)
                    waiter.lock.acquire()
                else:
                    while True:
                        left = deadline - clock.now()
                        if left <= 0:
                            self.abort()
                            break
                        if waiter.lock.acquire(True, min(left, _TIMEOUT_MAX)):
                            break
            self.settled = True
        except BaseException:
            self.abort(interrupted=True)
            raise
        finally:
            waiter.busy = False
        return self.fired

    def _expire(self) -> None:
        """A virtual clock's deadline: abort the select, unless an arm fired first."""
        if self.claim.acquire(False):
            self.waiter.lock.release()
            self.released = True


def spin_until(ready: Callable[[], object], limit: float | None = None) -> bool:
    """Look at ``ready()`` until it is true (True) or ``SPIN`` seconds pass (False).

    For a thread about to park for something expected within microseconds: between looks
    it yields its CPU and the GIL (``sched_yield``). ``limit`` caps the spin (a caller's own
    timeout), and so does the deadline of the thread's cancel scopes; a cancellation of
    one ends it at the next look (False: the caller's park raises). It looks once and
    returns when ``SPIN`` is 0, as many threads spin as there are CPUs, hook listeners are
    on (they see every wait as a park), or the thread's scope is cancelled already.
    Called with no lock held.
    """
    window = SPIN if limit is None else min(SPIN, limit)
    scopes: list[_cancel.CancelScope] = []  # those whose cancellation ends the spin
    if _hooks.enabled:
        window = 0.0
    elif window > 0:
        state = _cancel._tls.state
        if state is not None and state.scopes:
            scopes = state.effective()  # (only this thread changes its stack)
            scope_clock = _clock._current
            left = min(scope._deadline for scope in scopes) - scope_clock.now()
            if left <= 0 or any(scope._cancel_called for scope in scopes):
                window = 0.0  # cancelled, or its deadline passed: the park that follows raises
            elif not scope_clock.virtual:
                window = min(window, left)
    if window <= 0:
        return bool(ready())
    clock = _primitives.perf_counter  # (fine-grained everywhere, unlike monotonic)
    start = clock()
    claims = _spin_claims
    lapsed = start - _CLAIM_LAPSES
    for index, since in enumerate(claims):
        if since < lapsed:
            claims[index] = start
            break
    else:
        return bool(ready())
    try:
        yield_thread = _primitives.yield_thread
        end = start + window
        while not ready():
            if clock() >= end or (scopes and any(scope._cancel_called for scope in scopes)):
                return False
            yield_thread()
        return True
    finally:
        if claims[index] == start:  # (unless it lapsed and another thread took it)
            claims[index] = 0.0


class _Local(_primitives.local):
    waiter: Waiter | None = None  # a class default: no AttributeError on first use


_tls = _Local()


def _waiter() -> Waiter:
    """Return the calling thread's waiter, ready to be queued."""
    waiter = _tls.waiter
    if waiter is None:
        waiter = _tls.waiter = Waiter()
    elif waiter.busy:  # re-entered from a signal handler while parked: use a fresh one
        waiter = Waiter()
    return waiter


class WaitQueue(deque["Waiter | Arm"]):
    """A FIFO of parked threads (oldest first), guarded by ``lock``.

    It is a ``deque`` of waiters, so ``len(q)`` and ``bool(q)`` cost no Python call.
    Everything but ``park`` must be called with ``lock`` held; ``park`` without it.

    Args:
        owner: the object this queue belongs to, passed to hook listeners.
        lock: the lock that guards the queue; a new C lock by default. A primitive may use
            it as the lock of its own state too (one lock, one acquisition per call).
    """

    __slots__ = ("lock", "owner")

    def __init__(self, owner: object = None, lock: _primitives.LockType | None = None) -> None:
        super().__init__()
        self.lock = _primitives.allocate_lock() if lock is None else lock
        self.owner = owner

    def __repr__(self) -> str:
        return f"<WaitQueue of {len(self)} for {self.owner!r}>"

    def enqueue(self, need: int = 1, *, front: bool = False) -> Waiter:
        """Add the calling thread (lock held) and return its waiter, for ``park``."""
        waiter = _tls.waiter  # _waiter(), inlined: this is every wait's first step
        if waiter is None or waiter.busy:
            waiter = _waiter()
        waiter.busy = True  # until park() returns
        waiter.state = QUEUED
        waiter.need = need
        waiter.value = None
        waiter.generation += 1
        if front:
            self.appendleft(waiter)
        else:
            self.append(waiter)
        return waiter

    def unpark(self, n: int = 1, value: object = True) -> int:
        """Wake the ``n`` oldest waiters (lock held); return how many were woken."""
        woken = 0
        while self and woken < n:
            waiter = self.popleft()
            if waiter.select is None:
                waiter.state = WOKEN
                waiter.value = value
                waiter.lock.release()
            elif not waiter.select.fire(waiter, value):  # type: ignore[arg-type]  # an Arm
                continue  # that select already ended: the wake-up goes to the next one
            woken += 1
        if woken and _hooks.enabled:
            _hooks.emit("unpark", self.owner, woken)
        return woken

    def wake_one(self, value: object = True) -> tuple[bool, object]:
        """Wake the oldest waiter (lock held); return ``(True, its payload)``, or ``(False, None)``.

        For a waker that needs what the waiter offers, as a rendezvous does: the payload is
        read *before* the waiter is released, since once released it may start another wait
        and reuse its Waiter.
        """
        while self:
            waiter = self.popleft()
            payload = waiter.payload
            if waiter.select is None:
                waiter.state = WOKEN
                waiter.value = value
                waiter.lock.release()
            elif not waiter.select.fire(waiter, value):  # type: ignore[arg-type]  # an Arm
                continue
            if _hooks.enabled:
                _hooks.emit("unpark", self.owner, 1)
            return True, payload
        return False, None

    def register(self, arm: Arm) -> None:
        """Queue a select's arm (lock held)."""
        arm.queue = self
        self.append(arm)

    def unregister(self, arm: Arm) -> None:
        """Take a select's arm out, if a waker has not already (called without ``lock``)."""
        with self.lock:
            if arm in self:  # the queue is short: a select's wait, not a hot path
                self.remove(arm)

    def unpark_all(self, value: object = True) -> int:
        """Wake every waiter (lock held); return how many were woken."""
        return self.unpark(len(self), value)

    def park(self, waiter: Waiter, deadline: float | None, *, stay: bool = False) -> bool:
        """Block until ``waiter`` is unparked (True) or ``deadline`` passes (False).

        Called without ``lock``. On return the waiter is out of the queue either way, except
        with ``stay``: then a wait that ``deadline`` ends leaves it queued, in its place (a
        *tick*: the caller looks at something and parks it again; a wake-up that comes
        meanwhile is taken by that next park; a caller that gives up instead ``abandon``s
        it). A tick emits no hook event (its one user does not tick with the hooks on).
        ``stay`` needs a real clock (``RuntimeError`` on a virtual one). If the
        wait is interrupted (``KeyboardInterrupt`` from a signal handler), the waiter is
        ABANDONED, or stays WOKEN if a wake-up won the race; the caller may pass that wake-up on.

        In a cancel scope (``_cancel``), the thread also wakes when the scope is cancelled or
        its deadline passes, and raises ``Cancelled`` (the waiter is out of the queue, and the
        caller's ``except BaseException`` cleans up as for an interrupt). A wake-up that wins
        the race with the cancellation is returned as usual: the operation completed, and the
        next cancellation point raises.
        """
        state = _cancel._tls.state  # _cancel.current_state(), inlined
        if state is None or not state.scopes:
            if deadline is None and not _hooks.enabled:
                # The common wait, inlined: with no deadline and no scope, only a wake-up
                # ends it (TIMED_OUT needs a deadline, CANCELLED a scope).
                try:
                    waiter.lock.acquire()
                except BaseException:
                    self.abandon(waiter)
                    raise
                waiter.busy = False
                return True
            return self._park(waiter, deadline, stay)
        state.notice()  # a passed deadline cancels its scope: done before taking state.lock
        with state.lock:
            exc = state.check()
            if exc is None:
                state.parked = (self, waiter)
        if exc is not None:
            # Cancelled before it parked; but it was queued before this look, and a wake-up
            # may have come meanwhile: as in a wait, the wake-up is used (a hand-over, a
            # rendezvous's item, has completed; a call to retry is tried once more) and the
            # next cancellation point raises.
            with self.lock:
                if waiter.state is QUEUED:
                    self.remove(waiter)
                    waiter.state = ABANDONED  # (the caller's abandon() finds nothing to do)
                    woken = False
                else:
                    woken = waiter.state is WOKEN
            if not woken:
                waiter.busy = False
                raise exc
            waiter.lock.acquire()  # the release that the wake-up made
            waiter.busy = False
            return True
        scope_deadline = state.deadline()
        by_scope = deadline is None or scope_deadline <= deadline
        try:
            woken = self._park(  # (the scope's deadline ends the wait: no tick)
                waiter,
                scope_deadline if by_scope and scope_deadline != _INF else deadline,
                stay and not by_scope,
            )
        finally:
            with state.lock:
                state.parked = None
        if woken:
            return True
        if waiter.state is CANCELLED or by_scope:
            exc = state.pending()
            if exc is not None:
                raise exc
        return False

    def cancel_waiter(self, waiter: Waiter) -> None:
        """Wake ``waiter`` because its thread's scope was cancelled (if it is still queued)."""
        with self.lock:
            if waiter.state is QUEUED:
                self.remove(waiter)
                waiter.state = CANCELLED
                waiter.lock.release()

    def _park(self, waiter: Waiter, deadline: float | None, stay: bool = False) -> bool:
        ticked = False
        try:
            if _hooks.enabled:
                _hooks.emit("park", self.owner, deadline)
            if deadline is None:
                waiter.lock.acquire()
            else:
                clock = _clock._current
                if clock.virtual:
                    if stay:  # (a virtual clock's expiry takes the waiter out of the queue)
                        raise RuntimeError("WaitQueue.park(stay=True) needs a real clock")
                    generation = waiter.generation
                    clock.call_at(deadline, lambda: self._expire(waiter, generation))
                    waiter.lock.acquire()
                else:
                    woken = False
                    while True:
                        left = deadline - clock.now()
                        if left <= 0:
                            break
                        if waiter.lock.acquire(True, min(left, _TIMEOUT_MAX)):
                            woken = True
                            break
                    if stay and not woken:
                        ticked = True  # still queued (and busy): see park()
                    elif not woken:
                        with self.lock:
                            if waiter.state is QUEUED:
                                self.remove(waiter)
                                waiter.state = TIMED_OUT
                        if waiter.state is not TIMED_OUT:
                            # WOKEN or CANCELLED meanwhile: take the release that came with
                            # it, so the parker is held again on the way out either way.
                            waiter.lock.acquire()
        except BaseException:
            self.abandon(waiter)
            if _hooks.enabled:
                _hooks.emit("abandon", self.owner, None)
            raise
        finally:
            if not ticked:
                waiter.busy = False
        if ticked:
            return False
        if waiter.state is WOKEN:
            if _hooks.enabled:
                _hooks.emit("wake", self.owner, waiter.value)
            return True
        if _hooks.enabled:
            _hooks.emit("timeout", self.owner, deadline)
        return False

    def _expire(self, waiter: Waiter, generation: int) -> None:
        """Time ``waiter`` out if it is still in that wait (a virtual clock's wake-up)."""
        with self.lock:
            if waiter.state is not QUEUED or waiter.generation != generation:
                return
            self.remove(waiter)
            waiter.state = TIMED_OUT
            waiter.lock.release()

    def wait_for(self, ready: Callable[[], object], deadline: float | None) -> bool:
        """Block until ``ready()`` is true; False if ``deadline`` passes first (no ``lock``).

        ``ready`` is called with ``lock`` held: before the first wait, after each wake-up
        (whoever changes what it reads calls ``unpark_all()`` under the lock) and once more
        when the deadline passes. A cancellation point, as ``park``.
        """
        while True:
            with self.lock:
                if ready():
                    return True
                waiter = self.enqueue()
            try:
                woken = self.park(waiter, deadline)
            except BaseException:
                self.abandon(waiter)
                raise
            if not woken:
                with self.lock:
                    return bool(ready())

    def abandon(self, waiter: Waiter) -> None:
        """Withdraw a wait that an exception interrupted (called without ``lock``).

        Idempotent, and safe at any point between ``enqueue`` and the end of ``park``: a
        caller wraps ``park`` in ``try``/``except BaseException: abandon(...)`` because an
        exception (``KeyboardInterrupt``) can arrive as ``park`` is entered, before its own
        ``try``. Afterwards the waiter is out of the queue, its lock is acquired, and its
        state says whether a wake-up had already been given to it (WOKEN), which the caller
        should then pass on.
        """
        waiter.busy = False
        with self.lock:
            if waiter.state is QUEUED:
                self.remove(waiter)
                waiter.state = ABANDONED
                return
        # WOKEN or TIMED_OUT by someone else: a release is pending, or already happened
        # (the interrupted acquire may or may not have taken it).
        waiter.lock.acquire(False)  # no-op if the lock is already held (taken, or never released)
