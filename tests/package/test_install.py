"""auditbook as a user gets it: the wheel, installed into a fresh virtual environment, run from an empty folder.

The runtime install holds no demo-only package and says how to get the demo; with the ``demo`` extra,
``auditbook init`` + ``auditbook demo`` in an empty folder make a package that ``auditbook verify`` accepts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_ONLY = {"moto", "freezegun", "werkzeug", "graphql-core"}


def sh(*command, cwd=None, check=True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "GITHUB_", "AUDITBOOK_", "VIRTUAL_ENV", "PYTHON"))}
    return subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, check=check,
                          timeout=900)


def site_size(venv: Path) -> int:
    return sum(f.stat().st_size for f in (venv / "lib").rglob("*") if f.is_file())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check", "-w", out, REPO)
    return next(out.glob("auditbook-*.whl"))


def test_the_wheel_ships_notebooks_schemas_params_and_demo_data(wheel):
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for member in ["auditbook/notebooks/CC6.1.ipynb", "auditbook/notebooks/A1.2.ipynb",
                   "auditbook/params/example.yaml", "auditbook/schemas/params.schema.json",
                   "auditbook/demo/params/demo.yaml", "auditbook/demo/data/hr-roster.csv"]:
        assert member in names, member
    assert sum(n.endswith(".ipynb") for n in names) == 8


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed, the way a user installs it."""
    venv = tmp_path_factory.mktemp("install") / "venv"
    sh(sys.executable, "-m", "venv", venv)
    sh(venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "--quiet", "install", wheel)
    return venv


def installed(venv: Path) -> set[str]:
    listed = sh(venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "list", "--format", "json")
    return {p["name"].lower() for p in json.loads(listed.stdout)}


def test_the_runtime_install_has_no_demo_package_and_says_how_to_get_the_demo(venv, tmp_path):
    assert not DEMO_ONLY & installed(venv), "the runtime install pulls in demo-only packages"
    missing = sh(venv / "bin" / "auditbook", "demo", cwd=tmp_path, check=False)
    assert missing.returncode == 2 and "pip install 'auditbook[demo]'" in missing.stderr, missing.stderr
    assert not (tmp_path / "outputs").exists()


def test_with_the_demo_extra_init_and_demo_work_from_an_empty_folder(venv, wheel, tmp_path):
    runtime_packages, runtime = len(installed(venv)), site_size(venv)
    sh(venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "--quiet", "install", f"{wheel}[demo]")
    auditbook = venv / "bin" / "auditbook"
    assert sh(auditbook, "init", "acme", cwd=tmp_path).returncode == 0
    acme = tmp_path / "acme"
    assert (acme / "params" / "example.yaml").is_file() and (acme / "outputs").is_dir()
    demo = sh(auditbook, "demo", "--out", "outputs", cwd=acme, check=False)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    packages = list((acme / "outputs" / "2026-Q3").iterdir())
    assert len(packages) == 1
    assert sh(auditbook, "verify", packages[0], cwd=tmp_path).returncode == 0
    print(f"\ninstall: runtime {runtime_packages} packages, {runtime / 2**20:.0f} MiB; with [demo] "
          f"{len(installed(venv))} packages, {site_size(venv) / 2**20:.0f} MiB; wheel "
          f"{wheel.stat().st_size / 1024:.0f} KiB")
