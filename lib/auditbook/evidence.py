"""Collect once per run: the first notebook that needs a population collects it, the others
wait for it and read the same snapshot, so every criterion tests the same evidence.

Notebooks run in separate kernels, in parallel: a lock file per population serialises them.
The cache folder is working state, removed before the package is sealed.
"""

from __future__ import annotations

import fcntl
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from auditbook.provenance import CollectionError

T = TypeVar("T")

CACHE_DIR = ".evidence"


class EvidenceCache:
    def __init__(self, run_dir: Path) -> None:
        self.dir = Path(run_dir) / CACHE_DIR

    def get_or_collect(self, name: str, collect: Callable[[], T]) -> tuple[T, bool]:
        """(evidence, collected by this call). A failure is cached too: every reader sees it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            stored, failed = self.dir / f"{name}.pickle", self.dir / f"{name}.error"
            if stored.exists():
                return pickle.loads(stored.read_bytes()), False
            if failed.exists():
                raise CollectionError(failed.read_text())
            try:
                pop = collect()
            except CollectionError as exc:
                failed.write_text(str(exc))
                raise
            except Exception as exc:
                failed.write_text(f"{type(exc).__name__}: {exc}")
                raise CollectionError(f"{type(exc).__name__}: {exc}") from exc
            stored.write_bytes(pickle.dumps(pop))
            return pop, True
