"""Section IV of a SOC 2 Type II report, as auditors write it: per criterion the control, and per test the test
performed and its result ("No exceptions noted." / "Exceptions noted: 2 of 15 …").

Built from results.json (the counts), exceptions.csv (the row numbers an exception is on), the catalog (what each
population is) and each criterion notebook's own "Control." narrative, so every figure ties to a file of the
package. Written into the index and as ``reports/tests-of-controls.md`` for pasting into the report.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from auditbook.period import in_words

_CONTROL = re.compile(r"\*\*Control\.\*\*\s*(.+?)(?:\n\s*\n|$)", re.S)


@dataclass(frozen=True)
class Entry:
    criterion: str
    test_id: str
    control: str  # the control activity the test checks (the test's description)
    performed: str
    result: str
    basis: str
    sample: str


def criterion_control(criterion: str) -> str:
    """The criterion notebook's "**Control.**" paragraph, as one line of text."""
    notebook = resources.files("auditbook") / "notebooks" / f"{criterion}.ipynb"
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    except (FileNotFoundError, KeyError, ValueError):
        return ""
    text = "".join(cells[0]["source"]) if cells and cells[0]["cell_type"] == "markdown" else ""
    found = _CONTROL.search(text)
    return " ".join(found[1].split()) if found else ""


def exception_rows(exceptions_csv: Path) -> dict[str, list[int]]:
    """test id → the exceptions.csv row numbers (1 = the first row after the heading) of its deviations."""
    if not exceptions_csv.exists():
        return {}
    rows: dict[str, list[int]] = {}
    with open(exceptions_csv, newline="", encoding="utf-8") as fh:
        for number, row in enumerate(csv.DictReader(fh), 1):
            rows.setdefault(row["test_id"], []).append(number)
    return rows


def _ranges(numbers: list[int]) -> str:
    """[3, 4, 5, 9] → "3–5, 9"."""
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}–{b}" if a != b else f"{a}" for a, b in spans)


def _clause(description: str) -> str:
    """"Every console user has MFA." → "every console user has MFA"."""
    text = description.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _population_words(test: dict[str, Any]) -> str:
    from auditbook import catalog

    try:
        what = catalog.entry(test["population"]).description.rstrip(".")
    except KeyError:
        what = test["population"]
    return f"{test['population']} ({what[:1].lower()}{what[1:]})"


def entry(criterion: str, test: dict[str, Any], rows: dict[str, list[int]], period: str) -> Entry:
    n, found = test["population_size"], test["deviation_count"]
    stated = test.get("basis") or {}
    basis = (stated.get("kind", "") + ("" if stated.get("covers_period", True) else
                                       ", not covering the whole period: the gaps are named in the report")
             + (f" (accepted in params: {stated['accepted']})" if stated.get("accepted") else ""))
    if test["status"] in ("PASS", "FAIL"):
        inspected = f"Inspected {_population_words(test)}, {n} item{'s' if n != 1 else ''} tested over {period}, "
        # The control activity column already states the control; the test names the rule once, as applied.
        performed = (inspected + f"against this rule: {test['deviates_when'].rstrip('.')}" if test.get("deviates_when")
                     else inspected + f"and determined whether {_clause(test['description'])}")
        if found:
            where = rows.get(test["id"], [])
            result = (f"Exceptions noted: {found} of {n} — see exceptions.csv row{'s' if len(where) != 1 else ''} "
                      f"{_ranges(where)}." if where else f"Exceptions noted: {found} of {n}.")
            accepted = test.get("accepted_count") or 0
            if accepted:
                result += f" Management accepted {accepted} of them (exception register)."
        else:
            result = "No exceptions noted."
    else:
        performed = f"Could not be performed: {test.get('cause') or 'the evidence was incomplete'}"
        result = ("Not tested: the evidence could not be collected completely." if test["status"] == "ERROR"
                  else f"Not applicable: {test.get('cause') or ''}".strip())
    sample = test.get("sample") or {}
    sample_text = (f"{sample['size']} of {n} items drawn for re-performance (seed {sample['seed']}, "
                   f"{sample.get('file', '')})" if sample.get("size") else "")
    return Entry(criterion, test["id"], test["description"], performed + ".", result, basis, sample_text)


def build(results: dict[str, Any], exceptions_csv: Path) -> list[tuple[dict[str, Any], str, list[Entry]]]:
    """(criterion record, its control narrative, its entries) for every criterion of the run, in order."""
    rows = exception_rows(exceptions_csv)
    period = in_words(results["period"]["start"], results["period"]["end"]).removesuffix(" (UTC)")
    return [(crit, criterion_control(crit["criterion"]),
             [entry(crit["criterion"], t, rows, period) for t in crit["tests"]]) for crit in results["criteria"]]


def markdown(results: dict[str, Any], exceptions_csv: Path) -> str:
    """The section as Markdown: one table per criterion (control activity | test performed | result)."""
    period = in_words(results["period"]["start"], results["period"]["end"])
    out = [f"# Tests of controls — {results['organization']}", "",
           f"Period: {period}. Run {results['run_id']}; figures from results.json and exceptions.csv of this "
           "package.", ""]
    for crit, control, entries in build(results, exceptions_csv):
        out += [f"## {crit['criterion']} {crit['title']}", ""]
        if control:
            out += [f"**Control.** {control}", ""]
        out += ["| Control activity | Test performed by the service auditor | Results of tests |", "|---|---|---|"]
        for e in entries:
            performed = e.performed + (f" Evidence: {e.basis}." if e.basis else "") + \
                (f" Sample: {e.sample}." if e.sample else "")
            out.append(f"| {_cell(e.test_id + ': ' + e.control)} | {_cell(performed)} | {_cell(e.result)} |")
        out.append("")
    return "\n".join(out)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def html(results: dict[str, Any], exceptions_csv: Path, esc: Any) -> str:
    """The section for the index (``esc``: the report's HTML escaping)."""
    parts = ["<h2 class='ab-section' id='tests-of-controls'>Tests of controls</h2><p class='ab-note'>As section IV "
             "of the SOC 2 report states them; also in <code>reports/tests-of-controls.md</code> to paste.</p>"]
    for crit, control, entries in build(results, exceptions_csv):
        parts.append(f"<h3>{esc(crit['criterion'])} {esc(crit['title'])}</h3>")
        if control:
            parts.append(f"<p class='ab-note'><b>Control.</b> {esc(control)}</p>")
        body = "".join(
            f"<tr><td><b>{esc(e.test_id)}</b><br>{esc(e.control)}</td><td>{esc(e.performed)}"
            + (f"<br><small>Evidence: {esc(e.basis)}.</small>" if e.basis else "")
            + (f"<br><small>Sample: {esc(e.sample)}.</small>" if e.sample else "")
            + f"</td><td>{esc(e.result)}</td></tr>" for e in entries)
        parts.append("<table class='ab-table ab-toc-tests'><thead><tr><th>Control activity</th><th>Test performed"
                     f"</th><th>Results of tests</th></tr></thead><tbody>{body}</tbody></table>")
    return "".join(parts)
