"""05 semaphore: a Semaphore counts past its start (7 -> 11) and is read through _value.

The notebook makes Semaphore(7), lets ten threads acquire and release it, then calls
release() four more times: the count goes from 7 to 11 without a word, and the only way to
see it is the private s._value. (Its threads also add to `w` under the semaphore: a
Semaphore(7) lets seven threads in at once, so that is not mutual exclusion; only a
Semaphore(1) is a lock.)

threadkit.Semaphore is the drop-in; max_value= bounds it, with an error that names the
counts, and value, statistics() and repr() show the count without touching private state.
"""

import threading

import threadkit

# The standard library: four extra releases, no error.
s = threading.Semaphore(7)
for _ in range(4):
    s.release()
print("threading.Semaphore(7) + 4 releases -> s._value =", s._value)

# threadkit: the same semaphore, bounded.
slots = threadkit.Semaphore(7, max_value=7)
try:
    slots.release()
except ValueError as exc:
    print("threadkit.Semaphore(7, max_value=7).release() -> ValueError:", exc)
print("public state:", slots.statistics())

# The notebook's ten threads, each holding a slot until a gate opens: seven get in, three
# wait, and statistics() shows it (no private attribute, no guessing with sleeps).
gate = threadkit.Event()


def work() -> None:
    with slots:
        gate.wait()


with threadkit.TaskGroup(name="ten threads") as tg:
    for _ in range(10):
        tg.start(work)
    with threadkit.fail_after(5):
        while slots.statistics().threads_waiting < 3:
            threadkit.sleep(0.001)
    print("10 threads through Semaphore(7), seven in ->", repr(slots))
    gate.set()
print(f"all done: {slots!r}")

# Several units at once, all or none.
assert slots.acquire(n=3, timeout=1)
print("after acquire(n=3): value =", slots.value)
slots.release(3)

print(f"ok: the count stayed within 0..{slots.max_value} and was read publicly")
