"""The pytest option ``--threadkit-lock-order``: run the tests under the lock-order detector.

Load it with ``pytest -p threadkit.diagnostics.pytest_plugin --threadkit-lock-order``, or
``pytest_plugins = ["threadkit.diagnostics.pytest_plugin"]`` in a ``conftest.py`` (then the
option alone). It is not registered automatically (an installed plugin would have pytest
rewrite the asserts of all of threadkit); without the option it does nothing.

* ``--threadkit-lock-order``: the detector collects, and a test during which a new
  lock-order inversion was found (in its setup, its call or its teardown) fails with the
  report: both orders and the stacks that took them, even when that run did not deadlock.
* ``--threadkit-lock-order-mode=warn`` / ``=raise`` instead: the detector's own modes (a
  ``LockOrderWarning``; a ``LockOrderError`` from the acquire that inverts the order).

Runtime deadlock detection is on too: a test that would hang on a cycle of waits gets a
``DeadlockError`` in one of its threads instead.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from . import _detector

_OPTION = "--threadkit-lock-order"
_MODE = "--threadkit-lock-order-mode"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("threadkit")
    group.addoption(
        _OPTION,
        action="store_true",
        default=False,
        help="run under threadkit's lock-order detector: a test that inverts an observed "
        "lock order fails, with both stacks",
    )
    group.addoption(
        _MODE,
        action="store",
        default="fail",
        choices=("fail", "warn", "raise"),
        help="with --threadkit-lock-order: fail the test (default), warn, or raise "
        "LockOrderError at the inverting acquire",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption(_OPTION):
        return
    choice = config.getoption(_MODE)
    _detector.enable("collect" if choice == "fail" else choice)
    config.pluginmanager.register(_PerTest(choice == "fail"), "threadkit-lock-order")


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.getoption(_OPTION):
        _detector.disable()


class _PerTest:
    """Fails the phase of a test (setup, call, teardown) during which an inversion was found;
    a phase that fails anyway gets the report as a section of its output."""

    def __init__(self, fail: bool) -> None:
        self.fail = fail

    def _check(self, item: pytest.Item, when: str) -> Generator[None, None, None]:
        before = len(_detector.inversions())
        try:
            yield
        except BaseException:
            if self.fail:
                found = _detector.inversions()[before:]
                if found:
                    item.add_report_section(when, "threadkit lock order", _report(found))
            raise
        found = _detector.inversions()[before:]
        if found and self.fail:
            pytest.fail(_report(found), pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        yield from self._check(item, "setup")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        yield from self._check(item, "call")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        yield from self._check(item, "teardown")


def _report(found: list[_detector.LockOrderInversion]) -> str:
    return f"threadkit: {len(found)} lock-order inversion(s) (potential deadlocks):\n\n" + (
        "\n\n".join(map(str, found))
    )
