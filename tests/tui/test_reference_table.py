"""gilviz.core.teaching.reference: the table's data, the cache of measured results, the CLI text."""

from __future__ import annotations

import argparse
import json

from gilviz.core.teaching import reference

from .conftest import recording


def crunch_runs():
    from gilviz.core import report

    runs = [dict(r.summary) for r in recording("crunch").runs]
    report.fill_speedups(runs)
    return runs


def test_rows_cover_the_seed_table():
    assert [r.dimension for r in reference.ROWS] == [
        "GIL",
        "Memory",
        "Overhead",
        "Best for",
        "Crash isolation",
    ]
    assert all(r.presets for r in reference.ROWS)


def test_not_measured_until_a_preset_ran(tmp_path):
    rows = reference.table(reference.load(tmp_path / "none.json"))
    assert all(r["measured"] is None for r in rows)
    md = reference.markdown(rows, tmp_path / "none.json")
    assert md.count(reference.NOT_MEASURED) == 5
    assert "This command only reads them" in md


def test_record_then_measured_text(tmp_path):
    cache = tmp_path / "c" / "reference.json"
    reference.record("crunch-processes", crunch_runs(), cache)
    rows = reference.table(reference.load(cache))
    gil = rows[0]["measured"]
    assert gil.startswith("threads ") and "processes " in gil
    # the interpreter the figures came from is named after the workload, when the runs say it
    said = crunch_runs()[0].get("python")
    tail = f"on crunch ({said['implementation']} {said['version']})" if said else "on crunch"
    assert gil.endswith(tail), gil
    assert rows[0]["measured_at"]
    # a newer run of one pool replaces the older one
    runs = crunch_runs()
    runs[1]["wall_s"] = runs[0]["wall_s"]  # threads now as slow as serial
    runs[1]["speedup"] = 1.0
    reference.record("crunch-threads", runs[:2], cache)
    assert "threads 1.0x" in reference.table(reference.load(cache))[0]["measured"]


def test_lost_updates_and_errors_are_named(tmp_path):
    cache = tmp_path / "reference.json"
    reference.record(
        "shared-counter",
        [
            {
                "pool": "thread",
                "workload": "shared-counter",
                "tasks": 4,
                "size": 10,
                "wall_s": 1.0,
                "speedup": None,
                "outcome": {"lost_updates": 7, "expected": 40},
                "error": None,
            },
            {
                "pool": "process",
                "workload": "shared-counter",
                "tasks": 4,
                "size": 10,
                "wall_s": 1.0,
                "speedup": None,
                "outcome": {"lost_updates": None, "copies": 4},
                "error": None,
            },
        ],
        cache,
    )
    reference.record(
        "crash",
        [
            {
                "pool": "thread",
                "workload": "segfault",
                "tasks": 2,
                "size": 1,
                "wall_s": None,
                "error": "the runner process was killed by SIGSEGV (…)",
            }
        ],
        cache,
    )
    rows = {r["key"]: r for r in reference.table(reference.load(cache))}
    assert "lost 7 of 40 updates" in rows["memory"]["measured"]
    assert "separate copies" in rows["memory"]["measured"]
    assert "threads failed (the runner process was killed by SIGSEGV)" in rows["crash"]["measured"]


def test_cli_prints_text_markdown_and_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    reference.record("crunch-processes", crunch_runs())
    for flags in ({}, {"markdown": True}, {"json": True}):
        args = argparse.Namespace(**{"markdown": False, "json": False, **flags})
        assert reference.cli_reference(args) == 0
        out = capsys.readouterr().out
        if flags.get("json"):
            doc = json.loads(out)
            assert doc["rows"][0]["measured"] and doc["cache"].endswith("reference.json")
        elif flags.get("markdown"):
            assert out.startswith("| | threading | multiprocessing | measured here |")
        else:
            assert "measured here" in out and "threads" in out


def test_a_broken_cache_reads_as_empty(tmp_path):
    p = tmp_path / "reference.json"
    p.write_text("{not json")
    assert reference.load(p) == {"version": 1, "presets": {}}


def test_interpreter_column_needs_a_314_python_until_one_ran(tmp_path):
    cache = tmp_path / "reference.json"
    reference.record("crunch-processes", crunch_runs(), cache, python="CPython 3.11.7 (GCC)")
    rows = reference.table(reference.load(cache))
    assert all(r["measured_interpreters"] is None for r in rows)
    assert all(r["interpreters_note"] == reference.NEEDS_314 for r in rows)
    assert reference.markdown(rows, cache).count(reference.NEEDS_314) == 5
    # Each figure names the interpreter it came from.
    assert rows[0]["measured"].endswith("on crunch (CPython 3.11.7)")


def test_interpreter_pool_runs_fill_their_own_column(tmp_path):
    cache = tmp_path / "reference.json"
    base = {"workload": "crunch", "tasks": 4, "size": 10, "error": None, "outcome": None}
    runs = [
        {**base, "pool": "serial", "wall_s": 3.0, "speedup": 1.0},
        {**base, "pool": "thread", "wall_s": 3.0, "speedup": 1.0},
        {**base, "pool": "interpreter", "wall_s": 2.0, "speedup": 1.5},
    ]
    reference.record("crunch-interpreters", runs, cache, python="CPython 3.14.10 (GCC 16)")
    rows = {r["key"]: r for r in reference.table(reference.load(cache))}
    gil = rows["gil"]
    assert gil["measured_interpreters"] == "interpreters 1.5x on crunch (CPython 3.14.10)"
    assert "interpreter" not in gil["measured"]  # the other column keeps to threads, processes
    assert "Here: interpreters 1.5x" in reference.interpreters_cell(gil)
    # A 3.14 Python has been used: rows none of whose presets ran interpreters say "yet".
    assert rows["crash"]["interpreters_note"] == reference.NOT_MEASURED
    assert rows["crash"]["measured_interpreters"] is None


def test_runs_of_one_kind_are_told_apart_by_their_label(tmp_path):
    cache = tmp_path / "reference.json"
    base = {"pool": "process", "workload": "tiny", "tasks": 2000, "size": 100, "error": None}
    runs = [
        {**base, "label": "processes (chunksize 1)", "chunksize": 1, "wall_s": 0.9},
        {**base, "label": "processes (chunksize 250)", "chunksize": 250, "wall_s": 0.08},
        {**base, "pool": "thread", "label": "thread", "chunksize": 1, "wall_s": 0.04},
    ]
    reference.record("tiny-tasks", runs, cache)
    overhead = next(r for r in reference.table(reference.load(cache)) if r["key"] == "overhead")
    assert overhead["measured"] == (
        "processes (chunksize 1) 0.90 s, processes (chunksize 250) 0.08 s, threads 0.04 s on tiny"
    )


def test_the_footer_says_in_a_sentence_when_and_where_the_figures_were_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME")
    empty = reference.table(reference.load())
    assert reference.footer(empty) == (
        "Nothing measured here yet: a row's figures appear once one of its presets has run on "
        "this machine; gilviz keeps them in ~/.cache/gilviz/reference.json."
    )
    reference.record("crunch-processes", crunch_runs(), when=1_800_000_000)
    rows = reference.table(reference.load())
    stamp = rows[0]["measured_at"]
    assert reference.footer(rows) == (
        "Measured here: each row's figures are from the last run of its presets on this "
        f"machine (latest {stamp}), kept in ~/.cache/gilviz/reference.json."
    )
    assert reference.source_note().endswith(
        "This command only reads them: run a preset to measure again (gilviz run --preset "
        "NAME, or from the dashboard or talk)."
    )
    # A file given by a caller is named, not described as "a given file".
    assert reference.footer(rows, tmp_path / "x" / "mine.json").endswith("kept in mine.json.")
