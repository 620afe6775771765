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


#: The public modules: each one's ``__all__`` is public API.
PUBLIC_MODULES = [
    "threadkit",
    "threadkit.futures",
    "threadkit.queue",
    "threadkit.aio",
    "threadkit.diagnostics",
    "threadkit.testing.explore",
    "threadkit.exit",
    "threadkit.dask",
]


def _public_names() -> list[tuple[str, object]]:
    """(qualified name, object) of each public name defined by threadkit (not re-exports of
    the standard library's own objects, such as ``threadkit.get_ident``), once each."""
    seen: set[int] = set()
    out = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if id(obj) in seen or not str(getattr(obj, "__module__", "")).startswith("threadkit"):
                continue
            seen.add(id(obj))
            out.append((f"{module_name}.{name}", obj))
    return out


def test_every_public_name_is_documented_with_an_example() -> None:
    import inspect

    missing = []
    for qualified, obj in _public_names():
        doc = inspect.getdoc(obj) or ""
        if ">>>" not in doc and "```" not in doc:
            missing.append(qualified)
    assert not missing, f"public names without an example in their docstring: {missing}"


def test_every_public_method_and_property_is_documented() -> None:
    import inspect

    missing = []
    for qualified, obj in _public_names():
        if not inspect.isclass(obj):
            continue
        for attr, value in vars(obj).items():
            if attr.startswith("_"):
                continue
            fn = value.fget if isinstance(value, property) else value
            if isinstance(fn, staticmethod | classmethod):
                fn = fn.__func__
            if (callable(fn) or isinstance(value, property)) and not (fn.__doc__ or "").strip():
                missing.append(f"{qualified}.{attr}")
    assert not missing, f"public methods and properties without a docstring: {missing}"


def test_docstrings_use_the_examples_heading() -> None:
    # griffe (the API reference) reads Google style's "Examples:"; "Example:" renders wrongly.
    import pathlib
    import re

    src = pathlib.Path(threadkit.__file__).resolve().parent
    singular = [
        f"{path.relative_to(src)}:{n}"
        for path in sorted(src.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.fullmatch(r"\s*Example:\s*", line)
    ]
    assert not singular, f"'Example:' headings (use 'Examples:'): {singular}"
