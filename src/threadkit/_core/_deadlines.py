"""Timeouts at the edge, deadlines inside.

A public call validates its ``timeout=`` argument here, with the standard library's wording for
each drop-in, and turns it into an absolute *deadline* on the current clock exactly once.
Everything below the edge (``_waitqueue.park`` and the features' slow paths) takes only
deadlines: ``None`` means "wait forever", a float is a reading of ``get_clock()``.

Three timeout dialects exist in the standard library and threadkit keeps each where it is used:

* lock style (``Lock.acquire(blocking=True, timeout=-1)``): ``-1`` means forever, any other
  negative value is rejected (``lock_deadline``);
* wait style (``Event.wait``, ``Condition.wait``, ``Semaphore.acquire``): ``None`` is forever
  and a negative value means "do not block", since a computed remaining time that went
  negative is common and legitimate (``wait_deadline``);
* new threadkit APIs: ``None`` is forever, a negative or NaN value is a ``ValueError`` that
  names the argument (``check_timeout``).

NaN is rejected in every dialect (the standard library hangs on ``Semaphore.acquire(timeout=nan)``).
"""

from __future__ import annotations

import math
from typing import overload

from . import _clock, _primitives

__all__ = [
    "check_timeout",
    "deadline_after",
    "lock_deadline",
    "remaining",
    "wait_deadline",
]


def _lock_messages() -> tuple[str, str]:
    """Read the running CPython's own messages off a C lock (they changed in 3.13)."""
    lock = _primitives.allocate_lock()
    messages = []
    for args in ((False, 1.0), (True, -2.0)):
        try:
            lock.acquire(*args)
        except ValueError as exc:
            messages.append(str(exc))
        else:  # pragma: no cover - no CPython accepts these
            raise AssertionError(f"Lock.acquire{args} was accepted")
    return messages[0], messages[1]


# "can't specify a timeout for a non-blocking call"; "timeout value must be positive" up to
# 3.12, "timeout value must be a non-negative number" from 3.13.
_NONBLOCKING_TIMEOUT_MESSAGE, _NEGATIVE_TIMEOUT_MESSAGE = _lock_messages()


def _reject_nan(timeout: float, name: str) -> None:
    if math.isnan(timeout):
        raise ValueError(f"{name} must be a number, not NaN")


def wait_deadline(timeout: float | None) -> float | None:
    """Return the deadline of a wait-style ``timeout`` (``None`` waits forever).

    A negative timeout gives a deadline that has already passed: the call does not block.
    """
    if timeout is None:
        return None
    _reject_nan(timeout, "timeout")
    return _clock._current.now() + max(timeout, 0.0)


def lock_deadline(blocking: bool, timeout: float) -> float | None:
    """Validate lock-style ``acquire(blocking, timeout)`` arguments; return the deadline.

    Mirrors ``_thread.lock.acquire``: ``timeout=-1`` waits forever, other negatives and a
    timeout on a non-blocking call raise ``ValueError`` with the running CPython's messages
    (read off a C lock at import, since 3.13 reworded one), and a timeout
    above ``TIMEOUT_MAX`` raises ``OverflowError``. A non-blocking call's deadline is "now".
    """
    if not blocking:
        if timeout != -1:
            raise ValueError(_NONBLOCKING_TIMEOUT_MESSAGE)
        return _clock._current.now()
    if timeout == -1:
        return None
    _reject_nan(timeout, "timeout")
    if timeout < 0:
        raise ValueError(_NEGATIVE_TIMEOUT_MESSAGE)
    if timeout > _primitives.TIMEOUT_MAX:
        raise OverflowError("timeout value is too large")
    return _clock._current.now() + timeout


def check_timeout(timeout: float | None, name: str = "timeout") -> float | None:
    """Validate a timeout of a new (non-drop-in) API: ``None`` or a number ``>= 0``.

    Raises:
        TypeError: if it is not a real number.
        ValueError: if it is negative or NaN; the message names the argument.
    """
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"{name} must be a number or None, not {type(timeout).__name__}")
    _reject_nan(timeout, name)
    if timeout < 0:
        raise ValueError(f"{name} must be >= 0, not {timeout!r}")
    return timeout


@overload
def deadline_after(timeout: float, name: str = "timeout") -> float: ...
@overload
def deadline_after(timeout: None, name: str = "timeout") -> None: ...
def deadline_after(timeout: float | None, name: str = "timeout") -> float | None:
    """Validate a new API's ``timeout`` (``check_timeout``) and return its deadline.

    ``None`` (wait forever) stays ``None``; a number becomes ``now + timeout`` on the current
    clock. The edge of every new blocking API (channels, select, sources, sleep) uses this.
    """
    if timeout is None:
        return None
    check_timeout(timeout, name)
    return _clock._current.now() + timeout


def remaining(deadline: float | None) -> float | None:
    """Return the seconds left until ``deadline`` (``None`` for no deadline), never negative."""
    if deadline is None:
        return None
    if math.isinf(deadline):
        return math.inf
    return max(deadline - _clock._current.now(), 0.0)
