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
