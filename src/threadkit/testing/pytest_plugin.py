"""The pytest marker ``@pytest.mark.explore``: run a test under the interleaving explorer.

Load it with ``pytest -p threadkit.testing.pytest_plugin``, or
``pytest_plugins = ["threadkit.testing.pytest_plugin"]`` in a ``conftest.py``. It is not
registered automatically (an installed plugin would have pytest rewrite the asserts of all
of threadkit).

* ``@pytest.mark.explore(**options)``: the test's body runs once per schedule under
  ``threadkit.testing.explore.run(body, **options)``; a failing schedule fails the test with
  the explorer's report and the command line that replays exactly that schedule. Fixtures
  are set up once, outside the explored runs: make the threads, locks and shared state the
  explorer is to control inside the test's body.
* ``--tk-schedules=N``, ``--tk-seed=N``, ``--tk-strategy=NAME``, ``--tk-granularity=NAME``:
  override the marker's options for every marked test.
* ``--tk-replay=SCHEDULE``: run each selected marked test under that one schedule
  (``explore.replay``); select the test with its node id.

Unmarked tests run as usual; a test decorated with ``@explore.test`` needs no plugin.
"""

from __future__ import annotations

import inspect
import os
import shlex
from typing import Any

import pytest

from .._core._util import python_command
from . import explore

#: The name this module is loaded under (``-p`` takes it).
PLUGIN = "threadkit.testing.pytest_plugin"

_SCHEDULES = "--tk-schedules"
_SEED = "--tk-seed"
_STRATEGY = "--tk-strategy"
_GRANULARITY = "--tk-granularity"
_REPLAY = "--tk-replay"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("threadkit")
    group.addoption(
        _SCHEDULES,
        type=int,
        default=None,
        metavar="N",
        help="@pytest.mark.explore tests: run at most N schedules (overrides the marker)",
    )
    group.addoption(
        _SEED,
        type=int,
        default=None,
        metavar="N",
        help="@pytest.mark.explore tests: the seed of the random schedules",
    )
    group.addoption(
        _STRATEGY,
        default=None,
        choices=("portfolio", "random", "pct", "dfs"),
        help="@pytest.mark.explore tests: the explorer's strategy",
    )
    group.addoption(
        _GRANULARITY,
        default=None,
        choices=("sync", "line", "opcode"),
        help="@pytest.mark.explore tests: where threads may be switched",
    )
    group.addoption(
        _REPLAY,
        default=None,
        metavar="SCHEDULE",
        help="@pytest.mark.explore tests: run just this schedule (a string from a failure; "
        "select the test with its node id)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "explore(**options): run the test once per schedule under threadkit's interleaving "
        "explorer (threadkit.testing.explore.run(body, **options)); fixtures are set up once",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    markers = list(pyfuncitem.iter_markers("explore"))
    if not markers:
        return None  # pytest calls it as usual
    options: dict[str, Any] = {}
    for mark in reversed(markers):  # the closest marker (the function's) wins
        if mark.args:
            pytest.fail(
                f"@pytest.mark.explore takes keyword options only, not {mark.args!r}",
                pytrace=False,
            )
        options.update(mark.kwargs)
    function = pyfuncitem.obj
    if inspect.iscoroutinefunction(function):
        pytest.fail("@pytest.mark.explore: an async test cannot be explored", pytrace=False)
    funcargs = pyfuncitem.funcargs
    arguments = {name: funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}

    def body() -> None:
        function(**arguments)

    config = pyfuncitem.config
    schedule: str | None = config.getoption(_REPLAY)
    if schedule is not None:
        result = _replay(body, schedule, options)
    else:
        for option, key in (
            (_SCHEDULES, "schedules"),
            (_SEED, "seed"),
            (_STRATEGY, "strategy"),
            (_GRANULARITY, "granularity"),
        ):
            value = config.getoption(option)
            if value is not None:
                options[key] = value
        result = _run(body, options)
    failure = result.failure
    if failure is not None:
        if schedule is not None:
            found = "the replayed schedule fails"
        else:
            found = f"schedule {result.schedules} fails"
        pytest.fail(
            f"threadkit explore: {found}:\n{failure.report()}\n\n"
            f"replay it with:\n  {_replay_command(pyfuncitem, failure.schedule)}",
            pytrace=False,
        )
    return True


def _run(body: Any, options: dict[str, Any]) -> explore.ExploreResult:
    """``explore.run``; bad options (an unknown one, ``schedules=0``) fail the test."""
    try:
        return explore.run(body, **options)
    except (TypeError, ValueError) as exc:  # (the body's own errors are reported, not raised)
        problem = str(exc)
    pytest.fail(f"threadkit explore: bad options {options!r}: {problem}", pytrace=False)


def _replay(body: Any, schedule: str, options: dict[str, Any]) -> explore.ExploreResult:
    """``explore.replay`` with those of the marker's options it takes (``max_steps``...)."""
    takes = inspect.signature(explore.replay).parameters
    kwargs = {
        key: value
        for key, value in options.items()
        if key in takes and takes[key].kind is inspect.Parameter.KEYWORD_ONLY
    }
    try:
        return explore.replay(body, schedule, **kwargs)
    except (ValueError, explore.ReplayDivergence) as exc:
        problem = str(exc)
    pytest.fail(f"threadkit explore: {_REPLAY}: {problem}", pytrace=False)  # (not chained)


def _replay_command(item: pytest.Item, schedule: str) -> str:
    """The command line that runs ``item`` under ``schedule``, from pytest's working directory.

    The test's file is given relative to the directory pytest was started in (its node id
    is relative to the rootdir, which may differ), and ``-p`` loads this plugin (harmless
    when a ``conftest.py`` loads it too).
    """
    start = item.config.invocation_params.dir
    path = os.path.relpath(item.path, start)
    _, _, rest = item.nodeid.partition("::")
    node = f"{path}::{rest}" if rest else path
    python = shlex.quote(python_command(str(start)))  # (the pytest of this environment)
    return f"{python} -m pytest {shlex.quote(node)} -p {PLUGIN} {_REPLAY}={shlex.quote(schedule)}"
