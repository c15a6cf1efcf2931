"""OSCAL assessment results (``oscal/assessment-results.json``) from a run's results.json.

One result for the run (the period), one observation per population (its CSV and raw responses as
relevant evidence), one finding per test (``satisfied`` when PASS; everything else is
``not-satisfied``, with the cause for ERROR). Every evidence file is a back-matter resource with its
sha256, so a GRC tool can check it against the package. UUIDs are uuid5 from the run id and the
ids of what they name, so exporting the same run again gives the same document byte for byte.

Shape: NIST OSCAL 1.2.3 (``oscal_complete_schema.json``); the tests validate against NIST's
published schema.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

from auditbook import layout
from auditbook.locker import sha256_file

OSCAL_VERSION = "1.2.3"
NS = "https://auditbook.dev/ns/oscal"
OUTPUT = "oscal/assessment-results.json"
RAW_FILES_LISTED = 50  # per population; the rest are in results.json and manifest.json with their sha256
MEDIA_TYPES = {".csv": "text/csv", ".json": "application/json", ".gz": "application/gzip",
               ".pdf": "application/pdf", ".html": "text/html", ".yaml": "application/yaml",
               ".ipynb": "application/x-ipynb+json"}


class _Ids:
    """Deterministic UUIDs: uuid5 in a namespace of the organization and run id."""

    def __init__(self, organization: str, run_id: str) -> None:
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"{NS}/{organization}/{run_id}")

    def __call__(self, kind: str, name: str = "") -> str:
        return str(uuid.uuid5(self.namespace, f"{kind}:{name}"))


def _line(text: Any) -> str:
    """OSCAL strings: non-empty, no leading or trailing whitespace."""
    return " ".join(str(text if text not in (None, "") else "(none)").split())


def _prop(name: str, value: Any) -> dict[str, str]:
    return {"name": name, "ns": NS, "value": _line(value)}


def _token(text: str) -> str:
    token = re.sub(r"[^A-Za-z0-9._-]", "-", text)
    return token if re.match(r"[A-Za-z_]", token) else f"_{token}"


def _populations(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every population of the run once (notebooks share them by name)."""
    seen: dict[str, dict[str, Any]] = {}
    for crit in results["criteria"]:
        for name, pop in crit.get("populations", {}).items():
            seen.setdefault(name, pop)
    return dict(sorted(seen.items()))


def _test_populations(test: dict[str, Any], known: dict[str, Any]) -> list[str]:
    """The observations a finding rests on: the catalog populations the test read (its ``reads``)."""
    return [n for n in test.get("reads") or [test["population"]] if n in known]


class _Document:
    """The back-matter resources of one package (each file once, with its sha256) and the ids of its parts."""

    def __init__(self, results: dict[str, Any], root: Path) -> None:
        self.results, self.root = results, root
        self.ids = _Ids(results["organization"], results["run_id"])
        self.resources: dict[str, dict[str, Any]] = {}

    def resource(self, rel: str, title: str) -> str:
        """Back-matter resource for a package file (once per file), with its sha256."""
        if rel not in self.resources:
            rlink: dict[str, Any] = {"href": rel}
            media = MEDIA_TYPES.get(Path(rel).suffix)
            if media:
                rlink["media-type"] = media
            if (self.root / rel).is_file():
                rlink["hashes"] = [{"algorithm": "SHA-256", "value": sha256_file(self.root / rel)}]
            self.resources[rel] = {"uuid": self.ids("resource", rel), "title": _line(title), "rlinks": [rlink]}
        return self.resources[rel]["uuid"]

    def evidence(self, rel: str, description: str) -> dict[str, Any]:
        return {"href": rel, "description": _line(description),
                "links": [{"href": f"#{self.resource(rel, description)}", "rel": "reference"}]}

    def observation(self, name: str, pop: dict[str, Any]) -> dict[str, Any]:
        """One population: its CSV and raw responses as evidence."""
        rel = pop.get("file") or pop.get("csv") or layout.population_csv(name)
        kind = "Parquet" if rel.endswith(".parquet") else "CSV"
        rel_evidence = [self.evidence(rel, f"Population {name}, complete ({kind})")]
        raw = pop.get("raw_files", [])
        rel_evidence += [self.evidence(r["path"], f"Raw response of {name} as received")
                         for r in raw[:RAW_FILES_LISTED]]
        obs = {
            "uuid": self.ids("observation", name),
            "title": _line(f"Population {name}"),
            "description": _line(f"{pop.get('record_count', '?')} records of {name} from {pop.get('system')} "
                                 f"({pop.get('scope')}), collected by {pop.get('caller')}."),
            "props": [_prop("population", name), _prop("system", pop.get("system")),
                      _prop("record-count", pop.get("record_count"))],
            "methods": ["TEST"],
            "relevant-evidence": rel_evidence,
            "collected": pop.get("collected_at") or self.results["generated_at"],
        }
        if len(raw) > RAW_FILES_LISTED:
            obs["remarks"] = (f"{len(raw) - RAW_FILES_LISTED} more raw files are listed with their sha256 in "
                              "results.json and manifest.json.")
        return obs

    def finding(self, crit: dict[str, Any], t: dict[str, Any], populations: dict[str, Any]) -> dict[str, Any]:
        """One test: its status as OSCAL's, its report page and sample, the observations it rests on."""
        status = t["status"]
        if status == "PASS":
            state, reason = "satisfied", "pass"
            summary = f"0 of {t['population_size']} {t['population']} rows deviate."
        elif status == "FAIL":
            state, reason = "not-satisfied", "fail"
            accepted = t.get("accepted_count", 0)
            summary = (f"{t['deviation_count']} of {t['population_size']} {t['population']} rows deviate"
                       + (f" ({accepted} accepted by management in the exception register)" if accepted else "")
                       + "; each deviation is a row of exceptions.csv.")
        else:
            state, reason = "not-satisfied", "other"
            label = "Evidence could not be collected completely" if status == "ERROR" else "Not applicable"
            summary = f"{label}: {t.get('cause') or 'no cause recorded'}."
        basis = t.get("basis")
        basis_props = []
        if basis:
            summary = (f"As of {basis['as_of'][:16].replace('T', ' ')} UTC, " if basis["as_of"] else "") + summary
            summary += f" Evidence basis ({basis['kind']}): {basis['statement']}."
            if basis.get("accepted"):
                summary += f" Accepted in params for this test: {basis['accepted']}."
            basis_props = [_prop("evidence-basis", basis["kind"]),
                           _prop("covers-period", "true" if basis["covers_period"] else "false")]
            if basis["as_of"]:
                basis_props.append(_prop("evidence-as-of", basis["as_of"]))
        finding: dict[str, Any] = {
            "uuid": self.ids("finding", t["id"]),
            "title": _line(f"{t['id']} {t['title']}"),
            "description": _line(f"{t.get('description', '')} {summary}"),
            "props": [_prop("status", status), _prop("criterion", crit["criterion"]),
                      _prop("frequency", t["frequency"]), _prop("population-size", t["population_size"]),
                      _prop("deviation-count", t["deviation_count"]),
                      _prop("accepted-count", t.get("accepted_count", 0)), *basis_props],
            "target": {"type": "objective-id", "target-id": _token(t["id"]),
                       "status": {"state": state, "reason": reason}},
        }
        if status in ("ERROR", "NOT_APPLICABLE"):
            finding["target"]["status"]["remarks"] = _line(t.get("cause"))
        links = []
        report = crit["report"].get("pdf")
        if report:
            page = t.get("report_page")
            title = f"{crit['criterion']} report (PDF)"
            links.append({"href": f"#{self.resource(report, title)}",
                          "rel": "reference", "text": _line(f"{report}" + (f" page {page}" if page else ""))})
        if t.get("sample"):
            title = f"Sample of {t['id']} for re-performance"
            links.append({"href": f"#{self.resource(t['sample']['file'], title)}",
                          "rel": "reference", "text": _line(f"sample {t['sample']['file']}")})
        if links:
            finding["links"] = links
        related = [{"observation-uuid": self.ids("observation", n)} for n in _test_populations(t, populations)]
        if related:
            finding["related-observations"] = related
        return finding


def build(results: dict[str, Any], root: Path) -> dict[str, Any]:
    """The assessment-results document for the package at ``root``."""
    doc = _Document(results, root)
    plan = doc.resource(layout.RESOLVED_PARAMS, "Assessment plan: the run's resolved parameters (scope, "
                                                "thresholds, sampling); the criterion notebooks are the procedures")
    populations = _populations(results)
    observations = [doc.observation(name, pop) for name, pop in populations.items()]
    findings = [doc.finding(crit, t, populations) for crit in results["criteria"] for t in crit["tests"]]
    doc.resource(layout.EXCEPTIONS_CSV, "Every deviation of the run, one row each, with its exception-register status")
    doc.resource(layout.RESULTS_JSON, "Machine-readable results of the run (auditbook results schema)")
    period = results["period"]
    return {
        "assessment-results": {
            "uuid": doc.ids("assessment-results"),
            "metadata": {
                "title": _line(f"SOC 2 Type II evidence: {results['organization']}, {period['label']}"),
                "last-modified": results["generated_at"],
                "version": results["run_id"],
                "oscal-version": OSCAL_VERSION,
                "props": [_prop("run-id", results["run_id"]), _prop("git-commit", results["git_commit"]),
                          _prop("params-digest", results["params_digest"]),
                          _prop("tool-version", results.get("tool_version") or "unknown")],
            },
            "import-ap": {"href": f"#{plan}",
                          "remarks": "No separate OSCAL assessment plan: the resolved parameters and the criterion "
                                     "notebooks in this package are the plan."},
            "results": [{
                "uuid": doc.ids("result"),
                "title": _line(f"{results['organization']} SOC 2 Type II, {period['label']}"),
                "description": _line(f"Control tests over the period {period['start']} to {period['end']} "
                                     f"(closed-open, UTC); overall status {results['status']}."),
                "start": period["start"],
                "end": period["end"],
                "props": [_prop("status", results["status"])],
                "reviewed-controls": {"control-selections": [{
                    "include-controls": [{"control-id": _token(c["criterion"].lower())}
                                         for c in results["criteria"]] or [{"control-id": "none"}],
                }]},
                **({"observations": observations} if observations else {}),
                **({"findings": findings} if findings else {}),
            }],
            "back-matter": {"resources": [doc.resources[k] for k in sorted(doc.resources)]},
        }
    }


def write(root: Path, results: dict[str, Any]) -> Path:
    path = root / OUTPUT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(build(results, root)), encoding="utf-8")
    return path


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"
