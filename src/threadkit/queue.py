"""threadkit.queue: the standard library's ``queue`` module, name for name.

``import threadkit.queue as queue`` is a one-line migration: ``Queue``, ``LifoQueue``,
``PriorityQueue``, ``SimpleQueue``, ``Empty``, ``Full`` and ``ShutDown`` keep the stdlib's
signatures, exceptions and messages (``Empty`` and ``Full`` are the stdlib's classes, and
``ShutDown`` too on Python 3.13+), with 3.13's ``shutdown()`` on every Python. The additions
are new methods and the ``*Statistics`` records.

This module only re-exports: the code lives in ``threadkit._queue``.
"""

from __future__ import annotations

from ._core import fixup_module_metadata as _fixup
from ._queue import (
    Empty,
    Full,
    LifoQueue,
    PriorityQueue,
    Queue,
    QueueStatistics,
    ShutDown,
    SimpleQueue,
    SimpleQueueStatistics,
)

__all__ = [
    "Empty",
    "Full",
    "LifoQueue",
    "PriorityQueue",
    "Queue",
    "QueueStatistics",
    "ShutDown",
    "SimpleQueue",
    "SimpleQueueStatistics",
]

_fixup(__name__, globals())
