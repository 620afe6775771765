"""06 thread pool: the notebook's pool runs unchanged; then the limits the stdlib pool lacks.

The notebook submits foo(i) five times to a concurrent.futures.ThreadPoolExecutor and waits
for each result. `from threadkit import futures` is the whole migration: the same code
runs on threadkit's pool. What the stdlib pool cannot do: bound its queue (it accepts every
submit, without limit), give a task a deadline, or cancel a task that is already running.
"""

import queue

import threadkit
from threadkit import futures


def foo(i: int) -> str:
    # The notebook's foo prints i; lines printed from several threads at once can come out
    # interleaved, so this one returns its line and the main thread prints it.
    return f"foo({i})"


def wait_until_running(*futs: futures.Future[object]) -> None:
    """Until a worker has picked up each of futs (a failure after 5 s)."""
    with threadkit.fail_after(5):
        while not all(f.running() for f in futs):
            threadkit.sleep(0.001)


# The notebook's cell, as written there (but for the module name).
with futures.ThreadPoolExecutor() as executor:
    futs = []
    for i in range(5):
        futs.append(executor.submit(foo, i=i))
    for future in futs:
        print(future.result())

with futures.ThreadPoolExecutor(2, max_queue=3, on_full="raise") as pool:
    # A deadline per task: the task's next blocking threadkit call raises when it passes.
    nap = pool.submit(threadkit.sleep, 60, timeout=0.05, name="nap")
    try:
        nap.result()
    except TimeoutError as exc:
        print("submit(sleep, 60, timeout=0.05) -> TimeoutError:", exc)

    # Cancel a task that is already running: its wait raises Cancelled and it unwinds.
    never = threadkit.Event()
    stuck = pool.submit(never.wait, name="stuck")
    wait_until_running(stuck)
    print("cancel(interrupt=True) on the running task ->", stuck.cancel(interrupt=True))

    # A bounded queue: with both workers busy, three tasks may wait and the next is refused.
    gate = threadkit.Event()
    running = [pool.submit(gate.wait), pool.submit(gate.wait)]
    wait_until_running(*running)
    queued = 0
    try:
        for _ in range(10):
            pool.submit(gate.wait)
            queued += 1
    except queue.Full as exc:
        print(f"{queued} tasks queued, the next submit -> queue.Full: {exc}")
    gate.set()

print("ok: the notebook's pool ran unchanged, and the limits held")
