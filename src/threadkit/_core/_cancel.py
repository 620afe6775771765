"""Cooperative, scoped cancellation for plain threads (after trio's CancelScope).

Three parts, kept apart as trio keeps them (STYLE habit 11):

* **Origin**: a ``CancelScope`` is where cancellation starts: ``cancel(reason)`` from any
  thread, or its deadline passing. Scopes nest per thread (a ``with`` block pushes one on the
  thread's stack); a shielded scope keeps cancellation from outside it away from the code
  inside.
* **Plumbing**: each thread has a ``_ThreadState``: its stack of scopes and, while it is
  blocked in threadkit, what it is parked on. A scope knows the threads that have it on
  their stack (the thread that entered it, and the threads that inherited it explicitly at
  start: a TaskGroup's tasks, a Thread's root scope). ``cancel()`` wakes each of them: the
  canceller removes the thread's waiter from its wait queue and unparks it, so a cancelled
  thread is woken at once, never by polling (a thread spinning a moment before it parks,
  ``_waitqueue.spin_until``, reads its scopes' flags at each look instead).
* **Deadlines**: a thread's effective deadline is the earliest deadline among its scopes (up
  to the innermost shield); ``park`` waits until the earlier of that and the call's own
  deadline, and a scope whose deadline passed is cancelled by the first thread that notices.

A thread with no scope pays one thread-local read per park; nothing else changes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Final

from . import _clock, _primitives
from ._deadlines import check_timeout

__all__ = [
    "CancelScope",
    "Cancelled",
    "checkpoint",
    "current_deadline",
    "current_state",
    "fail_after",
    "move_on_after",
]

EXPLICIT: Final = "explicit"
DEADLINE: Final = "deadline"
PARENT: Final = "parent"


class Cancelled(BaseException):
    """Raised in a thread whose cancel scope was cancelled, at a cancellation point.

    A ``BaseException`` (as ``KeyboardInterrupt``), so ``except Exception`` does not swallow
    it. ``scope`` is the scope that was cancelled; ``source`` says how: ``"explicit"``
    (``cancel()``), ``"deadline"``, or ``"parent"`` (an enclosing scope was cancelled);
    ``reason`` is what was passed to ``cancel()``. The ``with`` block of ``scope`` catches it.

    Examples:
        >>> import threadkit
        >>> with threadkit.CancelScope() as scope:
        ...     scope.cancel("shutting down")
        ...     try:
        ...         threadkit.checkpoint()
        ...     except threadkit.Cancelled as exc:
        ...         print(exc.source, "-", exc)
        ...         raise                    # let it go on: the scope's ``with`` catches it
        explicit - <threadkit.CancelScope cancelled>: cancel() was called (shutting down)
    """

    def __init__(self, scope: CancelScope, source: str, reason: object = None) -> None:
        self.scope = scope
        self.source = source
        self.reason = reason
        super().__init__()

    def __str__(self) -> str:  # made when printed, not when raised: raising stays cheap
        how = "its deadline passed" if self.scope._source == DEADLINE else "cancel() was called"
        text = f"{self.scope!r}: {how}"
        if self.reason is not None:
            text += f" ({self.reason})"
        if self.source == PARENT:
            text += "; it encloses the scope this thread was in"
        return text

    def __reduce__(self) -> Any:  # pragma: no cover - scopes do not cross processes
        return (RuntimeError, (str(self),))


class _ThreadState:
    """One thread's cancellation state: its scope stack and what it is parked on."""

    __slots__ = ("ident", "lock", "parked", "scopes")

    def __init__(self) -> None:
        self.ident = _primitives.get_ident()  # the thread it belongs to (made by that thread)
        self.lock = _primitives.allocate_lock()  # guards parked (and its reads by cancellers)
        self.scopes: list[CancelScope] = []  # innermost last; changed only by the thread
        # (queue-like object, its argument) while blocked: whoever cancels calls
        # parked[0].cancel_waiter(parked[1]) under ``lock``.
        self.parked: tuple[Any, Any] | None = None

    def effective(self) -> list[CancelScope]:
        """The scopes that apply, innermost first, up to and including the innermost shield."""
        out = []
        for scope in reversed(self.scopes):
            out.append(scope)
            if scope._shield:
                break
        return out

    def notice(self) -> None:
        """Cancel the scopes whose deadline passed (call it with no lock held: cancelling
        takes the locks of every thread in the scope, this one's included)."""
        now = _clock._current.now()
        for scope in self.effective():
            if not scope._cancel_called and scope._deadline <= now:
                scope._cancel(DEADLINE, None)

    def check(self) -> Cancelled | None:
        """The Cancelled this thread should raise now, or None (reads only: safe under
        ``lock``; call ``notice()`` first to see passed deadlines)."""
        scopes = self.effective()
        for scope in scopes:
            if scope._cancel_called:
                source = scope._source if scope is scopes[0] else PARENT
                return Cancelled(scope, source, scope._reason)
        return None

    def pending(self) -> Cancelled | None:
        """``notice()`` then ``check()`` (no lock held)."""
        self.notice()
        return self.check()

    def deadline(self) -> float:
        """The earliest deadline of the scopes that apply (``inf`` if none)."""
        return min((s._deadline for s in self.effective()), default=math.inf)


class _Local(_primitives.local):
    # A class default: reading it in a thread that never set it finds None here, where
    # getattr(local, name, None) would raise and catch an AttributeError (10x slower).
    state: _ThreadState | None = None


_tls = _Local()


def current_state() -> _ThreadState | None:
    """The calling thread's state if it has any scope, else None (the common, free case)."""
    state: _ThreadState | None = _tls.state
    if state is None or not state.scopes:
        return None
    return state


def _state() -> _ThreadState:
    state: _ThreadState | None = _tls.state
    if state is None:
        state = _tls.state = _ThreadState()
    return state


class CancelScope:
    """A block of code that can be cancelled, from any thread, or by a deadline.

    ``with CancelScope(timeout=5) as scope: ...`` runs the block; when the scope is
    cancelled (``scope.cancel()``, or 5 seconds passing), every threadkit blocking call
    inside it, in this thread and in threads started in it with the scope (a TaskGroup's
    tasks), raises ``Cancelled`` at once, and the ``with`` statement catches it:
    ``scope.cancelled_caught`` tells that it happened. Code that never blocks can call
    ``checkpoint()``.

    Args:
        deadline: an absolute time on the threadkit clock (``get_clock().now()``) at which
            the scope cancels itself.
        timeout: seconds from entering the scope; with ``deadline``, the earlier wins.
        shield: keep cancellation from enclosing scopes out of this block.

    A nested scope never extends its parent's deadline: the earliest deadline applies.

    Examples:
        >>> import threadkit
        >>> with threadkit.CancelScope(timeout=0.01) as scope:
        ...     threadkit.Event().wait()          # would wait forever
        >>> scope.cancelled_caught
        True
    """

    # Defaults at class level, so that a task's scope (``_for_task``) sets only what differs.
    _timeout: float | None = None
    _shield: bool = False
    _cancel_called: bool = False
    _source: str = EXPLICIT
    _reason: object = None
    _entered: bool = False
    _watchers: Any = None  # the WaitQueue of cancelled_op() arms, made on first use
    # The threads that have this scope on their stack: a list made by the first to enter
    # (the empty tuple is never changed; a task's scope is one GC-tracked allocation less).
    _threads: list[_ThreadState] | tuple[()] = ()
    # A task's scope (_for_task): the thread that runs the task, set before anyone can see
    # the scope (so no lock and no list for it), and never taken off.
    _task_state: _ThreadState | None = None
    cancelled_caught: bool = False

    def __init__(
        self, *, deadline: float | None = None, timeout: float | None = None, shield: bool = False
    ) -> None:
        check_timeout(timeout)
        if deadline is not None and math.isnan(deadline):
            raise ValueError("deadline must be a number, not NaN")
        self._deadline = math.inf if deadline is None else deadline
        self._timeout = timeout
        self._shield = shield
        self._lock = _primitives.allocate_lock()  # guards _threads and the cancel fields
        self._cancel_called = False
        self._source = EXPLICIT
        self._reason = None
        self._entered = False
        self._watchers = None
        self.cancelled_caught = False

    @classmethod
    def _for_task(cls, deadline: float, state: _ThreadState) -> CancelScope:
        """A scope for one task of an executor, run on ``state``'s thread, which puts it on
        its stack (checks skipped: ``deadline`` is a number)."""
        self = cls.__new__(cls)
        self._deadline = deadline
        self._task_state = state
        self._lock = _primitives.allocate_lock()
        self._entered = True  # entered by the executor, not by a with statement
        return self

    def __repr__(self) -> str:
        state = "cancelled" if self._cancel_called else "active"
        deadline = "" if self._deadline == math.inf else f" deadline={self._deadline:.3f}"
        return f"<threadkit.CancelScope {state}{deadline}{' shielded' if self._shield else ''}>"

    @property
    def deadline(self) -> float:
        """When the scope cancels itself (``math.inf``: never), on the threadkit clock."""
        return self._deadline

    @property
    def shield(self) -> bool:
        """Whether cancellation from enclosing scopes is kept out."""
        return self._shield

    @property
    def cancel_called(self) -> bool:
        """True once ``cancel()`` was called or the deadline passed (and was noticed)."""
        return self._cancel_called

    def cancel(self, reason: object = None) -> None:
        """Cancel the scope (idempotent; from any thread): blocked threads in it wake up."""
        self._cancel(EXPLICIT, reason)

    def _cancel(self, source: str, reason: object) -> None:
        with self._lock:
            if self._cancel_called:
                return
            self._cancel_called = True
            self._source = source
            self._reason = reason
            threads = list(self._threads)
            if self._task_state is not None:
                threads.append(self._task_state)
            watchers = self._watchers
        if watchers is not None:
            with watchers.lock:
                watchers.unpark_all()
        for state in threads:
            with state.lock:
                parked = state.parked
                # Only where this scope applies (a shield inside it keeps the thread out).
                if parked is not None and self in state.effective():
                    parked[0].cancel_waiter(parked[1])

    def cancelled_op(self) -> Any:
        """Return a select operation that fires once this scope is cancelled.

        Its value is the scope. For a thread outside the scope, such as a supervisor that
        waits for "an item, or this scope cancelled": ``select(rx.recv_op(),
        scope.cancelled_op())``.
        """
        from ._select import CancelledOp
        from ._waitqueue import WaitQueue

        with self._lock:
            if self._watchers is None:
                self._watchers = WaitQueue(self)
            return CancelledOp(self, self._watchers)

    # -- threads in the scope ------------------------------------------------------------------

    def _attach(self, state: _ThreadState) -> None:
        with self._lock:
            threads = self._threads
            if threads:
                threads.append(state)
            else:
                self._threads = [state]

    def _detach(self, state: _ThreadState) -> None:
        with self._lock:
            self._threads.remove(state)  # type: ignore[union-attr]  # (attached: a list)

    def __enter__(self) -> CancelScope:
        if self._entered:
            raise RuntimeError("a CancelScope can be entered only once")
        self._entered = True
        if self._timeout is not None:
            self._deadline = min(self._deadline, _clock._current.now() + self._timeout)
        state = _state()
        state.scopes.append(self)
        self._attach(state)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        state = _state()
        if not state.scopes or state.scopes[-1] is not self:
            # Recover (trio does the same): take this scope out wherever it is, so it stops
            # applying, then report the misuse.
            if self in state.scopes:
                state.scopes.remove(self)
                self._detach(state)
            raise RuntimeError("CancelScope exited out of order (not the innermost scope)")
        state.scopes.pop()
        self._detach(state)
        if isinstance(exc, Cancelled) and exc.scope is self:
            self.cancelled_caught = True
            return True
        return False


@contextmanager
def inherited(scopes: list[CancelScope]) -> Iterator[None]:
    """Run the block (in a new thread) inside ``scopes``, passed explicitly from its starter."""
    state = _state()
    depth = enter_scopes(state, scopes)
    try:
        yield
    finally:
        leave_scopes(state, scopes, depth)


def enter_scopes(state: _ThreadState, scopes: list[CancelScope]) -> int:
    """Push ``scopes`` (inherited from another thread) on ``state``; return the depth before."""
    depth = len(state.scopes)
    for scope in scopes:
        state.scopes.append(scope)
        scope._attach(state)
    return depth


def leave_scopes(state: _ThreadState, scopes: list[CancelScope], depth: int) -> None:
    """Undo ``enter_scopes``: cut the stack back to ``depth`` (whatever was left open above
    it) and detach ``state`` from ``scopes``."""
    del state.scopes[depth:]
    for scope in scopes:
        scope._detach(state)


def current_scopes() -> list[CancelScope]:
    """The calling thread's scope stack, outermost first (to hand to a thread it starts)."""
    state: _ThreadState | None = _tls.state
    return [] if state is None else list(state.scopes)


def move_on_after(seconds: float) -> CancelScope:
    """Return a scope that cancels itself ``seconds`` from entering it (the block ends).

    Examples:
        >>> import threadkit
        >>> with threadkit.move_on_after(0.01) as scope:
        ...     threadkit.Event().wait()          # would wait forever
        >>> scope.cancelled_caught
        True
    """
    check_timeout(seconds, "seconds")
    return CancelScope(timeout=seconds)


@contextmanager
def fail_after(seconds: float) -> Iterator[CancelScope]:
    """Like ``move_on_after``, but raise ``TimeoutError`` if the deadline cancelled the block.

    Examples:
        >>> import threadkit
        >>> with threadkit.fail_after(0.01):
        ...     threadkit.Event().wait()          # would wait forever
        Traceback (most recent call last):
          ...
        TimeoutError: the block did not finish within 0.01 seconds
    """
    check_timeout(seconds, "seconds")
    with CancelScope(timeout=seconds) as scope:
        yield scope
    if scope.cancelled_caught and scope._source == DEADLINE:
        raise TimeoutError(f"the block did not finish within {seconds} seconds")


def current_deadline() -> float:
    """The earliest deadline that applies to the calling thread (``math.inf``: none).

    Examples:
        >>> import threadkit
        >>> threadkit.current_deadline()         # no scope, no deadline
        inf
        >>> with threadkit.use_clock(threadkit.MockClock(start=100.0)):
        ...     with threadkit.move_on_after(5), threadkit.move_on_after(60):
        ...         threadkit.current_deadline()  # the earliest applies
        105.0
    """
    state = current_state()
    return math.inf if state is None else state.deadline()


def checkpoint() -> None:
    """Raise ``Cancelled`` if the calling thread's scope was cancelled (or its deadline passed).

    Blocking threadkit calls do this by themselves; call it in long computations that
    never block, so they can be cancelled too.

    Examples:
        >>> import threadkit
        >>> with threadkit.CancelScope() as scope:
        ...     for n in range(1_000_000):       # a computation that never blocks
        ...         if n == 10:
        ...             scope.cancel()           # (from any thread)
        ...         threadkit.checkpoint()       # where the cancellation is seen
        >>> n, scope.cancelled_caught
        (10, True)
    """
    state = current_state()
    if state is not None:
        exc = state.pending()
        if exc is not None:
            raise exc
