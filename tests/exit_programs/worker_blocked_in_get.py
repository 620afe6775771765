"""A worker blocked in ``queue.get()`` when the main thread ends.

``stdlib``: a non-daemon ``threading.Thread`` on a ``queue.Queue``: the interpreter waits for
it forever. ``threadkit``: a ``threadkit.Worker`` on a ``threadkit.queue.Queue``: the exit
supervisor stops it (``get()`` is a cancellation point), its ``on_stop`` runs, the process
exits at once.
"""

import sys

if sys.argv[1] == "stdlib":
    import queue
    import threading

    q: queue.Queue[object] = queue.Queue()
    threading.Thread(target=q.get, name="consumer").start()
else:
    import threadkit.queue
    from threadkit._worker import Worker

    tq: threadkit.queue.Queue[object] = threadkit.queue.Queue()
    Worker(
        target=tq.get,
        name="consumer",
        on_stop=lambda w: print(f"on_stop: {w.name} is {w.state}", flush=True),
    ).start()
print("main: done", flush=True)
