"""Races across interpreters: ``gilviz compare WORKLOAD --python A --python B`` (or
``--pythons A,B``) runs the race on each, in one plan, and prints one table with a python
column; each Python's speedups and verdict are against its own serial run, and every run's
JSON entry names the interpreter its runner said it ran on. Bad paths: one line, exit 2."""

from __future__ import annotations

import glob
import json
import sys

import pytest

from tests.helpers import run_cli
from tests.pythons import find_python, pyenv_root

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")

TINY = ["tiny", "--tasks", "20", "--hz", "0"]


def two_pythons(a: str, b: str) -> tuple[str, str]:
    paths = []
    for version in (a, b):
        path, why = find_python(version)
        if path is None:
            pytest.skip(f"CPython {version}: {why}")
        paths.append(path)
    return paths[0], paths[1]


def by_version(doc: dict) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for r in doc["runs"]:
        groups.setdefault(r["python"]["version"], []).append(r)
    return groups


def test_one_race_on_two_pythons_one_table():
    a, b = two_pythons("3.12", "3.13")
    out = run_cli("compare", *TINY, "--python", a, "--python", b)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:2] == ["python", "pool"]
    rows = [line.split()[:2] for line in lines[2:8]]
    assert [r[1] for r in rows] == ["serial", "thread", "process"] * 2
    assert [r[0][:4] for r in rows] == ["3.12"] * 3 + ["3.13"] * 3
    # A verdict, or why there is none, for each Python, named by its version.
    assert any(line.startswith("3.12.") for line in lines[9:])
    assert any(line.startswith("3.13.") for line in lines[9:])


def test_the_json_names_each_runs_python_and_speedups_are_each_ones_own():
    a, b = two_pythons("3.12", "3.13")
    out = run_cli("compare", *TINY, "--pythons", f"{a},{b}", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    groups = by_version(doc)
    assert [v[:4] for v in groups] == ["3.12", "3.13"]
    for runs in groups.values():
        assert [r["pool"] for r in runs] == ["serial", "thread", "process"]
        serial = runs[0]
        assert serial["speedup"] == 1.0
        for r in runs[1:]:
            # (speedups are rounded to 3 decimals, wall times to 4)
            expected = serial["wall_s"] / r["wall_s"]
            assert r["speedup"] == pytest.approx(expected, rel=0.003, abs=0.0006)
        assert all(r["python"]["implementation"] == "CPython" for r in runs)
        assert all("libpython" in r["python"]["build"] for r in runs)


def test_interpreters_are_raced_on_the_python_that_has_them_only():
    a, b = two_pythons("3.13", "3.14")
    out = run_cli("compare", *TINY, "--python", a, "--python", b, "--json")
    assert out.returncode == 0, out.stderr
    groups = by_version(json.loads(out.stdout))
    pools = {v[:4]: [r["pool"] for r in runs] for v, runs in groups.items()}
    assert pools == {
        "3.13": ["serial", "thread", "process"],
        "3.14": ["serial", "thread", "process", "interpreter"],
    }
    text = run_cli("compare", *TINY, "--python", a, "--python", b)
    assert "interpreter pool not raced: Python 3.13." in text.stdout
    assert "3.14." in text.stdout and "interpreter start-up: pool start" in text.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--python", "/no/such/python"], "--python /no/such/python: no such file"),
        (["--pythons", f"{sys.executable},/no/such"], "--python /no/such: no such file"),
        (["--python", "/tmp"], "--python /tmp: not an executable file"),
        (["--python", "/bin/true"], "did not answer as a Python"),
        (["--pythons", "a,,b"], "an empty name in the list"),
        (["--python", sys.executable, "--python", sys.executable], "given twice"),
        (["--pools", "interpreter", "--python", sys.executable, "--pythons", "/bin/true"],
         "/bin/true"),
    ],
)  # fmt: skip
def test_bad_pythons_are_one_line_and_exit_2(args, needle):
    out = run_cli("compare", *TINY, *args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gilviz: ") and needle in lines[0], lines
    assert out.stdout == ""


def test_a_python_too_old_for_the_runner_is_refused():
    root = pyenv_root()
    old = sorted(glob.glob(f"{root}/versions/3.9.*/bin/python3")) if root else []
    if not old:
        pytest.skip("no CPython 3.9 under pyenv")
    out = run_cli("compare", *TINY, "--python", old[-1])
    assert out.returncode == 2
    assert "the runner needs 3.10+" in out.stderr and out.stderr.count("\n") == 1


def test_a_pool_one_python_lacks_names_that_python():
    a, b = two_pythons("3.13", "3.14")
    out = run_cli("compare", *TINY, "--pools", "serial,interpreter", "--pythons", f"{b},{a}")
    assert out.returncode == 2
    assert out.stderr.startswith(f"gilviz: --python {a}: pool 'interpreter' is unavailable")
    assert out.stderr.count("\n") == 1
