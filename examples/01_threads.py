"""01 threads: a thread drops its result, and "join every thread" joins threads you don't own.

The notebook's first cell (test_lock) starts two threads, then waits for them by joining every
thread in threading.enumerate() but the main one. That also joins threads it never started (a
library's background thread may never end), and what a target returns or raises is lost:
join() returns None. threadkit.Thread has threading.Thread's signature and keeps the outcome
(result()); a TaskGroup waits for exactly the threads started in its block and raises their
failures together.
"""

import threading

import threadkit


def square(n: int) -> int:
    return n * n


# The standard library: the 9 that square(3) returns is gone.
plain = threading.Thread(target=square, args=(3,))
plain.start()
print("threading.Thread(target=square, args=(3,)).join() ->", plain.join())

# threadkit.Thread: result() joins the thread, then returns what the target returned (or
# re-raises what it raised; the exception also reaches threading.excepthook, as before).
threads = [threadkit.Thread(target=square, args=(n,), name=f"square-{n}") for n in range(4)]
for t in threads:
    t.start()
print("threadkit.Thread(...).result() ->", [t.result(timeout=5) for t in threads])

# A TaskGroup owns the threads started in its block: leaving the block waits for all of them,
# and nothing else. No need to walk threading.enumerate().
with threadkit.TaskGroup(name="squares") as tg:
    tasks = [tg.start(square, n) for n in range(4, 8)]
print("TaskGroup tasks ->", [task.result() for task in tasks])

# A task that raises cancels its siblings (at their next blocking threadkit call), and the
# block raises every failure at once.
try:
    with threadkit.TaskGroup(name="parse") as tg:
        waiter = tg.start(threadkit.Event().wait, name="waiter")  # nobody will set() it
        tg.start(int, "forty-two", name="parser")
except* ValueError as group:
    print("the block raised", repr(group.exceptions[0]))
print("the waiting sibling was cancelled:", repr(waiter.exception()))

print("ok: every thread joined, every result and failure kept")
