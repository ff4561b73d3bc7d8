"""Debian's Chromium, driven by Playwright (the PyPI package; no browser download), and the
screen of a page served by ``gilviz serve`` as text.

The served app draws on an xterm.js canvas, so the page holds no text to read; the
websocket frames that textual-serve sends carry it, between escape sequences. A
:class:`Screen` collects them and waits, with a deadline, until some text has been drawn.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

# Without the background-networking flags Chromium tries services outside the machine
# at start, and here those connections are refused, many at a time.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

# CSI (colours, cursor moves, modes), OSC, and two-byte escapes.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")


def why_no_browser() -> str | None:
    """None when Chromium and Playwright are both here, else what is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if shutil.which("chromium") is None:
        return "chromium is not installed (apt-get install chromium; .ci/run does it)"
    return None


@contextmanager
def chromium(profile: Path, width: int = 1280, height: int = 800) -> Iterator[Browser]:
    """A headless Chromium with a fresh profile in ``profile``; every request that leaves
    the machine is refused and noted in ``Browser.outside``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=shutil.which("chromium"),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
        )
        browser = Browser(context)
        try:
            yield browser
        finally:
            context.close()


class Browser:
    def __init__(self, context) -> None:
        self.context = context
        self.outside: list[str] = []
        self.failure_shot: Path | None = None
        context.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOCAL_HOSTS or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, url: str) -> Screen:
        page = self.context.new_page()
        screen = Screen(page)
        screen.failure_shot = self.failure_shot
        page.goto(url)
        return screen


class Screen:
    """One tab of the served app: what it drew (as text), keys, and the tab's state."""

    def __init__(self, page) -> None:
        self.page = page
        self._frames: list[str] = []
        self.failure_shot: Path | None = None  # where to save the page when a wait fails
        page.on("websocket", self._on_websocket)

    def _on_websocket(self, ws) -> None:
        ws.on("framereceived", self._on_frame)

    def _on_frame(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8", "replace")
        self._frames.append(payload)

    def text(self) -> str:
        """Everything drawn since the last :meth:`forget`, without escape sequences."""
        return _ESCAPES.sub("", "".join(self._frames))

    def forget(self) -> None:
        self._frames.clear()

    def pump(self, ms: float = 50) -> None:
        # Playwright's sync API hands over events (frames) only while one of its calls runs.
        self.page.wait_for_timeout(ms)

    def wait_until(self, predicate, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                tail = self.text()[-600:]
                shot = ""
                if self.failure_shot is not None:
                    self.page.screenshot(path=str(self.failure_shot))
                    shot = f" (the page: {self.failure_shot})"
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what}{shot}; drew {tail!r}"
                )
            self.pump()

    def wait_for_text(self, *words: str, timeout: float = 60) -> None:
        self.wait_until(
            lambda: all(w in self.text() for w in words), timeout, f"the page to draw {words}"
        )

    def press(self, *keys: str, then: tuple[str, ...] = (), timeout: float = 60) -> None:
        """Type keys into the terminal; with ``then``, wait until the app draws those words."""
        self.forget()
        self.page.focus("textarea.xterm-helper-textarea")
        for k in keys:
            self.page.keyboard.press(k)
        if then:
            self.wait_for_text(*then, timeout=timeout)

    def closed(self) -> bool:
        """The page says "Session ended" (its websocket closed)."""
        return "-closed" in (self.page.get_attribute("body", "class") or "").split()
