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


def _python_blocks() -> list[tuple[str, int, str]]:
    """Every ```python block of README.md and docs/*.md (```py marks a fragment: not run)."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parent.parent
    blocks = []
    for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for i, block in enumerate(re.findall(r"```python\n(.*?)```", text, re.S)):
            blocks.append((path.name, i, block))
    return blocks


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("name", "index", "code"), _python_blocks(), ids=lambda v: str(v)[:20].replace("\n", " ")
)
def test_the_guides_examples_run(name: str, index: int, code: str) -> None:
    # A complete example in the README or a guide runs as it is, without error.
    exec(compile(code, f"{name}[{index}]", "exec"), {"__name__": "__doc_example__"})
