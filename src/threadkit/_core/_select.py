"""The select protocol and the one algorithm that waits on several operations at once.

After crossbeam-channel's ``select.rs``. An operation that ``select`` can wait on is a
``SelectOp``: anything with the five methods below. The algorithm, in fixed steps:

1. Try every operation without blocking, in random order (or in the given order if
   ``biased``); the first that succeeds is the result. An operation that does not succeed
   has no effect.
2. Nothing ready: with ``default``, return ``(-1, None)``.
3. Register an ``Arm`` for each operation in that operation's wait queue (``register``),
   all sharing one ``SelectContext``. An operation that turns out ready while registering
   stops the registration, and the thread aborts its own select.
4. Park until an arm fires or the earliest deadline passes (the call's own, or an
   operation's, such as ``after(d)``'s).
5. Unregister every arm, then let the winning operation finish (``complete``). A
   notify-style operation (a buffered channel, a Semaphore) retries itself and may find
   that another thread took what woke it; a hand-over operation (a rendezvous) received its
   value from the waker. If it did not succeed, start again at step 1.

Exactly one operation takes effect per select: in steps 1 and 5 only the chosen operation is
performed, and a waker whose arm lost the claim passes its wake-up to the next waiter of its
queue (``WaitQueue.unpark``), so nothing is consumed on behalf of an arm that was not taken.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from . import _cancel, _clock
from ._waitqueue import Arm, SelectContext, WaitQueue

__all__ = ["CancelledOp", "SelectOp", "WaitOp", "run_select"]

_T_co = TypeVar("_T_co", covariant=True)


class SelectOp(Generic[_T_co]):
    """An operation that ``threadkit.select`` can wait on, together with others.

    Objects make their own: ``rx.recv_op()``, ``tx.send_op(item)``, ``q.get_op()``,
    ``event.wait_op()``, ``after(d)``, ... To make a new kind of object selectable,
    subclass this and implement ``try_select`` and ``register`` (and, where needed, the
    rest): the object needs a ``WaitQueue`` whose waiters it wakes when the operation may
    have become possible.

    Examples:
        >>> import threadkit
        >>> ev, sem = threadkit.Event(), threadkit.Semaphore(0)
        >>> ops = [sem.acquire_op(), ev.wait_op()]
        >>> ops[0].try_select()[0]          # no unit to take: not done, and no effect
        False
        >>> ev.set()
        >>> threadkit.select(*ops, timeout=5)   # (index, value) of the one performed
        (1, True)
    """

    __slots__ = ()

    def try_select(self) -> tuple[bool, _T_co]:
        """Perform the operation if it can be done now; return ``(done, result)``.

        Must not block, and must have no effect when it returns ``(False, ...)``. An
        operation that can never succeed again (a closed channel) raises instead.
        """
        raise NotImplementedError

    def register(self, arm: Arm) -> bool:
        """Queue ``arm`` where this operation's wake-ups come from; True if ready now.

        Checks readiness and queues the arm under the same lock as the state changes that
        wake it, so no wake-up is lost. When it returns True, it need not queue the arm.
        """
        raise NotImplementedError

    def unregister(self, arm: Arm) -> None:
        """Take ``arm`` out of its queue, if it is still there."""
        if arm.queue is not None:
            arm.queue.unregister(arm)

    def complete(self, arm: Arm, value: object) -> tuple[bool, _T_co]:
        """Finish the operation after ``arm`` fired with ``value``; as ``try_select``.

        The default retries the operation (notify style). A hand-over operation, whose
        waker already did the work, returns what the waker passed.
        """
        return self.try_select()

    def pass_on(self, arm: Arm, value: object) -> None:
        """Give a wake-up that ``arm`` received but will not use to another waiter.

        Called when the select is interrupted (``KeyboardInterrupt``) after ``arm`` fired.
        The default does nothing, which is right for operations that wake every waiter.
        """

    def deadline(self) -> float | None:
        """When the operation becomes ready by itself (a timer), on the current clock."""
        return None


class WaitOp(SelectOp[_T_co]):
    """A notify-style operation of an object that wakes the waiters of one ``WaitQueue``.

    ``attempt()`` performs the operation if it can (``(done, result)``, no effect when not
    done); ``ready()`` says, with ``queue.lock`` held, whether it could now; ``pass_on()``
    (lock not held) gives an unused wake-up to the next waiter; ``fired(value)``, if given,
    finishes the operation from what the waker passed instead of retrying it (an Event's
    ``set()`` is a fact even if the flag was cleared again before the selecting thread ran).
    The object wakes the queue's waiters whenever the operation may have become possible, as
    it does for blocking calls.
    """

    __slots__ = ("_attempt", "_fired", "_name", "_pass_on", "_queue", "_ready")

    def __init__(
        self,
        name: str,
        queue: WaitQueue,
        ready: Callable[[], bool],
        attempt: Callable[[], tuple[bool, _T_co]],
        pass_on: Callable[[], object] | None = None,
        *,
        fired: Callable[[object], tuple[bool, _T_co]] | None = None,
    ) -> None:
        self._name = name
        self._queue = queue
        self._ready = ready
        self._attempt = attempt
        self._pass_on = pass_on
        self._fired = fired

    def __repr__(self) -> str:
        return f"<{self._name} of {self._queue.owner!r}>"

    def try_select(self) -> tuple[bool, _T_co]:
        return self._attempt()

    def register(self, arm: Arm) -> bool:
        queue = self._queue
        with queue.lock:
            if self._ready():
                return True
            queue.register(arm)
            return False

    def complete(self, arm: Arm, value: object) -> tuple[bool, _T_co]:
        if self._fired is not None:
            return self._fired(value)
        return self._attempt()

    def pass_on(self, arm: Arm, value: object) -> None:
        if self._pass_on is not None:
            self._pass_on()


class CancelledOp(SelectOp["_cancel.CancelScope"]):
    """``scope.cancelled_op()``: fires once the scope is cancelled (its value: the scope).

    It fires for an explicit ``cancel()`` and when the scope's deadline passes. Meant for a
    thread outside the scope (a supervisor): inside it, the select is itself cancelled.
    """

    __slots__ = ("_queue", "_scope")

    def __init__(self, scope: _cancel.CancelScope, queue: WaitQueue) -> None:
        self._scope = scope
        self._queue = queue

    def __repr__(self) -> str:
        return f"<cancelled_op of {self._scope!r}>"

    def _fired(self) -> bool:
        scope = self._scope
        if not scope._cancel_called and scope._deadline <= _clock._current.now():
            scope._cancel(_cancel.DEADLINE, None)
        return scope._cancel_called

    def try_select(self) -> tuple[bool, _cancel.CancelScope]:
        return self._fired(), self._scope

    def register(self, arm: Arm) -> bool:
        with self._queue.lock:
            if self._scope._cancel_called:
                return True
            self._queue.register(arm)
        return self._fired()

    def deadline(self) -> float | None:
        deadline = self._scope._deadline
        return None if deadline == float("inf") else deadline


_ORDERS: tuple[tuple[int, ...], ...] = ((), (0,), (0, 1))
_REVERSED = (1, 0)


def run_select(
    ops: Sequence[SelectOp[Any]],
    deadline: float | None,
    default: bool,
    biased: bool,
    rng: random.Random,
) -> tuple[int, Any]:
    """Perform exactly one of ``ops``; return its index and result.

    Returns ``(-1, None)`` if ``default`` and nothing is ready, and raises ``TimeoutError``
    once ``deadline`` passes. An exception raised by the chosen operation propagates with a
    note naming its index.
    """
    count = len(ops)
    order: Sequence[int] = _ORDERS[count] if count <= 2 else list(range(count))
    while True:
        if biased or count == 1:
            pass
        elif count == 2:  # the common case, without shuffle()'s cost
            order = _ORDERS[2] if rng.random() < 0.5 else _REVERSED
        else:
            rng.shuffle(order)  # type: ignore[arg-type]
        index = -1
        try:
            for index in order:
                done, value = ops[index].try_select()
                if done:
                    return index, value
            if default:
                return -1, None
            index = -1
            fired = _wait(ops, order, deadline)
            if fired is not None:
                index = fired[0].index
                done, value = ops[index].complete(*fired)
                if done:
                    return index, value
        except Exception as exc:
            if index >= 0:
                exc.add_note(f"raised by select operation {index} ({ops[index]!r})")
            raise
        _cancel.checkpoint()  # woken by a cancellation: that, not a timeout, is the outcome
        if deadline is not None and _clock._current.now() >= deadline:
            raise TimeoutError("timed out waiting on select")


def register_arms(
    ops: Sequence[SelectOp[Any]],
    order: Sequence[int],
    context: SelectContext,
    registered: list[tuple[SelectOp[Any], Arm]],
) -> bool:
    """Step 3: register an Arm of ``context`` for each of ``ops`` in ``order``; True if one
    was found ready (registration stopped there). Each ``(op, arm)`` is appended to
    ``registered`` before it is registered, so the caller can unregister them all."""
    for index in order:
        op = ops[index]
        arm = Arm(context, index)
        registered.append((op, arm))
        if op.register(arm):
            return True
    return False


def wake_time(
    registered: Sequence[tuple[SelectOp[Any], Arm]], deadline: float | None
) -> float | None:
    """The earliest of ``deadline`` and the registered operations' own deadlines."""
    wake_at = deadline
    for op, _ in registered:
        op_deadline = op.deadline()
        if op_deadline is not None and (wake_at is None or op_deadline < wake_at):
            wake_at = op_deadline
    return wake_at


def _wait(
    ops: Sequence[SelectOp[Any]], order: Sequence[int], deadline: float | None
) -> tuple[Arm, object] | None:
    """Steps 3-5: register, park, unregister; return the arm that fired and its value."""
    if deadline is not None and _clock._current.now() >= deadline:
        return None
    context = SelectContext()
    registered: list[tuple[SelectOp[Any], Arm]] = []
    try:
        if register_arms(ops, order, context, registered):
            if context.abort():
                return None
        else:
            context.park(wake_time(registered, deadline))
    except BaseException:
        context.abort()
        if context.fired is not None:  # an arm fired as we were interrupted
            ops[context.fired.index].pass_on(context.fired, context.value)
        raise
    finally:
        for op, arm in registered:
            op.unregister(arm)
    if context.fired is None:
        return None
    return context.fired, context.value
