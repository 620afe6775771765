"""Queues: drop-ins for the ``queue`` module's classes, parked on threadkit's wait queue.

``Queue``, ``LifoQueue``, ``PriorityQueue`` and ``SimpleQueue`` have the standard library's
signatures, return values, exceptions (``Empty`` and ``Full`` are ``queue``'s own classes,
``ShutDown`` too where it exists) and subclass hooks (``_init``, ``_qsize``, ``_put``,
``_get``), and 3.13's ``shutdown()`` on every Python. The additions are new methods only:
iteration, ``get_many``, ``peek``, a settable ``maxsize``, ``statistics()``, and the select
operations ``get_op()`` / ``put_op(item)``.

Design. A Queue has one C lock (``mutex``) and three ``WaitQueue``s that share it: getters,
putters and joiners. Each call does its work in one ``with self.mutex:`` block and wakes a
waiter only if one is queued (``if self._getters:``), so an uncontended call is one lock
acquisition and no wake-up. A woken thread retries its operation; if another thread got
there first (barging, as with the stdlib's ``Condition``) it waits again at the head of the
queue. Every blocking slow path is one loop, ``_park_until``, which also serves the select
operations (``_Op``): they try, register and pass wake-ups on with the same ``attempt`` and
``ready`` functions as the blocking calls.

Wake-ups (after ``java.util.concurrent.LinkedBlockingQueue``): a put wakes a getter only when
it makes the queue non-empty (size <= 1 after it: a lock-free get may already have taken the
item), and a get that leaves items behind while getters sleep wakes the next one. A getter
sleeps only after finding the queue empty under the mutex, so the first item after that
wakes one, and each woken getter passes the baton on while items remain: no item waits for a
sleeping getter, and a burst of puts does not wake every getter at once, which with the GIL
costs more than it helps.

``SimpleQueue`` puts without any lock (see its Design note), which keeps ``put`` reentrant:
a ``put`` from a ``__del__`` that the garbage collector runs in the middle of another ``put``
cannot deadlock (bpo-14976).
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from heapq import heappop, heappush
from queue import Empty, Full
from typing import Any, Final, Generic, TypeVar, cast

from ._core import WOKEN, Arm, SelectOp, WaitQueue, check_timeout, wait_deadline
from ._core import _primitives as _p

if sys.version_info >= (3, 13):
    from queue import ShutDown
else:

    class ShutDown(Exception):  # noqa: N818 - the stdlib's name (3.13's queue.ShutDown)
        """Raised when put/get with shut-down queue.

        Examples:
            >>> from threadkit.queue import Queue
            >>> q = Queue()
            >>> q.put("last"); q.shutdown()
            >>> q.get()
            'last'
            >>> q.get()
            Traceback (most recent call last):
              ...
            threadkit.queue.ShutDown
        """


__all__ = [
    "Empty",
    "Full",
    "LifoQueue",
    "PriorityQueue",
    "Queue",
    "QueueStatistics",
    "ShutDown",
    "SimpleQueue",
    "SimpleQueueStatistics",
]

_T = TypeVar("_T")


def _deadline(timeout: float) -> float:
    """Turn a ``put``/``get`` timeout into a deadline, with the stdlib's wording for < 0."""
    if timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")
    deadline = wait_deadline(timeout)  # rejects NaN (the stdlib would hang or fail later)
    assert deadline is not None
    return deadline


def _pass_on(waiters: WaitQueue, ready: Callable[[], bool]) -> None:
    """Give a wake-up that will not be used to the next waiter, if it can act on it (locked)."""
    if waiters and ready():
        waiters.unpark()


def _park_until(
    waiters: WaitQueue,
    attempt: Callable[[], tuple[bool, Any]],
    ready: Callable[[], bool],
    deadline: float | None,
    failure: type[Exception],
    *,
    block: bool = True,
    fast: Callable[[], tuple[bool, Any]] | None = None,
) -> Any:
    """Retry ``attempt`` until it succeeds, parking on ``waiters`` in between; return its result.

    The slow path of every blocking queue call. ``attempt`` runs with ``waiters.lock`` held and
    either performs the operation (``(True, result)``), cannot yet (``(False, None)``), or
    raises (``ShutDown``). ``ready()`` (lock held) says whether it could succeed now: it is
    asked once the thread is queued (SimpleQueue's lock-free ``put`` may have missed it) and
    before a wake-up this thread will not use is passed on. Raises ``failure`` when a last
    attempt after the deadline (or the only one, if not ``block``) fails. ``fast``, if
    given, is a lock-free attempt tried first after each wake-up (``Queue._pop_lock_free``),
    so a woken getter does not have to queue up for the lock behind the putters.
    """
    lock = waiters.lock
    front = False
    last = not block
    while True:
        with lock:
            try:
                done, result = attempt()
            except BaseException:
                if front:  # woken, but failing (ShutDown, a raising _put/_get): pass it on
                    _pass_on(waiters, ready)
                raise
            if done:
                return result
            if last:
                raise failure
            waiter = waiters.enqueue(front=front)
            if ready():
                waiters.unpark()  # the oldest waiter, maybe this one, takes it
        try:
            woken = waiters.park(waiter, deadline)
        except BaseException:
            waiters.abandon(waiter)
            if waiter.state is WOKEN:  # a wake-up we will not act on: pass it on
                with lock:
                    _pass_on(waiters, ready)
            raise
        if woken and fast is not None:
            done, result = fast()
            if done:
                return result
        front = True  # woken and beaten to it, or timed out: one more try, at the head
        last = not woken


class _Op(SelectOp[_T]):
    """A queue operation for ``threadkit.select``: ``q.get_op()``, ``q.put_op(item)``.

    It tries and waits exactly as the blocking call does (the same ``attempt`` and ``ready``
    under the same lock), so a select that does not choose it leaves the queue unchanged.
    """

    __slots__ = ("_attempt", "_label", "_owner", "_ready", "_waiters")

    def __init__(
        self,
        owner: object,
        label: str,
        waiters: WaitQueue,
        attempt: Callable[[], tuple[bool, Any]],
        ready: Callable[[], bool],
    ) -> None:
        self._owner = owner
        self._label = label
        self._waiters = waiters
        self._attempt = attempt
        self._ready = ready

    def __repr__(self) -> str:
        return f"{self._owner!r}.{self._label}"

    def try_select(self) -> tuple[bool, _T]:
        """Do the operation if it can be done now; raise ``ShutDown`` as the call would."""
        with self._waiters.lock:
            return self._attempt()

    def register(self, arm: Arm) -> bool:
        """Queue ``arm`` with the blocked callers; True if the operation is ready now."""
        waiters = self._waiters
        with waiters.lock:
            if self._ready():
                return True
            waiters.register(arm)
            return self._ready()  # as in _park_until: a lock-free put may have missed it

    def pass_on(self, arm: Arm, value: object) -> None:
        """Hand a wake-up the select will not use to the next waiter."""
        with self._waiters.lock:
            _pass_on(self._waiters, self._ready)


def _where(obj: object) -> str:
    cls = type(obj)
    return f"<{cls.__module__}.{cls.__qualname__} at {id(obj):#x}"


def _waiting(n: int, what: str) -> str:
    return f", {n} waiting to {what}" if n else ""


def _iterate(get: Callable[[], _T]) -> Iterator[_T]:
    """Yield ``get()`` until it raises ``ShutDown``."""
    while True:
        try:
            item = get()
        except ShutDown:
            return
        yield item


# --------------------------------------------------------------------------------------------
# Queue, LifoQueue, PriorityQueue


@dataclass(frozen=True, slots=True)
class QueueStatistics:
    """A snapshot of a Queue.

    Attributes:
        qsize: items in the queue.
        maxsize: the bound (``<= 0``: unbounded).
        unfinished_tasks: items put and not yet marked done with ``task_done()``.
        shut_down: whether ``shutdown()`` was called.
        threads_waiting_get: threads (and selects) blocked in ``get()``/``get_many()``.
        threads_waiting_put: threads (and selects) blocked in ``put()``.
        threads_waiting_join: threads blocked in ``join()``.

    Examples:
        >>> from threadkit.queue import Queue
        >>> q = Queue(maxsize=3)
        >>> q.put("a"); q.put("b")
        >>> s = q.statistics()
        >>> s.qsize, s.maxsize, s.unfinished_tasks, s.threads_waiting
        (2, 3, 2, 0)
    """

    qsize: int
    maxsize: int
    unfinished_tasks: int
    shut_down: bool
    threads_waiting_get: int
    threads_waiting_put: int
    threads_waiting_join: int = 0

    @property
    def threads_waiting(self) -> int:
        """Threads blocked in any call: get, put and join together."""
        return self.threads_waiting_get + self.threads_waiting_put + self.threads_waiting_join


class Queue(Generic[_T]):
    """A FIFO queue for threads, optionally bounded: a drop-in for ``queue.Queue``.

    ``put()`` blocks while ``maxsize`` items are queued (``maxsize <= 0``: never);
    ``get()`` blocks while the queue is empty; ``task_done()``/``join()`` count finished work
    and ``shutdown()`` ends the queue (3.13's semantics, on every Python). Subclasses may
    override ``_init``/``_qsize``/``_put``/``_get`` (and ``_peek``) to store items otherwise,
    exactly as with the stdlib; they are called with ``mutex`` held.

    Unlike ``queue.Queue``:

    * ``for item in q:`` yields items until the queue is shut down and drained;
    * ``get_many(n)`` takes up to ``n`` items in one call, and ``peek()`` looks at the next;
    * assigning ``maxsize`` takes effect at once: growing it wakes the putters that now fit;
    * ``statistics()`` (and ``repr()``) tell who waits, ``get_op()``/``put_op(item)`` work in
      ``threadkit.select``, and a NaN timeout raises ``ValueError``;
    * blocked threads park on threadkit's wait queue (one reusable lock per thread), and an
      unbounded ``Queue`` that keeps the default container takes items without the mutex
      (one atomic ``deque.popleft()``), which makes it many times faster under contention.
      ``mutex`` still guards every other change, so ``with q.mutex: q.queue.clear()`` and
      ``with q.mutex: snapshot = list(q.queue)`` keep working; a Python loop over
      ``q.queue`` should iterate such a snapshot, since a ``get()`` may take an item meanwhile.

    Examples:
        >>> q = Queue(maxsize=2)
        >>> q.put(1); q.put(2)
        >>> q.full(), q.peek()
        (True, 1)
        >>> q.get_many(5)
        [1, 2]
    """

    # Design: see the module docstring. Every field below is guarded by ``mutex`` (the three
    # wait queues are built on it); only ``repr()`` reads them without it.
    #
    # Invariants (under mutex):
    #   unfinished_tasks >= 0;
    #   once is_shutdown is True it stays True and no item is added;
    #   a thread is queued in _getters only after finding the queue empty (and not shut
    #   down), in _putters only after finding it full, in _joiners after finding
    #   unfinished_tasks > 0; every change that may let one proceed wakes it (one per item or
    #   slot, all of them for shutdown() and for unfinished_tasks reaching 0).

    queue: Any  # the container, made by _init()
    mutex: _p.LockType

    def __init__(self, maxsize: int = 0) -> None:
        self._getters = WaitQueue(self)
        self.mutex = self._getters.lock
        self._putters = WaitQueue(self, self.mutex)
        self._joiners = WaitQueue(self, self.mutex)
        self._maxsize = maxsize
        self.unfinished_tasks = 0
        self.is_shutdown = False
        self._init(maxsize)
        # The lock-free get (see get()) and the inlined put: only for the default container,
        # with none of its four hooks overridden.
        cls = type(self)
        self._lock_free_get = (
            cls._init is Queue._init
            and cls._get is Queue._get
            and cls._qsize is Queue._qsize
            and cls._put is Queue._put
        )

    @property
    def maxsize(self) -> int:
        """The bound on the number of items (``<= 0``: unbounded); assignable.

        Growing it wakes the blocked putters that now fit. Shrinking it keeps the items
        already queued; ``put()`` then blocks until fewer than ``maxsize`` remain.
        """
        return self._maxsize

    @maxsize.setter
    def maxsize(self, value: int) -> None:
        if "_putters" not in self.__dict__:  # set by a subclass before Queue.__init__ ran
            self._maxsize = value
            return
        with self.mutex:
            self._maxsize = value
            if self._putters:
                if value <= 0:
                    self._putters.unpark_all()
                else:
                    self._putters.unpark(value - self._qsize())

    def task_done(self) -> None:
        """Mark one item taken with ``get()`` as processed; ``join()`` returns at zero.

        Raises:
            ValueError: if called more times than items were put.
        """
        with self.mutex:
            unfinished = self.unfinished_tasks - 1
            if unfinished <= 0:
                if unfinished < 0:
                    raise ValueError("task_done() called too many times")
                if self._joiners:
                    self._joiners.unpark_all()
            self.unfinished_tasks = unfinished

    def join(self) -> None:
        """Block until every item put has been marked done with ``task_done()``."""
        joiners = self._joiners
        while True:
            with self.mutex:
                if not self.unfinished_tasks:
                    return
                waiter = joiners.enqueue()
            try:
                joiners.park(waiter, None)
            except BaseException:
                joiners.abandon(waiter)  # everyone is woken at zero: nothing to pass on
                raise

    def qsize(self) -> int:
        """Return the approximate size of the queue (not reliable!)."""
        with self.mutex:
            return self._qsize()

    def empty(self) -> bool:
        """Return True if the queue is empty, False otherwise (not reliable!)."""
        with self.mutex:
            return not self._qsize()

    def full(self) -> bool:
        """Return True if the queue is full, False otherwise (not reliable!)."""
        with self.mutex:
            return 0 < self._maxsize <= self._qsize()

    def put(self, item: _T, block: bool = True, timeout: float | None = None) -> None:
        """Put ``item`` into the queue.

        If ``block`` is true and ``timeout`` is None, block until a free slot is available;
        with a non-negative ``timeout``, block at most that long and raise ``Full`` if no slot
        became free. If ``block`` is false, put the item only if a slot is free now, else
        raise ``Full`` (``timeout`` is ignored).

        Raises:
            ShutDown: if the queue has been shut down (also while blocked).
            Full: see above.
            ValueError: a negative or NaN timeout (only checked for a bounded queue).
        """
        with self.mutex:
            if self.is_shutdown:
                raise ShutDown
            maxsize = self._maxsize
            if maxsize <= 0 and self._lock_free_get:
                # The default container, inlined: no Python call while the mutex is held,
                # so a GIL switch rarely lands inside it (a thread switched out holding the
                # mutex makes the other putters queue up behind it: a lock convoy).
                queue = self.queue
                queue.append(item)
                self.unfinished_tasks += 1
                if self._getters and len(queue) <= 1:  # see "Wake-ups" in the Design
                    self._getters.unpark()
                return
            if maxsize <= 0 or ((timeout is None or not block) and self._qsize() < maxsize):
                self._put(item)
                self.unfinished_tasks += 1
                if self._getters and self._qsize() <= 1:  # see "Wake-ups" in the Design
                    self._getters.unpark()
                return
            if not block:
                raise Full
        _park_until(
            self._putters,
            partial(self._try_put_locked, item),
            self._put_ready_locked,
            None if timeout is None else _deadline(timeout),
            Full,
        )

    def get(self, block: bool = True, timeout: float | None = None) -> _T:
        """Remove and return an item from the queue.

        If ``block`` is true and ``timeout`` is None, block until an item is available; with
        a non-negative ``timeout``, block at most that long and raise ``Empty`` if none came.
        If ``block`` is false, return an item if one is available now, else raise ``Empty``
        (``timeout`` is ignored).

        Raises:
            ShutDown: if the queue has been shut down and is empty, or shut down with
                ``immediate=True`` (also while blocked).
            Empty: see above.
            ValueError: a negative or NaN timeout.
        """
        fast = None
        # Validated first, as the stdlib does, even when an item is there to take.
        deadline = None if timeout is None or not block else _deadline(timeout)
        if self._lock_free_get and self._maxsize <= 0:
            done, item = self._pop_lock_free()
            if done:
                return item  # type: ignore[return-value]
            fast = self._pop_lock_free
        with self.mutex:
            if self._qsize():
                if timeout is None or not block:
                    done, item = self._get_locked()
                    if done:
                        self._after_get_locked()
                        return item  # type: ignore[return-value]
            elif self.is_shutdown:
                raise ShutDown
            elif not block:
                raise Empty
        result: _T = _park_until(
            self._getters,
            self._try_get_locked,
            self._get_ready_locked,
            deadline,
            Empty,
            block=block,  # not block: a lock-free get took the item we saw; one more try
            fast=fast,
        )
        return result

    def put_nowait(self, item: _T) -> None:
        """Put ``item`` if a slot is free now, else raise ``Full``."""
        return self.put(item, block=False)

    def get_nowait(self) -> _T:
        """Remove and return an item if one is available now, else raise ``Empty``."""
        return self.get(block=False)

    def get_many(self, max_items: int, timeout: float | None = None) -> list[_T]:
        """Block until at least one item is available, then take up to ``max_items``.

        Returns the items in the order ``get()`` would have returned them (at least one).
        It blocks at most ``timeout`` seconds (None: no limit; 0: do not block).

        Raises:
            Empty: if no item came within ``timeout``.
            ShutDown: as ``get()``.
            ValueError: ``max_items`` below 1; a negative or NaN timeout.
        """
        if isinstance(max_items, bool) or not isinstance(max_items, int):
            raise TypeError(f"max_items must be an int, not {type(max_items).__name__}")
        if max_items < 1:
            raise ValueError(f"max_items must be >= 1, not {max_items}")
        items: list[_T] = _park_until(
            self._getters,
            partial(self._try_get_many_locked, max_items),
            self._get_ready_locked,
            wait_deadline(check_timeout(timeout)),
            Empty,
        )
        return items

    def peek(self) -> _T:
        """Return the item ``get()`` would return next, without removing it.

        For a ``PriorityQueue`` that is the smallest item, for a ``LifoQueue`` the last one
        put. A subclass with its own container overrides ``_peek()``.

        Raises:
            Empty: if the queue is empty.
            ShutDown: if it is empty and shut down (as ``get_nowait()``).
        """
        with self.mutex:
            if self._qsize():
                try:
                    item: _T = self._peek()
                except IndexError:
                    if not self._lock_free_get:
                        raise
                else:
                    return item
            if self.is_shutdown:
                raise ShutDown
            raise Empty

    def shutdown(self, immediate: bool = False) -> None:
        """Shut the queue down: puts raise ``ShutDown``, and gets once it is empty.

        By default, gets only raise once the queue is empty. With ``immediate=True`` the
        queued items are discarded at once, each counted as done (which may release
        ``join()``), and gets raise at once. Every thread blocked in ``put()`` or ``get()``
        is woken to re-check. Calling it again is allowed (and may make it immediate).
        """
        drained = []
        with self.mutex:
            self.is_shutdown = True
            try:
                if immediate:
                    while self._qsize():
                        done, item = self._get_locked()
                        if not done:  # lock-free gets took the rest
                            break
                        drained.append(item)
                        if self.unfinished_tasks > 0:
                            self.unfinished_tasks -= 1
            finally:  # wake everyone even if a _get() hook raised
                if immediate:
                    self._joiners.unpark_all()
                self._getters.unpark_all()
                self._putters.unpark_all()
        # The drained items are released here, without the lock: a __del__ that uses the
        # queue cannot deadlock.
        del drained

    def __iter__(self) -> Iterator[_T]:
        """Yield items as ``get()`` returns them, until the queue is shut down and drained.

        Iterating does not call ``task_done()``: do that per item if you ``join()``.
        """
        return _iterate(self.get)

    def get_op(self) -> SelectOp[_T]:
        """Return ``get()`` as an operation for ``threadkit.select``."""
        return _Op(self, "get_op()", self._getters, self._try_get_locked, self._get_ready_locked)

    def put_op(self, item: _T) -> SelectOp[None]:
        """Return ``put(item)`` as an operation for ``threadkit.select``."""
        return _Op(
            self,
            "put_op(...)",
            self._putters,
            partial(self._try_put_locked, item),
            self._put_ready_locked,
        )

    def statistics(self) -> QueueStatistics:
        """Return a snapshot: sizes, unfinished tasks, shut down, threads waiting."""
        with self.mutex:
            return QueueStatistics(
                self._qsize(),
                self._maxsize,
                self.unfinished_tasks,
                self.is_shutdown,
                len(self._getters),
                len(self._putters),
                len(self._joiners),
            )

    def __repr__(self) -> str:
        # Read without the lock (a snapshot that may be torn), so that a debugger or a hook
        # listener (called with the lock held) can show a queue. The fields are single
        # reads and _qsize() only reads its container.
        size = self._qsize()
        bound = f"/{self._maxsize}" if self._maxsize > 0 else ""
        state = ", shut down" if self.is_shutdown else ""
        return (
            f"{_where(self)}: {size}{bound} items, {self.unfinished_tasks} unfinished{state}"
            f"{_waiting(len(self._getters), 'get')}{_waiting(len(self._putters), 'put')}"
            f"{_waiting(len(self._joiners), 'join')}>"
        )

    # The operations, mutex held: (True, result) if done, (False, None) if not possible now.

    def _try_put_locked(self, item: _T) -> tuple[bool, None]:
        if self.is_shutdown:
            raise ShutDown
        if 0 < self._maxsize <= self._qsize():
            return False, None
        self._put(item)
        self.unfinished_tasks += 1
        if self._getters and self._qsize() <= 1:
            self._getters.unpark()
        return True, None

    def _pop_lock_free(self) -> tuple[bool, _T | None]:
        """Take an item without the mutex (an unbounded FIFO Queue, default container).

        One ``deque.popleft()``, atomic on every build. Under contention this is what keeps
        getters from queueing up behind the mutex (a lock convoy, which is what makes
        ``queue.Queue`` slow with several getters). Only puts (under the mutex) add items,
        so a lock-free pop can only take an item that is there; code under the mutex that
        reads ``_qsize()`` and then calls ``_get()`` uses ``_get_locked()``, which tolerates
        an item taken in between.
        """
        try:
            item: _T = self.queue.popleft()
        except IndexError:
            return False, None
        if self._putters:  # maxsize was made positive meanwhile: a putter may fit now
            with self.mutex:
                _pass_on(self._putters, self._put_ready_locked)
        if self._getters and self.queue:  # items left and getters asleep: wake the next
            with self.mutex:
                _pass_on(self._getters, self._get_ready_locked)
        return True, item

    def _get_locked(self) -> tuple[bool, _T | None]:
        """``_get()`` (mutex held); ``(False, None)`` if a lock-free get took the last item."""
        try:
            return True, self._get()
        except IndexError:
            if self._lock_free_get:
                return False, None
            raise  # a subclass's own _get() raised it

    def _try_get_locked(self) -> tuple[bool, _T | None]:
        if not self._qsize():
            if self.is_shutdown:
                raise ShutDown
            return False, None
        done, item = self._get_locked()
        if not done:
            return self._try_get_locked()
        self._after_get_locked()
        return True, item

    def _after_get_locked(self) -> None:
        """Wake whoever an item taken may let proceed (mutex held); see "Wake-ups"."""
        size = self._qsize()
        if self._putters and size < self._maxsize:
            self._putters.unpark()
        if self._getters and size:
            self._getters.unpark()

    def _try_get_many_locked(self, max_items: int) -> tuple[bool, list[_T] | None]:
        size = self._qsize()
        if not size:
            if self.is_shutdown:
                raise ShutDown
            return False, None
        items: list[_T] = []
        for _ in range(min(size, max_items)):
            done, item = self._get_locked()
            if not done:  # lock-free gets took the rest
                if not items:
                    return self._try_get_many_locked(max_items)
                break
            items.append(item)  # type: ignore[arg-type]
        if self._putters:
            self._putters.unpark(min(len(items), self._maxsize - self._qsize()))
        if self._getters and self._qsize():
            self._getters.unpark()
        return True, items

    def _put_ready_locked(self) -> bool:
        return self.is_shutdown or not 0 < self._maxsize <= self._qsize()

    def _get_ready_locked(self) -> bool:
        return self.is_shutdown or bool(self._qsize())

    # Override these methods to implement other queue organizations (e.g. stack or priority
    # queue). They are only called with mutex held.

    def _init(self, maxsize: int) -> None:
        self.queue = deque()

    def _qsize(self) -> int:
        return len(self.queue)

    def _put(self, item: _T) -> None:
        self.queue.append(item)

    def _get(self) -> _T:
        item: _T = self.queue.popleft()
        return item

    def _peek(self) -> _T:
        item: _T = self.queue[0]
        return item


class PriorityQueue(Queue[_T]):
    """A queue that returns the smallest item first: a drop-in for ``queue.PriorityQueue``.

    Items are typically ``(priority, data)`` tuples. Everything else is ``Queue``'s.

    Examples:
        >>> q = PriorityQueue()
        >>> for n in (3, 1, 2):
        ...     q.put(n)
        >>> q.peek(), q.get_many(3)
        (1, [1, 2, 3])
    """

    def _init(self, maxsize: int) -> None:
        self.queue = []

    def _qsize(self) -> int:
        return len(self.queue)

    def _put(self, item: _T) -> None:
        heappush(self.queue, item)

    def _get(self) -> _T:
        item: _T = heappop(self.queue)
        return item

    def _peek(self) -> _T:
        item: _T = self.queue[0]
        return item


class LifoQueue(Queue[_T]):
    """A queue that returns the most recently added item first: ``queue.LifoQueue``'s drop-in.

    Everything but the order is ``Queue``'s.

    Examples:
        >>> q = LifoQueue()
        >>> q.put(1); q.put(2)
        >>> q.peek(), q.get(), q.get()
        (2, 2, 1)
    """

    def _init(self, maxsize: int) -> None:
        self.queue = []

    def _qsize(self) -> int:
        return len(self.queue)

    def _put(self, item: _T) -> None:
        self.queue.append(item)

    def _get(self) -> _T:
        item: _T = self.queue.pop()
        return item

    def _peek(self) -> _T:
        item: _T = self.queue[-1]
        return item


# --------------------------------------------------------------------------------------------
# SimpleQueue


@dataclass(frozen=True, slots=True)
class SimpleQueueStatistics:
    """A snapshot of a SimpleQueue.

    Attributes:
        qsize: items in the queue.
        shut_down: whether ``shutdown()`` was called.
        threads_waiting_get: threads (and selects) blocked in ``get()``.

    Examples:
        >>> from threadkit.queue import SimpleQueue
        >>> q = SimpleQueue()
        >>> q.put("a"); q.shutdown()
        >>> s = q.statistics()
        >>> s.qsize, s.shut_down, s.threads_waiting_get
        (1, True, 0)
    """

    qsize: int
    shut_down: bool
    threads_waiting_get: int

    @property
    def threads_waiting(self) -> int:
        """Threads blocked in any call (only ``get()`` blocks)."""
        return self.threads_waiting_get


_OPEN: Final = 0
_SHUT_DOWN: Final = 1
_IMMEDIATE: Final = 2


class SimpleQueue(Generic[_T]):
    """An unbounded FIFO queue whose ``put`` never blocks: a drop-in for ``queue.SimpleQueue``.

    As in the stdlib, ``put`` is reentrant (it may be called from a ``__del__`` or a signal
    handler that interrupts another ``put``) and ``put(item, block, timeout)`` ignores
    ``block`` and ``timeout``; there is no ``task_done``/``join`` and no ``maxsize``.

    Unlike ``queue.SimpleQueue``, it has ``shutdown(immediate=False)`` with ``Queue``'s
    semantics, iteration until shut down, ``statistics()``, ``get_op()`` for
    ``threadkit.select``, and a NaN timeout raises ``ValueError``. A ``put`` that overlaps a
    ``shutdown()`` may still succeed (it is ordered before it); after ``shutdown(immediate=
    True)`` gets discard such late items and raise ``ShutDown``.

    Examples:
        >>> q = SimpleQueue()
        >>> q.put("a"); q.put("b")
        >>> q.get(), q.get_nowait(), q.empty()
        ('a', 'b', True)
    """

    # Design. ``put`` takes no lock: it appends to the ``_items`` deque (atomic on every
    # build) and then looks whether a getter waits; only then does it lock, to wake one. A
    # getter takes a lock-free ``popleft()`` when it can; otherwise, under ``_lock``, it
    # queues itself in ``_getters`` and *then* looks at ``_items`` again. No wake-up is lost:
    # a put appends before it reads ``_getters`` and a getter appends to ``_getters`` before
    # it reads ``_items``, so at least one of them sees the other (a getter that sees the
    # item unparks the oldest getter itself). Both deques are updated inside their own
    # critical sections and ``len()`` of a deque is a sequentially consistent atomic load on
    # free-threaded builds (and everything is ordered by the GIL elsewhere), so the two
    # reads cannot both miss the two writes.
    #
    # ``_lock`` is a reentrant C lock: a ``__del__`` run by the garbage collector while this
    # thread holds it (in ``get`` or waking a getter) may call ``put``, which then wakes a
    # getter with the lock taken again instead of deadlocking.
    #
    # Invariants: _state only grows (_OPEN, _SHUT_DOWN, _IMMEDIATE; written under _lock,
    # read anywhere); a getter queued in _getters (under _lock) has seen _items empty after
    # queueing, or has unparked the oldest getter.

    def __init__(self) -> None:
        # A reentrant lock where WaitQueue expects a C Lock: it only uses acquire/release.
        self._getters = WaitQueue(self, cast(_p.LockType, _p.allocate_rlock()))
        self._lock = self._getters.lock
        self._items: deque[_T] = deque()  # appended without a lock (see Design)
        self._state = _OPEN

    def put(self, item: _T, block: bool = True, timeout: float | None = None) -> None:
        """Put ``item`` into the queue; never blocks (``block`` and ``timeout`` are ignored).

        Raises:
            ShutDown: if the queue has been shut down.
        """
        if self._state:
            raise ShutDown
        self._items.append(item)
        if self._getters:
            with self._lock:
                if self._getters and self._items:
                    self._getters.unpark()

    def put_nowait(self, item: _T) -> None:
        """Put ``item`` into the queue: the same as ``put(item)``."""
        return self.put(item, block=False)

    def get(self, block: bool = True, timeout: float | None = None) -> _T:
        """Remove and return an item from the queue.

        If ``block`` is true and ``timeout`` is None, block until an item is available; with
        a non-negative ``timeout``, block at most that long and raise ``Empty`` if none came.
        If ``block`` is false, return an item if one is available now, else raise ``Empty``.

        Raises:
            ShutDown: if the queue is shut down and empty, or shut down immediately.
            Empty: see above.
            ValueError: a negative or NaN timeout.
        """
        if timeout is None and not self._state:
            try:
                return self._items.popleft()
            except IndexError:
                pass
        result: _T = _park_until(
            self._getters,
            self._try_get_locked,
            self._get_ready_locked,
            _deadline(timeout) if block and timeout is not None else None,
            Empty,
            block=block,
        )
        return result

    def get_nowait(self) -> _T:
        """Remove and return an item if one is available now, else raise ``Empty``."""
        return self.get(block=False)

    def empty(self) -> bool:
        """Return True if the queue is empty, False otherwise (not reliable!)."""
        return not self._items

    def qsize(self) -> int:
        """Return the approximate size of the queue (not reliable!)."""
        return len(self._items)

    @property
    def is_shutdown(self) -> bool:
        """Whether ``shutdown()`` was called."""
        return self._state != _OPEN

    def shutdown(self, immediate: bool = False) -> None:
        """Shut the queue down: puts raise ``ShutDown``, and gets once it is empty.

        With ``immediate=True`` the queued items are discarded and gets raise at once.
        Every thread blocked in ``get()`` is woken to re-check.
        """
        with self._lock:
            if immediate:
                self._state = _IMMEDIATE
                self._items.clear()
            elif not self._state:
                self._state = _SHUT_DOWN
            self._getters.unpark_all()

    def __iter__(self) -> Iterator[_T]:
        """Yield items as ``get()`` returns them, until the queue is shut down and drained."""
        return _iterate(self.get)

    def get_op(self) -> SelectOp[_T]:
        """Return ``get()`` as an operation for ``threadkit.select``."""
        return _Op(self, "get_op()", self._getters, self._try_get_locked, self._get_ready_locked)

    def statistics(self) -> SimpleQueueStatistics:
        """Return a snapshot: size, shut down, threads waiting to get."""
        with self._lock:
            return SimpleQueueStatistics(len(self._items), self.is_shutdown, len(self._getters))

    def __repr__(self) -> str:
        state = ", shut down" if self._state else ""
        waiting = _waiting(len(self._getters), "get")
        return f"{_where(self)}: {len(self._items)} items{state}{waiting}>"

    def _try_get_locked(self) -> tuple[bool, _T | None]:
        state = self._state
        if state == _IMMEDIATE:
            self._items.clear()  # late puts that overlapped the shutdown
            raise ShutDown
        try:
            return True, self._items.popleft()
        except IndexError:
            if state:
                raise ShutDown from None
            return False, None

    def _get_ready_locked(self) -> bool:
        return bool(self._items) or self._state != _OPEN
