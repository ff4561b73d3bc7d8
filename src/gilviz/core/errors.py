"""Errors that cross module boundaries: bad input (exit 2) and failed workloads (exit 1)."""

from __future__ import annotations


class BadInput(Exception):
    """The user asked for something that cannot be done; the CLI prints one line, exits 2."""


class WorkloadFailed(Exception):
    """The user's work failed (a task raised, a worker crashed); the CLI exits 1."""
