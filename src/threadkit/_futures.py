"""``Future``: ``concurrent.futures.Future`` with threadkit's additions.

It is a subclass, so ``concurrent.futures.wait`` and ``as_completed`` (which read the
stdlib's private state) accept it, and every stdlib behaviour is kept. What it adds:
``state()``, ``result_now()``/``exception_now()`` (never block), and ``done_op()``, a select
operation, through a wait queue woken by a done-callback.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures as _cf
from typing import Any, Literal, TypeVar

from ._core import SelectOp, WaitOp, WaitQueue

__all__ = ["Future"]

_T = TypeVar("_T")
_U = TypeVar("_U")

State = Literal["pending", "running", "cancelled", "finished"]
_STATES: dict[str, State] = {
    "PENDING": "pending",
    "RUNNING": "running",
    "CANCELLED": "cancelled",
    "CANCELLED_AND_NOTIFIED": "cancelled",
    "FINISHED": "finished",
}


class Future(_cf.Future[_T]):
    """The result of a call run elsewhere: a ``concurrent.futures.Future`` with additions.

    Example:
        >>> f = Future()
        >>> f.state()
        'pending'
        >>> f.set_result(7)
        >>> f.state(), f.result_now()
        ('finished', 7)
    """

    _tk_done: WaitQueue | None = None

    def state(self) -> State:
        """``"pending"``, ``"running"``, ``"cancelled"`` or ``"finished"`` (a snapshot)."""
        return _STATES[self._state]

    def result_now(self) -> _T:
        """Return the result if the future is done, without waiting.

        Raises:
            InvalidStateError: it is not done yet.
            CancelledError: it was cancelled.
            BaseException: what the call raised.
        """
        if not self.done():
            raise _cf.InvalidStateError(f"result_now() on a {self.state()} future")
        return self.result(0)

    def exception_now(self) -> BaseException | None:
        """Return the exception if the future is done (None if it succeeded), without waiting.

        Raises:
            InvalidStateError: it is not done yet.
            CancelledError: it was cancelled.
        """
        if not self.done():
            raise _cf.InvalidStateError(f"exception_now() on a {self.state()} future")
        return self.exception(0)

    def then(self, fn: Callable[[_T], _U], /) -> Future[_U]:
        """Return a future of ``fn(result)``, run as soon as this future succeeds.

        ``fn`` runs in the thread that completes this future (or at once, in the calling
        thread, if it is already done). If this future raised, the new one raises the same
        exception; if it was cancelled, the new one is cancelled; if ``fn`` raises, the new
        one raises that.

        Example:
            >>> f = Future()
            >>> g = f.then(lambda x: x * 2)
            >>> f.set_result(21)
            >>> g.result()
            42
        """
        chained: Future[_U] = Future()

        def follow(done: _cf.Future[_T]) -> None:
            if done.cancelled():
                chained.cancel()
                chained.set_running_or_notify_cancel()
                return
            exc = done.exception()
            if exc is not None:
                chained.set_exception(exc)
                return
            try:
                value = fn(done.result())
            except BaseException as error:
                chained.set_exception(error)
            else:
                chained.set_result(value)

        self.add_done_callback(follow)
        return chained

    def done_op(self) -> SelectOp[Future[_T]]:
        """Return a select operation that fires when the future is done (its value: the future)."""
        with self._condition:
            queue = self._tk_done
            if queue is None:
                queue = self._tk_done = WaitQueue(self)
                new = True
            else:
                new = False
        if new:
            self.add_done_callback(_wake_all)
        return WaitOp("done_op", queue, self.done, self._done_now)

    def _done_now(self) -> tuple[bool, Future[_T]]:
        return self.done(), self


def _wake_all(future: _cf.Future[Any]) -> None:
    queue: WaitQueue | None = getattr(future, "_tk_done", None)
    if queue is not None:
        with queue.lock:
            queue.unpark_all()
