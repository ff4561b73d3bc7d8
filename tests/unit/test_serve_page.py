"""`gilviz serve`'s page and sessions, without a browser (tests/e2e/test_serve_browser.py
has the browser)."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import textual_serve

from gilviz.tui.launch import web_driver_set
from gilviz.tui.serve import app_command, local_page

UPSTREAM = Path(textual_serve.__file__).parent


def test_the_page_names_no_outside_host_and_uses_the_shipped_font():
    page = local_page((UPSTREAM / "templates" / "app_index.html").read_text())
    assert re.findall(r"(?:href|src)=\"(https?:[^\"]*)\"", page) == []
    assert "fonts.googleapis" not in page
    for font in re.findall(r"static\.url \}\}(fonts/[^\"]+)\"", page):
        assert (UPSTREAM / "static" / font).is_file(), font
    assert page.count("@font-face") == 2 and 'font-family: "Roboto Mono"' in page


def test_a_page_without_an_outside_link_is_left_as_it_is():
    page = "<html><head><title>x</title></head><body></body></html>"
    assert local_page(page) == page


def test_each_session_is_the_servers_own_child_running_gilviz():
    command = app_command(["talk", "my deck.toml"])
    assert command.startswith("exec ")
    assert shlex.split(command)[1:] == [sys.executable, "-m", "gilviz", "talk", "my deck.toml"]


def test_only_a_web_driver_stands_in_for_the_terminal():
    assert web_driver_set({"TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver"})
    assert not web_driver_set({})
    assert not web_driver_set({"TEXTUAL_DRIVER": "textual.drivers.headless_driver:HeadlessDriver"})
    assert not web_driver_set({"TEXTUAL_DRIVER": "no.such.module:WebDriver"})
    assert not web_driver_set({"TEXTUAL_DRIVER": "textual.drivers.web_driver:nothing"})
    assert not web_driver_set({"TEXTUAL_DRIVER": "textual.drivers.web_driver"})
