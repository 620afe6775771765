"""Coordination primitives from other languages: once, WaitGroup, CountDownLatch, Notify,
Watch and CapacityLimiter.

``once``/``OnceValue`` is Go's ``sync.OnceValue``, ``WaitGroup`` Go's ``sync.WaitGroup``
(with 1.25's ``Go``), ``CountDownLatch`` Java's, ``Notify`` tokio's ``sync::Notify``,
``Watch`` tokio's watch channel in one object, and ``CapacityLimiter`` trio's. Each parks on
``_core.WaitQueue`` (so every blocking call is a cancellation point and follows the threadkit
clock), offers its waits as select operations (``*_op()``), and has a ``statistics()``
method whose frozen record is what ``repr()`` shows. All shared state changes under the
object's wait-queue lock (or, for a single reference read without it, is replaced whole), so
nothing relies on the GIL.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, NoReturn, TypeVar, cast

from ._core import (
    WOKEN,
    Arm,
    DeadlockError,
    SelectOp,
    Waiter,
    WaitOp,
    WaitQueue,
    WouldBlock,
    current_scopes,
    deadline_after,
    describe_thread,
    inherited,
)
from ._core import _primitives as _p
from ._sync import Mutex
from ._threads import Thread

__all__ = [
    "CapacityLimiter",
    "CapacityLimiterStatistics",
    "CountDownLatch",
    "CountDownLatchStatistics",
    "Notify",
    "NotifyStatistics",
    "OnceStatistics",
    "OnceValue",
    "WaitGroup",
    "WaitGroupStatistics",
    "Watch",
    "WatchStatistics",
    "once",
]

_T = TypeVar("_T")


# --------------------------------------------------------------------------------------------
# Helpers shared by the primitives


def _park(
    queue: WaitQueue,
    waiter: Waiter,
    deadline: float | None,
    give_back: Callable[[object], object] | None = None,
) -> bool:
    """Park ``waiter`` (queued under ``queue.lock``); True if woken, False on the deadline.

    If an exception (``Cancelled``, ``KeyboardInterrupt``) ends the wait after a wake-up was
    handed to this waiter, ``give_back(value)`` passes it on before the exception propagates.
    """
    try:
        return queue.park(waiter, deadline)
    except BaseException:
        queue.abandon(waiter)
        if give_back is not None and waiter.state is WOKEN:
            give_back(waiter.value)
        raise


def _wait_until(queue: WaitQueue, ready: Callable[[], bool], deadline: float | None) -> bool:
    """Return True once ``ready()`` (checked under ``queue.lock``) or a wake-up; False on the
    deadline. The object wakes the queue only when ``ready()`` has become true, and its
    condition, once true, counts as met even if it changes again before this thread runs."""
    with queue.lock:
        if ready():
            return True
        waiter = queue.enqueue()
    return _park(queue, waiter, deadline)


def _repr(obj: object, state: str, waiting: int) -> str:
    more = f", {waiting} waiting" if waiting else ""
    return f"<{type(obj).__module__}.{type(obj).__qualname__} at {id(obj):#x}: {state}{more}>"


def _check_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


# --------------------------------------------------------------------------------------------
# once / OnceValue

_PENDING: Final = "pending"
_RUNNING: Final = "running"
_DONE: Final = "done"
_FAILED: Final = "failed"


@dataclass(frozen=True, slots=True)
class OnceStatistics:
    """A snapshot of a OnceValue.

    Attributes:
        state: "pending" (not called yet), "running", "done" (returned) or "failed" (raised).
        threads_waiting: threads blocked until the running call ends.

    Examples:
        >>> config = OnceValue(dict)
        >>> config.statistics().state
        'pending'
        >>> config()
        {}
        >>> config.statistics()
        OnceStatistics(state='done', threads_waiting=0)
    """

    state: str
    threads_waiting: int


class OnceValue(Generic[_T]):
    """Call a function once, the first time its value is asked for: Go's ``sync.OnceValue``.

    ``get()`` (or calling the object) runs ``fn()`` on the first call and returns its
    value to that call and every later one. Threads that ask while the first call runs
    wait for it (a cancellation point; ``wait_op()`` is the same wait as a select
    operation), then return the same value: ``fn`` runs once, whoever asks first.

    If ``fn`` raises an ``Exception``, that is the outcome for good (as in Go, it is not
    retried): the caller that ran it gets the exception itself, and every other caller,
    now or later, gets a copy (same class, arguments and attributes) raised ``from`` it,
    so its traceback shows both where ``fn`` failed and where this caller asked. The
    original is not re-raised in several threads: each raise adds to an exception's
    traceback, which would grow with every call and is not safe to grow from several
    threads at once on free-threaded 3.13. An exception that ``copy.copy`` cannot copy
    is re-raised itself. A ``BaseException`` that is not an ``Exception`` (``Cancelled``,
    ``KeyboardInterrupt``) is about the calling thread, not about ``fn``: the call is
    abandoned and the next caller (a waiting thread first) runs ``fn`` again.

    A call of ``get()`` from inside ``fn`` (directly or not, in the same thread) raises
    ``DeadlockError`` instead of waiting for itself forever. ``once(fn)`` makes one, as a
    decorator too.

    Examples:
        >>> calls = []
        >>> config = OnceValue(lambda: calls.append(1) or {"debug": True})
        >>> config.done()
        False
        >>> config() is config.get()
        True
        >>> calls, config.done()
        ([1], True)
    """

    def __init__(self, fn: Callable[[], _T]) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable, not {type(fn).__name__}")
        functools.update_wrapper(self, fn, updated=())  # its name and docstring
        self.__dict__.pop("__wrapped__", None)  # which would keep fn alive
        self._queue = WaitQueue(self)
        # _lock guards every field below (they are written under it). _outcome is read
        # without it too: it is None until fn has finished, then (True, value) or
        # (False, exception), replaced whole, once.
        self._lock = self._queue.lock
        self._fn: Callable[[], _T] | None = fn  # dropped once fn has finished (as Go does)
        self._outcome: tuple[bool, Any] | None = None
        self._runner: _p.StdThread | None = None  # the thread running fn, if any

    def __call__(self) -> _T:
        """The same as ``get()``."""
        return self.get()

    def get(self) -> _T:
        """Return ``fn()``'s value, calling ``fn`` if this is the first call.

        Raises:
            Exception: what ``fn`` raised (a copy of it for every caller but the first).
            DeadlockError: called from inside ``fn`` in the thread that runs it.
            Cancelled: the caller's scope was cancelled while it waited for ``fn``.
        """
        outcome = self._outcome
        if outcome is None:
            outcome = self._run_or_wait()
        return self._unpack(outcome)

    def _run_or_wait(self) -> tuple[bool, Any]:
        me = _p.current_thread()
        while True:
            with self._lock:
                outcome = self._outcome
                if outcome is not None:
                    return outcome
                runner = self._runner
                if runner is None:
                    self._runner = me
                    fn = self._fn
                    break
                if runner is me:
                    raise DeadlockError(
                        f"{describe_thread(me)} called this OnceValue from inside its own fn; "
                        "waiting for itself would deadlock"
                    )
            _wait_until(self._queue, self._not_running, None)
        assert fn is not None
        try:
            value = fn()
        except Exception as exc:
            self._finish((False, exc))
            raise  # the original, to the caller that ran fn
        except BaseException:
            self._finish(None)  # abandoned: a later caller runs fn again
            raise
        self._finish((True, value))
        return (True, value)

    def _not_running(self) -> bool:
        return self._runner is None

    def _finish(self, outcome: tuple[bool, Any] | None) -> None:
        with self._lock:
            self._outcome = outcome
            self._runner = None
            if outcome is not None:
                self._fn = None
            self._queue.unpark_all()

    def _unpack(self, outcome: tuple[bool, Any]) -> _T:
        ok, value = outcome
        if ok:
            return cast(_T, value)
        _raise_copy(value)

    def done(self) -> bool:
        """Return True once ``fn`` has been called and has returned or raised."""
        return self._outcome is not None

    def wait_op(self) -> SelectOp[_T]:
        """Return a select operation that fires once ``fn`` has finished; its value is
        ``fn``'s (raised, as ``get()`` raises it, if ``fn`` raised).

        It does not call ``fn``: it waits for a ``get()`` in some thread to do so.
        """
        return WaitOp("wait_op", self._queue, self.done, self._try_get)

    def _try_get(self) -> tuple[bool, _T]:
        outcome = self._outcome
        if outcome is None:
            return False, None  # type: ignore[return-value]  # not done: the value is unused
        return True, self._unpack(outcome)

    def statistics(self) -> OnceStatistics:
        """Return a snapshot: the state of the call and the threads waiting for it."""
        with self._lock:
            outcome = self._outcome
            if outcome is not None:
                state = _DONE if outcome[0] else _FAILED
            else:
                state = _PENDING if self._runner is None else _RUNNING
            return OnceStatistics(state, len(self._queue))

    def __repr__(self) -> str:
        stats = self.statistics()
        name = getattr(self, "__qualname__", "fn")
        return _repr(self, f"{name} {stats.state}", stats.threads_waiting)


def _raise_copy(exc: BaseException) -> NoReturn:
    """Raise a copy of ``exc`` chained to it (``exc`` itself if it cannot be copied)."""
    try:
        dup: BaseException | None = copy.copy(exc)
    except Exception:  # a constructor that does not take the exception's own args
        dup = None
    if dup is None or type(dup) is not type(exc):
        raise exc
    if dup.__dict__ is exc.__dict__:
        # A reduce patched in (tblib's, which dask installs) can hand the copy the same
        # __dict__: a note added to the copy would then reach the original.
        dup.__dict__ = dict(exc.__dict__)
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        dup.__notes__ = list(notes)  # a note added to the copy must not reach the original
    raise dup from exc


def once(fn: Callable[[], _T]) -> OnceValue[_T]:
    """Return a ``OnceValue`` that calls ``fn`` once: Go's ``sync.OnceValue``, a decorator.

    Examples:
        >>> @once
        ... def settings() -> dict[str, int]:
        ...     print("loading")
        ...     return {"workers": 4}
        >>> settings()
        loading
        {'workers': 4}
        >>> settings()
        {'workers': 4}
    """
    return OnceValue(fn)


# --------------------------------------------------------------------------------------------
# WaitGroup and CountDownLatch


class _Countdown:
    """A counter whose waiters are woken when it reaches zero (lock: the queue's)."""

    def __init__(self, count: int) -> None:
        self._queue = WaitQueue(self)
        self._lock = self._queue.lock
        self._count = count  # guarded by _lock (read without it: a snapshot)

    def _set_locked(self, count: int) -> None:
        self._count = count
        if count == 0 and self._queue:
            self._queue.unpark_all()

    def _is_zero(self) -> bool:
        return self._count == 0

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the count is zero; return False if ``timeout`` seconds pass first.

        Returns True if the count was zero at some moment since the call (it may have been
        raised again before this thread ran).

        Raises:
            ValueError: ``timeout`` is negative or NaN.
            Cancelled: the caller's scope was cancelled while it waited.
        """
        deadline = deadline_after(timeout)
        if self._count == 0:
            return True
        return _wait_until(self._queue, self._is_zero, deadline)

    def wait_op(self) -> SelectOp[bool]:
        """Return a select operation that fires when the count is zero (its value: True)."""
        return WaitOp(
            "wait_op",
            self._queue,
            self._is_zero,
            lambda: (self._count == 0, True),
            fired=lambda _: (True, True),
        )

    def _snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self._count, len(self._queue)

    def __repr__(self) -> str:
        count, waiting = self._snapshot()
        return _repr(self, f"count={count}", waiting)


@dataclass(frozen=True, slots=True)
class WaitGroupStatistics:
    """A snapshot of a WaitGroup.

    Attributes:
        count: the counter (tasks added and not yet done).
        threads_waiting: threads blocked in ``wait()``.

    Examples:
        >>> wg = WaitGroup()
        >>> wg.add(2)
        >>> wg.statistics()
        WaitGroupStatistics(count=2, threads_waiting=0)
        >>> wg.done(); wg.done(); wg.statistics().count
        0
    """

    count: int
    threads_waiting: int


class WaitGroup(_Countdown):
    """Wait for a group of tasks to finish: Go's ``sync.WaitGroup``.

    ``add(n)`` counts ``n`` tasks in, ``done()`` counts one out, and ``wait()`` blocks until
    the counter is zero. ``go(fn, *args)`` does all three for a thread: it adds one, starts a
    threadkit ``Thread`` running ``fn(*args)`` (inside the starting thread's cancel scopes),
    and calls ``done()`` when ``fn`` returns or raises. A counter that would go negative
    raises ``RuntimeError`` (Go panics) and is left as it was. Unlike Go's, a WaitGroup may be
    reused at once: a ``wait()`` that saw zero returns True even if ``add()`` follows.

    Examples:
        >>> results = []
        >>> wg = WaitGroup()
        >>> for n in range(3):
        ...     _ = wg.go(results.append, n * n)
        >>> wg.wait(timeout=5)
        True
        >>> sorted(results)
        [0, 1, 4]
    """

    def __init__(self) -> None:
        super().__init__(0)

    @property
    def count(self) -> int:
        """The counter now (a snapshot)."""
        return self._count

    def add(self, delta: int = 1) -> None:
        """Add ``delta`` (which may be negative) to the counter; at zero, wake the waiters.

        Raises:
            TypeError: ``delta`` is not an int.
            RuntimeError: the counter would go negative (it is left unchanged).
        """
        _check_int(delta, "delta")
        with self._lock:
            count = self._count + delta
            if count < 0:
                raise RuntimeError(
                    f"negative WaitGroup counter: add({delta}) with the counter at "
                    f"{self._count} (done() called more often than add())"
                )
            self._set_locked(count)

    def done(self) -> None:
        """Count one task out: ``add(-1)``."""
        self.add(-1)

    def go(self, fn: Callable[..., object], /, *args: Any, name: str | None = None) -> Thread:
        """Run ``fn(*args)`` in a new thread counted in the group; return the ``Thread``.

        The thread runs inside the cancel scopes of the calling thread; its ``result()``
        gives ``fn``'s value, and an exception ``fn`` raises goes to
        ``threading.excepthook`` (as a ``Thread``'s does). ``done()`` is called either way.
        """
        self.add(1)
        thread = Thread(target=self._run, args=(fn, args, current_scopes()), name=name)
        try:
            thread.start()
        except BaseException:  # "can't start new thread": it will never call done()
            self.done()
            raise
        return thread

    def _run(self, fn: Callable[..., object], args: tuple[Any, ...], scopes: list[Any]) -> object:
        try:
            with inherited(scopes):
                return fn(*args)
        finally:
            self.done()

    def statistics(self) -> WaitGroupStatistics:
        """Return a snapshot: the counter and the number of waiting threads."""
        return WaitGroupStatistics(*self._snapshot())


@dataclass(frozen=True, slots=True)
class CountDownLatchStatistics:
    """A snapshot of a CountDownLatch.

    Attributes:
        count: the count still to go.
        threads_waiting: threads blocked in ``wait()``.

    Examples:
        >>> latch = CountDownLatch(3)
        >>> latch.count_down()
        >>> latch.statistics()
        CountDownLatchStatistics(count=2, threads_waiting=0)
    """

    count: int
    threads_waiting: int


class CountDownLatch(_Countdown):
    """A gate that opens after ``count`` events: Java's ``CountDownLatch``.

    ``count_down()`` takes one off the count; ``wait()`` blocks until it is zero. Once open it
    stays open: a ``count_down()`` at zero does nothing. Unlike a ``WaitGroup``, the count is
    fixed when it is made and only goes down, so a latch suits "wait until N things have
    happened" where the N is known ahead (workers ready, replies received).

    Examples:
        >>> latch = CountDownLatch(2)
        >>> latch.count_down()
        >>> latch.wait(timeout=0), latch.count
        (False, 1)
        >>> latch.count_down()
        >>> latch.wait(timeout=0)
        True

    Raises:
        TypeError: ``count`` is not an int.
        ValueError: ``count`` is negative.
    """

    def __init__(self, count: int) -> None:
        if _check_int(count, "count") < 0:
            raise ValueError(f"count must be >= 0, not {count}")
        super().__init__(count)

    @property
    def count(self) -> int:
        """The count still to go (a snapshot)."""
        return self._count

    def count_down(self) -> None:
        """Take one off the count (nothing at zero); at zero, wake every waiting thread."""
        with self._lock:
            if self._count:
                self._set_locked(self._count - 1)

    def statistics(self) -> CountDownLatchStatistics:
        """Return a snapshot: the count and the number of waiting threads."""
        return CountDownLatchStatistics(*self._snapshot())


# --------------------------------------------------------------------------------------------
# Notify

_ONE: Final = "notify_one"  # the value a notify_one() wake-up carries (notify_all: True)


@dataclass(frozen=True, slots=True)
class NotifyStatistics:
    """A snapshot of a Notify.

    Attributes:
        permit: whether a ``notify_one()`` is stored for the next ``wait()``.
        threads_waiting: threads blocked in ``wait()``.

    Examples:
        >>> n = Notify()
        >>> n.notify_one()          # nobody waits: stored as the permit
        >>> n.statistics()
        NotifyStatistics(permit=True, threads_waiting=0)
    """

    permit: bool
    threads_waiting: int


class Notify:
    """Wake one thread or all, without losing a wake-up sent early: tokio's ``Notify``.

    ``notify_one()`` wakes the oldest waiting thread; if none waits, it stores a *permit*
    that the next ``wait()`` consumes at once, so a notification sent just before the wait
    is not lost (at most one permit is stored: several early ``notify_one()`` calls release
    one ``wait()``). ``notify_all()`` wakes every thread waiting now and stores nothing.

    It is the signal of a condition without the lock: a consumer checks its state, then
    waits, and a producer that changes the state in between has left a permit. A waiter
    that was woken by ``notify_one()`` but is cancelled before it returns passes the
    notification on (to the next waiter, or as the permit).

    Examples:
        >>> n = Notify()
        >>> n.notify_one()          # nobody waits: stored as the permit
        >>> n.wait(timeout=0), n.wait(timeout=0)
        (True, False)
    """

    def __init__(self) -> None:
        self._queue = WaitQueue(self)
        # _lock guards _permit and _queue.
        self._lock = self._queue.lock
        self._permit = False

    def notify_one(self) -> None:
        """Wake the oldest waiting thread, or store the permit if none waits."""
        with self._lock:
            if not (self._queue and self._queue.unpark(1, _ONE)):
                self._permit = True

    def notify_all(self) -> None:
        """Wake every thread waiting now (no permit is stored)."""
        with self._lock:
            if self._queue:
                self._queue.unpark_all()

    def _pass_on(self, value: object) -> None:
        if value is _ONE:
            self.notify_one()

    def _take_permit(self) -> tuple[bool, bool]:
        with self._lock:
            permit = self._permit
            self._permit = False
            return permit, True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until notified (or take the stored permit); False after ``timeout`` seconds.

        Raises:
            ValueError: ``timeout`` is negative or NaN.
            Cancelled: the caller's scope was cancelled while it waited.
        """
        deadline = deadline_after(timeout)
        with self._lock:
            if self._permit:
                self._permit = False
                return True
            waiter = self._queue.enqueue()
        return _park(self._queue, waiter, deadline, self._pass_on)

    def wait_op(self) -> SelectOp[bool]:
        """Return a select operation that is notified as ``wait()`` is (its value: True)."""
        return _NotifiedOp(self)

    def statistics(self) -> NotifyStatistics:
        """Return a snapshot: the permit and the number of waiting threads."""
        with self._lock:
            return NotifyStatistics(self._permit, len(self._queue))

    def __repr__(self) -> str:
        stats = self.statistics()
        return _repr(self, "permit" if stats.permit else "no permit", stats.threads_waiting)


class _NotifiedOp(SelectOp[bool]):
    """``Notify.wait_op()``: takes the permit, or is woken by a notification."""

    __slots__ = ("_notify",)

    def __init__(self, notify: Notify) -> None:
        self._notify = notify

    def __repr__(self) -> str:
        return f"<wait_op of {self._notify!r}>"

    def try_select(self) -> tuple[bool, bool]:
        return self._notify._take_permit()

    def register(self, arm: Arm) -> bool:
        notify = self._notify
        with notify._lock:
            if notify._permit:
                return True
            notify._queue.register(arm)
            return False

    def complete(self, arm: Arm, value: object) -> tuple[bool, bool]:
        return True, True  # the notification was handed to this arm

    def pass_on(self, arm: Arm, value: object) -> None:
        self._notify._pass_on(value)


# --------------------------------------------------------------------------------------------
# Watch


@dataclass(frozen=True, slots=True)
class WatchStatistics:
    """A snapshot of a Watch.

    Attributes:
        version: the version of the current value (0 for the initial one).
        threads_waiting: threads blocked in ``wait_changed()`` or ``wait_for()``.

    Examples:
        >>> w = Watch("starting")
        >>> w.set("ready")
        >>> w.statistics()
        WatchStatistics(version=1, threads_waiting=0)
    """

    version: int
    threads_waiting: int


class Watch(Generic[_T]):
    """The latest value of something, with a version, that threads can wait on: tokio's
    ``watch`` channel as one object.

    ``set(value)`` replaces the value and adds one to ``version`` (0 for the initial value);
    ``modify(fn)`` replaces it with ``fn(old)`` atomically. Readers get the latest value
    (``get()``, ``get_with_version()``) without taking a lock, and never a stale one
    they have not been told about: a thread that wants every *change* remembers the
    version it has seen and passes it as ``since``::

        value, seen = watch.get_with_version()
        while watch.wait_changed(since=seen):
            value, seen = watch.get_with_version()   # the newest: values may be skipped

    ``wait_for(pred)`` returns the first value (the current one included) for which
    ``pred`` is true. Intermediate values set while a reader is not looking are skipped,
    as in tokio: a Watch holds state, not a queue of events (use a channel for that).

    Examples:
        >>> w = Watch("starting")
        >>> w.set("ready")
        >>> w.get_with_version()
        ('ready', 1)
        >>> w.wait_changed(since=0, timeout=0)
        True
        >>> w.modify(str.upper), w.version
        ('READY', 2)
    """

    def __init__(self, value: _T) -> None:
        self._queue = WaitQueue(self)
        # _lock guards the queue and every write of _state; _state is (value, version),
        # replaced whole, so readers take it without the lock.
        self._lock = self._queue.lock
        self._state: tuple[_T, int] = (value, 0)
        # Writers run one at a time, modify()'s fn included (it is a cancellation point).
        self._writer = Mutex()

    def get(self) -> _T:
        """Return the current value."""
        return self._state[0]

    def get_with_version(self) -> tuple[_T, int]:
        """Return the current value and its version, as one consistent pair."""
        return self._state

    @property
    def version(self) -> int:
        """The version of the current value: 0 at first, one more after each change."""
        return self._state[1]

    def set(self, value: _T) -> None:
        """Replace the value, add one to the version and wake the threads waiting.

        Raises:
            DeadlockError: called from inside ``modify()``'s ``fn`` (return the value instead).
        """
        with self._write():
            self._publish(value)

    def modify(self, fn: Callable[[_T], _T]) -> _T:
        """Replace the value with ``fn(value)``, atomically, and return the new value.

        ``fn`` runs once, with other writers held off (readers see the old value until it
        returns); if it raises, the value is unchanged and the exception propagates.

        Raises:
            DeadlockError: ``fn`` calls ``set()`` or ``modify()`` on the same Watch.
        """
        with self._write():
            new = fn(self._state[0])
            self._publish(new)
            return new

    def _write(self) -> Mutex:
        if self._writer.owner is _p.current_thread():
            raise DeadlockError(
                "set() or modify() called from inside modify()'s fn on the same Watch "
                "would deadlock: return the new value from fn instead"
            )
        return self._writer

    def _publish(self, value: _T) -> None:
        with self._lock:
            self._state = (value, self._state[1] + 1)
            if self._queue:
                self._queue.unpark_all()

    def _since(self, since: int | None) -> int:
        version = self._state[1]
        if since is None:
            return version
        if _check_int(since, "since") > version:
            raise ValueError(f"since={since} is newer than the current version {version}")
        return since

    def wait_changed(self, timeout: float | None = None, *, since: int | None = None) -> bool:
        """Block until the version is past ``since``; return False after ``timeout`` seconds.

        ``since`` is the version the caller last saw (from ``get_with_version()`` or
        ``version``); None means the version at the time of the call, which waits for the
        next change but misses one made between the caller's read and this call. Returns
        at once if the version has already moved past ``since``.

        Raises:
            ValueError: ``since`` is newer than the current version; ``timeout`` is
                negative or NaN.
            TypeError: ``since`` is not an int.
            Cancelled: the caller's scope was cancelled while it waited.
        """
        deadline = deadline_after(timeout)
        seen = self._since(since)
        return _wait_until(self._queue, lambda: self._state[1] > seen, deadline)

    def wait_for(self, pred: Callable[[_T], object], timeout: float | None = None) -> _T:
        """Return the first value, the current one included, for which ``pred`` is true.

        ``pred`` is called without any lock held, with the current value and then with
        each newer value this thread sees (values set in quick succession may be skipped).

        Raises:
            TimeoutError: ``timeout`` seconds passed first.
            ValueError: ``timeout`` is negative or NaN.
            Cancelled: the caller's scope was cancelled while it waited.
        """
        deadline = deadline_after(timeout)
        while True:
            value, seen = self._state
            if pred(value):
                return value
            if not _wait_until(self._queue, lambda: self._state[1] > seen, deadline):  # noqa: B023
                raise TimeoutError(f"the value did not satisfy the predicate within {timeout} s")

    def wait_changed_op(self, *, since: int | None = None) -> SelectOp[tuple[_T, int]]:
        """Return a select operation that fires once the version is past ``since`` (None:
        the version now); its value is ``get_with_version()`` at that moment."""
        seen = self._since(since)

        def changed() -> bool:
            return self._state[1] > seen

        def attempt() -> tuple[bool, tuple[_T, int]]:
            state = self._state
            return state[1] > seen, state

        return WaitOp("wait_changed_op", self._queue, changed, attempt)

    def statistics(self) -> WatchStatistics:
        """Return a snapshot: the version and the number of waiting threads."""
        with self._lock:
            return WatchStatistics(self._state[1], len(self._queue))

    def __repr__(self) -> str:
        stats = self.statistics()
        return _repr(self, f"version {stats.version}", stats.threads_waiting)


# --------------------------------------------------------------------------------------------
# CapacityLimiter


@dataclass(frozen=True, slots=True)
class CapacityLimiterStatistics:
    """A snapshot of a CapacityLimiter.

    Attributes:
        borrowed_tokens: tokens held now.
        total_tokens: the capacity.
        borrowers: who holds the tokens (threads, or what ``*_on_behalf_of`` was given).
        threads_waiting: threads (and selects) waiting for a token.

    Examples:
        >>> limiter = CapacityLimiter(2)
        >>> limiter.acquire_on_behalf_of("job-1")
        True
        >>> s = limiter.statistics()
        >>> s.borrowed_tokens, s.total_tokens, s.borrowers
        (1, 2, ['job-1'])
        >>> limiter.release_on_behalf_of("job-1")
    """

    borrowed_tokens: int
    total_tokens: int | float
    borrowers: list[object]
    threads_waiting: int


class CapacityLimiter:
    """Limit how many threads do something at once, with a capacity that can change: trio's
    ``CapacityLimiter``.

    Like a ``Semaphore`` with ``total_tokens`` units, except that:

    * each token is held by a *borrower* (the calling thread, or any hashable object given
      to ``acquire_on_behalf_of``), who may hold at most one: a second acquire by the same
      borrower raises ``RuntimeError``, and only the borrower can release its token;
    * ``total_tokens`` can be changed while in use: raising it lets waiting threads in at
      once; lowering it below what is borrowed is allowed (nobody loses a token, new
      acquirers wait until enough have been released);
    * it is strictly fair (FIFO): a released token is handed to the oldest waiter, so a
      thread that arrives later never takes it first.

    Examples:
        >>> limiter = CapacityLimiter(2)
        >>> with limiter:
        ...     limiter.borrowed_tokens, limiter.available_tokens
        (1, 1)
        >>> limiter.total_tokens = 5
        >>> limiter.available_tokens
        5
    """

    def __init__(self, total_tokens: int | float) -> None:
        self._queue = WaitQueue(self)
        # _lock guards _total, _borrowers and _queue. Invariant (under _lock): a thread or
        # arm is queued only while no token is available (a freed token is handed to the
        # oldest waiter at once), so an acquirer that finds a token takes nobody's turn.
        self._lock = self._queue.lock
        self._total = self._check_total(total_tokens)
        self._borrowers: set[object] = set()

    @staticmethod
    def _check_total(total: object) -> int | float:
        if isinstance(total, bool) or not (isinstance(total, int) or total == math.inf):
            raise TypeError(f"total_tokens must be an int or math.inf, not {total!r}")
        assert isinstance(total, (int, float))
        if total < 1:
            raise ValueError(f"total_tokens must be >= 1, not {total}")
        return total

    @property
    def total_tokens(self) -> int | float:
        """The capacity; settable (raising it wakes waiting threads at once).

        Raises:
            TypeError: not an int (or ``math.inf``).
            ValueError: below 1.
        """
        return self._total

    @total_tokens.setter
    def total_tokens(self, total: int | float) -> None:
        total = self._check_total(total)
        with self._lock:
            self._total = total
            self._hand_out_locked()

    @property
    def borrowed_tokens(self) -> int:
        """Tokens held now."""
        return len(self._borrowers)

    @property
    def available_tokens(self) -> int | float:
        """Tokens free now (0 while more are held than ``total_tokens``)."""
        with self._lock:
            return max(self._total - len(self._borrowers), 0)

    def acquire(self, timeout: float | None = None) -> bool:
        """Take a token for the calling thread, waiting for one; False after ``timeout``.

        Raises:
            RuntimeError: the calling thread already holds a token of this limiter.
            ValueError: ``timeout`` is negative or NaN.
            Cancelled: the caller's scope was cancelled while it waited.
        """
        return self.acquire_on_behalf_of(_p.current_thread(), timeout)

    def acquire_nowait(self) -> None:
        """Take a token for the calling thread without waiting.

        Raises:
            WouldBlock: no token is free.
            RuntimeError: the calling thread already holds a token of this limiter.
        """
        self.acquire_on_behalf_of_nowait(_p.current_thread())

    def acquire_on_behalf_of(self, borrower: object, timeout: float | None = None) -> bool:
        """Take a token for ``borrower`` (any hashable object), waiting for one.

        Returns True once taken, False if ``timeout`` seconds passed first.

        Raises:
            RuntimeError: ``borrower`` already holds, or already waits for, a token.
            ValueError: ``timeout`` is negative or NaN.
            Cancelled: the caller's scope was cancelled while it waited.
        """
        deadline = deadline_after(timeout)
        queue = self._queue
        with self._lock:
            if self._try_take_locked(borrower):
                return True
            self._check_not_waiting_locked(borrower)
            waiter = queue.enqueue()
            waiter.payload = borrower  # handed out with the token (_hand_out_locked)
        try:
            return _park(queue, waiter, deadline, lambda _: self.release_on_behalf_of(borrower))
        finally:
            waiter.payload = None

    def acquire_on_behalf_of_nowait(self, borrower: object) -> None:
        """Take a token for ``borrower`` without waiting.

        Raises:
            WouldBlock: no token is free.
            RuntimeError: ``borrower`` already holds a token.
        """
        with self._lock:
            if not self._try_take_locked(borrower):
                raise WouldBlock("no token of this CapacityLimiter is free")

    def _check_not_waiting_locked(self, borrower: object) -> None:
        """One borrower, one wait (a blocking acquire or a select arm)."""
        if any(entry.payload == borrower for entry in self._queue):
            raise RuntimeError("this borrower is already waiting for a token")

    def _try_take_locked(self, borrower: object) -> bool:
        borrowers = self._borrowers
        if borrower in borrowers:
            raise RuntimeError(
                "this borrower is already holding one of this CapacityLimiter's tokens"
            )
        if len(borrowers) < self._total:
            borrowers.add(borrower)
            return True
        return False

    def release(self) -> None:
        """Return the calling thread's token; the oldest waiting thread gets it.

        Raises:
            RuntimeError: the calling thread holds no token of this limiter.
        """
        self.release_on_behalf_of(_p.current_thread())

    def release_on_behalf_of(self, borrower: object) -> None:
        """Return ``borrower``'s token; the oldest waiting thread gets it.

        Raises:
            RuntimeError: ``borrower`` holds no token of this limiter.
        """
        with self._lock:
            try:
                self._borrowers.remove(borrower)
            except KeyError:
                raise RuntimeError(
                    "this borrower isn't holding any of this CapacityLimiter's tokens"
                ) from None
            self._hand_out_locked()

    def _hand_out_locked(self) -> None:
        """Give the free tokens to the oldest waiters (their borrowers take them now)."""
        queue = self._queue
        borrowers = self._borrowers
        while queue and len(borrowers) < self._total:
            woken, borrower = queue.wake_one()
            if woken:
                borrowers.add(borrower)

    def acquire_op(self) -> SelectOp[bool]:
        """Return a select operation that takes a token for the calling thread (value True)."""
        return _AcquireOp(self, _p.current_thread())

    def acquire_on_behalf_of_op(self, borrower: object) -> SelectOp[bool]:
        """Return a select operation that takes a token for ``borrower`` (value True)."""
        return _AcquireOp(self, borrower)

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *args: object) -> None:
        self.release()

    async def __aenter__(self) -> None:
        """``async with limiter:`` in a coroutine: a token for the event loop's thread."""
        from . import _aio  # (imports asyncio: only when used)

        await _aio.acquire(self)

    async def __aexit__(self, *args: object) -> None:
        self.release()

    def statistics(self) -> CapacityLimiterStatistics:
        """Return a snapshot: tokens borrowed and total, the borrowers, threads waiting."""
        with self._lock:
            return CapacityLimiterStatistics(
                len(self._borrowers), self._total, list(self._borrowers), len(self._queue)
            )

    def __repr__(self) -> str:
        s = self.statistics()
        return _repr(self, f"{s.borrowed_tokens}/{s.total_tokens} borrowed", s.threads_waiting)


class _AcquireOp(SelectOp[bool]):
    """A CapacityLimiter's acquire as a select operation: the token is handed to its arm."""

    __slots__ = ("_borrower", "_limiter")

    def __init__(self, limiter: CapacityLimiter, borrower: object) -> None:
        self._limiter = limiter
        self._borrower = borrower

    def __repr__(self) -> str:
        return f"<acquire_op of {self._limiter!r}>"

    def try_select(self) -> tuple[bool, bool]:
        with self._limiter._lock:
            return self._limiter._try_take_locked(self._borrower), True

    def register(self, arm: Arm) -> bool:
        limiter = self._limiter
        borrower = self._borrower
        with limiter._lock:
            borrowers = limiter._borrowers
            if borrower in borrowers or len(borrowers) < limiter._total:
                return True  # try_select takes the token (or raises)
            # (Two tasks of one event loop are one borrower, its thread: else both would
            # get "the" token.)
            limiter._check_not_waiting_locked(borrower)
            arm.payload = borrower
            limiter._queue.register(arm)
            return False

    def complete(self, arm: Arm, value: object) -> tuple[bool, bool]:
        return True, True  # the waker handed the token over (the borrower holds it)

    def pass_on(self, arm: Arm, value: object) -> None:
        self._limiter.release_on_behalf_of(self._borrower)
