"""Record a headless session, replay it to the same numbers, export it."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys

import pytest

from gilviz.core import report
from gilviz.core.errors import BadInput
from gilviz.core.protocol import STATE_WORDS
from gilviz.core.recording.reader import read_recording
from tests.helpers import alive, descendants, finish, gilviz_cmd, run_cli, wait_for

RUN = ["compare", "crunch", "--pools", "serial,thread", "--workers", "2", "--tasks", "2",
       "--size", "1500000", "--hz", "50"]  # fmt: skip


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "session.jsonl"
    out = run_cli(*RUN, "--json", "--record", str(path))
    assert out.returncode == 0, out.stderr
    return path, json.loads(out.stdout)


def test_replay_json_gives_the_same_numbers(recorded):
    path, live = recorded
    out = run_cli("replay", str(path), "--json")
    assert out.returncode == 0, out.stderr
    replayed = json.loads(out.stdout)
    assert replayed["runs"] == live["runs"]
    assert replayed["python"] == live["python"]


def test_recording_is_versioned_jsonl(recorded):
    path, _ = recorded
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["type"] == "header" and lines[0]["format"] == 1
    kinds = {line["type"] for line in lines}
    assert kinds == {"header", "plan", "run", "m", "t", "end"}
    assert sum(1 for line in lines if line["type"] == "run") == 2
    # How the runs were shown: one plan, named by both runs, before them.
    (plan,) = [line for line in lines if line["type"] == "plan"]
    assert lines.index(plan) == 1
    assert (plan["plan"], plan["kind"], plan["label"], plan["labels"], plan["preset"]) == (
        0, "compare", "crunch on serial, thread", ["serial", "thread"], None
    )  # fmt: skip
    assert [line["plan"] for line in lines if line["type"] == "run"] == [0, 0]
    # The terminal's size (none here: the output is a pipe) and each run's load at its end.
    assert lines[0]["settings"]["terminal"] is None
    assert all(isinstance(e["load1"], float) for e in lines if e["type"] == "end")


def test_truncated_last_line_is_tolerated(recorded, tmp_path):
    path, live = recorded
    text = path.read_text()
    cut = tmp_path / "cut.jsonl"
    cut.write_text(text[: len(text) - 40])  # mid-way through the last line
    rec = read_recording(cut)
    assert rec.truncated
    assert len(rec.models) == 2
    out = run_cli("replay", str(cut), "--json")
    assert out.returncode == 0
    assert json.loads(out.stdout)["runs"][0] == live["runs"][0]


def test_unknown_format_is_refused_clearly(tmp_path):
    old = tmp_path / "old.jsonl"
    old.write_text('{"type":"header","format":0}\n')
    with pytest.raises(BadInput, match="recording format 0 is not supported"):
        read_recording(old)
    out = run_cli("replay", str(old), "--json")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    missing = run_cli("replay", str(tmp_path / "none.jsonl"))
    assert missing.returncode == 2 and "no such recording" in missing.stderr


def test_perfetto_export_has_tracks_and_slices(recorded, tmp_path):
    path, live = recorded
    trace = tmp_path / "trace.json"
    out = run_cli("export", str(path), "--format", "perfetto", "-o", str(trace))
    assert out.returncode == 0, out.stderr
    events = json.loads(trace.read_text())["traceEvents"]
    names = {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert any(n.startswith("worker 0 (pid") for n in names)
    assert "worker 1 tasks" in names
    tasks = [e for e in events if e.get("cat") == "task"]
    assert sum(e["args"]["tasks"] for e in tasks) == sum(r["tasks_done"] for r in live["runs"])
    states = [e for e in events if e.get("cat") == "state"]
    assert states and all(e["dur"] > 0 for e in states)
    # Named as on screen; the JSON's state id is in the slice's arguments.
    assert {e["name"] for e in states} <= {*STATE_WORDS.values(), "n/a"}
    assert all(STATE_WORDS.get(e["args"]["state"], "n/a") == e["name"] for e in states)
    assert any(e["ph"] == "C" and e["name"].startswith("core ") for e in events)


def test_markdown_export_has_the_run_table(recorded):
    path, _ = recorded
    out = run_cli("export", str(path), "--format", "markdown")
    assert out.returncode == 0
    assert "| crunch | serial |" in out.stdout and "| crunch | thread |" in out.stdout
    # No preset ran: no reference table (it is filled from the recording only, see below).
    assert "## Threads or processes" not in out.stdout


DECK = """
[[preset]]
name = "crunch-threads"
title = "A small GIL race"
teaches = ["GIL"]
workload = "crunch"
size = 400_000
tasks = 4
narration = ["Four small sums on two threads.", "The GIL lets one run at a time."]

[[preset.pools]]
pool = "serial"

[[preset.pools]]
pool = "thread"
workers = 2

[preset.claim]
kind = "parallelism_at_most"
pool = "thread"
max = 1.2
"""


@pytest.fixture(scope="module")
def recorded_preset(tmp_path_factory):
    """``gilviz run --preset`` as written, recorded; its JSON as printed live."""
    where = tmp_path_factory.mktemp("preset")
    deck = where / "deck.toml"
    deck.write_text(DECK)
    path = where / "preset.jsonl"
    out = run_cli("run", "--preset", "crunch-threads", "--deck", str(deck), "--hz", "50",
                  "--json", "--record", str(path))  # fmt: skip
    assert out.returncode in (0, 1), out.stderr
    return path, json.loads(out.stdout)


def test_replay_json_of_a_preset_is_what_run_printed(recorded_preset):
    path, live = recorded_preset
    out = run_cli("replay", str(path), "--json")
    assert out.returncode == 0, out.stderr
    replayed = json.loads(out.stdout)
    assert live["preset"]["name"] == "crunch-threads" and live["claim"]["text"]
    assert replayed == {**live, "gilviz": replayed["gilviz"]}


def test_markdown_export_of_a_preset_has_its_story_and_the_recorded_figures(
    recorded_preset, tmp_path
):
    path, live = recorded_preset
    # This machine's cache says more about the GIL row: the report must not show it.
    from gilviz.core.teaching import reference

    cache = tmp_path / "cache"
    fake = [{**r, "wall_s": 99.0, "speedup": 9.9, "workload": "crunch", "size": 1, "tasks": 1}
            for r in live["runs"]]  # fmt: skip
    reference.record("crunch-processes", fake, cache / "gilviz" / "reference.json")
    env_out = subprocess.run(
        [*gilviz_cmd("export", str(path), "--format", "markdown")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "XDG_CACHE_HOME": str(cache)},
        check=False,
    )
    assert env_out.returncode == 0, env_out.stderr
    md = env_out.stdout
    assert "## crunch-threads: A small GIL race" in md
    assert "> Four small sums on two threads." in md and "> The GIL lets one run at a time." in md
    mark = {True: "✓", False: "✗", None: "?"}[live["claim"]["ok"]]
    assert f"Claim: {live['claim']['text']} {mark}" in md
    # The reference table: the recorded thread run's speedup, not the cache's 9.9x.
    thread = next(r for r in live["runs"] if r["pool"] == "thread")
    gil_row = next(line for line in md.splitlines() if line.startswith("| **GIL**"))
    assert f"threads {thread['speedup']:.1f}x on crunch" in gil_row
    assert "9.9x" not in md and "this command runs nothing" not in md
    assert "measured in this recording" in md


def test_read_only_directory_is_one_line_exit_2(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    if os.geteuid() == 0:
        # root ignores directory modes: use a path under a regular file instead
        target = tmp_path / "file"
        target.write_text("")
        dest = target / "x.jsonl"
    else:
        dest = ro / "x.jsonl"
    out = run_cli("run", "tiny", "--pool", "serial", "--record", str(dest))
    assert out.returncode == 2
    assert out.stderr.startswith("gilviz: cannot write the recording")


def test_file_size_limit_keeps_what_was_recorded(tmp_path):
    path = tmp_path / "small.jsonl"

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000))

    out = subprocess.run(
        gilviz_cmd(*RUN, "--record", str(path)),
        capture_output=True, text=True, preexec_fn=limit, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "recording" in out.stderr and "stopped" in out.stderr
    assert 0 < path.stat().st_size <= 6000
    rec = read_recording(path)  # what was written still replays
    assert rec.header["format"] == 1


def test_sighup_flushes_the_recording_and_leaves_nothing(tmp_path):
    path = tmp_path / "hup.jsonl"
    proc = subprocess.Popen(
        gilviz_cmd("run", "crunch", "--pool", "thread", "--workers", "2", "--tasks", "50",
                   "--size", "10000000000", "--record", str(path)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    wait_for(lambda: path.exists() and '"type":"t"' in path.read_text(), timeout=60,
             what="samples in the recording")  # fmt: skip
    kids = [k.pid for k in descendants(proc.pid)]
    proc.send_signal(signal.SIGHUP)
    finish(proc)
    assert proc.returncode == 128 + signal.SIGHUP
    wait_for(lambda: not alive(kids), timeout=15, what="children to exit")
    rec = read_recording(path)
    assert rec.runs[0].end is not None  # the run's end was written before exiting
    assert report.run_summary(rec.models[0])["error"].startswith("stopped")
    assert sys.executable  # keep imports used
