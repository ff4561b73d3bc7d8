"""The README's reference picture shows the table after the presets ran, from figures
scripts/screenshots.py measured by running them (screenshots/reference-cache.json)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from gilviz.core.teaching import presets, reference

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "screenshots"


def svg_lines(path: Path) -> list[str]:
    """The text of a Textual SVG screenshot, one string per screen line."""
    rows: dict[float, list[tuple[float, str]]] = {}
    for m in re.finditer(
        r'<text[^>]*?x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', path.read_text()
    ):
        text = html.unescape(re.sub("<[^>]+>", "", m[3])).replace("\xa0", " ")
        rows.setdefault(float(m[2]), []).append((float(m[1]), text))
    return ["".join(t for _, t in sorted(parts)) for _, parts in sorted(rows.items())]


def test_the_kept_cache_was_measured_by_running_every_preset_and_fills_every_row():
    kept = json.loads((SHOTS / "reference-cache.json").read_text())
    names = {p.name for p in presets.builtin_presets()}
    ran = [c.removeprefix("gilviz run --preset ").split()[0] for c in kept["made_by"]]
    assert set(ran) <= names and set(kept["cache"]["presets"]) == set(ran)
    assert kept["machine"]["cores_usable"] >= 1 and kept["measured"]
    for row in reference.table(kept["cache"]):
        assert row["measured"], row["key"]


def test_the_reference_picture_shows_measured_rows_and_a_footer_in_words():
    text = " ".join(" ".join(line.split()) for line in svg_lines(SHOTS / "reference.svg"))
    assert "not measured yet" not in text and "a given file" not in text
    assert "Measured here: each row's figures are from the last run of its presets" in text
    assert "kept in ~/.cache/gilviz/reference.json." in text
