"""The exception classes of threadkit's core, one per outcome."""

from __future__ import annotations

from . import _primitives

__all__ = ["BrokenBarrierError", "DeadlockError", "WouldBlock"]

# The standard library's own class, so existing ``except threading.BrokenBarrierError`` works.
BrokenBarrierError = _primitives.BrokenBarrierError


class WouldBlock(Exception):  # noqa: N818 - the established name (trio, anyio)
    """Raised by an ``*_nowait`` operation that would have had to block.

    Examples:
        >>> import threadkit
        >>> limiter = threadkit.CapacityLimiter(1)
        >>> limiter.acquire_nowait()
        >>> limiter.acquire_on_behalf_of_nowait("another borrower")
        Traceback (most recent call last):
          ...
        threadkit.WouldBlock: no token of this CapacityLimiter is free
        >>> limiter.release()
    """


class DeadlockError(RuntimeError):
    """Raised instead of hanging when a call can only deadlock (re-acquiring a held Mutex).

    Attributes:
        cycle: for a cycle of waits found by ``threadkit.diagnostics`` (runtime deadlock
            detection), each ``(thread name, what it waits for)`` in order; else ``()``.

    Examples:
        >>> import threadkit
        >>> m = threadkit.Mutex()
        >>> with m:
        ...     m.acquire()                 # a Lock would hang here forever
        Traceback (most recent call last):
          ...
        threadkit.DeadlockError: thread ... already holds this Mutex; acquiring it again would ...
    """

    cycle: tuple[tuple[str, str], ...]

    def __init__(self, *args: object, cycle: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(*args)
        self.cycle = cycle
