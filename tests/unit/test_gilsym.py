"""gilsym: ELF symbol lookup, load-base arithmetic, and the GIL range of live processes
(shared libpython and, when installed, a statically linked python)."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gilviz.core.measuring import gilsym, procfs

TESTS = Path(__file__).resolve().parent.parent
CHILD = TESTS / "integration" / "sampler_child.py"
FIXTURES = TESTS / "fixtures" / "proc"

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")


def interpreters() -> list[str]:
    """This interpreter and, if present, the distribution's python3.11 (on Debian it is
    linked statically, non-PIE: the other half of the lookup)."""
    found = [os.path.realpath(sys.executable)]
    debian = "/usr/bin/python3.11"
    if os.path.exists(debian) and os.path.realpath(debian) not in found:
        found.append(debian)
    return found


# --------------------------------------------------------------------------- synthetic ELF


def build_elf(
    path: Path,
    *,
    is64: bool,
    little: bool,
    vaddr: int,
    dynsym: list[tuple[str, int, int, int]],
    symtab: list[tuple[str, int, int, int]],
    machine: int = 62,
) -> None:
    """Write a minimal ELF: one PT_LOAD at ``vaddr``, and .dynsym/.symtab tables of
    (name, value, size, shndx) with their string tables."""
    en = "<" if little else ">"
    ehsize, phentsize, shentsize = (64, 56, 64) if is64 else (52, 32, 40)
    body = bytearray()
    sections = [(0, 0, 0, 0, 0)]  # (type, offset, size, link, entsize): the null section
    data_start = ehsize + phentsize

    def add_table(sh_type: int, syms: list[tuple[str, int, int, int]]) -> None:
        strtab = b"\0" + b"".join(n.encode() + b"\0" for n, *_ in syms)
        str_index = len(sections)
        sections.append((3, data_start + len(body), len(strtab), 0, 0))
        body.extend(strtab)
        entsize = 24 if is64 else 16
        blob = bytearray(entsize)  # symbol 0 is the null symbol
        name_off = 1
        for name, value, size, shndx in syms:
            if is64:
                blob += struct.pack(en + "IBBHQQ", name_off, 0x11, 0, shndx, value, size)
            else:
                blob += struct.pack(en + "IIIBBH", name_off, value, size, 0x11, 0, shndx)
            name_off += len(name) + 1
        sections.append((sh_type, data_start + len(body), len(blob), str_index, entsize))
        body.extend(blob)

    if dynsym:
        add_table(11, dynsym)
    if symtab:
        add_table(2, symtab)
    shoff = data_start + len(body)
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 1 if little else 2, 1]) + bytes(9)
    word = "Q" if is64 else "I"
    header = ident + struct.pack(
        en + f"HHI{word}{word}{word}IHHHHHH",
        3, machine, 1, 0, ehsize, shoff, 0, ehsize, phentsize, 1, shentsize, len(sections), 0,
    )  # fmt: skip
    if is64:
        ph = struct.pack(en + "IIQQQQQQ", 1, 5, 0, vaddr, vaddr, 0x1000, 0x1000, 0x1000)
    else:
        ph = struct.pack(en + "IIIIIIII", 1, 0, vaddr, vaddr, 0x1000, 0x1000, 5, 0x1000)
    shdrs = b""
    for sh_type, off, size, link, entsize in sections:
        if is64:
            shdrs += struct.pack(
                en + "IIQQQQIIQQ", 0, sh_type, 0, 0, off, size, link, 0, 8, entsize
            )
        else:
            shdrs += struct.pack(
                en + "IIIIIIIIII", 0, sh_type, 0, 0, off, size, link, 0, 4, entsize
            )
    path.write_bytes(header + ph + bytes(body) + shdrs)


@pytest.mark.parametrize(("is64", "little"), [(True, True), (False, True), (True, False)])
def test_find_symbol_prefers_defined_dynsym(tmp_path, is64, little):
    f = tmp_path / "lib.so"
    build_elf(
        f,
        is64=is64,
        little=little,
        vaddr=0,
        dynsym=[("x_PyRuntime", 0x10, 4, 1), ("_PyRuntime", 0x4000, 0x200, 7)],
        symtab=[("_PyRuntime", 0x9999, 1, 7)],
    )
    sym = gilsym.find_symbol(str(f))
    assert sym is not None
    assert (sym.value, sym.size, sym.table) == (0x4000, 0x200, ".dynsym")
    assert sym.machine == "x86_64"


def test_find_symbol_skips_undefined_and_falls_back_to_symtab(tmp_path):
    f = tmp_path / "python"
    build_elf(
        f,
        is64=True,
        little=True,
        vaddr=0x400000,
        dynsym=[("_PyRuntime", 0, 0, 0)],  # an import (SHN_UNDEF), as in a shared build's exe
        symtab=[("_PyRuntime", 0x5000, 0x100, 9)],
        machine=183,
    )
    sym = gilsym.find_symbol(str(f))
    assert sym is not None
    assert (sym.value, sym.table, sym.min_load_vaddr, sym.machine) == (
        0x5000,
        ".symtab",
        0x400000,
        "aarch64",
    )
    assert gilsym.elf_machine_name(str(f)) == "aarch64"


def test_find_symbol_absent_and_not_elf(tmp_path):
    f = tmp_path / "lib.so"
    build_elf(f, is64=True, little=True, vaddr=0, dynsym=[("other", 1, 1, 1)], symtab=[])
    assert gilsym.find_symbol(str(f)) is None
    g = tmp_path / "text"
    g.write_text("hello")
    with pytest.raises(ValueError):
        gilsym.find_symbol(str(g))


# --------------------------------------------------------------------------- maps arithmetic


def test_load_base_from_recorded_maps():
    case = json.loads((FIXTURES / "crunch.json").read_text())
    g = case["gil"]
    entries = gilsym.parse_maps(case["maps"])
    base = gilsym.load_base(entries, g["source_path"], g["min_load_vaddr"])
    assert base is not None
    assert base + g["symbol_value"] == g["start"]
    assert g["end"] - g["start"] == g["symbol_size"]


def test_load_base_non_pie_and_deleted():
    maps = (
        "00400000-0041f000 r--p 00000000 fe:00 1234 /usr/bin/python3.11\n"
        "0041f000-006d2000 r-xp 0001f000 fe:00 1234 /usr/bin/python3.11\n"
        "7f0000000000-7f0000100000 r--p 00000000 fe:00 99 /opt/lib/libpython3.12.so.1.0 (deleted)\n"
        "7f0000200000-7f0000201000 rw-p 00000000 00:00 0 \n"
    )
    entries = gilsym.parse_maps(maps)
    assert entries[-1].path == ""
    assert gilsym.load_base(entries, "/usr/bin/python3.11", 0x400000) == 0  # non-PIE
    assert gilsym.load_base(entries, "/opt/lib/libpython3.12.so.1.0", 0) == 0x7F0000000000
    assert gilsym.load_base(entries, "/nope", 0) is None
    assert gilsym._candidate_paths(entries, "/usr/bin/python3.11") == [
        "/opt/lib/libpython3.12.so.1.0",
        "/usr/bin/python3.11",
    ]


# --------------------------------------------------------------------------- live processes


@linux_only
def test_locate_gil_in_this_process_matches_ctypes():
    loc = gilsym.locate_gil(os.getpid())
    addr = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
    assert loc.start == addr
    assert loc.end > loc.start
    assert loc.machine == procfs.host_machine()
    assert gilsym.gil_range(os.getpid()) == (loc.start, loc.end)


@linux_only
@pytest.mark.parametrize("python", interpreters())
def test_locate_gil_in_a_child_matches_its_own_view(python):
    code = (
        "import ctypes, sys;"
        "print(ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, '_PyRuntime')),"
        " flush=True); sys.stdin.read()"
    )
    proc = subprocess.Popen(
        [python, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        own = int(proc.stdout.readline())
        loc = gilsym.locate_gil(proc.pid)
        assert loc.start == own
        assert "_PyRuntime" in loc.method
    finally:
        proc.stdin.close()
        proc.wait(10)


@linux_only
@pytest.mark.parametrize("python", interpreters())
def test_gil_range_contains_the_futex_of_a_thread_waiting_for_the_gil(python):
    proc = subprocess.Popen(
        [python, str(CHILD), "crunch:3"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    files: list[procfs.ThreadFiles] = []
    try:
        words = proc.stdout.readline().split()
        pid = int(words[1])
        tids = [int(w.split(":")[1]) for w in words[2:]]
        lo, hi = gilsym.gil_range(pid)
        files = [procfs.ThreadFiles(pid, t) for t in tids]
        futex = procfs.syscall_numbers()["futex"]
        seen: list[int] = []
        deadline = time.monotonic() + 20
        while len(seen) < 5 and time.monotonic() < deadline:
            for tf in files:
                r = tf.read()
                if r is not None and r.syscall_nr == futex:
                    seen.append(r.syscall_arg0)
            time.sleep(0.003)
        assert len(seen) >= 5, "no crunch thread was ever seen in a futex"
        # 3 pure-Python threads, 2 cores: every futex they block in is the GIL's.
        assert all(lo <= a < hi for a in seen), [hex(a) for a in seen]
    finally:
        for tf in files:
            tf.close()
        proc.stdin.close()
        proc.wait(10)


@linux_only
def test_locate_gil_says_why_for_non_python_and_gone_processes():
    cat = shutil.which("cat")
    assert cat
    proc = subprocess.Popen([cat], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        with pytest.raises(gilsym.GilNotFound, match="_PyRuntime not found"):
            gilsym.locate_gil(proc.pid)
        assert gilsym.gil_range(proc.pid) is None
    finally:
        proc.stdin.close()
        proc.wait(10)
    with pytest.raises(gilsym.GilNotFound, match="gone"):
        gilsym.locate_gil(proc.pid)  # reaped: its /proc entry is gone


# --------------------------------------------------------------------------- holder offsets


@linux_only
@pytest.mark.parametrize("python", interpreters())
def test_calibrate_gil_holder_finds_the_holder_fields(python):
    size = gilsym.locate_gil(os.getpid()).end - gilsym.locate_gil(os.getpid()).start
    off = gilsym.calibrate_gil_holder(python, size)
    # The main GIL's last_holder and its locked flag just after it, inside _PyRuntime
    assert 0 <= off.holder < off.locked < size
    assert off.holder % 8 == 0 and off.locked - off.holder <= 32
    assert off.native_tid is not None and off.native_tid % 8 == 0
    # Check against this process when it is the same interpreter: the current thread state
    # records this thread's native id at the calibrated offset, the holder field names it,
    # and the GIL reads as locked (we hold it while ctypes reads).
    if python == os.path.realpath(sys.executable):
        assert off.python == sys.version
        api = ctypes.pythonapi
        api.PyThreadState_Get.restype = ctypes.c_void_p
        ts = api.PyThreadState_Get()
        native = ctypes.c_ulong.from_address(ts + off.native_tid).value
        assert native == threading.get_native_id()
        rt = ctypes.addressof(ctypes.c_char.in_dll(api, "_PyRuntime"))
        assert ctypes.c_void_p.from_address(rt + off.holder).value == ts
        assert ctypes.c_int.from_address(rt + off.locked).value == 1

        def words(addr, offsets):
            return [ctypes.c_uint64.from_address(addr + o).value for o in offsets]

        state = gilsym.read_gil_state(words, rt, off)
        assert state is not None and state.holders == {threading.get_native_id()}
        assert state.sub_gils == ()  # no subinterpreter here


def test_read_gil_state_walks_the_interpreter_list():
    # A made-up memory: _PyRuntime at 0x1000 with the main interpreter inside it at
    # 0x1100, and two subinterpreters at 0x9000 (holding its GIL) and 0xA000 (free).
    off = gilsym.GilHolderOffsets(
        holder=0x140, locked=0x148, native_tid=0x10, interp_head=0x20, interp_next=0x8,
        interp_gil=0x40, main_interp=0x100,
    )  # fmt: skip
    mem = {
        0x1000 + 0x140: 0x5000, 0x1000 + 0x148: 1,  # main GIL: held by tstate 0x5000
        0x5000 + 0x10: 111,
        0x1000 + 0x20: 0x9000,  # list head: newest first
        0x9000 + 0x8: 0xA000, 0x9000 + 0x40: 0x6000, 0x9000 + 0x48: 1,
        0x6000 + 0x10: 222,
        0xA000 + 0x8: 0x1100, 0xA000 + 0x40: 0x7000, 0xA000 + 0x48: 0,
        0x7000 + 0x10: 333,
        0x1100 + 0x8: 0,  # the main interpreter ends the list
    }  # fmt: skip

    def words(addr, offsets):
        return [mem.get(addr + o, 0) for o in offsets]

    state = gilsym.read_gil_state(words, 0x1000, off)
    assert state.holders == {111, 222}  # 0xA000's GIL is not locked: 333 is a stale holder
    b = gilsym.GIL_STRUCT_BOUND
    assert state.sub_gils == ((0x9038, 0x9038 + b), (0xA038, 0xA038 + b))

    def unreadable(addr, offsets):
        return [None for _ in offsets]

    assert gilsym.read_gil_state(unreadable, 0x1000, off) is None


def test_calibrate_gil_holder_reports_why_it_cannot(tmp_path):
    fake = tmp_path / "fakepython"
    fake.write_text(
        '#!/bin/sh\necho \'{"error": "holder offsets need CPython 3.10 or newer, not 3.9"}\'\n'
    )
    fake.chmod(0o755)
    with pytest.raises(gilsym.GilNotFound, match="3.9"):
        gilsym.calibrate_gil_holder(str(fake), 1000)
    junk = tmp_path / "junkpython"
    junk.write_text("#!/bin/sh\necho nonsense >&2\nexit 3\n")
    junk.chmod(0o755)
    with pytest.raises(gilsym.GilNotFound, match="calibration failed"):
        gilsym.calibrate_gil_holder(str(junk), 1000)


def fake_proc(tmp_path: Path, pid: int, lib: Path, start: int) -> Path:
    """A /proc-like tree for ``pid`` that maps ``lib`` at ``start`` (offset 0)."""
    root = tmp_path / "proc"
    d = root / str(pid)
    d.mkdir(parents=True)
    (d / "maps").write_text(
        f"{start:x}-{start + 0x1000:x} r--p 00000000 fe:00 42 {lib}\n"
        f"{start + 0x1000:x}-{start + 0x3000:x} r-xp 00001000 fe:00 42 {lib}\n"
    )
    os.symlink("/nonexistent/app", d / "exe")
    return root


def test_locate_gil_in_a_fake_process(tmp_path):
    lib = tmp_path / "libpython3.12.so.1.0"
    build_elf(
        lib, is64=True, little=True, vaddr=0, dynsym=[("_PyRuntime", 0x4000, 0x80, 7)], symtab=[]
    )
    root = fake_proc(tmp_path, 999999, lib, 0x7F0000000000)
    loc = gilsym.locate_gil(999999, proc_root=str(root))
    assert (loc.start, loc.end) == (0x7F0000004000, 0x7F0000004080)
    assert loc.source_path == str(lib)


def test_free_threaded_build_has_no_gil(tmp_path):
    lib = tmp_path / "libpython3.13t.so.1.0"
    build_elf(
        lib, is64=True, little=True, vaddr=0, dynsym=[("_PyRuntime", 0x4000, 0x80, 7)], symtab=[]
    )
    root = fake_proc(tmp_path, 999998, lib, 0x7F0000000000)
    with pytest.raises(gilsym.GilNotFound, match="free-threaded"):
        gilsym.locate_gil(999998, proc_root=str(root))


def test_a_file_of_this_process_is_opened_by_its_own_path():
    # Through /proc/PID/root the path goes away with the process; the same file seen from
    # here does not.
    exe = os.path.realpath(sys.executable)
    assert gilsym._file_in_target(os.getpid(), exe) == exe


@linux_only
def test_a_calibration_that_died_is_tried_again(tmp_path):
    # The first start fails (as a target's interpreter path can vanish mid-run); the reason
    # is said but not kept, so the next calibration of the same interpreter succeeds.
    mark = tmp_path / "failed-once"
    python = tmp_path / "python"
    python.write_text(
        f'#!/bin/sh\nif [ ! -e {mark} ]; then touch {mark}; echo "died" >&2; exit 1; fi\n'
        f'exec {os.path.realpath(sys.executable)} "$@"\n'
    )
    python.chmod(0o755)
    size = gilsym.locate_gil(os.getpid()).end - gilsym.locate_gil(os.getpid()).start
    with pytest.raises(gilsym.GilNotFound, match="died"):
        gilsym.calibrate_gil_holder(str(python), size)
    assert gilsym.calibrate_gil_holder(str(python), size).holder >= 0
