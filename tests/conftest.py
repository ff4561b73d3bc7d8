"""Pytest fixtures shared by every test folder."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_color(monkeypatch, tmp_path):
    monkeypatch.setenv("NO_COLOR", "1")
    # Never touch the user's cache of measured presets (gilviz reference).
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    yield
