"""The public face of a channel: ``open_channel()``, ``Sender``, ``Receiver``.

The front counts the open ends (under the flavor's lock) and checks the handle; the flavor
does the work. Data flows from left to right: ``tx, rx = open_channel(capacity)``.
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, NoReturn, TypeVar, final

from .._core import SelectOp, WaitQueue, WouldBlock, deadline_after
from .._core import _primitives as _p
from ._array import ArrayFlavor
from ._errors import ChannelClosed
from ._list import ListFlavor
from ._protocol import Flavor, Receiving, SendOp
from ._zero import ZeroFlavor

__all__ = ["ChannelStatistics", "Receiver", "Sender", "open_channel"]

_T = TypeVar("_T")


@dataclass(frozen=True)
class ChannelStatistics:
    """A snapshot of a channel, from ``Sender.statistics()`` or ``Receiver.statistics()``.

    Attributes:
        buffer_used: items sent and not yet received.
        capacity: 0 (rendezvous), the bound, or ``math.inf``.
        open_senders: Sender handles not yet closed.
        open_receivers: Receiver handles not yet closed.
        threads_waiting_send: threads (and select arms) blocked sending.
        threads_waiting_receive: threads (and select arms) blocked receiving.

    Examples:
        >>> import threadkit
        >>> tx, rx = threadkit.open_channel(4)
        >>> tx.send("a")
        >>> s = rx.statistics()
        >>> s.buffer_used, s.capacity, s.open_senders, s.open_receivers
        (1, 4, 1, 1)
        >>> tx.close(); rx.close()
    """

    buffer_used: int
    capacity: float
    open_senders: int
    open_receivers: int
    threads_waiting_send: int
    threads_waiting_receive: int


class _Channel(Generic[_T]):
    """What the ends of one channel share: the flavor and the counts of open ends."""

    __slots__ = ("flavor", "open_receivers", "open_senders")

    def __init__(self, flavor: Flavor[_T]) -> None:
        self.flavor = flavor
        self.open_senders = 1  # guarded by flavor.lock
        self.open_receivers = 1  # guarded by flavor.lock

    def statistics(self) -> ChannelStatistics:
        flavor = self.flavor
        with flavor.lock:
            return ChannelStatistics(
                flavor.buffered(),
                flavor.capacity,
                self.open_senders,
                self.open_receivers,
                len(flavor.senders),
                len(flavor.receivers),
            )


def _no_constructor(cls: type) -> NoReturn:
    raise TypeError(f"{cls.__name__} objects are made by threadkit.open_channel()")


class _End:
    """What both ends have: closing, cloning, the context manager, the collection warning."""

    __slots__ = ("__weakref__", "_channel", "_closed", "_flavor")
    _channel: _Channel[Any]
    _flavor: Flavor[Any]
    _closed: bool

    def __init__(self) -> None:
        _no_constructor(type(self))

    @classmethod
    def _make(cls, channel: _Channel[Any]) -> Any:
        end = object.__new__(cls)
        end._channel = channel
        end._flavor = channel.flavor
        end._closed = False
        return end

    def _count(self, delta: int) -> int:
        """Add ``delta`` to this kind of end's count (lock held); return the new count."""
        raise NotImplementedError

    def _last_closed(self) -> None:
        raise NotImplementedError

    def _waiters(self) -> WaitQueue:
        """The wait queue where threads blocked on this kind of end wait."""
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """True once this handle is closed."""
        return self._closed

    def close(self) -> None:
        """Close this handle (idempotent).

        Closing the last Sender ends the channel for receivers once they drain it; closing
        the last Receiver makes every send fail. Either wakes every blocked thread.
        """
        with self._flavor.lock:
            if self._closed:
                return
            self._closed = True
            last = self._count(-1) == 0
        if last:
            self._last_closed()
        else:  # wake the threads blocked on this handle (they re-check and raise)
            self._flavor.wake_all(self._waiters())

    def _clone(self) -> Any:
        with self._flavor.lock:
            if self._closed:
                raise ChannelClosed(f"clone of a closed {type(self).__name__}")
            self._count(1)
        return self._make(self._channel)

    def statistics(self) -> ChannelStatistics:
        """Return a snapshot of the channel's buffer, open ends and waiting threads."""
        return self._channel.statistics()

    def __repr__(self) -> str:
        s = self.statistics()
        state = "closed" if self._closed else "open"
        return (
            f"<threadkit.{type(self).__name__} ({state}) capacity={s.capacity} "
            f"buffered={s.buffer_used} senders={s.open_senders} receivers={s.open_receivers}>"
        )

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(
        self,
        _warn: Any = warnings.warn,
        _thread: Any = _p.StdThread,
        _finalizing: Any = sys.is_finalizing,
    ) -> None:
        # The module globals may be gone at interpreter exit: what is needed is bound here.
        if getattr(self, "_closed", True):
            return
        try:
            lock = self._flavor.lock
            if lock.acquire(False):
                lock.release()
                self.close()
            elif not _finalizing():
                # The garbage collector may run this in the middle of a channel operation of
                # this very thread, which holds the (non-reentrant) lock: closing here would
                # deadlock, so another thread closes once the lock is free.
                _thread(target=self.close, name="threadkit-channel-close", daemon=True).start()
        finally:  # closed first: a warnings filter that raises must not keep it open
            _warn(
                f"unclosed {type(self).__name__} of a channel of capacity "
                f"{self._flavor.capacity}; close it (or use 'with')",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )


@final
class Sender(_End, Generic[_T]):
    """The sending end of a channel, made by ``open_channel()``.

    ``send`` blocks while the buffer is full (capacity 0: until a receiver takes the item);
    ``try_send`` raises ``WouldBlock`` instead. Sending on a closed channel raises
    ``ChannelClosed`` with the unsent item in ``item``. ``clone()`` makes another Sender;
    the channel ends for receivers when every Sender is closed, or collected (with a
    ``ResourceWarning``).

    Examples:
        >>> import math, threadkit
        >>> tx, rx = threadkit.open_channel(math.inf)
        >>> tx2 = tx.clone()
        >>> tx.send("a"); tx2.send("b")
        >>> tx.close(); tx2.close()  # the last Sender closed: the channel ends
        >>> list(rx)
        ['a', 'b']
        >>> rx.close()
    """

    __slots__ = ()

    def _count(self, delta: int) -> int:
        self._channel.open_senders += delta
        return self._channel.open_senders

    def _last_closed(self) -> None:
        self._flavor.close_senders()

    def _waiters(self) -> WaitQueue:
        return self._flavor.senders

    def _check(self, item: object) -> None:
        if self._closed:
            raise ChannelClosed("send on a closed Sender", item)

    def send(self, item: _T, timeout: float | None = None) -> None:
        """Send ``item``, blocking while the channel is full.

        Raises:
            ChannelClosed: this Sender or every Receiver is closed, also while blocked
                (``item`` is on it).
            TimeoutError: ``timeout`` seconds passed first.
            ValueError: ``timeout`` is negative or NaN.
        """
        if self._closed:
            raise ChannelClosed("send on a closed Sender", item)
        self._flavor.send(item, None if timeout is None else deadline_after(timeout), self)

    def try_send(self, item: _T) -> None:
        """Send ``item`` if that can be done without blocking, else raise ``WouldBlock``."""
        if self._closed:
            raise ChannelClosed("send on a closed Sender", item)
        if not self._flavor.try_send(item):
            raise WouldBlock(
                "the channel is full" if self._flavor.capacity else "no receiver is waiting"
            )

    async def send_async(self, item: _T, timeout: float | None = None) -> None:
        """``send()`` for a coroutine (``threadkit.aio.send``): the event loop keeps running.

        Raises:
            ChannelClosed: as ``send()``.
            TimeoutError: ``timeout`` seconds passed first.
        """
        from .. import _aio  # (imports asyncio: only when used)

        await _aio.send(self, item, timeout)

    def send_op(self, item: _T) -> SelectOp[None]:
        """Return a select operation that sends ``item`` (its value is None)."""
        self._check(item)
        return SendOp(self._flavor, item, self._check)

    def clone(self) -> Sender[_T]:
        """Return another Sender for the same channel (close each one)."""
        return self._clone()  # type: ignore[no-any-return]

    def __enter__(self) -> Sender[_T]:
        return self


@final
class Receiver(_End, Receiving[_T]):
    """The receiving end of a channel, made by ``open_channel()``.

    ``recv`` blocks until an item arrives and raises ``EndOfChannel`` once every Sender is
    closed and the buffer is drained; ``for item in rx:`` stops there. ``clone()`` makes
    another Receiver (each item goes to one of them).

    Examples:
        >>> import threadkit
        >>> tx, rx = threadkit.open_channel(2)
        >>> tx.send(1); tx.send(2); tx.close()
        >>> rx.recv(), rx.try_recv(), rx.ended
        (1, 2, True)
        >>> rx.close()
    """

    __slots__ = ()

    def _count(self, delta: int) -> int:
        self._channel.open_receivers += delta
        return self._channel.open_receivers

    def _last_closed(self) -> None:
        self._flavor.close_receivers()

    def _waiters(self) -> WaitQueue:
        return self._flavor.receivers

    def _check(self, item: object) -> None:
        if self._closed:
            raise ChannelClosed("receive on a closed Receiver")

    def recv(self, timeout: float | None = None) -> _T:
        """Receive the next item, blocking until there is one.

        On a rendezvous channel, an item handed over just as an interrupt
        (``KeyboardInterrupt``) arrives is lost with it: the sender has already returned.

        Raises:
            EndOfChannel: every Sender is closed and the buffer is empty.
            ChannelClosed: this Receiver is closed (also while blocked).
            TimeoutError: ``timeout`` seconds passed first.
            ValueError: ``timeout`` is negative or NaN.
        """
        if self._closed:
            raise ChannelClosed("receive on a closed Receiver")
        deadline = None if timeout is None else deadline_after(timeout)
        return self._flavor.recv(deadline, self)  # type: ignore[no-any-return]

    def try_recv(self) -> _T:
        """Receive an item if one is there now, else raise ``WouldBlock``."""
        if self._closed:
            raise ChannelClosed("receive on a closed Receiver")
        done, item = self._flavor.try_recv()
        if not done:
            raise WouldBlock(
                "the channel is empty" if self._flavor.capacity else "no sender is waiting"
            )
        return item  # type: ignore[return-value]

    @property
    def ended(self) -> bool:
        """True once every Sender is closed and the buffer is drained (for good).

        After a ``select`` raised ``EndOfChannel``, this tells which receivers ended.
        """
        flavor = self._flavor
        with flavor.lock:
            return flavor.senders_closed and not flavor.buffered()

    async def recv_async(self, timeout: float | None = None) -> _T:
        """``recv()`` for a coroutine (``threadkit.aio.recv``): the event loop keeps running.

        Raises:
            EndOfChannel: as ``recv()``.
            TimeoutError: ``timeout`` seconds passed first.
        """
        from .. import _aio  # (imports asyncio: only when used)

        return await _aio.recv(self, timeout)

    def recv_op(self) -> SelectOp[_T]:
        """Return a select operation that receives an item (its value)."""
        if self._closed:
            raise ChannelClosed("receive on a closed Receiver")
        return self._flavor.recv_op(self)  # a new one each time: see RecvOp

    def clone(self) -> Receiver[_T]:
        """Return another Receiver for the same channel (close each one)."""
        return self._clone()  # type: ignore[no-any-return]

    def __iter__(self) -> Receiver[_T]:
        return self

    def __enter__(self) -> Receiver[_T]:
        return self


def open_channel(capacity: float) -> tuple[Sender[Any], Receiver[Any]]:
    """Open a channel and return its two ends, ``(Sender, Receiver)``.

    ``capacity`` chooses the flavor once: ``0`` a rendezvous (a send waits for a receiver
    to take the item), an int ``n >= 1`` a buffer of ``n`` items, ``math.inf`` an unbounded
    buffer (a send never blocks).

    Unlike ``queue.Queue``, a channel ends: close every Sender and the receivers drain what
    is left and stop, with no sentinel.

    Raises:
        ValueError: ``capacity`` is negative, NaN, or a non-integral number other than inf.
        TypeError: ``capacity`` is not a number.

    Examples:
        >>> tx, rx = open_channel(math.inf)
        >>> with tx:
        ...     for n in range(3):
        ...         tx.send(n)
        >>> [n for n in rx]
        [0, 1, 2]
        >>> rx.close()
    """
    flavor: Flavor[Any]
    if isinstance(capacity, bool) or not isinstance(capacity, (int, float)):
        raise TypeError(f"capacity must be an int or math.inf, not {type(capacity).__name__}")
    if capacity == math.inf:
        flavor = ListFlavor()
    elif capacity == 0:
        flavor = ZeroFlavor()
    elif capacity > 0 and capacity == int(capacity):
        flavor = ArrayFlavor(int(capacity))
    else:
        raise ValueError(f"capacity must be 0, a positive int or math.inf, not {capacity!r}")
    channel: _Channel[Any] = _Channel(flavor)
    return Sender._make(channel), Receiver._make(channel)
