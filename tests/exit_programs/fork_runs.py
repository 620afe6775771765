"""Run ``printing_daemons.py`` many times, cheaply: each run in a forked child.

``fork_runs.py MODE RUNS PARALLEL LINES``. The parent imports threadkit once (MODE
``threadkit``) and forks a child per run; the child points its fd 1 and 2 at fresh pipes,
runs the program and exits through the interpreter's normal finalisation (the part under
test). The parent reads every child's output, waits for it, and prints one JSON line: for
each run, its exit code, whether the main thread's last line came out, and whether the
interpreter aborted ("Fatal Python error").
"""

import json
import os
import runpy
import selectors
import sys

MODE, RUNS, PARALLEL, LINES = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "printing_daemons.py")
if MODE == "threadkit":
    import faulthandler

    import threadkit  # noqa: F401  (imported once, before the forks)

    # A run that crashes says where: the stacks of all its threads go to its stderr (whose
    # tail is reported). Not for the stdlib runs, whose expected abort is told by its message.
    faulthandler.enable(all_threads=True)


class Run:
    """One forked run: its pid, its two pipes (stdout, stderr) and what came out of them."""

    def __init__(self, pid: int, fds: tuple[int, int]) -> None:
        self.pid = pid
        self.fds = fds
        self.chunks: tuple[list[bytes], list[bytes]] = ([], [])
        self.open = 2


def fork_one(selector: selectors.BaseSelector) -> Run:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: run the program, then let the interpreter exit
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        sys.argv = [PROGRAM, MODE, LINES]
        runpy.run_path(PROGRAM, run_name="__main__")
        raise SystemExit(0)
    os.close(out_w)
    os.close(err_w)
    run = Run(pid, (out_r, err_r))
    for index, fd in enumerate(run.fds):
        selector.register(fd, selectors.EVENT_READ, (run, index))
    return run


selector = selectors.DefaultSelector()
running = 0
started = 0
results = []
while started < RUNS or running:
    while started < RUNS and running < PARALLEL:
        fork_one(selector)
        started += 1
        running += 1
    for key, _ in selector.select():
        run, index = key.data
        data = os.read(key.fd, 65536)
        if data:
            run.chunks[index].append(data)
            continue
        selector.unregister(key.fd)
        os.close(key.fd)
        run.open -= 1
        if run.open:
            continue
        running -= 1
        _, status = os.waitpid(run.pid, 0)
        out, err = (b"".join(chunks) for chunks in run.chunks)
        results.append(
            {
                "exitcode": os.waitstatus_to_exitcode(status),
                "main_line": b"main: done" in out,
                "fatal": b"Fatal Python error" in err,
                "stderr_tail": err[-3000:].decode(errors="replace"),
            }
        )
print(json.dumps(results))
