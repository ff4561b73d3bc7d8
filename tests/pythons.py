"""The CPythons to test gilviz against, as found on this machine: 3.10 to 3.13 from pyenv,
3.14 and 3.15 from Debian's unstable suite (made by scripts/python-from-debian, which
.ci/run calls before the suite). A version that is absent is still a test case, skipped
with the reason it is absent: the matrix never shrinks silently."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FROM_DEBIAN = ROOT / "scripts" / "python-from-debian"
PYENV_VERSIONS = ("3.10", "3.11", "3.12", "3.13")
DEBIAN_VERSIONS = ("3.14", "3.15")
MATRIX = PYENV_VERSIONS + DEBIAN_VERSIONS
# Where scripts/python-from-debian keeps its roots, read once at import: the tests give
# each test its own XDG_CACHE_HOME (conftest.py), which must not hide the made Pythons.
CACHE = os.environ.get("GILVIZ_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gilviz"
)


def pyenv_root() -> str | None:
    if os.environ.get("PYENV_ROOT"):
        return os.environ["PYENV_ROOT"]
    exe = shutil.which("pyenv")
    if exe:
        out = subprocess.run([exe, "root"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    home = os.path.expanduser("~/.pyenv")
    return home if os.path.isdir(home) else None


def _patch(path: str) -> tuple[int, ...]:
    m = re.search(r"/(\d+)\.(\d+)\.(\d+)/bin/", path)
    return tuple(int(x) for x in m.groups()) if m else ()


def find_python(version: str) -> tuple[str | None, str]:
    """``(path, "")`` of a CPython ``version`` ("3.12"), or ``(None, why there is none)``."""
    if version in DEBIAN_VERSIONS:
        out = subprocess.run(
            [str(FROM_DEBIAN), "--check", version],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GILVIZ_CACHE": CACHE},
        )
        lines = out.stdout.strip().splitlines() or [out.stderr.strip() or "no answer"]
        return (lines[-1], "") if out.returncode == 0 else (None, lines[-1])
    root = pyenv_root()
    if root is None:
        return None, f"no pyenv here to provide CPython {version}"
    found = sorted(glob.glob(f"{root}/versions/{version}.[0-9]*/bin/python3"), key=_patch)
    if not found:
        return None, f"no CPython {version} under pyenv ({root}/versions/{version}.*)"
    return found[-1], ""


def matrix_params(versions: tuple[str, ...] = MATRIX) -> list:
    """pytest params, one per version: ``(version, path)``, or a skip with the reason."""
    params = []
    for v in versions:
        path, why = find_python(v)
        marks = () if path else (pytest.mark.skip(reason=f"CPython {v}: {why}"),)
        params.append(pytest.param((v, path), id=f"py{v}", marks=marks))
    return params
