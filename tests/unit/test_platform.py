"""Machine and interpreter facts for doctor and the JSON header."""

from __future__ import annotations

import os
import sys

from gilviz.core.measuring import machine as gp


def test_cgroup_v2_and_v1_quota(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert gp.cgroup_cpu_limit(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert gp.cgroup_cpu_limit(tmp_path) is None
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("200000")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert gp.cgroup_cpu_limit(v1) == 2.0
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1")
    assert gp.cgroup_cpu_limit(v1) is None


def test_usable_cores_follow_affinity():
    assert gp.usable_cpus() == sorted(os.sched_getaffinity(0))
    assert 1 <= gp.cores_usable() <= gp.cores_logical()


def test_interpreter_info_of_this_python_and_by_path_agree():
    here = gp.interpreter_info()
    other = gp.interpreter_info(sys.executable)
    assert here.version == other.version
    assert set(here.available_pools()) >= {"serial", "thread", "process"}
    assert "fork" in here.start_methods
    if sys.version_info < (3, 14):
        assert "InterpreterPoolExecutor" in here.pools["interpreter"]
    assert here.pools["free-threaded"] is not None or not here.gil_enabled


def test_this_interpreter_is_probed_once_and_each_answer_is_its_own(monkeypatch):
    """The dashboard asks for every preset it loads: the probe (a read of the whole of
    /proc/self/maps) runs once, and a caller that changes its answer changes no other."""
    calls = []
    probe = gp._probe_self
    monkeypatch.setattr(gp, "_probe_self", lambda: calls.append(1) or probe())
    monkeypatch.setattr(gp, "_self_raw", None)
    first = gp.interpreter_info()
    first.start_methods.append("changed")
    first.pools["thread"] = "changed"
    second = gp.interpreter_info(None)
    assert calls == [1]
    assert "changed" not in second.start_methods
    assert second.pools["thread"] is None
    assert second == gp.InterpreterInfo(**probe(), pools=second.pools)


def test_probe_by_running_another_interpreter_process():
    # The pyenv python and the venv python are different paths for the same build.
    info = gp.interpreter_info(sys.base_prefix + "/bin/python3")
    assert info.version == gp.python_info()["version"]


def test_doctor_report_has_what_doctor_prints():
    rep = gp.doctor_report()
    assert rep["machine"]["cores_usable"] >= 1
    assert rep["sampling"]["proc_task_readable"] is True
    assert rep["pools"]["thread"] == "available"
    assert rep["pools"]["interpreter"].startswith("unavailable: ")
