"""Facts about the run itself that every report and the manifest carry."""

from __future__ import annotations

import subprocess
from datetime import datetime
from importlib import metadata
from pathlib import Path

from auditbook import __version__

REPO_ROOT = Path(__file__).resolve().parents[2]
RECORDED_PACKAGES = ["auditbook", "boto3", "botocore", "PyGithub", "pandas", "matplotlib", "papermill",
                     "nbconvert", "nbclient", "ipykernel", "weasyprint", "jsonschema", "moto"]


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ")


def git_commit(root: Path = REPO_ROOT) -> str:
    """The notebooks' commit; ``+dirty`` when the work tree differs from it."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "lib", "notebooks"],
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"{head}+dirty" if dirty else head


def package_versions() -> dict[str, str]:
    versions = {}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["auditbook"] = __version__
    return versions
