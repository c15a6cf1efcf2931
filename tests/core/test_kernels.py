"""A kernel's IPC sockets live in a private folder whose path fits in an AF_UNIX address."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from auditbook import kernels


def _fits(folder: str) -> bool:
    return len(os.fsencode(str(Path(folder) / kernels.SOCKET_NAME) + "-5")) <= kernels.SOCKET_PATH_MAX


def test_the_socket_folder_is_private_and_in_the_first_base_that_fits(tmp_path):
    short = tmp_path / "s"
    short.mkdir()
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    folder = kernels.socket_dir((str(deep), str(short)))
    assert Path(folder).parent == short and _fits(folder)
    assert stat.S_IMODE(Path(folder).stat().st_mode) == 0o700
    assert list(deep.iterdir()) == [], "the folder that did not fit is removed"


def test_no_base_that_fits_is_refused_in_one_line(tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    with pytest.raises(RuntimeError, match="set TMPDIR to a shorter path"):
        kernels.socket_dir((str(deep),))
    assert list(deep.iterdir()) == []


def test_a_kernel_under_a_deep_tmpdir_gets_sockets_that_connect(tmp_path, monkeypatch):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setenv("TMPDIR", str(deep))
    monkeypatch.setattr("tempfile.tempdir", None)  # tempfile reads TMPDIR again
    manager = kernels.IPCKernelManager(kernel_name="python3")
    try:
        assert _fits(manager._socket_dir) and not manager._socket_dir.startswith(str(deep))
    finally:
        manager.kill_now()


def test_a_kernel_shut_down_after_its_notebook_is_not_sent_sigint(tmp_path):
    """jupyter_client interrupts every kernel before shutting it down; the kernel then logged
    "[IPKernelApp] ERROR | KeyboardInterrupt" in a successful run's output. A run's kernels are killed without it,
    while an analyst's interrupt of a running kernel still works."""
    import asyncio
    import signal

    async def scenario() -> list[int]:
        manager = kernels.IPCKernelManager(kernel_name="python3")
        sent: list[int] = []
        signal_kernel = manager._async_signal_kernel

        async def recording(signum: int) -> None:
            sent.append(signum)
            await signal_kernel(signum)

        manager._async_signal_kernel = recording
        with open(tmp_path / "kernel.log", "w") as log:
            await manager.start_kernel(stdout=log, stderr=log)
            await manager.interrupt_kernel()  # an interrupt asked for is still sent
            await manager.shutdown_kernel(now=kernels.SHUTDOWN == "immediate")
        return sent

    sent = asyncio.run(scenario())
    assert sent == [signal.SIGINT]  # the one asked for; none on the way out
