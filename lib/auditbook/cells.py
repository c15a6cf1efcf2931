"""Spreadsheet formula injection: a text cell a person opens in Excel or LibreOffice must never run.

Collected values are not ours: a pull request title, an HR roster name or an incident title can be
``=HYPERLINK(...)``, ``+cmd|...`` or ``@SUM(...)``, and a spreadsheet evaluates such a cell when the CSV or
workbook is opened. The OWASP rule (CSV injection): a text cell that begins with ``=``, ``+``, ``-``, ``@``,
tab or carriage return gets a leading ``'``, which makes it inert text. To stay reversible, a text cell that
already begins with ``'`` gets one more, so :func:`restore` (strip one leading ``'``) gives every value back
exactly. Numbers, times and booleans are not text and are left alone.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(value: Any) -> Any:
    """The value as written to a spreadsheet cell: text that could start a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith((*FORMULA_TRIGGERS, QUOTE)):
        return QUOTE + value
    return value


def workbook_text(value: Any) -> Any:
    """A neutralised value a workbook (XML) can hold: the control characters XML 1.0 forbids, which openpyxl
    refuses, are written as ``\\xHH``. The workbook is the reviewer's copy; the CSV keeps every byte."""
    value = neutralise(value)
    if isinstance(value, str):
        return XML_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return value


def restore(value: Any) -> Any:
    """The value :func:`neutralise` was given (every written text cell starting with ``'`` got it from there)."""
    if isinstance(value, str) and value.startswith(QUOTE):
        return value[1:]
    return value


def _text_columns(frame: pd.DataFrame) -> list[Any]:
    return [c for c in frame.columns
            if pd.api.types.is_object_dtype(frame[c].dtype) or pd.api.types.is_string_dtype(frame[c].dtype)]


def neutralise_frame(frame: pd.DataFrame, cell: Any = neutralise) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell neutralised (``cell``: :func:`workbook_text` for a workbook)."""
    text = _text_columns(frame)
    if not text:
        return frame
    out = frame.copy()
    for column in text:
        out[column] = out[column].map(cell)
    return out


def restore_frame(frame: pd.DataFrame, columns: list[Any] | None = None) -> pd.DataFrame:
    """``frame`` read back from a neutralised CSV, with ``columns`` (default: every text column) restored."""
    out = frame.copy()
    for column in _text_columns(frame) if columns is None else columns:
        out[column] = out[column].map(restore)
    return out
