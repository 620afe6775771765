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

Status: sync granularity only (every operation of a modelled primitive is a scheduling
point; plain Python lines are not).
"""

from __future__ import annotations

import base64
import binascii
import functools
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from ._models import patch
from ._runtime import Failure, LThread, Runtime

__all__ = ["ExploreFailure", "ExploreResult", "ReplayDivergence", "replay", "run", "test"]

StrategyName = Literal["random", "pct", "portfolio", "dfs"]
_F = TypeVar("_F", bound=Callable[..., Any])

#: A schedule's real-time limit: past it, uncontrolled blocking is reported.
WATCHDOG = 10.0


class ReplayDivergence(RuntimeError):  # noqa: N818 - the name EXPLORER.md gives it
    """A replayed schedule met a different choice than the one recorded (the code changed)."""


@dataclass(frozen=True)
class ExploreFailure:
    """A failing schedule, minimised.

    Attributes:
        kind: "assertion", "exception", "deadlock", "misuse" or "livelock".
        message: the exception, or the deadlock's table of waiting threads.
        thread: the thread that failed ("" for a deadlock).
        location: ``file:line`` where it failed.
        schedule: the replay string (``replay(fn, schedule)`` runs exactly this schedule).
        preemptions: how many times the schedule switched away from a thread that could run.
        trace: the interleaving, one line per run of steps of one thread.
        traceback: the exception's traceback.
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
    """What ``run`` found: ``schedules`` run, ``exhausted`` (dfs only), ``failure`` or None."""

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
    return runnable.index(current) if current in runnable else -1


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


def _encode(taken: list[tuple[int, int, int]], ops: list[str]) -> str:
    data = bytes(b for chosen, options, _ in taken for b in (min(chosen, 255), min(options, 255)))
    crc = zlib.crc32("\n".join(ops).encode()) & 0xFFFFFFFF
    return f"tk1:sync:{base64.urlsafe_b64encode(data).decode() or '-'}:{crc:08x}"


def _decode(schedule: str) -> tuple[list[int], list[int], int]:
    try:
        tag, granularity, data, crc = schedule.split(":")
        if tag != "tk1" or granularity != "sync":
            raise ValueError
        raw = b"" if data == "-" else base64.urlsafe_b64decode(data.encode())
        return list(raw[0::2]), list(raw[1::2]), int(crc, 16)
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"not a threadkit schedule string: {schedule!r}") from exc


# -- running ----------------------------------------------------------------------------


def _once(fn: Callable[[], object], strategy: Any, max_steps: int) -> Runtime:
    rt = Runtime(strategy, max_steps=max_steps)
    with patch():
        rt.run(fn, WATCHDOG)
    if rt.strategy_error is not None:
        raise rt.strategy_error
    return rt


def _trace(rt: Runtime, last: int = 40) -> str:
    lines: list[str] = []
    previous = None
    for thread, op, where in rt.trace[-last * 4 :]:
        if thread != previous:
            lines.append(f"  {thread}: {op} ({where})")
            previous = thread
        else:
            lines[-1] += f"; {op}"
    return "\n".join(lines[-last:])


def _report(
    fn: Callable[[], object], rt: Runtime, strategy: _Prefix, max_steps: int, minimise: bool
) -> ExploreFailure:
    """Minimise the failing run ``rt`` (decisions in ``strategy.taken``) and describe it."""
    first = rt.failure
    assert first is not None
    failure: Failure = first
    taken = strategy.taken
    j = 0
    while minimise and j < len(taken):  # greedily replace each preemption by "continue"
        chosen, _, default = taken[j]
        if default >= 0 and chosen != default:  # this preemption, replaced; the rest kept
            trial = _Prefix(
                [c for c, _, _ in taken[:j]] + [default] + [c for c, _, _ in taken[j + 1 :]]
            )
            again = _once(fn, trial, max_steps)
            if again.failure is not None and failure.same_as(again.failure):
                rt, taken, failure = again, trial.taken, again.failure
                continue
        j += 1
    if minimise and _preemptions(taken) > 0:  # a search by bound finds the fewest for sure
        found = _fewer(fn, failure, _preemptions(taken), max_steps)
        if found is not None and found[0].failure is not None:
            rt, taken = found
            failure = found[0].failure
    ops = [op for _, op, _ in rt.trace]
    return ExploreFailure(
        failure.kind,
        failure.message,
        failure.thread,
        failure.location,
        _encode(taken, ops),
        _preemptions(taken),
        _trace(rt),
        failure.traceback,
    )


def _fewer(
    fn: Callable[[], object], failure: Failure, preemptions: int, max_steps: int
) -> tuple[Runtime, list[tuple[int, int, int]]] | None:
    """The same failure with fewer than ``preemptions`` preemptions, by bounded DFS (bound
    0, 1, ...; at most MINIMISE_SCHEDULES schedules in all), or None."""
    budget = MINIMISE_SCHEDULES
    for bound in range(preemptions):
        prefix: list[int] | None = []
        while prefix is not None and budget > 0:
            walker = _Prefix(prefix)
            rt = _once(fn, walker, max_steps)
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
    granularity: Literal["sync"] = "sync",
    max_preemptions: int | None = None,
    depth: int = 3,
    max_steps: int = 10_000,
    minimise: bool = True,
) -> ExploreResult:
    """Run ``fn`` (a zero-argument test body) under up to ``schedules`` schedules.

    ``fn`` uses ``threading`` (and ``time``) as usual: during each schedule those names are
    the explorer's models. It must be deterministic apart from thread scheduling. Stops at
    the first failing schedule and returns it minimised, with its replay string.

    Args:
        strategy: "portfolio" (random and PCT alternately), "random", "pct" or "dfs".
        schedules: the most schedules to run.
        seed: the seed of the random choices (schedule ``i`` uses ``seed + i``).
        granularity: "sync" (every primitive operation is a scheduling point).
        max_preemptions: dfs: the largest preemption bound (default 2).
        depth: pct: the bug depth ``d`` aimed at.
        max_steps: a schedule longer than this is a "livelock" failure.
        minimise: reduce a failing schedule to the fewest preemptions that fail the same
            way (greedily, then by a bounded search of at most MINIMISE_SCHEDULES).

    Raises:
        ValueError: an unknown strategy or granularity, or ``schedules`` < 1.
    """
    if granularity != "sync":
        raise ValueError(f"granularity {granularity!r} is not supported yet: only 'sync'")
    if strategy not in ("random", "pct", "portfolio", "dfs"):
        raise ValueError(f"unknown strategy {strategy!r}: random, pct, portfolio or dfs")
    if schedules < 1:
        raise ValueError("schedules must be >= 1")
    count = 0
    if strategy == "dfs":
        bound_max = 2 if max_preemptions is None else max_preemptions
        for bound in range(bound_max + 1):
            prefix: list[int] | None = []
            while prefix is not None:
                if count >= schedules:
                    return ExploreResult(count, False, None)
                walker = _Prefix(prefix)
                rt = _once(fn, walker, max_steps)
                count += 1
                if rt.failure is not None:
                    failure = _report(fn, rt, walker, max_steps, minimise)
                    return ExploreResult(count, False, failure)
                prefix = _dfs_next(walker.taken, bound)
        return ExploreResult(count, True, None)
    steps = 20
    for i in range(schedules):
        use_pct = strategy == "pct" or (strategy == "portfolio" and i % 2 == 1)
        chooser: Any = _PCT(seed + i, depth, steps) if use_pct else _Random(seed + i)
        recorder = _Recording(chooser)
        rt = _once(fn, recorder, max_steps)
        count += 1
        steps = max(steps, len(rt.decisions))
        if rt.failure is not None:
            failure = _report(fn, rt, recorder.as_prefix(), max_steps, minimise)
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


def replay(fn: Callable[[], object], schedule: str, *, max_steps: int = 10_000) -> ExploreResult:
    """Run ``fn`` under exactly the schedule ``schedule`` (a string from a failure).

    Raises:
        ReplayDivergence: the code no longer makes the recorded decisions.
        ValueError: ``schedule`` is not a schedule string.
    """
    choices, options, crc = _decode(schedule)
    walker = _Prefix(choices, options)
    rt = _once(fn, walker, max_steps)
    ops = [op for _, op, _ in rt.trace]
    if rt.failure is None:
        if (zlib.crc32("\n".join(ops).encode()) & 0xFFFFFFFF) != crc:
            raise ReplayDivergence("the replayed operations differ from the recorded ones")
        return ExploreResult(1, False, None)
    failure: Failure = rt.failure
    return ExploreResult(
        1,
        False,
        ExploreFailure(
            failure.kind,
            failure.message,
            failure.thread,
            failure.location,
            _encode(walker.taken, ops),
            _preemptions(walker.taken),
            _trace(rt),
            failure.traceback,
        ),
    )


def test(**options: Any) -> Callable[[_F], _F]:
    """Decorate a zero-argument test: it runs under ``run(fn, **options)`` and raises
    ``AssertionError`` with the report (and the replay string) if a schedule fails."""

    def decorate(fn: _F) -> _F:
        @functools.wraps(fn)
        def wrapper() -> None:
            result = run(fn, **options)
            if result.failure is not None:
                raise AssertionError(result.failure.report())

        return wrapper  # type: ignore[return-value]

    return decorate
