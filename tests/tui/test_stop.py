"""A stop always settles: the controller reports a plan from the moment it is begun, and a
run whose end is never read is given up at a deadline that says why (issue #22).

The controller tests run real runners, without Textual; the deadlines are driven by a fake
clock, so no test depends on how fast this machine is.
"""

from __future__ import annotations

from dataclasses import replace

import psutil
import pytest

from gilviz.core.protocol import Switch
from gilviz.core.running.spec import build_spec
from gilviz.tui.controllers.base import Plan
from gilviz.tui.controllers.live import KILL_GRACE_S, STOP_BOUND_S, STOP_GRACE_S, LiveController
from gilviz.tui.screens.talk import TalkScreen
from tests.helpers import alive, kill_pidfile, wait_for, write_pipe_holder

from .test_pilot import RUN_TIMEOUT, drive, live_app, slow_deck, tiny_deck, until


def plan(label: str, workload: str, **kw) -> Plan:
    return Plan(label, lambda url: [build_spec(workload, **kw)])


def slow(pool: str = "process") -> Plan:
    return plan("slow", "sleep", pool=pool, workers=2, tasks=4, size=20_000)


def quick() -> Plan:
    return plan("quick", "crunch", pool="thread", workers=2, tasks=2, size=1000)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def workers_up(ctrl: LiveController, n: int = 2) -> bool:
    snap = ctrl.poll().snapshot
    return snap is not None and len(snap.workers) == n


def frozen_run(ctrl: LiveController):
    """The current run once its workers are up, its runner then stopped (SIGSTOP): it can
    end only when the controller kills it, i.e. when the test moves the fake clock."""
    wait_for(lambda: workers_up(ctrl), what="the run's workers")
    run = ctrl._run
    psutil.Process(run.proc.pid).suspend()
    return run


def test_a_plan_begun_while_a_run_ends_is_reported_at_once():
    ctrl = LiveController(sample_hz=0)
    ctrl.clock = clock = FakeClock()
    try:
        ctrl.begin(slow("thread"))
        first = ctrl.poll().generation
        old = frozen_run(ctrl)
        nxt = quick()
        ctrl.begin(nxt)
        p = ctrl.poll()
        # The new plan, waiting for the old run to end; never the old run "stopping".
        assert (p.plan, p.generation, p.state, p.snapshot) == (nxt, first + 1, "queued", None)
        sent = []
        old.send = sent.append
        ctrl.send(Switch(0.001))
        assert sent == []  # control lines are for the new plan's run, not yet started
        clock.now += STOP_GRACE_S + 0.1  # the old run is killed
        wait_for(lambda: ctrl.poll().state == "done", timeout=RUN_TIMEOUT, what="quick done")
        assert ctrl.poll().generation == first + 1
        assert alive([old.proc.pid]) == []
    finally:
        ctrl.shutdown()


def test_stopping_a_queued_plan_settles_at_once_and_the_next_one_runs():
    ctrl = LiveController(sample_hz=0)
    ctrl.clock = clock = FakeClock()
    try:
        ctrl.begin(slow("thread"))
        old = frozen_run(ctrl)
        ctrl.begin(quick())
        assert ctrl.poll().state == "queued"
        ctrl.stop()
        assert ctrl.poll().state == "stopped"
        ctrl.begin(quick())
        assert ctrl.poll().state == "queued"
        clock.now += STOP_GRACE_S + 0.1
        wait_for(lambda: ctrl.poll().state == "done", timeout=RUN_TIMEOUT, what="quick done")
        assert alive([old.proc.pid]) == []
    finally:
        ctrl.shutdown()


# --- a runner whose end is never read ---------------------------------------------------


@pytest.fixture
def pipe_holder(tmp_path):
    workload, pidfile = write_pipe_holder(tmp_path)
    yield workload, pidfile
    kill_pidfile(pidfile)


def holder_plan(workload: str, sleep_s: int) -> Plan:
    return plan("holder", workload, pool="thread", workers=1, tasks=1, size=sleep_s)


def test_a_stop_whose_end_is_never_read_is_given_up_at_the_bound(pipe_holder):
    workload, pidfile = pipe_holder
    clock = FakeClock()
    ctrl = LiveController(sample_hz=0)
    ctrl.clock = clock
    try:
        ctrl.begin(holder_plan(workload, 60))
        wait_for(pidfile.exists, what="the helper to start")
        run = ctrl._run
        ctrl.stop()
        assert ctrl.poll().state == "stopping"
        # The runner gives its task 1 s, then ends by itself; the helper keeps the pipe.
        wait_for(lambda: run.model.end is not None, timeout=RUN_TIMEOUT, what="end message")
        wait_for(lambda: run.proc.poll() is not None, timeout=RUN_TIMEOUT, what="runner exit")
        clock.now += STOP_GRACE_S + 0.1  # time to kill: nothing left to kill
        assert ctrl.poll().state == "stopping"
        assert not run.done
        clock.now += KILL_GRACE_S + 0.1  # the end is still not read: given up
        p = ctrl.poll()
        assert p.state == "stopped"
        assert p.summaries[0]["error"].startswith("stopped: 1 task(s) did not stop")
        assert run.done
        ctrl.begin(quick())
        wait_for(lambda: ctrl.poll().state == "done", timeout=RUN_TIMEOUT, what="next run")
    finally:
        ctrl.shutdown()


def test_a_runner_gone_without_its_end_read_is_not_shown_running(pipe_holder):
    workload, pidfile = pipe_holder
    clock = FakeClock()
    ctrl = LiveController(sample_hz=0)
    ctrl.clock = clock
    try:
        ctrl.begin(holder_plan(workload, 0))
        run = ctrl._run
        wait_for(lambda: run.model.end is not None, timeout=RUN_TIMEOUT, what="end message")
        wait_for(lambda: run.proc.poll() is not None, timeout=RUN_TIMEOUT, what="runner exit")
        assert ctrl.poll().state == "running"  # its end may be on its way
        clock.now += KILL_GRACE_S + 0.1
        p = ctrl.poll()
        assert p.state == "done", p.error
        assert p.summaries[0]["tasks_done"] == 1
    finally:
        ctrl.shutdown()


# --- the screens ------------------------------------------------------------------------


def test_talk_shows_the_step_begun_while_the_last_run_stops():
    """The freeze of #22: `n` while a run is still ending bound the talk to the old run,
    which was never shown stopped, and hid the new step's run."""
    deck = [slow_deck()[0], replace(tiny_deck()[0], name="quick")]
    app = live_app(deck=deck, preset="slow", talk=True)

    async def script(pilot):
        talk = app.screen
        assert isinstance(talk, TalkScreen)
        await until(
            pilot,
            lambda: app.progress.snapshot is not None and len(app.progress.snapshot.workers) == 2,
            what="slow step's workers",
        )
        await pilot.press("n")
        assert talk.banner.step == "2/2"
        await until(
            pilot,
            lambda: talk.status.state == "done",
            timeout=STOP_BOUND_S + RUN_TIMEOUT,
            what="step 2 shown done",
        )
        assert talk.claim.mark in ("✓", "✗", "?")

    drive(app, script)
