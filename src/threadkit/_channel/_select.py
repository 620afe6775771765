"""``select()`` and ``Select``: wait for the first of several operations, on any primitive.

The algorithm is ``_core._select.run_select``; this module is the public edge: it validates
the timeout, turns it into a deadline and picks the random source.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, final

from .._core import SelectOp, _random, deadline_after, run_select

__all__ = ["Select", "select"]


def _check_ops(ops: tuple[SelectOp[Any], ...] | list[SelectOp[Any]]) -> None:
    for index, op in enumerate(ops):
        if not isinstance(op, SelectOp):
            raise TypeError(
                f"select operation {index} must be a SelectOp (such as rx.recv_op()), "
                f"not {type(op).__name__}"
            )


def select(
    *ops: SelectOp[Any],
    timeout: float | None = None,
    default: bool = False,
    biased: bool = False,
    rng: random.Random | None = None,
) -> tuple[int, Any]:
    """Perform exactly one of ``ops``, the first that can proceed; return ``(index, value)``.

    ``ops`` are made by the objects: ``rx.recv_op()``, ``tx.send_op(item)``,
    ``q.get_op()``, ``q.put_op(item)``, ``event.wait_op()``, ``sem.acquire_op()``,
    ``mutex.acquire_op()``, ``thread.join_op()``, and the sources ``after(d)``,
    ``tick(d)``, ``never()``. ``value`` is what the operation gives (the item received;
    None for a send).

    When several are ready, one is chosen at random (from ``rng``, default the source set
    by ``threadkit.use_random``), or the first in order with ``biased=True``. An operation
    that is not taken has no effect: no item is consumed, no permit taken.

    With ``default=True`` nothing blocks: if no operation is ready, return ``(-1, None)``.

    Raises:
        TimeoutError: ``timeout`` seconds passed and no operation could proceed.
        ValueError: no operations, or ``timeout`` negative or NaN.
        Exception: whatever the chosen operation raises (``EndOfChannel`` for a receive
            on a channel that ended, ...), with a note naming its index.

    Interrupted (``KeyboardInterrupt``) just as an operation fired, a select passes a
    buffered item's wake-up on to another waiter; but an item a rendezvous sender already
    handed over is lost with the interrupt, as with a plain ``recv()`` (the sender has
    returned). ``Receiver.ended`` tells which receivers ended after an ``EndOfChannel``.

    Examples:
        >>> import math, threadkit
        >>> tx1, rx1 = threadkit.open_channel(math.inf)
        >>> tx2, rx2 = threadkit.open_channel(math.inf)
        >>> tx2.send("hello")
        >>> threadkit.select(rx1.recv_op(), rx2.recv_op(), timeout=1)
        (1, 'hello')
        >>> for end in (tx1, rx1, tx2, rx2):
        ...     end.close()
    """
    if not ops:
        raise ValueError("select() needs at least one operation")
    deadline = deadline_after(timeout)
    if rng is None:
        rng = _random._current
    # The first pass of run_select (try each operation once), inlined: most selects end
    # here, and a call less is a good part of their cost.
    count = len(ops)
    if count == 2 and not biased:
        if not (isinstance(ops[0], SelectOp) and isinstance(ops[1], SelectOp)):
            _check_ops(ops)  # type: ignore[unreachable]  # raises, naming the culprit
        order: Sequence[int] = (0, 1) if rng.random() < 0.5 else (1, 0)
        try:
            for index in order:
                done, value = ops[index].try_select()
                if done:
                    return index, value
        except Exception as exc:
            exc.add_note(f"raised by select operation {index} ({ops[index]!r})")
            raise
    else:
        _check_ops(ops)
    return run_select(ops, deadline, default, biased, rng)


@final
class Select:
    """A select built up at run time: ``add()`` operations, then ``select()``.

    Examples:
        >>> import math, threadkit
        >>> tx, rx = threadkit.open_channel(math.inf)
        >>> sel = threadkit.Select()
        >>> sel.add(rx.recv_op()), sel.add(threadkit.after(0))
        (0, 1)
        >>> sel.select()
        (1, ...)
        >>> tx.close(); rx.close()
    """

    __slots__ = ("_biased", "_ops", "_rng")

    def __init__(self, *, biased: bool = False, rng: random.Random | None = None) -> None:
        self._ops: list[SelectOp[Any]] = []
        self._biased = biased
        self._rng = rng

    def __repr__(self) -> str:
        return f"<threadkit.Select of {len(self._ops)} operations>"

    def __len__(self) -> int:
        return len(self._ops)

    def add(self, op: SelectOp[Any]) -> int:
        """Add an operation; return its index (what ``select()`` reports when it fires)."""
        _check_ops([op])
        self._ops.append(op)
        return len(self._ops) - 1

    def select(self, timeout: float | None = None, *, default: bool = False) -> tuple[int, Any]:
        """Perform exactly one of the operations added; see ``threadkit.select``."""
        return select(
            *self._ops, timeout=timeout, default=default, biased=self._biased, rng=self._rng
        )
