"""Every rule is total: on an empty population of the catalog's columns, on a one-row population of empty
values, and on one real row of the demo, each test returns PASS (saying when nothing was in scope), FAIL or
NOT_APPLICABLE, never an exception; and the tested population it reports ties to its steps."""

from __future__ import annotations

import pytest
from auditbook import catalog, layout
from auditbook.context import Context
from auditbook.controls import all_tests
from auditbook.demo.environment import DEMO_PARAMS
from auditbook.params import load
from auditbook.period import parse_period
from auditbook.results import ControlTest, Status, TestResult

CTX = Context(load(DEMO_PARAMS), parse_period("2026-Q3"))
TESTS = all_tests()


def evaluate(test: ControlTest, frames: list) -> TestResult:
    return test.evaluate(*frames, **test.options(CTX.settings(test.criterion), CTX))


def assert_total(result: TestResult, first_read_rows: int) -> None:
    assert result.status in (Status.PASS, Status.FAIL, Status.NOT_APPLICABLE), result.cause
    if result.status is Status.NOT_APPLICABLE:
        return
    assert result.population_size == len(result.tested) == result.steps[-1].rows
    assert result.steps[0].rows == first_read_rows
    if result.status is Status.PASS and result.population_size == 0:
        assert result.notes and result.notes[0].startswith("No resources in scope"), result.notes


@pytest.mark.parametrize("test", TESTS, ids=lambda t: t.test_id)
def test_on_an_empty_population(test):
    assert_total(evaluate(test, [catalog.empty(name) for name in test.reads]), 0)


@pytest.mark.parametrize("test", TESTS, ids=lambda t: t.test_id)
def test_on_one_row_of_empty_values(test):
    """Every optional field missing at once: odd, but a shape a real API answer can take."""
    assert_total(evaluate(test, [catalog.from_rows(name, [{}]) for name in test.reads]), 1)


@pytest.mark.parametrize("test", TESTS, ids=lambda t: t.test_id)
def test_on_one_real_row_of_the_demo(test, demo_run):
    frames = [catalog.read_csv(name, demo_run.run_dir / layout.population_csv(name)).head(1) for name in test.reads]
    assert_total(evaluate(test, frames), len(frames[0]))


DERIVED = [e for e in catalog.ENTRIES.values() if e.fanout == "derived"]


@pytest.mark.parametrize("entry", DERIVED, ids=lambda e: e.name)
@pytest.mark.parametrize("rows", [0, 1], ids=["empty", "one-row-of-empty-values"])
def test_every_derivation_is_total_and_keeps_its_contract(entry, rows):
    """A worksheet built from populations a company does not have (or has one odd row of) is a worksheet."""
    inputs = {param: catalog.from_rows(source, [{}] * rows) for param, source in entry.input_names(CTX).items()}
    frame = entry.derive(**inputs, **entry.arguments(CTX))
    catalog.conform(entry.name, frame)
