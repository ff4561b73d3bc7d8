"""What a user reads names things the way the screens do: no Python identifiers, constants,
parameter names or state ids in workload descriptions, preset words, claims, help or the
reference table."""

from __future__ import annotations

import argparse
import inspect
import re
from typing import Any

import pytest

from gilviz import cli
from gilviz.core.measuring import machine
from gilviz.core.running import workloads
from gilviz.core.teaching import presets, reference

#: snake_case names and CONSTANT_NAMES, as in ``io_wait`` or ``CANCEL_POLL_S``.
IDENTIFIER = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b|\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
#: Environment variables are typed as they are spelt.
ENV_VARS = {"SSH_CONNECTION", "NO_COLOR", "XDG_CACHE_HOME"}


def leaks(text: str) -> list[str]:
    return [m for m in IDENTIFIER.findall(text) if m not in ENV_VARS]


def test_workload_descriptions_use_no_parameter_or_code_names():
    for w in workloads.BUILTINS.values():
        params = set(inspect.signature(w.fn).parameters) - {"ms"}  # "ms" is also the unit
        for text in (w.doc, w.size_unit):
            assert text and not leaks(text), (w.name, text)
            words = set(re.findall(r"[A-Za-z_]+", text))
            assert not words & params, (w.name, text, words & params)
            assert "mib MiB" not in text


def test_preset_words_name_states_as_the_screens_do():
    for p in presets.builtin_presets():
        for text in (p.title, *p.narration):
            assert not leaks(text), (p.name, text)


def _runs_for(p: presets.Preset) -> list[dict[str, Any]]:
    """A plausible run per pool of the preset, with every figure a claim may quote."""
    runs = []
    for i, c in enumerate(p.pools):
        crashed = p.workload == "segfault"
        shared = c.pool in ("thread", "serial")
        runs.append(
            {
                "pool": c.pool,
                "label": c.key,
                "pool_size": c.workers or 4,
                "workload": p.workload,
                "tasks": 4,
                "tasks_done": 0 if crashed else 4,
                "size": 1,
                "chunksize": c.chunksize or 1,
                "wall_s": 2.0 / (i + 1),
                "cpu_s": 1.0,
                "speedup": 1.0 + i,
                "parallelism": 1.0,
                "gil": {"contention": 0.4, "method": "/proc sampling", "samples": 99},
                "latency_ms": {"p50": 1.0, "p99": 30.0 / (i + 1)},
                "states": {
                    "running": 0.2,
                    "gil_wait": 0.1,
                    "io_wait": 0.6,
                    "lock_wait": 0.0,
                    "runnable": 0.1,
                    "idle": 0.0,
                },  # fmt: skip
                "workers": [],
                "pickle": {
                    "args_s": 0.1,
                    "results_s": 0.1,
                    "args_bytes": 1 << 20,
                    "results_bytes": 1 << 20,
                },  # fmt: skip
                "outcome": (
                    {"expected": 4, "final": 3, "lost_updates": 1, "copies": 1}
                    if shared
                    else {
                        "expected": 4,
                        "final": 0,
                        "lost_updates": None,
                        "copies": 4,
                        "per_process": [1, 1, 1, 1],
                    }  # fmt: skip
                ),
                "error": ("killed by SIGSEGV, pool is broken" if crashed else None),
            }
        )
    return runs


@pytest.mark.parametrize("preset", presets.builtin_presets(), ids=lambda p: p.name)
def test_every_builtin_claim_reads_in_the_screens_words(preset, monkeypatch):
    monkeypatch.setattr(machine, "cores_usable", lambda: 2)
    monkeypatch.setattr(presets, "_load", lambda: 0.5)
    result = presets.check_claim(preset, _runs_for(preset))
    assert not leaks(result.text), result.text


def _parsers() -> list[argparse.ArgumentParser]:
    top = cli.build_parser()
    subs = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    return [top, cli.build_workload_parser(), *subs[0].choices.values()]


def test_help_shows_no_internal_names():
    for parser in _parsers():
        text = parser.format_help()
        assert not leaks(text), (parser.prog, leaks(text))


def test_the_reference_table_and_its_note_read_as_words():
    for row in reference.table({"version": 1, "presets": {}}):
        for key in ("dimension", "threading", "multiprocessing", "interpreters"):
            assert not leaks(row[key]), row[key]
