"""The explorer's acceptance table and speed on the explore cases, in one run.

* Acceptance (issue 10 item 7): for each buggy case at sync granularity, the bound at which
  bounded DFS finds it (and how many schedules that took), how many portfolio schedules
  each seed 0-9 needed to find it (at most 2,000), and whether every failure replays to the
  same kind and location; for each fixed case, whether DFS exhausts bound 2 and 2,000
  portfolio schedules pass.
* Speed (item 8): schedules per second of 2,000 random schedules of each case (a failure
  ends a run, unminimised, and the next seed goes on; a row that would take over --cap
  seconds on a case runs fewer), and the median over the cases, at sync, line and opcode
  granularity, for threadkit and for interleave-test (PyPI) on the same cases, with the
  ratio of the two sync medians. interleave-test has no sync granularity of its own: its
  row runs it at line granularity with the cases file excluded from tracing, so only its
  modelled primitives are scheduling points. It needs Python >= 3.12 (sys.monitoring); on
  3.11 its sync row runs with sys.monitoring stubbed (marked *), its other rows print n/a.

    python bench/bench_explore.py [--cases ../shared/explore-cases/cases.py] [--speed-only]
        [--schedules 2000] [--cap 10] [--repeat 1] [--granularity sync ...]
        [--peer-only | --no-peer]

Speed is never asserted in the tests: these figures are for reading, on a quiet machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from threadkit.testing import explore

DEFAULT_CASES = Path(__file__).resolve().parents[1].parent / "shared/explore-cases/cases.py"


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("explore_cases", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["explore_cases"] = module
    spec.loader.exec_module(module)
    return module


def acceptance(cases: ModuleType) -> None:
    """Issue 10 item 7: each buggy case at its own granularity (dfs at its bound, portfolio
    seeds 0-9 within 2,000 schedules, every failure replayed); each fixed case: dfs bound 2
    exhausted at sync granularity and 2,000 portfolio schedules, with no report."""
    print(
        "| case | granularity | bound | dfs: found at (schedules) | portfolio: schedules to "
        "the first failure, seeds 0-9 | replay |"
    )
    print("|---|---|---|---|---|---|")
    for case in cases.BUGGY:
        g = case.granularity
        r = explore.run(
            case.body,
            strategy="dfs",
            granularity=g,
            max_preemptions=case.min_preemptions,
            schedules=100_000,
        )
        found = f"{r.failure.preemptions} ({r.schedules})" if r.failure else f"no ({r.schedules})"
        ok = r.failure is not None and r.failure.kind == case.failure
        failures = [r.failure] if r.failure else []
        seeds = []
        for seed in range(10):
            p = explore.run(case.body, schedules=2000, seed=seed, granularity=g)
            seeds.append(str(p.schedules) if p.failure else "-")
            ok &= p.failure is not None and p.failure.kind == case.failure
            if p.failure is not None:
                failures.append(p.failure)
        for failure in failures:
            again = explore.replay(case.body, failure.schedule).failure
            ok &= again is not None and (again.kind, again.location) == (
                failure.kind,
                failure.location,
            )
        verdict = f"OK ({len(failures)} replayed)" if ok else "FAILED"
        print(
            f"| {case.id} | {g} | {case.min_preemptions} | {found} | {' '.join(seeds)} "
            f"| {verdict} |"
        )
    print("\n| fixed case | dfs bound 2 (sync) | portfolio 2,000 |\n|---|---|---|")
    for case in cases.FIXED:
        r = explore.run(case.body, strategy="dfs", max_preemptions=2, schedules=500_000)
        p = explore.run(case.body, schedules=2000)
        dfs = f"{'exhausted' if r.exhausted else 'not exhausted'} ({r.schedules})"
        reports = (r.failure and r.failure.kind, p.failure and p.failure.kind)
        print(
            f"| {case.id} | {dfs}, report: {reports[0]} | {p.schedules} run, report: {reports[1]} |"
        )


# -- speed ------------------------------------------------------------------------------

#: Untimed schedules before each measurement: the first schedules of a body pay for imports,
#: caches and (interleave-test) sys.monitoring's first pass; they also estimate the rate.
WARMUP = 20
PEER = "interleave-test"
PEER_PIN = "interleave-test==0.1.0"
#: Issue item 8: the median over the cases at sync granularity.
TARGET_SYNC = 3000

# A runner runs one case body under up to n schedules from seed, stopping at the first
# failure, and returns (schedules run, whether the last one failed).
Runner = Callable[[Callable[[], None], int, int], tuple[int, bool]]


@dataclass
class Cell:
    rate: float  # schedules/s
    schedules: int  # schedules run
    failures: int  # failing schedules among them
    capped: bool  # fewer than asked, to keep within the time cap


@dataclass
class Row:
    name: str
    runner: Runner | None
    why_not: str = ""  # what the row prints when runner is None
    cells: dict[str, Cell | str] = field(default_factory=dict)


def threadkit_row(granularity: str) -> Row:
    def runner(body: Callable[[], None], n: int, seed: int) -> tuple[int, bool]:
        r = explore.run(
            body,
            strategy="random",
            schedules=n,
            seed=seed,
            granularity=granularity,  # type: ignore[arg-type]
            minimise=False,
        )
        return r.schedules, r.failure is not None

    try:  # line and opcode raise ValueError until they land
        runner(lambda: None, 1, 0)
    except ValueError as e:
        return Row(f"threadkit {granularity}", None, f"n/a ({e})")
    except Exception as e:
        return Row(f"threadkit {granularity}", None, f"error ({type(e).__name__}: {e})")
    return Row(f"threadkit {granularity}", runner)


class _MonitoringStub:
    """Stands in for sys.monitoring (3.12+) so that interleave-test imports on 3.11.

    Only for its sync row, where it traces nothing: with the real sys.monitoring it turns
    LINE events on and off around every schedule, each location fires once and is disabled,
    and CPython re-instruments the code it runs after each switch. The stub skips that cost
    (on 3.12.1 here its sync row ran 1.0-1.7x faster stubbed), so the row is an upper bound.
    """

    DISABLE = object()
    events = SimpleNamespace(LINE=1 << 5, INSTRUCTION=1 << 6)

    def use_tool_id(self, tool_id: int, name: str) -> None:
        pass

    def free_tool_id(self, tool_id: int) -> None:
        pass

    def register_callback(self, tool_id: int, event: int, func: object) -> None:
        pass

    def set_events(self, tool_id: int, events: int) -> None:
        pass

    def restart_events(self) -> None:
        pass


def import_peer() -> tuple[Any, str]:
    """interleave_test and "" (or "stubbed" where sys.monitoring was stubbed), or None
    and why not."""
    if importlib.util.find_spec("interleave_test") is None:
        if sys.version_info < (3, 12):
            how = f"pip install --ignore-requires-python '{PEER_PIN}'"
        else:
            how = "pip install -r bench/requirements.txt"
        return None, f"not installed ({how})"
    if hasattr(sys, "monitoring"):
        import interleave_test

        return interleave_test, ""
    sys.monitoring = _MonitoringStub()  # type: ignore[attr-defined]
    try:
        import interleave_test
    finally:
        del sys.monitoring  # type: ignore[attr-defined]
    return interleave_test, "stubbed"


def peer_rows(cases_path: Path, granularities: list[str]) -> list[Row]:
    """interleave-test's rows. It has line and opcode granularity; its sync granularity is
    line granularity with the cases file excluded from tracing, so that only its modelled
    primitives are scheduling points (what it does for stdlib and site-packages code)."""
    it, how = import_peer()
    rows = []
    for g in granularities:
        name = f"{PEER} {g}"
        if it is None:
            rows.append(Row(name, None, how))
            continue
        if how == "stubbed" and g != "sync":
            rows.append(Row(name, None, "n/a (needs sys.monitoring: Python >= 3.12)"))
            continue
        where = (
            {"granularity": "line", "exclude": [str(cases_path)]}
            if g == "sync"
            else {"granularity": g, "include": [str(cases_path)]}
        )

        def runner(
            body: Callable[[], None], n: int, seed: int, where: dict[str, Any] = where
        ) -> tuple[int, bool]:
            r = it.explore(
                body, iterations=n, seed=seed, strategy="random", raise_on_failure=False, **where
            )
            return r.schedules_run, r.failure is not None

        rows.append(Row(name + ("*" if how == "stubbed" else ""), runner))
    return rows


def measure(runner: Runner, body: Callable[[], None], n: int, cap: float) -> Cell:
    """Schedules/s of n random schedules of body (fewer where they would take over cap
    seconds). A failure ends a run, as it does for every row; the next seed goes on."""
    t = time.perf_counter()
    ran, _ = runner(body, WARMUP, 1_000_000_007)
    estimate = ran / max(time.perf_counter() - t, 1e-9)
    target = max(1, min(n, int(cap * estimate)))
    done = failures = seed = 0
    start = time.perf_counter()
    while done < target and time.perf_counter() - start < 2 * cap:
        ran, failed = runner(body, target - done, seed)
        done += ran
        failures += failed
        seed += 10_000
    return Cell(done / (time.perf_counter() - start), done, failures, target < n)


def speed(
    cases: ModuleType,
    cases_path: Path,
    n: int,
    *,
    cap: float,
    repeat: int,
    granularities: list[str],
    which: str,
) -> None:
    rows = []
    if which != "peer":
        rows += [threadkit_row(g) for g in granularities]
    if which != "threadkit":
        rows += peer_rows(cases_path, granularities)
    ids = [case.id for case in cases.BUGGY + cases.FIXED]
    # Every row on a case before the next case, so that drift and other load on the machine
    # fall on every row alike; the best of `repeat` measurements of the same schedules.
    for case in cases.BUGGY + cases.FIXED:
        for _ in range(repeat):
            for row in rows:
                if row.runner is None or isinstance(row.cells.get(case.id), str):
                    continue
                try:
                    cell = measure(row.runner, case.body, n, cap)
                except Exception as e:
                    row.cells[case.id] = f"error: {type(e).__name__}"
                    continue
                best = row.cells.get(case.id)
                if not isinstance(best, Cell) or cell.rate > best.rate:
                    row.cells[case.id] = cell
    medians: dict[str, float] = {}
    print(
        f"\n{n:,} random schedules of each case (fewer where over {cap:g} s: marked ~), "
        f"{WARMUP} untimed first; schedules/s, best of {repeat}; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs\n"
    )
    print("| explorer | " + " | ".join(ids) + " | median |")
    print("|---" * (len(ids) + 2) + "|")
    for row in rows:
        if row.runner is None:
            print(f"| {row.name} | {row.why_not} |" + " |" * len(ids))
            continue
        shown, rates = [], []
        for cid in ids:
            cell = row.cells[cid]
            if isinstance(cell, str):
                shown.append(cell)
                continue
            rates.append(cell.rate)
            shown.append(f"{'~' if cell.capped else ''}{cell.rate:,.0f}")
        if rates:
            medians[row.name.rstrip("*")] = statistics.median(rates)
        median = f"{statistics.median(rates):,.0f}" if rates else "-"
        print(f"| {row.name} | " + " | ".join(shown) + f" | {median} |")
    print("\nschedules run / failing schedules among them (each failure ends a run):\n")
    print("| explorer | " + " | ".join(ids) + " |")
    print("|---" * (len(ids) + 1) + "|")
    for row in rows:
        if row.runner is not None:
            cells = [row.cells[cid] for cid in ids]
            shown = [c if isinstance(c, str) else f"{c.schedules}/{c.failures}" for c in cells]
            print(f"| {row.name} | " + " | ".join(shown) + " |")
    if any(row.name.endswith("*") for row in rows):
        print(
            f"\n* {PEER} needs Python >= 3.12 (sys.monitoring); on "
            f"{platform.python_version()} its sys.monitoring calls are stubbed. At sync "
            "granularity it traces nothing, so the stub only skips its per-schedule switching "
            "of events on and off: read this row as an upper bound on its speed here."
        )
    ours, theirs = medians.get("threadkit sync"), medians.get(f"{PEER} sync")
    if ours is not None:
        verdict = "met" if ours >= TARGET_SYNC else "NOT met"
        print(f"\nthreadkit sync median {ours:,.0f}/s: target >= {TARGET_SYNC:,}/s {verdict}")
    if ours is not None and theirs is not None:
        print(f"threadkit sync median / {PEER} sync median: {ours / theirs:.2f}x")
    else:
        print(f"threadkit sync median / {PEER} sync median: n/a")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--schedules", type=int, default=2000)
    parser.add_argument(
        "--cap", type=float, default=10.0, help="seconds per case and row (default 10)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure each case this often, keep the best"
    )
    parser.add_argument("--granularity", action="append", choices=["sync", "line", "opcode"])
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--acceptance-only", action="store_true")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--peer-only", action="store_true", help=f"only the {PEER} rows")
    only.add_argument("--no-peer", action="store_true", help=f"no {PEER} rows")
    args = parser.parse_args()
    cases = load(args.cases)
    if not args.speed_only:
        began = time.perf_counter()
        acceptance(cases)
        print(f"\n(acceptance: {time.perf_counter() - began:.0f} s)\n")
    if args.acceptance_only:
        return
    which = "peer" if args.peer_only else "threadkit" if args.no_peer else "both"
    granularities = args.granularity or ["sync", "line", "opcode"]
    speed(
        cases,
        args.cases.resolve(),
        args.schedules,
        cap=args.cap,
        repeat=args.repeat,
        granularities=granularities,
        which=which,
    )


if __name__ == "__main__":
    main()
