"""The unbounded flavor (capacity ``math.inf``): a deque; a send never blocks.

A receive first tries ``deque.popleft()`` without the lock: CPython documents ``popleft``
as atomic on every build, and only sends (under the lock) add items, so a lock-free pop can
only take an item that is there. Everything else happens under the lock, so a receiver that
found the buffer empty and queued itself (lock held) is always seen by the next send (lock
held), which wakes it: no wake-up is lost. A woken receiver may find its item taken by a
lock-free pop (barging); it then waits again at the head of the queue.

Wake-ups (after ``java.util.concurrent.LinkedBlockingQueue``): a send wakes a receiver only
when it makes the buffer non-empty, and a receive that leaves items behind while receivers
sleep wakes the next one, so each woken receiver passes the baton on while items remain and
a burst of sends does not wake every receiver at once (with the GIL, that costs more than it
helps).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, TypeVar

from .._core import Arm
from ._protocol import Flavor, RecvOp

__all__ = ["ListFlavor"]

_T = TypeVar("_T")


class ListFlavor(Flavor[_T]):
    capacity = math.inf

    def __init__(self) -> None:
        super().__init__()
        self.items: deque[_T] = deque()  # appended under lock; popped left anywhere

    def buffered(self) -> int:
        return len(self.items)

    def _send_locked(self, item: _T) -> bool:
        if self.closed:
            self._check_send_locked(item)
        self.items.append(item)
        if self.receivers and len(self.items) <= 1:
            self.receivers.unpark(1)
        return True

    def send(self, item: _T, deadline: float | None, end: Any) -> None:
        with self.lock:  # _send_locked, inlined: this is the hot path
            if self.closed:
                self._check_send_locked(item)
            items = self.items
            items.append(item)
            if self.receivers and len(items) <= 1:  # see "Wake-ups" above
                self.receivers.unpark(1)

    def _recv_locked(self) -> tuple[bool, _T | None]:
        items = self.items
        try:  # not "if items: popleft()": a lock-free pop may take the item in between
            item = items.popleft()
        except IndexError:
            pass
        else:
            if items and self.receivers:  # see "Wake-ups" above
                self.receivers.unpark(1)
            return True, item
        if self.closed:
            raise self._end()
        return False, None

    def took(self) -> None:
        """After a lock-free pop: items left and receivers asleep, wake the next one."""
        if self.items and self.receivers:
            with self.lock:
                if self.items:
                    self.receivers.unpark(1)

    def try_recv(self) -> tuple[bool, _T | None]:
        try:
            item = self.items.popleft()
        except IndexError:
            return super().try_recv()
        if self.receivers:
            self.took()
        return True, item

    def recv(self, deadline: float | None, end: Any) -> _T:
        try:
            item = self.items.popleft()
        except IndexError:
            return super().recv(deadline, end)
        if self.receivers:
            self.took()
        return item

    def recv_op(self, end: Any) -> RecvOp[_T]:
        return _ListRecvOp(self, end)

    def _send_ready_locked(self, arm: Arm) -> bool:
        return True

    def _recv_ready_locked(self, arm: Arm) -> bool:
        return bool(self.items)

    def _drop_locked(self) -> None:
        self.items.clear()


class _ListRecvOp(RecvOp[_T]):
    """The receive operation, with the lock-free pop inlined: select's hottest path."""

    __slots__ = ()
    _flavor: ListFlavor[_T]

    def try_select(self) -> tuple[bool, _T]:
        if self._end._closed:
            self._end._check(None)
        flavor = self._flavor
        try:
            item = flavor.items.popleft()
        except IndexError:
            return flavor.try_recv()  # type: ignore[return-value]
        if flavor.receivers:
            flavor.took()
        return True, item
