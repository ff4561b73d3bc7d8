"""What does ``gilviz export --format asciicast`` cost, and does it stream?

Two recordings of the same run at two lengths (``gilviz run sleep --pool thread --workers 8
--size 1000`` with --tasks 8 x SECONDS/8 and four times that: 8 workers each sleeping 1 s per
task, sampled at 50 Hz, light on the shared cores) are each exported at 120x40, 4 frames a
second, 1x, in a fresh Python process. Printed per recording: its length and size, the
export's wall time over the cast's length (below 1: it makes the cast faster than it plays),
the cast's size and bytes per second (the live dashboard's own rate at 120x40 is in
docs/measurement.md, "Cost"), and the export process's peak RSS (ru_maxrss). A cast held in
memory would grow the peak RSS by the cast's size; the recording itself is read whole, like
every other command that reads one, so the model's memory does grow with its length.

    .venv/bin/python benchmarks/export_cost.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable

EXPORT = """
import resource, sys, time
from gilviz.cli import main
t0 = time.perf_counter()
code = main(sys.argv[1:])
wall = time.perf_counter() - t0
print(code, wall, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def record(path: Path, tasks: int) -> None:
    cmd = [PY, "-m", "gilviz", "run", "sleep", "--pool", "thread", "--workers", "8",
           "--tasks", str(tasks), "--size", "1000", "--json", "--record", str(path)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, cwd=REPO)


def export(rec: Path, cast: Path) -> tuple[float, int]:
    cmd = [PY, "-c", EXPORT, "export", str(rec), "--format", "asciicast", "--size", "120x40",
           "--fps", "4", "-o", str(cast)]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO)
    code, wall, rss_kib = out.stderr.strip().splitlines()[-1].split()
    assert code == "0", out.stderr
    return float(wall), int(rss_kib)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10, help="the short recording's length")
    args = ap.parse_args()
    print(f"load average at start {load()}")
    tmp = Path(tempfile.mkdtemp(prefix="gilviz-export-cost-"))
    rows = []
    for factor in (1, 4):
        rec, cast = tmp / f"rec{factor}.jsonl", tmp / f"rec{factor}.cast"
        record(rec, 8 * args.seconds * factor)
        wall, rss = export(rec, cast)
        lines = cast.read_text(encoding="utf-8").splitlines()
        length = json.loads(lines[-1])[0]
        rows.append((factor, rec.stat().st_size, length, wall, cast.stat().st_size, rss))
    print(
        f"{'recording':>10} {'rec KiB':>8} {'cast s':>7} {'export s':>9} {'ratio':>6}"
        f" {'cast KiB':>9} {'cast KB/s':>10} {'peak RSS MiB':>13}"
    )
    for factor, rec_size, length, wall, cast_size, rss in rows:
        print(
            f"{'x' + str(factor):>10} {rec_size / 1024:8.0f} {length:7.1f} {wall:9.1f}"
            f" {wall / length:6.2f} {cast_size / 1024:9.0f} {cast_size / length / 1000:10.1f}"
            f" {rss / 1024:13.0f}"
        )
    (_, r1, _, _, c1, m1), (_, r4, _, _, c4, m4) = rows
    print(
        f"longer recording: +{(r4 - r1) / 2**20:.1f} MiB of recording, +{(c4 - c1) / 2**20:.1f} MiB"
        f" of cast, +{(m4 - m1) / 1024:.0f} MiB of peak RSS"
    )
    print(f"load average at end {load()}")


if __name__ == "__main__":
    main()
