"""``threadkit.testing.explore``: run a threaded test under many schedules, report and replay.

Design: ``../shared/EXPLORER.md``. A test body runs once per schedule on the controlled
runtime (``_runtime``) with the stdlib's names patched (``_models.patch``); a strategy takes
every scheduling decision:

* ``random``: uniform among the runnable threads, seeded per schedule;
* ``pct``: probabilistic concurrency testing with depth ``d`` (random distinct priorities,
  ``d - 1`` priority change points);
* ``portfolio`` (the default): random and PCT schedules alternately;
* ``dfs``: preemption-bounded depth-first search, bound 0, 1, ... ``max_preemptions``
  (continue the current thread by default); ``exhausted`` means no failing schedule exists
  within that bound at this granularity;
* ``replay``: the decisions of a schedule string, each checked.

A failure is minimised (each preemption replaced by "continue", kept if the run still fails
the same way) and reported with its interleaved trace and a replay string.

Granularity (``_granularity``): "sync" (the default) makes every operation of a modelled
primitive a scheduling point; "line" adds every line of the code under test, "opcode" every
bytecode instruction. Options add nondeterminism the real world has: ``timeouts="early"``
(a timed wait may time out while other threads could still run) and ``spurious_wakeups``
(``Condition.wait`` may return with no notify), each at most ``NONDETERMINISM`` times per
schedule.

A schedule string is ``tk1:<granularity>[,early][,spurious][@<python>]:<choices>:<crc>``:
the decisions (chosen option, number of options) in base64, and a CRC-32 of the sequence of
operations. Sync strings carry no Python version: the same decisions replay on every version
(the scheduling points are the primitives' operations, not bytecode); line and opcode
strings name the version they were recorded on, and replaying them on another warns.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import random
import sys
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from .._core import _primitives as _p
from ._granularity import GRANULARITIES, Granularity
from ._models import patch, thread_ended, thread_started
from ._runtime import (
    RUNNABLE,
    WORKERS,
    Failure,
    LThread,
    Runtime,
    current_runtime,
    pin,
    runtime_here,
    unpin,
)

__all__ = [
    "ExploreFailure",
    "ExploreResult",
    "ReplayDivergence",
    "atomic",
    "point",
    "replay",
    "run",
    "test",
]

StrategyName = Literal["random", "pct", "portfolio", "dfs"]
GranularityName = Literal["sync", "line", "opcode"]
_F = TypeVar("_F", bound=Callable[..., Any])

#: A schedule's real-time limit: past it, uncontrolled blocking is reported.
WATCHDOG = 10.0

#: The largest preemption bound of ``strategy="dfs"`` when ``max_preemptions`` is None.
DFS_MAX_PREEMPTIONS = 2

#: How many early timeouts, and how many spurious wake-ups, one schedule may take (when on).
NONDETERMINISM = 2

#: The default ``max_steps`` per granularity.
MAX_STEPS = {"sync": 10_000, "line": 100_000, "opcode": 1_000_000}


class ReplayDivergence(RuntimeError):  # noqa: N818 - the name EXPLORER.md gives it
    """A replayed schedule met a different choice than the one recorded (the code changed).

    Examples:
        >>> from threadkit.testing import explore
        >>> schedule = "tk1:sync:AQIBAg==:9e830f87"  # recorded from a test that starts a thread
        >>> try:
        ...     explore.replay(lambda: None, schedule)  # a test that starts none
        ... except explore.ReplayDivergence as exc:
        ...     print(exc)
        the schedule recorded 2 decisions, the code now takes 0 (did the test change?)
    """


@dataclass(frozen=True)
class ExploreFailure:
    """A failing schedule, minimised.

    Attributes:
        kind: "assertion", "exception", "deadlock", "misuse", "livelock" or "uncontrolled".
        message: the exception, or the deadlock's table of waiting threads.
        thread: the thread that failed ("" for a deadlock).
        location: ``file:line`` where it failed.
        schedule: the replay string (``replay(fn, schedule)`` runs exactly this schedule).
        preemptions: how many times the schedule switched away from a thread that could run.
        trace: the interleaving, one line per run of steps of one thread.
        traceback: the exception's traceback.

    Examples:
        >>> import threading
        >>> from threadkit.testing import explore
        >>> def body():  # two threads take two locks in opposite orders
        ...     a, b = threading.Lock(), threading.Lock()
        ...     def ab():
        ...         with a, b:
        ...             pass
        ...     t = threading.Thread(target=ab)
        ...     t.start()
        ...     with b, a:
        ...         pass
        ...     t.join()
        >>> failure = explore.run(body, strategy="dfs").failure
        >>> failure.kind, failure.preemptions, failure.schedule
        ('deadlock', 1, 'tk1:sync:AAIBAgECAQI=:d063621c')
        >>> print(failure.message.splitlines()[-1])
          cycle: MainThread -> Thread-1 (ab) -> MainThread
    """

    kind: str
    message: str
    thread: str
    location: str
    schedule: str
    preemptions: int
    trace: str = field(repr=False)
    traceback: str = field(repr=False, default="")

    def report(self) -> str:
        """Everything, as text."""
        where = f" in {self.thread!r}" if self.thread else ""
        at = f" at {self.location}" if self.location else ""
        return (
            f"{self.kind}{where}{at}: {self.message}\n"
            f"schedule ({self.preemptions} preemption(s)):\n{self.trace}\n"
            f"replay: threadkit.testing.explore.replay(fn, {self.schedule!r})"
        )


@dataclass(frozen=True)
class ExploreResult:
    """What ``run`` found: ``schedules`` run, ``exhausted`` (dfs only), ``failure`` or None.

    Examples:
        >>> import threading
        >>> from threadkit.testing import explore
        >>> def body():
        ...     count, lock = {"n": 0}, threading.Lock()
        ...     def add():
        ...         with lock:
        ...             count["n"] += 1
        ...     t = threading.Thread(target=add)
        ...     t.start(); add(); t.join()
        ...     assert count["n"] == 2
        >>> explore.run(body, strategy="dfs")  # every schedule passes
        ExploreResult(schedules=..., exhausted=True, failure=None)
    """

    schedules: int
    exhausted: bool
    failure: ExploreFailure | None


# -- strategies -------------------------------------------------------------------------


class _Random:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def choose(self, runnable: list[LThread], current: LThread | None, step: int) -> int:
        return self.rng.randrange(len(runnable))


class _PCT:
    """PCT (Burckhardt et al.): the highest-priority runnable thread runs; at ``depth - 1``
    random steps the running thread's priority drops below every other."""

    def __init__(self, seed: int, depth: int, steps: int) -> None:
        self.rng = random.Random(seed)
        self.priority: dict[int, float] = {}
        self.changes = set(self.rng.sample(range(max(steps, depth)), depth - 1))
        self.low = 0.0

    def choose(self, runnable: list[LThread], current: LThread | None, step: int) -> int:
        for thread in runnable:
            if thread.index not in self.priority:
                self.priority[thread.index] = 1.0 + self.rng.random()
        best = max(range(len(runnable)), key=lambda i: self.priority[runnable[i].index])
        if step in self.changes:
            self.low -= 1.0
            self.priority[runnable[best].index] = self.low
            best = max(range(len(runnable)), key=lambda i: self.priority[runnable[i].index])
        return best


class _Prefix:
    """Follow ``prefix``, then continue the current thread (or the first runnable); records
    each decision as (chosen, options, default) for the DFS and the minimiser."""

    def __init__(self, prefix: list[int], check: list[int] | None = None) -> None:
        self.prefix = prefix
        self.check = check  # replay: the recorded number of options at each decision
        self.taken: list[tuple[int, int, int]] = []

    def choose(self, runnable: list[LThread], current: LThread | None, step: int) -> int:
        default = _default(runnable, current)
        if step < len(self.prefix):
            choice = self.prefix[step]
            if self.check is not None and self.check[step] != len(runnable):
                raise ReplayDivergence(
                    f"step {step}: the schedule recorded {self.check[step]} runnable threads "
                    f"here, the code now has {len(runnable)} (did the test change?)"
                )
            if choice >= len(runnable):
                if self.check is not None:
                    raise ReplayDivergence(
                        f"step {step}: the schedule chose thread #{choice} of {len(runnable)}"
                    )
                choice = max(default, 0)  # (minimising: a shorter run than recorded)
        else:
            choice = max(default, 0)
        self.taken.append((choice, len(runnable), default))
        return choice


def _default(runnable: list[LThread], current: LThread | None) -> int:
    """The index of "continue the current thread", or -1 when it cannot run (then any
    choice is free: switching away from a blocked or finished thread is no preemption)."""
    if current is None or current.state != RUNNABLE:
        return -1
    return runnable.index(current)


def _preemptions(taken: list[tuple[int, int, int]]) -> int:
    return sum(1 for chosen, _, default in taken if default >= 0 and chosen != default)


def _dfs_next(taken: list[tuple[int, int, int]], bound: int) -> list[int] | None:
    """The prefix of the next schedule in preemption-bounded DFS order, or None (done)."""
    used = _preemptions(taken)
    for j in range(len(taken) - 1, -1, -1):
        chosen, options, default = taken[j]
        if default >= 0:
            order = [default] + [i for i in range(options) if i != default]
        else:
            order = list(range(options))
        position = order.index(chosen)
        if default >= 0 and chosen != default:
            used -= 1  # (the preemptions before j)
        for nxt in order[position + 1 :]:
            if used + (default >= 0 and nxt != default) <= bound:
                return [c for c, _, _ in taken[:j]] + [nxt]
    return None


# -- schedules --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    """What a schedule depends on besides its decisions (named in its string)."""

    granularity: str = "sync"
    early: bool = False
    spurious: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_steps: int | None = None
    watchdog: float | None = None

    def header(self) -> str:
        text = self.granularity + ",early" * self.early + ",spurious" * self.spurious
        if self.granularity != "sync":
            text += f"@{sys.version_info[0]}.{sys.version_info[1]}"
        return text

    def steps(self) -> int:
        return MAX_STEPS[self.granularity] if self.max_steps is None else self.max_steps


def _ops_crc(rt: Runtime) -> int:
    return zlib.crc32("\n".join(step[1] for step in rt.trace).encode()) & 0xFFFFFFFF


def _encode(taken: list[tuple[int, int, int]], rt: Runtime, options: _Options) -> str:
    data = bytes(b for chosen, count, _ in taken for b in (min(chosen, 255), min(count, 255)))
    data64 = base64.urlsafe_b64encode(data).decode() or "-"
    return f"tk1:{options.header()}:{data64}:{_ops_crc(rt):08x}"


def _decode(schedule: str) -> tuple[list[int], list[int], int, _Options, str]:
    """(choices, option counts, crc, options, the recording Python's version or "")."""
    try:
        tag, header, data, crc = schedule.strip().split(":")
        header, _, version = header.partition("@")
        granularity, *flags = header.split(",")
        if tag != "tk1" or granularity not in GRANULARITIES:
            raise ValueError
        if set(flags) - {"early", "spurious"}:
            raise ValueError
        raw = b"" if data == "-" else base64.b64decode(data.encode(), altchars=b"-_", validate=True)
        if len(raw) % 2:
            raise ValueError
        options = _Options(granularity, "early" in flags, "spurious" in flags)
        return list(raw[0::2]), list(raw[1::2]), int(crc, 16), options, version
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"not a threadkit schedule string: {schedule!r}") from exc


# -- running ----------------------------------------------------------------------------


class _Session:
    """What the schedules of one exploration share: the options, the patched stdlib names
    and the line or opcode points."""

    def __init__(self, fn: Callable[[], object], options: _Options) -> None:
        self.fn = fn
        self.options = options
        self.granularity = Granularity(options.granularity, options.include, options.exclude)

    def once(self, strategy: Any) -> Runtime:
        """Run one schedule."""
        options = self.options
        rt = Runtime(
            strategy,
            WORKERS,
            max_steps=options.steps(),
            early_timeouts=NONDETERMINISM if options.early else 0,
            spurious_wakeups=NONDETERMINISM if options.spurious else 0,
        )
        rt.thread_hook = self._thread_hook
        rt.under_test = self.granularity.traced
        rt.run(self.fn, WATCHDOG if options.watchdog is None else options.watchdog)
        if rt.strategy_error is not None:
            raise rt.strategy_error
        return rt

    def _thread_hook(self, thread: LThread, starting: bool) -> None:
        if starting:
            thread_started(thread)
        else:
            thread_ended()
        if self.granularity.thread_hook is not None:
            self.granularity.thread_hook(starting)


@contextlib.contextmanager
def _session(fn: Callable[[], object], options: _Options) -> Iterator[_Session]:
    if not _ONE_AT_A_TIME.acquire(False):
        raise RuntimeError(
            "an exploration is already running (in this thread or another): the explorer "
            "patches process-wide names, so explorations run one at a time, never nested"
        )
    try:
        session = _Session(fn, options)
        cpus = pin()  # (the caller too: it hands the first thread over and waits for the last)
        try:
            with patch(), session.granularity:
                yield session
        finally:
            unpin(cpus)
    finally:
        _ONE_AT_A_TIME.release()


_ONE_AT_A_TIME = _p.allocate_lock()  # held while an exploration runs


def _trace(rt: Runtime, last: int = 40) -> str:
    """The interleaving, one line per run of consecutive steps of one thread (the last
    ``last`` lines), "[preempted]" where the thread could have gone on; a line or opcode
    step shows as its line number only."""
    lines: list[str] = []
    previous = None
    shown = ""  # the file of the last location shown on this line
    at: tuple[str, int] = ("", 0)  # the last location shown on this line
    first = max(len(rt.trace) - last * 8, 0)
    for i, (thread, op, code, line, _) in enumerate(rt.trace[first:], first):
        filename = "" if code is None else code.co_filename
        if thread is not previous:
            if i - 1 in rt.preempted and lines:
                lines[-1] += "  [preempted]"
            lines.append(f"  {thread.name}:")
            previous, shown, at = thread, "", ("", 0)
        plain = op in ("line", "op")
        if plain and at == (filename, line):
            continue  # (another instruction of the same line)
        where = f"{filename.rsplit('/', 1)[-1]}:{line}" if filename != shown else f":{line}"
        lines[-1] += f" {where}" if plain else f" {op} {where}"
        shown, at = filename, (filename, line)
    return "\n".join(lines[-last:])


def _report(session: _Session, rt: Runtime, strategy: _Prefix, minimise: bool) -> ExploreFailure:
    """Minimise the failing run ``rt`` (decisions in ``strategy.taken``) and describe it."""
    first = rt.failure
    assert first is not None
    failure: Failure = first
    taken = strategy.taken
    if failure.kind == "uncontrolled":  # (real blocking: replaying it only waits again)
        minimise = False
    j = 0
    while minimise and j < len(taken):  # greedily replace each preemption by "continue"
        chosen, _, default = taken[j]
        if default >= 0 and chosen != default:  # this preemption, replaced; the rest kept
            trial = _Prefix(
                [c for c, _, _ in taken[:j]] + [default] + [c for c, _, _ in taken[j + 1 :]]
            )
            again = session.once(trial)
            if again.failure is not None and failure.same_as(again.failure):
                rt, taken, failure = again, trial.taken, again.failure
                continue
        j += 1
    if minimise and _preemptions(taken) > 0:  # a search by bound finds the fewest for sure
        found = _fewer(session, failure, _preemptions(taken))
        if found is not None and found[0].failure is not None:
            rt, taken = found
            failure = found[0].failure
    return _failure(rt, failure, taken, session.options)


def _failure(
    rt: Runtime, failure: Failure, taken: list[tuple[int, int, int]], options: _Options
) -> ExploreFailure:
    return ExploreFailure(
        failure.kind,
        failure.message,
        failure.thread,
        failure.location,
        _encode(taken, rt, options),
        _preemptions(taken),
        _trace(rt),
        failure.traceback,
    )


def _fewer(
    session: _Session, failure: Failure, preemptions: int
) -> tuple[Runtime, list[tuple[int, int, int]]] | None:
    """The same failure with fewer than ``preemptions`` preemptions, by bounded DFS (bound
    0, 1, ...; at most MINIMISE_SCHEDULES schedules in all), or None."""
    budget = MINIMISE_SCHEDULES
    for bound in range(preemptions):
        prefix: list[int] | None = []
        while prefix is not None and budget > 0:
            walker = _Prefix(prefix)
            rt = session.once(walker)
            budget -= 1
            if failure.same_as(rt.failure):
                return rt, walker.taken
            prefix = _dfs_next(walker.taken, bound)
    return None


#: How many schedules the minimiser's search may run.
MINIMISE_SCHEDULES = 2000


def run(
    fn: Callable[[], object],
    *,
    strategy: StrategyName = "portfolio",
    schedules: int = 1000,
    seed: int = 0,
    granularity: GranularityName = "sync",
    max_preemptions: int | None = None,
    timeouts: Literal["exact", "early"] = "exact",
    spurious_wakeups: bool = False,
    depth: int = 3,
    max_steps: int | None = None,
    minimise: bool = True,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    watchdog: float | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> ExploreResult:
    """Run ``fn`` (a zero-argument test body) under up to ``schedules`` schedules.

    ``fn`` uses ``threading``, ``queue`` and ``time`` as usual: during each schedule those
    names are the explorer's models. It must be deterministic apart from thread scheduling.
    Stops at the first failing schedule and returns it minimised, with its replay string.

    Args:
        strategy: "portfolio" (random and PCT alternately), "random", "pct" or "dfs".
        schedules: the most schedules to run.
        seed: the seed of the random choices (schedule ``i`` is seeded with
            ``seed * 2**32 + i``: two seeds never share a schedule).
        granularity: "sync" (every primitive operation is a scheduling point), "line"
            (and every line of the code under test) or "opcode" (and every bytecode
            instruction of it).
        max_preemptions: dfs: the largest preemption bound (default DFS_MAX_PREEMPTIONS, 2).
        timeouts: "exact" (a timed wait times out only when nothing else can run before
            its deadline) or "early" (time may also pass while other threads could run:
            up to NONDETERMINISM early timeouts per schedule).
        spurious_wakeups: ``Condition.wait`` may return with no notify (up to
            NONDETERMINISM times per schedule).
        depth: pct: the bug depth ``d`` aimed at.
        max_steps: a schedule longer than this is a "livelock" failure (default per
            granularity: MAX_STEPS).
        minimise: reduce a failing schedule to the fewest preemptions that fail the same
            way (greedily, then by a bounded search of at most MINIMISE_SCHEDULES).
        include: ``fnmatch`` patterns of files that are under test although they are in
            the stdlib or site-packages (they get preemptions, and line and opcode points).
        exclude: patterns of files that are not under test (no line or opcode points).
            An operation reached from code not under test never preempts.
        watchdog: seconds of real time a schedule may take before it is reported as
            "uncontrolled" blocking (default WATCHDOG, 10).
        progress: called after each schedule with (schedules run, ``schedules``), from
            the calling thread (a progress bar).

    Raises:
        ValueError: an unknown strategy, granularity or timeouts, or ``schedules`` < 1.

    Examples:
        >>> import threading
        >>> from threadkit.testing import explore
        >>> def body():
        ...     count = {"n": 0}
        ...     def add():
        ...         n = count["n"]
        ...         explore.point()  # another thread may run here
        ...         count["n"] = n + 1
        ...     t = threading.Thread(target=add)
        ...     t.start(); add(); t.join()
        ...     assert count["n"] == 2, count
        >>> result = explore.run(body, strategy="dfs")
        >>> result.schedules, result.failure.kind, result.failure.message
        (4, 'assertion', "AssertionError: {'n': 1}")
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r}: sync, line or opcode")
    if strategy not in ("random", "pct", "portfolio", "dfs"):
        raise ValueError(f"unknown strategy {strategy!r}: random, pct, portfolio or dfs")
    if timeouts not in ("exact", "early"):
        raise ValueError(f"unknown timeouts {timeouts!r}: 'exact' or 'early'")
    if schedules < 1:
        raise ValueError("schedules must be >= 1")
    options = _Options(
        granularity,
        timeouts == "early",
        bool(spurious_wakeups),
        tuple(include),
        tuple(exclude),
        max_steps,
        watchdog,
    )
    with _session(_unwrapped(fn), options) as session:
        return _explore(
            session,
            strategy,
            schedules=schedules,
            seed=seed,
            max_preemptions=max_preemptions,
            depth=depth,
            minimise=minimise,
            progress=progress,
        )


def _explore(
    session: _Session,
    strategy: str,
    *,
    schedules: int,
    seed: int,
    max_preemptions: int | None,
    depth: int,
    minimise: bool,
    progress: Callable[[int, int], object] | None,
) -> ExploreResult:
    count = 0
    if strategy == "dfs":
        bound_max = DFS_MAX_PREEMPTIONS if max_preemptions is None else max_preemptions
        for bound in range(bound_max + 1):
            prefix: list[int] | None = []
            while prefix is not None:
                if count >= schedules:
                    return ExploreResult(count, False, None)
                walker = _Prefix(prefix)
                rt = session.once(walker)
                count += 1
                if progress is not None:
                    progress(count, schedules)
                if rt.failure is not None:
                    return ExploreResult(count, False, _report(session, rt, walker, minimise))
                prefix = _dfs_next(walker.taken, bound)
        return ExploreResult(count, True, None)
    steps = 20
    for i in range(schedules):
        use_pct = strategy == "pct" or (strategy == "portfolio" and i % 2 == 1)
        mixed = seed * 2**32 + i
        chooser: Any = _PCT(mixed, depth, steps) if use_pct else _Random(mixed)
        recorder = _Recording(chooser)
        rt = session.once(recorder)
        count += 1
        if progress is not None:
            progress(count, schedules)
        steps = max(steps, len(rt.decisions))
        if rt.failure is not None:
            failure = _report(session, rt, recorder.as_prefix(), minimise)
            return ExploreResult(count, False, failure)
    return ExploreResult(count, False, None)


class _Recording:
    """A strategy that records the decisions of another, with their defaults."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.taken: list[tuple[int, int, int]] = []

    def choose(self, runnable: list[LThread], current: LThread | None, step: int) -> int:
        choice: int = self.inner.choose(runnable, current, step)
        default = _default(runnable, current)
        self.taken.append((choice, len(runnable), default))
        return choice

    def as_prefix(self) -> _Prefix:
        walker = _Prefix([c for c, _, _ in self.taken])
        walker.taken = list(self.taken)
        return walker


def replay(
    fn: Callable[[], object],
    schedule: str,
    *,
    max_steps: int | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    watchdog: float | None = None,
) -> ExploreResult:
    """Run ``fn`` under exactly the schedule ``schedule`` (a string from a failure): its
    granularity and options come from the string (a test decorated with ``@test`` is
    replayed itself, not explored again).

    Raises:
        ReplayDivergence: the code no longer makes the recorded decisions.
        ValueError: ``schedule`` is not a schedule string.

    Examples:
        >>> import threading
        >>> from threadkit.testing import explore
        >>> def body():
        ...     count = {"n": 0}
        ...     def add():
        ...         n = count["n"]
        ...         explore.point()  # another thread may run here
        ...         count["n"] = n + 1
        ...     t = threading.Thread(target=add)
        ...     t.start(); add(); t.join()
        ...     assert count["n"] == 2, count
        >>> failure = explore.run(body, strategy="dfs").failure
        >>> failure.schedule
        'tk1:sync:AQIBAg==:9e830f87'
        >>> explore.replay(body, failure.schedule).failure == failure
        True
    """
    defaults = getattr(fn, "explore_options", {})  # (an @explore.test function's)
    include = include or tuple(defaults.get("include", ()))
    exclude = exclude or tuple(defaults.get("exclude", ()))
    max_steps = defaults.get("max_steps") if max_steps is None else max_steps
    watchdog = defaults.get("watchdog") if watchdog is None else watchdog
    choices, counts, crc, options, version = _decode(schedule)
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if version and version != here:
        warnings.warn(
            f"this {options.granularity} schedule was recorded on Python {version}, "
            f"replayed on {here}: the bytecode may differ (sync schedules do not depend on it)",
            RuntimeWarning,
            stacklevel=2,
        )
    options = _Options(
        options.granularity,
        options.early,
        options.spurious,
        tuple(include),
        tuple(exclude),
        max_steps,
        watchdog,
    )
    walker = _Prefix(choices, counts)
    with _session(_unwrapped(fn), options) as session:
        rt = session.once(walker)
    if len(walker.taken) != len(choices):
        raise ReplayDivergence(
            f"the schedule recorded {len(choices)} decisions, the code now takes "
            f"{len(walker.taken)} (did the test change?)"
        )
    if _ops_crc(rt) != crc:
        raise ReplayDivergence(
            "the replayed operations differ from the recorded ones (did the test change?)"
        )
    if rt.failure is None:
        return ExploreResult(1, False, None)
    return ExploreResult(1, False, _failure(rt, rt.failure, walker.taken, options))


def _unwrapped(fn: Callable[[], object]) -> Callable[[], object]:
    """The test itself, if ``fn`` is one decorated with ``@test``."""
    inner = getattr(fn, "__wrapped__", None)
    return inner if inner is not None and hasattr(fn, "explore_options") else fn


def point() -> None:
    """A scheduling point here (another thread may run before the next line); outside an
    explored run it does nothing. For a place between two plain statements that matters at
    sync granularity, where only the primitives' operations are points.

    Examples:
        >>> import threading
        >>> from threadkit.testing import explore
        >>> def racy(between):
        ...     def body():
        ...         count = {"n": 0}
        ...         def add():
        ...             n = count["n"]; between(); count["n"] = n + 1
        ...         t = threading.Thread(target=add)
        ...         t.start(); add(); t.join()
        ...         assert count["n"] == 2
        ...     return body
        >>> [explore.run(racy(between), strategy="dfs").failure is None
        ...  for between in (lambda: None, explore.point)]
        [True, False]
    """
    rt = runtime_here()
    if rt is not None:  # asked for by name: a preemption point wherever it is called from
        caller = sys._getframe(1)
        rt.point_at("point", caller.f_code, caller.f_lineno)


@contextlib.contextmanager
def atomic() -> Iterator[None]:
    """No preemption inside the block: its operations run without another thread between
    them (unless one must wait: a blocked thread always lets another run). For code the test
    declares atomic (a region the real program protects by other means). Outside an
    explored run it does nothing.

    Examples:
        >>> import threading
        >>> from threadkit.testing import explore
        >>> def body():
        ...     count = {"n": 0}
        ...     def add():
        ...         with explore.atomic():  # no other thread between the read and the write
        ...             n = count["n"]; explore.point(); count["n"] = n + 1
        ...     t = threading.Thread(target=add)
        ...     t.start(); add(); t.join()
        ...     assert count["n"] == 2
        >>> explore.run(body, strategy="dfs").failure is None
        True
    """
    rt = current_runtime()
    me = None if rt is None else rt.by_ident.get(_p.get_ident())
    if me is None:
        yield
        return
    me.atomic += 1
    try:
        yield
    finally:
        me.atomic -= 1


def test(**options: Any) -> Callable[[_F], _F]:
    """Decorate a zero-argument test: it runs under ``run(fn, **options)`` and raises
    ``AssertionError`` with the report (and the replay string) if a schedule fails. The
    options are kept as the wrapper's ``explore_options`` (``threadkit explore`` uses them).

    Examples:
        >>> import threading
        >>> from threadkit.testing import explore
        >>> @explore.test(strategy="dfs")
        ... def test_counter():
        ...     count, lock = {"n": 0}, threading.Lock()
        ...     def add():
        ...         with lock:
        ...             count["n"] += 1
        ...     t = threading.Thread(target=add)
        ...     t.start(); add(); t.join()
        ...     assert count["n"] == 2
        >>> test_counter()  # every schedule passes: no AssertionError
        >>> test_counter.explore_options
        {'strategy': 'dfs'}
    """

    def decorate(fn: _F) -> _F:
        @functools.wraps(fn)
        def wrapper() -> None:
            result = run(fn, **options)
            if result.failure is not None:
                raise AssertionError(result.failure.report())

        wrapper.explore_options = dict(options)  # type: ignore[attr-defined]  # (the CLI's)
        return wrapper  # type: ignore[return-value]

    return decorate
