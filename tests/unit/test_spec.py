"""Validation of what users type: one readable line per mistake."""

from __future__ import annotations

import pytest

from gilviz.core.errors import BadInput
from gilviz.core.running.spec import RunSpec, build_spec, parse_float, parse_int


@pytest.mark.parametrize(
    ("text", "value"), [("10", 10), ("10_000", 10_000), ("1e6", 1_000_000), (7, 7), (" 3 ", 3)]
)
def test_parse_int_accepts(text, value):
    assert parse_int(text, "--size", 0, 10**9) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ten", "--size must be a whole number, not 'ten'"),
        ("1.5", "--size must be a whole number, not '1.5'"),
        ("-1", "--size must be between 0 and 1,000, not -1"),
        ("1001", "--size must be between 0 and 1,000, not 1,001"),
        (True, "--size must be a whole number"),
    ],
)
def test_parse_int_rejects(text, message):
    with pytest.raises(BadInput, match=message):
        parse_int(text, "--size", 0, 1000)


def test_parse_float_rejects_nan_and_words():
    with pytest.raises(BadInput):
        parse_float("nan", "--hz", 0, 100)
    with pytest.raises(BadInput, match="must be a number"):
        parse_float("fast", "--hz", 0, 100)


def test_build_spec_defaults_come_from_the_workload():
    spec = build_spec("fetch", pool="thread")
    assert (spec.workers, spec.tasks, spec.size) == (10, 10, 1024)
    assert build_spec("crunch", pool="serial", workers=8).workers == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workload": "crnch"}, "unknown workload 'crnch'"),
        ({"workload": "crunch", "pool": "fibers"}, "unknown pool 'fibers'"),
        ({"workload": "crunch", "workers": "0"}, "--workers must be between 1"),
        ({"workload": "crunch", "tasks": "many"}, "--tasks must be a whole number"),
        (
            {"workload": "crunch", "size": "-5"},
            r"--size must be between 1 and 10,000,000,000, not -5 \(for crunch, the size is ",
        ),
        ({"workload": "crunch", "start_method": "vfork"}, "unknown start method 'vfork'"),
        (
            {"workload": "crunch", "pool": "thread", "start_method": "fork"},
            "applies to the process pool",
        ),
        ({"workload": "crunch", "switch_interval": "0"}, "--switch-interval"),
    ],
)
def test_build_spec_rejects(kwargs, message):
    with pytest.raises(BadInput, match=message):
        build_spec(**kwargs)


def test_spec_round_trips_through_json():
    spec = build_spec("crunch", pool="process", start_method="spawn", params={"url": "x"})
    assert RunSpec.from_json(spec.to_json()) == spec
