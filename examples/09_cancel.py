"""09 cancel: you can't forcibly kill a thread, but you can cancel one.

The notebook: "you can't forcibly kill a thread like killing a process". A threading.Thread
blocked in queue.get() on a queue nobody feeds stays there until the process ends, and
nothing outside it can make it stop (rightly: a thread killed at a random instruction would
leave locks held and data half-written).

threadkit cancels cooperatively, as trio does: every blocking threadkit call is a
cancellation point. t.cancel() wakes a threadkit.Thread blocked in one at once and makes it
raise Cancelled there, so it unwinds through its `finally` blocks. A CancelScope does the same
for a block of code, from another thread or at a deadline, and a long computation opts in
with checkpoint(). What threadkit cannot wake: time.sleep, a C Lock.acquire(), socket I/O,
C code (use threadkit.sleep, Mutex, and I/O timeouts).
"""

from concurrent.futures import CancelledError

import threadkit
import threadkit.queue

# A thread blocked in get() on a queue that nobody feeds.
q: threadkit.queue.Queue[str] = threadkit.queue.Queue()
cleaned_up: list[str] = []


def consume() -> str:
    try:
        return q.get()
    finally:
        cleaned_up.append("finally ran")


t = threadkit.Thread(target=consume, name="stuck-getter")
t.start()
t.cancel("shutting down")  # before or while it blocks: the same
try:
    t.result(timeout=5)
except CancelledError as exc:
    print(f"t.cancel() -> result() raises CancelledError: {exc} ({exc.__cause__})")
print("the thread unwound:", cleaned_up, "- the queue is untouched:", q.statistics().qsize)

# A CancelScope with a deadline: move_on_after() ends the block, fail_after() raises.
with threadkit.move_on_after(0.05) as scope:
    q.get()  # would wait for ever
print("move_on_after(0.05) around q.get() -> cancelled_caught:", scope.cancelled_caught)
try:
    with threadkit.fail_after(0.05):
        q.get()
except TimeoutError as exc:
    print("fail_after(0.05) around q.get() -> TimeoutError:", exc)


# A computation is not a blocking call: it becomes cancellable by calling checkpoint().
def crunch() -> int:
    total = 0
    for i in range(10**12):  # hours of work
        if i % 10_000 == 0:
            threadkit.checkpoint()  # raises Cancelled once the scope is cancelled
        total += i
    return total


with threadkit.move_on_after(0.05) as scope:
    crunch()
print("move_on_after(0.05) around a long loop with checkpoint() ->", scope.cancelled_caught)

# A scope cancelled from another thread: a TaskGroup's scope covers all its tasks.
with threadkit.TaskGroup(name="listeners") as tg:
    listeners = [tg.start(q.get, name=f"listener-{i}") for i in range(3)]
    tg.cancel_scope.cancel("nothing more to listen for")
print("tg.cancel_scope.cancel() ->", [type(task.exception()).__name__ for task in listeners])

print("ok: every blocked thread was cancelled and unwound; none was killed")
