"""The interleaving explorer: run a threaded test under many schedules; report and replay.

``run(fn, strategy="portfolio", schedules=1000, seed=0)`` returns an ``ExploreResult``;
``replay(fn, schedule)`` runs one recorded schedule; ``@test(...)`` wraps a test function;
``point()`` adds a scheduling point, ``atomic()`` a block with none.
See ``threadkit.testing._explore`` for the strategies.
"""

from __future__ import annotations

from ._explore import (
    DFS_MAX_PREEMPTIONS,
    MAX_STEPS,
    NONDETERMINISM,
    ExploreFailure,
    ExploreResult,
    ReplayDivergence,
    atomic,
    point,
    replay,
    run,
    test,
)

__all__ = [
    "DFS_MAX_PREEMPTIONS",
    "MAX_STEPS",
    "NONDETERMINISM",
    "ExploreFailure",
    "ExploreResult",
    "ReplayDivergence",
    "atomic",
    "point",
    "replay",
    "run",
    "test",
]
