"""What does showing a run cost? gilviz's TUI next to htop and btop, measured the same way.

Each program draws in its own detached tmux pane of 120x40 (private tmux server, TERM
tmux-256color, COLORTERM=truecolor for all). ``tmux pipe-pane`` copies everything the
program writes to its pane into a file: its size over the window is the bytes/s sent to
the terminal. The program's CPU is utime+stime of its pid in /proc/PID/stat (all its
threads, not its children) over the same window, as % of one core.

Load: gilviz's dashboard runs crunch on a process pool of 8 workers (started at once with
``python -m gilviz.tui.launch ... --start``); htop and btop draw beside it, in the same
window of time, so all three show the same busy machine. Phase 1 is gilviz at its default
rate (4 Hz panels, charts 2 Hz); phase 2 is gilviz with ``--fps`` lowered (default 1).
gilviz's CPU includes its /proc sampler (50 Hz, 8 worker threads) and the reader of the
runner's events: all that the gilviz process does.

Targets at 120x40 with 8 workers: gilviz default <= 5% of a core and <= 35 KB/s; with
--fps lowered, no more bytes/s than btop. Printed next to the figures; no exit code depends
on them.

    .venv/bin/python benchmarks/ui_cost.py [--seconds 30] [--low-fps 1] [--warmup 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
SOCKET = f"gilviz-uicost-{os.getpid()}"
CLK = os.sysconf("SC_CLK_TCK")
WIDTH, HEIGHT = 120, 40


def tmux(*args: str, check: bool = True) -> str:
    out = subprocess.run(
        ["tmux", "-L", SOCKET, "-f", "/dev/null", *args], capture_output=True, text=True
    )
    if check and out.returncode != 0:
        raise RuntimeError(f"tmux {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def cpu_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class Pane:
    name: str
    command: str
    log: Path
    pid: int = 0
    t0: float = 0.0
    ticks0: int = 0
    bytes0: int = 0
    cpu_pct: float | None = None
    bytes_s: float | None = None
    rss: int | None = None

    def start(self) -> None:
        # The pane waits for a line on its tty before exec'ing, so pipe-pane is attached
        # before the program writes its first byte.
        tmux(
            "new-session",
            "-d",
            "-s",
            self.name,
            "-x",
            str(WIDTH),
            "-y",
            str(HEIGHT),
            "-e",
            "COLORTERM=truecolor",
            "-e",
            "TERM=tmux-256color",
            f"read _go; exec {self.command}",
        )
        tmux("set-option", "-t", self.name, "remain-on-exit", "on")
        tmux("pipe-pane", "-t", self.name, "-o", f"cat >> {self.log}")
        self.pid = int(tmux("list-panes", "-t", self.name, "-F", "#{pane_pid}").split()[0])
        tmux("send-keys", "-t", self.name, "Enter")

    def mark(self) -> None:
        self.t0 = time.monotonic()
        self.ticks0 = cpu_ticks(self.pid) or 0
        self.bytes0 = self.log.stat().st_size if self.log.exists() else 0

    def measure(self) -> None:
        dt = time.monotonic() - self.t0
        ticks = cpu_ticks(self.pid)
        size = self.log.stat().st_size if self.log.exists() else 0
        self.rss = rss_kib(self.pid)
        if ticks is not None and dt > 0:
            self.cpu_pct = 100 * (ticks - self.ticks0) / CLK / dt
        if dt > 0:
            self.bytes_s = (size - self.bytes0) / dt

    def stop(self) -> None:
        tmux("send-keys", "-t", self.name, "q", check=False)


def gilviz_cmd(fps: float | None) -> str:
    cmd = (
        f"{PY} -m gilviz.tui.launch --workload crunch --pool process --workers 8 "
        "--tasks 100000 --size 20000000 --start"
    )
    return cmd + (f" --fps {fps:g}" if fps else "")


def wait_screen(pane: Pane, text: str, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in tmux("capture-pane", "-t", pane.name, "-p", check=False):
            return True
        time.sleep(0.1)
    return False


def phase(label: str, fps: float | None, seconds: float, warmup: float, tmp: Path) -> list[Pane]:
    panes = [Pane(f"gilviz-{label}", gilviz_cmd(fps), tmp / f"gilviz-{label}.out")]
    for prog in ("htop", "btop"):
        if shutil.which(prog):
            panes.append(Pane(f"{prog}-{label}", prog, tmp / f"{prog}-{label}.out"))
    for p in panes:
        p.start()
    ok = wait_screen(panes[0], "● running", timeout=30)
    if not ok:
        print(tmux("capture-pane", "-t", panes[0].name, "-p", check=False), file=sys.stderr)
        raise SystemExit("gilviz did not start its run")
    time.sleep(warmup)
    for p in panes:
        p.mark()
    time.sleep(seconds)
    for p in panes:
        p.measure()
    for p in panes:
        p.stop()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(cpu_ticks(p.pid) is not None for p in panes):
        time.sleep(0.1)
    return panes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--warmup", type=float, default=4)
    ap.add_argument("--low-fps", type=float, default=1)
    args = ap.parse_args()
    if not shutil.which("tmux"):
        raise SystemExit("needs tmux")
    missing = [p for p in ("htop", "btop") if not shutil.which(p)]
    os.chdir(REPO)
    rows: list[tuple[str, Pane]] = []
    with tempfile.TemporaryDirectory(prefix="gilviz-uicost-") as tmp:
        try:
            for label, fps in (("default", None), ("low", args.low_fps)):
                panes = phase(label, fps, args.seconds, args.warmup, Path(tmp))
                name = (
                    "gilviz, default (4 Hz, charts 2 Hz)"
                    if fps is None
                    else f"gilviz --fps {fps:g}"
                )
                rows.append((name, panes[0]))
                for p in panes[1:]:
                    rows.append((f"{p.name.split('-')[0]} (beside {name.split(',')[0]})", p))
                for p in panes:
                    tmux("kill-session", "-t", p.name, check=False)
        finally:
            tmux("kill-server", check=False)
    print(
        f"\nui_cost: {WIDTH}x{HEIGHT} tmux panes, {args.seconds:g} s window after {args.warmup:g} s "
        f"warm-up, crunch on 8 process workers, {os.cpu_count()} CPUs, "
        f"load {'/'.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    head = f"{'program':<44}{'CPU % of a core':>16}{'bytes/s':>12}{'RSS MiB':>9}"
    print(head)
    print("-" * len(head))
    for name, p in rows:
        cpu = "n/a" if p.cpu_pct is None else f"{p.cpu_pct:.1f}"
        bps = "n/a" if p.bytes_s is None else f"{p.bytes_s / 1000:.1f} KB"
        rss = "n/a" if p.rss is None else f"{p.rss / 1024:.0f}"
        print(f"{name:<44}{cpu:>16}{bps:>12}{rss:>9}")
    if missing:
        print(f"(not installed, not measured: {', '.join(missing)})")
    default = rows[0][1]
    low = next(p for n, p in rows if n.startswith("gilviz --fps"))
    btops = [p for n, p in rows if n.startswith("btop") and p.bytes_s is not None]
    print()
    if default.cpu_pct is not None and default.bytes_s is not None:
        print(
            f"target default <= 5% and <= 35 KB/s: {default.cpu_pct:.1f}% and "
            f"{default.bytes_s / 1000:.1f} KB/s -> "
            f"{'met' if default.cpu_pct <= 5 and default.bytes_s <= 35_000 else 'NOT met'}"
        )
    if btops and low.bytes_s is not None:
        ref = max(b.bytes_s for b in btops)
        print(
            f"target --fps {args.low_fps:g} bytes/s <= btop's: {low.bytes_s / 1000:.1f} vs "
            f"{ref / 1000:.1f} KB/s -> {'met' if low.bytes_s <= ref else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
