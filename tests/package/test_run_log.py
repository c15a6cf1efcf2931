"""run.log in the demo package: listed and hashed in the manifest, telling the run's phases and its collection."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from auditbook import layout
from auditbook.demo.github.company import DEMO_TOKEN
from auditbook.locker import sha256_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))
from secretscan import scan  # noqa: E402

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+ ")


def run_log(demo_run) -> str:  # noqa: ANN001 - the session's RunOutcome
    return (demo_run.run_dir / "run.log").read_text()


def test_run_log_is_in_the_package_and_the_manifest(demo_run):
    manifest = json.loads((demo_run.run_dir / layout.MANIFEST).read_text())
    assert manifest["files"]["run.log"]["sha256"] == sha256_file(demo_run.run_dir / "run.log")


def test_run_log_tells_the_run(demo_run):
    lines = run_log(demo_run).splitlines()
    assert lines and all(LINE.match(line) for line in lines), [x for x in lines if not LINE.match(x)][:3]
    text = "\n".join(lines)
    assert f"auditbook.runner run {demo_run.run_dir.name} started: period 2026-Q3, criteria " in lines[0]
    for outcome in demo_run.outcomes:
        c = re.escape(outcome.criterion)
        assert re.search(rf"INFO auditbook.runner \[{c}\] {c} started$", text, re.M), outcome.criterion
        assert re.search(rf"INFO auditbook.runner \[{c}\] {c} finished: {outcome.status} \(\d+\.\d s\)$", text,
                         re.M), outcome.criterion
    assert re.search(r"auditbook.evidence \[[\w.]+\] iam-credential-report: collected \d+ rows \(\d+\.\d s\)", text)
    assert re.search(r"auditbook.sources.github.client \[CC8.1\] GET /repos/demo-fintech/\S+: \d+ items? in \d+ pages?",
                     text)
    assert "auditbook.package rendering the package" in text
    assert "sealing: run.log ends here" in lines[-1]


def test_no_token_in_run_log(demo_run):
    """The demo's GITHUB_TOKEN was in the environment of the runner, its workers and kernels."""
    assert DEMO_TOKEN not in run_log(demo_run)
    assert "authorization" not in run_log(demo_run).lower()


def test_the_secret_scan_reads_run_log(writable_copy, tmp_path):
    """The package's secret scan covers run.log: a token planted in it is found."""
    copy = writable_copy(tmp_path / "pkg")
    assert scan(copy) == []
    with open(copy / "run.log", "a") as fh:
        fh.write("2026-10-01T00:00:00.000Z INFO auditbook.x token ghp_" + "a" * 36 + "\n")
    assert [f for f in scan(copy) if f.startswith("run.log: GitHub token")]
