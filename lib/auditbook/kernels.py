"""Kernels for the run: IPC sockets in a private folder instead of TCP ports on loopback.

The evidence in flight (populations, parameters) then never crosses a network socket another
local user could connect to, and ipykernel has nothing to warn about. Each kernel gets its own
0700 folder, so kernels running in parallel never share socket names.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager


class IPCKernelManager(AsyncKernelManager):
    transport = "ipc"  # type: ignore[assignment]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._socket_dir = tempfile.mkdtemp(prefix="auditbook-kernel-")
        self.ip = str(Path(self._socket_dir) / "kernel")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources  # the async manager's public name for it


KERNEL_MANAGER = f"{__name__}.IPCKernelManager"
