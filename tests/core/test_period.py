from datetime import UTC, datetime

import pytest
from auditbook.period import PeriodError, assert_period_closed, parse_period


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2026-Q3", "2026-07-01", "2026-10-01"),
    ("2026-q4", "2026-10-01", "2027-01-01"),
    ("2026-07", "2026-07-01", "2026-08-01"),
    ("2026-12", "2026-12-01", "2027-01-01"),
    ("2026", "2026-01-01", "2027-01-01"),
    ("2026-07-01..2026-09-30", "2026-07-01", "2026-10-01"),
    ("2026-02-28..2026-02-28", "2026-02-28", "2026-03-01"),
])
def test_forms_are_closed_open_utc_intervals(text, start, end):
    period = parse_period(text)
    assert period.start == datetime.fromisoformat(start).replace(tzinfo=UTC)
    assert period.end == datetime.fromisoformat(end).replace(tzinfo=UTC)
    assert period.contains(period.start) and not period.contains(period.end)


@pytest.mark.parametrize("text", ["2026-Q5", "2026-13", "26-Q3", "2026-09-31..2026-10-02",
                                  "2026-09-30..2026-07-01", "last quarter", ""])
def test_bad_periods_are_refused_with_the_value_named(text):
    with pytest.raises(PeriodError, match="period"):
        parse_period(text)


def test_a_period_that_has_not_ended_is_refused():
    with pytest.raises(PeriodError, match="has not ended"):
        assert_period_closed(parse_period("2026-Q4"), datetime(2026, 11, 28, tzinfo=UTC))
    assert_period_closed(parse_period("2026-Q3"), datetime(2026, 11, 28, tzinfo=UTC))
