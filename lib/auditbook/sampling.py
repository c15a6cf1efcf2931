"""Reproducible samples for re-performance: simple random selection without replacement.

The tested population is first put in a stable order (by its identifying columns) and saved in
that order (``populations/tested/<test-id>.csv``); ``pandas.DataFrame.sample`` then draws with
numpy's PCG64 seeded from the run's base seed and the test id, so the same population, seed and
test always give the same sample. ``population_row`` is the sampled row's number in that file
(1 = its first data row), so an auditor can find every sampled item in the population tested.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd

METHOD = ("simple random sampling without replacement: tested population sorted by {keys} ({file}), then "
          "pandas.DataFrame.sample(n={n}, random_state={seed}) (numpy PCG64); population_row is the row's number "
          "in that file")


@dataclass(frozen=True)
class Sample:
    frame: pd.DataFrame
    size: int
    population_size: int
    seed: int
    method: str


def test_seed(base_seed: int, test_id: str) -> int:
    """One seed per test, derived from the base seed so each test's sample is independent."""
    digest = hashlib.sha256(f"{base_seed}:{test_id}".encode()).hexdigest()
    return int(digest[:8], 16)


def sample_size(sizes: dict[str, int], frequency: str, population_size: int) -> int:
    if frequency not in sizes:
        raise KeyError(f"sampling.sizes has no entry for control frequency {frequency!r}")
    return min(sizes[frequency], population_size)


def in_order(population: pd.DataFrame, keys: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """The tested population in the stable order it is saved and sampled in."""
    keys = [k for k in keys if k in population.columns]
    ordered = population.sort_values(keys, kind="mergesort") if keys and len(population) else population
    return ordered.reset_index(drop=True)


def draw(ordered: pd.DataFrame, keys: list[str] | tuple[str, ...], size: int, base_seed: int, test_id: str,
         file: str = "") -> Sample:
    """A sample of ``ordered`` (see :func:`in_order`): its rows with their ``population_row``."""
    seed = test_seed(base_seed, test_id)
    chosen = ordered.sample(n=size, random_state=seed) if size else ordered.head(0)
    chosen = chosen.sort_index()
    chosen.insert(0, "population_row", chosen.index + 1)
    method = METHOD.format(keys=", ".join(k for k in keys if k in ordered.columns) or "(given order)",
                           file=file or "the tested population", n=size, seed=seed)
    return Sample(chosen.reset_index(drop=True), size, len(ordered), seed, method)
