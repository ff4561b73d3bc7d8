"""`gilviz serve` puts the app in a browser page, bound to loopback, and stops cleanly."""

from __future__ import annotations

import signal
import subprocess
import urllib.request

import pytest

from tests.helpers import alive, descendants, finish, free_port, gilviz_cmd, wait_for

pytestmark = pytest.mark.e2e


def test_serve_answers_on_loopback_and_stops_on_sigterm():
    port = free_port()
    proc = subprocess.Popen(gilviz_cmd("serve", "--port", str(port)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip

    def page():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                return r.read().decode()
        except OSError:
            return None

    html = wait_for(page, timeout=60, what="the served page")
    assert "<html" in html and "textual" in html.lower()
    kids = [k.pid for k in descendants(proc.pid)]
    proc.send_signal(signal.SIGTERM)
    finish(proc)
    wait_for(lambda: not alive([proc.pid, *kids]), timeout=15, what="serve to exit")
