"""A run always ends (issue #22): whatever happens to its messages, ``done`` is set, the
model says why, and no process of the run is left."""

from __future__ import annotations

import pytest

from gilviz.core.protocol import WorkerSeen
from gilviz.core.running.session import Run
from gilviz.core.running.spec import build_spec
from tests.helpers import alive, kill_pidfile, wait_for, write_pipe_holder


def test_a_message_the_model_cannot_take_still_ends_the_run():
    spec = build_spec("crunch", pool="thread", workers=2, tasks=20, size=10**10)
    run = Run(spec, sample_hz=0)
    take = run.model.on_message

    def on_message(msg):
        if isinstance(msg, WorkerSeen):
            raise KeyError("no such worker")
        take(msg)

    run.model.on_message = on_message
    run.start()
    try:
        wait_for(lambda: run.done, what="the run to end")
        assert "could not read the runner's messages" in run.model.error()
        wait_for(lambda: not alive([run.proc.pid]), timeout=10, what="the runner to exit")
    finally:
        run.kill()


@pytest.fixture
def pipe_holder(tmp_path):
    workload, pidfile = write_pipe_holder(tmp_path)
    yield workload, pidfile
    kill_pidfile(pidfile)


def test_stop_ends_a_run_whose_pipe_stays_open(pipe_holder):
    workload, pidfile = pipe_holder
    spec = build_spec(workload, pool="thread", workers=1, tasks=1, size=60)
    run = Run(spec, sample_hz=0).start()
    wait_for(pidfile.exists, what="the helper to start")
    run.stop(timeout=1.0)
    assert run.done
    error = run.model.error()
    if run.end_lost:  # killed before it could send its end: given up, saying why
        assert error == run.end_lost and "event pipe is still open" in error
    else:  # it sent its end (its task would not stop), but the pipe never closed
        assert error.startswith("stopped: 1 task(s) did not stop")
    wait_for(lambda: not alive([run.proc.pid]), timeout=10, what="the runner to exit")
