"""A sync-granularity schedule recorded on one Python replays on the others.

The explorer's sync scheduling points are the primitives' operations, not bytecode, so the
decisions of a schedule do not depend on the interpreter. This test records, with bounded
DFS, the failing schedule of every sync case of ``../shared/explore-cases`` on each Python
it finds (this one, and 3.11-3.13 and a free-threaded 3.13t where installed), and replays
every string on every interpreter: each must fail the same way at the same place.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXPLORE_CASES

pytestmark = pytest.mark.timeout(300)

SRC = Path(__file__).resolve().parents[1] / "src"

# Run by each interpreter: with no input, record every sync case's schedule; with a JSON
# map of case -> schedule on stdin, replay them. Prints a JSON map of case -> result.
SCRIPT = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("explore_cases", sys.argv[1])
cases = importlib.util.module_from_spec(spec)
sys.modules["explore_cases"] = cases
spec.loader.exec_module(cases)
from threadkit.testing import explore
todo = json.loads(sys.stdin.read() or "{}")
out = {}
for case in cases.BUGGY:
    if case.granularity != "sync":
        continue
    if todo:
        failure = explore.replay(case.body, todo[case.id]).failure
    else:
        failure = explore.run(
            case.body, strategy="dfs", max_preemptions=case.min_preemptions, schedules=20000
        ).failure
    out[case.id] = None if failure is None else [
        failure.schedule, failure.kind, failure.location.rsplit(":", 1)[-1]
    ]
print(json.dumps(out))
"""


def interpreters() -> list[str]:
    """This interpreter and every other 3.11-3.13(t) found under pyenv or the build cache."""
    found = [sys.executable]
    roots = [Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"]
    for root in roots:
        for version in ("3.11", "3.12", "3.13"):
            for candidate in sorted(root.glob(f"{version}.*/bin/python{version}")):
                found.append(str(candidate))
    built = Path.home() / ".cache" / "threadkit-pythons" / "3.13t" / "bin" / "python3.13t"
    if built.exists():
        found.append(str(built))
    unique: dict[str, str] = {}
    for exe in found:
        unique.setdefault(os.path.realpath(exe), exe)
    return list(unique.values())


def run_on(exe: str, todo: dict[str, str] | None = None) -> dict[str, list[str] | None]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    proc = subprocess.run(
        [exe, "-c", SCRIPT, str(EXPLORE_CASES)],
        input=json.dumps(todo or {}),
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, f"{exe}: {proc.stderr}"
    result: dict[str, list[str] | None] = json.loads(proc.stdout)
    return result


@pytest.mark.skipif(not EXPLORE_CASES.exists(), reason="needs ../shared/explore-cases")
def test_sync_schedules_replay_on_every_python() -> None:
    exes = interpreters()
    recorded = {exe: run_on(exe) for exe in exes}
    for exe, schedules in recorded.items():
        assert schedules, f"{exe} recorded no schedules"
        assert all(v is not None for v in schedules.values()), f"{exe}: {schedules}"
    first = recorded[exes[0]]
    for exe, schedules in recorded.items():  # the same decisions on every version
        assert schedules == first, f"{exe} recorded other schedules than {exes[0]}"
    for source, schedules in recorded.items():
        todo = {case: entry[0] for case, entry in schedules.items() if entry is not None}
        for exe in exes:
            replayed = run_on(exe, todo)
            assert replayed == schedules, f"recorded on {source}, replayed on {exe}"
    print(f"{len(first)} schedules, identical and replayed on: {', '.join(exes)}")
