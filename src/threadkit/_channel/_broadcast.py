"""``Broadcast``: every subscriber receives every item; a slow one is told what it missed.

After tokio's ``sync::broadcast``. The items live once, in a ring of ``capacity`` slots
(a ``deque(maxlen=capacity)``); item number ``k`` (counting every item ever sent) is at
``ring[k - oldest]`` while it is buffered. Each subscriber keeps the number of the next item
it will receive. Sending never blocks: when the ring is full the oldest item is overwritten,
and a subscriber whose next item was overwritten gets ``Lagged(n)`` once, then continues
with the oldest item still buffered.

Lock discipline: ``_lock`` (the C lock of the one wait queue) guards the ring, the counts,
``_closed`` and every subscriber's position. A send wakes every waiting subscriber.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, TypeVar, final

from .._core import Arm, SelectOp, WaitQueue, WouldBlock, deadline_after
from ._errors import ChannelClosed, EndOfChannel, Lagged
from ._protocol import Receiving

__all__ = ["Broadcast", "BroadcastStatistics", "Subscriber", "SubscriberStatistics"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class BroadcastStatistics:
    """A snapshot of a ``Broadcast``.

    Attributes:
        capacity: how many items the ring keeps for slow subscribers.
        buffered: items in the ring now.
        sent: items sent since creation.
        subscribers: open subscribers.
        closed: whether ``close()`` was called.
        threads_waiting: threads (and select arms) blocked receiving.

    Examples:
        >>> import threadkit
        >>> b = threadkit.Broadcast(2)
        >>> sub = b.subscribe()
        >>> for n in range(3):
        ...     b.send(n)
        >>> s = b.statistics()
        >>> s.capacity, s.buffered, s.sent, s.subscribers
        (2, 2, 3, 1)
        >>> sub.close(); b.close()
    """

    capacity: int
    buffered: int
    sent: int
    subscribers: int
    closed: bool
    threads_waiting: int


@dataclass(frozen=True)
class SubscriberStatistics:
    """A snapshot of one ``Subscriber``.

    Attributes:
        pending: items it can receive now without blocking.
        missed: items overwritten before it got them (its next receive raises ``Lagged``
            with this count, if not zero).
        closed: whether this subscriber is closed.

    Examples:
        >>> import threadkit
        >>> b = threadkit.Broadcast(2)
        >>> sub = b.subscribe()
        >>> for n in range(3):
        ...     b.send(n)
        >>> s = sub.statistics()  # item 0 was overwritten; 1 and 2 wait
        >>> s.pending, s.missed
        (2, 1)
        >>> sub.close(); b.close()
    """

    pending: int
    missed: int
    closed: bool


@final
class Broadcast(Generic[_T]):
    """A channel whose every subscriber receives every item sent after it subscribed.

    ``send`` never blocks; a subscriber that falls more than ``capacity`` items behind
    raises ``Lagged(n)`` once and continues. ``close()`` ends it: subscribers drain what is
    buffered for them, then raise ``EndOfChannel`` (``for item in sub:`` stops).

    Examples:
        >>> b = Broadcast(2)
        >>> s1, s2 = b.subscribe(), b.subscribe()
        >>> b.send("a"); b.send("b"); b.send("c")
        >>> s1.recv()
        Traceback (most recent call last):
          ...
        threadkit.Lagged: fell behind: 1 item missed
        >>> s1.recv()
        'b'
        >>> b.close()
        >>> list(s1)
        ['c']
        >>> s2.try_recv()  # s2 fell behind too: it is told once, then goes on
        Traceback (most recent call last):
          ...
        threadkit.Lagged: fell behind: 1 item missed
        >>> list(s2)
        ['b', 'c']
    """

    def __init__(self, capacity: int) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise TypeError(f"capacity must be an int, not {type(capacity).__name__}")
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, not {capacity}")
        self._waiters = WaitQueue(self)
        self._lock = self._waiters.lock
        self._ring: deque[_T] = deque(maxlen=capacity)  # guarded by _lock
        self._sent = 0  # items ever sent; guarded by _lock
        self._subscribers = 0  # guarded by _lock
        self._closed = False  # guarded by _lock

    @property
    def capacity(self) -> int:
        """How many items are kept for slow subscribers."""
        return self._ring.maxlen  # type: ignore[return-value]

    def send(self, item: _T) -> None:
        """Send ``item`` to every subscriber (never blocks).

        Raises:
            ChannelClosed: the broadcast is closed (``item`` is on it).
        """
        with self._lock:
            if self._closed:
                raise ChannelClosed("send on a closed Broadcast", item)
            self._ring.append(item)
            self._sent += 1
            if self._waiters:
                self._waiters.unpark_all()

    def subscribe(self) -> Subscriber[_T]:
        """Return a new subscriber that receives every item sent from now on.

        Raises:
            ChannelClosed: the broadcast is closed.
        """
        with self._lock:
            if self._closed:
                raise ChannelClosed("subscribe to a closed Broadcast")
            self._subscribers += 1
            return Subscriber._make(self, self._sent)

    def close(self) -> None:
        """Close it (idempotent): no more sends; subscribers drain, then end."""
        with self._lock:
            self._closed = True
            self._waiters.unpark_all()

    def statistics(self) -> BroadcastStatistics:
        """Return a snapshot of the ring, the counts and the waiting threads."""
        with self._lock:
            return BroadcastStatistics(
                self.capacity,
                len(self._ring),
                self._sent,
                self._subscribers,
                self._closed,
                len(self._waiters),
            )

    def __repr__(self) -> str:
        s = self.statistics()
        state = "closed" if s.closed else "open"
        return (
            f"<threadkit.Broadcast ({state}) capacity={s.capacity} buffered={s.buffered} "
            f"subscribers={s.subscribers}>"
        )

    def __enter__(self) -> Broadcast[_T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@final
class Subscriber(Receiving[_T]):
    """One receiver of a ``Broadcast``, made by ``Broadcast.subscribe()``.

    It receives every item sent after it subscribed; ``close()`` (or the ``with`` block)
    unsubscribes it.

    Examples:
        >>> import threadkit
        >>> b = threadkit.Broadcast(4)
        >>> b.send("before")  # not seen: sent before the subscription
        >>> with b.subscribe() as sub:
        ...     b.send("after")
        ...     sub.recv()
        'after'
        >>> b.close()
    """

    __slots__ = ("_broadcast", "_closed", "_next")
    _broadcast: Broadcast[_T]
    _next: int  # the number of the next item to receive; guarded by the broadcast's lock
    _closed: bool

    def __init__(self) -> None:
        raise TypeError("Subscriber objects are made by Broadcast.subscribe()")

    @classmethod
    def _make(cls, broadcast: Broadcast[_T], position: int) -> Subscriber[_T]:
        sub = object.__new__(cls)
        sub._broadcast = broadcast
        sub._next = position
        sub._closed = False
        return sub

    def _recv_locked(self) -> tuple[bool, _T | None]:
        b = self._broadcast
        if self._closed:
            raise ChannelClosed("receive on a closed Subscriber")
        ring = b._ring
        oldest = b._sent - len(ring)
        if self._next < oldest:
            missed = oldest - self._next
            self._next = oldest
            raise Lagged(missed)
        if self._next < b._sent:
            item = ring[self._next - oldest]
            self._next += 1
            return True, item
        if b._closed:
            raise EndOfChannel("receive on a Broadcast that is closed and drained")
        return False, None

    def try_recv(self) -> _T:
        """Receive the next item if it is there now, else raise ``WouldBlock``."""
        with self._broadcast._lock:
            done, item = self._recv_locked()
        if not done:
            raise WouldBlock("no new item")
        return item  # type: ignore[return-value]

    def recv(self, timeout: float | None = None) -> _T:
        """Receive the next item, blocking until there is one.

        Raises:
            Lagged: items were overwritten before this subscriber got them (once).
            EndOfChannel: the broadcast is closed and everything was received.
            ChannelClosed: this subscriber is closed (also while blocked).
            TimeoutError: ``timeout`` seconds passed first.
            ValueError: ``timeout`` is negative or NaN.
        """
        deadline = deadline_after(timeout)
        b = self._broadcast
        waiters = b._waiters
        while True:
            with b._lock:
                done, item = self._recv_locked()
                if done:
                    return item  # type: ignore[return-value]
                waiter = waiters.enqueue()
            try:
                woken = waiters.park(waiter, deadline)
            except BaseException:
                waiters.abandon(waiter)  # every waiter is woken by a send: nothing to pass on
                raise
            if not woken:
                raise TimeoutError("timed out waiting to receive")

    def recv_op(self) -> SelectOp[_T]:
        """Return a select operation that receives the next item (its value)."""
        return _SubscriberRecvOp(self)

    def statistics(self) -> SubscriberStatistics:
        """Return how far behind this subscriber is."""
        b = self._broadcast
        with b._lock:
            oldest = b._sent - len(b._ring)
            missed = max(oldest - self._next, 0)
            return SubscriberStatistics(b._sent - max(self._next, oldest), missed, self._closed)

    def close(self) -> None:
        """Unsubscribe (idempotent)."""
        b = self._broadcast
        with b._lock:
            if not self._closed:
                self._closed = True
                b._subscribers -= 1
                b._waiters.unpark_all()  # a thread blocked on this one re-checks and raises

    def __iter__(self) -> Subscriber[_T]:
        return self

    def __enter__(self) -> Subscriber[_T]:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()

    def __repr__(self) -> str:
        s = self.statistics()
        state = "closed" if s.closed else "open"
        return f"<threadkit.Subscriber ({state}) pending={s.pending} missed={s.missed}>"


class _SubscriberRecvOp(SelectOp[_T]):
    __slots__ = ("_sub",)

    def __init__(self, sub: Subscriber[_T]) -> None:
        self._sub = sub

    def __repr__(self) -> str:
        return "<Subscriber.recv_op()>"

    def try_select(self) -> tuple[bool, _T]:
        with self._sub._broadcast._lock:
            return self._sub._recv_locked()  # type: ignore[return-value]

    def register(self, arm: Arm) -> bool:
        sub = self._sub
        b = sub._broadcast
        with b._lock:
            if sub._next < b._sent or b._closed or sub._closed:
                return True
            b._waiters.register(arm)
            return False
