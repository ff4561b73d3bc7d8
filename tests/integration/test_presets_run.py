"""Every built-in preset runs headlessly (``gilviz run --preset NAME --json``) at a small
size, and its claim is decided from the JSON.

Sizes are overridden to keep the whole file short on two shared cores. Claims that hold at
any size on a busy machine (I/O overlap, lost updates, crashes, pickling, chunksize) must not
come out false. Claims about CPU parallelism or tail latency need real sizes and a quiet
machine, so for those the test only asserts a decided verdict that quotes its figures.
No timing threshold is asserted here: every verdict compares runs of one session.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

from gilviz import cli
from gilviz.core.measuring import machine
from gilviz.core.teaching import presets
from tests.pythons import find_python

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")

#: Command-line overrides per preset (the preset's own values otherwise).
SMALL: dict[str, list[str]] = {
    "crunch-serial": ["--size", "1000000"],
    "crunch-threads": ["--size", "1000000"],
    "crunch-processes": ["--size", "200000"],
    "fetch-threads": [],  # 10 replies of 100 ms: about 1 s serial
    "fetch-processes": [],
    "sleep-io": ["--size", "50"],
    "c-release": ["--size", "8"],
    "pickle-heavy": ["--size", "200000"],
    "tiny-tasks": ["--tasks", "1000"],
    "start-methods": [],
    "shared-counter": ["--size", "1000000"],  # smaller runs sometimes finish without a race
    "convoy": ["--size", "500000"],
    "switch-interval": ["--size", "500000"],
    "crash": ["--size", "20"],
    "crunch-interpreters": ["--size", "1000000"],
    "counter-interpreters": ["--size", "1000000"],
    "pickle-interpreters": ["--size", "200000"],
    "unshareable-interpreters": ["--size", "20000"],
}
#: Claims that must not be false even at these sizes on a machine loaded far past its cores
#: (they compare waits, copies, crashes or per-task costs, which load does not reverse).
#: The others read CPU parallelism, GIL shares or start-up costs that heavy load distorts.
ROBUST = {
    "fetch-threads", "sleep-io", "pickle-heavy", "tiny-tasks", "shared-counter", "crash",
    "counter-interpreters", "pickle-interpreters", "unshareable-interpreters",
}  # fmt: skip
#: Presets about failure: runs that fail are the point, and the claim decides.
FAILING = {"crash", "unshareable-interpreters"}


def test_every_builtin_has_a_small_size_here():
    assert set(SMALL) == {p.name for p in presets.builtin_presets()}


def _cores_needed(claim: dict) -> int:
    return max([claim["needs_cores"], *(sub["needs_cores"] for sub in claim.get("of", []))])


def _python_for(preset: presets.Preset) -> list[str]:
    """``--python P`` for a preset this Python cannot run (interpreter pools need 3.14+):
    the newest CPython of the version matrix that can, or a skip saying there is none."""
    if all(machine.interpreter_info(None).pools.get(c.pool) is None for c in preset.pools):
        return []
    why = []
    for version in ("3.15", "3.14"):
        path, reason = find_python(version)
        if path:
            return ["--python", path]
        why.append(reason)
    pytest.skip(f"{preset.name} needs an interpreter pool (3.14+): {'; '.join(why)}")


def _run_preset(name: str, capsys) -> tuple[int, dict]:
    extra = _python_for(presets.get_preset(name))
    code = cli.main(["run", "--preset", name, *SMALL[name], *extra, "--hz", "50", "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


@pytest.mark.parametrize("name", list(SMALL))
def test_builtin_preset_runs_and_its_claim_is_decided(name, capsys):
    preset = presets.get_preset(name)
    code, doc = _run_preset(name, capsys)
    assert doc["preset"]["name"] == name
    runs = doc["runs"]
    assert [r["pool"] for r in runs] == [c.pool for c in preset.pools]
    claim = doc["claim"]
    assert set(claim) == {"ok", "text"}
    assert re.search(r"\d", claim["text"]), claim["text"]  # figures, not just words
    # The same verdict comes from the JSON alone.
    again = presets.check_claim(preset, runs)
    assert again.ok == claim["ok"]
    if name in FAILING:
        failed = [r["pool"] for r in runs if r["error"]]
        assert failed == (["thread", "process"] if name == "crash" else ["process", "interpreter"])
        if name == "crash":
            assert "killed by SIGSEGV" in runs[0]["error"]
            assert "pool is broken" in runs[1]["error"]
        # runs failed, which is the point; the claim about them decides the exit code
        assert code == (0 if claim["ok"] is not False else 1)
    else:
        assert all(r["error"] is None for r in runs), [r["error"] for r in runs]
        assert code == 0
    if name == "shared-counter":
        thread, process = runs
        expected = thread["tasks"] * thread["size"]
        assert thread["outcome"]["final"] + thread["outcome"]["lost_updates"] == expected
        assert sum(process["outcome"]["per_process"]) == expected
    if name == "pickle-heavy":
        assert runs[2]["pickle"]["args_bytes"] > 0 and runs[1]["pickle"] is None
    if name in ROBUST:
        assert claim["ok"] is not False, claim["text"]
    elif machine.cores_usable() >= _cores_needed(preset.claim):
        assert isinstance(claim["ok"], bool) or "n/a" in claim["text"], claim["text"]
    else:
        assert claim["ok"] is None and "needs 2 cores" in claim["text"]


def test_text_output_shows_narration_and_verdict(capsys):
    code = cli.main(["run", "--preset", "shared-counter", "--size", "50000"])
    out = capsys.readouterr().out
    preset = presets.get_preset("shared-counter")
    assert code == 0
    assert out.startswith(preset.title + "\n")
    for line in preset.narration:
        assert f"  {line}" in out
    assert re.search(r"^claim: updates lost on threads, none on processes: .* [✓✗]$", out, re.M)
