"""Pytest fixtures shared by every test folder."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_color(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    yield
