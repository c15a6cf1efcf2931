"""The package seal: a manifest with the sha256 of every file, write-once folders, verify.

A run is assembled in a staging folder beside its final place and renamed into place only when
complete, so a reader never sees half a package and an existing run is never replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
MANIFEST_SCHEMA_VERSION = "1.0"


class PackageError(RuntimeError):
    pass


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def package_files(root: Path) -> list[str]:
    """Every file of a package except the manifest, as sorted POSIX paths relative to the root."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).as_posix() != MANIFEST
    )


def write_manifest(root: Path, facts: dict[str, Any]) -> dict[str, Any]:
    files = {rel: {"sha256": sha256_file(root / rel), "bytes": (root / rel).stat().st_size}
             for rel in package_files(root)}
    manifest = {"schema_version": MANIFEST_SCHEMA_VERSION, **facts, "files": files}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=False, default=str))
    return manifest


def seal(root: Path) -> None:
    """Make every file and folder read-only: the package is evidence, not a working copy."""
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    root.chmod(root.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def publish(staging: Path, final: Path) -> None:
    """Move a complete package into place; refuse if anything is already there."""
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        raise PackageError(f"{final} already exists: a run is never overwritten")
    # rename() of a directory onto an existing non-empty one fails, so a race cannot replace a run.
    os.rename(staging, final)


@dataclass
class Verification:
    root: Path
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.added or self.problems)

    def lines(self) -> list[str]:
        out = [f"changed: {p}" for p in self.changed]
        out += [f"missing: {p}" for p in self.missing]
        out += [f"added: {p}" for p in self.added]
        out += [f"problem: {p}" for p in self.problems]
        return out


def verify(root: Path) -> Verification:
    result = Verification(root)
    manifest_path = root / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
        recorded: dict[str, dict[str, Any]] = manifest["files"]
    except FileNotFoundError:
        result.problems.append(f"{MANIFEST} is missing: nothing to verify against")
        return result
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        result.problems.append(f"{MANIFEST} is unreadable ({type(exc).__name__})")
        return result
    present = set(package_files(root))
    for rel, entry in sorted(recorded.items()):
        if rel not in present:
            result.missing.append(rel)
        elif sha256_file(root / rel) != entry.get("sha256"):
            result.changed.append(rel)
        result.checked += 1
    result.added = sorted(present - set(recorded))
    return result
