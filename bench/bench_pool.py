"""Thread-pool throughput: threadkit.futures.ThreadPoolExecutor against the stdlib's.

Rows (each a median over ``--rounds``, both pools with 4 workers, measured alternately in
one run; ratio = stdlib time / threadkit time, above 1.00 threadkit is faster):

* submit then ``result()`` of N no-op tasks (all submitted first, then all waited for);
* ``list(pool.map(f, range(N)))`` at default arguments;
* a sequential submit-then-``result()`` round trip, N/10 times.

Usage: ``python bench/bench_pool.py [--rounds R] [--scale S] [--json]`` (standard library and
threadkit only; ``pebble.ThreadPool`` is added as a peer row when it is installed, see
``bench/requirements.txt``: its ``map`` at its default ``chunksize=1`` and at
``chunksize=1000``).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import threadkit
import threadkit.futures as tf


def noop(*_: object) -> None:
    return None


def submit_result(pool: Any, n: int) -> float:
    start = time.perf_counter()
    futures = [pool.submit(noop) for _ in range(n)]
    for f in futures:
        f.result()
    return time.perf_counter() - start


def map_all(pool: Any, n: int) -> float:
    start = time.perf_counter()
    list(pool.map(noop, range(n)))
    return time.perf_counter() - start


def round_trip(pool: Any, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n // 10):
        pool.submit(noop).result()
    return time.perf_counter() - start


ROWS: dict[str, Callable[[Any, int], float]] = {
    "submit + result() of N no-op tasks": submit_result,
    "list(map(f, range(N))), default arguments": map_all,
    "sequential submit-result round trip (N/10)": round_trip,
}


class _Pebble:
    """pebble.ThreadPool behind the executor API the rows use."""

    def __init__(self, workers: int, chunksize: int = 1) -> None:
        import pebble  # type: ignore[import-not-found,unused-ignore]

        self._pool = pebble.ThreadPool(workers)
        self._chunksize = chunksize

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._pool.schedule(fn, args)

    def map(self, fn: Callable[..., Any], iterable: Any) -> Any:
        return self._pool.map(fn, iterable, chunksize=self._chunksize).result()

    def __enter__(self) -> _Pebble:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.close()
        self._pool.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    n = int(100_000 * args.scale)
    pools: dict[str, Callable[[], Any]] = {
        "concurrent.futures": lambda: cf.ThreadPoolExecutor(4),
        "threadkit.futures": lambda: tf.ThreadPoolExecutor(4),
    }
    try:
        import pebble  # type: ignore[import-not-found,unused-ignore]  # noqa: F401

        pools["pebble.ThreadPool"] = lambda: _Pebble(4)
        pools["pebble, chunksize=1000"] = lambda: _Pebble(4, 1000)
    except ImportError:
        pass
    results: dict[str, dict[str, float]] = {}
    for row, fn in ROWS.items():
        times: dict[str, list[float]] = {name: [] for name in pools}
        for _ in range(args.rounds):
            for name, make in pools.items():
                if name.endswith("chunksize=1000") and fn is not map_all:
                    continue  # a map setting: the other rows are pebble's own row
                with make() as pool:
                    fn(pool, min(n, 2000))  # warm up: workers started
                    times[name].append(fn(pool, n))
        results[row] = {name: statistics.median(t) for name, t in times.items() if t}
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    if args.json:
        print(
            json.dumps(
                {
                    "python": sys.version.split()[0],
                    "gil_enabled": gil,
                    "n": n,
                    "rounds": args.rounds,
                    "rows": results,
                },
                indent=1,
            )
        )
        return
    print(
        f"threadkit {threadkit.__version__}, CPython {sys.version.split()[0]} "
        f"(GIL {'on' if gil else 'off'}), N={n:,}, {args.rounds} rounds, 4 workers; "
        "ratio = concurrent.futures time / this pool's time"
    )
    for row, by_pool in results.items():
        base = by_pool["concurrent.futures"]
        for name, value in by_pool.items():
            print(f"{row:45s} {name:20s} {value * 1e3:9.1f} ms {base / value:6.2f}x")


if __name__ == "__main__":
    main()
