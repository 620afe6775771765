"""The explorer's acceptance table and speed on the explore cases, in one run.

* Acceptance (issue 10 item 7): for each buggy case at sync granularity, the bound at which
  bounded DFS finds it (and how many schedules that took), how many portfolio schedules
  each seed 0-9 needed to find it (at most 2,000), and whether every failure replays to the
  same kind and location; for each fixed case, whether DFS exhausts bound 2 and 2,000
  portfolio schedules pass.
* Speed (item 8): schedules per second of 2,000 random schedules of each case (a failure
  ends a run, unminimised, and the next seed goes on); the median over the cases.

    python bench/bench_explore.py [--cases ../shared/explore-cases/cases.py] [--speed-only]

Speed is never asserted in the tests: these figures are for reading, on a quiet machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType

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
    print("| case | bound | dfs: found at (schedules) | portfolio, seeds 0-9 | replay |")
    print("|---|---|---|---|---|")
    for case in cases.BUGGY:
        if case.granularity != "sync":
            print(
                f"| {case.id} | {case.min_preemptions} | needs {case.granularity} granularity | | |"
            )
            continue
        r = explore.run(
            case.body, strategy="dfs", max_preemptions=case.min_preemptions, schedules=100_000
        )
        found = f"{r.failure.preemptions} ({r.schedules})" if r.failure else f"no ({r.schedules})"
        seeds, ok = [], True
        for seed in range(10):
            p = explore.run(case.body, schedules=2000, seed=seed)
            seeds.append(str(p.schedules) if p.failure else "-")
            if p.failure is not None:
                again = explore.replay(case.body, p.failure.schedule).failure
                ok &= again is not None and (again.kind, again.location) == (
                    p.failure.kind,
                    p.failure.location,
                )
        print(f"| {case.id} | {case.min_preemptions} | {found} | {' '.join(seeds)} | {ok} |")
    print("\n| fixed case | dfs bound 2 | portfolio 2,000 |\n|---|---|---|")
    for case in cases.FIXED:
        r = explore.run(case.body, strategy="dfs", max_preemptions=2, schedules=500_000)
        p = explore.run(case.body, schedules=2000)
        dfs = f"{'exhausted' if r.exhausted else 'not exhausted'} ({r.schedules})"
        reports = (r.failure and r.failure.kind, p.failure and p.failure.kind)
        print(f"| {case.id} | {dfs}, {reports[0]} | {reports[1]} |")


def speed(cases: ModuleType, n: int) -> None:
    rates = []
    print("\n| case | schedules/s (random, sync) |\n|---|---|")
    for case in cases.BUGGY + cases.FIXED:
        done, start = 0, time.perf_counter()
        seed = 0
        while done < n:  # a buggy case stops at its failure: go on with the next seed
            r = explore.run(
                case.body, strategy="random", schedules=n - done, seed=seed, minimise=False
            )
            done += r.schedules
            seed += 10_000
        rate = done / (time.perf_counter() - start)
        rates.append(rate)
        print(f"| {case.id} | {rate:,.0f} |")
    print(f"| median | {statistics.median(rates):,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    parser.add_argument("--schedules", type=int, default=2000)
    parser.add_argument("--speed-only", action="store_true")
    args = parser.parse_args()
    cases = load(args.cases)
    if not args.speed_only:
        acceptance(cases)
    speed(cases, args.schedules)


if __name__ == "__main__":
    main()
