"""Fuzzed preset decks: random TOML-ish text and mutations of the built-in deck files load
as presets or fail with BadInput, one line that starts with the file's path; through the
CLI (``gilviz presets DECK``) they exit 0 or 2 with one stderr line. Never a traceback."""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gilviz import cli
from gilviz.core.errors import BadInput
from gilviz.core.teaching.presets import load_deck

PRESETS_DIR = Path(__file__).resolve().parents[2] / "src" / "gilviz" / "presets"
BUILTIN = {p.name: p.read_text(encoding="utf-8") for p in sorted(PRESETS_DIR.glob("*.toml"))}
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
KEY_RE = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*)(\s*=\s*)(.*)$")

TOKENS = [
    "[[preset]]", "[[preset.pools]]", "[preset.params]", "[preset.claim]", "[preset]",
    "name", "title", "teaches", "workload", "size", "tasks", "narration", "pool", "label",
    "workers", "start_method", "chunksize", "switch_interval", "kind", "winner", "loser",
    "min_ratio", "needs_cores", "min", "max", "delay_ms", "=", '"crunch"', '"thread"',
    '"process"', '"serial"', '"x"', "1", "0", "-1", "1e400", "nan", "inf", "1_000", "true",
    "[]", '["a", "b"]', "{}", "{a = 1}", "1979-05-27", '"""', "'", '"', "#", "\n", " ",
    "\x00", "\ud7ff", "é",
]  # fmt: skip
VALUES = [
    '"x"', '""', "1", "0", "-5", "3.5", "1e400", "nan", "-inf", "true", "false", "[]",
    "[1, 2]", '["a"]', "[[1], [2]]", "{}", "{a = 1}", "1979-05-27T07:32:00Z", "07:32:00",
    '"crunch"', '"thread"', '"no-such"', '"json:dumps"', '"/nope.py:f"', '"a\\nb"',
    "9" * 40, '"' + "x" * 300 + '"',
]  # fmt: skip


def _write(text: str | bytes) -> Path:
    fd, name = tempfile.mkstemp(suffix=".toml", dir=_tmpdir())
    with open(fd, "wb") as f:
        f.write(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    return Path(name)


_TMP: list[str] = []


def _tmpdir() -> str:
    if not _TMP:
        _TMP.append(tempfile.mkdtemp(prefix="gilviz-deckfuzz-"))
    return _TMP[0]


def check_load(path: Path) -> None:
    try:
        presets = load_deck(path)
    except BadInput as exc:
        msg = str(exc)
        assert msg.startswith(str(path)), msg
        assert "\n" not in msg and "\r" not in msg, msg
    else:
        assert isinstance(presets, list)
        assert presets, "a deck that loads holds at least one preset"


def check_cli(path: Path) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["presets", str(path)])
    lines = err.getvalue().splitlines()
    assert code in (0, 2), (code, err.getvalue())
    if code == 0:
        assert lines == [], err.getvalue()
    else:
        assert len(lines) == 1, err.getvalue()
        assert lines[0].startswith("gilviz: "), lines[0]


def check(text: str | bytes) -> None:
    path = _write(text)
    try:
        check_load(path)
        check_cli(path)
    finally:
        path.unlink()


@st.composite
def mutated_deck(draw) -> str:
    name = draw(st.sampled_from(sorted(BUILTIN)))
    lines = BUILTIN[name].splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        op = draw(st.sampled_from(["drop", "retype", "misspell", "garbage", "cut", "dup", "swap"]))
        keyed = [k for k, ln in enumerate(lines) if KEY_RE.match(ln)]
        # most of a deck file is comments: aim the edits at "key = value" lines
        pool = keyed if keyed and draw(st.integers(0, 3)) else range(len(lines))
        i = draw(st.sampled_from(pool))
        m = KEY_RE.match(lines[i])
        if op == "drop":
            del lines[i]
        elif op == "retype" and m:
            lines[i] = f"{m[1]}{m[2]}{m[3]}{draw(st.sampled_from(VALUES))}\n"
        elif op == "misspell" and m:
            key = m[2]
            j = draw(st.integers(0, len(key) - 1))
            bad = key[:j] + draw(st.sampled_from(["", "x", "_", "Z", key[j] * 2])) + key[j + 1 :]
            lines[i] = f"{m[1]}{bad}{m[3]}{m[4]}\n"
        elif op == "garbage":
            junk = draw(st.one_of(st.sampled_from(TOKENS), st.text(max_size=20)))
            lines.insert(i, junk + draw(st.sampled_from(["\n", ""])))
        elif op == "cut":
            text = "".join(lines)
            lines = [text[: draw(st.integers(0, len(text)))]]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
    return "".join(lines)


tomlish = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=8)), max_size=40).map(
    " ".join
)


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_builtin_files_load(name):
    path = _write(BUILTIN[name])
    try:
        assert load_deck(path)
        check_cli(path)
    finally:
        path.unlink()


@SETTINGS
@given(mutated_deck())
def test_mutated_builtin_deck(text):
    check(text)


@SETTINGS
@given(tomlish)
def test_random_tomlish_text(text):
    check(text)


@SETTINGS
@given(st.binary(max_size=200))
def test_random_bytes(data):
    check(data)


def test_missing_and_unreadable_paths(tmp_path):
    for path in (tmp_path / "none.toml", tmp_path):
        with pytest.raises(BadInput) as info:
            load_deck(path)
        assert str(info.value).startswith(str(path))
        check_cli(path)
