"""The protocol between gilviz and its runner, defined once: every message, the run's status,
the kinds of failure, and the constants both sides share.

    gilviz ──spec (JSON line), then control lines: Stop, Switch──> runner
      ^                                                              │
      └── batches (JSON lines): Hello, WorkerSeen, TaskStart, ... End ┘
    process-pool worker ──ProcHello, ProcStart, Beats (a queue, pickled)──> runner

On the wire a message stays a compact list, its tag first (``["t", wid, last, t0, t1, ok,
failed]``), so the runner's hot path costs what it did; :func:`encode` and :func:`decode`
are the only places that turn one into the other, and every reader (the model, the
session, the runner's forwarder, the recording reader) decodes through them. ``Hello`` and
``End`` travel as objects (``["end", {...}]``), being read by name and extended over time.

Standard library only, and Python 3.10 syntax: the runner imports this module under every
interpreter ``--python`` may name.
"""

from __future__ import annotations

import enum
from typing import Any, NamedTuple

#: The states a worker can be in, in the order views draw them.
STATES: tuple[str, ...] = ("running", "gil_wait", "io_wait", "lock_wait", "runnable", "idle")

#: How every screen and sentence names each state.
STATE_WORDS: dict[str, str] = {
    "running": "running",
    "gil_wait": "GIL wait",
    "io_wait": "I/O wait",
    "lock_wait": "lock wait",
    "runnable": "waiting for a core",
    "idle": "idle",
}

#: One letter per state (and "?" for a sample that cannot be split): stored timelines and
#: the --ascii look.
STATE_LETTER: dict[str, str] = {
    "running": "R",
    "gil_wait": "G",
    "io_wait": "I",
    "lock_wait": "L",
    "runnable": "q",
    "idle": ".",
    "n/a": "?",
}

#: Pool kinds, and how prose names the workers of each.
POOLS: tuple[str, ...] = ("serial", "thread", "process", "interpreter", "free-threaded")
POOL_NAMES: dict[str, str] = {
    "serial": "serial",
    "thread": "threads",
    "process": "processes",
    "interpreter": "interpreters",
    "free-threaded": "free-threaded threads",
}
#: The "pool" of a program gilviz watches or attaches to instead of running it.
WATCH_POOL = "watch"

#: Pools whose workers are threads of the runner itself.
LOCAL_POOLS: tuple[str, ...] = ("serial", "thread", "free-threaded")

#: Gaps between one worker's tasks shorter than this are one busy stretch: the runner sends
#: such tasks as one Stretch, and the model merges task intervals the same way.
MERGE_GAP_NS = 100_000

#: After a Stop, how long the runner gives running tasks before it kills its workers.
RUNNER_STOP_GRACE_S = 1.0
#: How long gilviz waits for a runner to end after a Stop (or after its last message)
#: before it kills it: the runner's grace, and as long again for its wrap-up.
STOP_TIMEOUT_S = 2 * RUNNER_STOP_GRACE_S


class _Text(str, enum.Enum):  # noqa: UP042 - StrEnum is 3.11+, the runner runs on 3.10
    # Prints as its value everywhere (f-strings, JSON), on every Python version.
    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class RunStatus(_Text):
    STARTING = "starting"
    RUNNING = "running"
    DONE = "done"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def ended(self) -> bool:
        return self in (RunStatus.DONE, RunStatus.STOPPED, RunStatus.FAILED)


class Failure(_Text):
    """Why a run did not finish its tasks. Decisions are made on the kind, never on the
    error text, which is for people."""

    STOPPED = "stopped"  # a stop was asked for and tasks were left
    STOP_OVERRAN = "stop_overran"  # tasks did not stop within the grace: workers killed
    KILLED = "killed"  # gilviz killed the runner after a stop it did not answer in time
    TASK_RAISED = "task_raised"  # a task raised an exception
    POOL_BROKEN = "pool_broken"  # a process-pool worker died (segfault, kill)
    UNAVAILABLE = "unavailable"  # this Python cannot run the pool
    NOT_SHAREABLE = "not_shareable"  # the pool refused the task's argument: it cannot be copied
    RUNNER_ERROR = "runner_error"  # the runner itself raised
    RUNNER_DIED = "runner_died"  # the runner ended without its End message
    END_LOST = "end_lost"  # gilviz could not read the runner's end (in time, or at all)
    REFUSED = "refused"  # bad input: the workload could not be resolved

    @property
    def is_stop(self) -> bool:
        """A stop the user asked for, not a failure of the work."""
        return self in (Failure.STOPPED, Failure.STOP_OVERRAN, Failure.KILLED)

    @classmethod
    def of(cls, value: Any) -> Failure | None:
        try:
            return cls(value) if value is not None else None
        except ValueError:  # a newer runner's kind: a failure all the same
            return cls.RUNNER_ERROR


# --- runner -> gilviz ----------------------------------------------------------------------


def python_facts() -> dict[str, Any]:
    """The running interpreter as every figure names it: version, implementation, whether
    the GIL is on, and its build (compiler; whether libpython is mapped as a shared library,
    read from /proc/self/maps; free-threaded, debug). The runner's Hello carries it."""
    import platform
    import sys
    import sysconfig

    gil = getattr(sys, "_is_gil_enabled", None)
    shared = bool(sysconfig.get_config_var("Py_ENABLE_SHARED"))
    try:
        with open("/proc/self/maps") as maps:
            shared = "/libpython" in maps.read()
    except OSError:
        pass
    build = [platform.python_compiler(), "shared libpython" if shared else "static libpython"]
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        build.append("free-threaded")
    if "d" in getattr(sys, "abiflags", ""):
        build.append("debug")
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "gil_enabled": True if gil is None else bool(gil()),
        "build": ", ".join(build),
    }


def python_label(python: dict[str, Any] | None) -> str:
    """e.g. "CPython 3.14.10 (GCC 16.2.0, static libpython)", or "Python ?" unknown."""
    if not python:
        return "Python ?"
    text = f"{python.get('implementation', 'Python')} {python.get('version', '?')}"
    return text + (f" ({python['build']})" if python.get("build") else "")


def python_short(python: dict[str, Any] | None) -> str:
    """The interpreter in a few words for a screen's header: version, and whether it runs
    with a GIL ("CPython 3.14.10 · GIL", "CPython 3.14.0 · free-threaded"); "Python ?"
    unknown."""
    if not python:
        return "Python ?"
    head = f"{python.get('implementation', 'Python')} {python.get('version', '?')}"
    if python.get("gil_enabled") is False:
        return f"{head} · free-threaded"
    if "free-threaded" in (python.get("build") or ""):
        return f"{head} · free-threaded build, GIL on"
    return f"{head} · GIL"


class Hello(NamedTuple):
    """The runner is up: its pid and the interpreter it runs on."""

    pid: int
    executable: str
    python: dict  # version, implementation, gil_enabled

    TAG = "hello"


class Refused(NamedTuple):
    """The workload could not be resolved; gilviz reports it as bad input (exit 2)."""

    message: str

    TAG = "bad_input"


class WorkerSeen(NamedTuple):
    """A worker thread seen for the first time (sent at once: the sampler starts on it)."""

    wid: int
    pid: int
    tid: int
    name: str | None = None  # the thread's name where it can be read (watched programs)

    TAG = "worker"


class ProcessSeen(NamedTuple):
    """A process of a watched program, seen for the first time, with its command line."""

    pid: int
    command: str | None

    TAG = "proc"


class TaskStart(NamedTuple):
    """A task started (monotonic ns); best effort for process pools."""

    wid: int
    task: int
    t0_ns: int

    TAG = "s"


class TaskEnd(NamedTuple):
    """A task ended, with the CPU time it used (process and interpreter pools)."""

    wid: int
    task: int
    t0_ns: int
    t1_ns: int
    cpu_ns: int
    ok: bool

    TAG = "e"


class Stretch(NamedTuple):
    """Back-to-back tasks of a local worker (serial, thread pools): one busy stretch, the
    gaps between them shorter than MERGE_GAP_NS."""

    wid: int
    last_task: int
    t0_ns: int
    t1_ns: int
    n_ok: int
    n_failed: int

    TAG = "t"


class WorkerCpu(NamedTuple):
    """A local worker thread's CPU clock, absolute since its first task."""

    wid: int
    cpu_ns: int

    TAG = "cpu"


class Beats(NamedTuple):
    """A batch of heartbeat lateness values (µs) from one process."""

    pid: int
    lateness_us: list

    TAG = "hb"


class WorkerRss(NamedTuple):
    """Peak resident memory of a worker's process."""

    wid: int
    rss_bytes: int | None

    TAG = "rss"


class Output(NamedTuple):
    """The last lines the run's code printed (stdout and stderr, from the runner's log):
    added by gilviz when the run ends, so a recording keeps them."""

    lines: list

    TAG = "out"


class End(NamedTuple):
    """The run is over: the last message the runner sends."""

    wall_s: float | None
    tasks_done: int
    error: str | None = None  # for people; ``failure`` is what code decides on
    failure: Failure | None = None
    pickle: dict | None = None  # process and interpreter pools: bytes and seconds
    outcome: dict | None = None  # what the workload's summary found (lost updates, ...)
    #: The runner's window: submissions in flight at most ("bound"), the most there were
    #: ("peak"), tasks per submission ("chunk"). None from runners that submitted all at once.
    in_flight: dict | None = None
    startup: dict | None = None  # process and interpreter pools: start-up apart from work

    TAG = "end"


Message = (
    Hello
    | Refused
    | WorkerSeen
    | ProcessSeen
    | TaskStart
    | TaskEnd
    | Stretch
    | WorkerCpu
    | Beats
    | WorkerRss
    | Output
    | End
)

_BY_TAG: dict[str, type] = {
    cls.TAG: cls
    for cls in (
        Hello, Refused, WorkerSeen, ProcessSeen, TaskStart, TaskEnd, Stretch, WorkerCpu, Beats,
        WorkerRss, Output, End,
    )
}  # fmt: skip
_AS_OBJECT = (Hello, End)


def encode(msg: Message) -> list:
    """A message as it goes on the wire (and into recordings)."""
    if isinstance(msg, _AS_OBJECT):
        body = msg._asdict()
        if isinstance(msg, End) and msg.failure is not None:
            body["failure"] = msg.failure.value
        return [msg.TAG, body]
    return [msg.TAG, *msg]


def decode(raw: Any) -> Message | None:
    """The message a wire list stands for; None for anything this gilviz does not know (a
    newer runner's message, a damaged line), which readers skip."""
    try:
        cls = _BY_TAG.get(raw[0])
    except (TypeError, IndexError, KeyError):
        return None
    if cls is None:
        return None
    try:
        if cls is Hello:
            body = raw[1]
            return Hello(body.get("pid"), body.get("executable"), body.get("python") or {})
        if cls is End:
            body = raw[1]
            return End(
                body.get("wall_s"),
                body.get("tasks_done", 0),
                body.get("error"),
                Failure.of(body.get("failure")),
                body.get("pickle"),
                body.get("outcome"),
                body.get("in_flight"),
                body.get("startup"),
            )
        return cls(*raw[1:])
    except (TypeError, AttributeError, IndexError):
        return None


# --- process-pool worker -> runner (a multiprocessing queue) --------------------------------


class ProcHello(NamedTuple):
    """A worker process is up (before any task: an idle worker is sampled too)."""

    pid: int
    tid: int

    TAG = "w"


class ProcStart(NamedTuple):
    """A worker process started a task (sent at most every PROCESS_START_EVERY_NS)."""

    pid: int
    tid: int
    task: int
    t0_ns: int

    TAG = "s"


#: What a worker process puts on the runner's queue (pickled whole: it arrives typed).
WorkerMessage = ProcHello | ProcStart | Beats


# --- gilviz -> runner control lines ---------------------------------------------------------


class Stop(NamedTuple):
    """Cancel what has not started; give running tasks RUNNER_STOP_GRACE_S."""

    TAG = "stop"


class Switch(NamedTuple):
    """``sys.setswitchinterval`` in the runner, now."""

    interval_s: float

    TAG = "switch"


Control = Stop | Switch


def encode_control(cmd: Control) -> str:
    return " ".join([cmd.TAG, *(repr(v) for v in cmd)])


def decode_control(line: str) -> Control | None:
    words = line.split()
    if words == ["stop"]:
        return Stop()
    if len(words) == 2 and words[0] == Switch.TAG:
        try:
            return Switch(float(words[1]))
        except ValueError:
            return None
    return None
