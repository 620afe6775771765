"""Synchronisation primitives: drop-ins for ``threading``'s, with the traps removed.

``Lock`` and ``RLock`` are the C objects themselves (re-exported by ``threadkit``). Everything
defined here parks on ``_core.WaitQueue``: ``Event``, ``Condition``, ``Semaphore``,
``BoundedSemaphore``, ``Barrier`` (through its Condition) and ``Mutex``. Each has the
standard library's signatures, return values, exceptions and messages, plus keyword-only
additions and a ``statistics()`` method whose frozen record is what ``repr()`` shows.
"""

from __future__ import annotations

import math
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from types import TracebackType
from typing import Any, Final, TypeVar

from ._core import (
    WOKEN,
    BrokenBarrierError,
    DeadlockError,
    SelectOp,
    WaitOp,
    WaitQueue,
    check_timeout,
    deadline_after,
    describe_thread,
    get_clock,
    lock_deadline,
    remaining,
    wait_deadline,
)
from ._core import _primitives as _p
from ._core._cancel import Cancelled, CancelScope, checkpoint, current_deadline, current_state

__all__ = [
    "acquire",
    "sleep",
    "Barrier",
    "BarrierStatistics",
    "BoundedSemaphore",
    "Condition",
    "ConditionStatistics",
    "Event",
    "EventStatistics",
    "Mutex",
    "MutexStatistics",
    "Semaphore",
    "SemaphoreStatistics",
]

_T = TypeVar("_T")


def _where(obj: object) -> str:
    cls = type(obj)
    return f"<{cls.__module__}.{cls.__qualname__} at {id(obj):#x}"


def _waiting(n: int) -> str:
    return f", {n} waiting" if n else ""


# --------------------------------------------------------------------------------------------
# Event


@dataclass(frozen=True, slots=True)
class EventStatistics:
    """A snapshot of an Event.

    Attributes:
        is_set: whether the flag is set.
        threads_waiting: threads blocked in ``wait()`` or ``wait_and_clear()``.

    Examples:
        >>> ev = Event()
        >>> ev.set()
        >>> ev.statistics()
        EventStatistics(is_set=True, threads_waiting=0)
    """

    is_set: bool
    threads_waiting: int


class Event:
    """A flag that threads can wait for: a drop-in for ``threading.Event``.

    ``set()`` wakes every thread blocked in ``wait()``; ``wait()`` returns True once the flag
    has been set, even if it was cleared again before the thread woke (gh-57711).

    Unlike ``threading.Event``, it has an atomic consume: ``wait_and_clear()`` waits for the
    flag and clears it in one step, so each ``set()`` is taken by exactly one consumer
    ("Event has ``clear``, but that's still not atomic"). Waiting threads park on threadkit's
    wait queue with one reusable lock per thread instead of a new lock per wait.

    Examples:
        >>> ev = Event()
        >>> ev.set()
        >>> ev.wait_and_clear(timeout=0)
        True
        >>> ev.is_set()
        False
    """

    def __init__(self) -> None:
        # _lock guards _flag and both queues (it is the queues' own lock).
        self._waiters = WaitQueue(self)
        self._lock = self._waiters.lock
        self._consumers = WaitQueue(self, self._lock)
        self._flag = False

    def is_set(self) -> bool:
        """Return True if and only if the flag is set."""
        return self._flag

    def isSet(self) -> bool:  # noqa: N802 - the stdlib's deprecated spelling
        """Deprecated alias of ``is_set()``."""
        warnings.warn(
            "isSet() is deprecated, use is_set() instead", DeprecationWarning, stacklevel=2
        )
        return self.is_set()

    def set(self) -> None:
        """Set the flag and wake every waiting thread.

        Threads in ``wait()`` all return True. If threads wait in ``wait_and_clear()``, the
        oldest one takes this ``set()`` and the flag is left clear.
        """
        with self._lock:
            self._flag = True
            if self._waiters:
                self._waiters.unpark_all()
            if self._consumers:
                self._consumers.unpark(1)
                self._flag = False

    def clear(self) -> None:
        """Reset the flag; ``wait()`` then blocks until ``set()`` is called again."""
        with self._lock:
            self._flag = False

    async def wait_async(self, timeout: float | None = None) -> bool:
        """``wait()`` for a coroutine (``threadkit.aio.wait``): the event loop keeps running.

        Raises:
            ValueError: ``timeout`` is negative or NaN.
        """
        from . import _aio  # (imports asyncio: only when used)

        return await _aio.wait(self, timeout)

    def wait_op(self) -> SelectOp[bool]:
        """Return a select operation that fires when the flag is set (its value: True)."""
        # Woken by set(): it fired, as wait() returns True, even if cleared meanwhile.
        return WaitOp(
            "wait_op", self._waiters, self.is_set, self._flag_set, fired=lambda _: (True, True)
        )

    def _flag_set(self) -> tuple[bool, bool]:
        return self._flag, True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the flag is set, or until ``timeout`` seconds pass.

        Returns True if the flag was set (now or while waiting), False on timeout.
        A negative timeout does not block, as in the stdlib.
        """
        if self._flag:
            return True
        deadline = None if timeout is None else wait_deadline(timeout)
        waiters = self._waiters
        with self._lock:
            if self.is_set():  # set since the unlocked look
                return True
            waiter = waiters.enqueue()
        try:
            return waiters.park(waiter, deadline)
        except BaseException:
            waiters.abandon(waiter)
            raise

    def wait_and_clear(self, timeout: float | None = None) -> bool:
        """Wait for the flag and clear it atomically; return False on timeout.

        Each ``set()`` is consumed by exactly one ``wait_and_clear()``: of several threads
        waiting here, the oldest wins and the rest go on waiting.
        """
        deadline = wait_deadline(timeout)
        consumers = self._consumers
        with self._lock:
            if self._flag:
                self._flag = False
                return True
            waiter = consumers.enqueue()
        try:
            return consumers.park(waiter, deadline)
        except BaseException:
            consumers.abandon(waiter)
            if waiter.state is WOKEN:  # we took a set() we will not report: give it back
                self.set()
            raise

    def statistics(self) -> EventStatistics:
        """Return a snapshot of the flag and the number of waiting threads."""
        with self._lock:
            return EventStatistics(self._flag, len(self._waiters) + len(self._consumers))

    def __repr__(self) -> str:
        stats = self.statistics()
        state = "set" if stats.is_set else "unset"
        return f"{_where(self)}: {state}{_waiting(stats.threads_waiting)}>"


# --------------------------------------------------------------------------------------------
# Semaphore


@dataclass(frozen=True, slots=True)
class SemaphoreStatistics:
    """A snapshot of a Semaphore.

    Attributes:
        value: units available now.
        initial_value: the value it was created with.
        max_value: the bound ``release()`` may not exceed, or None for an unbounded semaphore.
        threads_waiting: threads blocked in ``acquire()``.

    Examples:
        >>> s = Semaphore(3, max_value=5)
        >>> s.acquire(n=2)
        True
        >>> s.statistics()
        SemaphoreStatistics(value=1, initial_value=3, max_value=5, threads_waiting=0)
    """

    value: int
    initial_value: int
    max_value: int | None
    threads_waiting: int


class Semaphore:
    """A counter of available units: a drop-in for ``threading.Semaphore``.

    ``acquire()`` takes a unit, blocking while none is available; ``release()`` returns one.
    As in the stdlib, a plain Semaphore may be released more often than it was acquired and
    then counts past its start (7 -> 11): pass ``max_value`` (or use ``BoundedSemaphore``) to
    make that an error instead.

    Unlike ``threading.Semaphore``:

    * its state is public and read-only: ``value``, ``initial_value``, ``max_value`` and
      ``statistics()`` (nobody needs ``_value``);
    * ``Semaphore(v, max_value=m)`` makes any semaphore bounded, and an over-release raises a
      ``ValueError`` that names the counts;
    * ``acquire(n=3)`` takes several units at once, all or none (``release(n)`` is the
      stdlib's);
    * a NaN timeout raises ``ValueError`` (the stdlib spins forever);
    * an uncontended ``acquire()`` takes no lock at all (see below), which makes it several
      times faster.

    Waiting threads are woken oldest first. As in the stdlib, a running thread may take units
    ahead of a woken one (barging), which keeps throughput high under contention; the woken
    thread then waits again at the head of the queue.

    Examples:
        >>> s = Semaphore(2, max_value=2)
        >>> s.acquire(), s.value
        (True, 1)
        >>> s.release(); s.value
        2
    """

    # Design. The available units are len(_tokens) + _reserve. _tokens is a deque holding
    # one None per unit (at most _TOKENS_MAX; the rest are counted in _reserve), so the
    # common acquire() is one deque.pop(), an operation CPython documents as atomic on every
    # build: no lock, and no reliance on the GIL. Everything else happens under _lock: adding
    # units, taking several, the reserve, and the wait queue. A pop outside the lock can only
    # *remove* a unit, so a check made under the lock ("is there room below max_value?",
    # "can this waiter be served?") is never invalidated in the unsafe direction: at worst a
    # woken waiter finds its units gone (barging) and waits again at the head of the queue.
    # A waiter is queued under _lock after failing to take its units under _lock, and every
    # release adds units and looks at the queue under _lock, so no wake-up is lost.
    #
    # Invariants (under _lock): 0 <= _reserve; _reserve > 0 only if _tokens was full when
    # units were last added; a queued waiter's need exceeded the units available when it
    # was queued or woken.

    _TOKENS_MAX: Final = 1024

    def __init__(self, value: int = 1, *, max_value: int | None = None) -> None:
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        if max_value is not None and max_value < value:
            raise ValueError(
                f"max_value must be >= the initial value: max_value {max_value} < value {value}"
            )
        self._waiters = WaitQueue(self)
        # _lock guards _reserve, _waiters and every addition to _tokens (see Design).
        self._lock = self._waiters.lock
        in_tokens = min(value, self._TOKENS_MAX)
        self._tokens: deque[None] = deque(repeat(None, in_tokens))
        self._reserve = value - in_tokens
        self._initial_value = value
        self._max_value = max_value

    @property
    def value(self) -> int:
        """Units available now (a snapshot: it may change as soon as it is read)."""
        return len(self._tokens) + self._reserve

    @property
    def _value(self) -> int:
        # Read-only, for code written against threading.Semaphore's private attribute.
        return self.value

    @property
    def initial_value(self) -> int:
        """The value the semaphore was created with."""
        return self._initial_value

    @property
    def max_value(self) -> int | None:
        """The bound that ``release()`` may not exceed, or None if unbounded."""
        return self._max_value

    def acquire(self, blocking: bool = True, timeout: float | None = None, *, n: int = 1) -> bool:
        """Take ``n`` units, blocking while fewer are available.

        With ``blocking=False``, return False at once instead of blocking. With a
        ``timeout``, block at most that many seconds and return False if the units did not
        become available (a negative timeout does not block). Return True once taken.

        Raises:
            ValueError: a timeout with ``blocking=False``; ``n`` below 1; a NaN timeout.
        """
        if n == 1 and timeout is None:
            try:
                self._tokens.pop()
            except IndexError:
                pass
            else:
                return True
        elif timeout is not None and not blocking:
            raise ValueError("can't specify timeout for non-blocking acquire")
        elif n < 1:
            raise ValueError("n must be one or more")
        if self._max_value is not None and n > self._max_value:
            raise ValueError(f"acquire(n={n}) can never succeed: n > max_value {self._max_value}")
        deadline = wait_deadline(timeout) if blocking else None
        waiters = self._waiters
        front = False
        while True:
            with self._lock:
                if self._take_locked(n):
                    return True
                if not blocking:
                    return False
                waiter = waiters.enqueue(n, front=front)
            try:
                woken = waiters.park(waiter, deadline)
            except BaseException:
                waiters.abandon(waiter)
                self._leave()
                raise
            if not woken:
                self._leave()
                return False
            front = True  # woken but beaten to the units: wait again at the head

    def acquire_op(self) -> SelectOp[bool]:
        """Return a select operation that takes one unit (its value: True)."""
        return WaitOp(
            "acquire_op", self._waiters, lambda: self.value > 0, self._try_take, self._leave
        )

    def _try_take(self) -> tuple[bool, bool]:
        return self.acquire(False), True

    def _leave(self) -> None:
        """After a waiter gave up (timeout, interrupt): serve those it was holding back.

        A waiter at the head that needs more units than are available holds back the
        waiters behind it (FIFO), so when it leaves they may now be served; and a wake-up it
        received but will not use must go to someone else.
        """
        with self._lock:
            if self._waiters:
                self._wake_locked()

    def _take_locked(self, n: int) -> bool:
        """Take ``n`` units, all or none (lock held)."""
        tokens = self._tokens
        from_reserve = min(self._reserve, n)
        self._reserve -= from_reserve
        got = 0
        try:
            while got < n - from_reserve:
                tokens.pop()
                got += 1
        except IndexError:  # not enough: put everything back
            self._reserve += from_reserve
            tokens.extend(repeat(None, got))
            return False
        if self._reserve and not tokens:  # refill the lock-free part
            refill = min(self._reserve, self._TOKENS_MAX)
            tokens.extend(repeat(None, refill))
            self._reserve -= refill
        if self._waiters and (tokens or self._reserve):
            self._wake_locked()  # what is left may serve the next waiter
        return True

    __enter__ = acquire

    def release(self, n: int = 1) -> None:
        """Return ``n`` units and wake the waiters they can satisfy.

        Raises:
            ValueError: ``n`` below 1, or (bounded semaphores) the value would exceed
                ``max_value``; the message names the counts.
        """
        with self._lock:
            tokens = self._tokens
            size = len(tokens)  # only additions can make it grow, and they need _lock
            if (
                n == 1
                and size < self._TOKENS_MAX
                and (self._max_value is None or size + self._reserve < self._max_value)
            ):
                tokens.append(None)
            else:
                self._add_locked(n)
            if self._waiters:
                self._wake_locked()

    def _add_locked(self, n: int) -> None:
        if n < 1:
            raise ValueError("n must be one or more")
        tokens = self._tokens
        if self._max_value is not None:
            value = len(tokens) + self._reserve + n
            if value > self._max_value:
                raise ValueError(
                    f"Semaphore released too many times: release({n}) would raise value "
                    f"to {value} > max_value {self._max_value}"
                )
        room = max(self._TOKENS_MAX - len(tokens), 0)
        if n <= room:
            tokens.extend(repeat(None, n))
        else:
            tokens.extend(repeat(None, room))
            self._reserve += n - room

    def _wake_locked(self) -> None:
        """Wake the oldest waiters that the available units can satisfy (lock held)."""
        units = len(self._tokens) + self._reserve
        count = 0
        for waiter in self._waiters:
            if waiter.need > units:
                break
            units -= waiter.need
            count += 1
        if count:
            self._waiters.unpark(count)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    async def __aenter__(self) -> bool:
        """``async with sem:`` in a coroutine: waits without blocking the event loop."""
        from . import _aio  # (imports asyncio: only when used)

        return await _aio.acquire(self)

    async def __aexit__(self, *args: object) -> None:
        self.release()

    def statistics(self) -> SemaphoreStatistics:
        """Return a snapshot of the counts and the number of waiting threads."""
        with self._lock:
            return SemaphoreStatistics(
                self.value, self._initial_value, self._max_value, len(self._waiters)
            )

    def __repr__(self) -> str:
        s = self.statistics()
        bound = "" if s.max_value is None else f"/{s.max_value}"
        return f"{_where(self)}: value={s.value}{bound}{_waiting(s.threads_waiting)}>"


class BoundedSemaphore(Semaphore):
    """A semaphore that may not be released above its initial value.

    A drop-in for ``threading.BoundedSemaphore``: ``Semaphore(value, max_value=value)``.
    Over-release raises ``ValueError("Semaphore released too many times: ...")``.

    Examples:
        >>> s = BoundedSemaphore(1)
        >>> with s:
        ...     s.value
        0
        >>> s.release()                   # one more release than acquire
        Traceback (most recent call last):
          ...
        ValueError: Semaphore released too many times: release(1) would raise value to 2 > ...
    """

    def __init__(self, value: int = 1) -> None:
        super().__init__(value, max_value=value)


# --------------------------------------------------------------------------------------------
# Condition


@dataclass(frozen=True, slots=True)
class ConditionStatistics:
    """A snapshot of a Condition.

    Attributes:
        threads_waiting: threads blocked in ``wait()``/``wait_for()``.
        lock: the underlying lock.

    Examples:
        >>> lock = Mutex()
        >>> s = Condition(lock).statistics()
        >>> s.threads_waiting, s.lock is lock
        (0, True)
    """

    threads_waiting: int
    lock: object


class Condition:
    """A condition variable: a drop-in for ``threading.Condition``.

    The lock (an ``RLock`` unless one is given) must be held to ``wait()`` and ``notify()``.
    ``wait()`` releases it, parks the thread on threadkit's wait queue, and re-acquires it.

    Unlike ``threading.Condition``, a waiter whose timeout expires at the same moment as a
    ``notify()`` reports the notification (returns True) instead of losing it, and a NaN
    timeout raises ``ValueError``.

    Examples:
        >>> cond, jobs = Condition(), []
        >>> def produce():
        ...     with cond:
        ...         jobs.append("job")
        ...         cond.notify()
        >>> t = Thread(target=produce)
        >>> t.start()
        >>> with cond:
        ...     cond.wait_for(lambda: jobs, timeout=5)
        ['job']
        >>> t.join()
    """

    def __init__(self, lock: Any = None) -> None:
        if lock is None:
            lock = _p.RLock()
        self._lock = lock
        self.acquire: Callable[..., bool] = lock.acquire
        self.release: Callable[[], None] = lock.release
        # The protocol threading.Condition uses on its lock, taken from the lock if it has it.
        self._release_save: Callable[[], Any] = getattr(
            lock, "_release_save", self._plain_release_save
        )
        self._acquire_restore: Callable[[Any], None] = getattr(
            lock, "_acquire_restore", self._plain_acquire_restore
        )
        self._is_owned: Callable[[], bool] = getattr(lock, "_is_owned", self._plain_is_owned)
        # Guarded by its own lock; notify() additionally requires the user's lock.
        self._waiters = WaitQueue(self)

    def __enter__(self) -> Any:
        return self._lock.__enter__()

    def __exit__(self, *args: object) -> None:
        self._lock.__exit__(*args)

    def _plain_release_save(self) -> Any:
        self._lock.release()  # no state to save

    def _plain_acquire_restore(self, x: Any) -> None:
        self._lock.acquire()  # ignore saved state

    def _plain_is_owned(self) -> bool:
        # Return True if lock is owned by current_thread (the stdlib's test for plain locks).
        if self._lock.acquire(False):
            self._lock.release()
            return False
        return True

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, block until notified or ``timeout`` passes, re-acquire the lock.

        Returns True if notified, False on timeout.

        Raises:
            RuntimeError: if the calling thread does not hold the lock.
        """
        if not self._is_owned():
            raise RuntimeError("cannot wait on un-acquired lock")
        deadline = None if timeout is None else wait_deadline(timeout)
        waiters = self._waiters
        with waiters.lock:  # queued before the lock is released: no notify() can be missed
            waiter = waiters.enqueue()
        try:
            saved_state = self._release_save()
        except BaseException:
            waiters.abandon(waiter)
            raise
        try:  # restore state no matter what (e.g., KeyboardInterrupt)
            return waiters.park(waiter, deadline)
        except BaseException:
            waiters.abandon(waiter)
            if waiter.state is WOKEN:  # a notify() we will not act on: pass it on
                with waiters.lock:
                    waiters.unpark(1)
            raise
        finally:
            if current_state() is None:
                self._acquire_restore(saved_state)
            else:  # the lock is taken back even in a cancelled scope (a Mutex could refuse)
                with CancelScope(shield=True):
                    self._acquire_restore(saved_state)

    def wait_for(self, predicate: Callable[[], _T], timeout: float | None = None) -> _T | bool:
        """Wait until ``predicate()`` is true, or ``timeout`` passes; return its last value."""
        deadline = wait_deadline(timeout)
        result = predicate()
        waited = False
        while not result:
            left = remaining(deadline)
            if waited and left is not None and left <= 0:
                break
            self.wait(left)  # at least once, as the stdlib: it checks that the lock is held
            waited = True
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` threads waiting on this condition (the lock must be held)."""
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        waiters = self._waiters
        if not waiters:  # only a holder of the lock can add waiters: none can appear now
            return
        with waiters.lock:
            waiters.unpark(n)

    def notify_all(self) -> None:
        """Wake every thread waiting on this condition (the lock must be held)."""
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        waiters = self._waiters
        if not waiters:  # as in notify()
            return
        with waiters.lock:
            waiters.unpark_all()

    def notifyAll(self) -> None:  # noqa: N802 - the stdlib's deprecated spelling
        """Deprecated alias of ``notify_all()``."""
        warnings.warn(
            "notifyAll() is deprecated, use notify_all() instead", DeprecationWarning, stacklevel=2
        )
        self.notify_all()

    def statistics(self) -> ConditionStatistics:
        """Return a snapshot: the number of waiting threads and the lock."""
        with self._waiters.lock:
            return ConditionStatistics(len(self._waiters), self._lock)

    def __repr__(self) -> str:
        return f"<Condition({self._lock}, {self.statistics().threads_waiting})>"


# --------------------------------------------------------------------------------------------
# Barrier


@dataclass(frozen=True, slots=True)
class BarrierStatistics:
    """A snapshot of a Barrier.

    Attributes:
        parties: threads needed to pass.
        n_waiting: threads waiting now.
        broken: whether the barrier is broken.

    Examples:
        >>> b = Barrier(3)
        >>> b.statistics()
        BarrierStatistics(parties=3, n_waiting=0, broken=False)
        >>> b.abort()
        >>> b.statistics().broken
        True
    """

    parties: int
    n_waiting: int
    broken: bool


def _barrier_parties_message() -> str:
    """The running CPython's message for ``Barrier(0)``, or current CPython's (3.11, 3.12)."""
    try:
        _p.StdBarrier(0)
    except ValueError as exc:  # 3.13.0 says "parties must be > 0", later 3.13s ">= 1"
        return str(exc)
    return "parties must be >= 1"


_BARRIER_PARTIES_MESSAGE: Final = _barrier_parties_message()


class Barrier:
    """Let ``parties`` threads wait for each other: a drop-in for ``threading.Barrier``.

    The algorithm is CPython's (states filling / draining / resetting / broken), on a
    threadkit ``Condition``, so waiters park on threadkit's wait queue. Unlike Python 3.11
    and 3.12, ``parties < 1`` raises ``ValueError``: with the running CPython's message where it
    has the check (3.13.0 says "parties must be > 0", later releases "parties must be >= 1"),
    else "parties must be >= 1".

    Examples:
        >>> b = Barrier(2)
        >>> t = Thread(target=b.wait, args=(5,))
        >>> t.start()
        >>> index = b.wait(timeout=5)        # both threads pass together
        >>> sorted([index, t.result(timeout=5)])
        [0, 1]
    """

    def __init__(
        self, parties: int, action: Callable[[], object] | None = None, timeout: float | None = None
    ) -> None:
        if parties < 1:
            raise ValueError(_BARRIER_PARTIES_MESSAGE)
        self._cond = Condition(_p.Lock())
        self._action = action
        self._timeout = timeout
        self._parties = parties
        # Guarded by _cond: 0 filling, 1 draining, -1 resetting, -2 broken.
        self._state = 0
        self._count = 0

    def wait(self, timeout: float | None = None) -> int:
        """Wait until all parties have called ``wait()``; return this thread's index.

        Raises:
            BrokenBarrierError: if the barrier is broken or reset while waiting, or the
                wait times out (which breaks it).
            Cancelled: the thread's cancel scope was cancelled while it waited; that
                breaks the barrier too (the other parties get ``BrokenBarrierError``
                instead of waiting for a party that left).
        """
        if timeout is None:
            timeout = self._timeout
        with self._cond:
            self._enter()  # block while the barrier drains
            index = self._count
            self._count += 1
            try:
                if index + 1 == self._parties:
                    self._release()  # we release the barrier
                else:
                    self._wait(timeout)  # we wait for the barrier to be released
                return index
            finally:
                self._count -= 1
                self._exit()  # wake up any threads waiting for the barrier to drain

    def _enter(self) -> None:
        while self._state in (-1, 1):
            self._cond.wait()
        if self._state < 0:
            raise BrokenBarrierError
        assert self._state == 0

    def _release(self) -> None:
        try:
            if self._action:
                self._action()
            self._state = 1
            self._cond.notify_all()
        except BaseException:
            self._break()
            raise

    def _wait(self, timeout: float | None) -> None:
        try:
            passed = self._cond.wait_for(lambda: self._state != 0, timeout)
        except Cancelled:
            # A party that leaves by cancellation will not come back: the others would wait
            # for it forever (or until their timeout). It breaks the barrier, as a timeout
            # does and as an interrupted party does in Java's CyclicBarrier.
            if self._state == 0:
                self._break()
            raise
        if not passed:
            self._break()
            raise BrokenBarrierError
        if self._state < 0:
            raise BrokenBarrierError
        assert self._state == 1

    def _exit(self) -> None:
        if self._count == 0 and self._state in (-1, 1):
            self._state = 0
            self._cond.notify_all()

    def reset(self) -> None:
        """Return the barrier to its empty state; threads waiting get BrokenBarrierError."""
        with self._cond:
            if self._count > 0:
                if self._state == 0:
                    self._state = -1  # reset the barrier, waking up threads
                elif self._state == -2:
                    self._state = -1  # was broken, set it to reset state, which clears when done
            else:
                self._state = 0
            self._cond.notify_all()

    def abort(self) -> None:
        """Put the barrier in the broken state; waiting and future calls raise."""
        with self._cond:
            self._break()

    def _break(self) -> None:
        self._state = -2
        self._cond.notify_all()

    @property
    def parties(self) -> int:
        """The number of threads required to trip the barrier."""
        return self._parties

    @property
    def n_waiting(self) -> int:
        """The number of threads currently waiting at the barrier."""
        if self._state == 0:
            return self._count
        return 0

    @property
    def broken(self) -> bool:
        """True if the barrier is in the broken state."""
        return self._state == -2

    def statistics(self) -> BarrierStatistics:
        """Return a snapshot: parties, threads waiting, broken."""
        with self._cond:
            return BarrierStatistics(self._parties, self.n_waiting, self.broken)

    def __repr__(self) -> str:
        if self.broken:
            return f"{_where(self)}: broken>"
        return f"{_where(self)}: waiters={self.n_waiting}/{self.parties}>"


# --------------------------------------------------------------------------------------------
# Mutex


@dataclass(frozen=True, slots=True)
class MutexStatistics:
    """A snapshot of a Mutex.

    Attributes:
        locked: whether it is held.
        owner: the thread that holds it (a ``threading.Thread``), or None.
        threads_waiting: threads blocked in ``acquire()``.

    Examples:
        >>> import threading
        >>> m = Mutex()
        >>> with m:
        ...     s = m.statistics()
        >>> s.locked, s.owner is threading.current_thread(), s.threads_waiting
        (True, True, 0)
    """

    locked: bool
    owner: _p.StdThread | None
    threads_waiting: int


class Mutex:
    """A lock that knows its owner.

    It has ``threading.Lock``'s interface (``acquire(blocking=True, timeout=-1)``,
    ``release()``, ``locked()``, ``with``) with ownership enforced:

    * ``release()`` by a thread that does not hold it raises ``RuntimeError`` naming both
      threads (a plain Lock lets any thread release it);
    * a blocking ``acquire()`` by the thread that already holds it raises ``DeadlockError``
      instead of hanging forever (a non-blocking one returns False, as ``Lock``'s does);
    * ``owner`` tells who holds it, and waiting threads park on threadkit's wait queue.

    It costs a little more than the C ``Lock``; use ``Lock`` where speed matters most.

    Examples:
        >>> m = Mutex()
        >>> t = Thread(target=m.acquire)
        >>> t.start(); t.join()              # t took the mutex and ended without releasing it
        >>> m.owner is t
        True
        >>> m.release()
        Traceback (most recent call last):
          ...
        RuntimeError: cannot release a Mutex held by thread ... from thread ...
    """

    def __init__(self) -> None:
        self._waiters = WaitQueue(self)
        # _lock guards _owner and _waiters.
        self._lock = self._waiters.lock
        # The owning Thread object, not its ident: Linux reuses an ident as soon as a thread
        # exits, and a new thread must not inherit a dead thread's Mutex.
        self._owner: _p.StdThread | None = None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire the mutex; see ``threading.Lock.acquire``.

        Raises:
            DeadlockError: if the calling thread already holds it and ``blocking`` is true.
            ValueError: for the argument combinations ``Lock.acquire`` rejects.
        """
        deadline = None if blocking and timeout == -1 else lock_deadline(blocking, timeout)
        me = _p.current_thread()
        waiters = self._waiters
        front = False
        while True:
            with self._lock:
                owner = self._owner
                if owner is None:
                    self._owner = me
                    return True
                if owner is me and blocking:
                    raise DeadlockError(self._held_here(me, "acquiring it again"))
                if not blocking:
                    return False
                waiter = waiters.enqueue(front=front)
            try:
                woken = waiters.park(waiter, deadline)
            except BaseException:
                waiters.abandon(waiter)
                if waiter.state is WOKEN:  # pass the wake-up on
                    self._pass()
                raise
            if not woken:
                return False
            front = True  # woken but beaten to it: wait again at the head

    def acquire_op(self) -> SelectOp[bool]:
        """Return a select operation that acquires the mutex (its value: True).

        Selecting on a mutex the calling thread holds raises ``DeadlockError``.
        """
        return WaitOp(
            "acquire_op", self._waiters, lambda: self._owner is None, self._try_own, self._pass
        )

    def _try_own(self) -> tuple[bool, bool]:
        if self._owner is _p.current_thread():
            raise DeadlockError(self._held_here(self._owner, "selecting on acquire_op()"))
        return self.acquire(False), True

    def _held_here(self, me: _p.StdThread, doing: str) -> str:
        """The DeadlockError message for the thread ``me``, which holds the mutex."""
        task = self._tk_task
        if task is None:
            return (
                f"{describe_thread(me)} already holds this Mutex; {doing} would deadlock "
                "(use RLock for a re-entrant lock)"
            )
        return (
            f"{_task_name(task)}, of the event loop running in {describe_thread(me)}, holds this "
            f"Mutex; {doing} in that thread would deadlock (the task cannot run to release "
            "it): await threadkit.aio.acquire() in a coroutine instead"
        )

    # -- for threadkit.aio: a task of an event loop holds the mutex for its loop's thread --

    # The asyncio task that holds the mutex (its loop's thread is _owner), or None when a
    # thread holds it by a blocking call. Guarded by _lock; set and cleared by threadkit.aio
    # (_task_acquire_op, _task_release), and a class default, so acquire()/release() never
    # touch it: it is read only to tell a task of the owning thread's loop from another.
    _tk_task: object = None

    def _task_acquire_op(self, task: object) -> SelectOp[bool]:
        """``acquire_op()`` for the asyncio task ``task``, run in its event loop's thread.

        While another task of that loop holds the mutex, the op waits (it does not raise
        ``DeadlockError``, as a thread's select would: the owner is the same thread, but
        another task of it releases the mutex). It raises ``DeadlockError`` if ``task``
        itself holds it, or if code of this thread holds it by a blocking ``acquire()``.
        """
        return WaitOp(
            "acquire_op",
            self._waiters,
            lambda: self._owner is None,
            lambda: self._try_own_task(task),
            self._pass,
        )

    def _try_own_task(self, task: object) -> tuple[bool, bool]:
        me = _p.current_thread()
        with self._lock:
            owner = self._owner
            if owner is None:
                self._owner = me
                self._tk_task = task
                return True, True
            held_by = self._tk_task
            if owner is not me or (held_by is not None and held_by is not task):
                return False, True
        if held_by is None:
            raise DeadlockError(
                f"{describe_thread(me)} holds this Mutex by a blocking acquire(); a task of "
                "the event loop running in that thread waiting for it would deadlock"
            )
        raise DeadlockError(
            f"{_task_name(task)} already holds this Mutex; acquiring it again would deadlock"
        )

    def _task_release(self) -> None:
        """``release()`` for the task that acquired the mutex with ``_task_acquire_op``."""
        with self._lock:
            if self._owner is _p.current_thread():
                self._tk_task = None
        self.release()

    def _pass(self) -> None:
        with self._lock:
            if self._owner is None:
                self._waiters.unpark(1)

    def release(self) -> None:
        """Release the mutex and wake the oldest waiting thread.

        Raises:
            RuntimeError: if it is not held, or held by another thread (naming both).
        """
        me = _p.current_thread()
        with self._lock:
            owner = self._owner
            if owner is not me:
                if owner is None:
                    raise RuntimeError("release unlocked lock")
                raise RuntimeError(
                    f"cannot release a Mutex held by {describe_thread(owner)} "
                    f"from {describe_thread(me)}"
                )
            self._owner = None
            if self._waiters:
                self._waiters.unpark(1)

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *args: object) -> None:
        self.release()

    async def __aenter__(self) -> bool:
        """``async with mutex:`` in a coroutine: ``threadkit.aio.acquire`` (held for the task)."""
        from . import _aio  # (imports asyncio: only when used)

        return await _aio.acquire(self)

    async def __aexit__(self, *args: object) -> None:
        from . import _aio

        _aio.release(self)

    def locked(self) -> bool:
        """Return True if some thread holds the mutex."""
        return self._owner is not None

    @property
    def owner(self) -> _p.StdThread | None:
        """The thread that holds the mutex, or None (it may have exited without releasing)."""
        return self._owner

    # The protocol Condition uses on its lock: Condition(Mutex()) works.
    def _is_owned(self) -> bool:
        return self._owner is _p.current_thread()

    def _release_save(self) -> None:
        self.release()

    def _acquire_restore(self, state: object) -> None:
        self.acquire()

    def statistics(self) -> MutexStatistics:
        """Return a snapshot: locked, owner thread, waiting threads."""
        with self._lock:
            owner = self._owner
            return MutexStatistics(owner is not None, owner, len(self._waiters))

    def __repr__(self) -> str:
        s = self.statistics()
        if not s.locked:
            return f"{_where(self)}: unlocked{_waiting(s.threads_waiting)}>"
        return f"{_where(self)}: locked by {describe_thread(s.owner)}{_waiting(s.threads_waiting)}>"


def _task_name(task: object) -> str:
    """Name an asyncio task for a message (its name, not its long repr)."""
    get_name = getattr(task, "get_name", None)
    return repr(task) if get_name is None else f"task {get_name()!r}"


def sleep(seconds: float) -> None:
    """Sleep ``seconds``, as ``time.sleep`` does, but as a cancellation point.

    In a cancel scope the sleep ends at once when the scope is cancelled (``Cancelled``),
    and it follows the threadkit clock, so a ``MockClock`` advances it in tests.

    Raises:
        ValueError: ``seconds`` is negative or NaN.
        Cancelled: the calling thread's cancel scope was cancelled.

    Examples:
        >>> import threadkit
        >>> threadkit.sleep(0.001)               # as time.sleep(0.001)
        >>> with threadkit.move_on_after(0.01) as scope:
        ...     threadkit.sleep(3600)            # cut short by the scope's deadline
        >>> scope.cancelled_caught
        True
    """
    deadline = deadline_after(seconds, "seconds")
    queue = WaitQueue("sleep")
    with queue.lock:
        waiter = queue.enqueue()
    try:
        queue.park(waiter, deadline)
    except BaseException:
        queue.abandon(waiter)
        raise


def acquire(lock: Any, timeout: float | None = None) -> bool:
    """Acquire a C ``Lock``/``RLock`` (or any lock) within the calling thread's cancel scope.

    The C locks are not cancellation points: they keep their full speed and no thread can
    wake one that waits for them. This helper gives them the part of cancellation that can
    be had without that: it is a cancellation point on entry, and it waits at most until
    the scope's deadline (or ``timeout`` seconds, whichever is earlier), raising
    ``Cancelled`` if the scope's deadline ended the wait. An explicit ``cancel()`` while it
    waits is seen at the thread's next cancellation point once the lock is acquired (it is
    never raised with the lock held). Use ``Mutex`` for a lock whose wait a ``cancel()``
    ends at once. Under a virtual clock (``MockClock``) the scope's deadline does not bound
    the wait: a C lock can only wait in real time.

    Returns:
        True if the lock was acquired, False if ``timeout`` passed first.

    Raises:
        Cancelled: the scope was cancelled before the call, or its deadline passed.
        ValueError: ``timeout`` is negative or NaN.

    Examples:
        >>> import threading, threadkit
        >>> lock = threading.Lock()
        >>> threadkit.acquire(lock)
        True
        >>> with threadkit.move_on_after(0.01) as scope:
        ...     threadkit.acquire(lock)            # held: the scope's deadline ends the wait
        >>> scope.cancelled_caught
        True
        >>> lock.release()
    """
    check_timeout(timeout)
    checkpoint()
    scope_deadline = current_deadline()
    if scope_deadline == math.inf or get_clock().virtual:  # a C lock cannot wait in virtual time
        return bool(lock.acquire(True, -1 if timeout is None else timeout))
    clock = get_clock()
    end = scope_deadline if timeout is None else min(scope_deadline, clock.now() + timeout)
    while True:
        if lock.acquire(True, min(max(end - clock.now(), 0.0), _p.TIMEOUT_MAX)):
            return True
        if clock.now() >= end:
            break  # (a timed wait can end a hair early by the clock: then wait again)
    checkpoint()  # raises Cancelled if it was the scope's deadline
    return False
