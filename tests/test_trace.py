"""threadkit.trace(): the timeline tracer, its Chrome trace-event JSON and its summary."""

from __future__ import annotations

import gc
import io
import json
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import threadkit
from conftest import current, wait_for_waiters, wait_until
from threadkit._core import _hooks
from threadkit.diagnostics import _instrument
from threadkit.diagnostics._trace import Tracer

pytestmark = pytest.mark.timeout(30)

PHASES = {"B", "E", "X", "i", "M", "b", "e"}
ORIGINAL_LOCK = threading.Lock
ORIGINAL_RLOCK = threading.RLock


@pytest.fixture(autouse=True)
def _instrumentation_is_undone() -> Iterator[None]:
    yield
    assert not _hooks.enabled
    assert not _instrument.installed()
    assert threading.Lock is ORIGINAL_LOCK
    assert threading.RLock is ORIGINAL_RLOCK
    assert threadkit.Lock is ORIGINAL_LOCK


# ------------------------------------------------------------------------------------------
# helpers


def check_format(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Check ``doc`` against the trace-event JSON Object Format; return its events."""
    assert doc["displayTimeUnit"] == "ms"
    events = doc["traceEvents"]
    assert isinstance(events, list)
    assert events
    stacks: dict[int, list[dict[str, Any]]] = {}  # per tid: open B events
    last_ts: dict[int, float] = {}  # per tid: the last B/E time
    holds: dict[tuple[str, str], list[dict[str, Any]]] = {}  # per (cat, id): open b events
    for event in events:
        for key in ("name", "ph", "ts", "pid", "tid"):
            assert key in event, (key, event)
        assert isinstance(event["name"], str)
        assert event["ph"] in PHASES, event
        assert isinstance(event["ts"], (int, float)), event
        assert isinstance(event["pid"], int)
        assert isinstance(event["tid"], int)
        assert 0 < event["tid"] < 2**31  # (Perfetto reads a tid as 32 bits)
        ph, tid = event["ph"], event["tid"]
        if ph in ("B", "E"):
            assert event["ts"] >= last_ts.get(tid, float("-inf")), event
            last_ts[tid] = event["ts"]
        if ph == "B":
            stacks.setdefault(tid, []).append(event)
        elif ph == "E":
            stack = stacks.get(tid)
            assert stack, f"E without a B on tid {tid}: {event}"
            begin = stack.pop()
            assert begin["name"] == event["name"], (begin, event)
            assert begin["ts"] <= event["ts"]
        elif ph == "i":
            assert event["s"] == "t"
        elif ph == "b":
            holds.setdefault((event["cat"], event["id"]), []).append(event)
        elif ph == "e":
            opened = holds.get((event["cat"], event["id"]))
            assert opened, f"e without a b: {event}"
            begin = opened.pop()
            assert (begin["name"], begin["tid"]) == (event["name"], event["tid"])
            assert begin["ts"] <= event["ts"]
        elif ph == "M":
            assert event["name"] in ("process_name", "thread_name", "thread_sort_index")
            assert isinstance(event["args"], dict)
    assert all(not stack for stack in stacks.values()), stacks
    assert all(not opened for opened in holds.values()), holds
    return events


def tids(doc: dict[str, Any]) -> dict[str, int]:
    """Thread name -> tid, from the metadata."""
    return {
        e["args"]["name"]: e["tid"]
        for e in doc["traceEvents"]
        if e["ph"] == "M" and e["name"] == "thread_name"
    }


def spans(doc: dict[str, Any], prefix: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The matched (B, E) pairs whose name starts with ``prefix``."""
    stacks: dict[int, list[dict[str, Any]]] = {}
    pairs = []
    for e in doc["traceEvents"]:
        if e["ph"] == "B":
            stacks.setdefault(e["tid"], []).append(e)
        elif e["ph"] == "E":
            begin = stacks[e["tid"]].pop()
            if begin["name"].startswith(prefix):
                pairs.append((begin, e))
    return pairs


def hold_pairs(doc: dict[str, Any], prefix: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The matched (b, e) hold pairs whose name starts with ``prefix``, by start time."""
    opened: dict[str, list[dict[str, Any]]] = {}
    pairs = []
    for e in doc["traceEvents"]:
        if e["ph"] == "b":
            opened.setdefault(e["id"], []).append(e)
        elif e["ph"] == "e":
            begin = opened[e["id"]].pop()
            if begin["name"].startswith(prefix):
                pairs.append((begin, e))
    return sorted(pairs, key=lambda pair: pair[0]["ts"])  # (in the order they began)


def instants(doc: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [e for e in doc["traceEvents"] if e["ph"] == "i" and e["name"].startswith(prefix)]


def start(target: Callable[[], object], name: str) -> threading.Thread:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def parked_on(tracer: Tracer, obj: object) -> Callable[[], bool]:
    """A predicate: some thread's "park" on ``obj`` is recorded (while the trace runs)."""
    return lambda: any(r[2] == "park" and r[3] is obj for r in tracer.events)


def contended_mutex(tracer: Tracer) -> threadkit.Mutex:
    """Thread 'holder' holds a Mutex while thread 'waiter' waits for it."""
    mutex = threadkit.Mutex()
    holding = threading.Event()
    gate = threading.Event()

    def hold() -> None:
        with mutex:
            holding.set()
            gate.wait(10)

    def wait() -> None:
        with mutex:
            pass

    holder = start(hold, "holder")
    assert holding.wait(10)
    waiter = start(wait, "waiter")
    wait_for_waiters(mutex, 1)
    gate.set()
    holder.join(10)
    waiter.join(10)
    return mutex


# ------------------------------------------------------------------------------------------
# what is recorded


def test_a_contended_mutex_gives_a_wait_span_and_hold_spans_on_the_right_threads() -> None:
    with threadkit.trace(summary=False) as tracer:
        mutex = contended_mutex(tracer)
    doc = tracer.to_json()
    check_format(doc)
    threads = tids(doc)
    label = f"Mutex@{id(mutex):#x}"
    waits = spans(doc, f"wait {label}")
    assert [(b["tid"], e["args"]["outcome"]) for b, e in waits] == [(threads["waiter"], "wake")]
    assert waits[0][0]["args"]["outcome"] == "wake"  # on the B too
    holds = hold_pairs(doc, f"hold {label}")
    assert [(b["tid"], e["tid"]) for b, e in holds] == [
        (threads["holder"], threads["holder"]),
        (threads["waiter"], threads["waiter"]),
    ]
    # the waiter waits while the holder holds it, and holds it after its wait (the
    # holder's "release" is recorded after the release: the waiter may record its wake first)
    (wait_b, wait_e), (first, second) = waits[0], holds
    assert first[0]["ts"] <= wait_b["ts"] <= wait_e["ts"] <= second[0]["ts"]
    assert [e["tid"] for e in instants(doc, f"acquire {label}")] == [threads["waiter"]]
    assert [e["tid"] for e in instants(doc, f"unpark {label}")] == [threads["holder"]]


def test_a_threading_lock_made_inside_the_trace_is_traced() -> None:
    gate = threading.Event()
    with threadkit.trace(summary=False) as tracer:
        lock: object = threading.Lock()  # (typed as the C lock; the trace makes it traced)
        assert isinstance(lock, _instrument.TracedLock)
        line = lock.site.rsplit(":", 1)[1]
        holding = threading.Event()

        def hold() -> None:
            with lock:
                holding.set()
                gate.wait(10)

        def wait() -> None:
            with lock:
                pass

        holder = start(hold, "holder")
        assert holding.wait(10)
        waiter = start(wait, "waiter")
        wait_until(parked_on(tracer, lock), what="the waiter parked on the lock")
        gate.set()
        holder.join(10)
        waiter.join(10)
    doc = tracer.to_json()
    check_format(doc)
    threads = tids(doc)
    label = f"Lock@{id(lock):#x} (test_trace.py:{line})"
    waits = spans(doc, f"wait {label}")
    assert [(b["tid"], e["args"]["outcome"]) for b, e in waits] == [(threads["waiter"], "wake")]
    holds = hold_pairs(doc, f"hold {label}")
    assert [b["tid"] for b, _ in holds] == [threads["holder"], threads["waiter"]]
    assert "Lock@" in tracer.summary()


def test_a_lock_released_by_another_thread_ends_its_hold_on_the_holder() -> None:
    with threadkit.trace(summary=False) as tracer:
        lock = threading.Lock()
        thread = start(lock.acquire, "acquirer")
        thread.join(10)
        lock.release()  # by the main thread: allowed for a plain Lock
    doc = tracer.to_json()
    check_format(doc)
    threads = tids(doc)
    ((begin, end),) = hold_pairs(doc, f"hold Lock@{id(lock):#x}")
    assert begin["tid"] == end["tid"] == threads["acquirer"]
    assert end["args"] == {"released_by": "MainThread"}


def test_a_queue_put_and_get() -> None:
    q: threadkit.queue.Queue[int] = threadkit.queue.Queue()
    with threadkit.trace(summary=False) as tracer:
        got: list[int] = []
        consumer = start(lambda: got.append(q.get(timeout=10)), "consumer")
        wait_for_waiters(q, 1, field="threads_waiting_get")
        q.put(7)
        consumer.join(10)
    assert got == [7]
    doc = tracer.to_json()
    check_format(doc)
    threads = tids(doc)
    label = f"Queue@{id(q):#x}"
    assert [e["tid"] for e in instants(doc, f"put {label}")] == [threads["MainThread"]]
    assert [e["tid"] for e in instants(doc, f"get {label}")] == [threads["consumer"]]
    waits = spans(doc, f"wait {label}")
    assert [(b["tid"], e["args"]["outcome"]) for b, e in waits] == [(threads["consumer"], "wake")]


def test_a_pool_task_runs_as_a_span_on_the_worker() -> None:
    with (
        threadkit.trace(summary=False) as tracer,
        threadkit.futures.ThreadPoolExecutor(1, thread_name_prefix="tracepool") as pool,
    ):
        future = pool.submit(lambda: 6 * 7, name="answer")
        assert future.result(timeout=10) == 42
    doc = tracer.to_json()
    check_format(doc)
    threads = tids(doc)
    (worker,) = [tid for name, tid in threads.items() if name.startswith("tracepool")]
    label = f"Future 'answer'@{id(future):#x}"
    (submit,) = instants(doc, "submit answer")
    assert submit["tid"] == threads["MainThread"]
    assert submit["args"] == {"future": label}
    ((begin, end),) = spans(doc, "task answer")
    assert begin["tid"] == end["tid"] == worker
    assert begin["args"]["future"] == label
    assert submit["ts"] <= begin["ts"] <= end["ts"]


def test_events_are_tuples_and_hold_no_objects_after_the_trace() -> None:
    mutex = threadkit.Mutex()
    with threadkit.trace(summary=False) as tracer:
        with mutex:
            pass
        assert any(r[3] is mutex for r in tracer.events)  # while it runs: the object
    events = tracer.events
    assert all(isinstance(r, tuple) and len(r) == 5 for r in events)
    assert all(r[3] is None or isinstance(r[3], str) for r in events)  # afterwards: labels
    assert [r[2] for r in events if r[3] == f"Mutex@{id(mutex):#x}"] == ["acquired", "release"]
    assert {r[1] for r in events} == {threading.get_ident()}


def test_the_objects_are_not_kept_alive_after_the_trace() -> None:
    mutex = threadkit.Mutex()
    with threadkit.trace(summary=False) as tracer:
        with mutex:
            pass
    ref = weakref.ref(mutex)
    del mutex
    gc.collect()
    assert ref() is None
    assert tracer.events  # the labels are kept


def test_each_thread_has_its_own_named_track_even_when_idents_are_reused() -> None:
    mutex = threadkit.Mutex()

    def use() -> None:
        with mutex:
            pass

    with threadkit.trace(summary=False) as tracer:
        for name in ("first", "second", "third"):
            thread = start(use, name)
            thread.join(10)  # the next thread often gets the same ident
    doc = tracer.to_json()
    check_format(doc)
    threads = tids(doc)
    assert len({threads["first"], threads["second"], threads["third"]}) == 3
    holds = hold_pairs(doc, f"hold Mutex@{id(mutex):#x}")
    assert [b["tid"] for b, _ in holds] == [threads[n] for n in ("first", "second", "third")]


# ------------------------------------------------------------------------------------------
# begins and ends at the edges of the trace


def test_a_wait_still_going_at_the_end_is_closed_as_unfinished() -> None:
    event = threadkit.Event()
    with threadkit.trace(summary=False) as tracer:
        thread = start(lambda: event.wait(10), "sleeper")
        wait_until(parked_on(tracer, event), what="the park recorded")
    event.set()
    thread.join(10)
    doc = tracer.to_json()
    events = check_format(doc)
    ((begin, end),) = spans(doc, f"wait Event@{id(event):#x}")
    assert begin["tid"] == tids(doc)["sleeper"]
    assert end["args"] == {"unfinished": True}
    assert begin["args"]["unfinished"] is True
    assert end["ts"] == max(e["ts"] for e in events)


def test_a_wait_begun_before_the_trace_is_dropped() -> None:
    event = threadkit.Event()
    parks: list[object] = []

    def listener(name: str, obj: object, detail: object) -> None:
        if name == "park" and obj is event:
            parks.append(obj)

    _hooks.add_listener(listener)  # to know when it has parked (past the hook)
    try:
        thread = start(lambda: event.wait(10), "early")
        wait_until(lambda: parks, what="the park")
    finally:
        _hooks.remove_listener(listener)
    with threadkit.trace(summary=False) as tracer:
        event.set()
        thread.join(10)
    doc = tracer.to_json()
    check_format(doc)
    assert spans(doc, "wait Event") == []
    recorded = sorted(r[2] for r in tracer.events if r[3] == f"Event@{id(event):#x}")
    assert recorded == ["unpark", "wake"]  # (in either order: "unpark" is sent after it)


def test_a_hold_still_held_at_the_end_is_closed_as_unfinished() -> None:
    mutex = threadkit.Mutex()
    with threadkit.trace(summary=False) as tracer:
        mutex.acquire()
    mutex.release()
    doc = tracer.to_json()
    check_format(doc)
    ((begin, end),) = hold_pairs(doc, f"hold Mutex@{id(mutex):#x}")
    assert end["args"] == {"unfinished": True}
    assert begin["tid"] == end["tid"]


# ------------------------------------------------------------------------------------------
# the file, the summary, on and off


def test_the_file_is_valid_trace_event_json(tmp_path: Path) -> None:
    out = tmp_path / "trace.json"
    with threadkit.trace(out, summary=False) as tracer:
        contended_mutex(tracer)
        q: threadkit.queue.Queue[int] = threadkit.queue.Queue()
        q.put(1)
        q.get()
        with threadkit.futures.ThreadPoolExecutor(2) as pool:
            assert pool.submit(sum, [1, 2]).result(timeout=10) == 3
    doc = json.loads(out.read_text(encoding="utf-8"))
    events = check_format(doc)
    assert doc == json.loads(json.dumps(tracer.to_json()))
    assert {e["ph"] for e in events} >= {"M", "B", "E", "b", "e", "i"}
    names = {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert {"MainThread", "holder", "waiter"} <= names
    assert len({e["pid"] for e in events}) == 1


def test_the_summary_names_the_most_contended_primitive_first() -> None:
    long, short = threadkit.Mutex(), threadkit.Mutex()
    out = io.StringIO()
    # Made before the trace: threading's own locks in them stay plain (a thread's start
    # waits on one, which a busy machine can make a longer wait than ours).
    a = threading.Thread(target=long.acquire, name="long-waiter", daemon=True)
    b = threading.Thread(target=short.acquire, name="short-waiter", daemon=True)
    with threadkit.trace(file=out) as tracer:
        long.acquire()
        short.acquire()
        a.start()
        wait_until(parked_on(tracer, long), what="a's park recorded")
        b.start()
        wait_until(parked_on(tracer, short), what="b's park recorded")
        # b's wait lies inside a's: long's total wait is the larger one
        short.release()
        b.join(10)
        long.release()
        a.join(10)
    text = tracer.summary()
    assert out.getvalue() == text + "\n"  # printed at the exit
    lines = text.splitlines()
    assert lines[0].startswith("threadkit trace: ")
    header = lines.index("Most contended (total time threads waited on each):")
    rows = lines[header + 2 : lines.index("Longest waits:")]
    assert len(rows) == 2
    assert rows[0].endswith(f"Mutex@{id(long):#x}")
    assert rows[0].split()[:2] == ["1", "0"]  # one wait, no timeout
    assert rows[1].endswith(f"Mutex@{id(short):#x}")
    longest = lines[lines.index("Longest waits:") + 1]
    assert longest.endswith(f"'long-waiter' on Mutex@{id(long):#x} (wake)")
    assert "Lock holds:" in lines
    # the joins are waits too, but not contention
    assert any(line.startswith("Other waits (joins, results") for line in lines)


def test_the_summary_counts_timeouts() -> None:
    mutex = threadkit.Mutex()
    with threadkit.trace(summary=False) as tracer:
        mutex.acquire()
        thread = start(lambda: mutex.acquire(timeout=0.01), "impatient")
        thread.join(10)
        mutex.release()
    row = next(line for line in tracer.summary().splitlines() if line.endswith(f"{id(mutex):#x}"))
    assert row.split()[:2] == ["1", "1"]
    assert "(timeout)" in tracer.summary()


def test_no_waits_says_so() -> None:
    with threadkit.trace(summary=False) as tracer:
        pass
    assert "No thread waited on a lock, queue or other primitive." in tracer.summary()
    check_format(tracer.to_json())


def test_the_instrumentation_is_on_only_during_the_trace() -> None:
    saved = threading.Lock
    with threadkit.trace(summary=False) as tracer:
        assert _hooks.enabled
        assert current(threading, "Lock") is _instrument.TracedLock
        assert tracer.running
    assert not current(tracer, "running")
    assert current(_hooks, "enabled") is False
    assert threading.Lock is saved
    assert not _instrument.installed()


def test_nested_traces() -> None:
    saved = threading.Lock
    first, second = threadkit.Mutex(), threadkit.Mutex()
    with threadkit.trace(summary=False) as outer:
        with first:
            pass
        with threadkit.trace(summary=False) as inner:
            with second:
                pass
        assert _hooks.enabled  # the outer trace still runs
        assert current(threading, "Lock") is _instrument.TracedLock
        with first:
            pass
    assert threading.Lock is saved
    assert not current(_hooks, "enabled")
    outer_labels = [r[3] for r in outer.events if r[2] == "acquired"]
    inner_labels = [r[3] for r in inner.events if r[2] == "acquired"]
    a, b = f"Mutex@{id(first):#x}", f"Mutex@{id(second):#x}"
    assert outer_labels == [a, b, a]
    assert inner_labels == [b]


def test_an_exception_in_the_block_still_writes_the_file_and_uninstalls(tmp_path: Path) -> None:
    out = tmp_path / "trace.json"
    saved = threading.Lock
    mutex = threadkit.Mutex()

    def fail() -> None:
        with threadkit.trace(out, summary=False):
            with mutex:
                pass
            raise ZeroDivisionError("in the block")

    with pytest.raises(ZeroDivisionError, match="in the block"):
        fail()
    assert threading.Lock is saved
    assert not current(_hooks, "enabled")
    doc = json.loads(out.read_text(encoding="utf-8"))
    check_format(doc)
    assert hold_pairs(doc, f"hold Mutex@{id(mutex):#x}")


def test_a_tracer_runs_once() -> None:
    tracer = threadkit.trace(summary=False)
    with tracer:
        pass
    tracer.stop()  # again: nothing
    with pytest.raises(RuntimeError, match="already run"), tracer:
        pass


def test_start_and_stop_without_with(tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    tracer = threadkit.trace(out, summary=False).start()
    try:
        with threadkit.Mutex():
            pass
        check_format(tracer.to_json())  # a snapshot while it runs
    finally:
        tracer.stop()
    assert out.exists()
    assert repr(tracer).startswith("<threadkit.Tracer stopped, ")


def test_a_thread_that_threading_does_not_know_is_named_by_its_ident() -> None:
    import _thread

    done = threading.Event()  # made before the trace: a plain lock
    with threadkit.trace(summary=False) as tracer:
        lock = threading.Lock()  # traced
        idents: list[int] = []

        def raw() -> None:
            idents.append(threading.get_ident())
            with lock:
                pass
            done.set()

        _thread.start_new_thread(raw, ())
        assert done.wait(10)
    doc = tracer.to_json()
    check_format(doc)
    ((begin, _),) = hold_pairs(doc, f"hold Lock@{id(lock):#x}")
    assert begin["tid"] == tids(doc)[f"thread {idents[0]}"]
