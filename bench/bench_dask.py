"""threadkit's executor on dask.distributed, against dask itself and the thread pool, one run.

* Overhead (issue 11 item 6): 10,000 small tasks (``add(i, 1)``) through
  ``DaskExecutor.submit`` vs dask's own ``client.submit`` on the same ``LocalCluster`` (two
  worker processes, one thread each), each waited for to the last result; the ratio of the
  medians (target <= 1.2x).
* Speed-up: a CPU-bound job (a pure-Python loop, 8 tasks) on ``DaskExecutor`` with 2 worker
  processes vs ``threadkit.futures.ThreadPoolExecutor(2)`` on the GIL build.

    pip install -e '.[dask]'; python bench/bench_dask.py [--tasks 10000] [--repeat 3]

Speed is never asserted in the tests: these figures are for reading, on a quiet machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable


def add(x: int, y: int) -> int:
    return x + y


def spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spin", type=int, default=3_000_000, help="loop length per CPU task")
    args = parser.parse_args()

    import cloudpickle
    import distributed

    from threadkit.dask import DaskExecutor
    from threadkit.futures import ThreadPoolExecutor

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
    )
    client = distributed.Client(cluster)
    executor = DaskExecutor(client=client)
    n = args.tasks

    def dask_own() -> None:
        futures = [client.submit(add, i, 1, pure=False) for i in range(n)]
        assert client.gather(futures)[-1] == n

    def threadkit_on_dask() -> None:
        futures = [executor.submit(add, i, 1) for i in range(n)]
        assert [f.result() for f in futures][-1] == n

    rows: dict[str, list[float]] = {"dask client.submit": [], "DaskExecutor.submit": []}
    dask_own()  # (warm up: imports, connections, the workers' first tasks)
    threadkit_on_dask()
    for _ in range(args.repeat):  # interleaved, so that load falls on both alike
        rows["dask client.submit"].append(timed(dask_own))
        rows["DaskExecutor.submit"].append(timed(threadkit_on_dask))
    print(
        f"{n:,} small tasks, submitted and waited for; Python {sys.version.split()[0]}, "
        f"distributed {distributed.__version__}, 2 worker processes; median of {args.repeat}"
    )
    print("| row | seconds | tasks/s | ratio |\n|---|---|---|---|")
    base = statistics.median(rows["dask client.submit"])
    for name, times in rows.items():
        t = statistics.median(times)
        print(f"| {name} | {t:.2f} | {n / t:,.0f} | {t / base:.2f}x |")

    jobs = 8

    def cpu_on_dask() -> None:
        assert len(list(executor.map(spin, [args.spin] * jobs, chunksize=1))) == jobs

    def cpu_on_threads() -> None:
        with ThreadPoolExecutor(2) as pool:
            assert len(list(pool.map(spin, [args.spin] * jobs))) == jobs

    cpu: dict[str, list[float]] = {
        "ThreadPoolExecutor(2), GIL": [],
        "DaskExecutor, 2 processes": [],
    }
    for _ in range(args.repeat):
        cpu["ThreadPoolExecutor(2), GIL"].append(timed(cpu_on_threads))
        cpu["DaskExecutor, 2 processes"].append(timed(cpu_on_dask))
    print(
        f"\n{jobs} CPU-bound tasks (a pure-Python loop of {args.spin:,}); median of {args.repeat}"
    )
    print("| row | seconds | speed-up |\n|---|---|---|")
    base = statistics.median(cpu["ThreadPoolExecutor(2), GIL"])
    for name, times in cpu.items():
        t = statistics.median(times)
        print(f"| {name} | {t:.2f} | {base / t:.2f}x |")

    executor.shutdown()
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
