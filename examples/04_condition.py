"""04 condition: a notify() sent before anyone waits is lost.

The notebook starts two threads that wait on a Condition, then at once notifies one and
then all. Its output shows both woken, but only because both threads happened to reach
wait() first: had the main thread notified earlier, nobody would have been waiting, the
notifications would have been lost, and both joins would hang for ever. A Condition has no
memory; the fix is to wait *for a state* (wait_for) and to change that state before you
notify.

threadkit.Condition is the drop-in (same methods, same rules), with statistics() to see who
waits. threadkit.Notify is the signal that keeps a wake-up sent before the wait.
"""

import threadkit

# The surprise, in one thread: notify with nobody waiting, then wait. The notify is gone.
cv = threadkit.Condition()
with cv:
    cv.notify_all()
with cv:
    print("notify_all(), then wait(timeout=0.1) ->", cv.wait(timeout=0.1))


# The notebook's scene, made safe: the waiters wait *for a state*, which is set before the
# notify, so it does not matter who gets there first.
woken: list[str] = []
cv = threadkit.Condition()
released = 0  # how many waiters may go; guarded by cv


def waiter(name: str) -> None:
    global released
    with cv:
        cv.wait_for(lambda: released > 0)  # returns at once if the state is already there
        released -= 1
        woken.append(name)


with threadkit.TaskGroup() as tg:
    tg.start(waiter, "func1")
    tg.start(waiter, "func2")
    with cv:
        released = 1
        cv.notify(n=1)
        print("notified one thread")
    with cv:
        released += 1
        cv.notify_all()
        print("notified all threads")
print("woken:", sorted(woken), "- still waiting:", cv.statistics().threads_waiting)

# Notify: a notify_one() with nobody waiting is kept as a permit for the next wait().
more = threadkit.Notify()
more.notify_one()
print("Notify: notify_one(), then wait(timeout=1) ->", more.wait(timeout=1))

print("ok: no notification lost")
