"""A small measured process for the sampler's tests: N threads of chosen kinds.

Usage: ``python sampler_child.py KIND:N [KIND:N ...]`` with KIND one of

- ``crunch``: pure-Python arithmetic (holds the GIL, wants a core);
- ``sleep``: ``time.sleep(0.2)`` in a loop (I/O-like wait, GIL released);
- ``tick``: ``time.sleep(0.001)`` in a loop (the convoy victim beside CPU-bound threads);
- ``gilsleep``: sleeps 50 ms in C *without* releasing the GIL (``ctypes.PyDLL`` keeps it);
- ``lock``: contention on one shared ``threading.Lock``, held while crunching;
- ``hashlib``: sha256 of a 1 MiB buffer (C code that releases the GIL);
- ``idle``: a pool-like thread blocked on an empty ``queue.Queue``.

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


def main(argv: list[str]) -> int:
    tids: list[str] = []
    started: list[threading.Thread] = []
    for spec in argv:
        kind, _, count = spec.partition(":")
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
