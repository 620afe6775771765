"""The pytest option ``--threadkit-lock-order``: run the tests under the lock-order detector.

Load it with ``pytest -p threadkit.diagnostics.pytest_plugin --threadkit-lock-order``, or
``pytest_plugins = ["threadkit.diagnostics.pytest_plugin"]`` in a ``conftest.py`` (then the
option alone). It is not registered automatically (an installed plugin would have pytest
rewrite the asserts of all of threadkit); without the option it does nothing.

* ``--threadkit-lock-order`` (or ``=fail``): the detector collects, and a test during which a
  new lock-order inversion was found fails (at teardown) with the report: both orders and
  the stacks that took them, even when that run did not deadlock.
* ``=warn`` / ``=raise``: the detector's own modes (a ``LockOrderWarning``; a
  ``LockOrderError`` from the acquire that inverts the order).

Runtime deadlock detection is on too: a test that would hang on a cycle of waits gets a
``DeadlockError`` in one of its threads instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import _detector

_OPTION = "--threadkit-lock-order"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("threadkit")
    group.addoption(
        _OPTION,
        action="store",
        nargs="?",
        const="fail",
        default=None,
        choices=("fail", "warn", "raise"),
        help="run under threadkit's lock-order detector: fail (default) a test that inverts "
        "an observed lock order, or warn, or raise at the inverting acquire",
    )


def pytest_configure(config: pytest.Config) -> None:
    choice = config.getoption(_OPTION)
    if choice is None:
        return
    _detector.enable("collect" if choice == "fail" else choice)
    config.pluginmanager.register(_PerTest(choice == "fail"), "threadkit-lock-order")


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.getoption(_OPTION) is not None:
        _detector.disable()


class _PerTest:
    def __init__(self, fail: bool) -> None:
        self.fail = fail

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        before = len(_detector.inversions())
        yield
        found = _detector.inversions()[before:]
        if found and self.fail:
            item.add_report_section("call", "threadkit lock order", "\n\n".join(map(str, found)))
            item._threadkit_inversions = found  # type: ignore[attr-defined]

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Iterator[None]:
        yield
        found = getattr(item, "_threadkit_inversions", None)
        if found:
            pytest.fail(
                f"threadkit: {len(found)} lock-order inversion(s) (potential deadlocks):\n\n"
                + "\n\n".join(map(str, found)),
                pytrace=False,
            )
