"""``gilviz export --format asciicast|svg``: recordings of real runs (a ``compare`` from the
command line, a talk session driven with Pilot) played through the screens that showed
them; the cast is played back in a terminal emulator (pyte) and its last screen read
against ``gilviz replay FILE --json``."""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pyte
import pytest

from gilviz import cli
from gilviz.core import report
from gilviz.core.recording.reader import read_recording
from gilviz.core.recording.recorder import Recorder
from gilviz.core.teaching import presets as cpresets
from gilviz.tui.app import GilvizApp
from gilviz.tui.controllers.live import LiveController
from gilviz.tui.controllers.player import player_for, scenes_of
from gilviz.tui.machine import Machine
from gilviz.tui.style import Look
from tests.helpers import gilviz_cmd, run_cli, wait_for

from .conftest import load_deck

RUN_TIMEOUT = 60


# --- recordings ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compare_rec(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export") / "compare.jsonl"
    code = cli.main(
        ["compare", "crunch", "--pools", "serial,thread", "--workers", "2", "--tasks", "4",
         "--size", "300000", "--hz", "50", "--json", "--record", str(path)]
    )  # fmt: skip
    assert code == 0
    return path


def talk_deck():
    """Two steps of the test deck, small enough to end in a fraction of a second each."""
    deck = {p.name: p for p in load_deck()}
    return [replace(deck[n], size=300_000, tasks=4) for n in ("crunch-threads", "crunch-processes")]


@pytest.fixture(scope="module")
def talk_session(tmp_path_factory) -> tuple[Path, list[str]]:
    """A talk session: step 1 runs to its claim, n, step 2 runs to its claim, q; the
    recording and each claim as it was shown live."""
    path = tmp_path_factory.mktemp("export") / "talk.jsonl"
    recorder = Recorder(
        path, settings={"command": "talk", "preset": None, "fps": 4.0, "terminal": [100, 32]}
    )
    app = GilvizApp(
        deck=talk_deck(),
        controller=LiveController(sample_hz=50, recorder=recorder),
        machine=Machine.here(),
        look=Look(),
        talk=True,
        record_results=False,
    )

    async def until(pilot, predicate, what):
        deadline = time.monotonic() + RUN_TIMEOUT
        while not predicate():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}")
            await pilot.pause(0.05)

    def claimed() -> bool:
        return app.progress.state == "done" and app.screen.claim.mark != ""

    async def main() -> None:
        async with app.run_test(size=(100, 32)) as pilot:
            await pilot.pause()
            await until(pilot, claimed, "step 1's claim")
            shown.append(f"{app.screen.claim.mark} {app.screen.claim.text}")
            await pilot.press("n")
            await until(pilot, lambda: app.progress.generation == 2, "step 2")
            await until(pilot, claimed, "step 2's claim")
            shown.append(f"{app.screen.claim.mark} {app.screen.claim.text}")

    shown: list[str] = []
    asyncio.run(main())
    app.controller.shutdown()
    return path, shown


@pytest.fixture(scope="module")
def talk_rec(talk_session) -> Path:
    return talk_session[0]


def replay_json(path: Path) -> dict:
    out = run_cli("replay", str(path), "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# --- reading a cast ----------------------------------------------------------------------


def read_cast(path: Path) -> tuple[dict, list[list]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def play(header: dict, events: list[list], upto: float | None = None):
    """The screen after the events up to ``upto`` (all of them by default), and every
    screen on the way (one text per event)."""
    screen = pyte.Screen(header["width"], header["height"])
    stream = pyte.Stream(screen)
    seen = []
    for t, _, data in events:
        if upto is not None and t > upto:
            break
        stream.feed(data)
        seen.append("\n".join(screen.display))
    return "\n".join(screen.display), seen


def export_cast(rec: Path, out: Path, *extra: str, capsys=None) -> tuple[dict, list[list]]:
    code = cli.main(["export", str(rec), "--format", "asciicast", "-o", str(out), *extra])
    assert code == 0
    return read_cast(out)


def status(wall_s: float, tasks: str, cpu_s: float) -> list[str]:
    """The status line's figures as the screen may print them: from the unrounded snapshot,
    which the JSON holds rounded to 4 decimals."""

    def forms(x: float, spec: str) -> set[str]:
        return {format(x + d, spec) for d in (-5e-5, 0.0, 5e-5)}

    return [
        f"{w} s · {tasks} tasks · cpu {c} s"
        for w, c in itertools.product(forms(wall_s, ".1f"), forms(cpu_s, ".2f"))
    ]


def shows(screen: str, texts: list[str]) -> bool:
    return any(t in screen for t in texts)


def check_well_formed(header: dict, events: list[list]) -> None:
    assert header["version"] == 2
    assert isinstance(header["timestamp"], int) and header["timestamp"] > 1_600_000_000
    assert header["env"]["TERM"]
    assert events, "no output event"
    times = [e[0] for e in events]
    assert times[0] == 0
    assert all(b >= a for a, b in zip(times, times[1:], strict=False)), "time went backwards"
    assert all(e[1] == "o" and isinstance(e[2], str) for e in events)


# --- a compare: the race -------------------------------------------------------------------


def test_cast_of_a_compare_ends_on_the_race_with_the_recorded_figures(
    compare_rec, tmp_path, capsys
):
    header, events = export_cast(compare_rec, tmp_path / "c.cast", "--size", "100x30")
    check_well_formed(header, events)
    rec = read_recording(compare_rec)
    assert (header["width"], header["height"]) == (100, 30)
    assert header["timestamp"] == int(rec.header["created"])
    assert header["title"] == "gilviz compare · crunch on serial, thread"
    screen, _ = play(header, events)
    doc = replay_json(compare_rec)
    assert "Race · crunch on serial, thread" in screen
    for run in doc["runs"]:
        row = next(line for line in screen.splitlines() if line.split()[:1] == [run["label"]])
        assert f"{run['wall_s']:7.2f} s" in row, row
        assert f"{run['speedup']:.2f}x" in row, row
        assert "✓ done" in row
    verdict = report.verdict_line(doc["runs"])  # a verdict, or why there is none
    assert f"verdict {verdict[:60]}" in " ".join(screen.split())
    last = doc["runs"][-1]
    assert shows(screen, status(last["wall_s"], f"{last['tasks_done']}/4", last["cpu_s"]))


def test_cast_plays_at_the_recorded_pace_or_faster(compare_rec, tmp_path):
    played = sum(m.ended_ns - m.started_ns for m in read_recording(compare_rec).models) / 1e9
    header, events = export_cast(compare_rec, tmp_path / "1.cast", "--fps", "10")
    # the runs, then the race's end held for 2 s
    assert events[-1][0] == pytest.approx(played + 2.0, abs=1e-5)
    assert all(round(t * 10, 4).is_integer() for t, _, _ in events[:-1])  # one frame per 0.1 s
    _, fast = export_cast(compare_rec, tmp_path / "4.cast", "--fps", "10", "--speed", "4")
    assert fast[-1][0] == pytest.approx(played / 4 + 2.0, abs=1e-5)
    assert play(header, events)[0] == play(header, fast)[0]


def test_the_size_is_the_recorded_terminals(compare_rec, tmp_path, capsys):
    lines = compare_rec.read_text().splitlines()
    head = json.loads(lines[0])
    for term, want, note in (
        ([90, 30], (90, 30), None),
        ([70, 20], (80, 24), "the session's terminal was 70x20; drawn at 80x24"),
        (None, (120, 40), "does not say its terminal's size"),
    ):
        head["settings"]["terminal"] = term
        path = tmp_path / "sized.jsonl"
        path.write_text("\n".join([json.dumps(head), *lines[1:]]) + "\n")
        capsys.readouterr()
        header, events = export_cast(path, tmp_path / "sized.cast")
        assert (header["width"], header["height"]) == want
        err = capsys.readouterr().err
        assert (note in err) if note else err == ""
        screen, _ = play(header, events)
        assert "Race · crunch" in screen


def test_a_truncated_recording_exports_what_it_holds(compare_rec, tmp_path):
    lines = compare_rec.read_text().splitlines()
    cut = tmp_path / "cut.jsonl"
    cut.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])
    assert read_recording(cut).truncated
    header, events = export_cast(cut, tmp_path / "cut.cast")
    check_well_formed(header, events)
    screen, _ = play(header, events)
    doc = replay_json(cut)
    first, last = doc["runs"]
    assert f"{first['wall_s']:7.2f} s" in screen
    assert last["error"] and "✗ failed" in screen  # the run whose end line was cut
    assert "the recording ends here" in screen


def test_cast_of_a_run_ends_on_the_dashboard(tmp_path):
    path = tmp_path / "run.jsonl"
    code = cli.main(
        ["run", "crunch", "--pool", "thread", "--workers", "2", "--tasks", "4",
         "--size", "300000", "--json", "--record", str(path)]
    )  # fmt: skip
    assert code == 0
    header, events = export_cast(path, tmp_path / "run.cast", "--size", "100x30")
    check_well_formed(header, events)
    screen, seen = play(header, events)
    (run,) = replay_json(path)["runs"]
    assert "Your settings: crunch" in screen
    assert "p thread pool  +/- 2 workers  t/T 4 tasks  </> 300k size" in screen
    assert "● done crunch on thread ×2 · " in screen
    assert shows(screen, status(run["wall_s"], f"{run['tasks_done']}/4", run["cpu_s"]))
    assert "● done" not in seen[0] and "crunch on thread ×2 · 0.0 s" in seen[0]  # from its start


def test_cast_of_a_watched_program(tmp_path):
    """``gilviz watch``: its dashboard; a command line with a newline in it stays on its row."""
    path = tmp_path / "watch.jsonl"
    out = run_cli("watch", "--json", "--record", str(path), "--", sys.executable, "-c",
                  "import time\ntime.sleep(0.3)")  # fmt: skip
    assert out.returncode == 0, out.stderr
    header, events = export_cast(path, tmp_path / "watch.cast", "--size", "100x30")
    check_well_formed(header, events)
    screen, _ = play(header, events)
    rows = screen.splitlines()
    assert rows[0].startswith(" Watching: ")
    # rows in place: the status line (wrapped, never cut) and the cores panel right below it
    assert rows[3].startswith(" ● done ") and "time.sleep(0.3)" in rows[3]
    assert rows[4].startswith("        tasks · ") and rows[5].startswith(" cores ")
    assert all("\n" not in e[2] for e in events)


def strip_plans(path: Path, out: Path, command: str) -> Path:
    """The recording as gilviz wrote it before ``plan`` lines: none, and no run names one."""
    lines = []
    for line in path.read_text().splitlines():
        obj = json.loads(line)
        if obj["type"] == "plan":
            continue
        obj.pop("plan", None)
        if obj["type"] == "header":
            obj["settings"] = {"command": command, "preset": None, "hz": 50.0}
        lines.append(json.dumps(obj))
    out.write_text("\n".join(lines) + "\n")
    return out


def test_recordings_without_plans_are_shown_as_their_command_showed_them(compare_rec, tmp_path):
    doc = replay_json(compare_rec)
    compare = strip_plans(compare_rec, tmp_path / "old-compare.jsonl", "compare")
    assert [s.screen for s in scenes_of(read_recording(compare))] == ["race"]
    screen, _ = play(*export_cast(compare, tmp_path / "old-compare.cast"))
    assert all(f"{r['wall_s']:7.2f} s" in screen for r in doc["runs"])
    # A TUI session's runs, plans unknown: one after the other on the dashboard.
    tui = strip_plans(compare_rec, tmp_path / "old-tui.jsonl", "tui")
    (scene,) = scenes_of(read_recording(tui))
    assert (scene.screen, scene.count) == ("dashboard", 2)
    screen, seen = play(*export_cast(tui, tmp_path / "old-tui.cast"))
    assert any("run 1/2 · crunch on serial ×1" in s for s in seen)
    last = doc["runs"][-1]
    assert "● done crunch on thread ×2 · " in screen
    assert shows(screen, status(last["wall_s"], f"{last['tasks_done']}/4", last["cpu_s"]))


# --- a talk session ------------------------------------------------------------------------


def test_a_talk_is_recorded_with_its_steps(talk_rec):
    rec = read_recording(talk_rec)
    assert [p["kind"] for p in rec.plans.values()] == ["talk", "talk"]
    assert [p["step"] for p in rec.plans.values()] == [[0, 2], [1, 2]]
    scenes = scenes_of(rec)
    assert [(s.screen, s.preset.name, s.count) for s in scenes] == [
        ("talk", "crunch-threads", 2),
        ("talk", "crunch-processes", 3),
    ]
    assert scenes[1].preset == talk_deck()[1]  # the preset as it was, from the recording


def test_cast_of_a_talk_shows_each_step_and_its_claim(talk_session, tmp_path):
    talk_rec, live_claims = talk_session
    header, events = export_cast(talk_rec, tmp_path / "talk.cast")
    check_well_formed(header, events)
    assert (header["width"], header["height"]) == (100, 32)  # the recorded terminal
    assert header["title"].startswith("gilviz talk · crunch-threads: ")
    rec = read_recording(talk_rec)
    doc = replay_json(talk_rec)
    steps = talk_deck()
    cores = rec.header["machine"]["cores_usable"]

    def claim(preset, runs) -> str:
        runs = [dict(r) for r in runs]
        report.fill_speedups(runs)
        result = cpresets.check_claim(preset, runs, cores)
        return {True: "✓", False: "✗", None: "?"}[result.ok] + " claim: " + result.text

    def squeeze(text: str) -> str:
        return " ".join(text.split())

    final, seen = play(header, events)
    # Step 1, held at its end: its banner and its claim, with its own figures.
    held = [s for s in seen if steps[0].title.upper() in s and "claim:" in s]
    assert held, "step 1's end never shown"
    assert squeeze(claim(steps[0], doc["runs"][:2]))[:60] in squeeze(held[-1])
    assert "1/2" in held[-1]
    # The end: step 2, its claim and its last run's figures as replay --json gives them.
    assert steps[1].title.upper() in final and "2/2" in final
    assert squeeze(claim(steps[1], doc["runs"][2:]))[:60] in squeeze(final)
    # Each claim as the presenter saw it (a busy machine's load average is not recorded).
    for live, screen in zip(live_claims, (held[-1], final), strict=True):
        assert squeeze(live.split(" (the machine was busy")[0])[:90] in squeeze(screen)
    # Every run of step 2 side by side, labelled, with its wall time as replay --json gives it.
    for i, (label, run) in enumerate(zip(("the serial run", "threads", "processes"),
                                         doc["runs"][2:], strict=True)):  # fmt: skip
        row = next(r for r in final.splitlines() if f"{i + 1} {label} " in r)
        assert f"{run['wall_s']:.2f} s" in row


def test_sigterm_ends_the_export_with_a_cast_that_plays(compare_rec, tmp_path):
    """Slowed down (many frames to go), stopped once frames are being written: exit 143, one
    line, and the cast so far is whole, ending with the terminal put back."""
    cast = tmp_path / "stopped.cast"
    proc = subprocess.Popen(
        gilviz_cmd("export", str(compare_rec), "--format", "asciicast", "--fps", "30",
                   "--speed", "0.1", "-o", str(cast)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(
            lambda: cast.exists() and len(cast.read_text().splitlines()) >= 4,
            timeout=60,
            what="frames in the cast",
        )
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM, err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("gilviz: SIGTERM; the cast ends at "), err
    header, events = read_cast(cast)
    check_well_formed(header, events)
    assert events[-1][2].endswith("\x1b[?25h")
    whole = player_for(compare_rec, read_recording(compare_rec)).duration_s / 0.1 + 2.0
    assert events[-1][0] < whole - 1.0  # cut short


def test_the_same_recording_makes_the_same_cast(talk_rec, tmp_path):
    """Frames follow the recording's clock only: two exports are byte for byte the same
    (however busy the machine, and across the change of talk step)."""
    a, b = tmp_path / "a.cast", tmp_path / "b.cast"
    export_cast(talk_rec, a, "--fps", "10")
    export_cast(talk_rec, b, "--fps", "10")
    assert a.read_bytes() == b.read_bytes()


# --- svg ---------------------------------------------------------------------------------


def svg_text(path: Path) -> str:
    """The words of a Textual SVG screenshot, one string."""
    text = re.sub(r"<style.*?</style>", " ", path.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return " ".join(html.unescape(text).replace("\xa0", " ").split())


def test_svg_at_the_end_has_the_recorded_figures(compare_rec, tmp_path):
    out = tmp_path / "end.svg"
    assert cli.main(["export", str(compare_rec), "--format", "svg", "--end", "-o", str(out)]) == 0
    assert out.read_text().lstrip().startswith("<svg")
    words = svg_text(out)
    for run in replay_json(compare_rec)["runs"]:
        assert f"{run['wall_s']:.2f} s" in words and f"{run['speedup']:.2f}x" in words
    assert "verdict" in words


def test_svg_at_a_moment(compare_rec, tmp_path):
    out = tmp_path / "start.svg"
    code = cli.main(["export", str(compare_rec), "--format", "svg", "--at", "0", "-o", str(out)])
    assert code == 0
    words = svg_text(out)
    assert "▶ running" in words and "· waiting" in words
    assert "verdict when every pool has run" in words and "✓ done" not in words


def test_svg_of_a_talk_at_its_end(talk_rec, tmp_path):
    out = tmp_path / "talk.svg"
    assert cli.main(["export", str(talk_rec), "--format", "svg", "-o", str(out)]) == 0
    words = svg_text(out)
    assert talk_deck()[1].title.upper() in words and "claim:" in words


def test_replay_json_and_markdown_of_a_talk_keep_each_steps_preset_and_claim(talk_session):
    talk_rec, live_claims = talk_session
    doc = replay_json(talk_rec)
    steps = talk_deck()
    assert [p["preset"]["name"] for p in doc["plans"]] == [s.name for s in steps]
    assert [p["runs"] for p in doc["plans"]] == [[0, 1], [2, 3, 4]]
    for live, plan in zip(live_claims, doc["plans"], strict=True):
        mark = {True: "✓", False: "✗", None: "?"}[plan["claim"]["ok"]]
        # as the presenter saw it (a busy machine's load average is recorded rounded)
        assert f"{mark} claim: {plan['claim']['text']}".startswith(
            live.split(" (the machine was")[0]
        )
    out = run_cli("export", str(talk_rec), "--format", "markdown")
    assert out.returncode == 0, out.stderr
    for n, (step, plan) in enumerate(zip(steps, doc["plans"], strict=True), 1):
        assert f"## {n}. {step.name}: {step.title}" in out.stdout
        assert f"> {step.narration[0]}" in out.stdout
        assert f"Claim: {plan['claim']['text']}" in out.stdout


def test_a_replayed_claim_notes_the_recorded_load(talk_rec, tmp_path):
    """A claim that fails on a busy machine says so, from the load recorded at the run's end,
    not from the machine that exports."""
    lines = []
    for line in talk_rec.read_text().splitlines():
        obj = json.loads(line)
        if obj["type"] == "plan" and obj["plan"] == 1:
            # cannot hold, so the claim fails; a claim about cores notes a busy machine
            obj["preset"]["claim"].update(min_ratio=1000, needs_cores=2)
        if obj["type"] == "end":
            obj["load1"] = 50.0
        lines.append(json.dumps(obj))
    busy = tmp_path / "busy.jsonl"
    busy.write_text("\n".join(lines) + "\n")
    out = tmp_path / "busy.svg"
    assert cli.main(["export", str(busy), "--format", "svg", "-o", str(out)]) == 0
    cores = read_recording(busy).header["machine"]["cores_usable"]
    if cores < 2:
        pytest.skip("the claim needs two cores to be decided")
    assert "✗ claim:" in svg_text(out)
    assert f"(the machine was busy: load average 50.0 on {cores} cores)" in svg_text(out)


# --- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--format", "gif"], "--format: unknown choice 'gif'"),
        (["--format", "asciicast", "--size", "79x24"], "below 80x24"),
        (["--format", "svg", "--size", "120x23"], "below 80x24"),
        (["--format", "asciicast", "--size", "big"], "--size must be COLUMNSxROWS"),
        (["--format", "asciicast", "--fps", "0"], "--fps must be between"),
        (["--format", "asciicast", "--speed", "x"], "--speed must be a number"),
        (["--format", "asciicast", "--at", "1"], "--at applies to --format svg only"),
        (["--format", "svg", "--fps", "2"], "--fps applies to --format asciicast only"),
        (["--format", "markdown", "--size", "100x30"], "--size applies to"),
        (["--format", "svg", "--at", "99999"], "lasts"),
        (["--format", "svg", "--at", "1", "--end"], "not allowed with argument"),
    ],
)
def test_bad_export_input_is_one_line_and_exit_2(compare_rec, args, needle):
    out = run_cli("export", str(compare_rec), *args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gilviz: ") and needle in lines[0], out.stderr
    assert out.stdout == ""


def test_a_recording_without_runs_is_bad_input(compare_rec, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text(compare_rec.read_text().splitlines()[0] + "\n")
    out = run_cli("export", str(empty), "--format", "asciicast")
    assert out.returncode == 2 and out.stderr.strip().endswith("the recording holds no run")
