"""How the reports print values and thresholds: words and units, never JSON or float noise."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from auditbook.report import wording


@pytest.mark.parametrize(("value", "expected"), [
    (120.0, "120"), (1234, "1,234"), (0.25, "0.25"), (2 / 3, "0.67"), (True, "yes"), (math.inf, "inf")])
def test_numbers_without_float_noise(value, expected):
    assert wording.number(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (21474836480.0, "20 GiB"), (512, "512 bytes"), (1536, "1.5 KiB"), (0, "0 bytes")])
def test_sizes_carry_a_unit(value, expected):
    assert wording.size(value) == expected


def test_times_to_the_minute_with_their_zone_and_dates_as_dates():
    assert wording.moment("2026-09-10T14:05:59.123456+02:00") == "2026-09-10 12:05 UTC"
    assert wording.moment("2026-09-10T00:00:00Z", date_only=True) == "2026-09-10"
    assert wording.moment(None) == ""
    assert wording.midnight_only(pd.Series(["2026-09-10T00:00Z", "2026-09-11T00:00Z", None]))
    assert not wording.midnight_only(pd.Series(["2026-09-10T00:00Z", "2026-09-11T10:00Z"]))


@pytest.mark.parametrize(("value", "expected"), [
    (None, "none"), ([], "none"), (["a", "b"], "a, b"), ({"max_age_days": 90, "symbols": True},
                                                          "max age days: 90; symbols: yes"),
    ({"namespace": "AWS/RDS", "metric": "FreeStorageSpace"}, "AWS/RDS FreeStorageSpace"),
    ("2026-10-01T00:00:00+00:00", "2026-10-01 00:00 UTC"), ("SEV1", "SEV1")])
def test_settings_read_as_text(value, expected):
    assert wording.text(value) == expected


def test_a_threshold_reads_as_its_test_s_sentence():
    template = "Keys older than {max_key_age_days} days at the period end ({as_of}) deviate."
    assert wording.sentence(template, {"max_key_age_days": 90, "as_of": "2026-10-01T00:00:00+00:00"}) == \
        "Keys older than 90 days at the period end (2026-10-01 00:00 UTC) deviate."
    assert wording.sentence("Tagged {tag[key]}={tag[value]}.", {"tag": {"key": "env", "value": "prod"}}) == \
        "Tagged env=prod."
    assert wording.sentence("Late beyond: {threshold}.", {"SEV1": "15 min", "SEV2": "30 min"}) == \
        "Late beyond: SEV1: 15 min; SEV2: 30 min."


def test_a_sentence_naming_a_setting_the_run_lacks_shows_the_settings_instead():
    """A params file may leave an optional setting out: the report then prints what was applied, never a
    sentence with a hole or a crash."""
    assert wording.sentence("Older than {max_days} days.", {"max_age_days": 90}) == "max age days: 90"
    assert wording.sentence("", {"min_approvals": 1}) == "min approvals: 1"
    assert wording.sentence("", {}) == ""
