"""08 worker: a worker needs sentinels, a should_run flag and a __del__ that doesn't run.

The notebook's Example owns a thread that loops `while self.should_run:` on get(timeout=1),
so shutdown() is noticed only at the next timeout; a sentinel put on the queue comes out of
get() like any item; and __del__ cannot be what stops the thread, since the running thread
holds the object (its target is a bound method): `del example` does not run it.

threadkit.Worker gives the thread a lifecycle: start(), stop(timeout) and join(). stop()
cancels the worker's scope, so the get() it is blocked in raises Cancelled at once, and
on_stop runs for the cleanup. Worker(..., owner=obj) stops the worker when obj is collected
(through weakref.finalize, not __del__).
"""

import gc
import queue
import threading
import time
import weakref

import threadkit
import threadkit.queue

POLL = 0.1  # the notebook polls every second; shortened here


class Example:
    """The notebook's worker (with a shorter poll)."""

    def __init__(self) -> None:
        self.should_run = True
        self.q: queue.Queue[object] = queue.Queue()
        self.th = threading.Thread(target=self.__work)
        self.th.start()

    def __work(self) -> None:
        while self.should_run:
            try:
                self.q.get(timeout=POLL)
                self.q.task_done()
            except queue.Empty:
                pass

    def shutdown(self) -> None:
        self.should_run = False


example = Example()
alive = weakref.ref(example)
thread = example.th
del example
gc.collect()
print("after `del example`: still alive (its thread holds it):", alive() is not None)
start = time.monotonic()
example = alive()
assert example is not None
example.shutdown()
thread.join()
print(f"shutdown() was noticed after {time.monotonic() - start:.2f} s (up to one poll)")
del example

# threadkit: the same consumer as a plain function, and a Worker around it.
log: list[str] = []


def consume(jobs: threadkit.queue.Queue[int]) -> None:
    while True:
        job = jobs.get()  # a cancellation point: stop() ends this wait at once
        log.append(f"job {job}")
        jobs.task_done()


jobs: threadkit.queue.Queue[int] = threadkit.queue.Queue()
worker = threadkit.Worker(
    target=consume,
    args=(jobs,),
    name="consumer",
    on_stop=lambda w: log.append(f"on_stop: {w.name} cleans up"),
)
worker.start()
for job in range(3):
    jobs.put(job)
jobs.join()  # the jobs are done; the worker now waits in get()
start = time.monotonic()
stopped = worker.stop(timeout=5)
print(f"Worker.stop() -> {stopped} after {time.monotonic() - start:.3f} s, state {worker.state}")
print("log:", log)


# Tied to an owner: the worker stops when the owner is collected. The target gets the queue,
# not a method of the owner, so that the thread does not keep the owner alive.
class Owner:
    def __init__(self) -> None:
        self.q: threadkit.queue.Queue[int] = threadkit.queue.Queue()
        self.worker = threadkit.Worker(target=consume, args=(self.q,), owner=self)
        self.worker.start()


owner = Owner()
tied = owner.worker
del owner
gc.collect()
tied.join(timeout=5)
print("after `del owner`: its worker is", tied.state)

print("ok: every worker stopped at once, with no flag, no sentinel and no __del__")
