"""reports/index.html|pdf: the control matrix of a run, the page an auditor reads first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditbook.report.display import STATUS_COLOURS, _esc, key_values, stylesheet
from auditbook.report.export import PRINT_CSS, html_to_pdf
from auditbook.results import Status


def _badge(status: str) -> str:
    return f"<span class='ab-badge' style='background:{STATUS_COLOURS[Status(status)]}'>{_esc(status)}</span>"


def render(results: dict[str, Any]) -> str:
    rows = []
    for crit in results["criteria"]:
        link = crit["report"].get("pdf", "")
        crit_cell = f"<a href='{_esc(Path(link).name)}'>{_esc(crit['criterion'])}</a>" if link else crit["criterion"]
        if not crit["tests"]:
            rows.append(f"<tr><td>{crit_cell}</td><td colspan='5'>{_esc(crit.get('error') or 'no tests recorded')}"
                        f"</td><td>{_badge(crit['status'])}</td><td></td></tr>")
        for t in crit["tests"]:
            tested = t["status"] in ("PASS", "FAIL")
            sample = (t.get("sample") or {}).get("size", "")
            outcome = f"{t['deviation_count']} of {t['population_size']}" if tested else _esc(t.get("cause"))
            rows.append(
                f"<tr><td>{crit_cell}</td><td>{_esc(t['id'])}<br><small>{_esc(t['title'])}</small></td>"
                f"<td>{_esc(t['frequency'])}</td><td>{_esc(t['population'])}</td>"
                f"<td class='num'>{t['population_size'] if tested else ''}</td><td class='num'>{sample}</td>"
                f"<td>{_badge(t['status'])}</td><td class='num'>{outcome}</td></tr>"
            )
    period = results["period"]
    facts = {
        "Organization": results["organization"],
        "Environment": results.get("environment") or "",
        "Period": f"{period['label']} ({period['start'][:10]} to {period['end'][:10]}, closed-open, UTC)",
        "Run id": results["run_id"],
        "Generated at (UTC)": results["generated_at"],
        "Notebook commit": results["git_commit"],
        "Params digest (sha256)": results["params_digest"],
        "Evidence collected as": ", ".join(results.get("caller_identities", [])),
        "Overall status": results["status"],
    }
    verify = ("Every file of this package is listed with its sha256 in <code>manifest.json</code>. "
              "To check that nothing was changed, removed or added since the run: "
              "<code>auditbook verify &lt;package folder&gt;</code>.")
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>auditbook {results['run_id']}</title>"
        f"<style>{stylesheet()}{PRINT_CSS % {'footer': 'control matrix · run ' + results['run_id']}}</style></head>"
        f"<body><div class='ab-header'><h1>SOC 2 Type II evidence — control matrix</h1>{key_values(facts)}</div>"
        "<table class='ab-table'><thead><tr><th>Criterion</th><th>Test</th><th>Frequency</th><th>Population</th>"
        "<th>N</th><th>Sample</th><th>Status</th><th>Deviations</th></tr></thead><tbody>"
        + "".join(rows) + f"</tbody></table><h2>Verifying this package</h2><p>{verify}</p></body></html>"
    )


def write_index(run_dir: Path, results: dict[str, Any]) -> None:
    reports = run_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    html = render(results)
    (reports / "index.html").write_text(html, encoding="utf-8")
    html_to_pdf(html, reports / "index.pdf", reports)
