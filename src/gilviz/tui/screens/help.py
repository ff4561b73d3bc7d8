"""Every key of every screen, generated from the bindings themselves (so it cannot drift);
the app hands the screen its sections, so the help knows no screen and no app."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

KEY_NAMES = {
    "question_mark": "?",
    "plus": "+",
    "minus": "-",
    "equals_sign": "=",
    "less_than_sign": "<",
    "greater_than_sign": ">",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "space": "space",
    "escape": "esc",
    "pagedown": "PgDn",
    "pageup": "PgUp",
    "right": "→",
    "left": "←",
    "down": "↓",
    "up": "↑",
    "enter": "Enter",
}


def key_text(keys: str) -> str:
    return " ".join(KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(","))


def bindings_table(title: str, bindings: list[Binding]) -> Table:
    t = Table(title=title, title_justify="left", title_style="bold", show_header=False, box=None)
    t.add_column("key", style="bold #61afef", no_wrap=True, min_width=12)
    t.add_column("what it does")
    for key, what in help_rows(bindings):
        t.add_row(key, what)
    return t


def help_rows(bindings: list[Binding]) -> list[tuple[str, str]]:
    """(keys, what they do) per action. A pair of keys the footer shows once ("+/-
    workers") is two rows here, each in full: the shown one's tooltip says what it does
    ("more workers") where its description is the pair's ("workers")."""
    rows = []
    seen = set()
    for b in bindings:
        if not isinstance(b, Binding) or b.action in seen or not b.description:
            continue
        seen.add(b.action)
        rows.append((key_text(b.key), b.tooltip or b.description))
    return rows


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,question_mark,f1", "dismiss", "close help")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; height: 90%; border: round $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, sections: list[tuple[str, list[Binding]]], **kw) -> None:
        super().__init__(**kw)
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(
                Text.assemble(
                    ("gilviz keys", "bold"),
                    "  (esc closes; ctrl+p opens the command palette: presets and screens)",
                )
            )
            for title, bindings in self.sections:
                yield Static(bindings_table(title, bindings))
        yield Footer()
