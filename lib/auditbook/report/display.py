"""Presentation shared by every notebook: header, status banners, tables, provenance, charts.

All output is HTML (plus matplotlib figures), so JupyterLab, the exported HTML and the PDF
look the same. The stylesheet travels in the header's output cell.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from importlib import resources
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import HTML, display

from auditbook import layout
from auditbook.basis import Basis, conclusion_prefix
from auditbook.provenance import Population
from auditbook.report import wording
from auditbook.results import Status, TestResult
from auditbook.sampling import Sample

PDF_ROWS = 25  # rows of a table shown in the report; the complete table is in the package CSV
RAW_FILES_SHOWN = 5  # a population read from hundreds of files lists them all in results.json
OPERATIONS_SHOWN = 8
DEVIATION_ROWS = 100  # the report stays bounded at any scale; exceptions.csv lists every deviation
CELL_CHARS = 320  # a cell longer than this is cut with "..." (a deviation names its change and why); CSVs are whole
STATUS_COLOURS = {Status.PASS: "#1b7f3b", Status.FAIL: "#b3261e", Status.ERROR: "#7a4b00",
                  Status.NOT_APPLICABLE: "#5f6368"}


def stylesheet() -> str:
    return resources.files("auditbook.report").joinpath("report.css").read_text()


def escape(value: Any) -> str:
    return html.escape("" if value is None else str(value))


_esc = escape


# JupyterLab typesets TeX in every HTML output (MathJax): evidence with two `$` (a GraphQL query's `$owner ...
# $baseRefName`) became italic math. JupyterLab 4's MathJax 3 skips elements of class `mathjax_ignore` (its
# default ignoreHtmlClass, as jupyterlab/static sets no other); `tex2jax_ignore` is the same for MathJax 2 (classic
# notebook, nbconvert's HTML). `&#36;` would not help: the browser decodes it before MathJax reads the text.
NO_MATH = "mathjax_ignore"
NO_MATH_CLASSES = f"{NO_MATH} tex2jax_ignore"


def no_math(markup: str) -> str:
    """Markup wrapped so that JupyterLab shows every `$` as written (no math rendering of evidence)."""
    return f"<div class='{NO_MATH_CLASSES}'>{markup}</div>"


def show(markup: str) -> None:
    display(HTML(no_math(markup)))


def key_values(pairs: dict[str, Any], css: str = "kv") -> str:
    rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in pairs.items())
    return f'<table class="{css}">{rows}</table>'


def header(title: str, facts: dict[str, Any], shown: Any = None) -> Any:
    """The report header; ``shown`` (what an earlier call returned) is replaced in place rather than shown again.
    Returns the display handle."""
    markup = HTML(no_math(f"<style>{stylesheet()}</style><div class='ab-header'><h1>{_esc(title)}</h1>"
                          f"{key_values(facts)}</div>"))
    if shown is not None:
        shown.update(markup)
        return shown
    return display(markup, display_id=True)


def badge(status: Status) -> str:
    return f"<span class='ab-badge' style='background:{STATUS_COLOURS[status]}'>{_esc(status)}</span>"


def _cell(value: Any, kind: str = "") -> str:
    """One table cell in words: times to the minute (the zone in the column's heading), a column of dates as
    dates, bytes with a unit, numbers without float noise."""
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp | datetime) or (kind in ("date", "time") and isinstance(value, str) and value):
        stamp = pd.Timestamp(value)
        if pd.isna(stamp):
            return ""
        stamp = stamp.tz_convert("UTC") if stamp.tzinfo is not None else stamp
        return f"{stamp:%Y-%m-%d}" if kind == "date" else f"{stamp:%Y-%m-%d %H:%M}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "bytes" and isinstance(value, int | float):
        return wording.size(value)
    if isinstance(value, int | float):
        return wording.number(value)
    text = str(value)
    return text if len(text) <= CELL_CHARS else text[:CELL_CHARS - 3] + "..."


def _column_kind(name: str, values: pd.Series) -> str:
    """How a column's cells read: "date" (every time at midnight), "time", "bytes" (by name), or as they are."""
    if str(name).endswith("bytes"):
        return "bytes"
    timed = pd.api.types.is_datetime64_any_dtype(values) or (
        values.dtype == object and len(values.dropna()) and values.dropna().map(
            lambda v: isinstance(v, pd.Timestamp | datetime) or bool(_ISO_TIME.match(str(v)))).all())
    if not timed:
        return ""
    return "date" if wording.midnight_only(values) else "time"


_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


_LONG_RUN = re.compile(r"[^\s<>&]{16,}|(?:[^\s<>]|&[a-z#0-9]+;){16,}")
_BREAK_AFTER = re.compile(r"([-_/.:;,@#=+|)])")


def _breakable(escaped: str) -> str:
    """Escaped cell text with a break opportunity (``<wbr>``) after the punctuation of every long unspaced run
    (ids, hashes, ARNs, lists joined by ';') and every 12 characters of it at the latest, so a table fits the page
    without ``overflow-wrap: anywhere`` (which makes WeasyPrint size columns far more slowly)."""
    def split(run: re.Match[str]) -> str:
        parts = _BREAK_AFTER.sub(r"\1<wbr>", run[0]).split("<wbr>")
        out = []
        for part in parts:
            chunks = re.findall(r"(?:&[a-z#0-9]+;|[^&]){1,12}", part) or [part]
            out.append("<wbr>".join(chunks))
        return "<wbr>".join(out)
    return _LONG_RUN.sub(split, escaped)


def table(frame: pd.DataFrame, columns: list[str] | None = None, max_rows: int = PDF_ROWS,
          csv_name: str | None = None) -> str:
    """An HTML table of at most ``max_rows`` rows, saying where the complete table is."""
    if columns:
        frame = frame[[c for c in columns if c in frame.columns]]
    if frame.empty:
        return "<p class='ab-empty'>(no rows)</p>"
    shown = frame.head(max_rows)
    kinds = [_column_kind(c, shown[c]) for c in shown.columns]
    head = "".join(f"<th>{_breakable(_esc(c))}{' (UTC)' if kind == 'time' else ''}</th>"
                   for c, kind in zip(shown.columns, kinds, strict=True))
    body = "".join(
        "<tr>" + "".join(f"<td>{_breakable(_esc(_cell(v, kind)))}</td>" for v, kind in zip(row, kinds, strict=True))
        + "</tr>" for row in shown.itertuples(index=False)
    )
    more = ""
    if len(frame) > max_rows:
        where = f" in <code>{_esc(csv_name)}</code>" if csv_name else ""
        more = f"<p class='ab-more'>First {max_rows} of {len(frame)} rows; all rows{where}.</p>"
    return f"<table class='ab-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def test_result(result: TestResult, sample: Sample | None = None, sample_file: str | None = None,
                sample_columns: list[str] | None = None, accepted: dict[str, str] | None = None,
                tested_file: dict[str, Any] | None = None) -> None:
    """Status banner, n of N, how N was reached, threshold, the deviation rows, and the sample drawn.

    ``accepted``: resource id → "accepted until ..." for deviations in the exception register (shown,
    still counted). ``tested_file``: where the N rows tested are (``csv``, ``rows``).
    """
    t = result.test
    parts = [f"<div class='ab-test' id='test-{_esc(t.test_id)}'><h3>{badge(result.status)} {_esc(t.test_id)} — "
             f"{_esc(t.title)}</h3>",
             f"<p class='ab-desc'>{_esc(t.description)}</p>"]
    if result.status in (Status.ERROR, Status.NOT_APPLICABLE):
        label = "Evidence incomplete" if result.status is Status.ERROR else "Not applicable"
        parts.append(f"<p class='ab-cause'><b>{label}:</b> {_esc(result.cause)}</p>")
    else:
        parts.append(f"<p class='ab-count'>{_esc(conclusion_prefix(result.basis))}"
                     f"<b>{result.deviation_count} of {result.population_size}</b> "
                     f"{_esc(t.population)} rows deviate"
                     + (f"; {len(accepted)} of them accepted by management (exception register)" if accepted else "")
                     + ".</p>")
        parts.append(tested_population(result, tested_file))
    if result.basis is not None:
        parts.append(evidence_basis(result.basis))
    threshold = result.threshold_sentence()
    if threshold:
        parts.append(f"<p class='ab-threshold'><b>Threshold:</b> {_esc(threshold)}</p>")
    if result.deviation_count:
        rows = result.deviations
        if accepted:
            rows = rows.assign(acceptance=rows["resource_id"].map(accepted).fillna("open"))
        parts.append("<h4>Deviations</h4>" + table(rows, max_rows=DEVIATION_ROWS, csv_name=layout.EXCEPTIONS_CSV))
    for note in result.notes:
        parts.append(f"<p class='ab-note'>{_esc(note)}</p>")
    if sample is not None and sample.size:
        parts.append(f"<h4>Sample for re-performance ({sample.size} of {sample.population_size})</h4>"
                     f"<p class='ab-note'>Seed {_esc(sample.seed)}; {_esc(sample.method)}.</p>")
        parts.append(table(sample.frame, columns=sample_columns, max_rows=PDF_ROWS, csv_name=sample_file))
    parts.append("</div>")
    show("".join(parts))


def evidence_basis(basis: Basis) -> str:
    """What the conclusion stands on, next to the result: a point in time is never shown as the period."""
    accepted = f" Accepted in params for this test: {_esc(basis.accepted)}." if basis.accepted else ""
    return (f"<p class='ab-basis'><b>Evidence basis — {_esc(basis.kind)}:</b> {_esc(basis.sentence())}."
            f"{accepted}</p>")


def tested_population(result: TestResult, tested_file: dict[str, Any] | None) -> str:
    """How the N rows tested were reached from the catalog population, and the file that holds them."""
    steps = " → ".join(f"{_esc(s.description)}: {_esc(s.rows)}" for s in result.steps)
    where = f" (<code>{_esc(tested_file['csv'])}</code>)" if tested_file else ""
    return f"<p class='ab-note'><b>Tested population{where}:</b> {steps}.</p>"


def _clip(text: str, limit: int) -> str:
    """Long query texts stay in results.json; the report shows their start."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Query texts (GraphQL, SQL) the provenance boxes name: printed once, whole, in the report's appendix.
_QUERY_TEXTS: dict[str, str] = {}


def _parameters(operation: str, parameters: dict[str, Any]) -> str:
    """An operation's parameters in words; a query text goes to the appendix and is named here."""
    shown = {k: v for k, v in parameters.items() if k != "query"}
    words = [f"{wording.label(k)}: {_clip(wording.text(v), 160)}" for k, v in shown.items()]
    if isinstance(parameters.get("query"), str):
        _QUERY_TEXTS.setdefault(operation, parameters["query"])
        words.append("query text: see the appendix")
    return f" ({'; '.join(words)})" if words else ""


def query_appendix() -> None:
    """The whole text of every query the report's provenance names, as sent."""
    if not _QUERY_TEXTS:
        return
    blocks = "".join(f"<h4>{_esc(op)}</h4><pre class='ab-query'>{_esc(q.strip())}</pre>"
                     for op, q in sorted(_QUERY_TEXTS.items()))
    _QUERY_TEXTS.clear()
    show(f"<div class='ab-appendix'><h2 id='appendix-queries'>Appendix — query texts</h2><p class='ab-note'>The "
         f"queries the collections above sent, as sent (results.json keeps them with each operation).</p>{blocks}"
         "</div>")


def provenance(pop: Population, csv_name: str) -> None:
    p = pop.provenance
    ops = "; ".join(
        f"{o.operation}{_parameters(o.operation, o.parameters) if o.parameters else ''} "
        f"— {wording.number(o.pages)} page{'s' if o.pages != 1 else ''}, {wording.number(o.records)} records"
        for o in p.operations[:OPERATIONS_SHOWN]
    )
    if len(p.operations) > OPERATIONS_SHOWN:
        ops += (f"; and {len(p.operations) - OPERATIONS_SHOWN} more calls "
                f"({sum(o.pages for o in p.operations)} pages in all, listed in results.json)")
    facts = {
        "Population": f"{pop.name} — {p.record_count} rows (complete table: {csv_name})",
        "System": p.system, "Endpoint": p.endpoint, "Scope": p.scope, "Caller identity": p.caller,
        "Collected at": wording.text(p.collected_at), "Operations": ops,
    }
    for i, raw in enumerate(p.raw_files[:RAW_FILES_SHOWN], 1):
        facts[f"Raw evidence {i}"] = f"{raw['path']} sha256 {raw['sha256']}"
    if len(p.raw_files) > RAW_FILES_SHOWN:
        facts["More raw evidence"] = (f"{len(p.raw_files) - RAW_FILES_SHOWN} more files, each with its sha256 in "
                                      "results.json and manifest.json")
    for i, note in enumerate(p.notes, 1):
        facts[f"Note {i}"] = note
    show(f"<div class='ab-prov'><h4>Provenance</h4>{key_values(facts, 'kv small')}</div>")


def collection_error(name: str, cause: str) -> None:
    show(f"<div class='ab-test'><h3>{badge(Status.ERROR)} Population {_esc(name)} could not be collected</h3>"
         f"<p class='ab-cause'>{_esc(cause)}</p><p>Every test that needs it is ERROR.</p></div>")


def summary(criterion: str, status: Status, results: list[TestResult]) -> None:
    rows = "".join(
        f"<tr><td>{_esc(r.test.test_id)}</td><td>{_esc(r.test.title)}</td><td>{badge(r.status)}</td>"
        f"<td>{'' if r.status in (Status.ERROR, Status.NOT_APPLICABLE) else r.deviation_count}</td>"
        f"<td>{'' if r.status in (Status.ERROR, Status.NOT_APPLICABLE) else r.population_size}</td></tr>"
        for r in results
    )
    show(f"<div class='ab-summary'><h2>{_esc(criterion)} result: {badge(status)}</h2>"
         f"<table class='ab-table'><thead><tr><th>Test</th><th>Title</th><th>Status</th><th>Deviations</th>"
         f"<th>Population</th></tr></thead><tbody>{rows}</tbody></table></div>")


def figure(width: float = 7.0, height: float = 2.6) -> tuple[plt.Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax
