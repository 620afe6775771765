"""Diagnostics: a thread dump, a lock-order detector, runtime deadlock detection.

* ``dump()``: every thread and, while ``enable_dump()`` is on, what it is blocked on, who
  holds that, and wait-for cycles; ``install_dump_signal()`` prints it on a signal (POSIX).
* ``enable(mode="warn"|"raise"|"collect")``: the lock-order detector (lockdep for Python):
  reports two code paths that take the same locks in opposite orders the first time the
  second order is seen, deadlock or not; ``inversions()`` lists what it found. With it, a
  thread whose wait would close a cycle of waits gets ``DeadlockError`` instead of hanging.
  Also switched on by the environment variable ``THREADKIT_LOCK_ORDER`` and by pytest's
  ``--threadkit-lock-order`` option.

* ``trace(path)``: a timeline of waits, lock holds, queue traffic and pool tasks, written as
  Chrome trace-event JSON for Perfetto, with a contention summary (also ``threadkit.trace``
  and ``threadkit trace script.py``).

All of it is off by default, and costs nothing while off.
"""

from __future__ import annotations

from .._core import fixup_module_metadata as _fixup
from . import _detector
from ._detector import (
    LockOrderEdge,
    LockOrderError,
    LockOrderInversion,
    LockOrderWarning,
    clear,
    disable,
    enable,
    enabled,
    inversions,
    mode,
)
from ._dump import disable_dump, dump, dump_enabled, enable_dump, install_dump_signal
from ._trace import Tracer, trace

__all__ = [
    "LockOrderEdge",
    "LockOrderError",
    "LockOrderInversion",
    "LockOrderWarning",
    "Tracer",
    "clear",
    "disable",
    "disable_dump",
    "dump",
    "dump_enabled",
    "enable",
    "enable_dump",
    "enabled",
    "inversions",
    "install_dump_signal",
    "mode",
    "trace",
]

_fixup(__name__, globals())

# THREADKIT_LOCK_ORDER=warn|raise|collect turns the lock-order detector on as threadkit is
# imported (the threadkit.Lock/RLock it defines after this are then the traced ones).
_detector.enable_from_environment()
