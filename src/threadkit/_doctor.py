"""``threadkit doctor``: facts about this interpreter, checked live.

Each trap is probed on the running interpreter (not looked up in a table of versions), so the
report is right for backports and patched builds too. The probes are quick and leave nothing
running.
"""

from __future__ import annotations

import inspect
import math
import os
import platform
import queue
import sys
import sysconfig
from concurrent.futures import Executor
from importlib import metadata
from typing import Any

from . import __version__
from ._core import _primitives as _p

__all__ = ["report"]

#: The extras of ``pip install 'threadkit[...]'``: the distribution each one brings.
_EXTRAS = {"dask": "distributed", "test": "pytest"}


def _build() -> str:
    if not sysconfig.get_config_var("Py_GIL_DISABLED"):
        return "GIL build"
    enabled = getattr(sys, "_is_gil_enabled", lambda: True)()
    return "free-threaded build, the GIL " + (
        "on (PYTHON_GIL or an extension)" if enabled else "off"
    )


def _extras() -> dict[str, str]:
    out = {}
    for extra, distribution in _EXTRAS.items():
        try:
            out[extra] = f"installed ({distribution} {metadata.version(distribution)})"
        except metadata.PackageNotFoundError:
            out[extra] = f"not installed (pip install 'threadkit[{extra}]')"
    return out


def _barrier_zero_accepted() -> bool:
    try:
        _p.threading_module.Barrier(0)
    except ValueError:
        return False
    return True


def _semaphore_nan_accepted() -> bool:
    # The stdlib loops on a NaN timeout (it never compares as passed): probe it on a
    # semaphore that has a unit, so the call returns at once if the NaN is accepted.
    try:
        _p.threading_module.Semaphore(1).acquire(timeout=math.nan)
    except ValueError:
        return False
    return True


def _map_has_buffersize() -> bool:
    return "buffersize" in inspect.signature(Executor.map).parameters


def report() -> dict[str, Any]:
    """The facts ``threadkit doctor`` prints, as a dict (``--json`` prints it whole)."""
    traps = [
        {
            "trap": "Queue has no shutdown(): a worker blocked in get() needs a sentinel",
            "applies": not hasattr(queue.Queue, "shutdown"),
            "answer": "threadkit.queue.Queue.shutdown() on every version; channels close",
        },
        {
            "trap": "Barrier(0) is accepted (and every wait() breaks it)",
            "applies": _barrier_zero_accepted(),
            "answer": "threadkit.Barrier(0) raises ValueError",
        },
        {
            "trap": "Semaphore.acquire(timeout=nan) is accepted (a wait that never ends)",
            "applies": _semaphore_nan_accepted(),
            "answer": "ValueError",
        },
        {
            "trap": "Executor.map() has no buffersize=: the whole input is submitted at once",
            "applies": not _map_has_buffersize(),
            "answer": "threadkit.futures: map(buffersize=), chunking by itself",
        },
        {
            "trap": "daemon threads that print during exit can abort the interpreter "
            "(cpython issue 129536)",
            "applies": True,
            "answer": "threadkit's exit supervisor diverts their output",
        },
        {
            "trap": "a Semaphore counts past its start, readable only through _value",
            "applies": True,
            "answer": "Semaphore(n, max_value=n), .value, statistics()",
        },
        {
            "trap": "a ThreadPoolExecutor's queue is unbounded and a running task cannot be "
            "cancelled",
            "applies": True,
            "answer": "max_queue=, on_full=, future.cancel(interrupt=True)",
        },
    ]
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "build": _build(),
        "threadkit": __version__,
        "location": os.path.dirname(os.path.abspath(__file__)),
        "extras": _extras(),
        "traps": traps,
    }
