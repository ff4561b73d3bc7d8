"""Errors that cross module boundaries: bad input (exit 2) and failed workloads (exit 1),
and the "did you mean" hint every bad-input line about a misspelt name offers."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class BadInput(Exception):
    """The user asked for something that cannot be done; the CLI prints one line, exits 2."""


class WorkloadFailed(Exception):
    """The user's work failed (a task raised, a worker crashed); the CLI exits 1."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" when one of ``choices`` is close to ``word``, else ""."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
