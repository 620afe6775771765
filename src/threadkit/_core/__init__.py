"""threadkit's self-contained core: the OS shim, clocks, deadlines, the wait queue and hooks.

Feature modules use only what this package exports; nothing in ``_core`` imports from outside it.
"""

from __future__ import annotations

from . import _cancel, _hooks, _primitives, _random, _waitqueue
from ._cancel import Cancelled, CancelScope, checkpoint, current_scopes, inherited
from ._clock import Clock, MockClock, SystemClock, get_clock, use_clock
from ._deadlines import check_timeout, deadline_after, lock_deadline, remaining, wait_deadline
from ._exceptions import BrokenBarrierError, DeadlockError, WouldBlock
from ._random import get_random, use_random
from ._select import SelectOp, WaitOp, run_select
from ._util import describe_thread, fixup_module_metadata, in_threadkit
from ._waitqueue import (
    ABANDONED,
    QUEUED,
    TIMED_OUT,
    WOKEN,
    Arm,
    SelectContext,
    Waiter,
    WaitQueue,
    spin_until,
)

__all__ = [
    "ABANDONED",
    "QUEUED",
    "TIMED_OUT",
    "WOKEN",
    "Arm",
    "CancelScope",
    "Cancelled",
    "BrokenBarrierError",
    "Clock",
    "DeadlockError",
    "MockClock",
    "SelectContext",
    "SelectOp",
    "SystemClock",
    "WaitQueue",
    "WaitOp",
    "Waiter",
    "WouldBlock",
    "_cancel",
    "_hooks",
    "_primitives",
    "_random",
    "_waitqueue",
    "check_timeout",
    "checkpoint",
    "current_scopes",
    "deadline_after",
    "describe_thread",
    "fixup_module_metadata",
    "in_threadkit",
    "get_clock",
    "get_random",
    "inherited",
    "lock_deadline",
    "remaining",
    "run_select",
    "spin_until",
    "use_clock",
    "use_random",
    "wait_deadline",
]
