"""10 daemon exit: daemon threads printing during exit, and a __del__ that may never run.

The notebook's TestDaemon starts a daemon thread that loops for ever and relies on __del__
to clean up. At exit a daemon thread is simply frozen wherever it is: no `finally`, no
cleanup, and __del__ "is not guaranteed to be called". Worse, a daemon thread that prints
while the interpreter shuts down can hold stdout's lock when it is frozen, and the exit
aborts with "Fatal Python error: _enter_buffered_busy: could not acquire lock". A non-daemon
thread instead makes the exit wait for it, for ever if it is blocked in queue.get().

threadkit's exit supervisor (installed when threadkit is imported) stops background work at
exit, before the non-daemon threads are joined: timers first, then workers, then pools, each
within a deadline. A Worker is cancelled like any threadkit call, so it gets to clean up; one
still running after its deadline is reported on stderr with its stack and let go, and
background output at exit is diverted so it cannot abort the interpreter.

This program leaves its logger worker running on purpose and lets the interpreter exit:
everything below the main code, including the final line, is printed during the exit.
"""

import threadkit
import threadkit.exit
import threadkit.queue

threadkit.exit.set_default_deadline(2.0)  # each object stopped at exit gets 2 s (default 10)

lines: threadkit.queue.Queue[str] = threadkit.queue.Queue()


def log_lines(lines: threadkit.queue.Queue[str]) -> None:
    # Not a daemon, no flag, no sentinel: get() is a cancellation point, so the exit
    # supervisor's stop() ends the wait. (A get() that finds an item returns it even then:
    # the lines already queued are printed first.)
    for line in lines:
        print(line, flush=True)


def goodbye(worker: threadkit.Worker) -> None:
    # Runs in the worker thread after its target ended: cleanup a daemon thread never gets.
    print(f"logger: stopped at exit ({worker.state}); {lines.qsize()} lines left unprinted")
    print("ok: at exit the supervisor stopped the logger, and the logger cleaned up")


logger = threadkit.Worker(target=log_lines, args=(lines,), name="logger", on_stop=goodbye)
logger.start()
for n in range(3):
    lines.put(f"main: line {n}")
lines.put("main: done; the logger is still running and nobody stops it")
# The main thread ends here.
