"""threadkit.futures: ``concurrent.futures`` for threads, name for name.

``import threadkit.futures as futures`` is a one-line migration for code that uses the
thread pool: ``ThreadPoolExecutor`` and ``Future`` are threadkit's (a ``Future`` is a
``concurrent.futures.Future``), and ``wait``, ``as_completed``, the ``*_COMPLETED``
constants and the exception classes are the standard library's own, so both work together.

This module only re-exports: the code lives in ``threadkit._pool`` and ``threadkit._futures``.
"""

from __future__ import annotations

from concurrent.futures import (
    ALL_COMPLETED,
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    BrokenExecutor,
    CancelledError,
    Executor,
    InvalidStateError,
    TimeoutError,
    as_completed,
    wait,
)

from ._core import fixup_module_metadata as _fixup
from ._futures import Future, any_of, gather
from ._pool import (
    BrokenThreadPool,
    PoolStatistics,
    RunningTask,
    ShutdownReport,
    ThreadPoolExecutor,
    threaded,
)

__all__ = [
    "ALL_COMPLETED",
    "FIRST_COMPLETED",
    "FIRST_EXCEPTION",
    "BrokenExecutor",
    "BrokenThreadPool",
    "CancelledError",
    "Executor",
    "Future",
    "InvalidStateError",
    "PoolStatistics",
    "RunningTask",
    "ShutdownReport",
    "ThreadPoolExecutor",
    "TimeoutError",
    "any_of",
    "as_completed",
    "gather",
    "threaded",
    "wait",
]

_fixup(__name__, globals())
