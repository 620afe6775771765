"""Receive-only select sources that need no sender: ``after``, ``tick``, ``never``.

After crossbeam-channel's ``at``, ``tick`` and ``never`` flavors. They wake a select through
its deadline (``SelectOp.deadline``), not through a wait queue: ``run_select`` parks until
the earliest deadline of its operations, so a timer costs no thread.
"""

from __future__ import annotations

from .._core import Arm, SelectOp, check_timeout, deadline_after, get_clock
from .._core import _primitives as _p

__all__ = ["after", "never", "tick"]


class _After(SelectOp[float]):
    """Ready once, at a deadline; its value is the clock reading when it was taken."""

    __slots__ = ("_at", "_taken")

    def __init__(self, delay: float) -> None:
        self._at = deadline_after(delay, "delay")
        self._taken = _p.allocate_lock()  # acquired once, by whoever takes the message

    def __repr__(self) -> str:
        return f"<after: due at {self._at:.3f}{', taken' if self._taken.locked() else ''}>"

    def try_select(self) -> tuple[bool, float]:
        now = get_clock().now()
        if now >= self._at and self._taken.acquire(False):
            return True, now
        return False, 0.0

    def register(self, arm: Arm) -> bool:
        return get_clock().now() >= self._at and not self._taken.locked()

    def deadline(self) -> float | None:
        return None if self._taken.locked() else self._at

    def recv(self) -> float:
        """Block until the deadline and return the clock reading (once only)."""
        from ._select import select

        return select(self)[1]  # type: ignore[no-any-return]


class _Tick(SelectOp[float]):
    """Ready every ``interval`` seconds; ticks missed while nobody selected are dropped."""

    __slots__ = ("_interval", "_lock", "_next")

    def __init__(self, interval: float) -> None:
        interval = check_timeout(interval, "interval")  # type: ignore[assignment]
        if interval == 0:
            raise ValueError("interval must be > 0, not 0")
        self._interval = interval
        self._lock = _p.allocate_lock()
        self._next = get_clock().now() + interval  # guarded by _lock

    def __repr__(self) -> str:
        return f"<tick every {self._interval} s: next at {self._next:.3f}>"

    def try_select(self) -> tuple[bool, float]:
        now = get_clock().now()
        with self._lock:
            if now < self._next:
                return False, 0.0
            self._next += self._interval
            if self._next <= now:  # ticks were missed: drop them
                self._next = now + self._interval
        return True, now

    def register(self, arm: Arm) -> bool:
        return get_clock().now() >= self._next

    def deadline(self) -> float | None:
        return self._next

    def recv(self) -> float:
        """Block until the next tick and return the clock reading."""
        from ._select import select

        return select(self)[1]  # type: ignore[no-any-return]


class _Never(SelectOp[None]):
    """Never ready: the null operation, for disabling an arm of a select."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<never>"

    def try_select(self) -> tuple[bool, None]:
        return False, None

    def register(self, arm: Arm) -> bool:
        return False


def after(delay: float) -> SelectOp[float]:
    """Return a select source that becomes ready once, ``delay`` seconds from now.

    Its value is the clock reading when it was taken. It delivers once: after that it is
    never ready again.

    Raises:
        ValueError: ``delay`` is negative or NaN.

    Examples:
        >>> import threadkit
        >>> tx, rx = threadkit.open_channel(1)
        >>> threadkit.select(rx.recv_op(), threadkit.after(0.01))  # nothing sent: a timeout
        (1, ...)
        >>> tx.close(); rx.close()
    """
    return _After(delay)


def tick(interval: float) -> SelectOp[float]:
    """Return a select source that becomes ready every ``interval`` seconds.

    Its value is the clock reading when it was taken. Ticks missed while nobody was
    selecting are dropped, not queued up.

    Raises:
        ValueError: ``interval`` is not > 0.

    Examples:
        >>> import threadkit
        >>> ticker = threadkit.tick(0.01)
        >>> first = threadkit.select(ticker)[1]
        >>> second = threadkit.select(ticker)[1]
        >>> first < second  # readings of the clock, one per tick
        True
    """
    return _Tick(interval)


def never() -> SelectOp[None]:
    """Return a select source that is never ready (to disable one arm of a select).

    Examples:
        >>> import threadkit
        >>> threadkit.select(threadkit.never(), threadkit.after(0))
        (1, ...)
        >>> threadkit.select(threadkit.never(), default=True)
        (-1, None)
    """
    return _Never()
