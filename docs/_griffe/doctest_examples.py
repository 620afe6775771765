"""A griffe extension for the API reference: threadkit's doctests render as examples.

threadkit's docstrings are Google style, with their doctests under an ``Example:`` heading
(what ``doctest`` collects), and a few doctests sit in the docstring's text with no heading.
Google style as griffe reads it knows ``Examples:`` only: ``Example:`` becomes an admonition
whose ``>>>`` lines render as nested block quotes, and an output line such as ``[0, 1, 2]``
reads as a Markdown link. This extension rewrites each docstring as it is loaded (for the
documentation only; the source is not touched): ``Example:`` becomes ``Examples:``, and a
doctest outside such a section is fenced as a ``pycon`` block.

It also reads the ``#:`` comment above a module constant (``#: Seconds each entry gets to
stop at exit.``), the convention threadkit uses for them, as that constant's docstring.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE_HEADING = re.compile(r"^(?P<indent>\s*)Examples?:\s*$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def rewrite(text: str) -> str:
    """Return ``text`` with ``Example:`` renamed and stray doctests fenced."""
    lines = text.split("\n")
    out: list[str] = []
    section_indent: int | None = None  # the heading's indent while inside Examples:
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            in_fence = not in_fence
            out.append(line)
            i += 1
            continue
        if in_fence:
            out.append(line)
            i += 1
            continue
        if section_indent is not None and stripped and _indent(line) <= section_indent:
            section_indent = None  # a dedented line ends the Examples section
        match = _EXAMPLE_HEADING.match(line)
        if match:
            out.append(f"{match['indent']}Examples:")
            section_indent = len(match["indent"])
            i += 1
            continue
        if section_indent is None and (stripped == ">>>" or stripped.startswith(">>> ")):
            indent = " " * _indent(line)
            out.append(f"{indent}```pycon")
            while i < len(lines) and lines[i].strip():
                out.append(lines[i])
                i += 1
            out.append(f"{indent}```")
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def comment_docstring(obj: griffe.Object) -> str | None:
    """Return the ``#:`` comment lines right above ``obj``'s first line, joined, or None."""
    if obj.lineno is None or obj.filepath is None or isinstance(obj.filepath, list):
        return None
    try:
        lines = obj.lines_collection[obj.filepath]
    except KeyError:  # (a LinesCollection has no get())
        return None
    found: list[str] = []
    index = obj.lineno - 2  # the line above, 0-based
    while index >= 0 and lines[index].lstrip().startswith("#:"):
        found.insert(0, lines[index].lstrip()[2:].strip())
        index -= 1
    return "\n".join(found) or None


class DoctestExamples(griffe.Extension):
    """Rewrite each docstring's doctests as it is loaded (see the module docstring)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is None and obj.is_attribute:
            text = comment_docstring(obj)
            if text is not None:
                obj.docstring = griffe.Docstring(text, lineno=obj.lineno, parent=obj)
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = rewrite(obj.docstring.value)
