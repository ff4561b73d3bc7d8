"""What does showing a run cost? gilviz's dashboard next to htop and btop, measured the same
way, and how soon each draws its first screen.

Each program draws in its own detached tmux pane of 120x40 (private tmux server, TERM
tmux-256color, COLORTERM=truecolor for all). ``tmux pipe-pane`` copies everything the
program writes to its pane into a file: its size over the window is the bytes/s sent to
the terminal. The program's CPU is utime+stime of its pid in /proc/PID/stat (all its
threads, not its children) over the same window, as % of one core.

1. **Cost while watching.** gilviz is started through its public command line, as a user
   types it: ``gilviz crunch --pool thread --workers 8 --tasks 1000 --size 3000000 --start``
   (the console script next to this Python). htop and btop draw beside it, in the same
   window of time, so all three show the same busy machine. Phase 1 is gilviz at its
   default rate (4 Hz panels, charts 1 Hz), phase 2 with ``--fps`` lowered (default 1).
   gilviz's CPU is all its process does: the UI (main thread), the /proc sampler (50 Hz,
   8 worker threads), the reader of the runner's events.
2. **First frame.** From the moment the pane's shell execs the program (the shell waits for
   a line before exec'ing it, so the clock starts at that line) to the end of the first
   burst of output that holds the program's screen: the first write holding a marker of
   its screen (gilviz: its status line's "●"; htop: its function bar's "Quit"; btop: the
   end of a synchronised update), and the writes that follow it with no pause of 50 ms.
   The median of ``--frames`` launches (5), alternating the programs. gilviz is measured
   on the command above and on plain ``gilviz``.

``--against DIR`` adds a second gilviz: the source tree ``DIR`` (e.g. a commit extracted
with ``git archive``), run through the same console script with ``PYTHONPATH=DIR/src``.
The two alternate, round by round, in the same run (``--rounds``), so a change is judged
against the load of the same minutes. Both trees are byte-compiled first, as an installed
gilviz is (this machine sets PYTHONDONTWRITEBYTECODE: without it every start would compile
gilviz anew).

Targets at 120x40 with 8 workers: gilviz default <= 5% of a core and <= 35 KB/s; with
--fps 1 <= 3% and no more bytes/s than btop; first frame <= 0.4 s. Printed next to the
figures; no exit code depends on them.

    .venv/bin/python benchmarks/ui_cost.py [--seconds 30] [--low-fps 1] [--warmup 4]
        [--rounds 1] [--frames 5] [--against DIR] [--only cost|frames]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
SOCKET = f"gilviz-uicost-{os.getpid()}"
CLK = os.sysconf("SC_CLK_TCK")
WIDTH, HEIGHT = 120, 40
WORKLOAD = "crunch --pool {pool} --workers 8 --tasks 1000 --size 3000000 --start"
QUIET_S = 0.05  # a pause in a program's output this long ends its first frame
MARKERS = {
    "gilviz": "●".encode(),  # the status line, in the first frame whatever the screen says
    "htop": b"Quit",  # the function bar, drawn last
    "btop": b"\x1b[?2026l",  # the end of a synchronised update: a whole screen
}


def tmux(*args: str, check: bool = True) -> str:
    out = subprocess.run(
        ["tmux", "-L", SOCKET, "-f", "/dev/null", *args], capture_output=True, text=True
    )
    if check and out.returncode != 0:
        raise RuntimeError(f"tmux {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout


def gilviz_exe() -> str:
    """The console script a user runs (``gilviz``), next to this Python."""
    exe = Path(PY).with_name("gilviz")
    return str(exe) if exe.exists() else f"{PY} -m gilviz"


@dataclass(frozen=True)
class Variant:
    """A gilviz to measure: this tree (``src`` None) or another source tree."""

    name: str
    src: Path | None = None

    def command(self, args: str) -> str:
        env = f"env PYTHONPATH={self.src} " if self.src is not None else ""
        return f"{env}{gilviz_exe()} {args}".strip()


def compile_tree(src: Path) -> None:
    """Byte-compile a gilviz tree as pip does at install time."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([PY, "-m", "compileall", "-q", str(src)], check=True, env=env,
                   stdout=subprocess.DEVNULL)  # fmt: skip


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
    env: dict[str, str] = field(default_factory=dict)
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
    load: float = 0.0

    def open(self) -> None:
        """The pane, its shell waiting for a line before exec'ing the program (so pipe-pane
        is attached before the program writes its first byte, and at its final size)."""
        env = {"COLORTERM": "truecolor", "TERM": "tmux-256color", **self.env}
        tmux("new-session", "-d", "-s", self.name, "-x", str(WIDTH), "-y", str(HEIGHT),
             *(x for k, v in env.items() for x in ("-e", f"{k}={v}")),
             f"read _go; unset COLUMNS LINES; exec {self.command}")  # fmt: skip
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

    def go(self) -> None:
        tmux("send-keys", "-t", self.name, "Enter")

    def start(self) -> None:
        self.open()
        self.go()

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
        self.load = os.getloadavg()[0]
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

    def wait_gone(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and cpu_ticks(self.pid) is not None:
            time.sleep(0.1)
        tmux("kill-session", "-t", self.name, check=False)


# --------------------------------------------------------------------------- 1. cost


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


def phase(
    label: str, variant: Variant, fps: float | None, args: argparse.Namespace, tmp: Path
) -> list[Pane]:
    cmd = variant.command(WORKLOAD.format(pool=args.pool) + (f" --fps {fps:g}" if fps else ""))
    env = {"XDG_CACHE_HOME": str(tmp / "cache")}  # the run's results go to a cache of its own
    panes = [Pane(f"gilviz-{label}", cmd, tmp / f"gilviz-{label}.out", env=env)]
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
    time.sleep(args.warmup)
    for p in panes:
        p.mark()
    time.sleep(args.seconds)
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
    for p in panes:
        p.wait_gone()
    return panes


def fmt(values: list[float], f: str) -> str:
    """The median, and the range when there are several."""
    vs = [v for v in values if v is not None]
    if not vs:
        return "n/a"
    med = f.format(statistics.median(vs))
    return med if len(vs) == 1 else f"{med} ({f.format(min(vs))}–{f.format(max(vs))})"


def cost(args: argparse.Namespace, variants: list[Variant], tmp: Path) -> dict:
    """Each variant at each rate, in alternating order round by round."""
    got: dict[tuple[str, str], list[Pane]] = {}
    rates = [("default", None), (f"--fps {args.low_fps:g}", args.low_fps)]
    for r in range(args.rounds):
        order = variants if r % 2 == 0 else variants[::-1]
        for v in order:
            for rate, fps in rates:
                label = f"{v.name}-{r}-{'low' if fps else 'default'}"
                panes = phase(label, v, fps, args, tmp)
                got.setdefault((v.name, rate), []).append(panes[0])
                for p in panes[1:]:
                    got.setdefault((p.name.split("-")[0], f"beside {v.name} {rate}"), []).append(p)
                print(
                    f"  round {r + 1}, {v.name} {rate}: {panes[0].cpu_pct:.1f}% of a core, "
                    f"{(panes[0].bytes_s or 0) / 1000:.1f} KB/s; "
                    + ", ".join(f"{p.name.split('-')[0]} {p.cpu_pct:.1f}%" for p in panes[1:])
                    + f"; load {panes[0].load:.2f}",
                    flush=True,
                )
    print(
        f"\n1. cost while watching: {WIDTH}x{HEIGHT} tmux panes, {args.seconds:g} s window after "
        f"{args.warmup:g} s warm-up, `gilviz {WORKLOAD.format(pool=args.pool)}`, "
        f"{os.cpu_count()} CPUs, {args.rounds} round(s); median (min–max) over rounds"
    )
    head = (
        f"{'program':<30}{'CPU % of a core':>20}{'main / other threads':>34}{'bytes/s':>26}"
        f"{'RSS MiB':>14}{'load':>16}"
    )
    print(head)
    print("-" * len(head))
    for (name, rate), ps in got.items():
        main = fmt([(p.threads_pct or {}).get("main thread") for p in ps], "{:.1f}")
        other = fmt([(p.threads_pct or {}).get("other threads") for p in ps], "{:.1f}")
        split = f"{main} / {other}" if name not in ("htop", "btop") else ""
        kbs = [p.bytes_s / 1000 if p.bytes_s is not None else None for p in ps]
        print(
            f"{name + ' ' + rate:<30}{fmt([p.cpu_pct for p in ps], '{:.1f}'):>20}{split:>34}"
            f"{fmt(kbs, '{:.1f}') + ' KB':>26}"
            f"{fmt([p.rss / 1024 if p.rss else None for p in ps], '{:.0f}'):>14}"
            f"{fmt([p.load for p in ps], '{:.1f}'):>16}"
        )
    for (name, rate), ps in got.items():
        if name in ("htop", "btop"):
            continue
        print(
            f"{name} {rate}: main thread waited for a CPU "
            f"{fmt([p.starved_pct for p in ps], '{:.0f}%')} of the window; drew at its pace "
            f"{fmt([p.settle_s for p in ps], '{:.0f} s')} after its run began; at the end: "
            f"{ps[-1].status}"
        )
    if any(v.src is not None for v in variants):
        a, b = variants[0].name, variants[1].name
        for rate, _ in rates:
            ratios = [
                x.cpu_pct / y.cpu_pct
                for x, y in zip(got[(a, rate)], got[(b, rate)], strict=True)
                if x.cpu_pct and y.cpu_pct
            ]
            if ratios:
                print(
                    f"{a} / {b} CPU at {rate}, round by round: "
                    + ", ".join(f"{x:.2f}" for x in ratios)
                    + f" (median {statistics.median(ratios):.2f})"
                )
    return got


# --------------------------------------------------------------------------- 2. first frame


def run_ns(pid: int) -> int:
    """CPU time of all of pid's threads so far (schedstat, ns)."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
    return total


def first_frame(pane: Pane, marker: bytes, timeout: float = 20) -> tuple[float, float] | None:
    """Seconds from the line that lets the pane's shell exec the program to the end of the
    first burst of output holding ``marker`` (then no byte for QUIET_S), and the CPU
    seconds the program had used by then (its threads' schedstat, read at each growth: the
    part of that time that load does not stretch)."""
    pane.open()
    t0 = time.monotonic()
    pane.go()
    seen_at = last_growth = None
    size = 0
    cpu = 0
    while time.monotonic() - t0 < timeout:
        try:
            now_size = pane.log.stat().st_size
        except OSError:
            now_size = 0
        now = time.monotonic()
        if now_size > size:
            size, last_growth = now_size, now
            cpu = run_ns(pane.pid)
            if seen_at is None and marker in pane.log.read_bytes():
                seen_at = now
        elif seen_at is not None and now - last_growth >= QUIET_S:
            return last_growth - t0, cpu / 1e9
        time.sleep(0.002)
    return None


def frames(args: argparse.Namespace, variants: list[Variant], tmp: Path) -> dict:
    progs: list[tuple[str, str, bytes, dict[str, str]]] = []
    for v in variants:
        env = {"XDG_CACHE_HOME": str(tmp / "cache")}
        work = WORKLOAD.format(pool=args.pool)
        progs.append((f"{v.name}: gilviz {work}", v.command(work), MARKERS["gilviz"], env))
        progs.append((f"{v.name}: gilviz", v.command(""), MARKERS["gilviz"], env))
    for prog in ("htop", "btop"):
        if shutil.which(prog):
            progs.append((prog, prog, MARKERS[prog], {}))
    got: dict[str, list[tuple[float, float] | None]] = {name: [] for name, *_ in progs}
    loads: list[float] = []
    for i in range(args.frames):
        order = progs if i % 2 == 0 else progs[::-1]
        for name, cmd, marker, env in order:
            pane = Pane(f"ff{i}-{len(got[name])}-{abs(hash(name)) % 10**6}", cmd,
                        tmp / f"ff-{i}-{abs(hash(name))}.out", env=env)  # fmt: skip
            got[name].append(first_frame(pane, marker))
            loads.append(os.getloadavg()[0])
            pane.stop()
            pane.wait_gone()
    print(
        f"\n2. first frame: launch (the pane's shell execs the program) to the end of its first "
        f"screen of output, median (min–max) of {args.frames}, programs alternating; "
        f"{WIDTH}x{HEIGHT}; load {min(loads):.1f}–{max(loads):.1f}"
    )
    print(f"  {'program':<84} {'wall s':>22} {'its CPU s':>22}")
    for name, ts in got.items():
        ok = [t for t in ts if t is not None]
        missed = len(ts) - len(ok)
        print(
            f"  {name:<84} {fmt([t[0] for t in ok], '{:.3f}'):>22} "
            f"{fmt([t[1] for t in ok], '{:.3f}'):>22}"
            + (f"  ({missed} not seen)" if missed else "")
        )
    return got


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--warmup", type=float, default=4)
    ap.add_argument("--low-fps", type=float, default=1)
    ap.add_argument("--rounds", type=int, default=1, help="rounds of the cost phases")
    ap.add_argument("--frames", type=int, default=5, help="launches for the first frame")
    ap.add_argument("--against", type=Path, help="another gilviz source tree to alternate with")
    ap.add_argument("--only", choices=("cost", "frames"), help="one of the two measures")
    ap.add_argument(
        "--pool",
        default="thread",
        help="pool of the 8 crunch workers (thread: one core busy, the GIL's worst case for "
        "timelines; process: every core busy, the programs then wait for a CPU)",
    )
    args = ap.parse_args()
    if not shutil.which("tmux"):
        raise SystemExit("needs tmux")
    missing = [p for p in ("htop", "btop") if not shutil.which(p)]
    os.chdir(REPO)
    variants = [Variant("gilviz")]
    compile_tree(REPO / "src")
    if args.against is not None:
        src = args.against.resolve() / "src"
        if not (src / "gilviz").is_dir():
            raise SystemExit(f"--against {args.against}: no src/gilviz there")
        compile_tree(src)
        variants = [Variant("new"), Variant("old", src)]
    print(
        f"ui_cost: {gilviz_exe()}, {os.cpu_count()} CPUs, load at start "
        f"{'/'.join(f'{x:.2f}' for x in os.getloadavg())}"
        + (f"; new = this tree, old = {args.against}" if args.against else ""),
        flush=True,
    )
    got: dict = {}
    with tempfile.TemporaryDirectory(prefix="gilviz-uicost-") as tmp:
        try:
            # An idle session keeps the server up between panes (it exits with its last
            # session, and a new pane would race its exit).
            tmux("new-session", "-d", "-s", "keep", "-x", "20", "-y", "5", "cat")
            if args.only != "frames":
                got = cost(args, variants, Path(tmp))
            if args.only != "cost":
                ff = frames(args, variants, Path(tmp))
        finally:
            tmux("kill-server", check=False)
            tmpdir = os.environ.get("TMUX_TMPDIR", "/tmp")
            with contextlib.suppress(OSError):
                os.unlink(f"{tmpdir}/tmux-{os.getuid()}/{SOCKET}")
    print(f"\nload at end {'/'.join(f'{x:.2f}' for x in os.getloadavg())}")
    if missing:
        print(f"(not installed, not measured: {', '.join(missing)})")
    me = variants[0].name
    if got:
        default = [p for p in got[(me, "default")]]
        low = [p for p in got[(me, f"--fps {args.low_fps:g}")]]
        cpu = statistics.median(p.cpu_pct for p in default)
        bps = statistics.median(p.bytes_s for p in default)
        cpu_low = statistics.median(p.cpu_pct for p in low)
        print(
            f"target default <= 5% and <= 35 KB/s: {cpu:.1f}% and {bps / 1000:.1f} KB/s -> "
            f"{'met' if cpu <= 5 and bps <= 35_000 else 'NOT met'}"
        )
        print(f"target --fps {args.low_fps:g} <= 3%: {cpu_low:.1f}% -> "
              f"{'met' if cpu_low <= 3 else 'NOT met'}")  # fmt: skip
        btops = [p.bytes_s for (n, r), ps in got.items() if n == "btop" for p in ps if p.bytes_s]
        low_bps = statistics.median(p.bytes_s for p in low)
        if btops:
            ref = statistics.median(btops)
            print(
                f"target --fps {args.low_fps:g} bytes/s <= btop's: {low_bps / 1000:.1f} vs "
                f"{ref / 1000:.1f} KB/s -> {'met' if low_bps <= ref else 'NOT met'}"
            )
    if args.only != "cost":
        mine = [t[0] for t in ff[f"{me}: gilviz {WORKLOAD.format(pool=args.pool)}"] if t]
        if mine:
            t = statistics.median(mine)
            print(f"target first frame <= 0.4 s: {t:.3f} s -> {'met' if t <= 0.4 else 'NOT met'}")


if __name__ == "__main__":
    main()
