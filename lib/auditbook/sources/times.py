"""Timestamps in populations: every source keeps them as tz-aware UTC, parsed one way."""

from __future__ import annotations

import pandas as pd


def utc_times(frame: pd.DataFrame, columns: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """``columns`` as tz-aware UTC: datetimes (boto3) and ISO 8601 text (GitHub, files) alike; None is NaT."""
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame
