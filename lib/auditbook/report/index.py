"""reports/index.html|pdf: the control matrix of a run, the page an auditor reads first.

Run header (period, run id, scope, who ran it, tool version, commit, params digest), the control
matrix (criterion → test → frequency → population → sample → status → deviations n of N → page of
its report), the exception register as applied, trends across earlier runs with what changed since
the last one, and how to verify the package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from auditbook import cells, layout
from auditbook.period import in_words
from auditbook.report import tests_of_controls, wording
from auditbook.report.branding import accent_css
from auditbook.report.display import STATUS_COLOURS, _esc, stylesheet
from auditbook.report.export import CONTENT_SECURITY_POLICY, TEMPLATES, css, footer_text, html_to_pdf
from auditbook.results import Status
from auditbook.trends import History, changes, chart_png

INDEX_CSS = """
table.ab-matrix { width: 100%; }
table.ab-matrix td small { color: #555; }
table.ab-matrix td:first-child { white-space: nowrap; font-size: .92em; }
.ab-crit-head td { background: #f3f5f7; font-weight: 600; }
.ab-accepted { color: #5b4a00; font-size: .9em; }
.ab-section { margin-top: 14px; }
.ab-verify code { background: #f3f5f7; padding: 0 3px; }
"""


def _badge(status: str) -> str:
    return f"<span class='ab-badge' style='background:{STATUS_COLOURS[Status(status)]}'>{_esc(status)}</span>"


def _report_link(crit: dict[str, Any], test: dict[str, Any] | None, for_pdf: bool) -> str:
    kind = "pdf" if for_pdf else "html"
    target = crit["report"].get(kind) or crit["report"].get("pdf")
    if not target:
        return ""
    name = target.rsplit("/", 1)[-1]
    page = test.get("report_page") if test else None
    if for_pdf:
        href, text = (f"{name}#page={page}", f"p.&nbsp;{_esc(page)}") if page else (name, "report")
    else:
        href = f"{name}#{test['report_anchor']}" if test and test.get("report_anchor") else name
        text = f"p.&nbsp;{_esc(page)}" if page else "report"
    return f"<a href='{_esc(href)}'>{text}</a>"


def matrix(results: dict[str, Any], for_pdf: bool) -> str:
    rows = []
    for crit in results["criteria"]:
        rows.append(f"<tr class='ab-crit-head'><td colspan='8'>{_esc(crit['criterion'])} {_esc(crit['title'])}</td>"
                    f"<td>{_badge(crit['status'])}</td></tr>")
        if not crit["tests"]:
            rows.append(f"<tr><td></td><td colspan='6'>{_esc(crit.get('error') or 'no tests recorded')}</td>"
                        f"<td>{_badge(crit['status'])}</td><td>{_report_link(crit, None, for_pdf)}</td></tr>")
        for t in crit["tests"]:
            tested = t["status"] in ("PASS", "FAIL")
            sample = t.get("sample") or {}
            size = sample.get("size", "")
            if tested:
                outcome = f"{_esc(t['deviation_count'])} of {_esc(t['population_size'])}"
                if t.get("accepted_count"):
                    outcome += f"<br><span class='ab-accepted'>{_esc(t['accepted_count'])} accepted</span>"
            else:
                outcome = f"<small>{_esc(t.get('cause'))}</small>"
            rows.append(
                f"<tr><td>{_esc(t['id'])}</td><td>{_esc(t['title'])}</td>"
                f"<td>{_esc(t['frequency'])}{_basis_label(t)}</td><td>{_esc(t['population'])}</td>"
                f"<td class='num'>{_esc(t['population_size']) if tested else ''}</td><td class='num'>{_esc(size)}</td>"
                f"<td>{_badge(t['status'])}</td><td class='num'>{outcome}</td>"
                f"<td class='num'>{_report_link(crit, t, for_pdf)}</td></tr>"
            )
    return ("<table class='ab-table ab-matrix'><thead><tr><th>Test</th><th>Title</th><th>Frequency / basis</th>"
            "<th>Population</th><th>N</th><th>Sample</th><th>Status</th><th>Deviations (n of N)</th>"
            "<th>Report</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _basis_label(test: dict[str, Any]) -> str:
    """Under the frequency: what the result stands on ("point in time, 2026-12-02"), never "continuous" alone."""
    basis = test.get("basis")
    if not basis:
        return ""
    label = basis["kind"] + (f", {basis['as_of'][:10]}" if basis.get("as_of") else "")
    if not basis["covers_period"]:
        label += "; accepted" if basis.get("accepted") else "; period not covered"
    return f"<br><small class='ab-basis'>{_esc(label)}</small>"


def register_section(results: dict[str, Any]) -> str:
    reg = results.get("exception_register") or {}
    if not reg.get("source"):
        return ("<h2 class='ab-section'>Exception register</h2><p class='ab-note'>No exception register in params "
                "(<code>exceptions_file</code>): every deviation is open.</p>")
    rows = "".join(
        f"<tr><td>{_esc(e['id'])}</td><td>{_esc(e['test'])}<br><small>{_esc(e['resource'])}</small></td>"
        f"<td>{_esc(e['outcome'])}</td><td class='num'>{_esc(e['expires'])}</td><td>{_esc(e['owner'])}</td>"
        f"<td>{_esc(e['management_response'])}<br><small>remediation by {_esc(e['remediation_date'])}"
        + (f"; compensating control: {_esc(e['compensating_control'])}" if e.get("compensating_control") else "")
        + f"</small></td><td><small>{_esc(e['note'])}</small></td></tr>"
        for e in reg["entries"]
    )
    counts: dict[str, int] = {}
    for e in reg["entries"]:
        counts[e["outcome"]] = counts.get(e["outcome"], 0) + 1
    summary = ", ".join(f"{n} {_esc(k)}" for k, n in sorted(counts.items())) or "no entries"
    return (
        "<h2 class='ab-section'>Exception register</h2>"
        f"<p class='ab-note'>Register <code>{_esc(reg['source'])}</code> (copied into this package): {summary}. "
        "An accepted deviation is still a deviation: it stays in exceptions.csv (status <code>accepted</code>) and "
        "counts in n of N. An entry in force on the period's last day accepts its deviation; an expired entry "
        "leaves it open; an unmatched entry matched no deviation of this run.</p>"
        "<table class='ab-table'><thead><tr><th>Entry</th><th>Test / resource</th><th>Outcome</th><th>Expires</th>"
        f"<th>Owner</th><th>Management response</th><th>Note</th></tr></thead><tbody>{rows}</tbody></table>"
    )


# The scope completeness tests, what their rows are, and the columns naming one.
SCOPE_TESTS = {"CC6.1-ACCOUNT-SCOPE": ("AWS account", "AWS accounts", ("account_id", "name")),
               "CC8.1-REPO-SCOPE": ("GitHub repository", "GitHub repositories", ("org", "repo"))}
SCOPE_ORDER = ["missing from scope", "in scope", "excluded", "not active", "not production"]


def scope_rows(run_dir: Path, results: dict[str, Any]) -> dict[str, Any]:
    """Per scope test: its status and cause, and its tested rows (what it is, in scope / excluded / missing,
    why), read from the package's ``populations/tested`` CSVs."""
    tests = {t["id"]: t for c in results["criteria"] for t in c["tests"] if t["id"] in SCOPE_TESTS}
    out: dict[str, Any] = {}
    for test_id, test in tests.items():
        kind, _, names = SCOPE_TESTS[test_id]
        path = run_dir / layout.tested_csv(test_id)
        rows: list[dict[str, str]] = []
        if test["status"] in ("PASS", "FAIL") and path.exists():
            frame = cells.restore_frame(pd.read_csv(path, dtype=str, keep_default_na=False))
            rows = [{"kind": kind, "what": " ".join(v for v in (r[n] for n in names) if v),
                     "scope": r["scope"], "why": r["why"]} for r in frame.to_dict("records")]
            rows.sort(key=lambda r: (SCOPE_ORDER.index(r["scope"]) if r["scope"] in SCOPE_ORDER else 9, r["what"]))
        out[test_id] = {"status": test["status"], "cause": test.get("cause") or "", "rows": rows}
    return out


def scope_section(scope: dict[str, Any]) -> str:
    """What the run covered of what exists: the organization's AWS accounts and the org's repositories, each in
    scope, excluded with its reason, or missing from scope (each missing one a deviation of its test)."""
    if not scope:
        return ""
    parts = ["<h2 class='ab-section'>Scope of this run</h2><p class='ab-note'>Every account of the AWS "
             "organization and every repository of the GitHub organizations, as listed at collection: in scope "
             "(tested), excluded in params with a reason, not active or not production (nothing to test), or "
             "<b>missing from scope</b> — a deviation of the scope test, as its controls were not tested.</p>"]
    for test_id, found in scope.items():
        kind, kinds, _ = SCOPE_TESTS[test_id]
        if found["status"] not in ("PASS", "FAIL"):
            parts.append(f"<p class='ab-note'>{_esc(kinds)}: not shown — {_esc(test_id)} is {_esc(found['status'])}"
                         f": {_esc(found['cause'])}</p>")
            continue
        counts: dict[str, int] = {}
        for r in found["rows"]:
            counts[r["scope"]] = counts.get(r["scope"], 0) + 1
        summary = ", ".join(f"{n} {_esc(k)}" for k, n in sorted(counts.items(), key=lambda kv: SCOPE_ORDER.index(
            kv[0]) if kv[0] in SCOPE_ORDER else 9)) or "none listed"
        body = "".join(f"<tr><td>{_esc(r['what'])}</td><td>{'<b>' if r['scope'] == 'missing from scope' else ''}"
                       f"{_esc(r['scope'])}{'</b>' if r['scope'] == 'missing from scope' else ''}</td>"
                       f"<td><small>{_esc(r['why'])}</small></td></tr>" for r in found["rows"])
        parts.append(f"<h3>{_esc(kinds)} ({_esc(test_id)}, {_esc(found['status'])}): {summary}</h3>"
                     + (f"<table class='ab-table'><thead><tr><th>{_esc(kind)}</th><th>Scope</th><th>Why</th></tr>"
                        f"</thead><tbody>{body}</tbody></table>" if body else ""))
    return "".join(parts)


def trends_section(results: dict[str, Any], hist: History | None) -> str:
    head = "<h2 class='ab-section'>Trends across runs</h2>"
    if hist is None or hist.previous is None:
        return head + ("<p class='ab-note'>No earlier run of this organization in the output folder: trends start "
                       "with the next run.</p>")
    diff = changes(hist)
    parts = [head, f"<p class='ab-note'>{len(hist.runs) - 1} earlier run(s) found in the output folder "
                   "(read from their results.json and exceptions.csv; verify each with <code>auditbook verify</code>)."
                   "</p>"]
    items = [f"{_esc(t)}: {_esc(a)} → {_esc(b)}" for t, a, b in diff["status_changes"]]
    items += [f"new test {_esc(t)}" for t in diff["new_tests"]]
    items += [f"test no longer run: {_esc(t)}" for t in diff["removed_tests"]]
    items += [f"new deviation {_esc(t)} {_esc(r)}" for t, r in diff["new_deviations"]]
    items += [f"resolved since then: {_esc(t)} {_esc(r)}" for t, r in diff["resolved_deviations"]]
    parts.append(f"<h3>Changed since the last run ({_esc(diff['previous'])})</h3>")
    parts.append("<ul class='ab-note'>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>" if items
                 else "<p class='ab-note'>Nothing changed: same statuses and the same deviations.</p>")
    for crit in results["criteria"]:
        png = chart_png(hist, crit["criterion"])
        if png:
            parts.append(f"<img alt='{_esc(crit['criterion'])} trend' src='data:image/png;base64,{png}'>")
    for skipped in hist.skipped:
        parts.append(f"<p class='ab-note'>Skipped: {_esc(skipped)}</p>")
    return "".join(parts)


def render(results: dict[str, Any], hist: History | None = None, for_pdf: bool = False,
           scope: dict[str, Any] | None = None, controls: str = "", branding: dict[str, str] | None = None) -> str:
    """The index page from templates/index.html.j2 (autoescaped); ``branding``: the run's report look."""
    period = results["period"]
    accepted = sum(t.get("accepted_count", 0) for c in results["criteria"] for t in c["tests"])
    deviations = sum(t["deviation_count"] for c in results["criteria"] for t in c["tests"])
    facts = {
        "Organization": results["organization"],
        "Environment": results.get("environment") or "",
        "Period": f"{period['label']}: {in_words(period['start'], period['end'])}",
        "Run id": results["run_id"],
        "Scope": results.get("scope") or "",
        "Run by": results.get("run_by") or "",
        "Evidence collected as": ", ".join(results.get("caller_identities", [])),
        "Generated at": wording.text(results["generated_at"]),
        "auditbook version": results.get("tool_version") or "",
        "Notebook commit": results["git_commit"],
        "Params digest (sha256)": results["params_digest"],
        "Overall status": results["status"],
        "Deviations": f"{deviations} (of which {accepted} accepted in the exception register)",
    }
    verify = (
        "<h2 class='ab-section'>Verifying this package</h2><div class='ab-verify'><p>Every file of this package is "
        "listed with its sha256 in <code>manifest.json</code>, which also records the run's counts (tests, "
        "deviations, accepted deviations) and reports. To check that nothing was changed, removed or added since "
        "the run, and that results.json, exceptions.csv and the reports agree with the manifest:</p>"
        "<p><code>auditbook verify &lt;package folder&gt;</code></p><p>It prints a one-paragraph verdict to paste "
        "into the working papers. <code>oscal/assessment-results.json</code> carries the same results as NIST "
        "OSCAL assessment results (one observation per population, one finding per test, evidence with "
        "sha256).</p></div>"
    )
    look = branding or {}
    style = css(f"Control matrix · {period['label']}",
                footer_text(f"{results['organization']} · run {results['run_id']}", look.get("confidentiality", "")),
                results["status"]) + accent_css(look.get("accent_colour", ""))
    sections = [matrix(results, for_pdf), scope_section(scope or {}), register_section(results),
                trends_section(results, hist), controls, verify]
    return _TEMPLATES.get_template("index.html.j2").render(
        csp=CONTENT_SECURITY_POLICY, organization=results["organization"], period_label=period["label"],
        style=Markup(stylesheet() + style + INDEX_CSS), logo=look.get("logo", ""), facts=facts,
        sections=[Markup(section) for section in sections])


_TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                undefined=jinja2.StrictUndefined)


def write_index(run_dir: Path, results: dict[str, Any], hist: History | None = None,
                branding: dict[str, str] | None = None) -> None:
    reports = run_dir / layout.REPORTS
    reports.mkdir(parents=True, exist_ok=True)
    scope = scope_rows(run_dir, results)
    exceptions = run_dir / layout.EXCEPTIONS_CSV
    controls = tests_of_controls.html(results, exceptions, _esc)
    (run_dir / layout.TESTS_OF_CONTROLS_MD).write_text(tests_of_controls.markdown(results, exceptions),
                                                        encoding="utf-8")
    page = {"scope": scope, "controls": controls, "branding": branding}
    (run_dir / layout.INDEX_HTML).write_text(render(results, hist, for_pdf=False, **page), encoding="utf-8")
    # The data travel inside the index (PDF/A-3). Not the manifest: it records the index's own sha256.
    attached = [run_dir / name for name in (layout.RESULTS_JSON, layout.EXCEPTIONS_CSV, layout.TESTS_OF_CONTROLS_MD)]
    html_to_pdf(render(results, hist, for_pdf=True, **page), run_dir / layout.INDEX_PDF,
                attachments=[path for path in attached if path.exists()])
