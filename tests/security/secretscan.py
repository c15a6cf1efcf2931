"""A secret scanner for evidence packages: every file, raw responses included (gzip, xlsx and PDF opened).

Finds AWS secret access keys (and access key ids next to one), session tokens, GitHub tokens, private keys,
the demo's GitHub token and every secret value the demo seeds (read from the demo's own source, so a new
demo secret is scanned for without editing this file).
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

DEMO_SOURCES = Path(__file__).resolve().parents[2] / "lib" / "auditbook" / "demo"
_SEEDED = re.compile(r"""(?:SecretString|Password|MasterUserPassword|SecretBinary|"secret"|"password")\s*[=:]\s*"""
                     r"""["']([^"']{6,})["']""")
PATTERNS = {
    "AWS secret access key": re.compile(r"(?i)(?:aws_secret_access_key|secretaccesskey|secret_access_key)"
                                        r"[\"']?\s*[:=]\s*[\"']?(?!demo\b)[A-Za-z0-9/+=]{40}"),
    "AWS access key id with a secret": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b.{0,200}?(?<![A-Za-z0-9/+=])"
                                                  r"[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])", re.S),
    "AWS session token": re.compile(r"(?i)(?:sessiontoken|aws_session_token)[\"']?\s*[:=]\s*[\"']?"
                                    r"[A-Za-z0-9/+=]{100,}"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"),
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----"),
}


def demo_secret_values() -> set[str]:
    """Every secret value the demo seeds, and its GitHub token."""
    from auditbook.demo.github.company import DEMO_TOKEN

    values = {DEMO_TOKEN}
    for path in DEMO_SOURCES.rglob("*.py"):
        values |= set(_SEEDED.findall(path.read_text()))
    return values


def texts(path: Path) -> list[str]:
    """The readable text of a package file: gzip unpacked, xlsx members, PDF text."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    if path.suffix in (".xlsx", ".zip"):
        with zipfile.ZipFile(path) as zf:
            return [zf.read(name).decode("utf-8", "replace") for name in zf.namelist()]
    if path.suffix == ".pdf":
        out = [data.decode("latin-1")]
        if shutil.which("pdftotext"):
            out.append(subprocess.run(["pdftotext", "-q", str(path), "-"], capture_output=True, timeout=60,
                                      check=False).stdout.decode("utf-8", "replace"))
        return out
    return [data.decode("utf-8", "replace")]


def scan(root: Path, extra: set[str] | None = None) -> list[str]:
    """``path: what`` for every secret found in the package at ``root``."""
    values = demo_secret_values() | (extra or set())
    findings = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        for text in texts(path):
            for what, pattern in PATTERNS.items():
                for match in pattern.finditer(text):
                    findings.append(f"{rel}: {what} ({match.group(0)[:12]}...)")
            for value in values:
                if value in text:
                    findings.append(f"{rel}: the demo's secret value {value[:6]}...")
    return sorted(set(findings))
