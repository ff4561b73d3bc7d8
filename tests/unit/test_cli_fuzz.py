"""Fuzzed command lines: exit 0 or 2 with one line, never a traceback (nothing really runs)."""

from __future__ import annotations

import contextlib
import io
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gilviz import cli
from gilviz.core.running import session

VOCAB = [
    "run", "compare", "doctor", "workloads", "presets", "reference", "replay", "export",
    "crunch", "fetch", "tiny", "segfault", "json:dumps", "x.py:f", "--pool", "--pools",
    "thread", "process", "serial", "interpreter", "--workers", "--tasks", "--size", "--hz",
    "--json", "--start-method", "spawn", "--chunksize", "--switch-interval", "--delay-ms",
    "--port", "--preset", "crunch-threads", "--python", "--record", "--format", "perfetto",
    "-1", "0", "1e3", "nan", "2", "--markdown", "--fallback-sampler", "--no-heartbeat",
]  # fmt: skip


class _WouldRun(Exception):
    pass


def _invoke(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    blocked = {name: mock.Mock(side_effect=_WouldRun) for name in ("talk", "replay")}
    with (
        mock.patch.object(session.Run, "start", side_effect=_WouldRun),
        mock.patch.object(cli, "cmd_tui", side_effect=_WouldRun),
        mock.patch.dict(cli.COMMANDS, blocked),
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        try:
            code = cli.main(argv)
        except _WouldRun:
            code = 0
        except SystemExit as exc:  # --help and --version
            code = exc.code or 0
    return code, err.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(VOCAB), st.text(max_size=10)), max_size=7))
def test_any_command_line_is_ok_or_one_clear_line(argv):
    code, err = _invoke(argv)
    assert code in (0, 2), (argv, code, err)
    if code == 2:
        lines = err.strip().split("\n")
        assert len(lines) == 1 and lines[0].startswith("gilviz: "), (argv, err)
    assert "Traceback" not in err
