"""Where the GIL lives in another process: the address range of CPython's ``_PyRuntime``.

Role in the flow (runner -> **sampler** -> model -> views): the sampler sees a worker thread
blocked in ``futex(uaddr, ...)`` and must decide whether ``uaddr`` is the GIL or some other
lock. Every GIL wait of CPython 3.11 (and the main interpreter's GIL in 3.12+) is a futex
inside the ``_PyRuntime`` object, so this module answers one question per measured process:
"what is ``[&_PyRuntime, &_PyRuntime + sizeof)`` in that process?". It needs no struct
offsets: only the ELF symbol table of the file that defines ``_PyRuntime`` (libpython when
CPython is built shared, the python executable when it is linked statically) and the load
address of that file, read from ``/proc/PID/maps``.

The ELF reader is deliberately small: pure ``struct``, 32/64-bit, either endianness, reads
the section headers, then ``.dynsym`` (exported symbols, present even in stripped files)
and falls back to ``.symtab``. Results are cached by (device, inode, size, mtime) of the
file, so a process pool of N workers parses libpython once.

Public API::

    locate_gil(pid) -> GilLocation          # raises GilNotFound(reason)
    gil_range(pid) -> tuple[int, int] | None
    find_symbol(path, name) -> ElfSymbol | None
    calibrate_gil_holder(executable, runtime_size) -> GilHolderOffsets   # optional extra
    read_gil_state(words, runtime, offsets) -> GilState                  # who holds each GIL

The optional extra, *who holds the GIL*, does need struct offsets (where the holder's
thread state is recorded, and where a thread state keeps its kernel thread id). They are
never guessed: :func:`calibrate_gil_holder` measures them by running a short script under
the target's own interpreter, which scans its own ``_PyRuntime`` for its current thread
state while it holds the GIL and again while it has let go of it (see the function's
docstring). The GIL structure records its last holder and whether it is locked on every
version from 3.10 to 3.15, so that is what is read; 3.10's thread states lack the kernel
thread id, so there the holder stays unknown. From 3.12 each interpreter may have its own
GIL inside its own state, outside ``_PyRuntime``: the calibration also measures where the
list of interpreters is, so a reader finds every GIL (:func:`read_gil_state`).
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import threading
from dataclasses import dataclass

__all__ = [
    "ElfSymbol",
    "GilHolderOffsets",
    "GilLocation",
    "GilState",
    "read_gil_state",
    "calibrate_gil_holder",
    "GilNotFound",
    "MapEntry",
    "find_symbol",
    "gil_range",
    "load_base",
    "locate_gil",
    "parse_maps",
    "elf_machine_name",
    "exe_in_root",
]

#: The symbol whose extent contains the GIL (3.11: ``_PyRuntime.ceval.gil``; 3.12+: the
#: main interpreter, which is embedded in ``_PyRuntime``, holds its ``_gil``).
RUNTIME_SYMBOL = "_PyRuntime"

# A libpython file name: libpython3.11.so.1.0, libpython3.13t.so, libpython3.12d.so ...
_LIBPYTHON_RE = re.compile(r"/libpython\d+\.\d+[a-z]*\.so(\.[0-9.]+)?$")
# A free-threaded build's file (python3.13t, libpython3.14t.so): ABI flag "t" in the name.
_FREE_THREADED_RE = re.compile(r"python\d+\.\d+[a-z]*t[a-z]*(\.so[0-9.]*)?$")

_PT_LOAD = 1
_SHT_SYMTAB = 2
_SHT_DYNSYM = 11
_SHN_UNDEF = 0
_STT_OBJECT = 1

# e_machine values we name (the sampler picks its syscall table from this).
_MACHINES = {3: "i386", 40: "arm", 62: "x86_64", 183: "aarch64", 243: "riscv64"}


class GilNotFound(LookupError):
    """The GIL's address range could not be found; ``str(err)`` says why, in one line."""


@dataclass(frozen=True, slots=True)
class MapEntry:
    """One line of ``/proc/PID/maps``."""

    start: int
    end: int
    perms: str
    offset: int
    inode: int
    path: str


@dataclass(frozen=True, slots=True)
class ElfSymbol:
    """A defined symbol of an ELF file, with what is needed to relocate it."""

    name: str
    value: int  # st_value: link-time virtual address
    size: int  # st_size in bytes
    table: str  # ".dynsym" or ".symtab"
    min_load_vaddr: int  # lowest PT_LOAD p_vaddr, page-aligned down
    machine: str  # "x86_64", "aarch64", ... or "elf-machine-<n>"


@dataclass(frozen=True, slots=True)
class GilLocation:
    """The GIL's range ``[start, end)`` in process ``pid`` and how it was found."""

    pid: int
    start: int
    end: int
    source_path: str  # the file that defines _PyRuntime (libpython or the executable)
    method: str  # e.g. "_PyRuntime from .dynsym of libpython3.11.so.1.0"
    machine: str  # ELF machine of that file: picks the syscall-number table

    def contains(self, addr: int) -> bool:
        return self.start <= addr < self.end


# --------------------------------------------------------------------------- /proc/PID/maps


def parse_maps(text: str) -> list[MapEntry]:
    """Parse the text of ``/proc/PID/maps`` (anonymous mappings get path "")."""
    entries: list[MapEntry] = []
    for line in text.splitlines():
        # address perms offset dev inode [path]; the path may contain spaces.
        parts = line.split(None, 5)
        if len(parts) < 5:
            continue
        lo, _, hi = parts[0].partition("-")
        path = parts[5] if len(parts) == 6 else ""
        entries.append(
            MapEntry(
                start=int(lo, 16),
                end=int(hi, 16),
                perms=parts[1],
                offset=int(parts[2], 16),
                inode=int(parts[4]),
                path=path,
            )
        )
    return entries


def _strip_deleted(path: str) -> str:
    return path[: -len(" (deleted)")] if path.endswith(" (deleted)") else path


def load_base(entries: list[MapEntry], path: str, min_load_vaddr: int) -> int | None:
    """Load bias of ``path`` in a process: where its file offset 0 is mapped, minus the
    link-time address of its first PT_LOAD segment.

    For a shared library or PIE the first segment is linked at 0, so the bias is simply the
    start of the offset-0 mapping; for a non-PIE executable (linked at 0x400000 and mapped
    there) the bias is 0. Returns None when the file has no offset-0 mapping.
    """
    for e in entries:
        if e.offset == 0 and _strip_deleted(e.path) == path:
            return e.start - min_load_vaddr
    return None


def _candidate_paths(entries: list[MapEntry], exe: str | None) -> list[str]:
    """Files that may define _PyRuntime, most likely first: any libpython, then the exe."""
    seen: list[str] = []
    for e in entries:
        p = _strip_deleted(e.path)
        if p and _LIBPYTHON_RE.search(p) and p not in seen:
            seen.append(p)
    if exe and exe not in seen:
        seen.append(exe)
    return seen


# --------------------------------------------------------------------------- ELF


@dataclass(frozen=True, slots=True)
class _ElfLayout:
    little: bool
    is64: bool


def _read_at(f, offset: int, size: int) -> bytes:
    f.seek(offset)
    data = f.read(size)
    if len(data) != size:
        raise ValueError("truncated ELF file")
    return data


def _parse_symbol(f, name: str) -> ElfSymbol | None:
    ident = _read_at(f, 0, 16)
    if ident[:4] != b"\x7fELF":
        raise ValueError("not an ELF file")
    is64 = ident[4] == 2
    little = ident[5] == 1
    en = "<" if little else ">"
    if is64:
        hdr = struct.unpack(en + "HHIQQQIHHHHHH", _read_at(f, 16, 48))
    else:
        hdr = struct.unpack(en + "HHIIIIIHHHHHH", _read_at(f, 16, 36))
    (_, e_machine, _, _, e_phoff, e_shoff, _, _, e_phentsize, e_phnum, e_shentsize, e_shnum, _) = (
        hdr
    )
    machine = _MACHINES.get(e_machine, f"elf-machine-{e_machine}")

    # Program headers: the lowest PT_LOAD vaddr is what offset 0 of the file maps to.
    min_vaddr: int | None = None
    ph_fmt = en + ("IIQQQQQQ" if is64 else "IIIIIIII")
    ph_blob = _read_at(f, e_phoff, e_phentsize * e_phnum)
    for i in range(e_phnum):
        ph = struct.unpack_from(ph_fmt, ph_blob, i * e_phentsize)
        p_type = ph[0]
        p_vaddr = ph[3] if is64 else ph[2]
        p_align = ph[7]
        if p_type == _PT_LOAD:
            page = max(p_align, 1) if p_align and p_align & (p_align - 1) == 0 else 4096
            v = p_vaddr & ~(page - 1)
            min_vaddr = v if min_vaddr is None else min(min_vaddr, v)
    if min_vaddr is None:
        raise ValueError("ELF file has no PT_LOAD segment")

    # Section headers: (type, offset, size, link, entsize) of each section.
    sh_fmt = en + ("IIQQQQIIQQ" if is64 else "IIIIIIIIII")
    sh_blob = _read_at(f, e_shoff, e_shentsize * e_shnum) if e_shnum else b""
    sections = []
    for i in range(e_shnum):
        sh = struct.unpack_from(sh_fmt, sh_blob, i * e_shentsize)
        # name, type, flags, addr, offset, size, link, info, addralign, entsize
        sections.append((sh[1], sh[4], sh[5], sh[6], sh[9]))

    wanted = name.encode()
    sym_fmt = en + ("IBBHQQ" if is64 else "IIIBBH")
    for table_type, table_name in ((_SHT_DYNSYM, ".dynsym"), (_SHT_SYMTAB, ".symtab")):
        for sh_type, off, size, link, entsize in sections:
            if sh_type != table_type or not entsize or link >= len(sections):
                continue
            _, str_off, str_size, _, _ = sections[link]
            strtab = _read_at(f, str_off, str_size)
            symtab = _read_at(f, off, size)
            # Find the name in the string table first: one bytes.find instead of decoding
            # thousands of names. A name may occur as the tail of a longer one
            # ("x_PyRuntime"), so accept only offsets preceded by NUL.
            name_offsets = set()
            pos = strtab.find(wanted + b"\0")
            while pos != -1:
                if pos == 0 or strtab[pos - 1] == 0:
                    name_offsets.add(pos)
                pos = strtab.find(wanted + b"\0", pos + 1)
            if not name_offsets:
                continue
            for j in range(size // entsize):
                if is64:
                    st_name, st_info, _, st_shndx, st_value, st_size = struct.unpack_from(
                        sym_fmt, symtab, j * entsize
                    )
                else:
                    st_name, st_value, st_size, st_info, _, st_shndx = struct.unpack_from(
                        sym_fmt, symtab, j * entsize
                    )
                if st_name in name_offsets and st_shndx != _SHN_UNDEF and st_value:
                    return ElfSymbol(
                        name=name,
                        value=st_value,
                        size=st_size,
                        table=table_name,
                        min_load_vaddr=min_vaddr,
                        machine=machine,
                    )
    return None


_cache_lock = threading.Lock()
_symbol_cache: dict[tuple, ElfSymbol | None] = {}


def find_symbol(path: str, name: str = RUNTIME_SYMBOL) -> ElfSymbol | None:
    """The defined symbol ``name`` of the ELF file at ``path`` (None if it has none).

    Cached by the file's identity (device, inode, size, mtime): parsing libpython's symbol
    tables costs a few milliseconds, and every worker of a pool maps the same file.
    Raises OSError when the file cannot be read and ValueError when it is not ELF.
    """
    st = os.stat(path)
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, name)
    with _cache_lock:
        if key in _symbol_cache:
            return _symbol_cache[key]
    with open(path, "rb") as f:
        sym = _parse_symbol(f, name)
    with _cache_lock:
        _symbol_cache[key] = sym
    return sym


def elf_machine_name(path: str) -> str:
    """The ELF machine of ``path`` ("x86_64", "aarch64", ...)."""
    with open(path, "rb") as f:
        ident = _read_at(f, 0, 20)
    if ident[:4] != b"\x7fELF":
        raise ValueError("not an ELF file")
    (e_machine,) = struct.unpack_from("<H" if ident[5] == 1 else ">H", ident, 18)
    return _MACHINES.get(e_machine, f"elf-machine-{e_machine}")


# --------------------------------------------------------------------------- per process


def _file_in_target(pid: int, path: str) -> str:
    """A path through which we can open the target's file, even across mount namespaces."""
    via_root = f"/proc/{pid}/root{path}"
    try:
        theirs = os.stat(via_root)
    except OSError:
        return path
    try:
        ours = os.stat(path)
    except OSError:
        return via_root
    # The same file seen from here is preferred: a path through /proc/PID goes away with
    # the process, and a calibration still reading the interpreter's files through it
    # would fail half-way through its imports.
    return path if (ours.st_dev, ours.st_ino) == (theirs.st_dev, theirs.st_ino) else via_root


def exe_in_root(pid: int, proc_root: str = "/proc") -> tuple[str, str | None]:
    """``(path, root)`` to run process ``pid``'s own interpreter again: when the process
    runs in another root folder (a chroot, such as scripts/python-from-debian's), its
    executable as a path in that root and the root as ``/proc/PID/root`` (a binary built
    against another root's libraries cannot run in ours); otherwise ``(a path we can
    open, None)``. Raises OSError when ``/proc/PID/exe`` cannot be read."""
    exe = _strip_deleted(os.readlink(f"{proc_root}/{pid}/exe"))
    root_link = f"{proc_root}/{pid}/root"
    try:
        theirs, ours = os.stat(root_link), os.stat("/")
        other = (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino)
        where = os.readlink(root_link).rstrip("/")
    except OSError:
        other, where = False, ""
    if other and where and exe.startswith(where + "/"):
        return exe[len(where) :], root_link
    return _file_in_target(pid, exe), None


def locate_gil(pid: int, proc_root: str = "/proc") -> GilLocation:
    """Find ``[&_PyRuntime, +size)`` in process ``pid``.

    Looks at every libpython mapped into the process, then at its executable (static
    builds), and takes the first file that *defines* ``_PyRuntime`` (a shared build's
    executable only references it). Raises :class:`GilNotFound` with a one-line reason
    when the process is gone, unreadable, not CPython, or its files have no symbol table.
    """
    try:
        with open(f"{proc_root}/{pid}/maps") as f:
            maps_text = f.read()
    except (FileNotFoundError, ProcessLookupError):  # gone before the open, or the read
        raise GilNotFound(f"process {pid} is gone") from None
    except PermissionError:
        raise GilNotFound(f"no permission to read /proc/{pid}/maps") from None
    except OSError as exc:
        raise GilNotFound(f"cannot read /proc/{pid}/maps: {exc.strerror or exc}") from None
    try:
        exe: str | None = _strip_deleted(os.readlink(f"{proc_root}/{pid}/exe"))
    except OSError:
        exe = None
    entries = parse_maps(maps_text)
    candidates = _candidate_paths(entries, exe)
    if not candidates:
        raise GilNotFound(f"process {pid} maps no libpython and its executable is unknown")
    problems: list[str] = []
    for path in candidates:
        try:
            sym = find_symbol(_file_in_target(pid, path), RUNTIME_SYMBOL)
        except (OSError, ValueError) as exc:
            problems.append(f"{os.path.basename(path)}: {exc}")
            continue
        if sym is None:
            problems.append(f"{os.path.basename(path)}: no {RUNTIME_SYMBOL} symbol")
            continue
        if _FREE_THREADED_RE.search(os.path.basename(path)):
            # Judged by the file name's ABI flag: such a build has no GIL (unless started
            # with PYTHON_GIL=1, which this does not see), so no futex is a GIL wait.
            raise GilNotFound(f"{os.path.basename(path)} is a free-threaded build: no GIL")
        base = load_base(entries, path, sym.min_load_vaddr)
        if base is None:
            problems.append(f"{os.path.basename(path)}: no mapping at file offset 0")
            continue
        start = base + sym.value
        return GilLocation(
            pid=pid,
            start=start,
            end=start + max(sym.size, 1),
            source_path=path,
            method=f"{RUNTIME_SYMBOL} from {sym.table} of {os.path.basename(path)}",
            machine=sym.machine,
        )
    raise GilNotFound(f"{RUNTIME_SYMBOL} not found in process {pid} ({'; '.join(problems)})")


def gil_range(pid: int) -> tuple[int, int] | None:
    """``(start, end)`` of the GIL's range in ``pid``, or None (``locate_gil`` says why)."""
    try:
        loc = locate_gil(pid)
    except GilNotFound:
        return None
    return loc.start, loc.end


# --------------------------------------------------------------------------- GIL holder


#: A bound on the size of CPython's GIL structure (``struct _gil_runtime_state``: interval,
#: last holder, locked flag, switch counter, two condition variables and two mutexes, the
#: same fields since 3.2: about 210 bytes with glibc on 64-bit Linux). Used only for the GIL
#: of an interpreter other than the main one, which lies in that interpreter's own state;
#: a test checks that the futexes its waiters sleep in fall inside it.
GIL_STRUCT_BOUND = 256
#: Interpreters read per process at most (a pool of more is not a gilviz-sized run).
MAX_INTERPRETERS = 256


@dataclass(frozen=True, slots=True)
class GilHolderOffsets:
    """Where, in a CPython 3.10+ process, to read which thread holds each GIL.

    All offsets are measured by :func:`calibrate_gil_holder`, never taken from headers.
    ``holder`` and ``locked``: offsets from ``&_PyRuntime`` of the main GIL's
    ``last_holder`` (the holding thread's ``PyThreadState*``, stale once released) and its
    ``locked`` flag (an int, 1 while held): a holder is trusted only while ``locked`` is set.
    ``native_tid``: offset of ``native_thread_id`` in a ``PyThreadState`` (None on 3.10,
    which does not record it: holders are then unknown). From 3.12 every interpreter has
    its own GIL inside its own state: ``interp_head`` (offset in ``_PyRuntime`` of the list
    of interpreters), ``interp_next`` (offset of the link in a state) and ``interp_gil``
    (offset of ``last_holder`` in a state; ``locked`` is as far after it as in the main
    GIL); ``main_interp``: offset of the main interpreter's state in ``_PyRuntime``. None
    where there is no such list (3.10, 3.11: one GIL per process).
    """

    holder: int
    locked: int
    native_tid: int | None
    python: str = ""  # the calibrated interpreter's sys.version, for reports
    interp_head: int | None = None
    interp_next: int | None = None
    interp_gil: int | None = None
    main_interp: int | None = None

    @property
    def method(self) -> str:
        """How the holder is read, for reports."""
        where = "every interpreter's GIL" if self.interp_head is not None else "the GIL"
        return f"who last took {where} and whether it is held, read from the process's memory"


@dataclass(frozen=True, slots=True)
class GilState:
    """One read of a process's GILs: the kernel tids of the threads holding one now (one
    per GIL held), and the address ranges of the GILs of interpreters other than the main
    one (for telling a wait for one of them from a lock wait)."""

    holders: frozenset[int]
    sub_gils: tuple[tuple[int, int], ...] = ()


def read_gil_state(words, runtime: int, off: GilHolderOffsets) -> GilState | None:
    """Read every GIL's holder in a process through ``words(addr, offsets) -> [int|None]``
    (e.g. ``/proc/PID/mem``); ``runtime`` is ``&_PyRuntime`` there. None when the memory
    could not be read (the process is exiting): unknown, which is not "nobody"."""
    gap = off.locked - off.holder
    holders: set[int] = set()

    def one(gil_holder_addr: int) -> bool:
        tstate, locked = words(gil_holder_addr, (0, gap))
        if tstate is None or locked is None:
            return False
        if locked & 0xFFFFFFFF and tstate and off.native_tid is not None:
            (tid,) = words(tstate + off.native_tid, (0,))
            if tid:
                holders.add(tid & 0xFFFFFFFF)
        return True

    if not one(runtime + off.holder):
        return None
    subs: list[tuple[int, int]] = []
    if off.interp_head is not None and off.interp_next is not None and off.interp_gil is not None:
        main = runtime + (off.main_interp or 0)
        (interp,) = words(runtime + off.interp_head, (0,))
        seen = 0
        while interp and seen < MAX_INTERPRETERS:
            seen += 1
            if interp != main:
                at = interp + off.interp_gil
                if not one(at):
                    return None
                subs.append((at - 8, at - 8 + GIL_STRUCT_BOUND))
            (interp,) = words(interp + off.interp_next, (0,))
            if interp is None:
                return None
    return GilState(frozenset(holders), tuple(subs))


# Runs under the target's interpreter. Threads hand a token round (each waits on its own
# Event, which releases the GIL, then holds it while scanning), and each scan keeps only
# the words of _PyRuntime equal to the scanning thread's PyThreadState*, and the words of
# that thread state equal to its native thread id. Intersecting over threads and rounds
# leaves the fields that *always* track the holder (a list head or "main thread" field
# matches only some threads and drops out). Then, alone, it copies _PyRuntime once with
# the GIL held and once while a CDLL call has let go of it: the GIL's last_holder still
# names this thread, and its locked flag is the int just after it that went from 1 to 0.
# From 3.12 it makes two subinterpreters to find the interpreter list and each one's GIL.
_CALIBRATE = r"""
import ctypes, json, sys, threading
if sys.version_info < (3, 10):
    print(json.dumps({"error": "holder offsets need CPython 3.10 or newer, not %d.%d" % sys.version_info[:2]}))
    raise SystemExit(0)
if getattr(sys, "_is_gil_enabled", lambda: True)() is False:
    print(json.dumps({"error": "free-threaded build: no GIL"}))
    raise SystemExit(0)
W, order = 8, sys.byteorder
api = ctypes.pythonapi
rt = ctypes.addressof(ctypes.c_char.in_dll(api, "_PyRuntime"))
size = int(sys.argv[1])
for name in ("PyThreadState_Get", "PyInterpreterState_Main", "PyInterpreterState_Head"):
    getattr(api, name).restype = ctypes.c_void_p
memcpy = ctypes.CDLL(None).memcpy  # a CDLL call lets go of the GIL while it runs
memcpy.restype = ctypes.c_void_p
memcpy.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
state = {"slots": None, "native": None}

def aligned(blob, value):
    key = value.to_bytes(W, order)
    found, i = set(), blob.find(key)
    while i != -1:
        if i % W == 0:
            found.add(i)
        i = blob.find(key, i + 1)
    return found

def word(blob, o, n=W):
    return int.from_bytes(blob[o:o + n], order)

def scan():
    ts = api.PyThreadState_Get()
    s = aligned(ctypes.string_at(rt, size), ts)
    n = aligned(ctypes.string_at(ts, 1024), threading.get_native_id())
    state["slots"] = s if state["slots"] is None else state["slots"] & s
    state["native"] = n if state["native"] is None else state["native"] & n

N, ROUNDS = 3, 5
evs = [threading.Event() for _ in range(N)]

def worker(k):
    for _ in range(ROUNDS):
        evs[k].wait(); evs[k].clear()
        scan()
        evs[(k + 1) % N].set()

helpers = [threading.Thread(target=worker, args=(k,)) for k in range(1, N)]
for t in helpers:
    t.start()
for r in range(ROUNDS):
    if r:
        evs[0].wait(); evs[0].clear()
    scan()
    evs[1].set()
evs[0].wait()
for t in helpers:
    t.join()
ts = api.PyThreadState_Get()
buf = ctypes.create_string_buffer(size)
pairs = None
for _ in range(3):
    held = ctypes.string_at(rt, size)
    memcpy(buf, rt, size)
    free = buf.raw
    found = {(s, s + d) for s in state["slots"] if word(free, s) == ts
             for d in range(4, 33, 4) if word(held, s + d, 4) == 1 and word(free, s + d, 4) == 0}
    pairs = found if pairs is None else pairs & found
out = {"pairs": sorted(pairs), "native": sorted(state["native"]), "version": sys.version}
main = api.PyInterpreterState_Main()
if sys.version_info >= (3, 12) and len(pairs) == 1 and rt <= main < rt + size:
    try:
        import _interpreters as subs
    except ImportError:
        import _xxsubinterpreters as subs
    ids, states = [], []
    for _ in range(2):
        ids.append(subs.create())
        subs.run_string(ids[-1], "pass")
        states.append(api.PyInterpreterState_Head())
    a, b = states
    span = 1 << 14
    gil = sorted(pairs)[0][0] - (main - rt)
    out.update(
        heads=sorted(aligned(ctypes.string_at(rt, size), b)),
        nexts=sorted(aligned(ctypes.string_at(b, span), a) & aligned(ctypes.string_at(a, span), main)),
        interp_gil=gil,
        main_interp=main - rt,
        own=len({main + gil, a + gil, b + gil}) == 3 and all(word(ctypes.string_at(p + gil, W), 0) for p in (a, b)),
    )
    for i in reversed(ids):
        subs.destroy(i)
print(json.dumps(out))
"""

_holder_cache: dict[tuple, GilHolderOffsets | str] = {}


def calibrate_gil_holder(
    executable: str, runtime_size: int, timeout: float = 20.0, root: str | None = None
) -> GilHolderOffsets:
    """Measure :class:`GilHolderOffsets` by running ``executable`` (the target's own
    interpreter, e.g. ``/proc/PID/exe``) on a short calibration script. ``root``: the
    target's root folder when it runs in another one (a chroot, such as the Pythons of
    scripts/python-from-debian): the script is then run there, with ``executable`` a path
    inside it (needs root, as entering that root did).

    Cached per executable file identity. Raises :class:`GilNotFound` with the reason when
    the interpreter is not CPython 3.10+ with a GIL, the script fails, or the scan is
    ambiguous (not exactly one holder field with a locked flag after it).
    """
    path = executable if root is None else root.rstrip("/") + executable
    st = os.stat(path)
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, runtime_size)
    with _cache_lock:
        cached = _holder_cache.get(key)
    if cached is None:
        cached = _run_calibration(executable, runtime_size, timeout, root)
        if not isinstance(cached, _Unsettled):
            with _cache_lock:
                _holder_cache[key] = cached
    if isinstance(cached, str):
        raise GilNotFound(cached)
    return cached


class _Unsettled(str):
    """A calibration that failed for a reason of the moment (the script could not run or
    died), not of the interpreter: said, but not cached, so the next run tries again."""


def _run_calibration(
    executable: str, runtime_size: int, timeout: float, root: str | None = None
) -> GilHolderOffsets | str:
    cmd = [executable, "-I", "-S", "-c", _CALIBRATE, str(runtime_size)]
    if root is not None:
        cmd = ["chroot", root, *cmd]
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return _Unsettled(f"holder calibration could not run {executable}: {exc}")
    try:
        data = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["no output"]
        return _Unsettled(f"holder calibration failed: {tail[0]}")
    if "error" in data:
        return str(data["error"])
    pairs, native = data["pairs"], data["native"]
    if len(pairs) != 1:
        return f"holder calibration ambiguous (holder and locked fields {pairs})"
    if len(native) > 1:
        return f"holder calibration ambiguous (thread-id fields {native})"
    version = data.get("version", "")
    if not native:
        return (
            f"Python {version.split()[0]} thread states do not record the kernel thread id "
            "(native_thread_id came in 3.11)"
        )
    (holder, locked) = pairs[0]
    heads, nexts = data.get("heads"), data.get("nexts")
    interp: dict[str, int | None] = {}
    if heads is not None:
        if len(heads) != 1 or len(nexts or ()) != 1 or not data.get("own"):
            return f"interpreter list calibration ambiguous (heads {heads}, links {nexts})"
        interp = {
            "interp_head": heads[0],
            "interp_next": nexts[0],
            "interp_gil": data["interp_gil"],
            "main_interp": data["main_interp"],
        }
    return GilHolderOffsets(holder, locked, native[0], version, **interp)
