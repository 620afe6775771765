"""The lock-order detector and the runtime deadlock detector.

**Lock order** (after Linux's lockdep): each thread keeps the locks it holds, in order. When
it takes lock B with a blocking call while holding A, the edge A -> B joins a process-wide
graph, with the thread and its stack, the first time that edge is seen. If B already reaches
A in the graph (B -> A, or B -> C -> A, ...), the two code paths take the locks in opposite
orders: a run where they overlap deadlocks. That is reported at once, the first time the
second order is seen, even if this run did not deadlock (the paths may have run hours
apart). A try-acquire (``blocking=False``, ``timeout=0``) cannot deadlock, so it adds no
edge, but the lock it took counts as held for the next ones. A re-entrant re-acquire of an
RLock adds nothing. Locks are nodes by identity; a collected lock leaves the graph.

**Runtime deadlocks** (the wait-for graph): each thread that parks records what it waits
for; the thread that would close a cycle of waits (every one of them without a timeout) gets
``DeadlockError`` instead of parking, naming every thread and primitive of the cycle. The
others stay parked until it unwinds (a ``with`` block releases what it held). Who holds a
primitive comes from ``_instrument.holders``: a traced lock's or a Mutex's owner, an RWLock's
holders, a joined thread, the thread running a future. Cycles close only when a thread
registers its wait (a thread gets a lock only by waiting for it itself), and the check and
the registration happen under one lock, so exactly one participant sees each cycle.

Both listen to ``_core._hooks`` events, emitted by the implementations that
``_instrument.install()`` swaps in while the detector is on; off, none of this runs.
"""

from __future__ import annotations

import os
import sys
import traceback
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Literal

from .._core import _hooks
from .._core import _primitives as _p
from .._core._exceptions import DeadlockError
from .._core._util import in_threadkit
from .._futures import Future
from . import _instrument

__all__ = [
    "LockOrderEdge",
    "LockOrderError",
    "LockOrderInversion",
    "LockOrderWarning",
    "clear",
    "disable",
    "enable",
    "enable_from_environment",
    "enabled",
    "inversions",
    "mode",
]

Mode = Literal["warn", "raise", "collect"]
_MODES = ("warn", "raise", "collect")

#: How many frames (innermost last) an edge's acquisition stack keeps.
STACK_LIMIT = 30

# The test runners whose frames are left out of a report's stacks (the same every time).
_RUNNERS = ("_pytest", "pluggy", "unittest")


def _runner_dirs() -> tuple[str, ...]:
    """Where the loaded test runners' packages are installed (their directories)."""
    dirs = []
    for name in _RUNNERS:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if isinstance(path, str):
            dirs.append(os.path.dirname(path) + os.sep)
    return tuple(dirs)


#: The environment variable read at import: ``warn``, ``raise`` or ``collect`` (or ``1``).
ENV_VAR = "THREADKIT_LOCK_ORDER"


class LockOrderWarning(RuntimeWarning):
    """Two code paths take the same locks in opposite orders (a potential deadlock).

    Issued in ``mode="warn"`` (the default), once per inversion, at the acquire that inverts
    the order; a ``RuntimeWarning``, so ``-W error`` turns it into a failure.

    Examples:
        >>> import threading, warnings
        >>> from threadkit import diagnostics
        >>> diagnostics.enable("warn")
        >>> a, b = threading.Lock(), threading.Lock()
        >>> with a, b:
        ...     pass
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     with b, a:  # the opposite order
        ...         pass
        >>> diagnostics.disable(); diagnostics.clear()
        >>> [w.category.__name__ for w in caught]
        ['LockOrderWarning']
    """


class LockOrderError(DeadlockError):
    """Raised, in ``mode="raise"``, by the acquire that inverts an observed lock order.

    It is raised before the acquire waits (or, if the lock was free, after giving it back),
    so the thread still holds only what it held before the call. A ``DeadlockError``; its
    ``inversion`` is the ``LockOrderInversion`` found.

    Examples:
        >>> import threading
        >>> from threadkit import diagnostics
        >>> diagnostics.enable("raise")
        >>> a, b = threading.Lock(), threading.Lock()
        >>> with a, b:
        ...     pass
        >>> with b:
        ...     try:
        ...         a.acquire()  # the opposite order: refused before it waits
        ...     except diagnostics.LockOrderError as exc:
        ...         print("refused, a is free:", not a.locked(), len(exc.inversion.locks))
        refused, a is free: True 2
        >>> diagnostics.disable(); diagnostics.clear()
    """

    inversion: LockOrderInversion

    def __init__(self, inversion: LockOrderInversion) -> None:
        super().__init__(inversion.report())
        self.inversion = inversion


@dataclass(frozen=True)
class LockOrderEdge:
    """One observed order: ``second`` was taken while ``first`` was held.

    Attributes:
        first: the lock held (a description: type, where it was made or its address).
        second: the lock taken while holding it.
        thread: the name of the thread that did it (the first time).
        stack: that thread's stack at the acquire of ``second``, outermost first.

    Examples:
        >>> import threading
        >>> from threadkit import diagnostics
        >>> diagnostics.enable("collect")
        >>> a, b = threading.Lock(), threading.Lock()
        >>> with a, b:
        ...     pass
        >>> with b, a:
        ...     pass
        >>> new, earlier = diagnostics.inversions()[-1].edges
        >>> (new.first, new.second) == (earlier.second, earlier.first), new.thread
        (True, 'MainThread')
        >>> print(new.format().splitlines()[0])
          Lock at 0x... taken while holding Lock at 0x..., in thread 'MainThread':
        >>> diagnostics.disable(); diagnostics.clear()
    """

    first: str
    second: str
    thread: str
    stack: traceback.StackSummary = field(repr=False, compare=False)

    def format(self) -> str:
        """The edge and its stack, as text."""
        lines = [f"  {self.second} taken while holding {self.first}, in thread {self.thread!r}:"]
        frames = list(self.stack)
        dirs = _runner_dirs()
        runner = [i for i, f in enumerate(frames) if dirs and f.filename.startswith(dirs)]
        if runner:  # a test: from the test function on (pytest's and pluggy's frames cut)
            frames = frames[runner[-1] + 1 :]
        stack = traceback.StackSummary.from_list(frames)
        lines.extend("    " + part.rstrip("\n").replace("\n", "\n    ") for part in stack.format())
        return "\n".join(lines)


@dataclass(frozen=True)
class LockOrderInversion:
    """A cycle in the lock-order graph: the locks can be taken in opposite orders.

    Attributes:
        locks: the locks of the cycle, in the order of ``edges``.
        edges: the orders observed, the new one first: ``edges[0]`` is the acquire that
            closed the cycle, the others the earlier orders it inverts (for two locks, one).
        threads: the names of the threads of those edges, in order (a name may repeat).

    Examples:
        >>> import threading
        >>> from threadkit import diagnostics
        >>> diagnostics.enable("collect")
        >>> a, b = threading.Lock(), threading.Lock()
        >>> with a, b:
        ...     pass
        >>> with b, a:  # the opposite order: found, although this run cannot deadlock
        ...     pass
        >>> found = diagnostics.inversions()[-1]
        >>> len(found.locks), found.threads
        (2, ('MainThread', 'MainThread'))
        >>> print(found.report().split(":")[0])
        lock order inversion (a potential deadlock)
        >>> diagnostics.disable(); diagnostics.clear()
    """

    locks: tuple[str, ...]
    edges: tuple[LockOrderEdge, ...]

    @property
    def threads(self) -> tuple[str, ...]:
        """The names of the threads that took the orders of ``edges``, in order."""
        return tuple(edge.thread for edge in self.edges)

    def report(self) -> str:
        """A text report: the cycle, then each order with the stack that took it."""
        cycle = " -> ".join((*self.locks, self.locks[0]))
        lines = [
            f"lock order inversion (a potential deadlock): {cycle}",
            "the new order:",
            self.edges[0].format(),
            "inverts the order seen before:"
            if len(self.edges) == 2
            else "inverts the orders seen before:",
        ]
        lines.extend(edge.format() for edge in self.edges[1:])
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()


# ----------------------------------------------------------------------------------------
# State. _lock guards everything below except the per-thread held lists (each changed by its
# thread, and by a thread that releases a plain Lock another thread took: single list
# operations, atomic on every build) and the fast-path reads of _succ (dict lookups).

_lock = _p.allocate_lock()
_mode: Mode = "warn"
_on = False
_deadlocks = False
_succ: dict[int, dict[int, LockOrderEdge]] = {}  # id(first) -> {id(second): edge}
_nodes: dict[int, tuple[weakref.ref[object] | None, str]] = {}  # id(lock) -> (ref, label)
_dead: deque[int] = deque()  # ids of collected locks, purged from the graph lazily
_found: list[LockOrderInversion] = []
_seen_cycles: dict[frozenset[int], LockOrderInversion] = {}  # each reported once
_held_by: dict[int, list[object]] = {}  # thread ident -> the locks it holds, in order
# Bumped by enable() as it starts the detector: a thread's list of held locks from an earlier
# time on is dropped at its next event (a lock taken then and released while the detector
# was off would stay listed as held, and make false orders). Each list is changed by single
# list operations only (append, remove), so that another thread's remove (a Lock released
# by a thread that does not hold it) cannot break its owner's change, on any build.
_epoch = 0
_tls = _p.local()


def _held() -> list[object]:
    held: list[object] | None = getattr(_tls, "held", None)
    if held is None or getattr(_tls, "epoch", -1) != _epoch:
        held = _tls.held = []
        _tls.epoch = _epoch
        _held_by[_p.get_ident()] = held
    return held


def _label(obj: object) -> str:
    site = getattr(obj, "site", None)
    kind = type(obj).__name__.removeprefix("Traced")
    if isinstance(site, str):
        return f"{kind} at {id(obj):#x} made at {site}"
    return f"{kind} at {id(obj):#x}"


def _forgetter(key: int) -> Callable[[object], None]:
    def forget(_ref: object) -> None:
        _dead.append(key)  # a weakref callback: no lock (it may run inside _lock's holder)

    return forget


def _node(obj: object) -> None:
    """Register ``obj`` as a node (``_lock`` held)."""
    key = id(obj)
    known = _nodes.get(key)
    if known is not None:
        ref = known[0]
        if ref is None or ref() is obj:
            return
        _purge(key)  # a collected lock's id, reused
    try:
        ref = weakref.ref(obj, _forgetter(key))
    except TypeError:  # not weak-referenceable: kept for the detector's lifetime
        ref = None
    _nodes[key] = (ref, _label(obj))


def _purge(key: int) -> None:
    """Drop a collected lock from the graph (``_lock`` held)."""
    _nodes.pop(key, None)
    _succ.pop(key, None)
    for targets in _succ.values():
        targets.pop(key, None)
    for cycle in [c for c in _seen_cycles if key in c]:  # a new lock may reuse the id
        del _seen_cycles[cycle]


def _path(start: int, goal: int) -> list[tuple[int, LockOrderEdge]] | None:
    """A path start -> ... -> goal in the graph: [(node reached, edge), ...] (``_lock`` held)."""
    parents: dict[int, tuple[int, LockOrderEdge] | None] = {start: None}
    todo = deque([start])
    while todo:
        node = todo.popleft()
        for nxt, edge in _succ.get(node, {}).items():
            if nxt in parents:
                continue
            parents[nxt] = (node, edge)
            if nxt == goal:
                path: list[tuple[int, LockOrderEdge]] = []
                at = nxt
                step = parents[at]
                while step is not None:
                    path.append((at, step[1]))
                    at = step[0]
                    step = parents[at]
                path.reverse()
                return path
            todo.append(nxt)
    return None


def _internal(frame: FrameType) -> bool:
    """Whether ``frame`` runs threadkit's own implementation (a wrapper, a Mutex method)."""
    return in_threadkit(frame.f_code.co_filename)


def _user_depth() -> int:
    """How many frames up from the caller the first frame outside threadkit is."""
    frame: FrameType | None = sys._getframe(1)
    depth = 0
    while frame is not None and _internal(frame):
        frame = frame.f_back
        depth += 1
    return depth


def _user_stack() -> traceback.StackSummary:
    """The calling thread's stack, outermost first, without threadkit's own frames on top."""
    frame = sys._getframe(1)
    while frame.f_back is not None and _internal(frame):
        frame = frame.f_back
    stack = traceback.StackSummary.extract(
        traceback.walk_stack(frame), limit=STACK_LIMIT, lookup_lines=False
    )
    stack.reverse()
    return stack


def _thread_name(ident: int) -> str:
    # Not current_thread(): in a thread that is starting it would make a _DummyThread,
    # whose Event takes a traced lock, which calls back in here.
    thread = _p.threading_module._active.get(ident)  # type: ignore[attr-defined]
    return thread.name if thread is not None else f"thread {ident}"


def _check(held: list[object], obj: object, refusable: bool) -> None:
    """Record the orders held -> obj; report an inversion they close (the slow path).

    In "raise" mode a ``refusable`` acquire that would close a cycle raises instead, and
    none of its orders is recorded (the acquire does not happen, so every later attempt is
    refused too). A re-acquire that cannot be refused (a Condition's, after its wait) only
    reports.
    """
    if getattr(_tls, "busy", False):
        return  # called from inside _check (a finalizer, a signal handler): left out
    new: list[LockOrderInversion] = []
    with _guarded(_lock):
        refused = _check_locked(held, obj, refusable, new)
    if refused is not None:
        raise LockOrderError(refused)
    for inversion in new:
        if _mode in ("warn", "raise"):  # (raise: a re-acquire it could not refuse)
            warnings.warn(LockOrderWarning(inversion.report()), stacklevel=_user_depth() + 1)


def _check_locked(
    held: list[object], obj: object, refusable: bool, new: list[LockOrderInversion]
) -> LockOrderInversion | None:
    """_check's work (``_lock`` held): the inversion that refuses the acquire, or None once
    the orders are recorded (the inversions found first appended to ``new``)."""
    refused: LockOrderInversion | None = None
    while _dead:
        _purge(_dead[0])  # purged before it leaves _dead: the fast path takes the slow
        _dead.popleft()  # path while _dead is not empty
    target = id(obj)
    stack: traceback.StackSummary | None = None
    edges: list[tuple[int, LockOrderEdge]] = []
    for first in held:
        source = id(first)
        if source == target:
            continue
        targets = _succ.get(source)
        if targets is not None and target in targets:
            continue
        _node(first)
        _node(obj)
        if stack is None:
            stack = _user_stack()
        edge = LockOrderEdge(
            _nodes[source][1], _nodes[target][1], _thread_name(_p.get_ident()), stack
        )
        back = _path(target, source)
        if back is not None:
            cycle = frozenset([target, *(node for node, _ in back)])
            known = _seen_cycles.get(cycle)
            inversion = _new_inversion(cycle, edge, back) if known is None else known
            if known is None:
                new.append(inversion)
            if _mode == "raise" and refusable:
                refused = inversion
                break
        edges.append((source, edge))
    if refused is None:
        for source, edge in edges:  # all or nothing
            _succ.setdefault(source, {})[target] = edge
    return refused


def _new_inversion(
    cycle: frozenset[int], edge: LockOrderEdge, back: list[tuple[int, LockOrderEdge]]
) -> LockOrderInversion:
    """Record the inversion that ``edge`` makes with the orders ``back`` (``_lock`` held)."""
    locks = (edge.first, edge.second, *(e.second for _, e in back[:-1]))
    inversion = LockOrderInversion(locks, (edge, *(e for _, e in back)))
    _seen_cycles[cycle] = inversion
    _found.append(inversion)
    return inversion


def _order_listener(event: str, obj: object, detail: object) -> None:
    # The fast paths (orders already known, a release) take no lock: only _check does.
    if not _on:
        return  # (an event already under way as disable() ran: it would list a stale hold)
    if event == "acquired":
        held = _held()
        if detail and held:  # detail: True, or "restore" (a Condition's re-acquire)
            target = id(obj)
            for first in held:
                source = id(first)
                if source != target:
                    targets = _succ.get(source)
                    if targets is None or target not in targets or _dead:
                        _check(held, obj, detail is True)
                        break
        held.append(obj)
    elif event == "release":
        owners = _held_by.get(detail) if isinstance(detail, int) else None  # the holder's
        if owners is None or detail == _p.get_ident():
            owners = _held()
        # One list operation, atomic on every build: the holder may change its list while
        # another thread releases its lock (a Lock used as a signal). threadkit's locks
        # compare by identity; of a re-entered RLock, which entry goes does not matter.
        with suppress(ValueError):
            owners.remove(obj)
    elif event == "acquire":  # about to wait: the order counts even if the wait never ends
        held = _held()
        if held:
            _check(held, obj, detail is True)  # (in "raise" mode: refused before waiting)


# ----------------------------------------------------------------------------------------
# The wait-for graph

# _wait_lock guards _waits (ident -> what the thread waits for, innermost last, each with
# whether the wait has a deadline).
_wait_lock = _p.allocate_lock()
_waits: dict[int, list[tuple[object, bool]]] = {}

_LOCKS = (_instrument.TracedLock, _instrument.TracedRLock)


def _blockers(ident: int) -> list[tuple[object, int]]:
    """(primitive, holder) for each untimed wait of ``ident`` (``_wait_lock`` held)."""
    out: list[tuple[object, int]] = []
    for obj, timed in _waits.get(ident, ()):
        if timed:
            continue
        try:
            holders = _instrument.holders(obj)
        except Exception:  # a primitive in an odd state: no edge
            continue
        if ident in holders and not _is_future(obj):
            continue  # it has it (a stale wait about to end), or waits on its own hold
        out.extend((obj, h) for h in holders)
    return out


def _is_future(obj: object) -> bool:
    return isinstance(obj, Future)


def _find_cycle(start: int) -> list[tuple[int, object, int]] | None:
    """A cycle of untimed waits through ``start``: [(waiter, primitive, holder), ...]."""
    path: list[tuple[int, object, int]] = []
    seen = {start}

    def walk(ident: int) -> bool:
        for obj, holder in _blockers(ident):
            path.append((ident, obj, holder))
            if holder == start:
                return True
            if holder not in seen:
                seen.add(holder)
                if walk(holder):
                    return True
            path.pop()
        return False

    return path if walk(start) else None


def _describe(obj: object) -> str:
    if isinstance(obj, _LOCKS):
        return _label(obj)
    if isinstance(obj, _p.StdThread):
        return f"the end of thread {obj.name!r}"
    if _is_future(obj):
        return f"Future at {id(obj):#x}"
    return f"{type(obj).__name__} at {id(obj):#x}"


def _deadlock_message(cycle: list[tuple[int, object, int]]) -> str:
    parts = []
    for waiter, obj, holder in cycle:
        what = "running" if _is_future(obj) else "held by"
        if isinstance(obj, _p.StdThread):
            parts.append(f"{_thread_name(waiter)!r} waits for {_describe(obj)}")
        else:
            who = _thread_name(holder)
            parts.append(f"{_thread_name(waiter)!r} waits for {_describe(obj)} {what} {who!r}")
    return "deadlock: " + ", ".join(parts) + " (a cycle: none of them can go on)"


def _wait_listener(event: str, obj: object, detail: object) -> None:
    if not _deadlocks or getattr(_tls, "busy", False):
        return  # off, or a wait inside the detector (a finalizer, a signal handler)
    me = _p.get_ident()
    cycle = None
    with _guarded(_wait_lock):
        if event == "park":
            if not _deadlocks:  # disable() ran since the look above: it cleared _waits
                return  # type: ignore[unreachable]  # (mypy: no other thread changes it)
            stack = _waits.setdefault(me, [])
            stack.append((obj, detail is not None))
            cycle = None if detail is not None else _find_cycle(me)
        else:  # "wake", "timeout", "abandon"
            waits = _waits.get(me)
            if waits:
                for i in range(len(waits) - 1, -1, -1):
                    if waits[i][0] is obj:
                        del waits[i]
                        break
                if not waits:
                    del _waits[me]
    if cycle is not None:
        raise DeadlockError(
            _deadlock_message(cycle),
            cycle=tuple((_thread_name(waiter), _describe(o)) for waiter, o, _ in cycle),
        )  # the "abandon" that follows takes the wait out


@contextmanager
def _guarded(lock: Any) -> Iterator[None]:
    """Hold one of the detector's locks with this thread marked busy: an event that arrives
    meanwhile in this thread (a finalizer, a signal handler) is then left out instead of
    waiting for the lock its own thread holds."""
    was = getattr(_tls, "busy", False)
    _tls.busy = True
    try:
        with lock:
            yield
    finally:
        _tls.busy = was


def _after_fork_in_child() -> None:
    """A forked child has only the forking thread: fresh locks, the others' state dropped.

    A lock of the detector held by another thread at the fork would stay held forever in
    the child (that thread does not exist there); so would its waits and held locks.
    """
    global _lock, _wait_lock
    _lock = _p.allocate_lock()
    _wait_lock = _p.allocate_lock()
    me = _p.get_ident()
    for ident in [i for i in _held_by if i != me]:
        del _held_by[ident]
    for ident in [i for i in _waits if i != me]:
        del _waits[ident]
    _tls.busy = False


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


# ----------------------------------------------------------------------------------------
# The switch


def enable(mode: Mode = "warn", *, deadlocks: bool = True) -> None:
    """Start the lock-order detector (and, with ``deadlocks``, runtime deadlock detection).

    Locks made from now on (``threading.Lock()``/``RLock()``, ``threadkit.Lock()``/``RLock()``,
    a ``Condition``'s default lock) are traced; ``Mutex`` and ``RWLock`` are traced whenever
    they were made. Each inversion of an observed lock order is reported once:

    * ``"warn"``: a ``LockOrderWarning`` (a ``RuntimeWarning``) with both stacks;
    * ``"raise"``: the acquire that inverts the order raises ``LockOrderError`` instead;
    * ``"collect"``: only recorded.

    In every mode ``inversions()`` returns what was found. With ``deadlocks`` (the default), a
    thread whose untimed wait would close a cycle of waits gets ``DeadlockError`` instead of
    hanging. Calling ``enable()`` again changes the mode. Costs a few microseconds per lock
    operation while on. ``disable()`` puts the originals back; locks made while it was on
    stay traced locks (a little slower than C locks, and silent while it is off).

    Raises:
        ValueError: an unknown ``mode``.

    Examples:
        >>> import threading
        >>> from threadkit import diagnostics
        >>> diagnostics.enable("collect")
        >>> type(threading.Lock()).__name__  # made while it is on: traced
        'TracedLock'
        >>> diagnostics.disable()
        >>> type(threading.Lock()).__name__
        'lock'
    """
    global _mode, _on, _deadlocks, _epoch
    if mode not in _MODES:
        raise ValueError(f"unknown lock-order mode {mode!r}: expected 'warn', 'raise' or 'collect'")
    with _guarded(_lock):
        _mode = mode
        start = not _on
        if start:
            _epoch += 1  # (the held locks listed before: see _held)
        _on = True
        add_waits = deadlocks and not _deadlocks
        drop_waits = _deadlocks and not deadlocks
        _deadlocks = bool(deadlocks)
    if start:
        _instrument.install()
        _hooks.add_listener(_order_listener, ("acquire", "acquired", "release"))
    if add_waits:
        _hooks.add_listener(_wait_listener, ("park", "wake", "timeout", "abandon"))
    if drop_waits:
        _hooks.remove_listener(_wait_listener)
        with _guarded(_wait_lock):
            _waits.clear()


def disable() -> None:
    """Stop both detectors (idempotent); what ``inversions()`` returns is kept.

    Examples:
        >>> import threading
        >>> from threadkit import diagnostics
        >>> diagnostics.clear()
        >>> diagnostics.enable("collect")
        >>> a, b = threading.Lock(), threading.Lock()
        >>> with a, b:
        ...     pass
        >>> with b, a:
        ...     pass
        >>> diagnostics.disable()
        >>> diagnostics.enabled(), len(diagnostics.inversions())  # off, the findings kept
        (False, 1)
        >>> diagnostics.clear()
    """
    global _on, _deadlocks
    with _guarded(_lock):
        if not _on:
            return
        _on = False
        waits = _deadlocks
        _deadlocks = False
    _hooks.remove_listener(_order_listener)
    if waits:
        _hooks.remove_listener(_wait_listener)
    _instrument.uninstall()
    with _guarded(_wait_lock):
        _waits.clear()
    # (The held locks listed now are dropped by the next enable(): see _held.)


def enabled() -> bool:
    """True while the lock-order detector is on.

    Examples:
        >>> from threadkit import diagnostics
        >>> diagnostics.enable("collect")
        >>> diagnostics.enabled()
        True
        >>> diagnostics.disable()
        >>> diagnostics.enabled()
        False
    """
    return _on


def mode() -> Mode:
    """The current mode (the last one given to ``enable()``).

    Examples:
        >>> from threadkit import diagnostics
        >>> diagnostics.enable("collect")
        >>> diagnostics.mode()
        'collect'
        >>> diagnostics.enable("raise")  # again: a new mode
        >>> diagnostics.mode()
        'raise'
        >>> diagnostics.disable()
    """
    return _mode


def inversions() -> list[LockOrderInversion]:
    """Every lock-order inversion found so far, oldest first.

    Examples:
        >>> import threading
        >>> from threadkit import diagnostics
        >>> diagnostics.clear()
        >>> diagnostics.enable("collect")
        >>> a, b = threading.Lock(), threading.Lock()
        >>> with a, b:
        ...     pass
        >>> with b, a:
        ...     pass
        >>> [found.threads for found in diagnostics.inversions()]
        [('MainThread', 'MainThread')]
        >>> diagnostics.disable(); diagnostics.clear()
    """
    with _guarded(_lock):
        return list(_found)


def clear() -> None:
    """Forget the observed orders and the inversions found (not the locks held now).

    Examples:
        >>> import threading
        >>> from threadkit import diagnostics
        >>> diagnostics.enable("collect")
        >>> a, b = threading.Lock(), threading.Lock()
        >>> with a, b:
        ...     pass
        >>> diagnostics.clear()  # forgets the order a -> b
        >>> with b, a:  # so this order is the first one seen, not an inversion
        ...     pass
        >>> diagnostics.inversions()
        []
        >>> diagnostics.disable(); diagnostics.clear()
    """
    with _guarded(_lock):
        _succ.clear()
        _nodes.clear()
        _dead.clear()
        _found.clear()
        _seen_cycles.clear()


def enable_from_environment() -> None:
    """``enable()`` if ``THREADKIT_LOCK_ORDER`` is ``warn``, ``raise``, ``collect`` or ``1``."""
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if not value or value in ("0", "off", "false", "no"):
        return
    if value in ("1", "on", "true", "yes"):
        value = "warn"
    if value not in _MODES:  # a typo must not stop the program: said, and left off
        warnings.warn(
            f"{ENV_VAR}={value!r} ignored: expected 'warn', 'raise', 'collect' (or '1'), or unset",
            RuntimeWarning,
            stacklevel=2,
        )
        return
    enable(value)  # type: ignore[arg-type]
