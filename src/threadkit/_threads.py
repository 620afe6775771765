"""``Thread``: a drop-in for ``threading.Thread`` whose result you can get back.

It *is* a ``threading.Thread`` (a subclass), so ``threading.current_thread()``,
``threading.enumerate()``, ``join()``, names, daemon flags and ``excepthook`` all behave as
before. What it adds: ``result()`` returns what the target returned, or re-raises what it
raised; ``exception()`` returns that exception; ``statistics()`` and a ``repr`` show the state.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Any

from ._core import (
    Cancelled,
    CancelScope,
    SelectOp,
    WaitOp,
    WaitQueue,
    check_timeout,
    inherited,
    wait_deadline,
)
from ._core import _primitives as _p

__all__ = [
    "Thread",
    "ThreadStatistics",
    "activeCount",
    "currentThread",
]


@dataclass(frozen=True, slots=True)
class ThreadStatistics:
    """A snapshot of a Thread.

    Attributes:
        name: the thread's name.
        ident: its identifier, None before it starts.
        state: "initial", "started" or "stopped".
        daemon: the daemon flag.
        raised: whether the target raised (False until it has finished).

    Examples:
        >>> t = Thread(target=sum, args=([1, 2],), name="adder")
        >>> t.statistics().state
        'initial'
        >>> t.start(); t.join()
        >>> s = t.statistics()
        >>> s.name, s.state, s.raised
        ('adder', 'stopped', False)
    """

    name: str
    ident: int | None
    state: str
    daemon: bool
    raised: bool


_NOT_DONE: Any = object()


class Thread(_p.StdThread):
    """A thread of control: ``threading.Thread`` plus a way to get its outcome.

    Same constructor, methods and behaviour as ``threading.Thread``; an exception the target
    raises still goes to ``threading.excepthook`` as in the stdlib. In addition:

    * ``result(timeout=None)`` waits for the thread and returns the target's return value,
      or re-raises the exception it raised;
    * ``exception(timeout=None)`` waits and returns that exception (None if it returned).

    A subclass that overrides ``run()`` gets ``run()``'s return value from ``result()``.
    ``join()``, ``result()`` and ``exception()`` wait on the thread's own C lock, as the stdlib's
    ``join()`` does, not on threadkit's wait queue: a virtual clock does not apply to them.

    Examples:
        >>> t = Thread(target=sum, args=([1, 2, 3],))
        >>> t.start()
        >>> t.result(timeout=5)
        6
    """

    def __init__(
        self,
        group: None = None,
        target: Callable[..., object] | None = None,
        name: str | None = None,
        args: Iterable[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        daemon: bool | None = None,
    ) -> None:
        super().__init__(group, target, name, args, kwargs, daemon=daemon)
        # Written once by the thread itself before it finishes; read after join().
        self._tk_result: Any = _NOT_DONE
        self._tk_exception: BaseException | None = None
        self._tk_wrapped = False
        # join_op()'s waiters; its lock guards _tk_done, set once as the target returns.
        self._tk_joiners = WaitQueue(self)
        self._tk_done = False
        # The thread's root cancel scope: cancel() cancels it; run() runs inside it.
        self._tk_scope = CancelScope()
        self._tk_cancelled: CancelledError | None = None  # written once, by the thread

    def start(self) -> None:
        """Start the thread; ``RuntimeError`` if called more than once, as in the stdlib."""
        if not getattr(self, "_tk_wrapped", True):  # (missing if __init__ was not called)
            self._tk_wrapped = True
            run = self.run  # whatever a subclass or an assignment made it
            self.run = lambda: self._tk_capture(run)  # type: ignore[method-assign]
        super().start()

    def _tk_capture(self, run: Callable[[], object]) -> None:
        try:
            with inherited([self._tk_scope]):
                self._tk_result = run()
        except Cancelled as exc:
            if exc.scope is not self._tk_scope:
                self._tk_exception = exc
                raise
            # Cancelled through cancel(): the thread ends quietly (not an error for the
            # excepthook); result() and exception() report it.
            error = CancelledError(f"thread {self.name!r} was cancelled")
            error.__cause__ = exc
            self._tk_cancelled = error
        except BaseException as exc:
            self._tk_exception = exc
            raise  # on to threading.excepthook, as in the stdlib
        finally:
            del self.run  # drop the wrapper (and the cycle through it)
            with self._tk_joiners.lock:
                self._tk_done = True
                self._tk_joiners.unpark_all()

    def run(self) -> Any:
        """Call the target with its arguments and return its result."""
        try:
            if self._target is not None:  # type: ignore[attr-defined]
                return self._target(*self._args, **self._kwargs)  # type: ignore[attr-defined]
            return None
        finally:
            # Avoid a refcycle if the thread is running a function with an argument that
            # has a member that points to the thread (the stdlib does the same).
            del self._target, self._args, self._kwargs  # type: ignore[attr-defined]

    def cancel(self, reason: object = None) -> None:
        """Cancel the thread: its next threadkit cancellation point raises ``Cancelled``.

        A thread blocked in a threadkit call (an Event, a queue, a channel, ``sleep``, ...)
        wakes at once; one computing wakes at its next ``checkpoint()``. The thread's
        ``run()`` then ends quietly, and ``result()``/``exception()`` raise
        ``concurrent.futures.CancelledError``. Callable from any thread, before or after
        ``start()``, and more than once. A thread blocked outside threadkit (a C ``Lock``,
        a socket) is not woken: it sees the cancellation at its next cancellation point.
        """
        self._tk_scope.cancel(reason)

    @property
    def cancelled(self) -> bool:
        """True once ``cancel()`` was called."""
        return self._tk_scope.cancel_called

    def join(self, timeout: float | None = None) -> None:
        """Wait until the thread ends, as ``threading.Thread.join``; a cancellation point.

        Inside a cancel scope, cancelling the scope ends the wait with ``Cancelled``. The
        wait is a threadkit wait (DESIGN 2): ``dump()`` shows it and the deadlock detector
        sees it.
        """
        if self is _p.current_thread():
            raise RuntimeError("cannot join current thread")
        if getattr(self, "_tk_wrapped", False):
            # Park on join_op()'s queue (which a cancellation wakes) until run() returned;
            # the thread is then only finishing, which the stdlib's join() waits for.
            deadline = wait_deadline(timeout)
            joiners = self._tk_joiners
            with joiners.lock:
                done = self._tk_done
                if not done:
                    waiter = joiners.enqueue()
            if not done:
                try:
                    done = joiners.park(waiter, deadline)
                except BaseException:
                    joiners.abandon(waiter)
                    raise
            if not done:
                return  # timed out, as the stdlib's join() does: the caller checks is_alive()
            timeout = None
        super().join(timeout)

    def _finish(self, timeout: float | None) -> None:
        check_timeout(timeout)
        self.join(timeout)
        if self.is_alive():
            raise TimeoutError(f"thread {self.name!r} did not finish within {timeout} seconds")
        if self._tk_cancelled is not None:
            raise self._tk_cancelled

    def result(self, timeout: float | None = None) -> Any:
        """Wait for the thread to finish; return the target's result or raise its exception.

        Raises:
            TimeoutError: if the thread is still running after ``timeout`` seconds.
            ValueError: if ``timeout`` is negative or NaN.
            RuntimeError: if the thread was never started (the message is ``join()``'s).
            BaseException: whatever the target raised.
        """
        self._finish(timeout)
        if self._tk_exception is not None:
            raise self._tk_exception
        return None if self._tk_result is _NOT_DONE else self._tk_result

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """Wait for the thread to finish; return the exception its target raised, or None.

        Raises:
            TimeoutError: if the thread is still running after ``timeout`` seconds.
            RuntimeError: if the thread was never started.
        """
        self._finish(timeout)
        return self._tk_exception

    def join_op(self) -> SelectOp[None]:
        """Return a select operation that fires when the thread's ``run()`` has returned.

        Its value is None; read the outcome with ``result()``, which then does not block
        for long (the thread is finishing). Selecting on a thread that was never started
        raises ``RuntimeError``, as ``join()`` does.
        """
        if not self._tk_wrapped:
            raise RuntimeError("cannot join thread before it is started")
        return WaitOp("join_op", self._tk_joiners, lambda: self._tk_done, self._joined)

    def _joined(self) -> tuple[bool, None]:
        return self._tk_done, None

    def statistics(self) -> ThreadStatistics:
        """Return a snapshot of the thread's state."""
        if self.ident is None:
            state = "initial"
        elif self.is_alive():
            state = "started"
        else:
            state = "stopped"
        raised = state == "stopped" and self._tk_exception is not None
        return ThreadStatistics(self.name, self.ident, state, self.daemon, raised)


def currentThread() -> _p.StdThread:  # noqa: N802 - the stdlib's deprecated spelling
    """Deprecated alias of ``current_thread()``.

    Examples:
        >>> import threadkit, warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     threadkit.currentThread() is threadkit.current_thread()
        True
        >>> print(caught[0].message)
        currentThread() is deprecated, use current_thread() instead
    """
    warnings.warn(
        "currentThread() is deprecated, use current_thread() instead",
        DeprecationWarning,
        stacklevel=2,
    )
    return _p.current_thread()


def activeCount() -> int:  # noqa: N802 - the stdlib's deprecated spelling
    """Deprecated alias of ``active_count()``.

    Examples:
        >>> import threadkit, warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     threadkit.activeCount() >= 1         # the calling thread, at least
        True
        >>> print(caught[0].message)
        activeCount() is deprecated, use active_count() instead
    """
    warnings.warn(
        "activeCount() is deprecated, use active_count() instead",
        DeprecationWarning,
        stacklevel=2,
    )
    return _p.active_count()
