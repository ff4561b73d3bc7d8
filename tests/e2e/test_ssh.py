"""gilviz over SSH: the link drops (SIGHUP), the recording keeps everything up to the last
second, and no process is left. Uses an sshd started here on a loopback port; where sshd
cannot start, a tmux session with SSH_CONNECTION set stands in (killing it hangs up too)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from gilviz.core.recording.reader import read_recording
from tests.helpers import free_port, wait_for

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    sshd_bin = shutil.which("sshd") or "/usr/sbin/sshd"
    if not (os.path.exists(sshd_bin) and shutil.which("ssh") and os.geteuid() == 0):
        yield None
        return
    d = tmp_path_factory.mktemp("sshd")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", d / "host"], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", d / "user"], check=True)
    (d / "authorized_keys").write_text((d / "user.pub").read_text())
    os.chmod(d / "authorized_keys", 0o600)
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation dir
    port = free_port()
    config = d / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host'}\n"
        f"AuthorizedKeysFile {d / 'authorized_keys'}\nPermitRootLogin yes\n"
        "PasswordAuthentication no\nUsePAM no\nStrictModes no\nPidFile none\n"
        f"SetEnv PATH={os.environ['PATH']}\n"
    )
    proc = subprocess.Popen([sshd_bin, "-D", "-e", "-f", config], stderr=subprocess.PIPE)
    base = ["ssh", "-p", str(port), "-i", str(d / "user"), "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
            "root@127.0.0.1"]  # fmt: skip

    def reachable():
        return subprocess.run([*base, "true"], capture_output=True, timeout=20).returncode == 0

    try:
        wait_for(reachable, timeout=20, what="sshd to accept logins")
    except BaseException:
        proc.kill()
        yield None
        return
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def _gilviz_procs(marker: str) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["cmdline", "environ"]):
        try:
            env = p.info["environ"] or {}
            cmd = " ".join(p.info["cmdline"] or [])
        except psutil.Error:
            continue
        if marker in cmd or env.get("GILVIZ_TEST_MARKER") == marker:
            out.append(p)
    return out


def test_link_drop_flushes_recording_and_leaves_nothing(sshd, tmp_path):
    record = tmp_path / "remote.jsonl"
    marker = f"ssh-{os.getpid()}-{time.monotonic_ns()}"
    remote = (
        f"cd {ROOT} && GILVIZ_TEST_MARKER={marker} {sys.executable} -m gilviz run crunch "
        f"--pool process --workers 2 --tasks 40 --size 10000000000 --record {record}"
    )
    if sshd is not None:
        client = subprocess.Popen([*sshd, "-tt", remote], stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        drop = client.kill  # the link goes: sshd hangs up the session's terminal
    else:
        if not shutil.which("tmux"):
            pytest.skip("neither sshd nor tmux available")
        session = f"gilviz-{marker}"
        subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "30",
                        f"SSH_CONNECTION='127.0.0.1 1 127.0.0.1 22' {remote}"], check=True)  # fmt: skip

        def drop():
            subprocess.run(["tmux", "kill-session", "-t", session], check=False)

    def ticking():
        return record.exists() and record.read_text().count('"type":"t"') > 20

    wait_for(ticking, timeout=60, what="the remote run to record samples")
    procs = wait_for(lambda: len(_gilviz_procs(marker)) >= 4 and _gilviz_procs(marker),
                     timeout=30, what="gilviz, runner and workers")  # fmt: skip
    dropped_at = time.monotonic_ns()
    drop()
    wait_for(lambda: not [p for p in procs if _running(p)], timeout=20,
             what="every remote process to exit after the hangup")  # fmt: skip
    rec = read_recording(record)
    last_tick = max(json.loads(line)["now"] for line in record.read_text().splitlines()
                    if '"type":"t"' in line)  # fmt: skip
    assert last_tick >= dropped_at - 1_000_000_000  # at most the last second is lost
    assert rec.runs[0].end is not None and rec.runs[0].end["summary"]["error"].startswith("stopped")


def _running(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
