"""Test results and their statuses (fail closed).

``PASS``: the whole population was tested and no deviation found. ``FAIL``: deviations,
listed row by row. ``ERROR``: the evidence could not be collected completely, never shown as
PASS. ``NOT_APPLICABLE``: declared out of scope in params, with the reason.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

RESULTS_SCHEMA_VERSION = "1.0"
DEVIATION_COLUMNS = ["resource_type", "resource_id", "detail"]


class Status(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    NOT_APPLICABLE = "NOT_APPLICABLE"


# Worst first: a criterion's status is the worst of its tests.
_SEVERITY = {Status.ERROR: 3, Status.FAIL: 2, Status.PASS: 1, Status.NOT_APPLICABLE: 0}


def worst(statuses: Iterable[Status]) -> Status:
    statuses = list(statuses)
    if not statuses:
        return Status.ERROR  # a criterion that tested nothing proves nothing
    return max(statuses, key=_SEVERITY.__getitem__)


@dataclass(frozen=True)
class ControlTest:
    """What a test is, independent of a run: shown in the report and results.json."""

    test_id: str
    criterion: str
    title: str
    description: str
    frequency: str  # how often the control operates: drives the sample size
    population: str  # name of the population the test runs over


@dataclass
class TestResult:
    test: ControlTest
    status: Status
    population_size: int = 0
    tested: pd.DataFrame = field(default_factory=pd.DataFrame)  # the population as tested (for sampling)
    deviations: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DEVIATION_COLUMNS))
    threshold: dict[str, Any] = field(default_factory=dict)
    cause: str | None = None  # why ERROR or NOT_APPLICABLE
    notes: list[str] = field(default_factory=list)

    __test__ = False  # not a pytest test class

    @property
    def deviation_count(self) -> int:
        return len(self.deviations)

    def summary(self) -> str:
        if self.status in (Status.ERROR, Status.NOT_APPLICABLE):
            return f"{self.status}: {self.cause}"
        return f"{self.status}: {self.deviation_count} of {self.population_size} deviate"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.test.test_id,
            "title": self.test.title,
            "description": self.test.description,
            "frequency": self.test.frequency,
            "population": self.test.population,
            "status": str(self.status),
            "population_size": self.population_size,
            "deviation_count": self.deviation_count,
            "threshold": self.threshold,
            "cause": self.cause,
            "notes": self.notes,
        }


def evaluate(test: ControlTest, population: pd.DataFrame, deviations: list[dict[str, Any]],
             threshold: dict[str, Any] | None = None, notes: list[str] | None = None) -> TestResult:
    """The one place a result's status is decided from its deviations."""
    frame = pd.DataFrame(deviations, columns=None if deviations else DEVIATION_COLUMNS)
    missing = [c for c in DEVIATION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{test.test_id}: deviation rows lack {missing}")
    frame = frame[DEVIATION_COLUMNS + [c for c in frame.columns if c not in DEVIATION_COLUMNS]]
    status = Status.FAIL if len(frame) else Status.PASS
    return TestResult(test, status, len(population), population.reset_index(drop=True),
                      frame.reset_index(drop=True), dict(threshold or {}), notes=list(notes or []))


def errored(test: ControlTest, cause: str) -> TestResult:
    return TestResult(test, Status.ERROR, cause=cause)


def not_applicable(test: ControlTest, reason: str) -> TestResult:
    return TestResult(test, Status.NOT_APPLICABLE, cause=reason)


ControlFunction = Callable[..., TestResult]
