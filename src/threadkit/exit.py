"""threadkit.exit: the exit supervisor, which stops background work in order and on time.

At interpreter exit (before the non-daemon threads are joined), every registered object is
stopped, from the highest ``ExitPriority`` to the lowest (timers, then workers, then pools)
and last registered first within a priority, each within its deadline; threads still running
after it are reported with their stacks and let go, and output written by background threads
during finalisation is diverted so it cannot abort the interpreter. Pools, workers and
schedulers register themselves; ``register()`` adds anything else.

This module only re-exports: the code lives in ``threadkit._exit`` (see docs/workers.md).
"""

from __future__ import annotations

from ._core import fixup_module_metadata as _fixup
from ._exit import (
    DEFAULT_DEADLINE,
    ExitHandle,
    ExitPriority,
    ExitReport,
    Straggler,
    exiting,
    get_default_deadline,
    install_signal_handlers,
    register,
    set_default_deadline,
    stop_all,
    unregister,
)

__all__ = [
    "DEFAULT_DEADLINE",
    "ExitHandle",
    "ExitPriority",
    "ExitReport",
    "Straggler",
    "exiting",
    "get_default_deadline",
    "install_signal_handlers",
    "register",
    "set_default_deadline",
    "stop_all",
    "unregister",
]

_fixup(__name__, globals())
