"""The task an interpreter pool's worker runs, in its own subinterpreter (Python 3.14+).

    runner ──InterpreterPoolExecutor.submit(run_task, workload, spread, index, pickled arg)──>
        subinterpreter: unpickle, run the workload, pickle the result, time each step

A module of its own, importing only the standard library and ``workloads``: every worker's
interpreter imports it afresh on its first task, and that import is part of what the pool
costs to start (the runner's own module would bring multiprocessing and the rest along).
"""

from __future__ import annotations

import os
import pickle
import threading
import time

from gilviz.core.running import workloads


def run_task(workload: str, spread: bool, index: int, blob: bytes) -> tuple:
    """One task; returns what a process worker's task returns (see runner._proc_task).
    ``spread``: the argument is a tuple of arguments (see workloads.resolve)."""
    pid, tid = os.getpid(), threading.get_native_id()
    t0 = time.monotonic_ns()
    c0 = time.thread_time_ns()
    p0 = time.perf_counter_ns()
    arg = pickle.loads(blob)
    unpickle_ns = time.perf_counter_ns() - p0
    result = workloads.resolve(workload, spread)(arg)
    p1 = time.perf_counter_ns()
    out = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    pickle_ns = time.perf_counter_ns() - p1
    cpu = time.thread_time_ns() - c0
    return pid, tid, index, t0, time.monotonic_ns(), cpu, unpickle_ns, pickle_ns, None, out


def receive(arg: object) -> None:
    """Takes an argument and does nothing: what the runner hands an interpreter pool an
    argument with, to hear the pool's own word when it cannot be shared."""
