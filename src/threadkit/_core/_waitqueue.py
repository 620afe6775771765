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

Cancellation (cancel scopes) plugs in here as well, in ``park``.
"""

from __future__ import annotations

from collections import deque
from typing import Final

from . import _clock, _hooks, _primitives

__all__ = ["ABANDONED", "QUEUED", "TIMED_OUT", "WOKEN", "WaitQueue", "Waiter"]

QUEUED: Final = 0
WOKEN: Final = 1
TIMED_OUT: Final = 2
ABANDONED: Final = 3

_TIMEOUT_MAX = _primitives.TIMEOUT_MAX


class Waiter:
    """A thread's parker, and the record of its current wait.

    Each thread has one (reused for every wait, so a wait allocates nothing). ``lock`` is kept
    acquired while idle and released once per wake-up. ``need`` is the primitive's own
    business (how many units a Semaphore waiter wants); ``value`` is what the waker passed to
    ``unpark``; ``generation`` counts the waits, so a stale virtual-clock wake-up of an earlier
    wait is recognised and ignored.
    """

    __slots__ = ("busy", "generation", "lock", "need", "state", "value")

    def __init__(self) -> None:
        self.lock = _primitives.allocate_lock()
        self.lock.acquire()
        self.busy = False
        self.generation = 0
        self.need = 1
        self.state: int = ABANDONED
        self.value: object = None


_tls = _primitives.local()


def _waiter() -> Waiter:
    """Return the calling thread's waiter, ready to be queued."""
    try:
        waiter: Waiter = _tls.waiter
    except AttributeError:
        waiter = _tls.waiter = Waiter()
    if waiter.busy:  # re-entered from a signal handler while parked: use a fresh one
        waiter = Waiter()
    return waiter


class WaitQueue(deque[Waiter]):
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
            waiter.state = WOKEN
            waiter.value = value
            waiter.lock.release()
            woken += 1
        if woken and _hooks.enabled:
            _hooks.emit("unpark", self.owner, woken)
        return woken

    def unpark_all(self, value: object = True) -> int:
        """Wake every waiter (lock held); return how many were woken."""
        return self.unpark(len(self), value)

    def park(self, waiter: Waiter, deadline: float | None) -> bool:
        """Block until ``waiter`` is unparked (True) or ``deadline`` passes (False).

        Called without ``lock``. On return the waiter is out of the queue either way. If the
        wait is interrupted (``KeyboardInterrupt`` from a signal handler), the waiter is
        ABANDONED, or stays WOKEN if a wake-up won the race; the caller may pass that wake-up on.
        """
        try:
            if _hooks.enabled:
                _hooks.emit("park", self.owner, deadline)
            if deadline is None:
                waiter.lock.acquire()
            else:
                clock = _clock._current
                if clock.virtual:
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
                    if not woken:
                        with self.lock:
                            if waiter.state is QUEUED:
                                self.remove(waiter)
                                waiter.state = TIMED_OUT
                        if waiter.state is WOKEN:
                            waiter.lock.acquire()  # take the release that won the race
        except BaseException:
            self.abandon(waiter)
            raise
        finally:
            waiter.busy = False
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
