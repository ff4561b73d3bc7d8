"""Cheap readers of Linux ``/proc`` for one thread, and what its lines mean.

Role in the flow (runner -> **sampler** -> model -> views): the sampler calls
:class:`ThreadFiles.poll` for every worker thread at every tick, from the gilviz process,
so the measured process pays nothing, and parses what it read (:meth:`ThreadFiles.parse`)
in batches. This module only reads and parses; turning two
readings into state shares is :mod:`gilviz.core.measuring.sampler`'s job.

Per thread it reads three files of ``/proc/PID/task/TID/``:

- ``stat``: state letter (R, S, D, ...), utime+stime, and ``processor`` (field 39);
- ``schedstat``: nanoseconds on a CPU and nanoseconds waiting in a runqueue, cumulative;
- ``syscall``: the syscall the thread is blocked in and its first arguments (for a futex,
  the first argument is the address waited on: that is how the GIL is told from other locks).

The files are opened once and re-read with ``os.pread(fd, n, 0)``: about 2.5x cheaper than
reopening. ``syscall`` is read only when the thread is blocked (S or D): for a running
thread it says "running" anyway. After a thread exits, reads fail with ESRCH or an open
``stat`` may return the *leader's* line (seen on Linux 6.x): the pid in the line is
checked, and any mismatch means "gone".

It also reads per-CPU busy time from ``/proc/stat`` restricted to the CPUs this process may
use (``os.sched_getaffinity``), and maps syscall numbers to names for x86_64 and aarch64.
"""

from __future__ import annotations

import contextlib
import os
import platform
from dataclasses import dataclass
from time import monotonic_ns
from typing import NamedTuple

__all__ = [
    "BLOCKED_LETTERS",
    "CpuTimes",
    "SYSCALL_NAMES",
    "StatFields",
    "SyscallInfo",
    "ThreadFiles",
    "ThreadReading",
    "RawThread",
    "parse_reading",
    "classify_blocked",
    "host_machine",
    "parse_proc_stat",
    "parse_schedstat",
    "parse_stat",
    "parse_syscall",
    "syscall_name",
    "syscall_numbers",
    "usable_cpus",
    "ProcStatReader",
]

#: Kernel state letters of a thread that is blocked, not on a CPU or a runqueue.
#: S: interruptible sleep, D: uninterruptible (disk I/O, page faults, some locks).
BLOCKED_LETTERS = frozenset("SD")

# Letters of a thread that no longer runs: zombie, dead (x/X). Treated as gone.
_GONE_LETTERS = frozenset("ZXx")
_BLOCKED_BYTES = frozenset(b"SD")
_new_raw = tuple.__new__  # RawThread from a tuple, without the keyword-checking __new__

# --------------------------------------------------------------------------- syscall tables

# Numbers from the kernel's uapi headers (asm/unistd_64.h for x86_64, asm-generic/unistd.h
# for aarch64, which has no poll/select/epoll_wait/pause/open: libc uses the p* variants).
_X86_64 = {
    "read": 0, "write": 1, "open": 2, "close": 3, "poll": 7, "mmap": 9, "munmap": 11,
    "ioctl": 16, "pread64": 17, "pwrite64": 18, "readv": 19, "writev": 20, "select": 23,
    "sched_yield": 24, "msync": 26, "pause": 34, "nanosleep": 35, "sendfile": 40,
    "connect": 42, "accept": 43, "sendto": 44, "recvfrom": 45, "sendmsg": 46, "recvmsg": 47,
    "shutdown": 48, "wait4": 61, "semop": 65, "msgsnd": 69, "msgrcv": 70, "fcntl": 72,
    "flock": 73, "fsync": 74, "fdatasync": 75, "rt_sigtimedwait": 128, "rt_sigsuspend": 130,
    "sync": 162, "futex": 202, "io_getevents": 208, "semtimedop": 220,
    "clock_nanosleep": 230, "epoll_wait": 232, "mq_timedsend": 242, "mq_timedreceive": 243,
    "waitid": 247, "openat": 257, "pselect6": 270, "ppoll": 271, "splice": 275, "tee": 276,
    "sync_file_range": 277, "vmsplice": 278, "epoll_pwait": 281, "accept4": 288,
    "preadv": 295, "pwritev": 296, "recvmmsg": 299, "syncfs": 306, "sendmmsg": 307,
    "getrandom": 318, "copy_file_range": 326, "preadv2": 327, "pwritev2": 328,
    "io_pgetevents": 333, "io_uring_enter": 426, "epoll_pwait2": 441, "futex_waitv": 449,
}  # fmt: skip
_AARCH64 = {
    "io_getevents": 4, "epoll_pwait": 22, "fcntl": 25, "ioctl": 29, "flock": 32,
    "openat": 56, "close": 57, "read": 63, "write": 64, "readv": 65, "writev": 66,
    "pread64": 67, "pwrite64": 68, "preadv": 69, "pwritev": 70, "sendfile": 71,
    "pselect6": 72, "ppoll": 73, "vmsplice": 75, "splice": 76, "tee": 77, "sync": 81,
    "fsync": 82, "fdatasync": 83, "sync_file_range": 84, "waitid": 95, "futex": 98,
    "nanosleep": 101, "clock_nanosleep": 115, "sched_yield": 124, "rt_sigsuspend": 133,
    "rt_sigtimedwait": 137, "mq_timedsend": 182, "mq_timedreceive": 183, "msgrcv": 188,
    "msgsnd": 189, "semtimedop": 192, "semop": 193, "accept": 202, "connect": 203,
    "sendto": 206, "recvfrom": 207, "shutdown": 210, "sendmsg": 211, "recvmsg": 212,
    "munmap": 215, "mmap": 222, "msync": 227, "accept4": 242, "recvmmsg": 243,
    "wait4": 260, "syncfs": 267, "sendmmsg": 269, "getrandom": 278,
    "copy_file_range": 285, "preadv2": 286, "pwritev2": 287, "io_pgetevents": 292,
    "io_uring_enter": 426, "epoll_pwait2": 441, "futex_waitv": 449,
}  # fmt: skip

#: number -> name, per machine (as named by ``platform.machine()`` / the ELF header).
SYSCALL_NAMES: dict[str, dict[int, str]] = {
    "x86_64": {v: k for k, v in _X86_64.items()},
    "aarch64": {v: k for k, v in _AARCH64.items()},
}
_ALIASES = {"amd64": "x86_64", "arm64": "aarch64"}

# What a blocked thread waits for, by syscall. Sleeps count as I/O wait: the thread gave
# the GIL up to wait for something outside the interpreter.
_IO_SYSCALLS = frozenset(
    {
        "read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev",
        "preadv2", "pwritev2", "recvfrom", "recvmsg", "recvmmsg", "sendto", "sendmsg",
        "sendmmsg", "sendfile", "splice", "tee", "vmsplice", "copy_file_range", "poll",
        "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "epoll_pwait2",
        "nanosleep", "clock_nanosleep", "accept", "accept4", "connect", "shutdown", "open",
        "openat", "close", "fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "msync",
        "ioctl", "io_getevents", "io_pgetevents", "io_uring_enter", "getrandom", "mmap",
        "munmap",
    }
)  # fmt: skip
# Waiting for another thread or process to do something: a lock, a semaphore, a child's
# exit, a signal. A futex lands here unless its address is the GIL's.
_SYNC_SYSCALLS = frozenset(
    {
        "futex", "futex_waitv", "semop", "semtimedop", "msgrcv", "msgsnd", "mq_timedreceive",
        "mq_timedsend", "flock", "fcntl", "wait4", "waitid", "pause", "rt_sigsuspend",
        "rt_sigtimedwait",
    }
)  # fmt: skip


def host_machine() -> str:
    """This machine's architecture name as used by :data:`SYSCALL_NAMES`."""
    m = platform.machine().lower()
    return _ALIASES.get(m, m)


def syscall_name(nr: int, machine: str | None = None) -> str | None:
    """Name of syscall ``nr`` on ``machine`` (default: this host), None if not in the table."""
    table = SYSCALL_NAMES.get(_ALIASES.get(machine, machine) if machine else host_machine())
    return table.get(nr) if table else None


def syscall_numbers(machine: str | None = None) -> dict[str, int]:
    """name -> number for ``machine`` (default: this host); empty for unknown machines."""
    table = SYSCALL_NAMES.get(_ALIASES.get(machine, machine) if machine else host_machine())
    return {v: k for k, v in table.items()} if table else {}


def classify_blocked(
    name: str | None,
    arg0: int | None,
    gil: tuple[int, int] | None,
    letter: str = "S",
    more_gils: tuple[tuple[int, int], ...] = (),
) -> str:
    """The wait state of a blocked thread: "gil_wait", "io_wait" or "lock_wait".

    - a futex whose address lies in the GIL's range (or in ``more_gils``: the GILs of
      subinterpreters, each its own from 3.12) is a GIL wait; any other futex (a
      ``threading.Lock``, a queue's condition, a C extension's own mutex) is a lock wait;
    - read/recv/poll/select/epoll/accept/connect/sleep and friends are I/O waits;
    - semaphores, file locks, waiting for a child or a signal are lock waits;
    - anything else (not in the table, or not in a syscall: ``-1`` in the file, e.g. a page
      fault) is counted as I/O wait when the thread is in D (uninterruptible: the kernel is
      doing I/O for it) and as lock wait otherwise (it waits for *something* that is neither
      the GIL nor a recognised I/O call).
    """
    if name == "futex":
        if gil is not None and arg0 is not None:
            if gil[0] <= arg0 < gil[1]:
                return "gil_wait"
            for lo, hi in more_gils:
                if lo <= arg0 < hi:
                    return "gil_wait"
        return "lock_wait"
    if name in _IO_SYSCALLS:
        return "io_wait"
    if name in _SYNC_SYSCALLS:
        return "lock_wait"
    return "io_wait" if letter == "D" else "lock_wait"


# --------------------------------------------------------------------------- parsers


@dataclass(frozen=True, slots=True)
class StatFields:
    """What gilviz uses of ``/proc/PID/task/TID/stat``."""

    tid: int
    letter: str
    cpu_ticks: int  # utime + stime, in clock ticks (USER_HZ)
    processor: int


def parse_stat(text: str | bytes) -> StatFields:
    """Parse a stat line. The command name is in parentheses and may contain spaces or
    parentheses itself, so fields are counted from the *last* ')'."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    lp = text.index(" (")
    rp = text.rindex(")")
    rest = text[rp + 2 :].split()
    # rest[0] is field 3 (state): field n is rest[n - 3].
    return StatFields(
        tid=int(text[:lp]),
        letter=rest[0],
        cpu_ticks=int(rest[11]) + int(rest[12]),  # fields 14, 15
        processor=int(rest[36]),  # field 39
    )


def parse_schedstat(text: str | bytes) -> tuple[int, int]:
    """``(run_ns, runqueue_wait_ns)``: cumulative time on a CPU and waiting for one."""
    parts = text.split()
    return int(parts[0]), int(parts[1])


@dataclass(frozen=True, slots=True)
class SyscallInfo:
    """What ``/proc/PID/task/TID/syscall`` said."""

    nr: int | None  # None when "running"; -1 when blocked outside a syscall
    args: tuple[int, ...]  # the syscall's arguments (up to 6)


def parse_syscall(text: str | bytes) -> SyscallInfo:
    """Parse ``nr arg1 .. arg6 sp pc`` / ``-1 sp pc`` / ``running``."""
    parts = text.split()
    if not parts or parts[0] in ("running", b"running"):
        return SyscallInfo(None, ())
    nr = int(parts[0])
    if nr < 0:
        return SyscallInfo(-1, ())
    return SyscallInfo(nr, tuple(int(p, 16) for p in parts[1:7]))


# --------------------------------------------------------------------------- per thread


@dataclass(slots=True)  # not frozen: one per thread per tick, and frozen init is 6x slower
class ThreadReading:
    """One reading of a thread's files at ``t_ns`` (monotonic clock)."""

    t_ns: int
    run_ns: int
    wait_ns: int
    letter: str
    cpu_ticks: int
    processor: int
    syscall_nr: int | None  # None unless read (the thread was S/D) and in a syscall
    syscall_arg0: int | None

    @property
    def blocked(self) -> bool:
        return self.letter in BLOCKED_LETTERS


class RawThread(NamedTuple):
    """The text of a thread's files at one instant, as read (``syscall`` None if not read).
    A tuple: the sampler makes one per thread read whole, at every tick (a frozen
    dataclass costs twenty times as much to make)."""

    tid: int
    t_ns: int
    stat: bytes
    schedstat: bytes
    syscall: bytes | None


def parse_reading(raw: RawThread) -> ThreadReading | None:
    """Parse a :class:`RawThread`; None when it does not describe a live ``raw.tid``.

    What :func:`parse_stat`, :func:`parse_schedstat` and :func:`parse_syscall` give, read
    straight from the bytes without their records (half the cost, on the sampler's path:
    a test holds the two equal on recorded files)."""
    stat = raw.stat
    if not stat or not raw.schedstat:
        return None
    if not isinstance(stat, bytes):
        stat = stat.encode("ascii", "replace")
    try:
        rp = stat.rindex(b")")
        # Fields from the state letter (field 3) on; the tail after ``processor`` is unused.
        rest = stat[rp + 2 :].split(None, 37)
        letter = rest[0].decode("ascii", "replace")
        tid = int(stat[: stat.index(b" (")])
        cpu_ticks = int(rest[11]) + int(rest[12])  # fields 14, 15: utime + stime
        processor = int(rest[36])  # field 39
        sched = raw.schedstat.split(None, 2)
        run_ns, wait_ns = int(sched[0]), int(sched[1])
    except (ValueError, IndexError):
        return None
    if tid != raw.tid or letter in _GONE_LETTERS:
        return None  # the leader's line after this thread exited, or a zombie
    nr = arg0 = None
    if letter in BLOCKED_LETTERS and raw.syscall is not None:
        # "nr arg1 .. arg6 sp pc", "-1 sp pc" (blocked outside a syscall) or "running"
        parts = raw.syscall.split(None, 2)
        try:
            if parts and parts[0] != b"running":
                nr = int(parts[0])
                if nr < 0:
                    nr = -1
                elif len(parts) > 1:
                    arg0 = int(parts[1], 16)
        except ValueError:
            nr = arg0 = None
    return ThreadReading(raw.t_ns, run_ns, wait_ns, letter, cpu_ticks, processor, nr, arg0)


class ThreadFiles:
    """The open ``stat``/``schedstat``/``syscall`` files of one thread.

    Not thread-safe: one sampler thread owns it. Call :meth:`close` when done (the sampler
    closes files of threads that vanish or are no longer targets).
    """

    __slots__ = (
        "pid", "tid", "_stat", "_sched", "_syscall", "_syscall_ok", "last", "_sched_text",
        "_blocked", "unchanged",
    )  # fmt: skip

    def __init__(self, pid: int, tid: int, proc_root: str = "/proc") -> None:
        self.pid = pid
        self.tid = tid
        base = f"{proc_root}/{pid}/task/{tid}/"
        flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
        self._stat = os.open(base + "stat", flags)
        try:
            self._sched = os.open(base + "schedstat", flags)
        except OSError:
            os.close(self._stat)
            raise
        # syscall needs ptrace permission over the target; without it the thread is still
        # sampled (running/runnable exact) and its blocked time counted as lock wait.
        try:
            self._syscall: int | None = os.open(base + "syscall", flags)
        except OSError:
            self._syscall = None
        self._syscall_ok = self._syscall is not None
        #: The last parsed reading (see parse()); the sampler may move its t_ns forward.
        self.last: ThreadReading | None = None
        self._sched_text = b""  # schedstat at the last full poll (see poll())
        self._blocked = False  # the thread was blocked (S or D) at that poll
        #: The last read() found the thread still blocked where it was (only the clock moved).
        self.unchanged = False

    @property
    def syscall_readable(self) -> bool:
        return self._syscall_ok

    def read_raw(self, t_ns: int | None = None) -> RawThread | None:
        """The files' text now (``syscall`` only when the thread is blocked), or None when
        the thread is gone. Kept apart from parsing so fixtures can record exactly this.
        Also notes what :meth:`poll`'s shortcut compares with next time."""
        self._blocked = False  # until this read succeeds
        try:
            # schedstat first and right after the clock: run/wait deltas are divided by
            # the clock delta, so these two must be as close together as possible.
            t = monotonic_ns() if t_ns is None else t_ns
            sched = os.pread(self._sched, 128, 0)
        except OSError:
            return None
        return self._read_rest(t, sched)

    def _read_rest(self, t: int, sched: bytes) -> RawThread | None:
        """:meth:`read_raw` after its clock and schedstat reads."""
        try:
            stat = os.pread(self._stat, 1024, 0)
        except OSError:
            self._blocked = False
            return None
        syscall = None
        rp = stat.rfind(b")")
        # the state letter, as a byte: S or D
        blocked = 0 <= rp < len(stat) - 2 and stat[rp + 2] in _BLOCKED_BYTES
        if blocked and self._syscall is not None:
            try:
                syscall = os.pread(self._syscall, 256, 0)
            except PermissionError:
                self._syscall_ok = False
            except OSError:
                self._blocked = False
                return None  # ESRCH: exited between the reads
        self._sched_text, self._blocked = sched, blocked
        return _new_raw(RawThread, (self.tid, t, stat, sched, syscall))

    def poll(self, t_ns: int | None = None) -> RawThread | int | None:
        """The reading half of :meth:`read`: the files' text now, or only the time (an int)
        when the thread is still blocked where the last poll found it; None when it is gone.

        Shortcut: when schedstat (run time, runqueue time, and the count of timeslices,
        which moves whenever the thread gets a CPU, even for less than a scheduler tick) is
        what it was at the last poll and the thread was blocked then, it has not been on a
        CPU since, so it is still blocked in the same wait: its stat/syscall need not be
        read again. (Reading a blocked thread's three files costs ~11 µs; schedstat alone
        ~0.5 µs. A thread that exits makes the schedstat read fail, so exits are still
        seen.) When schedstat moved, the clock and schedstat just read start the full
        reading: they are the pair :meth:`read_raw` would read next."""
        if not self._blocked:
            return self.read_raw(t_ns)
        try:
            t = monotonic_ns() if t_ns is None else t_ns
            sched = os.pread(self._sched, 128, 0)
        except OSError:
            self._blocked = False
            return None
        if sched == self._sched_text:
            return t
        return self._read_rest(t, sched)

    def parse(self, polled: RawThread | int) -> ThreadReading | None:
        """The parsing half of :meth:`read`, for what :meth:`poll` returned (in poll order:
        an unchanged poll repeats the last parsed reading at its new time). The sampler
        polls at every tick and parses in batches, when its code is hot in the caches."""
        last = self.last
        if isinstance(polled, int):
            if last is None:  # its last full reading did not parse: nothing to repeat
                return None
            # Positional, not dataclasses.replace(): this is the sampler's commonest path,
            # and replace() costs four times as much.
            reading = ThreadReading(polled, last.run_ns, last.wait_ns, last.letter,
                                    last.cpu_ticks, last.processor, last.syscall_nr,
                                    last.syscall_arg0)  # fmt: skip
            self.last = reading
            self.unchanged = True
            return reading
        self.unchanged = False
        self.last = parse_reading(polled)
        return self.last

    def read(self, t_ns: int | None = None) -> ThreadReading | None:
        """Read and parse the thread now (:meth:`poll`, then :meth:`parse`); None when it
        is gone (exited, zombie, or the stat file answers for another thread)."""
        polled = self.poll(t_ns)
        if polled is None:
            self.last = None
            return None
        return self.parse(polled)

    def close(self) -> None:
        """Close the files, once: a second call (``__del__`` after the sampler's) must not
        close the same numbers again, which by then may belong to files opened since."""
        fds = (self._stat, self._sched, self._syscall)
        self._stat = self._sched = -1  # a read now fails (EBADF): the thread reads as gone
        self._syscall = None
        for fd in fds:
            if fd is not None and fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def __del__(self) -> None:  # a safety net only; the sampler closes explicitly
        with contextlib.suppress(Exception):
            self.close()


# --------------------------------------------------------------------------- per CPU


def usable_cpus() -> list[int]:
    """CPUs this process may run on (affinity mask), sorted."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """Cumulative busy and total time of one CPU, in clock ticks (USER_HZ)."""

    busy: int
    total: int


def parse_proc_stat(text: str | bytes, cpus: set[int] | None = None) -> dict[int, CpuTimes]:
    """The ``cpuN`` lines of ``/proc/stat`` (not the aggregate ``cpu`` line).

    busy = user + nice + system + irq + softirq + steal; idle time is idle + iowait.
    guest and guest_nice are already included in user/nice, so they are not added again.
    """
    if isinstance(text, bytes):
        # The cpu lines come first; the intr line after them can be tens of KiB.
        cut = text.find(b"\nintr")
        text = (text[:cut] if cut >= 0 else text).decode("ascii", "replace")
    out: dict[int, CpuTimes] = {}
    for line in text.splitlines():
        if not line.startswith("cpu"):
            if out:
                break  # cpu lines come first; skip the long intr/softirq lines
            continue
        name, *vals = line.split()
        if name == "cpu":
            continue
        n = int(name[3:])
        if cpus is not None and n not in cpus:
            continue
        v = [int(x) for x in vals[:8]] + [0] * max(0, 8 - len(vals))
        user, nice, system, idle, iowait, irq, softirq, steal = v[:8]
        busy = user + nice + system + irq + softirq + steal
        out[n] = CpuTimes(busy=busy, total=busy + idle + iowait)
    return out


class ProcStatReader:
    """Keeps ``/proc/stat`` open and returns per-CPU times of usable CPUs."""

    def __init__(self, path: str = "/proc/stat", cpus: list[int] | None = None) -> None:
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self.cpus = set(cpus if cpus is not None else usable_cpus())

    def read(self) -> dict[int, CpuTimes]:
        return parse_proc_stat(self.read_raw(), self.cpus)

    def read_raw(self) -> bytes:
        # The file is generated whole on each read; 64 KiB covers machines with many CPUs.
        return os.pread(self._fd, 1 << 16, 0)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)
