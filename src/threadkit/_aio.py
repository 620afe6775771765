"""The bridge between threadkit and asyncio (``threadkit.aio`` re-exports it).

Design. Every threadkit primitive that can block is already selectable: it makes a
``SelectOp`` (``rx.recv_op()``, ``event.wait_op()``, ``sem.acquire_op()``, ...), and the select
protocol lets a waker wake whatever an ``Arm`` in its wait queue belongs to. A thread's select
parks on its ``SelectContext``; a coroutine's uses a ``_LoopContext`` instead, whose ``fire``
resolves an asyncio future on the coroutine's event loop (``call_soon_threadsafe`` from
another thread, ``call_soon`` from the loop's own). So one algorithm serves every primitive,
plain threads and any number of event loops at once, and a thread that wakes a coroutine
never blocks on the loop. The steps are ``_core._select.run_select``'s:

1. Try each operation (``try_select``): most awaits end here, without suspending.
2. Register an Arm per operation, sharing one ``_LoopContext``; an operation found ready
   while registering ends the registration.
3. Await the context's future (a timer, ``loop.call_later`` or the virtual clock's
   ``call_at``, claims it at the deadline).
4. Unregister every arm and ``complete()`` the operation that fired; a notify-style
   operation may find that another thread took what woke it: then back to 1.

Cancellation (asyncio's, of the awaiting task). Exactly one of two things happens:

* no arm had fired: the context is claimed by the coroutine itself, so no waker can fire it
  any more; the arms are unregistered and ``CancelledError`` propagates. Nothing was taken.
* an arm had fired (its waker may already have handed over an item, as a rendezvous does):
  the operation is completed and the await *returns* its value; the cancellation is not
  lost but delivered again once the task next waits (unless whoever cancelled has withdrawn
  it by then, as ``asyncio.timeout`` does when its block ends). So an await that raises
  ``CancelledError`` had no effect, and one that returns did: no item is lost or duplicated.

A ``Mutex`` is held by a thread; ``aio.acquire`` makes the loop's thread its owner and records
the task (``Mutex._task_acquire_op``), so tasks of one loop exclude each other, and mixing a
blocking ``acquire()`` and an ``await`` of one mutex in one thread raises ``DeadlockError``
instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import random
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import CancelledError as FutureCancelledError
from concurrent.futures import InvalidStateError
from types import TracebackType
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, final

from ._channel import Receiver, Sender
from ._core import (
    Arm,
    CancelScope,
    DeadlockError,
    SelectContext,
    SelectOp,
    _clock,
    _random,
    deadline_after,
    wait_deadline,
)
from ._core import _primitives as _p
from ._core._select import register_arms, wake_time
from ._futures import Future
from ._sync import Event, Mutex
from ._threads import Thread

__all__ = [
    "Lockable",
    "Portal",
    "acquire",
    "from_thread",
    "holding",
    "locked",
    "perform",
    "recv",
    "release",
    "result",
    "select",
    "send",
    "start_portal",
    "to_thread",
    "wait",
]

_T = TypeVar("_T")
_P = ParamSpec("_P")


# --------------------------------------------------------------------------------------------
# The select protocol, awaited


class _LoopContext(SelectContext):
    """A select's shared state when a coroutine, not a parked thread, waits on it.

    ``claim`` is acquired once, as in a thread's ``SelectContext``: by the waker whose arm
    fires (``fire``), by the deadline's timer (``expire``), or by the coroutine itself when
    it gives up (``abort``). The first two resolve ``future`` on ``loop``.
    """

    __slots__ = ("future", "loop", "loop_ident")

    def __init__(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
        # Not SelectContext.__init__: no thread's parker takes part.
        self.claim = _p.allocate_lock()
        self.fired: Arm | None = None
        self.value: object = None
        self.settled = False
        self.released = False  # fired and value are written (read by a losing abort())
        self.loop = loop
        self.future = future
        self.loop_ident = _p.get_ident()  # made in the loop's thread, by the coroutine

    def fire(self, arm: Arm, value: object) -> bool:
        """Make ``arm`` the winner and wake the coroutine; False if the select ended.

        Called by a waker, in any thread, with the lock of the queue ``arm`` was in held:
        scheduling a callback on the loop is all it does there.
        """
        if not self.claim.acquire(False):
            return False
        self.fired = arm
        self.value = value
        self.released = True
        return self._wake()

    def expire(self) -> None:
        """The deadline passed: end the select with no winner, unless an arm fired first."""
        if self.claim.acquire(False):
            self.released = True
            self._wake()

    def _wake(self) -> bool:
        try:
            if _p.get_ident() == self.loop_ident:
                self.loop.call_soon(self._resolve)
            else:
                self.loop.call_soon_threadsafe(self._resolve)
        except RuntimeError:  # the loop is closed: nobody will take this wake-up
            self.fired = None
            return False
        return True

    def _resolve(self) -> None:
        if not self.future.done():
            self.future.set_result(None)

    def abort(self, *, interrupted: bool = False) -> bool:
        """End the select with no winner; False if an arm fired first (then read ``fired``).

        Called by the coroutine, in the loop's thread.
        """
        if not self.settled:  # idempotent
            self.settled = True
            if self.claim.acquire(False):
                return True
            while not self.released:  # the waker is between its claim and its writes
                _p.sleep(0)
        return self.fired is None


async def _wait(
    ops: Sequence[SelectOp[Any]], order: Sequence[int], deadline: float | None
) -> tuple[Arm | None, object, asyncio.CancelledError | None]:
    """Steps 2-4: register, await, unregister; return the arm that fired and its value.

    The third item is the ``CancelledError`` that arrived after an arm fired (the caller
    completes the operation and delivers it again), else None.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()
    context = _LoopContext(loop, future)
    registered: list[tuple[SelectOp[Any], Arm]] = []
    timer: asyncio.TimerHandle | None = None
    try:
        if register_arms(ops, order, context, registered):
            if context.abort():
                return None, None, None
        else:
            wake_at = wake_time(registered, deadline)
            if wake_at is not None:
                clock = _clock._current
                if clock.virtual:
                    clock.call_at(wake_at, context.expire)
                else:
                    timer = loop.call_later(max(wake_at - clock.now(), 0.0), context.expire)
            await future
    except BaseException as exc:
        if context.abort():
            raise
        arm = context.fired
        assert arm is not None
        if isinstance(exc, asyncio.CancelledError):
            return arm, context.value, exc
        # Not a cancellation (an operation raised while registering, or the coroutine is
        # being closed): what fired cannot be returned, so its wake-up goes to another
        # waiter, as a thread's select does.
        ops[arm.index].pass_on(arm, context.value)
        raise
    finally:
        if timer is not None:
            timer.cancel()
        for op, arm in registered:
            op.unregister(arm)
    return context.fired, context.value, None


def _deliver_again(exc: asyncio.CancelledError) -> None:
    """The task swallowed ``exc`` to return a completed operation: cancel it again once it
    next waits, unless the canceller withdrew the request by then (``uncancel()``)."""
    task = asyncio.current_task()
    if task is None or not hasattr(task, "uncancel"):  # a task class without 3.11's API
        return
    requests = task.cancelling()
    message = exc.args[0] if exc.args else None

    def again() -> None:
        if not task.done() and task.cancelling() >= requests:
            task.uncancel()  # the request stays counted once, as it was
            task.cancel(message)

    task.get_loop().call_soon(again)


async def _run(
    ops: Sequence[SelectOp[Any]], deadline: float | None, biased: bool, rng: random.Random | None
) -> tuple[int, Any]:
    """``run_select`` for a coroutine: perform exactly one of ``ops``; (index, value)."""
    count = len(ops)
    order = list(range(count))
    while True:
        if not biased and count > 1:
            (rng or _random._current).shuffle(order)
        index = -1
        try:
            for index in order:
                done, value = ops[index].try_select()
                if done:
                    return index, value
            index = -1
            if deadline is not None and _clock._current.now() >= deadline:
                break
            arm, value, cancelled = await _wait(ops, order, deadline)
            if arm is not None:
                index = arm.index
                if cancelled is None:
                    done, value = ops[index].complete(arm, value)
                    if done:
                        return index, value
                else:
                    try:
                        done, value = ops[index].complete(arm, value)
                    except Exception:
                        raise cancelled from None
                    if not done:
                        raise cancelled
                    _deliver_again(cancelled)
                    return index, value
        except Exception as exc:
            if index >= 0:
                exc.add_note(f"raised by select operation {index} ({ops[index]!r})")
            raise
        if deadline is not None and _clock._current.now() >= deadline:
            break
    raise TimeoutError("timed out waiting on select")


def _check(ops: Sequence[object]) -> None:
    if not ops:
        raise ValueError("select() needs at least one operation")
    for index, op in enumerate(ops):
        if not isinstance(op, SelectOp):
            raise TypeError(
                f"select operation {index} must be a SelectOp (such as rx.recv_op()), "
                f"not {type(op).__name__}"
            )


async def select(
    *ops: SelectOp[Any],
    timeout: float | None = None,
    biased: bool = False,
    rng: random.Random | None = None,
) -> tuple[int, Any]:
    """Perform exactly one of ``ops``, the first that can proceed; return ``(index, value)``.

    ``threadkit.select`` for a coroutine: the same operations (``rx.recv_op()``,
    ``tx.send_op(item)``, ``event.wait_op()``, ``sem.acquire_op()``, ``future.done_op()``,
    ``after(d)``, ...), the same choice among ready ones (at random, or in order with
    ``biased``), and an operation not taken has no effect. The event loop runs other tasks
    while it waits; the operations may be completed by threads or by other tasks.

    Cancelling the awaiting task leaves every primitive as it was: if no operation fired,
    ``CancelledError`` propagates and nothing was taken; if one fired first, the select
    returns its value and the task is cancelled again at its next wait.

    Raises:
        TimeoutError: ``timeout`` seconds passed and no operation could proceed.
        ValueError: no operations, or ``timeout`` negative or NaN.
        Exception: whatever the chosen operation raises, with a note naming its index.

    Examples:
        >>> import asyncio, math, threadkit, threadkit.aio
        >>> tx1, rx1 = threadkit.open_channel(math.inf)
        >>> tx2, rx2 = threadkit.open_channel(math.inf)
        >>> tx2.send("hello")
        >>> asyncio.run(threadkit.aio.select(rx1.recv_op(), rx2.recv_op(), timeout=1))
        (1, 'hello')
        >>> for end in (tx1, rx1, tx2, rx2):
        ...     end.close()
    """
    _check(ops)
    return await _run(ops, deadline_after(timeout), biased, rng)


async def perform(op: SelectOp[_T], timeout: float | None = None) -> _T:
    """Perform one select operation, waiting for it as a coroutine; return its value.

    ``await perform(op)`` is ``(await select(op))[1]``: any ``SelectOp`` can be awaited,
    including those of objects that threadkit does not know (see ``SelectOp``).

    Raises:
        TimeoutError: ``timeout`` seconds passed first.
        ValueError: ``timeout`` is negative or NaN.

    Examples:
        >>> import asyncio, threadkit, threadkit.aio
        >>> tx, rx = threadkit.open_channel(0)  # a rendezvous: the send waits for a receive
        >>> sender = threadkit.Thread(target=tx.send, args=("hi",))
        >>> sender.start()
        >>> asyncio.run(threadkit.aio.perform(rx.recv_op()))
        'hi'
        >>> sender.join(); tx.close(); rx.close()
    """
    _check((op,))
    done, value = op.try_select()
    if done:
        return value
    return (await _run((op,), deadline_after(timeout), True, None))[1]  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------
# The twins of the blocking calls


async def recv(rx: Receiver[_T], timeout: float | None = None) -> _T:
    """``rx.recv()`` for a coroutine: receive the next item, waiting without blocking the loop.

    Raises:
        EndOfChannel: every Sender is closed and the buffer is empty.
        ChannelClosed: ``rx`` is closed.
        TimeoutError: ``timeout`` seconds passed first.

    Examples:
        >>> import asyncio, threadkit, threadkit.aio
        >>> tx, rx = threadkit.open_channel(1)
        >>> tx.send("item"); tx.close()
        >>> asyncio.run(threadkit.aio.recv(rx))
        'item'
        >>> rx.close()
    """
    op = rx.recv_op()
    done, value = op.try_select()
    if done:
        return value
    return (await _run((op,), deadline_after(timeout), True, None))[1]  # type: ignore[no-any-return]


async def send(tx: Sender[_T], item: _T, timeout: float | None = None) -> None:
    """``tx.send(item)`` for a coroutine: send, waiting while the channel is full.

    Raises:
        ChannelClosed: ``tx`` or every Receiver is closed (``item`` is on it).
        TimeoutError: ``timeout`` seconds passed first.

    Examples:
        >>> import asyncio, threadkit, threadkit.aio
        >>> tx, rx = threadkit.open_channel(1)
        >>> asyncio.run(threadkit.aio.send(tx, "item"))
        >>> rx.recv()
        'item'
        >>> tx.close(); rx.close()
    """
    op = tx.send_op(item)
    if not op.try_select()[0]:
        await _run((op,), deadline_after(timeout), True, None)


async def wait(event: Event, timeout: float | None = None) -> bool:
    """``event.wait()`` for a coroutine: True once the flag is set, False on timeout.

    As ``Event.wait``, a negative timeout does not wait.

    Examples:
        >>> import asyncio, threadkit, threadkit.aio
        >>> event = threadkit.Event()
        >>> asyncio.run(threadkit.aio.wait(event, timeout=0))
        False
        >>> event.set()
        >>> asyncio.run(threadkit.aio.wait(event))
        True
    """
    if event.is_set():
        return True
    try:
        await _run((event.wait_op(),), wait_deadline(timeout), True, None)
    except TimeoutError:
        return False
    return True


async def result(future: Future[_T], timeout: float | None = None) -> _T:
    """``future.result()`` for a coroutine: wait until the threadkit future is done.

    Cancelling the awaiting task stops the wait only: the future and its work are left
    alone (others may wait for it too); use ``to_thread`` for work that should stop.

    Raises:
        concurrent.futures.CancelledError: the future was cancelled.
        TimeoutError: it did not finish in time.
        BaseException: what the call raised.

    Examples:
        >>> import asyncio, threadkit.aio
        >>> from threadkit.futures import ThreadPoolExecutor
        >>> with ThreadPoolExecutor(1) as pool:
        ...     future = pool.submit(pow, 2, 10)
        ...     asyncio.run(threadkit.aio.result(future))
        1024
    """
    if not future.done():
        await _run((future.done_op(),), deadline_after(timeout), True, None)
    return future.result(0)


# --------------------------------------------------------------------------------------------
# Locks


class Lockable(Protocol):
    """What ``aio.acquire``/``aio.locked`` take: ``acquire_op()`` and ``release()``.

    ``Mutex``, ``Semaphore`` and ``BoundedSemaphore`` are; so is any object with a select
    operation that takes it and a method that gives it back.

    Examples:
        >>> import asyncio, threadkit, threadkit.aio
        >>> sem = threadkit.Semaphore(1)
        >>> class Pass:  # any object with these two methods is a Lockable
        ...     def acquire_op(self): return sem.acquire_op()
        ...     def release(self): sem.release()
        >>> asyncio.run(threadkit.aio.acquire(Pass())), sem.value
        (True, 0)
        >>> threadkit.aio.release(Pass()); sem.value
        1
    """

    def acquire_op(self) -> SelectOp[Any]:
        """Return a select operation that takes the lock (its value is not used)."""
        ...

    def release(self) -> None:
        """Give back what the operation of ``acquire_op()`` took."""
        ...


def _acquire_op(lock: Lockable) -> SelectOp[Any]:
    if isinstance(lock, Mutex):
        return lock._task_acquire_op(asyncio.current_task())
    return lock.acquire_op()


async def acquire(lock: Lockable, timeout: float | None = None) -> bool:
    """Acquire ``lock`` for the awaiting task; True, or False if ``timeout`` passed first.

    A ``Mutex`` is then held by the event loop's thread on behalf of this task: other tasks
    of the loop wait for it as other threads do, and only this task may ``release`` it.
    Awaiting a mutex that this task, or a blocking ``acquire()`` in this thread, already
    holds raises ``DeadlockError`` (so does a blocking ``acquire()`` of a mutex that a task
    of this thread's loop holds), instead of hanging.

    Raises:
        DeadlockError: as above.
        ValueError: ``timeout`` is negative or NaN.

    Examples:
        >>> import asyncio, threadkit, threadkit.aio
        >>> sem = threadkit.Semaphore(1)
        >>> async def main():
        ...     first = await threadkit.aio.acquire(sem)
        ...     second = await threadkit.aio.acquire(sem, timeout=0)  # none left
        ...     threadkit.aio.release(sem)
        ...     return first, second
        >>> asyncio.run(main())
        (True, False)
    """
    op = _acquire_op(lock)
    if op.try_select()[0]:
        return True
    try:
        await _run((op,), deadline_after(timeout), True, None)
    except TimeoutError:
        return False
    return True


def release(lock: Lockable) -> None:
    """Release what ``aio.acquire(lock)`` took (call it in the task that acquired it).

    Examples:
        >>> import asyncio, threadkit, threadkit.aio
        >>> mutex = threadkit.Mutex()
        >>> async def main():
        ...     await threadkit.aio.acquire(mutex)
        ...     held = mutex.locked()
        ...     threadkit.aio.release(mutex)
        ...     return held, mutex.locked()
        >>> asyncio.run(main())
        (True, False)
    """
    if isinstance(lock, Mutex):
        lock._task_release()
    else:
        lock.release()


_L = TypeVar("_L", bound=Lockable)


@final
class locked(Generic[_L]):  # noqa: N801 - used as a function: async with aio.locked(lock)
    """``async with aio.locked(lock):`` holds ``lock`` for the block (``acquire``/``release``).

    Examples:
        >>> import asyncio, threadkit, threadkit.aio
        >>> mutex = threadkit.Mutex()
        >>> async def main():
        ...     async with threadkit.aio.locked(mutex):
        ...         return mutex.locked()
        >>> asyncio.run(main()), mutex.locked()
        (True, False)
    """

    __slots__ = ("_lock",)

    def __init__(self, lock: _L) -> None:
        self._lock = lock

    async def __aenter__(self) -> _L:
        await acquire(self._lock)
        return self._lock

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        release(self._lock)


@final
class holding(Generic[_T]):  # noqa: N801 - used as a function: async with aio.holding(...)
    """``async with aio.holding(op, release):`` awaits ``op``, runs the block, calls ``release()``.

    For locks with several modes, whose select operations take them and whose release
    methods give them back: ``aio.holding(rw.read_op(), rw.release_read)``,
    ``aio.holding(rw.write_op(), rw.release_write)``. The block gets ``op``'s value.
    The lock is held by the event loop's thread, as a thread's ``select`` would hold it.

    Examples:
        >>> import asyncio, threadkit, threadkit.aio
        >>> sem = threadkit.Semaphore(2)
        >>> async def main():
        ...     async with threadkit.aio.holding(sem.acquire_op(), sem.release):
        ...         return sem.value
        >>> asyncio.run(main()), sem.value
        (1, 2)
    """

    __slots__ = ("_op", "_release")

    def __init__(self, op: SelectOp[_T], release: Callable[[], object]) -> None:
        _check((op,))
        self._op = op
        self._release = release

    async def __aenter__(self) -> _T:
        return await perform(self._op)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release()


# --------------------------------------------------------------------------------------------
# to_thread: a coroutine waits for a call in another thread


class _Local(_p.local):
    loop: asyncio.AbstractEventLoop | None = None  # the loop that started this thread's call


_tls = _Local()


async def to_thread(fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run ``fn(*args, **kwargs)`` in a new thread and wait for it; return its result.

    ``asyncio.to_thread``, with cancellation that reaches the thread: ``fn`` runs in a
    threadkit cancel scope (a ``threadkit.Thread``'s), and cancelling the awaiting task
    cancels that scope, so ``fn``'s threadkit blocking calls (channels, queues, events,
    locks, ``threadkit.sleep``, ...) raise ``Cancelled`` and it unwinds. The await waits for
    the thread to end (later cancellations are ignored meanwhile: nothing is left running),
    then raises ``CancelledError``. ``fn`` runs in a copy of the task's ``contextvars``
    context, and may call ``from_thread.run`` to run coroutines on the awaiting loop.

    Examples:
        >>> import asyncio, threadkit.aio
        >>> asyncio.run(threadkit.aio.to_thread(sum, [1, 2, 3]))
        6
    """
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    outcome: list[tuple[bool, Any]] = []  # (returned, its value or what it raised)
    ended: asyncio.Future[None] = loop.create_future()

    def run() -> None:
        _tls.loop = loop
        try:
            outcome.append((True, call()))
        except BaseException as exc:
            outcome.append((False, exc))
        finally:
            _tls.loop = None
            _call_soon(loop, _resolve, ended)

    name = getattr(fn, "__qualname__", None) or type(fn).__name__
    thread = Thread(target=run, name=f"threadkit.aio.to_thread({name})")
    thread.start()
    try:
        await asyncio.shield(ended)
    except asyncio.CancelledError:
        thread.cancel("the task awaiting to_thread() was cancelled")
        while not ended.done():
            with contextlib.suppress(asyncio.CancelledError):  # cancelled already: wait
                await asyncio.shield(ended)
        raise
    returned, value = outcome.pop()
    if returned:
        return value  # type: ignore[no-any-return]
    try:
        raise value
    finally:
        del value  # no cycle through the traceback


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[..., object], *args: Any) -> bool:
    """Schedule ``fn(*args)`` on ``loop`` from any thread; False if the loop is closed."""
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Portal: a thread runs coroutines on an event loop and waits for them


_Async = Callable[..., Awaitable[_T]] | Awaitable[_T]


@final
class Portal:
    """A way into an event loop for plain threads: run coroutines there and wait for them.

    ``Portal(loop)`` wraps a running loop (see ``start_portal`` for a loop of its own);
    ``run(async_fn, *args)`` runs ``async_fn(*args)`` as a task of that loop and blocks the
    calling thread until it ends. The wait is a threadkit cancellation point: cancelling the
    thread's cancel scope (or its ``timeout`` passing) cancels the task, waits for it to end,
    then raises (after anyio's ``BlockingPortal``).

    Calling it from the loop's own thread raises ``DeadlockError``: the loop would wait for
    itself (``await`` the coroutine there instead).

    Examples:
        >>> import asyncio, threadkit.aio
        >>> async def add(a, b):
        ...     await asyncio.sleep(0)
        ...     return a + b
        >>> with threadkit.aio.start_portal() as portal:
        ...     portal.run(add, 1, 2)
        3
    """

    __slots__ = ("_loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop this portal leads into."""
        return self._loop

    def __repr__(self) -> str:
        return f"<threadkit.aio.Portal into {self._loop!r}>"

    def _check_thread(self, what: str) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            return
        if running is self._loop:
            raise DeadlockError(
                f"{what} called in the thread of the event loop it runs on: it would wait for "
                "itself (await the coroutine instead)"
            )

    def submit(self, fn: _Async[_T], /, *args: Any) -> Future[_T]:
        """Start ``fn(*args)`` (or the awaitable ``fn``) as a task; return its Future.

        The Future is a threadkit Future: ``result()``, ``done_op()``, ``cancel()`` (which
        cancels the task).
        """
        future: Future[_T] = Future()
        self._start(fn, args, future)
        return future

    def _start(
        self, fn: _Async[_T], args: tuple[Any, ...], future: Future[_T], ended: Event | None = None
    ) -> None:
        loop = self._loop
        tasks: list[asyncio.Future[_T]] = []

        def start() -> None:
            if future.done():  # cancelled before it started
                if ended is not None:
                    ended.set()
                return
            try:
                awaitable = fn(*args) if callable(fn) else fn
                if inspect.iscoroutine(awaitable):
                    task: asyncio.Future[_T] = loop.create_task(awaitable)
                else:
                    task = asyncio.ensure_future(awaitable)
            except BaseException as exc:
                _settle_exception(future, exc)
                if ended is not None:
                    ended.set()
                return
            tasks.append(task)
            task.add_done_callback(settle)

        def settle(task: asyncio.Future[_T]) -> None:
            try:
                if task.cancelled():
                    future.cancel()
                elif (exc := task.exception()) is not None:
                    _settle_exception(future, exc)
                else:
                    _settle_result(future, task.result())
            finally:  # (whatever happens: the caller waits for it, shielded)
                if ended is not None:
                    ended.set()

        def cancel_task() -> None:
            if tasks:
                tasks[0].cancel()

        def on_done(done: Any) -> None:
            if done.cancelled():  # cancelled by its owner: cancel the task too
                _call_soon(loop, cancel_task)

        if not _call_soon(loop, start):
            raise RuntimeError(f"{loop!r} is closed")
        future.add_done_callback(on_done)

    def run(self, fn: _Async[_T], /, *args: Any, timeout: float | None = None) -> _T:
        """Run ``fn(*args)`` (or the awaitable ``fn``) on the loop; block until it ends.

        Returns what it returns, or raises what it raised.

        Raises:
            Cancelled: the calling thread's cancel scope was cancelled (the task was
                cancelled and has ended).
            TimeoutError: ``timeout`` seconds passed (the task was cancelled and has ended).
            DeadlockError: called in the loop's own thread.
            RuntimeError: the loop is closed.
        """
        self._check_thread("Portal.run()")
        deadline_after(timeout)  # validate it before anything starts
        future: Future[_T] = Future()
        ended = Event()
        self._start(fn, args, future, ended)
        try:
            future.exception(timeout)  # a cancellation point
        except FutureCancelledError:
            pass  # the task was cancelled on the loop: result() raises that
        except BaseException:
            future.cancel()  # cancels the task, if it has not ended
            with CancelScope(shield=True):
                ended.wait()
            raise
        return future.result(0)

    def run_sync(self, fn: Callable[..., _T], /, *args: Any) -> _T:
        """Call ``fn(*args)`` in the loop's thread; block until it returns, and return that.

        For code that must run there (creating loop-bound objects, ``loop.call_later``).
        A cancellation of the calling thread ends the wait, not the call.
        """
        self._check_thread("Portal.run_sync()")
        future: Future[_T] = Future()

        def call() -> None:
            try:
                value = fn(*args)
            except BaseException as exc:
                _settle_exception(future, exc)
            else:
                _settle_result(future, value)

        if not _call_soon(self._loop, call):
            raise RuntimeError(f"{self._loop!r} is closed")
        return future.result()


def _settle_result(future: Future[_T], value: _T) -> None:
    """Settle ``future`` unless it is done (cancelled by its owner, even between the look
    and the set: the set then raises InvalidStateError, which means the same)."""
    if not future.done():
        with contextlib.suppress(InvalidStateError):
            future.set_result(value)


def _settle_exception(future: Future[Any], exc: BaseException) -> None:
    """As ``_settle_result``, with an exception."""
    if not future.done():
        with contextlib.suppress(InvalidStateError):
            future.set_exception(exc)


@contextlib.contextmanager
def start_portal(*, name: str = "threadkit.aio portal") -> Iterator[Portal]:
    """Run a new event loop in a new thread for the ``with`` block; yield its ``Portal``.

    On leaving the block, the loop's remaining tasks are cancelled (as ``asyncio.run`` does)
    and the thread is joined.

    Examples:
        >>> import asyncio, threadkit.aio
        >>> with threadkit.aio.start_portal() as portal:
        ...     portal.run(asyncio.sleep, 0, "slept on the portal's loop")
        "slept on the portal's loop"
        >>> portal.loop.is_closed()  # the loop ended with the block
        True
    """
    started = Event()
    portal: list[Portal] = []
    stop: list[asyncio.Event] = []

    async def serve() -> None:
        stop.append(asyncio.Event())
        portal.append(Portal(asyncio.get_running_loop()))
        started.set()
        await stop[0].wait()

    thread = Thread(target=asyncio.run, args=(serve(),), name=name)
    thread.start()
    started.wait()
    try:
        yield portal[0]
    finally:
        _call_soon(portal[0].loop, stop[0].set)
        thread.join()


def _loop_for(loop: asyncio.AbstractEventLoop | None) -> asyncio.AbstractEventLoop:
    if loop is not None:
        return loop
    found = _tls.loop
    if found is None:
        raise RuntimeError(
            "no event loop to run on: pass loop=, or call from a thread started by "
            "threadkit.aio.to_thread()"
        )
    return found


def _from_thread_run(
    fn: _Async[_T],
    /,
    *args: Any,
    loop: asyncio.AbstractEventLoop | None = None,
    timeout: float | None = None,
) -> _T:
    """Run ``fn(*args)`` (a coroutine function, or a coroutine) on ``loop``; block for it.

    ``loop`` defaults to the loop of the task that started this thread with ``to_thread``.
    See ``Portal.run``.
    """
    return Portal(_loop_for(loop)).run(fn, *args, timeout=timeout)


def _from_thread_run_sync(
    fn: Callable[..., _T], /, *args: Any, loop: asyncio.AbstractEventLoop | None = None
) -> _T:
    """Call ``fn(*args)`` in ``loop``'s thread; block until it returns. See ``Portal.run_sync``."""
    return Portal(_loop_for(loop)).run_sync(fn, *args)


@final
class from_thread:  # noqa: N801 - a namespace, as anyio.from_thread
    """From a plain thread, into an event loop: ``from_thread.run(coro_fn, *args, loop=)``.

    In a thread started by ``to_thread``, ``loop`` defaults to the loop that awaits it.

    Examples:
        >>> import asyncio, threadkit.aio
        >>> async def double(x):
        ...     return 2 * x
        >>> def in_thread():
        ...     return threadkit.aio.from_thread.run(double, 21)
        >>> asyncio.run(threadkit.aio.to_thread(in_thread))
        42
    """

    run = staticmethod(_from_thread_run)
    run_sync = staticmethod(_from_thread_run_sync)

    def __init__(self) -> None:
        raise TypeError("threadkit.aio.from_thread is a namespace: call from_thread.run()")
