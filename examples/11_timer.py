"""11 timer: a Timer can only be started once, each one is a thread, and cancel() races.

The notebook starts a threading.Timer(3, print_msg), cancels it a second later, then makes a
*new* Timer, because a thread can only be started once, and sleeps 4 s to see it fire.
Each threading.Timer is a whole thread sleeping until its time, and its cancel() returns
None: it cannot say whether it came in time (the call may be starting as it returns).

threadkit.Timer keeps threading.Timer's signature, but it is an entry in the heap of one
scheduler thread: restart() reuses it, cancel() returns True only if the call will never
run, and join() waits for the call instead of a sleep. PeriodicTimer is the repeating timer
that people write by hand. The intervals here are short: this example is about time.
"""

import threading

import threadkit


def print_msg(message: str) -> None:
    print(message)


# The standard library: a second start() is refused.
once = threading.Timer(0, print_msg, args=("threading.Timer fired",))
once.start()
once.join()
try:
    once.start()
except RuntimeError as exc:
    print("threading.Timer.start() again -> RuntimeError:", exc)

# threadkit: the notebook's cell. A cancel in time returns True: the call never runs.
timer = threadkit.Timer(3, print_msg, args=("Heellloo (never printed)",))
timer.start()
print("Canceled timer ->", timer.cancel())

timer = threadkit.Timer(0.05, print_msg, args=("Heellloo",))
timer.start()
print("Waiting for timer to fire")
timer.join(timeout=5)  # waits for the call itself, not a guessed sleep(4)
print("fired:", timer.fired, "- cancel() now ->", timer.cancel(), "(too late, and it says so)")
timer.restart(0.01)  # the same timer again: no new object
timer.join(timeout=5)

# A thousand pending timers are a thousand entries in one heap, not a thousand threads.
before = threading.active_count()
pending = [threadkit.Timer(3600, print_msg, args=("never",)) for _ in range(1000)]
for t in pending:
    t.start()
print(f"1000 pending threadkit.Timers: {threading.active_count() - before} more thread(s)")
print("cancelled in time:", sum(t.cancel() for t in pending), "of 1000")

# A repeating timer, at a fixed rate: three ticks, then stop() at the end of the block.
ticks = threadkit.Semaphore(0)
with threadkit.PeriodicTimer(0.01, ticks.release):
    for _ in range(3):
        ticks.acquire(timeout=5)
print("PeriodicTimer(0.01): 3 ticks")

print("ok: one timer restarted, 1000 timers cancelled, no thread per timer")
