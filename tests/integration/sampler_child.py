"""A small measured process for the sampler's tests: N threads of chosen kinds.

Usage: ``python sampler_child.py KIND:N [KIND:N ...]`` with KIND one of

- ``crunch``: pure-Python arithmetic (holds the GIL, wants a core);
- ``sleep``: ``time.sleep(0.2)`` in a loop (I/O-like wait, GIL released);
- ``tick``: ``time.sleep(0.001)`` in a loop (the convoy victim beside CPU-bound threads);
- ``gilsleep``: sleeps 50 ms in C *without* releasing the GIL (``ctypes.PyDLL`` keeps it);
- ``lock``: contention on one shared ``threading.Lock``, held while crunching;
- ``hashlib``: sha256 of a 1 MiB buffer (C code that releases the GIL);
- ``idle``: a pool-like thread blocked on an empty ``queue.Queue``;
- ``subcrunch``: crunch threads inside one subinterpreter, started by a task of an
  ``InterpreterPoolExecutor`` (3.14+): they wait for that interpreter's own GIL.

It prints one line ``READY <pid> <kind>:<tid> ...`` once every thread runs, then works
until its stdin closes (the test ends it by closing the pipe, or it dies with the test
process), or after a safety deadline of 120 s, so it can never be orphaned for long.
Only the standard library is used: it runs under any CPython, including /usr/bin/python3.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import sys
import threading
import time

stop = threading.Event()
shared_lock = threading.Lock()
idle_queue: queue.Queue[object] = queue.Queue()
BUF = os.urandom(1 << 20)


def crunch() -> None:
    n = 0
    while not stop.is_set():
        for i in range(2000):
            n += i * i


def sleep() -> None:
    while not stop.is_set():
        time.sleep(0.2)


def tick() -> None:
    while not stop.is_set():
        time.sleep(0.001)


def gilsleep() -> None:
    import ctypes

    usleep = ctypes.PyDLL(None).usleep  # PyDLL: the call keeps holding the GIL
    while not stop.is_set():
        usleep(50_000)


def lock() -> None:
    n = 0
    while not stop.is_set():
        with shared_lock:
            for i in range(20000):
                n += i
        for i in range(200):
            n += i


def hashing() -> None:
    while not stop.is_set():
        hashlib.sha256(BUF).digest()


def idle() -> None:
    while not stop.is_set():
        with contextlib.suppress(queue.Empty):
            idle_queue.get(timeout=0.5)


KINDS = {
    "crunch": crunch,
    "sleep": sleep,
    "tick": tick,
    "gilsleep": gilsleep,
    "lock": lock,
    "hashlib": hashing,
    "idle": idle,
}


# Runs in the subinterpreter (as exec's source: a function of this file cannot be sent
# there by reference). Its threads stop when the stop pipe's write end is closed.
_SUB_TASK = """
import os, threading
def crunch():
    n = 0
    while True:
        for i in range(2000):
            n += i * i
        try:
            if os.read(STOP, 1) == b"":
                return
        except BlockingIOError:
            pass
def body():
    os.write(TIDS, b"%d\\n" % threading.get_native_id())
    crunch()
threads = [threading.Thread(target=body) for _ in range(COUNT)]
for t in threads:
    t.start()
for t in threads:
    t.join()
"""


def subcrunch(count: int) -> list[int]:
    """Start ``count`` crunch threads in one subinterpreter; their native thread ids."""
    import concurrent.futures as cf

    stop_r, stop_w = os.pipe()
    tids_r, tids_w = os.pipe()
    os.set_blocking(stop_r, False)
    pool = cf.InterpreterPoolExecutor(1)  # type: ignore[attr-defined]
    src = _SUB_TASK.replace("STOP", str(stop_r)).replace("TIDS", str(tids_w))
    pool.submit(exec, src.replace("COUNT", str(count)), {})
    lines = b""
    while lines.count(b"\n") < count:
        lines += os.read(tids_r, 64)

    def end() -> None:
        stop.wait()
        os.close(stop_w)
        pool.shutdown(wait=True)

    threading.Thread(target=end, daemon=True).start()
    return [int(x) for x in lines.split()]


def main(argv: list[str]) -> int:
    tids: list[str] = []
    started: list[threading.Thread] = []
    for spec in argv:
        kind, _, count = spec.partition(":")
        if kind == "subcrunch":
            tids += [f"subcrunch:{t}" for t in subcrunch(int(count or 1))]
            continue
        for _ in range(int(count or 1)):
            ready = threading.Event()
            box: list[int] = []

            def body(fn=KINDS[kind], ready=ready, box=box) -> None:
                box.append(threading.get_native_id())
                ready.set()
                fn()

            t = threading.Thread(target=body, daemon=True)
            t.start()
            ready.wait()
            tids.append(f"{kind}:{box[0]}")
            started.append(t)
    print("READY", os.getpid(), *tids, flush=True)
    # Block in a read, not a busy loop, so the main thread costs nothing.
    watcher = threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True)
    watcher.start()
    stop.wait(120)
    stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
