"""What does showing a run cost? gilviz's TUI next to htop and btop, measured the same way.

Each program draws in its own detached tmux pane of 120x40 (private tmux server, TERM
tmux-256color, COLORTERM=truecolor for all). ``tmux pipe-pane`` copies everything the
program writes to its pane into a file: its size over the window is the bytes/s sent to
the terminal. The program's CPU is utime+stime of its pid in /proc/PID/stat (all its
threads, not its children) over the same window, as % of one core.

Load: gilviz's dashboard runs crunch on a pool of 8 workers (thread by default, --pool) (started at once with
``gilviz crunch --pool thread --workers 8 ... --start``); htop and btop draw beside it, in the same
window of time, so all three show the same busy machine. Phase 1 is gilviz at its default
rate (4 Hz panels, charts 1 Hz); phase 2 is gilviz with ``--fps`` lowered (default 1).
gilviz's CPU includes its /proc sampler (50 Hz, 8 worker threads) and the reader of the
runner's events: all that the gilviz process does.

Targets at 120x40 with 8 workers: gilviz default <= 5% of a core and <= 35 KB/s; with
--fps lowered, no more bytes/s than btop. Printed next to the figures; no exit code depends
on them.

    .venv/bin/python benchmarks/ui_cost.py [--seconds 30] [--low-fps 1] [--warmup 4]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
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


def thread_ticks(pid: int) -> dict[str, int]:
    """CPU ticks of pid's main thread (the UI's event loop) and of all its other threads."""
    out: dict[str, int] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue
        name = "main thread" if tid == str(pid) else "other threads"
        fields = stat[stat.rindex(")") + 2 :].split()
        out[name] = out.get(name, 0) + int(fields[11]) + int(fields[12])
    return out


def run_delay_ns(pid: int) -> int | None:
    """Time the main thread spent runnable but waiting for a CPU (schedstat, ns)."""
    try:
        return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None


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
    status: str = ""
    settle_s: float = 0.0
    delay0: int = 0
    starved_pct: float | None = None
    threads0: dict | None = None
    threads_pct: dict | None = None

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
            f"read _go; unset COLUMNS LINES; exec {self.command}",
        )
        tmux("set-option", "-t", self.name, "remain-on-exit", "on")
        tmux("pipe-pane", "-t", self.name, "-o", f"cat >> {self.log}")
        self.pid = int(tmux("list-panes", "-t", self.name, "-F", "#{pane_pid}").split()[0])
        deadline = time.monotonic() + 10
        want = f"{WIDTH}x{HEIGHT}"
        while time.monotonic() < deadline:  # a detached pane is 80x24 for a moment
            size = tmux("display-message", "-p", "-t", self.name, "#{pane_width}x#{pane_height}")
            if size.strip() == want:
                break
            time.sleep(0.05)
        tmux("send-keys", "-t", self.name, "Enter")

    def mark(self) -> None:
        self.t0 = time.monotonic()
        self.ticks0 = cpu_ticks(self.pid) or 0
        self.bytes0 = self.log.stat().st_size if self.log.exists() else 0
        self.delay0 = run_delay_ns(self.pid) or 0
        self.threads0 = thread_ticks(self.pid)

    def measure(self) -> None:
        dt = time.monotonic() - self.t0
        ticks = cpu_ticks(self.pid)
        size = self.log.stat().st_size if self.log.exists() else 0
        self.rss = rss_kib(self.pid)
        now = thread_ticks(self.pid)
        if dt > 0:
            self.threads_pct = {
                k: 100 * (v - (self.threads0 or {}).get(k, 0)) / CLK / dt for k, v in now.items()
            }
        delay = run_delay_ns(self.pid)
        if delay is not None and dt > 0:
            self.starved_pct = 100 * (delay - self.delay0) / 1e9 / dt
        if ticks is not None and dt > 0:
            self.cpu_pct = 100 * (ticks - self.ticks0) / CLK / dt
        if dt > 0:
            self.bytes_s = (size - self.bytes0) / dt

    def stop(self) -> None:
        tmux("send-keys", "-t", self.name, "q", check=False)


POOL = "thread"


def gilviz_cmd(fps: float | None) -> str:
    cmd = f"{PY} -m gilviz crunch --pool {POOL} --workers 8 --tasks 100000 --size 20000000 --start"
    return cmd + (f" --fps {fps:g}" if fps else "")


def wait_screen(pane: Pane, text: str, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in tmux("capture-pane", "-t", pane.name, "-p", check=False):
            return True
        time.sleep(0.1)
    return False


def status_elapsed(pane: Pane) -> float | None:
    for ln in tmux("capture-pane", "-t", pane.name, "-p", check=False).splitlines():
        m = re.search(r"● running .* · ([0-9.]+) s ·", ln)
        if m:
            return float(m.group(1))
    return None


def wait_live(pane: Pane, timeout: float = 60) -> float:
    """Wait until gilviz redraws at its pace (its clock on screen keeps up with ours): at a
    run's start the machine may be too busy for it to draw at all for a while."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        a, ta = status_elapsed(pane), time.monotonic()
        time.sleep(1.0)
        b, tb = status_elapsed(pane), time.monotonic()
        if a is not None and b is not None and (b - a) >= 0.6 * (tb - ta):
            return time.monotonic() - t0
    return time.monotonic() - t0


def phase(label: str, fps: float | None, seconds: float, warmup: float, tmp: Path) -> list[Pane]:
    panes = [Pane(f"gilviz-{label}", gilviz_cmd(fps), tmp / f"gilviz-{label}.out")]
    for prog in ("htop", "btop"):
        if shutil.which(prog):
            panes.append(Pane(f"{prog}-{label}", prog, tmp / f"{prog}-{label}.out"))
    for p in panes:
        p.start()
    ok = wait_screen(panes[0], "● running", timeout=30)
    screen = tmux("capture-pane", "-t", panes[0].name, "-p", check=False)
    if not ok:
        print(screen, file=sys.stderr)
        raise SystemExit("gilviz did not start its run")
    # The title bar is right-aligned to the last column but one: check what gilviz drew.
    drawn = len(screen.splitlines()[0].rstrip()) + 1
    if drawn != WIDTH:
        raise SystemExit(f"gilviz drew {drawn} columns, not {WIDTH}: the measure would be wrong")
    panes[0].settle_s = wait_live(panes[0])
    time.sleep(warmup)
    for p in panes:
        p.mark()
    time.sleep(seconds)
    for p in panes:
        p.measure()
    # what gilviz showed at the end of the window (its status line proves the run went on)
    panes[0].status = next(
        (
            ln.strip()
            for ln in tmux("capture-pane", "-t", panes[0].name, "-p").splitlines()
            if "●" in ln
        ),
        "?",
    )
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
    ap.add_argument(
        "--pool",
        default="thread",
        help="pool of the 8 crunch workers (thread: one core busy, the GIL's worst case for "
        "timelines; process: every core busy, the programs then wait for a CPU)",
    )
    args = ap.parse_args()
    global POOL
    POOL = args.pool
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
                    "gilviz, default (4 Hz, charts 1 Hz)"
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
            tmpdir = os.environ.get("TMUX_TMPDIR", "/tmp")
            with contextlib.suppress(OSError):
                os.unlink(f"{tmpdir}/tmux-{os.getuid()}/{SOCKET}")
    print(
        f"\nui_cost: {WIDTH}x{HEIGHT} tmux panes, {args.seconds:g} s window after {args.warmup:g} s "
        f"warm-up, crunch on 8 {POOL} workers, {os.cpu_count()} CPUs, "
        f"load {'/'.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    head = (
        f"{'program':<44}{'CPU % of a core':>16}{'bytes/s':>12}{'RSS MiB':>9}{'waited for CPU':>16}"
    )
    print(head)
    print("-" * len(head))
    for name, p in rows:
        cpu = "n/a" if p.cpu_pct is None else f"{p.cpu_pct:.1f}"
        bps = "n/a" if p.bytes_s is None else f"{p.bytes_s / 1000:.1f} KB"
        rss = "n/a" if p.rss is None else f"{p.rss / 1024:.0f}"
        starved = "n/a" if p.starved_pct is None else f"{p.starved_pct:.0f}%"
        print(f"{name:<44}{cpu:>16}{bps:>12}{rss:>9}{starved:>16}")
    if missing:
        print(f"(not installed, not measured: {', '.join(missing)})")
    print("(waited for CPU: share of the window the program's main thread was runnable but")
    print(" not running, from /proc/PID/task/PID/schedstat; high values mean it was starved)")
    for name, p in rows:
        if p.status and p.threads_pct:
            parts = sorted(p.threads_pct.items(), key=lambda kv: -kv[1])
            print(
                f"{name.split(',')[0]} CPU by thread: "
                + ", ".join(f"{k} {v:.1f}%" for k, v in parts if v >= 0.05)
            )
    for name, p in rows:
        if p.status:
            print(
                f"{name.split(',')[0]}: drew at its pace {p.settle_s:.0f} s after its run began; "
                f"at the end of the window: {p.status}"
            )
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
