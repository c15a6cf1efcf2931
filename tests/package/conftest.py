"""Fixtures for the package-level tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from pkgdata import RUN_ID, make_results, write_package


@pytest.fixture
def package(tmp_path) -> Path:
    return write_package(tmp_path / "out" / "2026-Q3" / RUN_ID, make_results(),
                         [("CC6.1-MFA", "111111111111:dan.dev", "open"),
                          ("CC6.1-MFA", "111111111111:mallory", "accepted")])
