"""The race: one workload on serial, thread and process pools, one after the other, live;
then a bar chart of wall time and speedup and the one-line verdict (report.verdict_line)."""

from __future__ import annotations

import textwrap

from textual.app import ComposeResult
from textual.binding import Binding

from gilviz.core import report
from gilviz.tui.controllers.base import QUEUED_TEXT, Plan, Progress
from gilviz.tui.messages import OpenScreen
from gilviz.tui.screens.live import LiveRunScreen
from gilviz.tui.style import DIM, ERROR, GOOD, LABEL
from gilviz.tui.widgets.base import Line, LinesWidget, fit
from gilviz.tui.widgets.info import TitleBar, status_text


class RaceBoard(LinesWidget):
    """One row per pool: state while racing, then bars of wall time and speedup."""

    DEFAULT_CSS = "RaceBoard { height: auto; }"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.progress = Progress()

    def show(self, progress: Progress) -> None:
        self.progress = progress
        self.redraw()  # a new height is laid out from wanted_height()

    def wanted_height(self, width: int) -> int:
        return len(self.build(width, 0))

    def build(self, width: int, height: int) -> list[Line]:
        p = self.progress
        look = self.look
        names = [p.plan.label_of(i, s) if p.plan else s.pool for i, s in enumerate(p.specs)]
        label_w = min(24, max(9, max((len(n) for n in names), default=0) + 1))
        bar_w = max(4, (width - label_w - 38) // 2)
        head = "pool".ljust(label_w) + "workers  state     " + "wall time".ljust(bar_w + 11)
        lines = [Line().add(fit([head + "speedup vs serial"], width), DIM)]
        if not p.specs:
            lines.append(Line().add("no race yet: press s to start", DIM))
            return lines
        walls = [s["wall_s"] for s in p.summaries if s and not s["error"] and s["wall_s"]]
        top_wall = max(walls) if walls else 0
        speeds = [s["speedup"] for s in p.summaries if s and s.get("speedup")]
        top_speed = max(speeds) if speeds else 0
        for i, spec in enumerate(p.specs):
            summary = p.summaries[i] if i < len(p.summaries) else None
            line = Line().add(names[i][:label_w].ljust(label_w), LABEL)
            line.add(f"{spec.workers:>7}  ")
            if summary is not None:
                if summary["error"]:
                    line.add("✗ failed  ", ERROR)
                    indent = line.length
                    error = textwrap.wrap(summary["error"], max(10, width - indent))
                    line.add(error[0])
                    lines.append(line)
                    lines += [Line().add(" " * indent + t) for t in error[1:]]
                    continue
                wall = summary["wall_s"] or 0
                line.add("✓ done    ", GOOD)
                filled, rest = look.bar(wall / top_wall if top_wall else 0, bar_w)
                line.add(filled, look.state_style("io_wait")).add(rest)
                line.add(f" {wall:7.2f} s  ")
                sp = summary.get("speedup")
                if sp is not None:
                    filled, rest = look.bar(sp / top_speed if top_speed else 0, bar_w)
                    line.add(filled, look.state_style("running")).add(rest).add(f" {sp:.2f}x")
                else:
                    line.add("n/a (no serial run)", DIM)
                outcome = report.outcome_text(summary.get("outcome"), spec.pool)
                if outcome:
                    # on lines of its own: the figure the run exists for is never cut
                    lines.append(line)
                    words = textwrap.wrap(outcome, max(10, width - label_w))
                    lines += [Line().add(" " * label_w + t, LABEL) for t in words]
                    continue
            elif i == p.index and p.active:
                snap = p.snapshot
                t = (
                    f"{snap.elapsed_s:.1f} s, {snap.tasks_done}/{snap.tasks_total} tasks"
                    if snap
                    else ""
                )
                line.add("▶ running ", GOOD).add(t, DIM)
            elif p.finished:
                line.add("– not run", DIM)
            else:
                line.add("· waiting", DIM)
            lines.append(line)
        verdict = None
        done = [s for s in p.summaries if s is not None]
        if p.finished and done:
            verdict = report.verdict_line(done)
        if verdict:
            for i, t in enumerate(textwrap.wrap(verdict, max(10, width - 8))):
                lines.append(Line().add("verdict " if i == 0 else " " * 8, LABEL).add(t))
        elif p.finished:
            lines.append(
                Line().add(f"race {p.state}: no verdict (fewer than two pools finished)", DIM)
            )
        else:
            lines.append(Line().add("verdict when every pool has run", DIM))
        return lines


class RaceScreen(LiveRunScreen):
    title_bar: TitleBar | None = None

    BINDINGS = [
        Binding("s", "start_stop", "start/stop"),
        Binding("escape", "go_back", "back"),
        Binding("down", "scroll_workers(1)", "scroll workers down", show=False),
        Binding("up", "scroll_workers(-1)", "scroll workers up", show=False),
    ]

    def __init__(self, plan: Plan | None = None, **kw) -> None:
        super().__init__(**kw)
        self.plan = plan
        self._progress = Progress()

    def compose_body(self) -> ComposeResult:
        app = self.app
        self.title_bar = TitleBar(app.machine, look=app.look)
        self.board = RaceBoard(look=app.look)
        yield self.title_bar
        yield self.board
        yield self.make_status()
        yield self.make_panels()

    def on_mount(self) -> None:
        self._titles()

    def _titles(self) -> None:
        label = self.plan.label if self.plan else "race"
        self.title_bar.set(
            f"Race · {label.removeprefix('race: ')}",
            "The same work on each pool, one after the other; wall time decides.",
        )

    def start(self, plan: Plan | None = None) -> None:
        if plan is not None:
            self.plan = plan
            if self.title_bar is not None:
                self._titles()
        if self.plan is not None:
            self.start_plan(self.plan)

    def action_start_stop(self) -> None:
        if self._progress.active:
            self.stop_run()
        else:
            self.start()

    def action_go_back(self) -> None:
        """To the screen this one was opened from: the talk at its step, or the dashboard."""
        self.post_message(OpenScreen("back"))

    def show_progress(self, progress: Progress) -> None:
        if not self.is_mine(progress) and progress.plan and progress.plan.kind != "race":
            return
        self._progress = progress
        self.board.show(progress)
        snap = progress.snapshot
        self.show_panels(progress)
        self.title_bar.set_python(report.snapshot_python(snap))
        state, error = self.run_state(progress)
        text = status_text(snap) if snap else "press s to start the race"
        if state == "queued":
            text = QUEUED_TEXT
        if progress.specs and progress.active:
            text = self.run_of(progress) + text
        # What the race left out (a pool this Python lacks), then each pool's start-up.
        done = [s for s in progress.summaries if s is not None]
        extra = ([progress.plan.note] if progress.plan and progress.plan.note else []) + (
            report.startup_lines(done)
        )
        self.status.set(state, text, error, "\n".join(extra))
