"""Where a population came from: the IPE record an auditor asks for (AT-C 205.36).

Every source returns a :class:`Population`: a tidy DataFrame plus a :class:`Provenance`
naming the system, the exact operations and parameters, pages fetched, counts, the caller
and the sha256 of every raw response saved under the run's ``raw/`` folder.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd


class CollectionError(RuntimeError):
    """Evidence could not be collected completely: the tests that need it are ERROR."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Operation:
    """One API operation as called: what an auditor needs to re-run the query."""

    operation: str
    parameters: dict[str, Any] = field(default_factory=dict)
    pages: int = 1
    records: int = 0


@dataclass
class Provenance:
    system: str
    endpoint: str
    scope: str
    caller: str
    collected_at: str
    operations: list[Operation] = field(default_factory=list)
    raw_files: list[dict[str, Any]] = field(default_factory=list)
    record_count: int = 0
    notes: list[str] = field(default_factory=list)

    def add_operation(self, operation: str, parameters: dict[str, Any] | None = None,
                      pages: int = 1, records: int = 0) -> Operation:
        op = Operation(operation, dict(parameters or {}), pages, records)
        self.operations.append(op)
        return op

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Collected:
    """What a collector returns: the rows it read and how. The evidence catalog names it and holds it to
    the population's column contract (:func:`auditbook.catalog.population`)."""

    frame: pd.DataFrame
    provenance: Provenance


@dataclass
class Population:
    """A complete population with its provenance; ``name`` is its catalog name and CSV name in the package."""

    name: str
    frame: pd.DataFrame
    provenance: Provenance

    def __post_init__(self) -> None:
        self.provenance.record_count = len(self.frame)


class RawStore:
    """Saves raw responses as received under ``<run>/raw/`` and returns their hashes.

    Files are written once: a second write of the same path is refused, so two collectors
    cannot silently replace each other's evidence.
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def save(self, relpath: str, payload: bytes | str | Any, *, compress: bool = False) -> dict[str, Any]:
        if isinstance(payload, bytes):
            data = payload
        elif isinstance(payload, str):
            data = payload.encode()
        else:
            data = json.dumps(payload, indent=1, sort_keys=True, default=_json_default).encode()
        if compress:
            data = gzip.compress(data, mtime=0)
            relpath += ".gz"
        target = self.root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as fh:
            fh.write(data)
        return {"path": f"raw/{relpath}", "sha256": sha256_bytes(data), "bytes": len(data)}


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    return str(value)
