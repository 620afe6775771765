"""The tour's explorer scenes (chapter 8) show what they claim: the failure found, its replay
string, and the replay failing the same way."""

from __future__ import annotations

import re
import sys

import pytest

from threadkit import _tour
from threadkit.testing import explore

pytestmark = pytest.mark.timeout(60)


def scene_output(capsys: pytest.CaptureFixture[str], name: str) -> tuple[str, str]:
    """Run the scene ``name``; return its output as printed and with whitespace made flat."""
    _tour.run(_tour.select([name]))
    out = capsys.readouterr().out
    return out, " ".join(out.split())


def replay_string(out: str) -> str:
    found = re.search(r"replay string: (\S+)", out)
    assert found is not None, out
    return found.group(1)


def test_the_chapter_follows_the_others() -> None:
    chapters = sorted({s.chapter for s in _tour.scenes()})
    assert chapters[-1] == 8
    assert [s.name for s in _tour.scenes() if s.chapter == 8] == ["lost-update", "lost-wakeup"]


def test_lost_update_scene(capsys: pytest.CaptureFixture[str]) -> None:
    out, flat = scene_output(capsys, "lost-update")
    stdlib, threadkit_part = flat.split("stdlib:", 1)[1].split("threadkit:", 1)
    assert re.search(r"run 500 times -> name != 12 in \d+ of 500 runs", stdlib)
    # The coarser granularities cannot see it, and say they looked everywhere.
    assert re.search(r'granularity="sync": \d+ schedules, none fails \(exhausted\)', flat)
    assert re.search(r'granularity="line": \d+ schedules, none fails \(exhausted\)', flat)
    assert re.search(
        r'granularity="opcode", a point before every bytecode instruction: schedule \d+ fails: '
        r"assertion in 'MainThread' at _tour.py:\d+: AssertionError: name == 11",
        threadkit_part,
    )
    assert "the schedule, 1 preemption(s)" in flat
    assert re.search(r"^ +worker-1: _tour.py:\d+", out, re.M)
    assert re.search(r"^ +worker-2: _tour.py:\d+", out, re.M)
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    schedule = replay_string(out)
    assert re.fullmatch(rf"tk1:opcode@{version}:[A-Za-z0-9_=-]+:[0-9a-f]{{8}}", schedule)
    assert "one update lost" in flat
    assert (
        "explore.replay(body, that string) -> AssertionError: name == 11: the same failure, "
        "every time" in flat
    )
    assert re.search(r"with its lock: \d+ schedules, none fails, exhausted", flat)
    # The printed string is a real one: it replays the same failure here too.
    again = explore.replay(_tour._notebook_increment(locked=False), schedule)
    assert again.failure is not None
    assert again.failure.message == "AssertionError: name == 11"


def test_lost_wakeup_scene(capsys: pytest.CaptureFixture[str]) -> None:
    out, flat = scene_output(capsys, "lost-wakeup")
    stdlib = flat.split("stdlib:", 1)[1].split("threadkit:", 1)[0]
    assert re.search(r"500 runs on real threads -> \d+ lost wake-up\(s\)", stdlib)
    assert re.search(
        r'explore.run\(body, strategy="dfs", max_preemptions=2\) -> schedule \d+ is a '
        r"deadlock: no thread can run",
        flat,
    )
    assert re.search(r"consumer: waits on Event #1 \(not set\) at _tour.py:\d+", flat)
    assert " 0x" not in out  # (addresses taken out: the same output every run)
    history = flat.split("consumer: waits on Event", 1)[1].split("history:", 1)[1]
    assert re.search(  # in the order they ran: the second set(), then the clear() wiping it
        r"set by producer \(step \d+, _tour.py:\d+\); clear by consumer \(step \d+, "
        r"_tour.py:\d+\); wait by consumer",
        history,
    )
    assert "the schedule, 2 preemption(s)" in flat
    schedule = replay_string(out)
    assert re.fullmatch(r"tk1:sync:[A-Za-z0-9_=-]+:[0-9a-f]{8}", schedule)
    assert "before its clear() (step" in flat
    assert "which wiped it" in flat
    assert "explore.replay(body, that string) -> deadlock: the same table, every time" in flat
    assert re.search(r"clear\(\) before the drain: \d+ schedules, none fails, exhausted", flat)
    again = explore.replay(_tour._event_drain(clear_first=False, patience=None), schedule)
    assert again.failure is not None
    assert again.failure.kind == "deadlock"


def test_the_scenes_print_the_same_every_run(capsys: pytest.CaptureFixture[str]) -> None:
    def explorer_part(name: str) -> str:
        out, _ = scene_output(capsys, name)
        return out.split("threadkit:", 1)[1]  # (the stdlib's count may vary)

    for name in ("lost-update", "lost-wakeup"):
        assert explorer_part(name) == explorer_part(name)
