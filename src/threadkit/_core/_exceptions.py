"""The exception classes of threadkit's core, one per outcome."""

from __future__ import annotations

from . import _primitives

__all__ = ["BrokenBarrierError", "DeadlockError", "WouldBlock"]

# The standard library's own class, so existing ``except threading.BrokenBarrierError`` works.
BrokenBarrierError = _primitives.BrokenBarrierError


class WouldBlock(Exception):  # noqa: N818 - the established name (trio, anyio)
    """Raised by an ``*_nowait`` operation that would have had to block."""


class DeadlockError(RuntimeError):
    """Raised instead of hanging when a call can only deadlock (re-acquiring a held Mutex).

    Attributes:
        cycle: for a cycle of waits found by ``threadkit.diagnostics`` (runtime deadlock
            detection), each ``(thread name, what it waits for)`` in order; else ``()``.
    """

    cycle: tuple[tuple[str, str], ...]

    def __init__(self, *args: object, cycle: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(*args)
        self.cycle = cycle
