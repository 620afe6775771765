"""``Future``: ``concurrent.futures.Future`` with threadkit's additions, and a lighter body.

It is a subclass, so ``concurrent.futures.wait`` and ``as_completed`` (which read the
stdlib's private state: ``_state``, ``_waiters`` and ``_condition``) accept it, and every
stdlib behaviour is kept. What changes is underneath: the stdlib's future builds a
``threading.Condition`` (a Python object around an RLock) for every call and notifies it
in Python; this one holds a plain C lock, and a thread that waits for the result parks on
a threadkit ``WaitQueue`` made on first use. ``_condition`` is still there for code that
reads it (``concurrent.futures.wait`` locks it): a view with the Condition's methods over
that lock and queue. A future nobody waits for
(the common case: the result is there when asked) costs one lock. Waiting in ``result()``
spins a moment before it parks (the result of a short task often comes sooner than a parked
thread could be woken for it), and is a cancellation point of threadkit's cancel scopes.

What it adds: ``state()``, ``result_now()``/``exception_now()`` (never block),
``then(fn)``, ``done_op()`` (a select operation), and ``cancel(interrupt=True)`` for a
running task of a threadkit pool.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from concurrent import futures as _cf
from concurrent.futures import _base
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ._core import SelectOp, WaitOp, WaitQueue, spin_until, wait_deadline
from ._core import _primitives as _p

if TYPE_CHECKING:
    from ._core import CancelScope

__all__ = ["Future", "any_of", "gather"]

_T = TypeVar("_T")
_U = TypeVar("_U")

PENDING: str = _base.PENDING
RUNNING: str = _base.RUNNING
CANCELLED: str = _base.CANCELLED
CANCELLED_AND_NOTIFIED: str = _base.CANCELLED_AND_NOTIFIED
FINISHED: str = _base.FINISHED
_DONE = frozenset((CANCELLED, CANCELLED_AND_NOTIFIED, FINISHED))
_CANCELLED = frozenset((CANCELLED, CANCELLED_AND_NOTIFIED))

_DESCRIPTION: dict[str, str] = _base._STATE_TO_DESCRIPTION_MAP

State = Literal["pending", "running", "cancelled", "finished"]
_STATES: dict[str, State] = {
    PENDING: "pending",
    RUNNING: "running",
    CANCELLED: "cancelled",
    CANCELLED_AND_NOTIFIED: "cancelled",
    FINISHED: "finished",
}


class Future(_cf.Future[_T]):
    """The result of a call run elsewhere: a ``concurrent.futures.Future`` with additions.

    Examples:
        >>> f = Future()
        >>> f.state()
        'pending'
        >>> f.set_result(7)
        >>> f.state(), f.result_now()
        ('finished', 7)
    """

    # The cancel scope of the running task (set by the pool that runs it), for
    # cancel(interrupt=True); None when the task does not run in one.
    _tk_scope: CancelScope | None = None

    # The stdlib's fields; those that start as None are class defaults (set when they change).
    _result: Any = None
    _exception: BaseException | None = None
    # Threads waiting in result()/exception() and done_op() arms: made on first use.
    _tk_done: WaitQueue | None = None
    # The stdlib's two lists, made on first use (most futures have neither: two GC-tracked
    # allocations less per task). _tk_waiters backs _waiters, the list of wait() and
    # as_completed() waiters; _done_callbacks gets a list from add_done_callback(). Both
    # only change under _tk_lock, and the empty tuples are never changed.
    _tk_waiters: list[Any] | tuple[()] = ()
    _done_callbacks: list[Callable[[_cf.Future[_T]], object]] = ()  # type: ignore[assignment]

    def __init__(self) -> None:  # the stdlib's fields, but a C lock for the Condition
        self._tk_lock = _p.allocate_lock()
        self._state = PENDING

    if TYPE_CHECKING:  # to type checkers, the stdlib's fields (as_completed's protocol needs it)
        _condition: _p.StdCondition
        _waiters: list[Any]
    else:

        @property
        def _condition(self) -> _ConditionView:
            return _ConditionView(self)

        @property
        def _waiters(self) -> list[Any]:
            # The stdlib's wait() appends here holding _condition (our lock); setdefault
            # makes the list once even if someone reads it without the lock.
            waiters = self._tk_waiters
            if waiters == ():
                waiters = self.__dict__.setdefault("_tk_waiters", [])
            return waiters

        @_waiters.setter
        def _waiters(self, waiters: list[Any]) -> None:
            self._tk_waiters = waiters

    def __repr__(self) -> str:  # the stdlib's, without taking the lock
        state, exc, result = self._state, self._exception, self._result
        where = f"<{type(self).__name__} at {id(self):#x} state={_DESCRIPTION[state]}"
        if state == FINISHED:
            if exc is not None:
                return f"{where} raised {type(exc).__name__}>"
            return f"{where} returned {type(result).__name__}>"
        return where + ">"

    # -- reading the state (attribute reads are atomic; no lock needed) -------------------

    def cancelled(self) -> bool:
        """Return True if the future was cancelled."""
        return self._state in _CANCELLED

    def running(self) -> bool:
        """Return True if the call is running now."""
        return self._state == RUNNING

    def done(self) -> bool:
        """Return True if the future was cancelled or its call finished."""
        return self._state in _DONE

    def state(self) -> State:
        """``"pending"``, ``"running"``, ``"cancelled"`` or ``"finished"`` (a snapshot)."""
        return _STATES[self._state]

    # -- waiting ---------------------------------------------------------------------------

    def _wait(self, timeout: float | None) -> None:
        """Wait until done or ``timeout`` passes (with ``_condition`` not held).

        A short spin first (``spin_until``): the result of a task that takes microseconds is
        often there before a parked thread could be woken for it.
        """
        deadline = wait_deadline(timeout)
        if (timeout is None or timeout > 0) and spin_until(lambda: self._state in _DONE, timeout):
            return
        lock = self._tk_lock
        while True:
            with lock:
                if self._state in _DONE:
                    return
                queue = self._tk_done
                if queue is None:
                    queue = self._tk_done = WaitQueue(_owner(self), lock)
                waiter = queue.enqueue()
            try:
                woken = queue.park(waiter, deadline)  # a cancellation point
            except BaseException:
                queue.abandon(waiter)
                raise
            if not woken:
                return

    def result(self, timeout: float | None = None) -> _T:
        """Return the call's result, waiting up to ``timeout`` seconds (None: no limit).

        Raises:
            CancelledError: the future was cancelled.
            TimeoutError: it did not finish in time.
            BaseException: what the call raised.
        """
        # No lock: once done, a future's fields never change (and are written before
        # _state, under the lock); concurrent.futures.wait() calls exception() holding it.
        state = self._state
        if state not in _DONE:
            self._wait(timeout)
            state = self._state
        if state == FINISHED:
            exc = self._exception
            if exc is not None:
                try:
                    raise exc
                finally:
                    del exc, self  # no cycle through the traceback
            return self._result  # type: ignore[no-any-return]
        if state in _CANCELLED:
            raise _cf.CancelledError()
        raise TimeoutError()

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """Return what the call raised (None if it returned), waiting up to ``timeout``.

        Raises:
            CancelledError: the future was cancelled.
            TimeoutError: it did not finish in time.
        """
        state = self._state  # no lock: see result()
        if state not in _DONE:
            self._wait(timeout)
            state = self._state
        if state == FINISHED:
            return self._exception
        if state in _CANCELLED:
            raise _cf.CancelledError()
        raise TimeoutError()

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

    # -- completing --------------------------------------------------------------------------

    def _wake(self) -> None:
        """Wake whoever waits (``_condition`` held)."""
        queue = self._tk_done
        if queue:
            queue.unpark_all()

    def set_result(self, result: _T) -> None:
        """Set the result and wake waiters (for executors and tests)."""
        with self._tk_lock:
            if self._state in _DONE:
                raise _cf.InvalidStateError(f"{self._state}: {self!r}")
            self._result = result
            self._state = FINISHED
            for waiter in self._tk_waiters:
                waiter.add_result(self)
            self._wake()
        if self._done_callbacks:
            self._invoke_callbacks()  # type: ignore[attr-defined]

    def set_exception(self, exception: BaseException | None) -> None:
        """Set the exception the call raised and wake waiters (for executors and tests)."""
        with self._tk_lock:
            if self._state in _DONE:
                raise _cf.InvalidStateError(f"{self._state}: {self!r}")
            self._exception = exception
            self._state = FINISHED
            for waiter in self._tk_waiters:
                waiter.add_exception(self)
            self._wake()
        if self._done_callbacks:
            self._invoke_callbacks()  # type: ignore[attr-defined]

    def cancel(self, *, interrupt: bool = False) -> bool:
        """Cancel the future if it has not started; with ``interrupt``, a running one too.

        Returns True if the future is now cancelled. Without ``interrupt`` this is the
        stdlib's ``cancel()``: a running or finished future cannot be cancelled. With
        ``interrupt=True``, a task running in a threadkit pool is cancelled as well: the
        future is cancelled at once (its waiters get ``CancelledError``; what the task
        returns later is dropped) and the task's cancel scope is cancelled, so its next
        threadkit blocking call or ``checkpoint()`` raises ``Cancelled`` and it unwinds.
        A task that never reaches a cancellation point runs on to its end.
        """
        scope = None
        with self._tk_lock:
            state = self._state
            if state == FINISHED:
                return False
            if state in _CANCELLED:
                return True
            if state == RUNNING:
                scope = self._tk_scope
                if not interrupt or scope is None:
                    return False
                # A running task cannot be "cancelled but not notified": the executor will not
                # call set_running_or_notify_cancel again, so notify the stdlib's waiters now.
                self._state = CANCELLED_AND_NOTIFIED
                for waiter in self._tk_waiters:
                    waiter.add_cancelled(self)
            else:
                self._state = CANCELLED
            self._wake()
        if scope is not None:
            scope.cancel("future.cancel(interrupt=True)")  # outside our lock: takes others
        if self._done_callbacks:
            self._invoke_callbacks()  # type: ignore[attr-defined]
        return True

    def set_running_or_notify_cancel(self) -> bool:
        """Mark the future running (True), or, if it was cancelled, tell waiters (False).

        For executors, before they run the call (as the stdlib's).
        """
        with self._tk_lock:
            state = self._state
            if state == PENDING:
                self._state = RUNNING
                return True
            if state == CANCELLED:
                self._state = CANCELLED_AND_NOTIFIED
                for waiter in self._tk_waiters:
                    waiter.add_cancelled(self)
                return False
        _base.LOGGER.critical("Future %s in unexpected state: %s", id(self), state)
        raise RuntimeError("Future in unexpected state")

    def add_done_callback(self, fn: Callable[[_cf.Future[_T]], object]) -> None:
        """Call ``fn(future)`` when the future is done (at once, here, if it already is)."""
        with self._tk_lock:
            if self._state not in _DONE:
                if self._done_callbacks:
                    self._done_callbacks.append(fn)
                else:
                    self._done_callbacks = [fn]
                return
        try:
            fn(self)
        except Exception:
            _base.LOGGER.exception("exception calling callback for %r", self)

    def _cancel_running(self) -> None:
        """The running task was cancelled by an enclosing scope: the future is cancelled."""
        with self._tk_lock:
            if self._state != RUNNING:
                return
            self._state = CANCELLED_AND_NOTIFIED
            for waiter in self._tk_waiters:
                waiter.add_cancelled(self)
            self._wake()
        if self._done_callbacks:
            self._invoke_callbacks()  # type: ignore[attr-defined]

    def _finish(self, result: Any, exception: BaseException | None) -> None:
        """Complete a running task's future, unless ``cancel(interrupt=True)`` got there first."""
        with self._tk_lock:
            if self._state != RUNNING:
                return
            self._result = result
            self._exception = exception
            self._state = FINISHED
            if exception is None:
                for waiter in self._tk_waiters:
                    waiter.add_result(self)
            else:
                for waiter in self._tk_waiters:
                    waiter.add_exception(self)
            queue = self._tk_done
            if queue:
                queue.unpark(len(queue))
        if self._done_callbacks:
            self._invoke_callbacks()  # type: ignore[attr-defined]

    # -- composing ---------------------------------------------------------------------------

    def then(self, fn: Callable[[_T], _U], /) -> Future[_U]:
        """Return a future of ``fn(result)``, run as soon as this future succeeds.

        ``fn`` runs in the thread that completes this future (or at once, in the calling
        thread, if it is already done). If this future raised, the new one raises the same
        exception; if it was cancelled, the new one is cancelled; if ``fn`` raises, the new
        one raises that.

        Examples:
            >>> f = Future()
            >>> g = f.then(lambda x: x * 2)
            >>> f.set_result(21)
            >>> g.result()
            42
        """
        chained: Future[_U] = _unrun()

        def follow(done: _cf.Future[_T]) -> None:
            if done.cancelled():
                cancel_and_notify(chained)
                return
            if chained.done():  # cancelled by its owner: fn is not wanted
                return
            exc = done.exception()
            if exc is not None:
                _settle(chained, None, exc)
                return
            try:
                value = fn(done.result())
            except BaseException as error:
                _settle(chained, None, error)
            else:
                _settle(chained, value, None)

        self.add_done_callback(follow)
        return chained

    def __await__(self) -> Generator[Any, None, _T]:
        """``await future`` in a coroutine: its result (``threadkit.aio.result``)."""
        from . import _aio  # (imports asyncio: only when used)

        return _aio.result(self).__await__()

    def done_op(self) -> SelectOp[Future[_T]]:
        """Return a select operation that fires when the future is done (its value: the future)."""
        lock = self._tk_lock
        with lock:
            queue = self._tk_done
            if queue is None:
                queue = self._tk_done = WaitQueue(_owner(self), lock)
        return WaitOp("done_op", queue, self.done, self._done_now)

    def _done_now(self) -> tuple[bool, Future[_T]]:
        return self.done(), self


def _owner(future: Future[Any]) -> str:
    """What a future's wait queue names as its owner: a description, not the future itself
    (which holds the queue: a cycle would keep a waited-for result alive until gc runs)."""
    return f"<Future at {id(future):#x}>"


def _unrun() -> Future[Any]:
    """A future that no executor will run (``then``, ``gather``, ``any_of`` make one): its
    ``cancel()`` also tells ``wait()``/``as_completed()`` at once, as an executor's
    ``set_running_or_notify_cancel()`` would (they counted it as not done, forever)."""
    future: Future[Any] = Future()
    future.add_done_callback(_notify_if_cancelled)
    return future


def _notify_if_cancelled(future: _cf.Future[Any]) -> None:
    if future._state == CANCELLED:  # (cancelled, not yet told: cancel() runs this)
        cancel_and_notify(future)  # type: ignore[arg-type]


def cancel_and_notify(future: Future[Any]) -> None:
    """Cancel a future that will never run, and tell its waiters (``wait``/``as_completed``).

    The stdlib's ``cancel()`` only marks a future; its ``wait()`` waiters hear of it when an
    executor calls ``set_running_or_notify_cancel()``. A future taken off a queue never gets
    that call, so this does both at once.
    """
    with future._tk_lock:
        state = future._state
        if state not in (PENDING, CANCELLED):
            return
        future._state = CANCELLED_AND_NOTIFIED
        for waiter in future._tk_waiters:
            waiter.add_cancelled(future)
        future._wake()
    if state == PENDING and future._done_callbacks:  # (a CANCELLED one already ran them)
        future._invoke_callbacks()  # type: ignore[attr-defined]


class _ConditionView:
    """``future._condition``: the stdlib's Condition API over the future's lock and queue.

    ``concurrent.futures.wait`` and ``as_completed`` lock it; code written against the
    stdlib's private fields may also ``notify_all()`` or ``wait()`` on it.
    """

    __slots__ = ("_future",)

    def __init__(self, future: Future[Any]) -> None:
        self._future = future

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._future._tk_lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._future._tk_lock.release()

    def __enter__(self) -> bool:
        return self._future._tk_lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._future._tk_lock.release()

    def notify_all(self) -> None:
        """Wake every thread waiting on the future (lock held)."""
        self._future._wake()

    notify = notify_all  # waiters re-check the state: waking them all is always correct

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, wait for a notification or ``timeout``, take the lock again."""
        future = self._future
        lock = future._tk_lock
        queue = future._tk_done
        if queue is None:
            queue = future._tk_done = WaitQueue(_owner(future), lock)
        waiter = queue.enqueue()
        lock.release()
        try:
            return queue.park(waiter, wait_deadline(timeout))
        except BaseException:
            queue.abandon(waiter)
            raise
        finally:
            lock.acquire()


def gather(*futures: _cf.Future[Any]) -> Future[list[Any]]:
    """Return a future of the results of ``futures``, in their order.

    It succeeds once they all have; it fails as soon as one fails (with that exception)
    or is cancelled (then it is cancelled), without waiting for the others, which go on.
    Cancelling the returned future cancels those of ``futures`` that have not started.
    Any ``concurrent.futures.Future`` will do.

    Examples:
        >>> a, b = Future(), Future()
        >>> both = gather(a, b)
        >>> b.set_result(2); a.set_result(1)
        >>> both.result()
        [1, 2]
    """
    out: Future[list[Any]] = _unrun()
    if not futures:
        out.set_result([])
        return out
    left = [len(futures)]
    lock = _p.allocate_lock()

    by_input = [False]  # out was cancelled because an input was: leave the others alone

    def one_done(done: _cf.Future[Any]) -> None:
        if done.cancelled():
            by_input[0] = True
            cancel_and_notify(out)
            return
        exc = done.exception()
        if exc is not None:
            _settle(out, None, exc)
            return
        with lock:
            left[0] -= 1
            last = left[0] == 0
        if last:
            _settle(out, [f.result() for f in futures], None)

    def propagate(result: _cf.Future[Any]) -> None:
        if result.cancelled() and not by_input[0]:
            for future in futures:
                future.cancel()

    out.add_done_callback(propagate)
    for future in futures:
        future.add_done_callback(one_done)
    return out


def any_of(*futures: _cf.Future[Any]) -> Future[Any]:
    """Return a future that ends as the first of ``futures`` to end: same result or exception.

    If the first to end was cancelled, the returned future is cancelled. The others go on
    (as Java's ``CompletableFuture.anyOf``); cancel them if they are no longer wanted.

    Raises:
        ValueError: no futures were given.

    Examples:
        >>> a, b = Future(), Future()
        >>> first = any_of(a, b)
        >>> b.set_result("b"); a.set_result("a")
        >>> first.result()
        'b'
    """
    if not futures:
        raise ValueError("any_of() needs at least one future")
    out: Future[Any] = _unrun()

    def one_done(done: _cf.Future[Any]) -> None:
        if done.cancelled():
            cancel_and_notify(out)
        else:
            _settle(out, done.result() if done.exception() is None else None, done.exception())

    for future in futures:
        future.add_done_callback(one_done)
    return out


def _settle(future: Future[Any], result: Any, exception: BaseException | None) -> None:
    """Complete ``future`` unless it is already done (the first to settle it wins)."""
    with future._tk_lock:
        if future._state != PENDING:
            return
        future._state = RUNNING
    future._finish(result, exception)
