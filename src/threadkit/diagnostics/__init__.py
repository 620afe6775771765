"""Diagnostics: a dump of every thread and what it is blocked on (``dump``).

``enable_dump()`` starts recording, for each thread that parks on a threadkit wait, what it
waits for, since when, and its stack; ``dump()`` then names the holder of that primitive when
it is known (a Mutex's owner, an RWLock's writer and readers, a thread being joined) and
reports wait-for cycles (deadlocks). ``install_dump_signal()`` prints the dump when a signal
arrives (POSIX). Off by default, and costs nothing while off.
"""

from __future__ import annotations

from ._dump import disable_dump, dump, dump_enabled, enable_dump, install_dump_signal

__all__ = ["disable_dump", "dump", "dump_enabled", "enable_dump", "install_dump_signal"]
