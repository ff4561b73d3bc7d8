"""The README's commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(.+?)\n```", text)


def test_readme_opens_with_install_and_test_commands():
    install, test = _commands()[:2]
    assert "pip install" in install and install.endswith("gilviz")
    assert test.endswith("-m pytest")


def test_ci_runs_the_readmes_test_command_verbatim():
    test = _commands()[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in ci.splitlines()
    assert '"$rc" -eq 5' in ci  # no tests collected must fail
