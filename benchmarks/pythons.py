"""Which Python? The same race on every CPython here, 3.10 to 3.15, through ``--python``.

For each interpreter of the version matrix (tests/pythons.py: pyenv's 3.10-3.13, Debian's
3.14 and 3.15 made by scripts/python-from-debian) it runs, ``--rounds`` times::

    gilviz compare crunch --pools serial,thread,process[,interpreter] \\
        --workers 2 --tasks 4 --size 4000000 --json --python P

and prints, per version, the median over rounds of: the thread pool's GIL contention, the
process and interpreter pools' speedups over the serial run of the same round, and the
process pool's start-up (pool asked for -> first task running) with its start method. The
1-minute load average is printed with each version: on a shared machine, figures taken
under load are lower speedups, not different truths.

    .venv/bin/python benchmarks/pythons.py [--rounds 3] [--size 4000000] [--readme]

``--readme`` also writes the table into README.md between the ``pythons:begin`` and
``pythons:end`` markers. It prints what it measured; it never decides pass or fail.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests/pythons.py knows where each interpreter is
sys.path.insert(0, str(REPO / "src"))

from tests.pythons import MATRIX, find_python  # noqa: E402

BEGIN, END = "<!-- pythons:begin -->", "<!-- pythons:end -->"


def race(python: str, size: int, interpreter: bool) -> dict:
    pools = "serial,thread,process" + (",interpreter" if interpreter else "")
    cmd = [
        sys.executable, "-m", "gilviz", "compare", "crunch", "--pools", pools,
        "--workers", "2", "--tasks", "4", "--size", str(size), "--json", "--python", python,
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if out.returncode not in (0, 1):
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr else "failed")
    return json.loads(out.stdout)


def doctor(python: str) -> dict:
    cmd = [sys.executable, "-m", "gilviz", "doctor", "--json", "--python", python]
    return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def median(xs: list[float | None]) -> float | None:
    got = [x for x in xs if x is not None]
    return statistics.median(got) if got else None


def fmt(x: float | None, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def measure(version: str, python: str, rounds: int, size: int) -> dict:
    doc = doctor(python)
    has_interp = doc["pools"]["interpreter"] == "available"
    per: dict[str, list] = {"contention": [], "process": [], "interpreter": [], "start": []}
    loads = []
    method = None
    for _ in range(rounds):
        loads.append(os.getloadavg()[0])
        runs = {r["pool"]: r for r in race(python, size, has_interp)["runs"]}
        per["contention"].append(runs["thread"]["gil"]["contention"])
        per["process"].append(runs["process"]["speedup"])
        per["interpreter"].append(runs["interpreter"]["speedup"] if has_interp else None)
        st = runs["process"].get("startup") or {}
        per["start"].append(st.get("pool_start_s"))
        method = st.get("start_method") or method
    return {
        "version": doc["python"]["version"],
        "build": doc["python"]["build"],
        "contention": median(per["contention"]),
        "process": median(per["process"]),
        "interpreter": median(per["interpreter"]),
        "pool_start_s": median(per["start"]),
        "start_method": method,
        "holder": doc["gil"]["holder"],
        "load": max(loads),
        "asked": version,
    }


def table(rows: list[dict], rounds: int, size: int) -> str:
    out = [
        "| Python | thread GIL contention | process speedup | interpreter speedup "
        "| process pool start | GIL holder read |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        if "missing" in r:
            out.append(f"| {r['asked']} | {r['missing']} | | | | |")
            continue
        holder = "yes" if str(r["holder"]).startswith("readable") else "n/a (3.10: no tid)"
        interp = fmt(r["interpreter"], ".2f") + "x" if r["interpreter"] else "no such pool"
        out.append(
            f"| {r['version']} | {fmt(r['contention'], '.0%')} | {fmt(r['process'], '.2f')}x "
            f"| {interp} | {fmt(r['pool_start_s'], '.2f')} s ({r['start_method']}) | {holder} |"
        )
    loads = [r["load"] for r in rows if "load" in r]
    out += [
        "",
        f"_Measured by `.venv/bin/python benchmarks/pythons.py --rounds {rounds} --size {size}` "
        f"on {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}: `gilviz compare crunch` "
        f"with 2 workers and 4 tasks of crunch({size:,}), the median of {rounds} rounds; "
        f"1-minute load average up to {max(loads, default=0):.1f} while it ran. Speedups "
        "are against the serial run of the same round; 3.14 and 3.15 are Debian's packages "
        "(scripts/python-from-debian), the others pyenv's._",
    ]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size", type=int, default=4_000_000)
    ap.add_argument("--readme", action="store_true", help="write the table into README.md")
    args = ap.parse_args()
    rows = []
    for v in MATRIX:
        path, why = find_python(v)
        if path is None:
            rows.append({"asked": v, "missing": f"not here: {why}"})
            print(f"{v}: {why}", file=sys.stderr)
            continue
        row = measure(v, path, args.rounds, args.size)
        rows.append(row)
        print(
            f"{row['version']}: contention {fmt(row['contention'], '.2f')}, process "
            f"{fmt(row['process'], '.2f')}x, interpreter {fmt(row['interpreter'], '.2f')}, "
            f"pool start {fmt(row['pool_start_s'], '.2f')} s ({row['start_method']}), "
            f"load {row['load']:.1f}",
            file=sys.stderr,
        )
    text = table(rows, args.rounds, args.size)
    print(text)
    if args.readme:
        readme = REPO / "README.md"
        body = readme.read_text()
        start, end = body.index(BEGIN) + len(BEGIN), body.index(END)
        readme.write_text(body[:start] + "\n" + text + "\n" + body[end:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
