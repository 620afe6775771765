"""What every channel flavor is: its state, its blocking loop, and its select operations.

A channel is one *flavor* object, chosen once by ``open_channel(capacity)``, behind the
``Sender``/``Receiver`` front (``_front.py``), after crossbeam-channel's ``flavors/``:

1. ``_zero.ZeroFlavor``: capacity 0, a rendezvous; a send hands its item to a waiting
   receive.
2. ``_array.ArrayFlavor``: capacity ``n``, a bounded buffer.
3. ``_list.ListFlavor``: capacity ``math.inf``, an unbounded buffer; a send never blocks.

Each flavor implements ``_send_locked``/``_recv_locked`` (try once, lock held) and the
readiness checks that select needs; this base class turns them into the blocking calls, the
select operations and closing.

Lock discipline: ``lock`` (the C lock of ``receivers``) guards every field below and the
flavor's buffer, except where a flavor documents a lock-free fast path. Both wait queues
share it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .._core import WOKEN, Arm, SelectOp, WaitQueue
from ._errors import ChannelClosed, EndOfChannel

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["CLOSED", "Flavor", "Receiving", "RecvOp", "SendOp"]

_T = TypeVar("_T")


class _Closed:
    def __repr__(self) -> str:
        return "CLOSED"


#: The value a closing wakes waiters with (a waiter woken with it re-checks and raises).
CLOSED: Any = _Closed()

_SENDERS_GONE = "send on a closed Sender"
_RECEIVERS_GONE = "send on a channel whose receivers are all closed"
_END = "receive on a channel that is closed and drained: every Sender was closed"


class Flavor(Generic[_T]):
    """The shared state of one channel; subclasses supply the buffer."""

    capacity: float

    def __init__(self) -> None:
        self.receivers = WaitQueue(self)
        self.lock = self.receivers.lock
        self.senders = WaitQueue(self, lock=self.lock)
        # Every Sender is closed: receives drain the buffer, then raise EndOfChannel.
        self.senders_closed = False
        # Every Receiver is closed: sends raise ChannelClosed, the buffer is dropped.
        self.receivers_closed = False
        # senders_closed or receivers_closed: the one flag the fast paths test.
        self.closed = False

    # -- per flavor, lock held ------------------------------------------------------------

    def _send_locked(self, item: _T) -> bool:
        """Send ``item`` if that can be done now; raise ChannelClosed if never."""
        raise NotImplementedError

    def _recv_locked(self) -> tuple[bool, _T | None]:
        """Receive an item if one can be had now; raise EndOfChannel if never."""
        raise NotImplementedError

    def _send_ready_locked(self, arm: Arm) -> bool:
        raise NotImplementedError

    def _recv_ready_locked(self, arm: Arm) -> bool:
        raise NotImplementedError

    def buffered(self) -> int:
        """Items in the buffer now."""
        raise NotImplementedError

    def _drop_locked(self) -> None:
        """Release the buffered items (every receiver is gone)."""

    def _check_send_locked(self, item: object) -> None:
        """Raise ChannelClosed for a send (lock held; call it only if ``closed``)."""
        if self.receivers_closed:
            raise ChannelClosed(_RECEIVERS_GONE, item)
        if self.senders_closed:  # a send raced the close of its own Sender
            raise ChannelClosed(_SENDERS_GONE, item)

    def _end(self) -> EndOfChannel:
        return EndOfChannel(_END)

    # -- the operations -------------------------------------------------------------------

    def try_send(self, item: _T) -> bool:
        with self.lock:
            return self._send_locked(item)

    def try_recv(self) -> tuple[bool, _T | None]:
        with self.lock:
            return self._recv_locked()

    def send(self, item: _T, deadline: float | None, end: Any) -> None:
        """Send, blocking until ``deadline``; ``end`` is the Sender (checked after a wake-up)."""
        attempt = lambda: (self._send_locked(item), None)  # noqa: E731
        self._block(self.senders, attempt, deadline, "send", end, item=item)

    def recv(self, deadline: float | None, end: Any) -> _T:
        """Receive, blocking until ``deadline``; ``end`` is the Receiver."""
        return self._block(self.receivers, self._recv_locked, deadline, "receive", end)  # type: ignore[no-any-return]

    def _block(
        self,
        queue: WaitQueue,
        attempt: Callable[[], tuple[bool, Any]],
        deadline: float | None,
        what: str,
        end: Any,
        *,
        item: object = None,
    ) -> Any:
        """Retry ``attempt`` (lock held) until it succeeds, parking on ``queue`` between.

        After each wake-up the handle ``end`` is checked: closing it (while other handles
        keep the channel open) wakes the threads blocked on the channel, and those blocked
        on that very handle raise ``ChannelClosed`` (with ``item``, for a send).
        """
        front = False
        while True:
            with self.lock:
                done, value = attempt()
                if done:
                    return value
                waiter = queue.enqueue(front=front)
            try:
                woken = queue.park(waiter, deadline)
            except BaseException:
                queue.abandon(waiter)
                if waiter.state is WOKEN:
                    self.pass_on(queue)
                raise
            if not woken:
                raise TimeoutError(f"timed out waiting to {what}")
            if end._closed:
                end._check(item)
            front = True  # woken but beaten to it: wait again at the head

    def pass_on(self, queue: WaitQueue) -> None:
        """Give a wake-up that will not be used to the next waiter of ``queue``."""
        with self.lock:
            queue.unpark(1)

    def wake_all(self, queue: WaitQueue) -> None:
        """Wake every thread in ``queue`` to re-check (a handle of theirs may have closed)."""
        with self.lock:
            queue.unpark_all(CLOSED)

    def close_senders(self) -> None:
        """The last Sender closed: wake everyone, so receivers drain and then end."""
        with self.lock:
            self.senders_closed = self.closed = True
            self.receivers.unpark_all(CLOSED)
            self.senders.unpark_all(CLOSED)

    def close_receivers(self) -> None:
        """The last Receiver closed: drop the buffer and wake everyone."""
        with self.lock:
            self.receivers_closed = self.closed = True
            self._drop_locked()
            self.senders.unpark_all(CLOSED)
            self.receivers.unpark_all(CLOSED)

    # -- select ---------------------------------------------------------------------------

    def register_send(self, arm: Arm) -> bool:
        with self.lock:
            if self.closed or self._send_ready_locked(arm):
                return True
            self.senders.register(arm)
            return False

    def register_recv(self, arm: Arm) -> bool:
        with self.lock:
            if self.closed or self._recv_ready_locked(arm):
                return True
            self.receivers.register(arm)
            return False

    def recv_op(self, end: Any) -> RecvOp[_T]:
        """Make the receive operation of ``end`` (a Receiver)."""
        return RecvOp(self, end)

    def handed_over(self, value: object) -> bool:
        """Whether a fired arm's wake-up ``value`` is a finished hand-over (a rendezvous's
        item given or taken: the operation happened, whatever befell its end since) rather
        than a call to retry (buffered flavors: False; ZeroFlavor overrides)."""
        return False

    def complete_send(self, item: _T, value: object) -> tuple[bool, None]:
        """After a send arm fired: retry (buffered flavors); ZeroFlavor overrides."""
        return self.try_send(item), None

    def complete_recv(self, value: object) -> tuple[bool, _T | None]:
        """After a receive arm fired: retry (buffered flavors); ZeroFlavor overrides."""
        return self.try_recv()


class SendOp(SelectOp[None]):
    """``tx.send_op(item)``: send ``item`` when the select takes this operation."""

    __slots__ = ("_check", "_flavor", "_item")

    def __init__(self, flavor: Flavor[_T], item: _T, check: Callable[[object], None]) -> None:
        self._flavor = flavor
        self._item = item
        self._check = check

    def __repr__(self) -> str:
        return f"<send_op({self._item!r})>"

    def try_select(self) -> tuple[bool, None]:
        self._check(self._item)
        return self._flavor.try_send(self._item), None

    def register(self, arm: Arm) -> bool:
        arm.payload = self._item
        return self._flavor.register_send(arm)

    def complete(self, arm: Arm, value: object) -> tuple[bool, None]:
        if self._flavor.handed_over(value):
            return True, None  # a receiver took the item (this end closed since: too late)
        self._check(self._item)
        return self._flavor.complete_send(self._item, value)

    def pass_on(self, arm: Arm, value: object) -> None:
        self._flavor.pass_on(self._flavor.senders)


class RecvOp(SelectOp[_T]):
    """``rx.recv_op()``: receive an item when the select takes this operation.

    ``end`` is the Receiver: its ``_closed`` flag is read on every try. A new op is made
    for each ``recv_op()`` call: one cached on the Receiver would make a reference cycle
    (keeping an unclosed Receiver alive until the cyclic collector ran), and one holding
    the Receiver weakly would let a temporary end (``rx.clone().recv_op()``) close at once.
    """

    __slots__ = ("_end", "_flavor")

    def __init__(self, flavor: Flavor[_T], end: Any) -> None:
        self._flavor = flavor
        self._end = end

    def __repr__(self) -> str:
        return "<recv_op()>"

    def try_select(self) -> tuple[bool, _T]:
        if self._end._closed:
            self._end._check(None)
        return self._flavor.try_recv()  # type: ignore[return-value]

    def register(self, arm: Arm) -> bool:
        return self._flavor.register_recv(arm)

    def complete(self, arm: Arm, value: object) -> tuple[bool, _T]:
        flavor = self._flavor
        if flavor.handed_over(value):
            return True, value  # type: ignore[return-value]  # (the sender's send returned)
        if self._end._closed:
            self._end._check(None)
        return flavor.complete_recv(value)  # type: ignore[return-value]

    def pass_on(self, arm: Arm, value: object) -> None:
        self._flavor.pass_on(self._flavor.receivers)


class Receiving(Generic[_T]):
    """Iteration for everything with a ``recv()`` that ends with ``EndOfChannel``."""

    __slots__ = ()

    def recv(self, timeout: float | None = None) -> _T:
        raise NotImplementedError

    def __iter__(self) -> Receiving[_T]:
        return self

    def __next__(self) -> _T:
        try:
            return self.recv()
        except EndOfChannel:
            raise StopIteration from None
