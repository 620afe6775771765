"""The bounded flavor (capacity ``n >= 1``): a deque holding at most ``n`` items.

Everything happens under the lock: a receive must wake a sender waiting for room, and a send
a receiver waiting for an item, and checking for them under the same lock that changes the
buffer is what makes a lost wake-up impossible. One lock acquisition per call, and a wait
queue touched only when someone waits.
"""

from __future__ import annotations

from collections import deque
from typing import Any, TypeVar

from .._core import Arm
from ._protocol import Flavor

__all__ = ["ArrayFlavor"]

_T = TypeVar("_T")


class ArrayFlavor(Flavor[_T]):
    # Invariants (under lock): len(items) <= capacity; a queued sender saw the buffer full,
    # a queued receiver saw it empty, when they queued or were last woken.

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.items: deque[_T] = deque()  # guarded by lock

    def buffered(self) -> int:
        return len(self.items)

    def _send_locked(self, item: _T) -> bool:
        if self.closed:
            self._check_send_locked(item)
        items = self.items
        if len(items) >= self.capacity:
            return False
        items.append(item)
        if self.receivers:
            self.receivers.unpark(1)
        return True

    def send(self, item: _T, deadline: float | None, end: Any) -> None:
        with self.lock:  # the first try of _send_locked, inlined: the hot path
            items = self.items
            if not self.closed and len(items) < self.capacity:
                items.append(item)
                if self.receivers:
                    self.receivers.unpark(1)
                return
        super().send(item, deadline, end)

    def recv(self, deadline: float | None, end: Any) -> _T:
        with self.lock:  # the first try of _recv_locked, inlined: the hot path
            items = self.items
            if items:
                item = items.popleft()
                if self.senders:
                    self.senders.unpark(1)
                return item
        return super().recv(deadline, end)

    def _recv_locked(self) -> tuple[bool, _T | None]:
        items = self.items
        if items:
            item = items.popleft()
            if self.senders:
                self.senders.unpark(1)
            return True, item
        if self.closed:
            raise self._end()
        return False, None

    def _send_ready_locked(self, arm: Arm) -> bool:
        return len(self.items) < self.capacity

    def _recv_ready_locked(self, arm: Arm) -> bool:
        return bool(self.items)

    def _drop_locked(self) -> None:
        self.items.clear()
