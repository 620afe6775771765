"""The one source of scheduling choices (DESIGN.md sec. 11).

Every choice threadkit makes between equally good options (which ready arm a ``select``
takes) draws from the ``random.Random`` here, so a test or the interleaving explorer can make
them reproducible with ``use_random(random.Random(seed))``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["get_random", "use_random"]

# Replaced only through use_random(); reading a module global is atomic.
_current: random.Random = random.Random()


def get_random() -> random.Random:
    """Return the random source that threadkit's scheduling choices use now."""
    return _current


@contextmanager
def use_random(rng: random.Random) -> Iterator[random.Random]:
    """Make ``rng`` the source of threadkit's scheduling choices inside the ``with`` block.

    Meant for tests: it is process-wide, not per thread. A ``random.Random`` is itself
    thread-safe, but with several threads choosing at once the order of their draws is not
    reproducible; seed single-threaded choices, or explore with ``threadkit.testing``.

    Examples:
        >>> import random
        >>> with use_random(random.Random(7)) as rng:
        ...     get_random() is rng
        True
    """
    global _current
    previous = _current
    _current = rng
    try:
        yield rng
    finally:
        _current = previous
