"""Kernel socket folders: a socket path longer than sun_path cannot be bound, so a long TMPDIR (a CI workspace,
a test's tmp_path) must not make every kernel fail to start."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from auditbook import kernels


def test_a_short_tmpdir_holds_the_sockets(tmp_path, monkeypatch):
    short = Path(tempfile.mkdtemp(prefix="ab-", dir="/tmp"))
    try:
        monkeypatch.setattr(tempfile, "tempdir", str(short))
        folder = kernels._socket_folder()
        assert Path(folder).parent == short
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    finally:
        shutil.rmtree(short)


def test_a_tmpdir_too_long_for_a_socket_path_falls_back_to_a_short_system_folder(tmp_path, monkeypatch):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    folder = kernels._socket_folder()
    try:
        assert Path(folder).parent in {Path(root) for root in kernels.SHORT_TEMP_ROOTS}
        assert len(os.fsencode(folder)) + len("/kernel-99") <= kernels.SOCKET_PATH_MAX
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        assert list(deep.iterdir()) == []  # the too-long folder it tried is not left behind
    finally:
        shutil.rmtree(folder)
