"""A small synthetic package on disk for the package-level tests (no emulators needed)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

RUN_ID = "20261003T061500Z"


def make_results(run_id: str = RUN_ID, period: str = "2026-Q3", start: str = "2026-07-01T00:00:00+00:00",
                 end: str = "2026-10-01T00:00:00+00:00", mfa_deviations: int = 2, root_status: str = "PASS",
                 ) -> dict:
    tests = [
        {"id": "CC6.1-MFA", "title": "Console users have MFA", "description": "Every console user has MFA.",
         "frequency": "continuous", "population": "iam-credential-report", "status": "FAIL" if mfa_deviations
         else "PASS", "population_size": 14, "deviation_count": mfa_deviations, "threshold": {}, "cause": None,
         "notes": [], "accepted_count": 1 if mfa_deviations else 0, "report_anchor": "test-CC6.1-MFA",
         "report_page": 4,
         "sample": {"file": "samples/CC6.1-MFA.csv", "size": 2, "seed": 7, "method": "m", "population_size": 14}},
        {"id": "CC6.1-ROOT", "title": "Root protected", "description": "Root has MFA and no keys.",
         "frequency": "continuous", "population": "iam-credential-report", "status": root_status,
         "population_size": 0 if root_status == "ERROR" else 1, "deviation_count": 0, "threshold": {},
         "cause": "AccessDenied on iam:GetCredentialReport" if root_status == "ERROR" else None, "notes": [],
         "accepted_count": 0, "report_anchor": "test-CC6.1-ROOT", "report_page": 5, "sample": None},
    ]
    return {
        "schema_version": "1.0", "run_id": run_id, "organization": "Acme", "environment": "test",
        "period": {"label": period, "start": start, "end": end}, "generated_at": "2026-10-03T06:15:00Z",
        "git_commit": "abc123", "params_digest": "0" * 64, "tool_version": "0.1.0", "run_by": "ci",
        "scope": "AWS 111111111111", "status": "ERROR" if root_status == "ERROR" else "FAIL",
        "caller_identities": ["arn:aws:sts::111111111111:assumed-role/audit/x"],
        "criteria": [{
            "criterion": "CC6.1", "title": "Logical access", "status": "FAIL", "error": None,
            "report": {"pdf": "reports/CC6.1.pdf", "html": "reports/CC6.1.html"}, "tests": tests,
            "populations": {"iam-credential-report": {
                "system": "aws:iam", "endpoint": "https://iam.amazonaws.com", "scope": "aws account 111111111111",
                "caller": "arn:aws:sts::111111111111:assumed-role/audit/x", "collected_at": "2026-10-03T06:15:01Z",
                "operations": [], "record_count": 14, "notes": [],
                "raw_files": [{"path": "raw/aws/111111111111/iam/credential-report.csv", "sha256": "x", "bytes": 3}],
                "csv": "populations/iam-credential-report.csv"}},
            "collection_errors": {},
        }],
        "exception_register": {"source": None, "entries": []},
    }


def write_package(root: Path, results: dict, deviations: list[tuple[str, str, str]]) -> Path:
    """A package folder with the files results.json points at (enough for OSCAL, trends and explore)."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in {
        "populations/iam-credential-report.csv": "account_id,user,mfa_active\n111111111111,dan.dev,false\n"
                                                 "111111111111,alice,true\n",
        "raw/aws/111111111111/iam/credential-report.csv": "user\n",
        "samples/CC6.1-MFA.csv": "user\ndan.dev\n",
        "reports/CC6.1.pdf": "%PDF-1.7 test", "reports/CC6.1.html": "<html></html>",
        "params.resolved.yaml": "organization: Acme\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "results.json").write_text(json.dumps(results))
    with open(root / "exceptions.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["criterion", "test_id", "resource_type", "resource_id", "detail", "status",
                         "accepted_until", "owner", "management_response"])
        for test_id, resource, status in deviations:
            writer.writerow(["CC6.1", test_id, "iam_user", resource, "no MFA", status, "", "", ""])
    return root

