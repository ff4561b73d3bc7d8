"""Bad input: one clear line on stderr, exit code 2, never a traceback; doctor and listings."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess

import pytest

from gilviz.core.running import workloads
from tests.helpers import gilviz_cmd, run_cli


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
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["compre"], "unknown command 'compre' (did you mean 'compare'?)"),
        (["run", "crunch", "--pool", "threads"], "unknown pool 'threads' (did you mean 'thread'?)"),
        (["crunch", "--pool", "threads"], "unknown pool 'threads' (did you mean 'thread'?)"),
        (["export", "x.jsonl", "--format", "markdwn"], "did you mean 'markdown'?"),
        (["run", "crunch", "--size", "abc"], "--size must be a whole number, not 'abc'"),
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
    assert not lines[0].startswith("gilviz: gilviz"), lines[0]  # the prefix once
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


def test_an_unknown_pool_is_offered_only_the_pools_this_python_runs():
    from gilviz.core.measuring.machine import interpreter_info

    runnable = [p for p, why in interpreter_info(None).pools.items() if why is None]
    for args in (["run", "crunch", "--pool", "fibers"], ["compare", "crunch", "--pools", "fibers"]):
        line = run_cli(*args).stderr.strip()
        assert line.endswith(f"this Python runs {', '.join(runnable)} (gilviz doctor says why "
                             "not the others)"), line  # fmt: skip


def test_a_bad_size_names_what_the_size_is_in_plain_words():
    line = run_cli("run", "crunch", "--size", "-3").stderr.strip()
    assert line == (
        "gilviz: --size must be between 1 and 10,000,000,000, not -3 (for crunch, the size is "
        f"{workloads.BUILTINS['crunch'].size_unit})"
    )
    assert "((" not in line and "(n (" not in line


def test_help_names_gilviz_workloads_for_sizes_and_shows_no_internal_metavar():
    for args in (["run", "--help"], ["compare", "--help"], ["crunch", "--help"]):
        text = run_cli(*args).stdout
        size_help = " ".join(text[text.index("\n  --size") :].split("\n  --")[1].split())
        assert "gilviz workloads" in size_help and "gilviz presets" not in size_help, size_help
    for args in (["--help"], ["talk", "--help"], ["replay", "--help"], ["watch", "--help"]):
        text = run_cli(*args).stdout
        caps = set(re.findall(r"\b[A-Z]+_[A-Z_]+\b", text)) - {"SSH_CONNECTION"}
        assert not caps, caps  # no TUI_HZ, START_METHOD


def test_doctor_rows_line_up():
    lines = run_cli("doctor").stdout.splitlines()
    columns = {re.match(r"(.+?)  +(\S)", line).start(2) for line in lines}
    assert len(columns) == 1, lines
    assert any(line.startswith("start methods") for line in lines)


def _run_on_a_terminal(*args: str) -> tuple[bytes, str, int]:
    """gilviz with stderr on a pseudo-terminal (stdout piped): what the terminal got, what
    stdout got, the exit code."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(gilviz_cmd(*args), stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    try:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every writer of the terminal has closed it
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
        out = proc.communicate(timeout=60)[0]
    return seen, out.decode(), proc.returncode


def test_compare_shows_its_progress_on_a_terminal_and_nothing_when_piped():
    args = ("compare", "sleep", "--pools", "serial,thread", "--workers", "2", "--tasks", "4",
            "--size", "500", "--hz", "0")  # fmt: skip
    seen, out, code = _run_on_a_terminal(*args)
    assert code == 0 and "per-worker cpu s" in out
    frames = [f.decode() for f in seen.split(b"\r\x1b[K")]
    serial = [f for f in frames if f.startswith("run 1 of 2: sleep on serial ×1 · ")]
    thread = [f for f in frames if f.startswith("run 2 of 2: sleep on thread ×2 · ")]
    assert serial and thread, frames
    # Shown while the run goes (tasks still to do), not only as it starts or ends.
    assert any(re.search(r" · [123]/4 tasks · \d+\.\d s$", f) for f in serial), serial
    assert frames[-1] == "", frames[-1]  # the line is wiped before the results are printed
    assert b"\n" not in seen  # rewritten in place: one line, never scrolled
    piped = run_cli(*args)
    assert piped.returncode == 0 and piped.stderr == ""


def test_a_misspelt_preset_for_the_tui_gets_a_suggestion():
    line = run_cli("--preset", "crunch-thread").stderr.strip()
    assert line.startswith("gilviz: unknown preset 'crunch-thread': use one of "), line
    assert line.endswith("(did you mean 'crunch-threads'?)"), line
