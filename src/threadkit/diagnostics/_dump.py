"""``dump()``: every thread, what each is blocked on, who holds it, and wait-for cycles.

Tracking is cooperative (``sys._current_frames()`` is not safe on the free-threaded build):
while enabled, a hook listener (``_core._hooks``) runs in each thread as it parks on a wait
queue and records, for that thread, the queue's owner (the primitive), the time and the
thread's own stack; the same thread clears the record on "wake", "timeout" or "abandon" (it
emits them itself; "unpark" comes from the waker and is not listened to). Off, no listener
is installed and the hot paths are untouched (``_hooks.enabled`` stays false).

Limits: a thread that was already parked when tracking started is not seen until its next
wait; a select (waiting on several operations) emits no hooks and is not listed; a signal
handler that parks inside a wait replaces the thread's record for the time of its own wait.
"""

from __future__ import annotations

import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from .._core import _clock, _hooks
from .._core import _primitives as _p
from .._futures import Future
from . import _instrument

__all__ = ["disable_dump", "dump", "dump_enabled", "enable_dump", "install_dump_signal"]

#: How many frames (innermost first) a parking thread records.
STACK_LIMIT = 40


@dataclass(frozen=True)
class _Parked:
    owner: object  # the WaitQueue's owner: the primitive (or a label such as "sleep")
    since: float  # _p.monotonic() when it parked
    deadline: object  # the park's deadline (on the current clock), or None
    stack: traceback.StackSummary  # outermost first, up to the hook call


# _lock guards _parked and _installed. The listener holds it only for one dict operation.
_lock = _p.allocate_lock()
_parked: dict[int, _Parked] = {}  # thread ident -> its current wait
_installed = False


def _listener(event: str, owner: object, detail: object) -> None:
    if event == "park":
        frame = sys._getframe(2)  # skip this listener and _hooks.emit: from the park on
        stack = traceback.StackSummary.extract(
            traceback.walk_stack(frame), limit=STACK_LIMIT, lookup_lines=False
        )
        stack.reverse()
        record = _Parked(owner, _p.monotonic(), detail, stack)
        ident = _p.get_ident()
        with _lock:
            _parked[ident] = record
    else:  # "wake", "timeout", "abandon": the wait ended
        ident = _p.get_ident()
        with _lock:
            _parked.pop(ident, None)


def enable_dump() -> None:
    """Start recording what each thread parks on, and its stack, for ``dump()``.

    Idempotent. While enabled, every threadkit wait takes its slow path and records its
    stack (a few microseconds a wait); ``disable_dump()`` ends it.

    Examples:
        >>> from threadkit import diagnostics, dump
        >>> diagnostics.enable_dump()
        >>> "not blocked in a threadkit wait" in dump()  # this thread, for one
        True
        >>> diagnostics.disable_dump()
    """
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    _hooks.add_listener(_listener, ("park", "wake", "timeout", "abandon"))


def disable_dump() -> None:
    """Stop recording and forget the recorded waits (idempotent).

    Examples:
        >>> from threadkit import diagnostics, dump
        >>> diagnostics.enable_dump()
        >>> diagnostics.disable_dump()
        >>> "wait details not tracked" in dump()
        True
    """
    global _installed
    with _lock:
        if not _installed:
            return
        _installed = False
        _parked.clear()
    _hooks.remove_listener(_listener)


def dump_enabled() -> bool:
    """True while ``enable_dump()`` is in effect.

    Examples:
        >>> from threadkit import diagnostics
        >>> diagnostics.enable_dump()
        >>> diagnostics.dump_enabled()
        True
        >>> diagnostics.disable_dump()
        >>> diagnostics.dump_enabled()
        False
    """
    return _installed


def _label(obj: object) -> str:
    """A short name for a primitive, for the cycle line."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, _p.StdThread):
        return f"join of {obj.name!r}"
    return f"{type(obj).__name__} at {id(obj):#x}"


def _safe_repr(obj: object) -> str:
    try:
        return repr(obj)
    except Exception as exc:  # a broken __repr__ must not spoil the dump
        return f"<{type(obj).__name__} at {id(obj):#x} (repr failed: {exc!r})>"


def _holders(owner: object) -> tuple[str, list[int]]:
    """Who holds ``owner`` (what its waiters wait for): a description and their idents."""
    if isinstance(owner, _p.StdThread):
        how = "waiting for the end of"
    elif isinstance(owner, Future):
        how = "running on"
    else:
        how = "held by"
    return how, _instrument.holders(owner)


def _thread_name(thread: _p.StdThread | None, ident: int) -> str:
    return f"ident {ident}" if thread is None else thread.name


def _cycles(edges: dict[int, list[tuple[object, int]]]) -> list[list[tuple[int, object]]]:
    """Elementary wait-for cycles: each a list of (thread ident, primitive it waits on)."""
    found: list[list[tuple[int, object]]] = []
    seen: set[tuple[int, ...]] = set()

    def walk(start: int, ident: int, path: list[tuple[int, object]], on_path: set[int]) -> None:
        for owner, holder in edges.get(ident, ()):
            if holder == start:
                cycle = [*path, (ident, owner)]
                idents = [i for i, _ in cycle]
                low = idents.index(min(idents))
                key = tuple(idents[low:] + idents[:low])
                if key not in seen:
                    seen.add(key)
                    found.append(cycle[low:] + cycle[:low])
            elif holder not in on_path and holder > start:  # each cycle from its lowest ident
                on_path.add(holder)
                walk(start, holder, [*path, (ident, owner)], on_path)
                on_path.discard(holder)

    for start in sorted(edges):
        walk(start, start, [], {start})
    return found


def dump(file: IO[str] | None = None) -> str:
    """Describe every thread and, while ``enable_dump()`` is in effect, what it is blocked on.

    For each thread: name, ident, daemon. For each thread parked on a threadkit wait: the
    primitive (its repr), for how long, who holds it when that is known (a Mutex's owner, an
    RWLock's writer/readers, a joined thread) and the thread's stack as it parked. Then any
    wait-for cycle, as ``deadlock: A -> Mutex at 0x... -> B -> Mutex at 0x... -> A``.
    Returns the text, and also writes it to ``file`` if one is given.

    Examples:
        >>> import io
        >>> from threadkit import dump
        >>> out = io.StringIO()
        >>> text = dump(out)
        >>> text == out.getvalue(), text.splitlines()[0]
        (True, 'threadkit dump: ... threads')
        >>> [line for line in text.splitlines() if line.endswith("(this thread)")]
        ["Thread 'MainThread' (ident ..., daemon=False) (this thread)"]
    """
    now = _p.monotonic()
    threads = _p.enumerate_threads()
    by_ident = {t.ident: t for t in threads if t.ident is not None}
    with _lock:
        tracking = _installed
        parked = dict(_parked)
    current = _p.get_ident()
    lines = [f"threadkit dump: {len(threads)} threads"]
    if not tracking:
        lines.append(
            "(wait details not tracked: call threadkit.diagnostics.enable_dump() to record "
            "what each thread is blocked on)"
        )
    edges: dict[int, list[tuple[object, int]]] = {}
    for thread in threads:
        ident = thread.ident
        here = " (this thread)" if ident == current else ""
        lines.append(f"Thread {thread.name!r} (ident {ident}, daemon={thread.daemon}){here}")
        record = None if ident is None else parked.get(ident)
        if record is None:
            if tracking:
                lines.append("  not blocked in a threadkit wait")
            continue
        assert ident is not None
        lines.append(f"  blocked for {now - record.since:.3f} s on {_safe_repr(record.owner)}")
        if isinstance(record.deadline, float):
            left = record.deadline - _clock.get_clock().now()
            lines.append(f"  times out in {max(left, 0.0):.3f} s")
        try:
            how, holders = _holders(record.owner)
        except Exception as exc:
            how, holders = f"holder unknown ({exc!r})", []  # (an odd state: no edge)
        if holders:
            names = ", ".join(f"{_thread_name(by_ident.get(h), h)!r} (ident {h})" for h in holders)
            lines.append(f"  {how} {names}")
            edges[ident] = [(record.owner, h) for h in holders]
        lines.append("  stack (most recent call last):")
        lines.extend(
            "  " + part.rstrip("\n").replace("\n", "\n  ") for part in record.stack.format()
        )
    for cycle in _cycles(edges):
        steps = [f"{_thread_name(by_ident.get(i), i)} -> {_label(o)}" for i, o in cycle]
        first = cycle[0][0]
        lines.append(
            f"deadlock: {' -> '.join(steps)} -> {_thread_name(by_ident.get(first), first)}"
        )
    text = "\n".join(lines) + "\n"
    if file is not None:
        file.write(text)
        file.flush()
    return text


def install_dump_signal(
    signum: int | None = None, file: IO[str] | None = None
) -> Callable[[], None]:
    """Print ``dump()`` when ``signum`` arrives (SIGQUIT by default); POSIX only.

    The dump goes to ``file``, or to ``sys.stderr`` as it is when the signal arrives. Call
    from the main thread (as ``signal.signal`` requires). Returns a function that puts the
    previous handler back. Tracking is not enabled by this: call ``enable_dump()`` too for
    wait details. The dump runs in the signal handler, in the main thread: best effort.

    Examples:
        >>> import io, signal
        >>> from threadkit import diagnostics
        >>> before = signal.getsignal(signal.SIGUSR1)
        >>> out = io.StringIO()
        >>> restore = diagnostics.install_dump_signal(signal.SIGUSR1, file=out)
        >>> signal.raise_signal(signal.SIGUSR1)  # as ``kill -USR1 <pid>`` would
        >>> restore()
        >>> out.getvalue().splitlines()[0], signal.getsignal(signal.SIGUSR1) is before
        ('threadkit dump: ... threads', True)
    """
    if sys.platform == "win32":  # pragma: no cover
        raise NotImplementedError("install_dump_signal() needs POSIX signals")
    number = signal.SIGQUIT if signum is None else signum

    def handler(received: int, frame: object) -> None:
        dump(sys.stderr if file is None else file)

    previous = signal.signal(number, handler)

    def restore() -> None:
        signal.signal(number, previous)

    return restore
