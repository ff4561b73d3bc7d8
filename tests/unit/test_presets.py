"""Presets as data: the built-in deck parses, bad decks give one located line, claims are
decided from run dicts both ways (synthetic runs here; real runs in
tests/integration/test_presets_run.py)."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from gilviz import cli
from gilviz.core.errors import BadInput
from gilviz.core.measuring import machine
from gilviz.core.teaching import claims, presets
from gilviz.core.teaching.presets import ClaimResult, PoolChoice, Preset

ROOT = Path(__file__).resolve().parents[2]
DECKS = ROOT / "tests" / "fixtures" / "decks"

#: The built-ins the design promises, in talk order.
PROMISED = [
    "crunch-serial",
    "crunch-threads",
    "crunch-processes",
    "fetch-threads",
    "fetch-processes",
    "sleep-io",
    "c-release",
    "pickle-heavy",
    "tiny-tasks",
    "start-methods",
    "shared-counter",
    "convoy",
    "switch-interval",
    "crash",
    "crunch-interpreters",
    "counter-interpreters",
    "pickle-interpreters",
    "unshareable-interpreters",
]


# --- the built-in deck ---------------------------------------------------------------------


def test_every_promised_builtin_is_there_in_talk_order():
    assert [p.name for p in presets.builtin_presets()] == PROMISED


def test_builtins_are_complete_and_well_formed():
    for p in presets.builtin_presets():
        assert p.title and p.workload and p.pools, p.name
        assert 2 <= len(p.narration) <= 4, p.name
        assert all(len(line) <= 100 for line in p.narration), p.name
        assert p.rows and set(p.rows) <= set(presets.SEED_ROWS), p.name
        assert p.teaches == ", ".join(p.rows)
        assert p.claim is not None, f"{p.name} narrates a claim but does not state one"
        assert p.source.startswith("gilviz/presets/") and p.line > 0
        # every pool builds a valid RunSpec
        specs = presets.preset_specs(p, server_url="http://127.0.0.1:1/")
        assert [s.pool for s in specs] == [c.pool for c in p.pools]
        assert len({c.key for c in p.pools}) == len(p.pools)


def test_the_tuis_deck_leaves_out_what_this_python_cannot_run():
    import concurrent.futures

    from gilviz.tui import deck

    has_pool = hasattr(concurrent.futures, "InterpreterPoolExecutor")
    names = [p.name for p in deck.load(None)]
    assert names == [n for n in PROMISED if has_pool or not n.endswith("-interpreters")]


def test_every_row_of_the_seed_table_is_taught():
    taught = {row for p in presets.builtin_presets() for row in p.rows}
    assert taught == set(presets.SEED_ROWS)


def test_builtin_files_are_package_data():
    folder = resources.files("gilviz") / "presets"
    names = sorted(f.name for f in folder.iterdir() if f.name.endswith(".toml"))
    assert names and names[0].startswith("01-")
    sources = {p.source for p in presets.builtin_presets()}
    assert sources == {f"gilviz/presets/{n}" for n in names}


def test_schema_comment_and_docs_cover_the_whole_vocabulary():
    first = (resources.files("gilviz") / "presets" / "01-gil.toml").read_text()
    docs = (ROOT / "docs" / "presets.md").read_text()
    for kind in claims.KINDS:
        assert re.search(rf"#\s+{kind}\s", first), f"{kind} missing from the schema comment"
        assert f"`{kind}`" in docs, f"{kind} missing from docs/presets.md"
    for key in (*presets.REQUIRED, *presets.OPTIONAL, *presets.POOL_KEYS):
        assert re.search(rf"#\s+{key}\s", first) or f"[preset.{key}]" in first, key
        assert f"`{key}`" in docs or f"`params.{key}`" in docs or key == "params", key


def test_every_claim_kind_can_be_described_and_checked():
    assert set(claims._CHECK) == set(claims.KINDS) - {"all"}
    assert set(claims._DESC) == set(claims.KINDS) - {"all"}


def test_claims_name_only_figures_from_the_deck():
    # Thresholds are data: the claims module holds none of the built-ins' figures.
    source = Path(claims.__file__).read_text()
    for p in presets.builtin_presets():
        assert f'"{p.name}"' not in source and f"'{p.name}'" not in source


# --- specs ---------------------------------------------------------------------------------


def test_preset_specs_command_line_wins():
    p = presets.get_preset("tiny-tasks")
    default = presets.preset_specs(p)
    assert [(s.pool, s.chunksize, s.workers, s.tasks, s.size) for s in default] == [
        ("process", 1, 2, 2000, 100),
        ("process", 250, 2, 2000, 100),
        ("thread", 1, 2, 2000, 100),
    ]
    over = presets.preset_specs(p, size="50", tasks=300, workers="3", heartbeat=False)
    assert {(s.size, s.tasks, s.workers, s.heartbeat) for s in over} == {(50, 300, 3, False)}
    assert [s.chunksize for s in over] == [1, 250, 1]  # pool options stay the preset's


def test_preset_specs_serial_stays_one_worker_and_params_carry_the_url():
    p = presets.get_preset("fetch-processes")
    specs = presets.preset_specs(p, workers=6, server_url="http://127.0.0.1:9/")
    assert [s.workers for s in specs] == [1, 6, 6]
    assert all(s.params == {"url": "http://127.0.0.1:9/"} for s in specs)
    assert p.params == {"delay_ms": 100}
    assert all(s.params == {} for s in presets.preset_specs(p))


def test_preset_specs_switch_intervals():
    specs = presets.preset_specs(presets.get_preset("switch-interval"))
    assert [s.switch_interval for s in specs] == [0.005, 0.001, 0.0001]


def test_preset_specs_bad_override_is_bad_input():
    with pytest.raises(BadInput, match="--workers"):
        presets.preset_specs(presets.get_preset("crunch-threads"), workers="four")


def test_unknown_preset():
    with pytest.raises(BadInput) as exc:
        presets.get_preset("crunch-thread")
    msg = str(exc.value)
    assert msg.startswith("unknown preset 'crunch-thread': use one of crunch-serial, ")
    assert msg.endswith("(did you mean 'crunch-threads'?)")


# --- user decks and bad decks --------------------------------------------------------------


def test_user_deck_inline_and_table_pools():
    deck = presets.load_deck(DECKS / "good.toml")
    assert [p.name for p in deck] == ["my-crunch", "my-sleep"]
    crunch, sleep = deck
    assert crunch.pools == (
        PoolChoice("thread", workers=2),
        PoolChoice("process", workers=2),
    )
    assert crunch.rows == ("GIL",) and crunch.source == str(DECKS / "good.toml")
    assert crunch.claim == {
        "kind": "faster",
        "needs_cores": 2,
        "winner": "process",
        "loser": "thread",
        "min_ratio": 1.0,
    }
    assert sleep.claim is None and sleep.rows == ()
    assert presets.check_claim(sleep, []) == ClaimResult(None, "this preset makes no claim")
    assert presets.get_preset("my-sleep", deck=str(DECKS / "good.toml")) == sleep


BAD_DECKS = {
    "typo.toml": "6: preset 'crunch-typo', key 'worklaod': unknown key (did you mean 'workload'?)",
    "wrong_type.toml": "12: preset 'wrong-type', pool 2, key 'workers': must be a whole number, "
    "not the string 'four'",
    "syntax.toml": "3: TOML syntax error: ",
    "missing.toml": "8: preset 'no-narration': missing required key 'narration' "
    "(a preset needs name, title, workload, pools, narration)",
    "unknown_workload.toml": "4: preset 'bad-workload', key 'workload': unknown workload "
    "'crnch' (did you mean 'crunch'?); use one of ",
    "unknown_pool.toml": "11: preset 'bad-pool', pool 2, key 'pool': unknown pool 'threads' "
    "(did you mean 'thread'?); use one of serial, thread, process",
    "duplicate.toml": "9: preset 'twice', key 'name': duplicate preset name "
    "(first defined at line 1)",
    "bad_claim.toml": "16: preset 'bad-claim', claim, key 'loser': no pool labelled 'serial' "
    "in this preset; its pools are thread, process",
}


@pytest.mark.parametrize("name", sorted(BAD_DECKS))
def test_bad_deck_is_one_located_line(name):
    path = DECKS / name
    with pytest.raises(BadInput) as exc:
        presets.load_deck(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}:{BAD_DECKS[name]}")
    assert "\n" not in msg


def test_typo_deck_exact_message_through_the_cli(capsys):
    path = DECKS / "typo.toml"
    assert cli.main(["presets", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"gilviz: {path}:6: preset 'crunch-typo', key 'worklaod': unknown key "
        "(did you mean 'workload'?)\n"
    )


def test_bad_deck_on_run_is_exit_2(capsys):
    path = DECKS / "wrong_type.toml"
    assert cli.main(["run", "--preset", "wrong-type", "--deck", str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_missing_deck_file(tmp_path):
    with pytest.raises(BadInput, match="cannot read the deck"):
        presets.load_deck(tmp_path / "nope.toml")


def _deck(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deck.toml"
    path.write_text(text)
    return path


def _message(path: Path) -> str:
    with pytest.raises(BadInput) as exc:
        presets.load_deck(path)
    return str(exc.value)


HEAD = 'name = "a"\ntitle = "A"\nworkload = "crunch"\nnarration = ["x"]\n'


@pytest.mark.parametrize(
    ("body", "line", "needle"),
    [
        # inline pools: the second table's typo is found on its own line
        (
            'pools = [\n  { pool = "thread" },\n  { pool = "process", workrs = 2 },\n]\n',
            9,
            "pool 2, key 'workrs': unknown key (did you mean 'workers'?)",
        ),
        # [[preset.claim.of]] sub-tables
        (
            'pools = [{ pool = "serial" }, { pool = "thread" }]\n[preset.claim]\nkind = "all"\n'
            '[[preset.claim.of]]\nkind = "speedup_at_least"\npool = "thread"\nmin = 2\n'
            '[[preset.claim.of]]\nkind = "contention_below"\npool = "thread"\nmx = 0.2\n',
            17,
            "claim 2 of 'all', key 'mx': unknown key for a 'contention_below' claim "
            "(did you mean 'max'?)",
        ),
        # an inline claim spread over lines
        (
            'pools = [{ pool = "serial" }, { pool = "thread" }]\nclaim = { kind = "all", of = [\n'
            '  { kind = "speedup_at_least", pool = "thread", min = 2 },\n'
            '  { kind = "contention_below", pool = "thred", max = 0.2 },\n] }\n',
            10,
            "key 'pool': no pool labelled 'thred' in this preset (did you mean 'thread'?)",
        ),
        ('size = 0\npools = [{ pool = "serial" }]\n', 7, "key 'size': must be between 1 and"),
        ('pools = [{ pool = "thread", start_method = "spawn" }]\n', 7, "key 'start_method'"),
        ('teaches = "Speed"\npools = [{ pool = "thread" }]\n', 7, "key 'teaches'"),
        ('pools = [{ pool = "thread" }]\n[preset.params]\ndelay = 5\n', 9, "params, key 'delay'"),
        (
            'pools = [{ pool = "process" }, { pool = "process" }]\n',
            7,
            "two pools are called 'process': give each a distinct 'label'",
        ),
        (
            'pools = [{ pool = "thread" }]\nclaim = { kind = "speedup_at_least", pool = "thread",'
            " min = 2 }\n",
            8,
            "reads speedups: race a serial pool too",
        ),
        (
            'pools = [{ pool = "thread" }]\nclaim = { kind = "fastest" }\n',
            8,
            "(did you mean 'faster'?)",
        ),
        ("pools = []\n", 7, "key 'pools': must be a non-empty list"),
        ('narration2 = ["y"]\npools = [{ pool = "thread" }]\n', 7, "key 'narration2': unknown key"),
    ],
)
def test_bad_deck_lines(tmp_path, body, line, needle):
    path = _deck(tmp_path, "# comment\n[[preset]]\n" + HEAD + body)
    msg = _message(path)
    assert msg.startswith(f"{path}:{line}: preset "), msg
    assert needle in msg


def test_empty_deck_and_unknown_top_level_key(tmp_path):
    assert _message(_deck(tmp_path, "# nothing\n")).endswith(
        ":1: no [[preset]] tables: a deck holds one or more presets"
    )
    msg = _message(_deck(tmp_path, "presets = 1\n[[preset]]\n" + HEAD))
    assert ":1: key 'presets': unknown top-level key (did you mean 'preset'?)" in msg


def _key_lines(text: str) -> list[tuple[int, str]]:
    """(line, first key) of every non-comment line that assigns a key."""
    out = []
    for i, line in enumerate(text.splitlines(), start=1):
        m = re.match(r"^\s*\{?\s*([A-Za-z_][A-Za-z0-9_]*)\s*=", line)
        if m and not line.lstrip().startswith("#"):
            out.append((i, m.group(1)))
    return out


def test_a_typo_anywhere_in_the_builtins_is_found_on_its_line(tmp_path):
    """Misspell every key of every built-in file, one at a time: the error names that line
    and that key."""
    folder = resources.files("gilviz") / "presets"
    checked = 0
    for f in sorted(folder.iterdir(), key=lambda f: f.name):
        if not f.name.endswith(".toml"):
            continue
        text = f.read_text()
        lines = text.splitlines()
        for line_no, key in _key_lines(text):
            mutated = list(lines)
            mutated[line_no - 1] = re.sub(rf"\b{key}\b", key + "x", lines[line_no - 1], count=1)
            path = tmp_path / f.name
            path.write_text("\n".join(mutated) + "\n")
            msg = _message(path)
            assert msg.startswith(f"{path}:{line_no}: "), (f.name, line_no, key, msg)
            assert f"'{key}x'" in msg, (f.name, line_no, key, msg)
            checked += 1
    assert checked > 100


# --- claims on synthetic runs ---------------------------------------------------------------


def run(pool: str, wall: float = 1.0, **kw: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "pool": pool,
        "pool_size": 4,
        "workload": "crunch",
        "tasks": 4,
        "tasks_done": 4,
        "size": 1,
        "chunksize": kw.pop("chunksize", 1),
        "switch_interval": kw.pop("switch_interval", None),
        "start_method": None,
        "wall_s": wall,
        "cpu_s": kw.pop("cpu", wall),
        "speedup": kw.pop("speedup", 1.0 if pool == "serial" else None),
        "parallelism": None,
        "gil": {"contention": kw.pop("contention", 0.0), "method": "/proc sampling", "samples": 50},
        "latency_ms": {"p50": kw.pop("p50", None), "p99": kw.pop("p99", None)},
        "states": kw.pop("states", dict.fromkeys(claims.STATES, 0.0)),
        "workers": [],
        "pickle": kw.pop("pickle", None),
        "outcome": kw.pop("outcome", None),
        "error": kw.pop("error", None),
    }
    r["parallelism"] = kw.pop("parallelism", r["cpu_s"] / wall)
    assert not kw, kw
    return r


def preset(claim: dict[str, Any], *pools: PoolChoice | str) -> Preset:
    choices = tuple(p if isinstance(p, PoolChoice) else PoolChoice(p) for p in pools)
    validated = claims.validate(
        claim, [c.key for c in choices], any(c.pool == "serial" for c in choices)
    )
    return Preset(
        name="t",
        title="T",
        workload="crunch",
        teaches="GIL",
        narration=("x",),
        pools=choices,
        claim=validated,
    )


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(machine, "cores_usable", lambda: 2)
    monkeypatch.setattr(presets, "_load", lambda: 0.5)


@pytest.fixture
def one_core(monkeypatch):
    monkeypatch.setattr(machine, "cores_usable", lambda: 1)


def check(p: Preset, runs: list[dict[str, Any]]) -> ClaimResult:
    result = presets.check_claim(p, runs)
    if result.ok is not None:
        assert re.search(r"\d", result.text), result.text  # verdicts quote figures
    return result


FASTER = {"kind": "faster", "winner": "process", "loser": "thread", "min_ratio": 1.3}


def test_faster_both_ways(two_cores):
    p = preset(FASTER, "serial", "thread", "process")
    ok = check(
        p, [run("serial", 2.0), run("thread", 2.0, speedup=1.0), run("process", 1.04, speedup=1.92)]
    )
    assert ok.ok is True
    assert ok.text.startswith("processes faster than threads by at least 1.3x: 1.92x vs 1.00x")
    slow = check(
        p, [run("serial", 2.0), run("thread", 2.0, speedup=1.0), run("process", 1.6, speedup=1.25)]
    )
    assert slow.ok is False and "1.25x vs 1.00x" in slow.text
    assert "busy" not in slow.text


def test_a_false_verdict_on_a_busy_machine_says_so(two_cores, monkeypatch):
    monkeypatch.setattr(presets, "_load", lambda: 15.8)
    p = preset({**FASTER, "needs_cores": 2}, "serial", "thread", "process")
    runs = [run("serial", 2.0), run("thread", 1.5, speedup=1.33), run("process", 1.4, speedup=1.43)]
    r = check(p, runs)
    assert r.ok is False
    assert r.text.endswith("(the machine was busy: load average 15.8 on 2 cores)")
    # only for claims that need several cores, and never on a true verdict
    assert "busy" not in check(preset(FASTER, "serial", "thread", "process"), runs).text


def test_faster_without_serial_quotes_wall_times(two_cores):
    p = preset({"kind": "faster", "winner": "thread", "loser": "process"}, "thread", "process")
    r = check(p, [run("thread", 0.5), run("process", 1.0)])
    assert r == ClaimResult(True, "threads faster than processes: 0.500 s vs 1.000 s (2.00x)")
    assert check(p, [run("thread", 1.0), run("process", 0.5)]).ok is False


def test_needs_cores_is_undecided_on_one_core(one_core):
    p = preset({**FASTER, "needs_cores": 2}, "serial", "thread", "process")
    r = check(p, [run("serial"), run("thread"), run("process", 0.5)])
    assert r.ok is None
    assert r.text.endswith("needs 2 cores, this machine has 1")


def test_needs_cores_inside_all(one_core):
    claim = {
        "kind": "all",
        "of": [
            {"kind": "parallelism_at_least", "pool": "thread", "min": 1.3, "needs_cores": 2},
            {"kind": "contention_below", "pool": "thread", "max": 0.2},
        ],
    }
    p = preset(claim, "serial", "thread")
    r = check(p, [run("serial"), run("thread", cpu=1.8, contention=0.05)])
    assert r.ok is None and "needs 2 cores, this machine has 1" in r.text
    r = check(p, [run("serial"), run("thread", cpu=1.8, contention=0.5)])
    assert r.ok is False  # a false part outweighs an undecided one


def test_a_failed_run_fails_the_claim(two_cores):
    p = preset(FASTER, "serial", "thread", "process")
    r = check(p, [run("serial"), run("thread"), run("process", error="task 0 raised ValueError")])
    assert r.ok is False and "the processes run failed: task 0 raised ValueError" in r.text


def test_a_missing_run_is_undecided(two_cores):
    p = preset(FASTER, "serial", "thread", "process")
    r = check(p, [run("serial"), run("thread")])
    assert r.ok is None and "no processes run" in r.text


@pytest.mark.parametrize(
    ("claim", "thread_kw", "ok"),
    [
        ({"kind": "speedup_at_least", "pool": "thread", "min": 3}, {"speedup": 9.2}, True),
        ({"kind": "speedup_at_least", "pool": "thread", "min": 3}, {"speedup": 2.1}, False),
        ({"kind": "speedup_at_most", "pool": "thread", "max": 1.3}, {"speedup": 1.02}, True),
        ({"kind": "speedup_at_most", "pool": "thread", "max": 1.3}, {"speedup": 1.9}, False),
        ({"kind": "parallelism_at_least", "pool": "thread", "min": 1.3}, {"cpu": 1.7}, True),
        ({"kind": "parallelism_at_least", "pool": "thread", "min": 1.3}, {"cpu": 0.98}, False),
        ({"kind": "parallelism_at_most", "pool": "thread", "max": 1.2}, {"cpu": 0.97}, True),
        ({"kind": "parallelism_at_most", "pool": "thread", "max": 1.2}, {"cpu": 1.9}, False),
        ({"kind": "contention_above", "pool": "thread", "min": 0.3}, {"contention": 0.66}, True),
        ({"kind": "contention_above", "pool": "thread", "min": 0.3}, {"contention": 0.1}, False),
        ({"kind": "contention_above", "pool": "thread", "min": 0.3}, {"contention": None}, None),
        ({"kind": "contention_below", "pool": "thread", "max": 0.2}, {"contention": 0.01}, True),
        ({"kind": "contention_below", "pool": "thread", "max": 0.2}, {"contention": 0.5}, False),
    ],
)
def test_single_figure_claims(two_cores, claim, thread_kw, ok):
    p = preset(claim, "serial", "thread")
    r = check(p, [run("serial"), run("thread", **thread_kw)])
    assert r.ok is ok, r.text


def test_speedup_needs_a_serial_run_to_be_decided(two_cores):
    p = preset({"kind": "speedup_at_least", "pool": "thread", "min": 3}, "serial", "thread")
    r = check(p, [run("serial", error="boom"), run("thread")])
    assert r.ok is None and "serial run is missing or failed" in r.text


def _states(**shares: float) -> dict[str, float]:
    return {**dict.fromkeys(claims.STATES, 0.0), **shares}


def test_state_dominant_both_ways(two_cores):
    p = preset({"kind": "state_dominant", "pool": "thread", "state": "io_wait"}, "thread")
    r = check(p, [run("thread", states=_states(io_wait=0.6, running=0.1, idle=0.3))])
    assert r.ok is True and "I/O wait 86% of busy time, next running 14%" in r.text
    r = check(p, [run("thread", states=_states(io_wait=0.2, lock_wait=0.5, idle=0.3))])
    assert r.ok is False and "but lock wait 71%" in r.text
    r = check(p, [run("thread", states=dict.fromkeys(claims.STATES))])
    assert r.ok is None


CONVOY = {
    "kind": "latency_p99_ratio",
    "high": "thread",
    "low": ["serial", "process"],
    "min_ratio": 1.5,
}


def test_latency_ratio_against_the_worst_low(two_cores):
    p = preset(CONVOY, "serial", "thread", "process")
    r = check(p, [run("serial", p99=6.0), run("thread", p99=35.0), run("process", p99=12.0)])
    assert r == ClaimResult(
        True,
        "heartbeat p99 on threads at least 1.5x that on the serial run and processes: "
        "35.0 ms vs 6.0 ms / 12.0 ms (2.9x)",
    )
    r = check(p, [run("serial", p99=6.0), run("thread", p99=15.0), run("process", p99=12.0)])
    assert r.ok is False
    assert check(p, [run("serial"), run("thread", p99=15.0), run("process", p99=1.0)]).ok is None


def _intervals() -> tuple[PoolChoice, ...]:
    return tuple(
        PoolChoice("thread", switch_interval=s, label=f"{s * 1000:g} ms")
        for s in (0.005, 0.001, 0.0001)
    )


MONO = {
    "kind": "monotonic_latency",
    "pools": ["5 ms", "1 ms", "0.1 ms"],
    "slack": 0.2,
    "min_ratio": 1.5,
}


@pytest.mark.parametrize(
    ("p99s", "ok", "note"),
    [
        ((49.3, 24.6, 14.9), True, "49.3 ms → 24.6 ms → 14.9 ms"),
        ((24.0, 27.0, 9.0), True, "24.0 ms → 27.0 ms → 9.0 ms"),  # within the 20% slack
        ((20.0, 30.0, 9.0), False, "rose from 5 ms to 1 ms"),
        ((20.0, 18.0, 16.0), False, "first/last only 1.2x, needs 1.5x"),
    ],
)
def test_monotonic_latency(two_cores, p99s, ok, note):
    pools = _intervals()
    p = preset(MONO, *pools)
    runs = [
        run("thread", 1.0, p99=v, switch_interval=c.switch_interval)
        for v, c in zip(p99s, pools, strict=True)
    ]
    r = check(p, runs)
    assert r.ok is ok and note in r.text, r.text
    # matched by options, whatever the order the runs come in
    assert check(p, list(reversed(runs))).ok is ok


COUNTER = {"kind": "lost_updates", "lossy": "thread", "exact": "process"}


def test_lost_updates_both_ways(two_cores):
    p = preset(COUNTER, "thread", "process")
    thread = {"expected": 800_000, "final": 721_622, "lost_updates": 78_378, "copies": 1}
    procs = {
        "expected": 800_000,
        "final": 0,
        "lost_updates": None,
        "copies": 4,
        "per_process": [200_000] * 4,
    }
    r = check(p, [run("thread", outcome=thread), run("process", outcome=procs)])
    assert r == ClaimResult(
        True,
        "updates lost on threads, none on processes: threads: 78,378 of 800,000 lost; "
        "processes: 4 separate copies adding up to 800,000 of 800,000",
    )
    none_lost = {**thread, "final": 800_000, "lost_updates": 0}
    assert check(p, [run("thread", outcome=none_lost), run("process", outcome=procs)]).ok is False
    short = {**procs, "per_process": [200_000, 200_000, 199_999]}
    assert check(p, [run("thread", outcome=thread), run("process", outcome=short)]).ok is False
    assert check(p, [run("thread"), run("process", outcome=procs)]).ok is None


REFUSED = {"kind": "refused", "shared": "thread", "refused": ["process", "interpreter"]}
NOT_PICKLED = "TypeError: cannot pickle '_thread.lock' object"
NOT_SHARED = (
    "NotShareableError: SharedTotal(n=5, total=0, lock) does not support cross-interpreter data"
)


def refusal(pool: str, said: str) -> dict[str, Any]:
    return run(
        pool, outcome={"refused": said}, error=f"the pool refused the task's argument: {said}"
    )


def test_refused_both_ways(two_cores):
    p = preset(REFUSED, "thread", "process", "interpreter")
    shared = {"expected": 800_000, "total": 800_000, "objects": 1}
    refusals = [refusal("process", NOT_PICKLED), refusal("interpreter", NOT_SHARED)]
    r = check(p, [run("thread", outcome=shared), *refusals])
    assert r == ClaimResult(
        True,
        "threads share one object; processes and interpreters refuse it: threads: 1 object "
        "for 4 tasks, 800,000 of 800,000 updates counted; processes refused it: "
        f"{NOT_PICKLED}; interpreters refused it: {NOT_SHARED}",
    )
    copies = {**shared, "objects": 4}
    assert check(p, [run("thread", outcome=copies), *refusals]).ok is False
    took = [refusal("process", NOT_PICKLED), run("interpreter")]
    r = check(p, [run("thread", outcome=shared), *took])
    assert r.ok is False and "interpreters took it" in r.text
    other = [refusal("process", NOT_PICKLED), run("interpreter", error="task 0 raised OSError")]
    r = check(p, [run("thread", outcome=shared), *other])
    assert r.ok is False and "interpreters failed otherwise: task 0 raised OSError" in r.text
    assert check(p, [run("thread"), *refusals]).ok is None  # no outcome to read
    worded = preset({**REFUSED, "error": "cross-interpreter"}, "thread", "process", "interpreter")
    r = check(worded, [run("thread", outcome=shared), *refusals])
    assert r.ok is False and "not with 'cross-interpreter'" in r.text


CRASH = {
    "kind": "crash_isolation",
    "thread_error": "killed by SIGSEGV",
    "process_error": "pool is broken",
}
THREAD_DIED = "the runner process was killed by SIGSEGV (a thread pool shares one process)"
POOL_BROKE = "a process-pool worker terminated abruptly (killed by SIGSEGV); the pool is broken"


def test_crash_isolation_both_ways(two_cores):
    p = preset(CRASH, "thread", "process")
    r = check(p, [run("thread", error=THREAD_DIED), run("process", error=POOL_BROKE)])
    assert r.ok is True and "threads: the whole process went down" in r.text
    r = check(p, [run("thread"), run("process", error=POOL_BROKE)])
    assert r.ok is False and "threads: no crash was reported" in r.text
    r = check(p, [run("thread", error=THREAD_DIED), run("process", error="task 1 raised OSError")])
    assert r.ok is False and "unexpected error: task 1 raised OSError" in r.text


def test_pickle_cost_both_ways(two_cores):
    p = preset({"kind": "pickle_cost", "pool": "process", "min_share": 0.25}, "process")
    heavy = {
        "args_bytes": 19_485_408,
        "args_s": 0.46,
        "results_bytes": 19_485_420,
        "results_s": 0.34,
    }
    r = check(p, [run("process", 0.91, pickle=heavy)])
    assert r.ok is True and "0.800 s pickling 37.2 MiB" in r.text and "(88%)" in r.text
    light = {"args_bytes": 136, "args_s": 0.0001, "results_bytes": 176, "results_s": 0.0001}
    assert check(p, [run("process", 0.2, pickle=light)]).ok is False
    assert check(p, [run("process", 0.2)]).ok is None


def test_all_joins_the_parts(two_cores):
    claim = {
        "kind": "all",
        "of": [
            {"kind": "speedup_at_least", "pool": "process", "min": 2},
            {"kind": "faster", "winner": "thread", "loser": "process", "min_ratio": 1.1},
        ],
    }
    p = preset(claim, "serial", "thread", "process")
    good = [run("serial", 1.0), run("thread", 0.11, speedup=9.1), run("process", 0.25, speedup=4.0)]
    r = check(p, good)
    assert r.ok is True and r.text.count("; ") == 1
    bad = [run("serial", 1.0), run("thread", 0.3, speedup=3.3), run("process", 0.25, speedup=4.0)]
    assert check(p, bad).ok is False


def test_runs_matched_by_label_in_order():
    p = presets.get_preset("tiny-tasks")
    runs = [
        run("process", 0.5, chunksize=1),
        run("process", 0.03, chunksize=250),
        run("thread", 0.05),
    ]
    by = presets.runs_by_label(p, runs)
    assert by["processes (chunksize 1)"] is runs[0]
    assert by["processes (chunksize 250)"] is runs[1]
    shuffled = [runs[2], runs[1], runs[0]]
    assert presets.runs_by_label(p, shuffled) == by


@pytest.mark.parametrize(
    ("claim", "message"),
    [
        ({}, "missing; use one of faster,"),
        ({"kind": "faster", "winner": "process"}, "a 'faster' claim needs 'loser'"),
        (
            {"kind": "faster", "winner": "process", "loser": "thread", "min_ratio": "x"},
            "must be a number",
        ),
        (
            {"kind": "state_dominant", "pool": "thread", "state": "waiting"},
            "unknown state 'waiting'",
        ),
        (
            {"kind": "faster", "winner": "process", "loser": "thread", "needs_cores": 0},
            "at least 1",
        ),
        ({"kind": "all", "of": [{"kind": "all", "of": []}]}, "cannot nest"),
        ({"kind": "monotonic_latency", "pools": ["thread"], "metric": "p90"}, "'p50' or 'p99'"),
        ({"knd": "faster"}, "unknown key (did you mean 'kind'?)"),
    ],
)
def test_claim_validation(claim, message):
    with pytest.raises(claims.ClaimError) as exc:
        claims.validate(claim, ["thread", "process"], has_serial=False)
    assert message in exc.value.message


# --- listing -------------------------------------------------------------------------------


def test_presets_json_lists_every_builtin(capsys):
    assert cli.main(["presets", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in listed] == PROMISED
    for p in listed:
        assert set(p) >= {"name", "title", "teaches", "workload", "pools", "narration", "claim"}
        assert p["pools"] and all("pool" in c and "label" in c for c in p["pools"])
        assert p["claim"]["kind"] in claims.KINDS


def test_presets_text_lists_every_builtin(capsys):
    assert cli.main(["presets"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["preset", "workload", "pools", "teaches", "title"]
    for p in presets.builtin_presets():
        row = next(line for line in lines if line.startswith(p.name + " "))
        assert p.workload in row and p.title in row
    assert f"{len(PROMISED)} presets (built-in deck)" in out


def test_presets_of_a_user_deck(capsys):
    assert cli.main(["presets", str(DECKS / "good.toml"), "--json"]) == 0
    assert [p["name"] for p in json.loads(capsys.readouterr().out)] == ["my-crunch", "my-sleep"]
