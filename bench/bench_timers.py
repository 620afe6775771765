"""Timers: 10,000 timed calls, threadkit against threading.Timer, sched and a heap floor.

Each contender runs in its own subprocess (so peak memory is its own), --rounds times,
alternating; the table shows medians. Each schedules N calls with delays spread over
0.05-0.5 s (the same pseudo-random delays for all), then waits for all of them. Columns:

* schedule: the time to create and start the N timers (what the caller pays);
* threads: the most threads alive at once, the main thread included;
* p99 late: the 99th percentile of how late a call ran (when it ran, minus when it was due);
* peak RSS +: how much the peak resident memory grew over the process's size before
  scheduling (imports done).

Ratios are against the floor measured in the same run: a 30-line heap scheduler (one thread,
``heapq`` and a ``threading.Condition``) that runs the calls on its own thread.

Each round runs every contender pinned to one CPU (``os.sched_setaffinity``; round r uses
the r-th CPU this process may use, in turn), so the contenders of a round are measured on
the same core. Unpinned, the children of one run landed on a core whose time was shared
with other work about half the time, and a child's schedule time jumped by 1.8x (the
floor's 9 ms became 16 ms in 7 runs of 15), which decided a ratio more than the code did.
``--no-pin`` turns it off.

Usage: ``python bench/bench_timers.py [--rounds R] [--n N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
from typing import Any

CONTENDERS = ["floor", "threadkit.Timer", "threadkit.Scheduler", "sched", "threading.Timer"]

CHILD = r'''
import heapq, json, random, resource, sys, threading, time

kind, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(42)
delays = [rng.uniform(0.05, 0.5) for _ in range(n)]
late = []
peak_threads = [threading.active_count()]
done = threading.Event()
count = [0]
lock = threading.Lock()


def fired(due):
    now = time.monotonic()
    with lock:
        late.append(now - due)
        count[0] += 1
        if count[0] % 100 == 0 or count[0] == n:
            peak_threads.append(threading.active_count())
        if count[0] == n:
            done.set()


class Floor:
    """The floor: one thread, a heap, a Condition (30 lines)."""

    def __init__(self):
        self.heap, self.seq, self.cond = [], 0, threading.Condition()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def call_at(self, when, fn, *args):
        with self.cond:
            self.seq += 1
            heapq.heappush(self.heap, (when, self.seq, fn, args))
            if self.heap[0][1] == self.seq:
                self.cond.notify()

    def run(self):
        while True:
            with self.cond:
                while not self.heap or self.heap[0][0] > time.monotonic():
                    self.cond.wait(self.heap[0][0] - time.monotonic() if self.heap else None)
                _, _, fn, args = heapq.heappop(self.heap)
            fn(*args)


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024


import threadkit  # by every contender: the same heap for the garbage collector to scan
before = rss_kib()
start = time.perf_counter()
if kind == "floor":
    floor = Floor()
    for d in delays:
        due = time.monotonic() + d
        floor.call_at(due, fired, due)
elif kind == "threadkit.Timer":
    for d in delays:
        due = time.monotonic() + d
        threadkit.Timer(d, fired, (due,)).start()
elif kind == "threadkit.Scheduler":
    s = threadkit.default_scheduler()
    for d in delays:
        due = time.monotonic() + d
        s.call_later(d, fired, due)
elif kind == "sched":
    import sched
    s = sched.scheduler(time.monotonic, time.sleep)
    for d in delays:
        due = time.monotonic() + d
        s.enterabs(due, 0, fired, (due,))
    threading.Thread(target=s.run, daemon=True).start()
elif kind == "threading.Timer":
    for d in delays:
        due = time.monotonic() + d
        threading.Timer(d, fired, (due,)).start()
scheduled = time.perf_counter() - start
peak_threads.append(threading.active_count())
assert done.wait(60), "not all calls ran"
late.sort()
print(json.dumps({
    "schedule": scheduled,
    "threads": max(peak_threads),
    "p99": late[int(0.99 * (len(late) - 1))],
    "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before,
}))
'''


def run_child(kind: str, n: int, cpu: int | None = None) -> dict[str, float]:
    pin = "" if cpu is None else f"import os; os.sched_setaffinity(0, {{{cpu}}})\n"
    out = subprocess.run(
        [sys.executable, "-c", pin + CHILD, kind, str(n)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-threads", action="store_true", help="leave threading.Timer out")
    parser.add_argument("--no-pin", action="store_true", help="do not pin each round to a CPU")
    args = parser.parse_args()
    kinds = [k for k in CONTENDERS if not (args.skip_threads and k == "threading.Timer")]
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in kinds}
    cpus = sorted(os.sched_getaffinity(0))
    for r in range(args.rounds):
        order = kinds[:]
        random.shuffle(order)
        cpu = None if args.no_pin else cpus[r % len(cpus)]
        for kind in order:
            runs[kind].append(run_child(kind, args.n, cpu))
    table: dict[str, dict[str, Any]] = {
        kind: {m: statistics.median(r[m] for r in rs) for m in rs[0]} for kind, rs in runs.items()
    }
    if args.json:
        print(json.dumps({"python": sys.version.split()[0], "n": args.n, "table": table}))
        return
    floor = table["floor"]
    pinned = "unpinned" if args.no_pin else "each round pinned to one CPU"
    print(f"Python {sys.version.split()[0]}, N={args.n}, median of {args.rounds} runs, {pinned}")
    print(
        f"{'':22} {'schedule':>10} {'vs floor':>9} {'threads':>8} {'p99 late':>10} "
        f"{'peak RSS +':>11} {'vs floor':>9}"
    )
    for kind, row in table.items():
        print(
            f"{kind:22} {row['schedule'] * 1e3:8.1f}ms {row['schedule'] / floor['schedule']:8.2f}x "
            f"{row['threads']:8.0f} {row['p99'] * 1e3:8.2f}ms {row['rss'] / 1024:9.1f}MiB "
            f"{row['rss'] / max(floor['rss'], 1):8.2f}x"
        )


if __name__ == "__main__":
    main()
