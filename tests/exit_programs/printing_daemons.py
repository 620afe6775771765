"""Daemon threads printing as fast as they can while the main thread ends.

``stdlib``: plain threading. ``threadkit``: the same program with threadkit imported (its exit
supervisor diverts the daemons' output at exit). The threads print until each has written
``argv[2]`` lines, then the main thread ends while they go on printing.
"""

import sys
import threading

if sys.argv[1] == "threadkit":
    import threadkit  # noqa: F401  (the exit supervisor is installed on import)

LINES = int(sys.argv[2])
ready = threading.Semaphore(0)


def spam(i: int) -> None:
    n = 0
    while True:
        print(f"thread {i} line {n}")
        print(f"thread {i} line {n} on stderr", file=sys.stderr)
        n += 1
        if n == LINES:
            ready.release()


for i in range(4):
    threading.Thread(target=spam, args=(i,), daemon=True).start()
for _ in range(4):
    ready.acquire(timeout=60)  # (bounded: a thread that died of a broken pipe never releases)
print("main: done")
