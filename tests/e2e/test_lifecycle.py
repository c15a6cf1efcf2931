"""The runner's lifecycle: SIGTERM handled like Ctrl-C, a runner killed outright leaves nothing running, and the
next run removes the staging folder of a run that died (never one whose owner is alive).

The runs here are real ``auditbook demo`` processes. Every process they start (pool workers, Jupyter kernels)
inherits a marker in its environment, so a process left behind is found even after it was handed to another
parent; the kernels' socket folders go to a TMPDIR of the test's own and their connection files to a
JUPYTER_RUNTIME_DIR of its own, so anything left there is theirs. The TMPDIR is a short folder in /tmp, not
under pytest's (deep) tmp_path: there the kernels would put their sockets in /tmp instead (an IPC socket's
path is limited to 107 bytes, :func:`auditbook.kernels.socket_dir`), where this test would not see them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import auditbook
import pytest
from auditbook import locker, runner

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")

STARTUP_SECONDS = 300  # emulators seeded, then a kernel started, on a shared 2-core machine
LIB = Path(auditbook.__file__).resolve().parents[1]
_SHORT_TMP: list[Path] = []


@pytest.fixture(autouse=True)
def _remove_short_tmp():
    yield
    while _SHORT_TMP:
        shutil.rmtree(_SHORT_TMP.pop(), ignore_errors=True)


class Demo:
    """``auditbook demo`` in a process of its own, its descendants marked, its temporary files kept apart."""

    def __init__(self, tmp_path: Path, out: Path, *args: str) -> None:
        self.marker = f"auditbook-lifecycle-{uuid.uuid4().hex}"
        self.tmp = Path(tempfile.mkdtemp(prefix="ab-lc-", dir="/tmp"))
        _SHORT_TMP.append(self.tmp)
        self.runtime = tmp_path / f"runtime-{self.marker[-6:]}"
        self.runtime.mkdir()
        env = {**os.environ, "PYTHONPATH": str(LIB), "AUDITBOOK_LIFECYCLE_MARK": self.marker, "TMPDIR": str(self.tmp),
               "JUPYTER_RUNTIME_DIR": str(self.runtime), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen([sys.executable, "-m", "auditbook.cli", "demo", "--out", str(out), *args],
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def marked(self) -> dict[int, str]:
        """Every live process that inherited the marker (pid → command line), the runner included."""
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if self.marker.encode() not in (entry / "environ").read_bytes():
                    continue
                if (entry / "stat").read_text().rpartition(")")[2].split()[0] in ("Z", "X"):
                    continue  # exited, not yet reaped: nothing runs
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
        return found

    def wait_for_kernel(self, staging_parent: Path) -> Path:
        """Until the staging folder exists and a notebook's kernel runs in it; the staging folder."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the run ended early: {self.process.communicate()}"
            staging = sorted(staging_parent.glob(".staging-*"))
            if staging and any("ipykernel" in cmd for cmd in self.marked().values()):
                return staging[0]
            time.sleep(0.5)
        self.process.kill()
        pytest.fail(f"no kernel started within {STARTUP_SECONDS} s: {self.process.communicate()}")

    def leftovers(self, within: float = 15.0) -> dict[int, str]:
        """What still runs after ``within`` seconds (a dying process may take a moment)."""
        deadline = time.monotonic() + within
        while (left := self.marked()) and time.monotonic() < deadline:
            time.sleep(0.5)
        return left

    def kernel_files(self) -> list[str]:
        return sorted(p.name for p in [*self.tmp.glob("auditbook-kernel-*"), *self.runtime.glob("kernel-*.json")])


def _explained(err: str) -> list[str]:
    """stderr without the progress lines a run prints while it goes."""
    from auditbook.logs import PROGRESS

    return [line for line in err.splitlines() if line.strip() and not PROGRESS.match(line)]


def test_sigterm_stops_the_run_like_ctrl_c(tmp_path):
    out = tmp_path / "outputs"
    demo = Demo(tmp_path, out, "--criteria", "CC6.1,CC8.1", "--workers", "2")
    staging = demo.wait_for_kernel(out / "2026-Q3")
    running = demo.marked()
    assert len(running) >= 3, running  # the runner, a worker and its kernel at least

    demo.process.send_signal(signal.SIGTERM)
    _, err = demo.process.communicate(timeout=120)

    assert demo.process.returncode == 128 + signal.SIGTERM, err
    explained = _explained(err)
    assert len(explained) == 1 and explained[0].startswith("auditbook: stopped by SIGTERM"), err
    assert "Traceback" not in err
    assert not staging.exists() and not list(out.glob("*/.staging-*")), "staging folder left"
    assert not list(out.glob("2026-Q3/2*")), "a package was published"
    assert demo.leftovers() == {}, "a worker or kernel outlived the run"
    assert demo.kernel_files() == [], "a kernel's sockets or connection file left"


def test_a_runner_killed_outright_takes_its_workers_and_the_next_run_removes_its_staging(tmp_path):
    out = tmp_path / "outputs"
    demo = Demo(tmp_path, out, "--criteria", "CC6.1,CC8.1", "--workers", "2")
    staging = demo.wait_for_kernel(out / "2026-Q3")
    demo.process.send_signal(signal.SIGKILL)
    demo.process.communicate(timeout=60)

    assert demo.leftovers() == {}, "workers or kernels orphaned by kill -9"
    assert demo.kernel_files() == [], "a kernel's sockets or connection file left"
    owner = json.loads((staging / runner.OWNER_FILE).read_text())  # who owned it stays recorded
    assert owner["pid"] == demo.process.pid and owner["host"] == socket.gethostname() and owner["started_at"]

    following = Demo(tmp_path, out, "--criteria", "A1.1")
    _, err = following.process.communicate(timeout=STARTUP_SECONDS)
    assert following.process.returncode == 0, err
    explained = _explained(err)
    stale = [line for line in explained if "stale staging folder" in line]
    assert len(stale) == 1 and str(staging) in stale[0] and f"pid {demo.process.pid}" in stale[0], err
    assert not staging.exists() and not list(out.glob("*/.staging-*"))
    packages = list(out.glob("2026-Q3/2*"))
    assert len(packages) == 1 and locker.verify(packages[0]).ok


# -- which staging folders a run removes: only those whose owner is certainly gone ----------------------
def _staging(out: Path, run_id: str, owner: dict | str | None) -> Path:
    folder = out / "2026-Q3" / f"{runner.STAGING_PREFIX}{run_id}"
    (folder / "reports").mkdir(parents=True)
    (folder / "reports" / "CC6.1.pdf").write_bytes(b"%PDF-1.7 finished-looking")
    if owner is not None:
        record = folder / runner.OWNER_FILE
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(owner if isinstance(owner, str) else json.dumps(owner))
    return folder


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_only_the_staging_folders_of_dead_runs_are_removed(tmp_path, capsys):
    out = tmp_path / "outputs"
    here = {"host": socket.gethostname(), "boot_id": runner._boot_id(), "started_at": "2026-12-01T10:00:00Z"}
    me = {**here, "pid": os.getpid(), "process_start": runner._process_start(os.getpid())}
    dead = _staging(out, "20261201T100000Z", {**here, "pid": _dead_pid(), "process_start": "1"})
    reused = _staging(out, "20261201T100001Z", {**me, "process_start": "1"})  # the pid now names another process
    alive = _staging(out, "20261201T100002Z", me)
    elsewhere = _staging(out, "20261201T100003Z", {**here, "pid": _dead_pid(), "host": "another-host"})
    unowned = _staging(out, "20261201T100004Z", None)  # e.g. a scheduler's run: its tasks are other processes
    unreadable = _staging(out, "20261201T100005Z", "{half a rec")
    for folder in (dead, reused):
        (folder / "reports").chmod(0o555)  # a run killed between seal and publish leaves read-only folders

    removed = runner.remove_stale_staging(out)

    assert sorted(removed) == sorted([dead, reused])
    assert not dead.exists() and not reused.exists()
    assert all(f.is_dir() for f in (alive, elsewhere, unowned, unreadable))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all("stale staging folder" in line and "started 2026-12-01T10:00:00Z" in line
                                   for line in lines), lines
