"""procfs: parsing /proc lines, syscall tables, classification, and replaying recorded
readings of real threads (tests/fixtures/proc/*.json, made by capture.py) into states."""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from gilviz.core.measuring import procfs
from gilviz.core.measuring.sampler import (
    blocked_cause,
    dominant_state,
    shares_from_readings,
    still_blocked_shares,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "proc"
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")


def load_case(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def replay(case: dict) -> dict[int, dict[str, float]]:
    """Feed a recorded case through the same functions the sampler uses; return the
    time-weighted shares per thread id."""
    gil = (case["gil"]["start"], case["gil"]["end"])
    machine = case["machine"]
    prev: dict[int, procfs.ThreadReading] = {}
    last: dict[int, str] = {}
    acc: dict[int, dict[str, float]] = {}
    for row in case["snapshots"]:
        for th in row:
            raw = procfs.RawThread(
                tid=th["tid"],
                t_ns=th["t_ns"],
                stat=th["stat"].encode(),
                schedstat=th["schedstat"].encode(),
                syscall=th["syscall"].encode() if th["syscall"] is not None else None,
            )
            cur = procfs.parse_reading(raw)
            assert cur is not None
            cause, _ = blocked_cause(cur, gil, machine)
            if cause:
                last[th["tid"]] = cause
            p, prev[th["tid"]] = prev.get(th["tid"]), cur
            if p is None:
                continue
            shares = shares_from_readings(p, cur, cause or last.get(th["tid"], "lock_wait"))
            assert shares is not None
            assert sum(shares.values()) == pytest.approx(1.0)
            assert all(v >= 0 for v in shares.values())
            a = acc.setdefault(th["tid"], {"dt": 0.0})
            dt = cur.t_ns - p.t_ns
            a["dt"] += dt
            for k, v in shares.items():
                a[k] = a.get(k, 0.0) + v * dt
    return {tid: {k: v / a["dt"] for k, v in a.items() if k != "dt"} for tid, a in acc.items()}


# --------------------------------------------------------------------------- parsers


def test_parse_stat_fields_counted_from_last_paren():
    # A thread name may contain spaces and parentheses: fields are counted after the last ')'.
    rest = " ".join(str(i) for i in range(4, 53))  # fields 4..52 hold their own number
    line = f"1234 (we) ird (name) R {rest}\n"
    f = procfs.parse_stat(line)
    assert f.tid == 1234
    assert f.letter == "R"
    assert f.cpu_ticks == 14 + 15
    assert f.processor == 39


def test_parse_stat_of_recorded_lines():
    case = load_case("crunch")
    th = case["snapshots"][0][0]
    f = procfs.parse_stat(th["stat"])
    assert f.tid == th["tid"]
    assert f.letter in "RS"
    assert f.processor >= 0


def test_parse_schedstat():
    assert procfs.parse_schedstat(b"253844 2596808 6\n") == (253844, 2596808)


def test_parse_syscall_variants():
    assert procfs.parse_syscall("running\n") == procfs.SyscallInfo(None, ())
    assert procfs.parse_syscall(b"-1 0x7ffd 0x7f00\n") == procfs.SyscallInfo(-1, ())
    info = procfs.parse_syscall(
        "202 0x7f5d20f4e6f0 0x89 0x0 0x7f5d1fefdae0 0x0 0xffffffff 0x7f5d1fefd9b0 0x7f5d208a3f16"
    )
    assert info.nr == 202
    assert info.args[0] == 0x7F5D20F4E6F0
    assert len(info.args) == 6  # sp and pc are not arguments


def test_parse_reading_rejects_other_thread_and_zombies():
    line = "4411 (python) S " + " ".join(["0"] * 49)
    raw = procfs.RawThread(4411, 1, line.encode(), b"1 2 3", None)
    assert procfs.parse_reading(raw) is not None
    # After a thread exits its open stat file may answer with the leader's line.
    assert procfs.parse_reading(procfs.RawThread(4412, 1, line.encode(), b"1 2 3", None)) is None
    zombie = line.replace(" S ", " Z ").encode()
    assert procfs.parse_reading(procfs.RawThread(4411, 1, zombie, b"1 2 3", None)) is None
    assert procfs.parse_reading(procfs.RawThread(4411, 1, b"", b"", None)) is None


def test_parse_proc_stat_restricts_to_cpus():
    text = (
        "cpu  300 0 100 1000 10 0 5 0 0 0\n"
        "cpu0 100 0 50 500 5 0 2 0 0 0\n"
        "cpu1 200 0 50 500 5 0 3 0 7 0\n"
        "intr 12345 1 2 3\n"
        "cpu9 1 1 1 1 1 1 1 1 1 1\n"  # not a cpu line block: ignored
    )
    out = procfs.parse_proc_stat(text, {1})
    assert set(out) == {1}
    # busy = user + nice + system + irq + softirq + steal; guest is inside user already
    assert out[1] == procfs.CpuTimes(busy=200 + 50 + 3, total=200 + 50 + 3 + 500 + 5)
    assert set(procfs.parse_proc_stat(text)) == {0, 1}


# --------------------------------------------------------------------------- tables


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_syscall_tables_name_the_waits_we_classify(machine):
    nums = procfs.syscall_numbers(machine)
    for name in (
        "futex", "futex_waitv", "read", "write", "pread64", "readv", "recvfrom", "recvmsg",
        "ppoll", "pselect6", "epoll_pwait", "nanosleep", "clock_nanosleep", "accept",
        "accept4", "connect", "wait4", "waitid", "sendto",
    ):  # fmt: skip
        assert name in nums, name
        assert procfs.syscall_name(nums[name], machine) == name


def test_syscall_numbers_known_values():
    assert procfs.syscall_numbers("x86_64")["futex"] == 202
    assert procfs.syscall_numbers("x86_64")["clock_nanosleep"] == 230
    assert procfs.syscall_numbers("aarch64")["futex"] == 98
    assert procfs.syscall_numbers("arm64")["read"] == 63  # alias
    assert "poll" not in procfs.syscall_numbers("aarch64")  # only ppoll there
    assert procfs.syscall_numbers("sparc") == {}
    assert procfs.syscall_name(202, "mips") is None


def test_classify_blocked():
    gil = (0x1000, 0x2000)
    assert procfs.classify_blocked("futex", 0x1168, gil) == "gil_wait"
    assert procfs.classify_blocked("futex", 0x2000, gil) == "lock_wait"  # end is exclusive
    assert procfs.classify_blocked("futex", 0x1168, None) == "lock_wait"  # GIL unknown
    assert procfs.classify_blocked("futex_waitv", 0x1168, gil) == "lock_wait"
    for io in ("read", "recvfrom", "ppoll", "epoll_wait", "clock_nanosleep", "accept4"):
        assert procfs.classify_blocked(io, 0, gil) == "io_wait"
    for sync in ("wait4", "waitid", "semop", "flock"):
        assert procfs.classify_blocked(sync, 0, gil) == "lock_wait"
    assert procfs.classify_blocked(None, None, gil, "D") == "io_wait"
    assert procfs.classify_blocked("syscall_999", None, gil, "S") == "lock_wait"


# --------------------------------------------------------------------------- recorded cases


def test_recorded_crunch_threads_wait_for_the_gil():
    case = load_case("crunch")
    gil = (case["gil"]["start"], case["gil"]["end"])
    futex_nr = procfs.syscall_numbers(case["machine"])["futex"]
    blocked = [
        procfs.parse_reading(
            procfs.RawThread(
                th["tid"], th["t_ns"], th["stat"].encode(), th["schedstat"].encode(),
                th["syscall"].encode(),
            )
        )
        for row in case["snapshots"]
        for th in row
        if th["syscall"] is not None
    ]  # fmt: skip
    assert blocked, "the recording holds no blocked crunch thread"
    for r in blocked:
        assert r.syscall_nr == futex_nr
        assert gil[0] <= r.syscall_arg0 < gil[1]
    shares = replay(case)
    for s in shares.values():
        assert s["gil_wait"] > 0.2
        assert s["io_wait"] == 0.0


def test_recorded_sleep_threads_are_io_wait():
    for s in replay(load_case("sleep")).values():
        assert dominant_state(s) == "io_wait"
        assert s["gil_wait"] < 0.05


def test_recorded_lock_contention_is_lock_wait_not_gil():
    shares = replay(load_case("lock"))
    total_lock = sum(s["lock_wait"] for s in shares.values())
    total_gil = sum(s["gil_wait"] for s in shares.values())
    assert total_lock > total_gil
    assert total_lock > 0.5  # 3 threads, one holder at a time


def test_recorded_idle_pool_threads_wait_on_their_queue_not_the_gil():
    for s in replay(load_case("idle")).values():
        assert dominant_state(s) == "lock_wait"
        assert s["gil_wait"] == 0.0


def test_recorded_hashlib_threads_barely_wait_for_the_gil():
    hashing = replay(load_case("hashlib"))
    crunch = replay(load_case("crunch"))
    assert max(s["gil_wait"] for s in hashing.values()) < min(
        s["gil_wait"] for s in crunch.values()
    )
    for s in hashing.values():
        assert s["running"] + s["runnable"] > 0.5


# --------------------------------------------------------------------------- live files


@linux_only
def test_thread_files_read_a_blocked_thread_and_notice_its_exit():
    release = threading.Event()
    box: list[int] = []

    def body() -> None:
        box.append(threading.get_native_id())
        release.wait()

    t = threading.Thread(target=body, daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while not box and time.monotonic() < deadline:
        time.sleep(0.001)
    tf = procfs.ThreadFiles(os.getpid(), box[0])
    try:
        # Wait (with a deadline) until the thread sits in its futex.
        reading = None
        while time.monotonic() < deadline:
            reading = tf.read()
            if reading is not None and reading.blocked and reading.syscall_nr is not None:
                break
            time.sleep(0.005)
        assert reading is not None and reading.blocked
        assert procfs.syscall_name(reading.syscall_nr) == "futex"
        release.set()
        t.join(10)
        while time.monotonic() < deadline and tf.read() is not None:
            time.sleep(0.005)
        assert tf.read() is None  # exited: ESRCH, or the leader's line, never stale data
    finally:
        release.set()
        tf.close()


@linux_only
def test_proc_stat_reader_gives_usable_cpus():
    r = procfs.ProcStatReader()
    try:
        times = r.read()
    finally:
        r.close()
    assert set(times) == set(procfs.usable_cpus())
    assert all(c.total >= c.busy >= 0 for c in times.values())


def test_blocked_thread_shortcut_still_sees_the_thread_run_again():
    import os
    import threading
    import time

    from gilviz.core.measuring import procfs as pf

    # The thread parks in read(2) on a pipe: a wait told apart from a moment's wait for the
    # GIL (a futex) on its way there, so the reading below is of the settled wait.
    rfd, wfd = os.pipe()
    again = threading.Event()
    tid_box: list[int] = []

    def body():
        tid_box.append(threading.get_native_id())
        os.read(rfd, 1)
        sum(i * i for i in range(200_000))  # runs, then blocks in a new wait
        again.wait()

    t = threading.Thread(target=body, daemon=True)
    t.start()
    deadline_s = time.monotonic() + 30
    while not tid_box:
        assert time.monotonic() < deadline_s, "the thread never started"
        time.sleep(0.001)
    files = pf.ThreadFiles(os.getpid(), tid_box[0])
    first = files.read()
    read_nr = pf.syscall_numbers()["read"]
    while not (first.letter == "S" and first.syscall_nr == read_nr):
        assert time.monotonic() < deadline_s, f"the thread never parked in read: {first}"
        time.sleep(0.001)
        first = files.read()
    second = files.read()  # nothing ran: the shortcut answers, with a newer clock
    assert (second.run_ns, second.syscall_nr, second.letter) == (
        first.run_ns, first.syscall_nr, first.letter,
    )  # fmt: skip
    assert second.t_ns >= first.t_ns
    os.write(wfd, b"x")
    while not files.read().run_ns > first.run_ns:  # it ran: the files are read again
        assert time.monotonic() < deadline_s, "the thread's run was never seen"
    again.set()
    t.join(10)
    files.close()
    os.close(rfd)
    os.close(wfd)


@pytest.mark.parametrize("cause", ["gil_wait", "io_wait", "lock_wait"])
def test_the_still_blocked_short_path_gives_what_the_general_path_gives(cause):
    prev = procfs.ThreadReading(1_000_000, 5_000, 700, "S", 3, 1, 202, 0x10)
    cur = procfs.ThreadReading(21_000_000, 5_000, 700, "S", 3, 1, 202, 0x10)
    general = shares_from_readings(prev, cur, cause)
    assert still_blocked_shares(cause) == general
    assert dominant_state(general) == cause


def test_a_blocked_thread_whose_counters_did_not_move_is_read_by_schedstat_alone():
    done = threading.Event()
    t = threading.Thread(target=done.wait)
    t.start()
    try:
        files = procfs.ThreadFiles(os.getpid(), t.native_id)
        deadline = time.monotonic() + 10
        first = files.read()
        while not first.blocked or files.unchanged:  # until it has reached its wait
            assert time.monotonic() < deadline, "the thread never blocked"
            time.sleep(0.01)
            first = files.read()
        second = files.read()
        assert files.unchanged and second.t_ns > first.t_ns
        assert (second.run_ns, second.letter, second.syscall_nr) == (
            first.run_ns,
            first.letter,
            first.syscall_nr,
        )
        # read() in two steps, two polls before any parse (as the sampler's batches do):
        # still blocked, so only the time is taken; parsed in order, each repeats the
        # reading at its own time.
        p1, p2 = files.poll(), files.poll()
        assert isinstance(p1, int) and isinstance(p2, int) and second.t_ns < p1 <= p2
        r1, r2 = files.parse(p1), files.parse(p2)
        assert (r1.t_ns, r2.t_ns) == (p1, p2) and files.unchanged
        assert (r2.run_ns, r2.letter, r2.syscall_nr) == (
            first.run_ns, first.letter, first.syscall_nr,
        )  # fmt: skip
        files.close()
    finally:
        done.set()
        t.join()
    gone = procfs.ThreadFiles.__new__(procfs.ThreadFiles)  # a thread that never parsed:
    gone.last, gone.unchanged = None, False  # an unchanged poll has nothing to repeat
    assert gone.parse(123) is None


def test_thread_sample_fields_are_in_the_order_the_sampler_passes_them():
    # ProcSampler.tick() builds ThreadSample positionally (its hot path).
    from dataclasses import fields

    from gilviz.core.measuring.samples import ThreadSample

    assert [f.name for f in fields(ThreadSample)] == [
        "wid", "t_ns", "dt_ns", "shares", "state", "cpu_ns", "processor", "letter",
        "syscall", "gil_holder", "excess_run_ns", "excess_wait_ns",
    ]  # fmt: skip


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")
def test_closing_thread_files_twice_never_closes_someone_elses_descriptors():
    # close() and then __del__ (when the object goes) used to close the same numbers
    # twice: by then the kernel may have handed them to new files, which went dead.
    tid = threading.get_native_id()
    old = procfs.ThreadFiles(os.getpid(), tid)
    old.close()
    new = procfs.ThreadFiles(os.getpid(), tid)  # reuses the lowest free numbers: old's
    old.close()
    del old
    gc.collect()
    assert new.read() is not None
    new.close()
    assert new.read() is None  # closed: reads as gone, no exception


# --------------------------------------------------------------------------- the fast path


def reference_reading(raw: procfs.RawThread) -> procfs.ThreadReading | None:
    """parse_reading as the field parsers spell it out (what the sampler's path must give)."""
    if not raw.stat or not raw.schedstat:
        return None
    try:
        fields = procfs.parse_stat(raw.stat)
        run_ns, wait_ns = procfs.parse_schedstat(raw.schedstat)
    except (ValueError, IndexError):
        return None
    if fields.tid != raw.tid or fields.letter in "ZXx":
        return None
    nr = arg0 = None
    if fields.letter in procfs.BLOCKED_LETTERS and raw.syscall is not None:
        try:
            info = procfs.parse_syscall(raw.syscall)
        except ValueError:
            info = procfs.SyscallInfo(None, ())
        nr, arg0 = info.nr, (info.args[0] if info.args else None)
    return procfs.ThreadReading(
        raw.t_ns, run_ns, wait_ns, fields.letter, fields.cpu_ticks, fields.processor, nr, arg0
    )


def test_parse_reading_gives_what_the_field_parsers_give():
    raws = []
    for name in ("crunch", "hashlib", "idle", "lock", "sleep"):
        for row in load_case(name)["snapshots"]:
            for th in row:
                sc = th["syscall"].encode() if th["syscall"] is not None else None
                raws.append(
                    procfs.RawThread(
                        th["tid"], th["t_ns"], th["stat"].encode(), th["schedstat"].encode(), sc
                    )  # fmt: skip
                )
    line = "4411 (a (b) c) S " + " ".join(str(i) for i in range(49))
    for sc in (b"running\n", b"-1 0x7ffd 0x7f00\n", b"202 0x10\n", b"202 zz 0x0\n", b"", None):
        for letter in "SDRZ":
            raws.append(procfs.RawThread(4411, 5, line.replace(" S ", f" {letter} ").encode(),
                                         b"10 20 3\n", sc))  # fmt: skip
    raws += [procfs.RawThread(4411, 5, b"4411 (x) S 1 2", b"1 2 3", None),
             procfs.RawThread(4411, 5, line.encode(), b"x y", None)]  # fmt: skip
    assert len(raws) > 100
    for raw in raws:
        assert procfs.parse_reading(raw) == reference_reading(raw), raw


def fake_thread(root: Path, pid: int, tid: int, letter: str, sched: str) -> Path:
    d = root / str(pid) / "task" / str(tid)
    d.mkdir(parents=True, exist_ok=True)
    fields = " ".join(["0"] * 36 + ["1"] + ["0"] * 12)  # processor (field 39) is 1
    (d / "stat").write_text(f"{tid} (w) {letter} {fields}\n")
    (d / "schedstat").write_text(sched)
    (d / "syscall").write_text("202 0x1000 0x80 0x0 0x0 0x0 0x0 0x7ffd 0x7f00\n")
    return d


def test_a_blocked_thread_that_ran_is_read_from_the_schedstat_its_shortcut_read(
    tmp_path, monkeypatch
):
    d = fake_thread(tmp_path, 10, 11, "S", "100 5 1\n")
    files = procfs.ThreadFiles(10, 11, str(tmp_path))
    reads: list[int] = []
    real = os.pread

    def pread(fd, n, off):
        reads.append(fd)
        return real(fd, n, off)

    monkeypatch.setattr(procfs.os, "pread", pread)
    try:
        first = files.poll(1)
        assert isinstance(first, procfs.RawThread)
        assert files.poll(2) == 2  # schedstat unchanged: still blocked, one read
        (d / "schedstat").write_text("300 9 2\n")  # it ran meanwhile
        reads.clear()
        raw = files.poll(3)
        assert isinstance(raw, procfs.RawThread)
        assert (raw.t_ns, raw.schedstat) == (3, b"300 9 2\n")
        assert raw.syscall is not None
        # schedstat once (the shortcut's read starts the full reading), stat, syscall
        assert len(reads) == 3 and len(set(reads)) == 3
        assert files.parse(raw).run_ns == 300
    finally:
        files.close()
