"""The examples in threadkit's docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import threadkit

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(threadkit.__path__, prefix="threadkit.")
    if info.name != "threadkit.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_the_public_classes_have_examples() -> None:
    # The drop-ins with additions show them in a runnable example, and doctest finds them
    # through the public module (their __module__ is "threadkit").
    for cls in (threadkit.Event, threadkit.Semaphore, threadkit.Thread, threadkit.MockClock):
        assert ">>>" in (cls.__doc__ or ""), cls
    result = doctest.testmod(threadkit, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 4
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in threadkit"


def test_the_queue_module_examples_run() -> None:
    import threadkit.queue

    result = doctest.testmod(threadkit.queue, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3
    assert result.failed == 0
