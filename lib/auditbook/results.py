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

from auditbook.basis import REMEDY, Basis
from auditbook.context import Context
from auditbook.report import wording

# 1.4: tests state when a row deviates; 1.3: tests state their evidence basis; 1.2: populations give their file
RESULTS_SCHEMA_VERSION = "1.4"
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


Options = Callable[[dict[str, Any], Context], dict[str, Any]]
_RULES: dict[str, Callable[..., TestResult]] = {}


def no_options(settings: dict[str, Any], ctx: Context) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class ControlTest:
    """What a test is, independent of a run: shown in the report and results.json.

    ``reads`` names the evidence catalog's populations the rule takes, in order (the first is the one
    its tested population is drawn from); ``options`` gives the rule's thresholds from this criterion's
    params and the period; ``sample_keys`` put the tested population in a stable order before the
    sample is drawn. The rule itself is registered with ``@TEST.rule``.
    """

    test_id: str
    criterion: str
    title: str
    description: str
    frequency: str  # how often the control operates: drives the sample size
    reads: tuple[str, ...]
    options: Options = no_options
    sample_keys: tuple[str, ...] = ()
    reference: tuple[str, ...] = ()  # reads only looked things up in: not part of the evidence basis
    # the verdict depends only on settings a change call alters (no clock, usage, health or findings), so a
    # reading's verdict holds until the next change CloudTrail records (auditbook.over_snapshots)
    configuration_only: bool = False
    # when a row deviates, as the report's sentence: "{name}" is the threshold's value in words, "{threshold}"
    # all of it (auditbook.report.wording.sentence)
    deviates_when: str = ""

    @property
    def population(self) -> str:
        return self.reads[0]

    def rule(self, function: Callable[..., TestResult]) -> Callable[..., TestResult]:
        """Register ``function`` as this test's rule (a decorator)."""
        _RULES[self.test_id] = function
        return function

    def evaluate(self, *populations: pd.DataFrame, **options: Any) -> TestResult:
        if self.test_id not in _RULES:
            raise LookupError(f"{self.test_id} has no rule registered")
        return _RULES[self.test_id](*populations, **options)


@dataclass(frozen=True)
class Step:
    """One step from a catalog population to the rows a test evaluates, with the rows left after it."""

    description: str
    rows: int


class Tested:
    """The rows a test evaluates, narrowed from a catalog population step by step, each step's count kept.

    The first step is always the whole population as collected, so the counts tie to its CSV.
    """

    def __init__(self, population: pd.DataFrame, source: str) -> None:
        self.frame = population
        self.source = source
        self.steps = [Step(f"all rows of {source}", len(population))]

    def keep(self, mask: Any, description: str) -> Tested:
        """Only the rows where ``mask`` holds (a boolean Series, or a function of the current frame giving
        one), with why: e.g. "with a console password (password_enabled)"."""
        if callable(mask):
            mask = mask(self.frame) if len(self.frame) else None
        kept = self.frame[mask] if len(self.frame) else self.frame
        return self._then(kept, description)

    def reshape(self, frame: pd.DataFrame, description: str) -> Tested:
        """A new table built from the rows (e.g. one row per principal, or per active access key)."""
        return self._then(frame, description)

    def annotate(self, frame: pd.DataFrame) -> Tested:
        """The same rows with columns added for the reader (ages, outcomes): no new step."""
        if len(frame) != len(self.frame):
            raise ValueError(f"annotate keeps the rows: {len(frame)} rows given for {len(self.frame)}")
        nxt = self._then(frame, "")
        nxt.steps = list(self.steps)
        return nxt

    def _then(self, frame: pd.DataFrame, description: str) -> Tested:
        nxt = Tested.__new__(Tested)
        nxt.frame, nxt.source, nxt.steps = frame, self.source, [*self.steps, Step(description, len(frame))]
        return nxt

    def __len__(self) -> int:
        return len(self.frame)


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
    steps: list[Step] = field(default_factory=list)  # from the catalog population to the tested rows
    basis: Basis | None = None  # what the conclusion stands on, and whether it covers the period
    gaps: list[str] = field(default_factory=list)  # unknown intervals of the timelines the rule read

    __test__ = False  # not a pytest test class

    @property
    def deviation_count(self) -> int:
        return len(self.deviations)

    def summary(self) -> str:
        if self.status in (Status.ERROR, Status.NOT_APPLICABLE):
            return f"{self.status}: {self.cause}"
        return f"{self.status}: {self.deviation_count} of {self.population_size} deviate"

    def threshold_sentence(self) -> str:
        """The threshold in a sentence ("Active keys older than 90 days at the period end deviate."); the
        settings in words when the test has no sentence or the sentence names a setting this run lacks."""
        return wording.sentence(self.test.deviates_when, self.threshold)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.test.test_id,
            "title": self.test.title,
            "description": self.test.description,
            "frequency": self.test.frequency,
            "population": self.test.population,
            "reads": list(self.test.reads),
            "status": str(self.status),
            "population_size": self.population_size,
            "deviation_count": self.deviation_count,
            "threshold": self.threshold,
            "deviates_when": self.threshold_sentence(),
            "cause": self.cause,
            "notes": self.notes,
            "steps": [{"step": s.description, "rows": s.rows} for s in self.steps],
            "basis": self.basis.to_dict() if self.basis else None,
        }


def evaluate(test: ControlTest, population: pd.DataFrame | Tested, deviations: list[dict[str, Any]],
             threshold: dict[str, Any] | None = None, notes: list[str] | None = None,
             gaps: list[str] | None = None) -> TestResult:
    """The one place a result's status is decided from its deviations.

    ``population`` is the tested rows: a :class:`Tested` with its steps, or a whole catalog population.
    An empty one passes with a note saying nothing was in scope, never silently. ``gaps``: the intervals of the
    tested resources' timelines whose state is unknown (:func:`with_basis` keeps them from passing).
    """
    tested = population if isinstance(population, Tested) else Tested(population, test.population)
    frame = pd.DataFrame(deviations, columns=None if deviations else DEVIATION_COLUMNS)
    missing = [c for c in DEVIATION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{test.test_id}: deviation rows lack {missing}")
    frame = frame[DEVIATION_COLUMNS + [c for c in frame.columns if c not in DEVIATION_COLUMNS]]
    status = Status.FAIL if len(frame) else Status.PASS
    notes = list(notes or [])
    if not len(tested) and status is Status.PASS:
        notes.insert(0, f"No resources in scope: {_nothing_left(tested)}; nothing to test.")
    return TestResult(test, status, len(tested), tested.frame.reset_index(drop=True),
                      frame.reset_index(drop=True), dict(threshold or {}), notes=notes, steps=list(tested.steps),
                      gaps=list(gaps or []))


def with_basis(result: TestResult, basis: Basis) -> TestResult:
    """The result with its evidence basis: a PASS stands only on evidence covering the period.

    Without it the test is ERROR naming what is not covered and the remedy, unless params accept that for
    this test (then PASS, saying so). Deviations stand whatever the coverage: an exception seen is one.
    """
    basis.gaps.extend(result.gaps)
    result.basis = basis
    uncovered = basis.uncovered()
    if result.status is Status.PASS and uncovered:
        if basis.accepted:
            result.notes.append(f"Evidence does not cover the whole period ({'; '.join(uncovered)}); params accept "
                                f"that for this test: {basis.accepted}")
            return result
        errored_result = errored(result.test, f"the evidence does not cover the period: {'; '.join(uncovered)}. "
                                              f"A PASS needs the whole period: {REMEDY}, or accept this evidence "
                                              f"for {result.test.test_id} in params (coverage.accept)")
        errored_result.basis = basis
        return errored_result
    if result.status is Status.FAIL and uncovered:
        result.notes.append(f"The deviations stand; the evidence does not cover the whole period "
                            f"({'; '.join(uncovered)}), so other deviations may not have been seen.")
    return result


def _nothing_left(tested: Tested) -> str:
    if tested.steps[0].rows == 0:
        return f"{tested.source} has no rows"
    emptied = next(s for s in tested.steps if s.rows == 0)
    return f"no row of {tested.source} is left after \"{emptied.description}\""


def when(value: Any, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A time in a deviation's words; a missing one says so instead of failing the rule."""
    return "(time not recorded)" if value is None or pd.isna(value) else f"{pd.Timestamp(value):{pattern}}"


def errored(test: ControlTest, cause: str) -> TestResult:
    return TestResult(test, Status.ERROR, cause=cause)


def not_applicable(test: ControlTest, reason: str) -> TestResult:
    return TestResult(test, Status.NOT_APPLICABLE, cause=reason)


ControlFunction = Callable[..., TestResult]
