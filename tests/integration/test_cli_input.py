"""Bad input: one clear line on stderr, exit code 2, never a traceback; doctor and listings."""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_cli


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["run", "crnch"], "unknown workload 'crnch'"),
        (["run", "crunch", "--pool", "fibers"], "unknown pool 'fibers'"),
        (["compare", "crunch", "--pools", "serial,fibers"], "unknown pool 'fibers'"),
        (["run", "crunch", "--workers", "two"], "--workers must be a whole number"),
        (["run", "crunch", "--tasks", "0"], "--tasks must be between 1"),
        (["run", "crunch", "--size", "-3"], "--size"),
        (["run", "crunch", "--hz", "fast"], "--hz must be a number"),
        (["run", "crunch", "--pool", "interpreter"], "pool 'interpreter' is unavailable"),
        (["run", "crunch", "--pool", "free-threaded"], "pool 'free-threaded' is unavailable"),
        (["run", "crunch", "--python", "/no/such/python"], "no such file"),
        (["run", "crunch", "--start-method", "vfork"], "unknown start method"),
        (["run", "no_such_module_zz:f", "--pool", "thread", "--hz", "0"], "cannot import"),
        (["run", "json:loads_nope", "--pool", "thread", "--hz", "0"], "has no attribute"),
        (["run", "json:__doc__", "--pool", "thread", "--hz", "0"], "not callable"),
        (["run"], "name a workload"),
        (["frobnicate"], "invalid choice"),
        (["run", "crunch", "--bogus"], "unrecognized arguments"),
        (["doctor", "--python", "/no/such/python"], "no such file"),
        (["crunch", "--workers", "two"], "--workers must be a whole number"),
        (["crunch", "--start", "--bogus"], "unrecognized arguments"),
        (["crunch", "--start"], "the TUI needs a terminal"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle):
    out = run_cli(*args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("gilviz: ") and needle in lines[0]
    assert out.stdout == ""


def test_doctor_text_and_json():
    text = run_cli("doctor")
    assert text.returncode == 0
    for word in ("cores", "usable", "cgroup quota", "GIL", "sampling", "start methods", "pool"):
        assert word in text.stdout
    doc = json.loads(run_cli("doctor", "--json").stdout)
    assert doc["machine"]["cores_usable"] >= 1
    assert set(doc["start_methods"]) >= {"fork", "spawn", "forkserver"}
    assert doc["pools"]["process"] == "available"
    assert doc["python"]["gil_enabled"] is True


def test_workloads_listing_has_every_builtin():
    doc = json.loads(run_cli("workloads", "--json").stdout)
    names = {w["name"] for w in doc}
    assert names == {
        "crunch",
        "fetch",
        "sleep",
        "hash",
        "compress",
        "pickle-heavy",
        "tiny",
        "shared-counter",
        "unshareable",
        "segfault",
    }


def test_python_m_gilviz_and_version():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("gilviz ")
