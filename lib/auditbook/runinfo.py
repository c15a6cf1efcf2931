"""Facts about the run itself that every report and the manifest carry."""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from auditbook import __version__
from auditbook.period import Period, parse_period

PACKAGE_DIR = Path(__file__).resolve().parent  # the library and its notebooks
def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ")


def run_by(operator: str | None = None) -> str:
    """Who is answerable for the run: the operator named for it (``--operator``); else ``AUDITBOOK_RUN_BY``; else
    the CI job (its workflow, run URL and the actor who triggered it); else the local user and host."""
    if operator:
        return operator
    if os.environ.get("AUDITBOOK_RUN_BY"):
        return os.environ["AUDITBOOK_RUN_BY"]
    if os.environ.get("GITHUB_ACTIONS") == "true":
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        return (f"GitHub Actions {os.environ.get('GITHUB_WORKFLOW', '')} run "
                f"{server}/{os.environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{os.environ.get('GITHUB_RUN_ID', '')}"
                f" (triggered by {os.environ.get('GITHUB_ACTOR', 'unknown')})")
    if os.environ.get("AIRFLOW_CTX_DAG_ID"):
        return f"Airflow DAG {os.environ['AIRFLOW_CTX_DAG_ID']} run {os.environ.get('AIRFLOW_CTX_DAG_RUN_ID', '')}"
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def git_commit(root: Path = PACKAGE_DIR) -> str:
    """The commit of the library and its notebooks; ``+dirty`` when they differ from it. An installed
    package is not a checkout: its version (in ``versions``) identifies the code."""
    try:
        tracked = subprocess.run(["git", "-C", str(root), "ls-files", "--", "__init__.py"], capture_output=True,
                                 text=True, check=True, timeout=10).stdout.strip()
        if not tracked:  # e.g. installed into a virtual environment that happens to sit in some checkout
            raise subprocess.SubprocessError
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "."],
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout: an installed package)"
    return f"{head}+dirty" if dirty else head


def canonical(name: str) -> str:
    """A distribution's name as PyPI and purl compare it (PEP 503: lower case, runs of - _ . as one -)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions() -> list[metadata.Distribution]:
    """Each distribution installed in the running environment once (the first on sys.path wins, as for import),
    in order of canonical name."""
    seen: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and canonical(name) not in seen:
            seen[canonical(name)] = dist
    return [seen[key] for key in sorted(seen)]


def package_versions() -> dict[str, str]:
    """Every installed distribution and its version (``{name as published: version}``), not a chosen few: the
    software that produced the evidence, as the manifest records it (the SBOM says the same in CycloneDX)."""
    versions = {dist.metadata["Name"]: dist.version for dist in installed_distributions()}
    versions["auditbook"] = __version__
    return versions


@dataclass(frozen=True)
class RunFacts:
    """What is true of the whole run: written once to ``run.json``, passed around as this object."""

    run_id: str
    generated_at: str
    period: Period
    params_file: str
    params_digest: str
    git_commit: str
    versions: dict[str, str]
    organization: str = ""
    environment: str | None = None
    run_by: str = ""
    scope: str = ""
    criteria: list[str] = field(default_factory=list)
    branding: dict[str, str] = field(default_factory=dict)  # report/branding.py: logo, accent colour, footer line

    @classmethod
    def describe(cls, run_id: str, now: datetime, period: Period, params: dict[str, Any], params_file: str,
                 **more: Any) -> RunFacts:
        from auditbook.params import digest
        from auditbook.report.branding import branding

        return cls(run_id=run_id, generated_at=now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                   period=period, params_file=str(params_file), params_digest=digest(params),
                   git_commit=git_commit(), versions=package_versions(),
                   organization=params.get("organization", ""), environment=params.get("environment"),
                   branding=branding(params), **more)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "period": self.period.to_dict()}

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def read(cls, path: Path) -> RunFacts:
        data = json.loads(Path(path).read_text())
        return cls(**{**data, "period": parse_period(data["period"]["label"])})


def generated_at(facts: RunFacts) -> datetime | None:
    """When the run started, as a time (None when run.json does not say, e.g. a hand-made one)."""
    try:
        return datetime.fromisoformat(facts.generated_at.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None
