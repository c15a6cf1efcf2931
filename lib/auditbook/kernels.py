"""Kernels for the run: IPC sockets in a private folder instead of TCP ports on loopback.

The evidence in flight (populations, parameters) then never crosses a network socket another
local user could connect to, and ipykernel has nothing to warn about. Each kernel gets its own
0700 folder, so kernels running in parallel never share socket names.

A worker told to stop (SIGTERM: the runner was interrupted or died) calls :func:`stop_all`: its
kernels are killed and their socket folders and connection files removed, so nothing outlives the run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import weakref
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager

_LIVE: weakref.WeakSet[IPCKernelManager] = weakref.WeakSet()  # this process's kernels not yet cleaned up
SOCKET_PATH_MAX = 107  # sockaddr_un.sun_path on Linux, less its NUL (macOS: 103); ipykernel adds "-<n>" to the name
SHORT_TEMP_ROOTS = ("/tmp", "/var/tmp")


def _socket_folder() -> str:
    """A private folder whose sockets' paths fit ``sun_path``: a long TMPDIR (a CI workspace, a test's tmp_path)
    would make every kernel fail to bind, so a short system folder is used instead."""
    folder = tempfile.mkdtemp(prefix="auditbook-kernel-")
    if len(os.fsencode(folder)) + len("/kernel-99") <= min(SOCKET_PATH_MAX, 103):
        return folder
    os.rmdir(folder)
    for root in SHORT_TEMP_ROOTS:
        if os.path.isdir(root) and os.access(root, os.W_OK | os.X_OK):
            return tempfile.mkdtemp(prefix="auditbook-kernel-", dir=root)
    raise OSError(f"no folder for kernel sockets: {folder!r} is too long for a socket path and /tmp is not writable")


class IPCKernelManager(AsyncKernelManager):
    transport = "ipc"  # type: ignore[assignment]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._socket_dir = _socket_folder()
        self.ip = str(Path(self._socket_dir) / "kernel")
        _LIVE.add(self)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            _LIVE.discard(self)

    cleanup_resources = _async_cleanup_resources  # the async manager's public name for it

    def kill_now(self) -> None:
        """Kill the kernel at once and remove its sockets and connection file: no event loop needed."""
        process = getattr(self.provisioner, "process", None) if self.provisioner else None
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # the kernel leads its own session (start_new_session)
            except OSError:
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)  # reaped: it writes nothing after this
        shutil.rmtree(self._socket_dir, ignore_errors=True)
        if self.connection_file:
            with contextlib.suppress(OSError):
                os.remove(self.connection_file)
        _LIVE.discard(self)


def stop_all() -> None:
    """Kill every kernel this process started and remove what they left (a worker that must stop now)."""
    for manager in list(_LIVE):
        manager.kill_now()


KERNEL_MANAGER = f"{__name__}.IPCKernelManager"
