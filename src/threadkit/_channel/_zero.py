"""The rendezvous flavor (capacity 0): a send hands its item directly to a receive.

A send finds a waiting receiver and hands it the item (``WaitQueue.wake_one(item)``), or
queues itself with the item in its waiter's ``payload`` until a receiver takes it; a
receive is the mirror image. Both succeed together or not at all, so nothing is ever
buffered. The hand-over happens under the lock; a select's arm is claimed first, so a
select that already fired is skipped and the item goes to the next waiter (after crossbeam's
``flavors/zero.rs``).
"""

from __future__ import annotations

from typing import Any, TypeVar

from .._core import Arm, WaitQueue
from ._protocol import CLOSED, Flavor

__all__ = ["ZeroFlavor"]

_T = TypeVar("_T")


def _others(queue: WaitQueue, arm: Arm) -> bool:
    """Is anyone in ``queue`` who is not part of the same select as ``arm``?"""
    return any(waiter.select is not arm.select for waiter in queue)


class ZeroFlavor(Flavor[_T]):
    capacity = 0

    def buffered(self) -> int:
        return 0

    def _send_locked(self, item: _T) -> bool:
        if self.closed:
            self._check_send_locked(item)
        return self.receivers.wake_one(item)[0]

    def _recv_locked(self) -> tuple[bool, _T | None]:
        taken, item = self.senders.wake_one(True)
        if taken:
            return True, item  # type: ignore[return-value]
        if self.closed:
            raise self._end()
        return False, None

    def send(self, item: _T, deadline: float | None, end: Any) -> None:
        senders = self.senders
        front = False
        while True:
            with self.lock:
                if self._send_locked(item):
                    return
                waiter = senders.enqueue(front=front)
                waiter.payload = item
            try:
                woken = senders.park(waiter, deadline)
            except BaseException:
                senders.abandon(waiter)
                raise  # if WOKEN, the item was taken: the send happened
            finally:
                waiter.payload = None
            if not woken:
                raise TimeoutError("timed out waiting to send")
            if waiter.value is not CLOSED:
                return  # a receiver took the item
            if end._closed:  # woken because this Sender was closed
                end._check(item)
            front = True  # a closing elsewhere woke us: the loop re-checks the channel

    def recv(self, deadline: float | None, end: Any) -> _T:
        receivers = self.receivers
        front = False
        while True:
            with self.lock:
                done, item = self._recv_locked()
                if done:
                    return item  # type: ignore[return-value]
                waiter = receivers.enqueue(front=front)
            try:
                woken = receivers.park(waiter, deadline)
            except BaseException:
                receivers.abandon(waiter)
                raise  # if WOKEN, an item was handed over and is lost with the interrupt
            if not woken:
                raise TimeoutError("timed out waiting to receive")
            if waiter.value is not CLOSED:
                return waiter.value  # type: ignore[return-value]
            if end._closed:  # woken because this Receiver was closed
                end._check(None)
            front = True

    def pass_on(self, queue: WaitQueue) -> None:
        """A rendezvous wake-up is a completed hand-over: there is nothing to pass on."""

    def _send_ready_locked(self, arm: Arm) -> bool:
        return _others(self.receivers, arm)

    def _recv_ready_locked(self, arm: Arm) -> bool:
        return _others(self.senders, arm)

    def handed_over(self, value: object) -> bool:
        return value is not CLOSED  # the other side has the item, or gave it: it returned

    def complete_send(self, item: _T, value: object) -> tuple[bool, None]:
        if value is CLOSED:
            return self.try_send(item), None  # raises ChannelClosed
        return True, None  # a receiver took the item from the arm's payload

    def complete_recv(self, value: object) -> tuple[bool, _T | None]:
        if value is CLOSED:
            return self.try_recv()  # raises EndOfChannel
        return True, value  # type: ignore[return-value]
