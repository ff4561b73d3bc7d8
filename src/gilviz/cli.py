"""The command line: parses arguments, runs the headless commands, or opens the TUI.

Exit codes: 0 ok, 1 the workload failed, 2 bad input (one line on stderr, no traceback),
128+N when ended by signal N. SIGTERM and SIGHUP stop the runs in progress cleanly.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from gilviz import __version__
from gilviz.core.errors import BadInput, did_you_mean

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but bad input is one line and exit code 2 (``main`` puts "gilviz: " in
    front of it, once), and a name that is not one of the choices gets a "did you mean"."""

    def error(self, message: str) -> NoReturn:
        raise BadInput(f"{message}; see {self.prog} --help")

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        choices = action.choices
        if choices is None or value in choices:
            return
        names = [str(c) for c in choices]
        if isinstance(action, argparse._SubParsersAction):
            from gilviz.core.running.workloads import BUILTINS

            # "gilviz crnch" is a misspelt workload as often as a misspelt command.
            hint = did_you_mean(str(value), [*names, *BUILTINS])
            rest = hint or f"; use one of {', '.join(names)}, or a workload"
            raise argparse.ArgumentError(None, f"unknown command {value!r}{rest}")
        option = action.option_strings[-1] if action.option_strings else action.dest
        hint = did_you_mean(str(value), names)
        raise argparse.ArgumentError(
            None, f"{option}: unknown choice {value!r}{hint}; use one of {', '.join(names)}"
        )


class _Signalled(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_stopping = False  # a signal has been raised; runs are being stopped


def _raise_on_signal(signum: int, frame: Any) -> None:
    """The first of SIGINT, SIGTERM, SIGHUP raises (KeyboardInterrupt for SIGINT), and
    gilviz stops its runs in order, which is bounded (session.STOP_TIMEOUT_S, then kill).
    Later ones are ignored: raised again in the middle of that stop (a Ctrl-C pressed
    twice, a hangup followed by SIGTERM), they would cut it short, inside a lock's
    acquire or a kill, and could leave a traceback or a child behind."""
    global _stopping
    if _stopping:
        return
    _stopping = True
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise _Signalled(signum)


def _add_run_options(p: argparse.ArgumentParser, several_pools: bool) -> None:
    p.add_argument(
        "workload", nargs="?", help="built-in name, module:function or path/to/file.py:function"
    )
    p.add_argument("--preset", metavar="NAME", help="run a preset's pools and check its claim")
    p.add_argument(
        "--deck", metavar="FILE.toml", help="the deck to find --preset in (default: built-ins)"
    )
    if several_pools:
        p.add_argument(
            "--pools",
            metavar="KIND,KIND",
            help="comma-separated pool kinds to run one after the other (default: serial, "
            "thread, process, and interpreter where the Python has it)",
        )
    else:
        p.add_argument(
            "--pool", metavar="KIND", default="process", help="serial, thread, process, ..."
        )
    p.add_argument("--workers", metavar="N", help="pool size (default: the workload's)")
    p.add_argument("--tasks", metavar="N", help="number of tasks (default: the workload's)")
    p.add_argument(
        "--size", metavar="N", help="each task's size (built-ins: gilviz workloads says what)"
    )
    p.add_argument(
        "--args",
        metavar="LITERAL",
        help="your function's arguments, a Python literal (a tuple gives several)",
    )
    p.add_argument(
        "--start-method", metavar="METHOD", help="process pools: fork, spawn or forkserver"
    )
    p.add_argument("--chunksize", metavar="N", help="process pools: tasks sent to a worker at once")
    p.add_argument(
        "--switch-interval", metavar="SECONDS", help="sys.setswitchinterval in the runner"
    )
    p.add_argument(
        "--delay-ms", metavar="MS", default="200", help="fetch: the local server's delay per reply"
    )
    p.add_argument("--port", default="0", help="fetch: the local server's port (0 = any free)")
    p.add_argument(
        "--no-heartbeat",
        action="store_true",
        help="no heartbeat thread (the 1 ms sleeper whose lateness is the latency figure)",
    )
    p.add_argument(
        "--hz", metavar="N", default="50", help="sampling rate, per second (0 = no sampling)"
    )
    p.add_argument(
        "--fallback-sampler",
        action="store_true",
        help="use the portable psutil sampler even where /proc works",
    )
    if several_pools:
        p.add_argument(
            "--python",
            action="append",
            metavar="PATH",
            help="run the runners under this interpreter; given again, the race is run on "
            "each one (one table, a python column)",
        )
        p.add_argument(
            "--pythons", metavar="A,B", help="comma-separated interpreters: --python each"
        )
    else:
        p.add_argument("--python", metavar="PATH", help="run the runner under this interpreter")
    p.add_argument("--json", action="store_true", help="print the JSON document")
    p.add_argument("--record", metavar="FILE.jsonl", help="record the session (replay, export)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gilviz", description="Threads or processes? Watch your work run both ways."
    )
    parser.add_argument("--version", action="version", version=f"gilviz {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    _add_run_options(sub.add_parser("run", help="run a workload on one pool"), several_pools=False)
    _add_run_options(
        sub.add_parser("compare", help="run a workload on several pools and compare"),
        several_pools=True,
    )
    doctor = sub.add_parser("doctor", help="what this machine and Python offer gilviz")
    doctor.add_argument("--python", metavar="PATH", help="probe this interpreter instead")
    doctor.add_argument("--json", action="store_true")
    workloads_p = sub.add_parser("workloads", help="list the built-in workloads")
    workloads_p.add_argument("--json", action="store_true")
    presets_p = sub.add_parser("presets", help="list the presets of the deck")
    presets_p.add_argument("deck", nargs="?", help="a TOML deck (default: the built-ins)")
    presets_p.add_argument("--json", action="store_true")
    reference = sub.add_parser("reference", help="the tradeoff table, measured on this machine")
    fmt = reference.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_true")
    fmt.add_argument("--json", action="store_true")
    replay = sub.add_parser("replay", help="look again at a recorded session")
    replay.add_argument("file", help="a recording made with --record")
    replay.add_argument("--json", action="store_true", help="print the recorded runs' JSON")
    _add_tui_options(replay, record=False)
    export = sub.add_parser(
        "export", help="turn a recording into a trace, a report, a cast or a picture"
    )
    export.add_argument("file", help="a recording made with --record")
    export.add_argument(
        "--format",
        choices=["perfetto", "markdown", "asciicast", "svg"],
        required=True,
        help="perfetto trace, markdown report, asciicast v2 (asciinema), or svg of one moment",
    )
    export.add_argument("-o", "--output", help="output file (default: stdout)")
    export.add_argument(
        "--size",
        metavar="COLSxROWS",
        help="asciicast, svg: the terminal size (default: the recorded one, else 120x40)",
    )
    export.add_argument(
        "--fps",
        metavar="N",
        help="asciicast: frames a second (default: the session's panel rate, else 4)",
    )
    export.add_argument(
        "--speed", metavar="X", help="asciicast: play the recording this many times as fast"
    )
    moment = export.add_mutually_exclusive_group()
    moment.add_argument("--at", metavar="SECONDS", help="svg: the moment, s into the replay")
    moment.add_argument("--end", action="store_true", help="svg: the end (the default)")
    serve = sub.add_parser("serve", help="the same app in a web browser (textual-serve)")
    serve.add_argument(
        "--host", metavar="ADDRESS", default="127.0.0.1", help="address to bind (default loopback)"
    )
    serve.add_argument("--port", default="8000", help="port (default 8000)")
    serve.add_argument(
        "app_args",
        metavar="APP ARGS",
        nargs=argparse.REMAINDER,
        help="the app's own arguments: talk [DECK], replay FILE, or options after --",
    )
    watch = sub.add_parser(
        "watch",
        help="start your program and watch every thread of it",
        usage="gilviz watch [--json] [--record FILE] [--hz N] -- CMD [ARGS...]",
    )
    _add_watch_options(watch)
    watch.add_argument(
        "cmd", metavar="CMD", nargs=argparse.REMAINDER, help="the command to run, after --"
    )
    attach = sub.add_parser("attach", help="watch a running Python program (left untouched)")
    attach.add_argument("pid", metavar="PID", help="the process to watch, with its children")
    attach.add_argument(
        "--duration", metavar="SECONDS", help="seconds to watch (default: until q or Ctrl-C)"
    )
    _add_watch_options(attach)
    talk = sub.add_parser("talk", help="presenter mode: step through a deck of presets")
    talk.add_argument("deck", nargs="?", help="a TOML deck (default: the built-ins)")
    _add_tui_options(talk)
    _add_tui_options(parser)
    parser.add_argument(
        "--preset", dest="tui_preset", metavar="NAME", help="open the TUI on this preset"
    )
    return parser


def _add_tui_options(p: argparse.ArgumentParser, record: bool = True) -> None:
    p.add_argument("--fps", metavar="N", help="panel refreshes a second (default 4)")
    p.add_argument("--ascii", action="store_true", help="states differ by glyph, not colour")
    p.add_argument(
        "--low-bandwidth",
        action="store_true",
        help="one frame a second (the default when SSH_CONNECTION is set)",
    )
    p.add_argument(
        "--hz", dest="tui_hz", metavar="N", default="50", help="sampling rate, per second"
    )
    if record:
        p.add_argument("--record", metavar="FILE.jsonl", help="record every run of the session")


def _add_watch_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the JSON document at the end")
    p.add_argument("--fallback-sampler", action="store_true", help=argparse.SUPPRESS)
    _add_tui_options(p)


def _spec_from(args: argparse.Namespace, pool: str, server_url: str | None, python: str | None):
    from gilviz.core.running.spec import build_spec

    params = {"url": server_url} if server_url else {}
    return build_spec(
        args.workload,
        pool=pool,
        workers=args.workers,
        tasks=args.tasks,
        size=args.size,
        start_method=args.start_method,
        chunksize=args.chunksize,
        switch_interval=args.switch_interval,
        heartbeat=not args.no_heartbeat,
        python=python,
        params=params,
        args=args.args,
    )


def _target_pythons(args: argparse.Namespace) -> list[str | None]:
    """The interpreters to run on, in the order given (``--python``, once or more, then
    ``--pythons``), each checked; [None] (gilviz's own) when none is given."""
    given = args.python if isinstance(args.python, list) else [args.python]
    given = [p for p in given if p is not None]
    if getattr(args, "pythons", None) is not None:
        listed = [p.strip() for p in args.pythons.split(",")]
        if not all(listed):
            raise BadInput(f"--pythons {args.pythons!r}: an empty name in the list")
        given += listed
    for i, python in enumerate(given):
        if python in given[:i]:
            raise BadInput(f"--python {python} given twice")
        _python_info(python)
    return given or [None]


_INFOS: dict[str | None, Any] = {}


def _python_info(python: str | None):
    """What ``python`` offers (machine.interpreter_info, asked once per command), or
    BadInput with the reason it cannot serve as a runner's interpreter."""
    from gilviz.core.measuring.machine import interpreter_info

    if python in _INFOS:
        return _INFOS[python]
    if python is not None:
        if not os.path.exists(python):
            raise BadInput(f"--python {python}: no such file")
        if not os.path.isfile(python) or not os.access(python, os.X_OK):
            raise BadInput(f"--python {python}: not an executable file")
    try:
        info = interpreter_info(python)
        old = tuple(int(x) for x in info.version.split(".")[:2]) < (3, 10)
    except (OSError, ValueError) as exc:
        raise BadInput(f"--python {python}: {exc}") from None
    if old:
        raise BadInput(f"--python {python}: Python {info.version}; the runner needs 3.10+")
    _INFOS[python] = info
    return info


def _check_pools(pools: list[str], python: str | None, context: str = "") -> None:
    """Each pool is a kind gilviz knows and the target Python can run; else one line that
    offers what it can run (a misspelt kind gets a "did you mean")."""
    from gilviz.core.running.spec import POOLS

    info = _python_info(python)
    for pool in pools:
        if pool not in POOLS:
            runnable = [p for p in POOLS if info.pools.get(p, "") is None]
            raise BadInput(
                f"{context}unknown pool {pool!r}{did_you_mean(pool, POOLS)}; this Python runs "
                f"{', '.join(runnable)} (gilviz doctor says why not the others)"
            )
    for pool in pools:
        why = info.pools.get(pool)
        if why is not None:
            hint = "; pass --python with a 3.14 or newer" if pool == "interpreter" else ""
            raise BadInput(f"{context}pool {pool!r} is unavailable: {why}{hint}")


def _plan(args: argparse.Namespace, pools: list[str] | None, pythons: list[str | None]):
    """The preset (or None) and a function url -> the RunSpecs to run, all validated: the
    preset's pools, or ``pools`` (None: compare's default for each Python), on each of
    ``pythons`` one after the other. ``args.pools_notes`` gets what was left out, and why."""
    several = len(pythons) > 1
    if args.preset:
        from gilviz.core.teaching import presets

        if args.workload:
            raise BadInput("give a workload or --preset, not both")
        preset = presets.get_preset(args.preset, deck=args.deck)
        for python in pythons:
            where = f"--python {python}: " if several else ""
            _check_pools([c.pool for c in preset.pools], python, f"{where}preset {preset.name!r}: ")

        def specs(url: str | None):
            return [
                spec
                for python in pythons
                for spec in presets.preset_specs(
                    preset,
                    size=args.size,
                    tasks=args.tasks,
                    workers=args.workers,
                    python=python,
                    heartbeat=not args.no_heartbeat,
                    server_url=url,
                )
            ]

        return preset, specs
    if not args.workload:
        raise BadInput("name a workload (gilviz workloads lists them) or a --preset")
    by_python: list[tuple[str | None, list[str]]] = []
    for python in pythons:
        chosen = pools
        if chosen is None:
            chosen, note = default_pools(python)
            if note:
                args.pools_notes.append(note)  # it names the Python
        _check_pools(chosen, python, f"--python {python}: " if several else "")
        by_python.append((python, chosen))
    return None, lambda url: [
        _spec_from(args, pool, url, python) for python, chosen in by_python for pool in chosen
    ]


def _cmd_runs(args: argparse.Namespace, pools: list[str] | None) -> int:
    """``run`` and ``compare``: the runs of a workload or preset, on each Python given, as
    one plan; then the JSON document, or the table and verdicts."""
    from gilviz.core import report
    from gilviz.core.running.plan import PlanRun, by_python
    from gilviz.core.running.spec import PLACEHOLDER_URL, parse_float, parse_int

    hz = parse_float(args.hz, "--hz", 0, 1000)
    args.pools_notes = []
    _INFOS.clear()  # asked afresh by each command (main may be called again in-process)
    pythons = _target_pythons(args)
    preset, make_specs = _plan(args, pools, pythons)
    delay_ms = args.delay_ms
    if preset is not None and "delay_ms" in preset.params:
        delay_ms = preset.params["delay_ms"]
    delay = parse_float(delay_ms, "--delay-ms", 0, 600_000) / 1000
    port = parse_int(args.port, "--port", 0, 65535)
    make_specs(PLACEHOLDER_URL)  # validates everything before anything is created or runs
    recorder = record_plan = None
    if args.record:
        from gilviz.core.recording.recorder import Recorder, terminal_size
        from gilviz.core.teaching.presets import preset_json

        recorder = Recorder(
            args.record,
            settings={
                "command": args.command,
                "preset": preset.name if preset else None,
                "hz": hz,
                "argv": sys.argv[1:],
                "terminal": terminal_size(),
            },
        )
        specs = make_specs(PLACEHOLDER_URL)
        record_plan = {
            "kind": args.command,
            "label": preset.name
            if preset
            else f"{specs[0].workload} on {', '.join(s.pool for s in specs)}",
            "labels": [s.label or s.pool for s in specs],
            "preset": preset_json(preset) if preset else None,
            # None when a setting was changed: the runs are not the preset's as written
            "preset_name": preset.name if preset and not _changed_preset(args) else None,
            "step": None,
        }

    progress = _ProgressLine(sys.stderr, several_pythons=len(pythons) > 1)
    try:
        plan = PlanRun(
            make_specs,
            delay_s=delay,
            port=port,
            recorder=recorder,
            sample_hz=hz,
            force_fallback=args.fallback_sampler,
            record_plan=record_plan,
        )
        with plan:
            runs = plan.run_all(
                on_progress=(lambda i, run: progress.show(i, len(plan.specs), run))
                if progress.on
                else None
            )
    finally:
        progress.clear()
        if recorder is not None:
            recorder.close()
            if recorder.error:
                print(f"gilviz: {recorder.error}", file=sys.stderr)
    results = [report.run_summary(run.model) for run in runs]
    # Speedups, verdicts and claims are each Python's own: against its own serial run.
    groups = by_python([run.model.spec for run in runs], results)
    for _, rs in groups:
        report.fill_speedups(rs)
    named = [(_python_name(path, rs), rs) for path, rs in groups]
    python_info = next((r.model.hello.python for r in runs if r.model.hello), None)
    doc = report.document(results, python_info)
    claims = []
    if preset is not None:
        from gilviz.core.teaching import presets

        claims = [(name, presets.check_claim(preset, rs)) for name, rs in named]
        if len(groups) == 1 and not _changed_preset(args):
            # The preset as written: its figures fill `gilviz reference`'s "measured here",
            # named by the interpreter that made them (--python's, when given).
            from gilviz.core.protocol import python_label
            from gilviz.core.teaching import reference

            reference.record(preset.name, results, python=python_label(python_info))
        doc["preset"] = {"name": preset.name, "title": preset.title, "source": preset.source}
        doc["claim"] = _one_claim(claims)
        if len(claims) > 1:
            doc["claims"] = [{"python": n, "ok": c.ok, "text": c.text} for n, c in claims]
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        _print_runs(args, preset, results, named, claims)
    failed = any(r["error"] for r in results)
    if preset is not None and failed:
        # A preset may be about failure (crash): its claim decides, not the error.
        failed = any(c.ok is False for _, c in claims)
    return EXIT_FAILED if failed else EXIT_OK


def _python_name(path: str | None, runs: list[dict[str, Any]]) -> str:
    """How a table names the Python of a group of runs: the version its runners said."""
    from gilviz.core import report

    said = next((r["python"] for r in runs if r.get("python")), None)
    return report.python_tag(said) if said else (path or sys.executable)


def _one_claim(claims: list) -> dict[str, Any]:
    """The claim's verdict over every Python it was checked on: false if any is false,
    undecided if any is undecided; each text named by its Python when there are several."""
    oks = [c.ok for _, c in claims]
    ok = False if False in oks else None if None in oks else True
    if len(claims) == 1:
        return {"ok": ok, "text": claims[0][1].text}
    return {"ok": ok, "text": "; ".join(f"{name}: {c.text}" for name, c in claims)}


def _print_runs(args, preset, results, named, claims) -> None:
    from gilviz.core import report

    several = len(named) > 1
    if preset is not None:
        print(f"{preset.title}\n" + "\n".join(f"  {line}" for line in preset.narration) + "\n")
    if len(results) == 1:
        print(report.run_text(results[0]))
    else:
        print(report.compare_table(results, named))
        for name, rs in named:
            lead = f"{name} " if several else ""
            for line in report.startup_lines(rs):
                print(lead + line)
            for r in rs:
                if r["outcome"]:
                    print(
                        f"{lead}{r['label'] or r['pool']}: {report.outcome_text(r['outcome'], r['pool'])}"
                    )
    for note in args.pools_notes:
        print(f"\n{note}")
    if claims:
        print()
    for name, claim in claims:
        mark = {True: "✓", False: "✗", None: "?"}[claim.ok]
        print(f"{name + ' ' if several else ''}claim: {claim.text} {mark}")


def _changed_preset(args: argparse.Namespace) -> bool:
    """``--preset`` with a setting of its own: the runs are not the preset's as written."""
    return not (args.size is None and args.tasks is None and args.workers is None)


class _ProgressLine:
    """While headless runs go, one line on a terminal's stderr, rewritten in place: which
    run of how many, its pool, tasks done and seconds. Nothing when stderr is not a terminal
    (piped or redirected), so that logs and captured output stay clean."""

    def __init__(self, stream: Any, several_pythons: bool = False) -> None:
        self.stream = stream
        self.several_pythons = several_pythons
        try:
            self.on = stream.isatty()
        except (AttributeError, ValueError):
            self.on = False
        self.shown = False

    def show(self, index: int, total: int, run: Any) -> None:
        snap = run.model.snapshot()
        spec = run.model.spec
        name = spec.label or snap.pool
        on = f" ({spec.python or sys.executable})" if self.several_pythons else ""
        self._write(
            f"run {index + 1} of {total}: {snap.workload} on {name} ×{snap.workers_requested}"
            f"{on} · {snap.tasks_done}/{snap.tasks_total} tasks · {snap.elapsed_s:.1f} s"
        )

    def _write(self, text: str) -> None:
        try:
            width = os.get_terminal_size(self.stream.fileno()).columns or 80  # 0: not set
        except (OSError, ValueError, AttributeError):
            width = 80
        # Cut to the width: a line that wraps can no longer be rewritten in place.
        self.stream.write("\r\x1b[K" + text[: max(1, width - 1)])
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def cmd_run(args: argparse.Namespace) -> int:
    return _cmd_runs(args, None if args.preset else [args.pool])


def default_pools(python: str | None) -> tuple[list[str], str | None]:
    """What ``compare`` races when not told: serial, thread, process, and interpreter when
    the target Python has that pool; else also the line that says why it is left out."""
    pools = ["serial", "thread", "process"]
    why = _python_info(python).pools.get("interpreter")
    if why is None:
        return [*pools, "interpreter"], None
    return pools, f"interpreter pool not raced: {why}"


def cmd_compare(args: argparse.Namespace) -> int:
    pools = None  # compare's default, for each Python
    if args.pools is not None:
        pools = [p.strip() for p in args.pools.split(",") if p.strip()]
        if not pools and not args.preset:
            raise BadInput("--pools needs at least one pool kind")
    return _cmd_runs(args, pools)


def cmd_doctor(args: argparse.Namespace) -> int:
    from gilviz.core.measuring.machine import doctor_report

    if args.python is not None and not os.path.exists(args.python):
        raise BadInput(f"--python {args.python}: no such file")
    try:
        rep = doctor_report(args.python)
    except (OSError, ValueError) as exc:
        raise BadInput(f"--python {args.python}: {exc}") from None
    if args.json:
        print(json.dumps(rep, indent=2))
        return EXIT_OK
    m, py, s = rep["machine"], rep["python"], rep["sampling"]
    quota = m["cgroup_cpu_limit"]
    inside = f" (runs {py['executable']})" if py["executable"] != py["path"] else ""
    gil = rep["gil"]
    rows = [
        (
            "cores",
            f"{m['cores_logical']} logical, {m['cores_usable']} usable (affinity "
            f"{m['usable_cpus']}, cgroup quota {'none' if quota is None else f'{quota:g} CPUs'})",
        ),
        ("python", f"{py['implementation']} {py['version']} at {py['path']}{inside}"),
        ("build", py["build"]),
        ("GIL", "enabled" if py["gil_enabled"] else "disabled"),
    ]
    if gil["located"] == "yes":
        rows += [("GIL found", gil["method"]), ("GIL holder", gil["holder"])]
    else:
        rows.append(("GIL found", gil["located"]))
    rows.append(("free-threaded", gil["free_threaded"]))
    rows.append(("sampling", f"{s['method']}: {s['detail']}"))
    rows.append(
        (
            "start methods",
            f"{', '.join(rep['start_methods'])} (default {rep['default_start_method']})",
        )
    )
    rows += [(f"pool {pool}", state) for pool, state in rep["pools"].items()]
    # One column for every value, however long the longest label.
    width = max(len(label) for label, _ in rows) + 2
    for label, value in rows:
        print(f"{label:<{width}}{value}")
    return EXIT_OK


def cmd_workloads(args: argparse.Namespace) -> int:
    from gilviz.core.running.workloads import BUILTINS

    rows = [
        {
            "name": w.name,
            "size": w.size_unit,
            "default_size": w.default_size,
            "default_tasks": w.default_tasks,
            "default_workers": w.default_workers,
            "doc": w.doc,
        }
        for w in BUILTINS.values()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            print(
                f"{r['name']:<15} size: {r['size']} (default {r['default_size']:,})\n    {r['doc']}"
            )
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    from gilviz.core import report
    from gilviz.core.recording import export
    from gilviz.core.recording.reader import read_recording

    rec = read_recording(args.file)
    if args.json:
        print(json.dumps(export.document(rec), indent=2))
        return EXIT_OK
    try:
        from gilviz.tui.launch import run_replay
    except ImportError:
        run_replay = None
    if run_replay is not None and sys.stdout.isatty():
        return run_replay(args, rec)
    # As `gilviz run` and `compare` printed it: per plan, the preset, the runs, the claim.
    for n, part in enumerate(export.recorded_plans(rec)):
        if n:
            print()
        if part.preset is not None:
            narration = "\n".join(f"  {line}" for line in part.preset.narration)
            print(f"{part.preset.title}\n{narration}\n")
        for run in part.runs:
            print(report.run_text(run))
        if len(part.runs) > 1:
            print("\n" + report.compare_table(part.runs))
            for line in report.startup_lines(part.runs):
                print(line)
        for r in part.runs:
            if r["outcome"]:
                print(
                    f"{r.get('label') or r['pool']}: {report.outcome_text(r['outcome'], r['pool'])}"
                )
        if part.claim is not None:
            mark = {True: "✓", False: "✗", None: "?"}[part.claim.ok]
            print(f"\nclaim: {part.claim.text} {mark}")
    if rec.truncated:
        print("(the recording was cut short; its last line was skipped)")
    return EXIT_OK


#: The export options that apply to some formats only.
_EXPORT_ONLY = {
    "size": ("asciicast", "svg"),
    "fps": ("asciicast",),
    "speed": ("asciicast",),
    "at": ("svg",),
    "end": ("svg",),
}


def cmd_export(args: argparse.Namespace) -> int:
    from gilviz.core.recording import export
    from gilviz.core.recording.reader import read_recording

    for option, formats in _EXPORT_ONLY.items():
        if getattr(args, option) not in (None, False) and args.format not in formats:
            raise BadInput(f"--{option} applies to --format {' and '.join(formats)} only")
    rec = read_recording(args.file)
    if args.format in ("asciicast", "svg"):
        return _export_screens(args, rec)
    text = export.perfetto(rec) if args.format == "perfetto" else export.markdown(rec)
    _write_out(args.output, lambda out: out.write(text))
    return EXIT_OK


def _write_out(path: str | None, write: Callable[[Any], Any]) -> Any:
    """``write(file)`` on the output file, or on stdout; BadInput if it cannot be written."""
    if not path:
        return write(sys.stdout)
    try:
        with open(path, "w", encoding="utf-8") as out:
            return write(out)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None


def _export_screens(args: argparse.Namespace, rec: Any) -> int:
    """``--format asciicast|svg``: the recording through the screens that showed it."""
    from pathlib import Path

    from gilviz.core.running.spec import parse_float

    try:
        from gilviz.tui import export as tui_export
    except ImportError as exc:
        raise BadInput(f"--format {args.format} needs the TUI's packages: {exc}") from None
    # Every argument is checked before anything is said or written.
    note = None
    if args.size:
        size = tui_export.parse_size(args.size)
    else:
        size, note = tui_export.recorded_size(rec)
    name = Path(args.file).name
    if not rec.runs:
        raise BadInput(f"{args.file}: the recording holds no run")
    at = None
    if args.format == "svg" and args.at is not None:
        at = tui_export.check_moment(rec, name, parse_float(args.at, "--at", 0, 10**9))
    fps = parse_float(args.fps, "--fps", 0.2, 30) if args.fps else tui_export.recorded_fps(rec)
    speed = parse_float(args.speed or 1, "--speed", 0.1, 100)
    if note:
        print(f"gilviz: {note}", file=sys.stderr)
    if args.format == "svg":
        picture = tui_export.svg(rec, name=name, size=size, at=at)
        _write_out(args.output, lambda out: out.write(picture))
        return EXIT_OK
    stats = _write_out(
        args.output,
        lambda out: tui_export.write_cast(rec, out, name=name, size=size, fps=fps, speed=speed),
    )
    if stats.stopped:
        name = signal.Signals(stats.stopped - 128).name if stats.stopped > 128 else "stopped"
        print(f"gilviz: {name}; the cast ends at {stats.duration_s:.1f} s", file=sys.stderr)
        return stats.stopped
    if args.output and sys.stderr.isatty():
        print(
            f"{args.output}: {stats.duration_s:.1f} s, {stats.frames} frames, "
            f"{stats.bytes / 1024:.0f} KiB",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:

    from gilviz.core.running.spec import parse_int

    port = parse_int(args.port, "--port", 1, 65535)
    try:
        from gilviz.tui.serve import make_server
    except ImportError:
        raise BadInput("gilviz serve needs textual-serve (pip install textual-serve)") from None
    extra = [a for a in args.app_args if a != "--"]
    _check_served_args(extra)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"gilviz: serving on {args.host}: anyone who can reach it can run work here",
            file=sys.stderr,
        )
    make_server(extra, args.host, port).serve()
    return EXIT_OK


def _check_served_args(app_args: list[str]) -> None:
    """The served app's arguments, checked once here rather than failing in every browser
    session: they must open the TUI (the dashboard, talk or replay) on a deck and preset
    that exist."""
    import shlex

    from gilviz.tui.launch import rates

    app = build_parser().parse_args(app_args)
    if app.command not in (None, "talk", "replay") or getattr(app, "json", False):
        raise BadInput(
            f"serve runs the app (the dashboard, talk or replay), not {shlex.join(app_args)!r}"
        )
    rates(app)
    if app.command == "replay":
        from gilviz.core.recording.reader import read_recording

        read_recording(app.file)
        return
    from gilviz.tui import deck as gdeck

    deck = gdeck.load(getattr(app, "deck", None))
    if getattr(app, "tui_preset", None):
        gdeck.find(deck, app.tui_preset)


def cmd_watch(args: argparse.Namespace) -> int:
    from gilviz.core.running.watch import watch_spec

    argv = list(args.cmd)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise BadInput("give the command to watch after --: gilviz watch -- python app.py")
    return _watch(args, watch_spec(argv=argv))


def cmd_attach(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from gilviz.core.running.spec import parse_float, parse_int
    from gilviz.core.running.watch import check_attachable, watch_spec

    pid = parse_int(args.pid, "PID", 1, 2**22)
    name = check_attachable(pid)
    spec = watch_spec(pid=pid, label=f"attach {name}")
    if args.duration is not None:
        duration = parse_float(args.duration, "--duration", 0.1, 7 * 24 * 3600)
        spec = replace(spec, params={**spec.params, "duration_s": duration})
    return _watch(args, spec)


def _watch(args: argparse.Namespace, spec) -> int:
    """A watched program, headless (``--json``) or on the dashboard."""
    from gilviz.core.running.spec import parse_float

    if not args.json:
        from gilviz.tui.launch import run_watch

        return run_watch(args, spec)
    from gilviz.core import report
    from gilviz.core.running.plan import PlanRun

    hz = parse_float(args.tui_hz, "--hz", 0, 1000)
    recorder = None
    if args.record:
        from gilviz.core.recording.recorder import Recorder, terminal_size

        recorder = Recorder(
            args.record,
            settings={
                "command": args.command,
                "hz": hz,
                "argv": sys.argv[1:],
                "terminal": terminal_size(),
            },
        )
    # The watched program's output goes to our stderr: stdout is the JSON's alone.
    plan = PlanRun(
        lambda url: [spec],
        server=False,
        recorder=recorder,
        sample_hz=hz,
        force_fallback=args.fallback_sampler,
        watch_output=sys.stderr.fileno(),
    )
    try:
        with plan:
            try:
                runs = plan.run_all()
            except KeyboardInterrupt:
                if spec.params.get("pid") is None:
                    raise
                # Ctrl-C is how one detaches: the target goes on, the figures are printed.
                watched = plan.run
                assert watched is not None
                watched.stop()
                plan.finish(watched)
                runs = [watched]
    finally:
        if recorder is not None:
            recorder.close()
    watched = runs[0]
    print(json.dumps(report.document([report.run_summary(watched.model)]), indent=2))
    code = getattr(watched, "returncode", None)
    if code is None:
        return EXIT_OK
    return 128 - code if code < 0 else code


def cmd_presets(args: argparse.Namespace) -> int:
    from gilviz.core.teaching import presets

    return presets.cli_presets(args)


def cmd_reference(args: argparse.Namespace) -> int:
    from gilviz.core.teaching import reference

    return reference.cli_reference(args)


def cmd_talk(args: argparse.Namespace) -> int:
    from gilviz.tui.launch import run_talk

    return run_talk(args)


def cmd_tui(args: argparse.Namespace) -> int:
    from gilviz.tui.launch import run_tui

    return run_tui(args)


def build_workload_parser() -> argparse.ArgumentParser:
    """``gilviz WORKLOAD [options] [--start]``: the dashboard set up on a workload."""
    p = _Parser(prog="gilviz WORKLOAD", description="The dashboard, set up on a workload.")
    p.add_argument("workload", help="built-in name, module:function or path/to/file.py:function")
    p.add_argument("--pool", metavar="KIND", default="thread", help="serial, thread, process, ...")
    p.add_argument("--workers", metavar="N", default="4", help="pool size")
    p.add_argument("--tasks", metavar="N", help="number of tasks (default: the workload's)")
    p.add_argument(
        "--size", metavar="N", help="each task's size (built-ins: gilviz workloads says what)"
    )
    p.add_argument("--args", metavar="LITERAL", help="your function's arguments (a literal)")
    p.add_argument("--start", action="store_true", help="start the run at once")
    _add_tui_options(p)
    return p


def _names_a_workload(word: str) -> bool:
    """A built-in workload or ``module:function`` (anything else is a command, or a typo
    of one that the command parser reports)."""
    from gilviz.core.running.workloads import BUILTINS

    return word not in COMMANDS and (word in BUILTINS or (":" in word and word[0] != "-"))


def cmd_workload_tui(args: argparse.Namespace) -> int:
    from gilviz.core.running.spec import MAX_TASKS, MAX_WORKERS, parse_int
    from gilviz.tui.launch import run_workload

    workers = parse_int(args.workers, "--workers", 1, MAX_WORKERS)
    tasks = None if args.tasks is None else parse_int(args.tasks, "--tasks", 1, MAX_TASKS)
    size = None if args.size is None else parse_int(args.size, "--size", 0, 2**62)
    from gilviz.core.running.spec import build_spec

    _check_pools([args.pool], None)
    # Everything the run will need, checked before the screen opens (exit 2 on bad input).
    build_spec(args.workload, pool=args.pool, workers=workers, tasks=tasks, size=size,
               args=args.args)  # fmt: skip
    return run_workload(
        args, args.workload, args.pool, workers, tasks, size, args.start, call_args=args.args
    )


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "compare": cmd_compare,
    "doctor": cmd_doctor,
    "workloads": cmd_workloads,
    "presets": cmd_presets,
    "reference": cmd_reference,
    "talk": cmd_talk,
    "replay": cmd_replay,
    "serve": cmd_serve,
    "watch": cmd_watch,
    "attach": cmd_attach,
    "export": cmd_export,
}


def main(argv: Sequence[str] | None = None) -> int:
    global _stopping
    _stopping = False
    old = {
        s: signal.signal(s, _raise_on_signal)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    # A file-size limit must make a recording fail with EFBIG, not kill gilviz.
    old[signal.SIGXFSZ] = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    # `kill -USR1` prints every thread's stack to stderr: what a hang report needs.
    dump_on = getattr(signal, "SIGUSR1", None)
    if dump_on is not None:
        try:
            faulthandler.register(dump_on, all_threads=True)
        except (OSError, ValueError, RuntimeError):  # stderr without a file descriptor
            dump_on = None
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        if argv and _names_a_workload(argv[0]):
            return cmd_workload_tui(build_workload_parser().parse_args(argv))
        args, extra = build_parser().parse_known_args(argv)
        if extra:
            # Named by the command they were given to, whose --help lists what it takes.
            where = f"gilviz {args.command}" if args.command else "gilviz"
            raise BadInput(f"unrecognized arguments: {' '.join(extra)}; see {where} --help")
        handler = COMMANDS.get(args.command, cmd_tui)
        return handler(args)
    except BadInput as exc:
        # One line, whatever the user typed (a path or argument may hold a newline).
        text = str(exc).replace("\r", "\\r").replace("\n", "\\n")
        print(f"gilviz: {text}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("gilviz: interrupted; runs stopped", file=sys.stderr)
        return 128 + signal.SIGINT
    except _Signalled as sig:
        print(f"gilviz: {signal.Signals(sig.signum).name}; runs stopped", file=sys.stderr)
        return 128 + sig.signum
    finally:
        from gilviz.core.running.session import stop_all

        stop_all()
        if dump_on is not None:
            faulthandler.unregister(dump_on)
        for s, h in old.items():
            # Exiting on a signal, one more on the way out is ignored: not raised in an
            # atexit handler, nor the default action once Python's teardown restores it.
            signal.signal(s, signal.SIG_IGN if _stopping and s != signal.SIGXFSZ else h)
