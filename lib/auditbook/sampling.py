"""Reproducible samples for re-performance: simple random selection without replacement.

The population is first put in a stable order (by its identifying columns), then
``pandas.DataFrame.sample`` draws with numpy's PCG64 seeded from the run's base seed and the
test id, so the same population, seed and test always give the same sample.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd

METHOD = ("simple random sampling without replacement: population sorted by {keys}, then "
          "pandas.DataFrame.sample(n={n}, random_state={seed}) (numpy PCG64)")


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


def draw(population: pd.DataFrame, keys: list[str], size: int, base_seed: int, test_id: str) -> Sample:
    seed = test_seed(base_seed, test_id)
    ordered = population.sort_values(keys, kind="mergesort").reset_index(drop=True) if keys else population
    chosen = ordered.sample(n=size, random_state=seed) if size else ordered.head(0)
    chosen = chosen.sort_index().reset_index(names="population_row")
    method = METHOD.format(keys=", ".join(keys) or "(given order)", n=size, seed=seed)
    return Sample(chosen, size, len(population), seed, method)
