"""The trust services criteria auditbook covers, and where each one's notebook lives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from auditbook.resources import notebook_dir


@dataclass(frozen=True)
class Criterion:
    code: str
    title: str
    systems: tuple[str, ...]  # evidence sources the notebook reads: decides the preflight checks

    @property
    def notebook_name(self) -> str:
        return f"{self.code}.ipynb"


CRITERIA: dict[str, Criterion] = {c.code: c for c in [
    Criterion("CC6.1", "Logical access controls", ("aws",)),
    Criterion("CC6.2", "Credentials and secrets", ("aws", "github")),
    Criterion("CC7.1", "Monitoring for anomalies", ("aws",)),
    Criterion("CC7.2", "Incident response", ("aws", "github")),
    Criterion("CC8.1", "Change management", ("aws", "github")),
    Criterion("CC9.1", "Risk mitigation", ("aws", "github")),
    Criterion("A1.1", "Availability commitments", ("aws",)),
    Criterion("A1.2", "Recovery procedures", ("aws",)),
]}

NOTEBOOK_DIR = notebook_dir()  # shipped inside the package


def implemented(notebook_dir: Path = NOTEBOOK_DIR) -> list[str]:
    """Criteria that have a notebook, in the canonical order."""
    return [code for code, c in CRITERIA.items() if (notebook_dir / c.notebook_name).exists()]
