"""Entry points from the command line (which parses the arguments): ``gilviz`` (dashboard),
``gilviz WORKLOAD ... [--start]``, ``gilviz talk [DECK]`` and ``gilviz replay FILE.jsonl``.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from gilviz.core.errors import BadInput
from gilviz.core.running.spec import parse_float

#: Set by ``gilviz serve`` to its pid: each session it starts is its direct child.
SERVE_PID_ENV = "GILVIZ_SERVE_PID"


def _look(ascii_flag: bool):
    from gilviz.tui.style import Look

    # Textual removes NO_COLOR from the environment when the app starts: read it first.
    no_color = os.environ.get("NO_COLOR") is not None
    return Look(ascii=bool(ascii_flag) or no_color, color=not no_color)


def default_fps(args: Any, environ: dict[str, str] | None = None) -> float:
    """4 frames a second, or 1 over a slow link: asked for with --low-bandwidth, or assumed
    when the terminal is reached through SSH (SSH_CONNECTION is set)."""
    env = os.environ if environ is None else environ
    if getattr(args, "low_bandwidth", False) or env.get("SSH_CONNECTION"):
        return 1.0
    return 4.0


def low_bandwidth(args: Any, environ: dict[str, str] | None = None) -> str | None:
    """Why the frames are few, to say on screen: asked for, or an SSH link; None when
    they are not (or ``--fps`` chose the rate)."""
    env = os.environ if environ is None else environ
    if getattr(args, "fps", None):
        return None
    if getattr(args, "low_bandwidth", False):
        return "low bandwidth"
    if env.get("SSH_CONNECTION"):
        return "SSH link"
    return None


def rates(args: Any) -> tuple[float, float]:
    """``--fps`` and ``--hz``, checked (BadInput when out of range)."""
    fps = parse_float(getattr(args, "fps", None) or default_fps(args), "--fps", 0.2, 30)
    hz = parse_float(getattr(args, "tui_hz", None) or 50, "--hz", 0, 1000)
    return fps, hz


def web_driver_set(environ: dict[str, str] | None = None) -> bool:
    """Whether Textual will draw through a web driver (``TEXTUAL_DRIVER``, as textual-serve
    sets it for each browser session) rather than on a terminal."""
    env = os.environ if environ is None else environ
    name = env.get("TEXTUAL_DRIVER")
    if not name:
        return False
    import importlib

    from textual.drivers.web_driver import WebDriver

    module, _, attr = name.partition(":")
    try:
        driver = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError):
        return False
    return isinstance(driver, type) and issubclass(driver, WebDriver)


def _need_screen(hint: str) -> None:
    """A terminal on stdin and stdout, or a web driver: without either the app would draw
    nowhere (or into a pipe), so say what to use instead."""
    if web_driver_set():
        _follow_server()
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise BadInput(hint)


def _follow_server() -> None:
    """A session of ``gilviz serve`` gets SIGTERM when the server ends, however it ends (even
    SIGKILL), and then quits like on any SIGTERM: its runs stopped, no child left."""
    pid = os.environ.get(SERVE_PID_ENV)
    if not pid:
        return
    from gilviz.core.running.runner import set_pdeathsig

    set_pdeathsig(signal.SIGTERM)
    if str(os.getppid()) != pid:  # the server ended before the line above
        raise BadInput("gilviz serve has stopped")


def _launch(
    args: Any,
    *,
    talk: bool,
    deck_path: str | None,
    extra: list | None = None,
    autostart: bool = False,
    watch: Any = None,
) -> int:
    import gc

    # Start-up makes tens of thousands of objects that live as long as the app (modules,
    # Textual's styles, the screens): collecting while they are made only walks them again.
    # The app freezes them and turns collection back on once its first frame is drawn.
    gc.disable()
    try:
        return _launch_app(
            args, talk=talk, deck_path=deck_path, extra=extra, autostart=autostart, watch=watch
        )
    finally:
        gc.enable()


def _launch_app(
    args: Any,
    *,
    talk: bool,
    deck_path: str | None,
    extra: list | None,
    autostart: bool,
    watch: Any,
) -> int:
    from gilviz.tui import deck as gdeck

    fps, hz = rates(args)
    look = _look(getattr(args, "ascii", False))
    deck = list(extra or []) + gdeck.load(deck_path)
    preset = getattr(args, "tui_preset", None)
    if preset:
        gdeck.find(deck, preset)
    _need_screen("the TUI needs a terminal; use gilviz run or gilviz compare (--json) instead")

    # plotext (the charts) is imported after the first frame, in the background: see
    # gilviz.tui.lazy.

    from gilviz.tui.app import GilvizApp
    from gilviz.tui.controllers.live import LiveController
    from gilviz.tui.machine import Machine

    recorder = None
    if getattr(args, "record", None):
        from gilviz.core.recording.recorder import Recorder, terminal_size

        recorder = Recorder(
            args.record,
            settings={
                "command": "talk" if talk else "tui",
                "preset": preset,
                "hz": hz,
                "fps": fps,
                "terminal": terminal_size(),
            },
        )
    watch_log = None
    fixed_plan = None
    if watch is not None:
        import tempfile

        from gilviz.tui.controllers.base import Plan

        watch_log = os.path.join(tempfile.gettempdir(), f"gilviz-watch-{os.getpid()}.log")
        fixed_plan = Plan(label=watch.workload, make_specs=lambda url: [watch], kind="run")
        autostart = True
    controller = LiveController(sample_hz=hz, recorder=recorder, watch_log=watch_log)
    app = GilvizApp(
        fixed_plan=fixed_plan,
        watch_log=watch_log,
        deck=deck,
        controller=controller,
        machine=Machine.here(),
        fps=fps,
        sample_hz=hz or 50.0,
        look=look,
        preset=preset,
        talk=talk,
        autostart=autostart,
        deck_note=gdeck.left_out_note(deck_path) if watch is None else None,
        low_bandwidth=low_bandwidth(args),
    )
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        app.run()
        code = app.return_code
    finally:
        controller.shutdown()
        for s, h in saved.items():
            signal.signal(s, h)
    return int(code or 0)


def run_watch(args: Any, spec: Any) -> int:
    """``gilviz watch -- CMD`` and ``gilviz attach PID`` on the dashboard: one row per
    thread; the program's output goes to a log file the screen names."""
    code = _launch(args, talk=False, deck_path=None, watch=spec)
    return code


def run_tui(args: Any) -> int:
    """``gilviz [--preset NAME] [--fps N] [--ascii] [--hz N]``."""
    return _launch(args, talk=False, deck_path=getattr(args, "deck", None))


def run_talk(args: Any) -> int:
    """``gilviz talk [DECK] [--fps N] [--ascii] [--hz N]``."""
    return _launch(args, talk=True, deck_path=getattr(args, "deck", None))


def run_replay(args: Any, rec: Any) -> int:
    """``gilviz replay FILE.jsonl``: the dashboard's panels on a recording, with pause
    (space), speed (</>, -/+), seek (←/→) and a banner that says it is a replay."""
    fps = parse_float(getattr(args, "fps", None) or default_fps(args), "--fps", 0.2, 30)
    look = _look(getattr(args, "ascii", False))
    _need_screen("the TUI needs a terminal; use gilviz replay FILE --json instead")
    if not rec.models:
        raise BadInput(f"{args.file}: the recording holds no run")

    from gilviz.tui.app import GilvizApp
    from gilviz.tui.controllers.player import machine_of, player_for
    from gilviz.tui.screens.replay import ReplayScreen

    player = player_for(args.file, rec)
    hz = next((m.sample_hz for m in rec.models if m.sample_hz), None)
    app = GilvizApp(
        deck=[],
        controller=player,
        machine=machine_of(rec),
        fps=fps,
        sample_hz=hz or 50.0,
        look=look,
        record_results=False,
        dashboard_cls=ReplayScreen,
        low_bandwidth=low_bandwidth(args),
    )
    app.run()
    return int(app.return_code or 0)


def run_workload(
    args: Any,
    workload: str,
    pool: str,
    workers: int,
    tasks: int | None,
    size: int | None,
    start: bool,
    call_args: str | None = None,
) -> int:
    """``gilviz WORKLOAD [--pool P] [--workers N] [--tasks N] [--size N | --args L] [--start]``:
    the
    dashboard on these settings (a preset of them, first in the deck), started at once with
    ``--start``."""
    from gilviz.core.teaching.presets import PoolChoice, Preset
    from gilviz.tui import deck as gdeck

    custom = Preset(
        name="your-code",
        title=f"{workload} on {pool} ×{workers}",
        workload=workload,
        teaches="",
        narration=(gdeck.narration_line(None, workload),),
        pools=(PoolChoice(pool, workers=workers),),
        size=size,
        tasks=tasks,
        args=call_args,
    )
    args.tui_preset = "your-code"
    return _launch(args, talk=False, deck_path=None, extra=[custom], autostart=start)
