"""What a pool refuses, measured: the unshareable workload hands every task one object with
a lock in it. Threads share it and count every update under the lock; a process pool, and
an interpreter pool (3.14+), cannot copy it, and the error the pool itself raised is the
run's outcome, against which the unshareable-interpreters preset's claim is checked."""

from __future__ import annotations

import json
import sys

import pytest

from tests.helpers import run_cli
from tests.pythons import matrix_params

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")

SMALL = ["--size", "20000", "--tasks", "4", "--workers", "2", "--hz", "0"]


def test_threads_share_the_object_and_a_process_pool_refuses_it():
    out = run_cli("compare", "unshareable", "--pools", "thread,process", *SMALL, "--json")
    assert out.returncode == 1, out.stderr  # a run failed: the process pool's
    thread, process = json.loads(out.stdout)["runs"]
    assert thread["error"] is None
    assert thread["outcome"] == {"expected": 80_000, "total": 80_000, "objects": 1}
    said = process["outcome"]["refused"]
    assert said == "TypeError: cannot pickle '_thread.lock' object"
    assert process["error"] == f"the pool refused the task's argument: {said}"
    assert process["tasks_done"] == 0
    text = run_cli("compare", "unshareable", "--pools", "thread,process", *SMALL).stdout
    assert f"process: refused {said}" in text


@pytest.mark.parametrize("target", matrix_params(("3.14", "3.15")))
def test_an_interpreter_pool_refuses_it_and_the_claim_holds(target):
    _, python = target
    out = run_cli(
        "run", "--preset", "unshareable-interpreters", "--python", python, *SMALL, "--json"
    )
    assert out.returncode == 0, out.stderr  # the claim decides, and it holds
    doc = json.loads(out.stdout)
    runs = {r["pool"]: r for r in doc["runs"]}
    said = runs["interpreter"]["outcome"]["refused"]
    assert said.startswith("NotShareableError: SharedTotal(n=20000, total=0, lock)")
    assert said.endswith("does not support cross-interpreter data")
    assert runs["process"]["outcome"]["refused"].startswith("TypeError: cannot pickle")
    assert doc["claim"]["ok"] is True, doc["claim"]
    assert f"interpreters refused it: {said}" in doc["claim"]["text"]
