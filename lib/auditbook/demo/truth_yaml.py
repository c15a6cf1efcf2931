"""The demo's truth files: each seeding module writes the deviations it seeds, ``{test, resource, why}``, as a
sorted YAML list under ``demo/truth/``; the end-to-end tests compare a run's exceptions with their union."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from pathlib import Path

import yaml

TRUTH_DIR = Path(__file__).resolve().parent / "truth"


def in_order(rows: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    """Truth rows in a stable order, so a regenerated file only changes when the seeding does."""
    return sorted(rows, key=lambda row: (row["test"], row["resource"]))


def render(header: str, rows: Iterable[dict[str, str]], width: int = 200) -> str:
    """``header`` (comment lines, each ending in a newline) and the rows, in order."""
    return header + yaml.safe_dump(in_order(rows), sort_keys=False, width=width)


def cli(description: str | None, path: Path, text: Callable[[], str], argv: list[str] | None) -> None:
    """``--write-truth`` writes the truth file; without it the truth is printed."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--write-truth", action="store_true", help=f"write {path}")
    if parser.parse_args(argv).write_truth:
        path.write_text(text())
        print(f"wrote {path}")
    else:
        print(text(), end="")
