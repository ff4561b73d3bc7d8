"""The served app, pictured in a real browser: screenshots/serve.png.

    .venv/bin/python scripts/serve_screenshot.py

Starts ``gilviz serve`` on a free loopback port, opens it in Debian's headless Chromium
(driven by Playwright, as tests/e2e/test_serve_browser.py does), runs the crunch-threads
preset on this machine from the page (key s), and saves the page once the run is done.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import chromium, why_no_browser  # noqa: E402
from tests.helpers import free_port, gilviz_cmd, wait_for  # noqa: E402

OUT = ROOT / "screenshots" / "serve.png"


def main() -> int:
    reason = why_no_browser()
    if reason:
        print(f"serve_screenshot: {reason}", file=sys.stderr)
        return 2
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen(gilviz_cmd("serve", "--port", str(port), "--", "--preset", "crunch-threads"),
                              stdout=subprocess.DEVNULL, env=env, start_new_session=True)  # fmt: skip
    try:

        def up():
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    return r.status == 200
            except OSError:
                return None

        wait_for(up, timeout=60, what="gilviz serve")
        with (
            tempfile.TemporaryDirectory(prefix="gilviz-chromium-") as profile,
            chromium(Path(profile), width=1280, height=800) as browser,
        ):
            tab = browser.open(url)
            tab.wait_for_text("crunch-threads", "start/stop")
            tab.press("s", then=("● running",))
            tab.wait_for_text("● done", timeout=300)
            tab.pump(1000)  # the charts' next turn (they redraw at most twice a second)
            OUT.parent.mkdir(exist_ok=True)
            tab.page.screenshot(path=str(OUT))
            if browser.outside:
                print(f"serve_screenshot: asked outside: {browser.outside}", file=sys.stderr)
                return 1
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    print(OUT.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
