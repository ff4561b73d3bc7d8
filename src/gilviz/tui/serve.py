"""``gilviz serve``: the app in a browser, one session (one ``python -m gilviz`` child, with
its runs) per browser connection, through textual-serve.

    browser ── websocket ──> Server (aiohttp) ── stdin/stdout packets ──> gilviz app (WebDriver)
                                                                              └─> runner ─> workers

What gilviz adds to textual-serve's server:

- the page names no outside host: textual-serve's template asks a web font service for
  Roboto Mono, which textual-serve also ships; the page uses that local copy instead;
- each session is the server's direct child (``exec``), so its pid is the app's and it can
  follow the server (:data:`gilviz.tui.launch.SERVE_PID_ENV`: SIGTERM when the server dies);
- when the server stops (SIGINT, SIGTERM, SIGHUP), every session is asked to quit like on
  SIGTERM (runs stopped, no child left), and whatever is still there after a grace period is
  killed with its descendants.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import sys
import time
from pathlib import Path

import psutil

from gilviz.tui.launch import SERVE_PID_ENV

#: How long sessions get to quit on their own when the server stops: the app's own stop is
#: bounded by the runs' grace (two seconds, then kill) plus its exit.
SESSION_GRACE_S = 5.0

#: A <link> to an outside host: textual-serve's template has one, for the web font.
_FONT_LINK = re.compile(r"<link[^>]*?href=\"https?://[^\"]*\"[^>]*?/?>", re.S)

_LOCAL_FONT = """
    <link rel="preload" href="{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf"
          as="font" type="font/ttf" crossorigin />
    <style>
      /* The font textual.js asks for, from textual-serve's own static files. */
      @font-face {
        font-family: "Roboto Mono";
        font-style: normal;
        font-weight: 100 700;
        src: url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf")
          format("truetype");
      }
      @font-face {
        font-family: "Roboto Mono";
        font-style: italic;
        font-weight: 100 700;
        src: url("{{ config.static.url }}fonts/RobotoMono-Italic-VariableFont_wght.ttf")
          format("truetype");
      }
    </style>"""


def local_page(template: str) -> str:
    """textual-serve's page template with every outside stylesheet (the web font) replaced
    by the font it ships in its static files."""
    page, n = _FONT_LINK.subn("", template)
    if n:
        page = page.replace("</head>", _LOCAL_FONT + "\n  </head>", 1)
    return page


def app_command(app_args: list[str]) -> str:
    """The shell command textual-serve runs for each session. ``exec``: the session is the
    server's own child, not a shell's."""
    return "exec " + shlex.join([sys.executable, "-m", "gilviz", *app_args])


def _gone(proc: psutil.Process) -> bool:
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _kill_tree(proc: psutil.Process) -> None:
    try:
        family = [*proc.children(recursive=True), proc]
    except psutil.NoSuchProcess:
        return
    for p in family:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass


async def end_sessions(sessions: list[psutil.Process], grace_s: float = SESSION_GRACE_S) -> None:
    """SIGTERM to each session (it stops its runs and quits), then kill what is left after
    ``grace_s`` along with its children. Polls without blocking the event loop, which
    still has to read the sessions' last output and reap them."""
    for p in sessions:
        try:
            p.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and not all(_gone(p) for p in sessions):
        await asyncio.sleep(0.05)
    for p in sessions:
        if not _gone(p):
            _kill_tree(p)


def make_server(app_args: list[str], host: str, port: int):
    """A textual-serve server for ``python -m gilviz APP_ARGS``."""
    import aiohttp_jinja2
    import jinja2
    from textual_serve.server import Server

    class GilvizServer(Server):
        def __init__(self) -> None:
            super().__init__(app_command(app_args), host=host, port=port, title="gilviz")
            upstream = Path(self.templates_path) / "app_index.html"
            self.page = local_page(upstream.read_text(encoding="utf-8"))

        async def _make_app(self):
            app = await super()._make_app()
            loader = jinja2.DictLoader({"app_index.html": self.page})
            aiohttp_jinja2.setup(app, loader=loader)
            return app

        async def on_startup(self, app) -> None:
            # An SSH hang-up stops the server as SIGINT and SIGTERM do: in order.
            try:
                asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.request_exit)
            except (NotImplementedError, AttributeError):
                pass
            self.console.print(
                f"gilviz serve: {self.public_url}/ (one session per browser tab; Ctrl+C stops)",
                highlight=False,
                soft_wrap=True,
            )

        async def on_shutdown(self, app) -> None:
            await end_sessions(psutil.Process().children())
            await super().on_shutdown(app)

    # Each session's environment is a copy of ours, taken when the browser connects.
    os.environ[SERVE_PID_ENV] = str(os.getpid())
    return GilvizServer()
