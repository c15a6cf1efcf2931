"""Kernels for the run: IPC sockets in a private folder instead of TCP ports on loopback.

The evidence in flight (populations, parameters) then never crosses a network socket another
local user could connect to, and ipykernel has nothing to warn about. Each kernel gets its own
0700 folder, so kernels running in parallel never share socket names.

A worker told to stop (SIGTERM: the runner was interrupted or died) calls :func:`stop_all`: its
kernels are killed and their socket folders and connection files removed, so nothing outlives the run.

An IPC socket's path must fit in an AF_UNIX address (107 bytes): under a long TMPDIR (a test's, a CI job's)
the kernel's sockets could not be connected, and the half-connected client then hung its worker for good
when the garbage collector closed it. The socket folder goes to /tmp instead when TMPDIR is too deep.
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
SOCKET_PATH_MAX = 107  # bytes of an ipc:// path zmq accepts: sun_path (108 on Linux) less its NUL
SOCKET_NAME = "kernel"  # jupyter_client adds "-<n>" for each of the kernel's five channels
_CHANNEL_SUFFIX = "-99999"  # the longest suffix allowed for


def socket_dir(bases: tuple[str | None, ...] = (None, "/tmp")) -> str:
    """A new private (0700) folder for one kernel's sockets: in the temporary folder, else the first of
    ``bases`` where the sockets' paths fit in an AF_UNIX address."""
    for base in bases:
        folder = tempfile.mkdtemp(prefix="auditbook-kernel-", dir=base)
        if len(os.fsencode(str(Path(folder) / SOCKET_NAME) + _CHANNEL_SUFFIX)) <= SOCKET_PATH_MAX:
            return folder
        os.rmdir(folder)
    raise RuntimeError(f"no folder for a kernel's sockets has a path short enough for an IPC socket "
                       f"({SOCKET_PATH_MAX} bytes); set TMPDIR to a shorter path")


class IPCKernelManager(AsyncKernelManager):
    transport = "ipc"  # type: ignore[assignment]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._socket_dir = socket_dir()
        self.ip = str(Path(self._socket_dir) / SOCKET_NAME)
        _LIVE.add(self)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            _LIVE.discard(self)

    cleanup_resources = _async_cleanup_resources  # the async manager's public name for it

    async def _async_interrupt_kernel(self) -> None:
        """No SIGINT on the way out: jupyter_client interrupts a kernel before every shutdown, and a kernel
        that receives it while starting or between messages logs "[IPKernelApp] ERROR | KeyboardInterrupt" on
        the run's stderr although nothing failed. A kernel being shut down is killed anyway (SHUTDOWN)."""
        if self.shutting_down:
            return
        await super()._async_interrupt_kernel()

    interrupt_kernel = _async_interrupt_kernel

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
SHUTDOWN = "immediate"
"""How nbclient stops a kernel once its notebook has run (papermill's ``shutdown_kernel``): killed, not asked to
exit. A graceful shutdown waits for the kernel's reply and its atexit hooks, and stalled 2.5 to 3 s in 4 of 64
shutdowns; everything a notebook writes is written and closed by its last cell (papermill saves the outputs on
this side), so nothing is left for the kernel's exit to flush."""
