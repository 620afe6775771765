"""``threadkit doctor``: what it reports matches this interpreter."""

from __future__ import annotations

import json
import platform
import queue
import sys
import sysconfig

import pytest

import threadkit
from threadkit._cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["doctor", *args])
    return status, capsys.readouterr().out


def test_the_report_names_this_interpreter(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys)
    assert status == 0
    first = out.splitlines()[0]
    assert first.startswith(f"Python {platform.python_version()} (")
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    assert ("free-threaded build" in first) == free_threaded
    assert f"threadkit {threadkit.__version__} at " in out
    assert "[applies]" in out


def test_the_json_report_checks_the_traps_live(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "--json")
    assert status == 0
    facts = json.loads(out)
    traps = {t["trap"].split(":")[0]: t["applies"] for t in facts["traps"]}
    assert traps["Queue has no shutdown()"] == (not hasattr(queue.Queue, "shutdown"))
    assert traps["Barrier(0) is accepted (and every wait() breaks it)"] == (
        sys.version_info < (3, 13)
    )
    assert set(facts["extras"]) == {"dask", "test"}
    assert facts["extras"]["test"].startswith("installed (pytest ")  # (this run has pytest)


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--nonsense"]) == 2
    assert "unrecognized arguments: --nonsense" in capsys.readouterr().err
