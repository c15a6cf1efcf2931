"""Values in the words and units an auditor reads: integers without ".0", yes/no, lists and settings as text,
dates as dates, times to the minute with their zone, bytes with a unit. The CSVs and results.json keep the
values exactly as collected; this is only how the reports print them."""

from __future__ import annotations

import math
import re
import string
from datetime import date, datetime
from typing import Any

import pandas as pd

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"]


def number(value: float | int) -> str:
    """1,234; 120 (not 120.0); 0.25."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def size(value: float | int) -> str:
    """21474836480 → "20 GiB"."""
    amount, unit = float(value), 0
    while amount >= 1024 and unit < len(_UNITS) - 1:
        amount, unit = amount / 1024, unit + 1
    return f"{number(round(amount, 1))} {_UNITS[unit]}"


def moment(value: Any, date_only: bool = False) -> str:
    """A time to the minute with its zone ("2026-09-10 14:05 UTC"); a date alone when it is one."""
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return ""
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC")
    if date_only:
        return f"{stamp:%Y-%m-%d}"
    return f"{stamp:%Y-%m-%d %H:%M}" + (" UTC" if stamp.tzinfo is not None else "")


def text(value: Any) -> str:
    """Any params or evidence value as words: settings and lists read as text, never as JSON."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, datetime | pd.Timestamp):
        return moment(value)
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, str):
        return moment(value) if _ISO.match(value) else value
    if isinstance(value, dict) and set(value) == {"namespace", "metric"}:
        return f"{value['namespace']} {value['metric']}"
    if isinstance(value, dict):
        return "; ".join(f"{label(k)}: {text(v)}" for k, v in value.items()) or "none"
    if isinstance(value, list | tuple | set):
        return ", ".join(text(v) for v in value) or "none"
    return str(value)


def label(key: Any) -> str:
    """``max_rotation_days`` → "max rotation days"."""
    return str(key).replace("_", " ")


def midnight_only(values: pd.Series) -> bool:
    """A column of times that are all at 00:00:00 holds dates (a termination date, a review date)."""
    stamps = pd.to_datetime(values.dropna(), errors="coerce", utc=True)
    stamps = stamps.dropna()
    return bool(len(stamps)) and bool((stamps == stamps.dt.normalize()).all())


class _InWords(string.Formatter):
    """``{max_key_age_days}`` → "90"; ``{threshold}`` → every setting; ``{scope_tag[key]}`` reaches inside."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def get_value(self, key: int | str, args: Any, kwargs: Any) -> Any:
        return self.values if key == "threshold" else self.values[key]

    def format_field(self, value: Any, format_spec: str) -> str:
        return text(value)


def sentence(template: str, threshold: dict[str, Any]) -> str:
    """A test's threshold as the sentence its test declares, or its settings in words when it declares none
    (or names a setting this run's threshold lacks: the settings are then shown rather than a wrong sentence)."""
    if template:
        try:
            return _InWords(threshold).vformat(template, (), {})
        except (KeyError, IndexError, TypeError):
            pass
    return text(threshold) if threshold else ""
