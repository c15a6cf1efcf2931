"""The demo's seeded CC9.1 deviations agree with its GitHub data."""

from __future__ import annotations

from auditbook.demo.github import security_alerts
from auditbook.demo.github.company import build_demo_github
from auditbook.demo.github.secret_scanning import ALERTS as SECRET_ALERTS


def test_github_truth_file_is_up_to_date():
    assert security_alerts.TRUTH_PATH.read_text() == security_alerts.render_truth(), \
        "run: python -m auditbook.demo.github.security_alerts"


def test_scanner_checks_added_without_changing_cc81_protection_facts():
    state = build_demo_github()
    payments = state.repos["payments-api"].protection["main"]
    ledger = state.repos["ledger-service"].protection["main"]
    assert payments.required_status_checks == ["ci/test", "codeql", "dependency-review", "trivy-image-scan"]
    assert (ledger.required_approving_review_count, ledger.enforce_admins, ledger.dismiss_stale_reviews) == (
        2, False, True)
    assert "web-app" not in {r for r, repo in state.repos.items() if repo.protection or repo.rulesets}
    checks = [rule for rs in state.repos["infra-live"].rulesets for rule in rs.rules
              if rule["type"] == "required_status_checks"][0]["parameters"]["required_status_checks"]
    assert [c["context"] for c in checks] == ["terraform-plan", "tfsec", "dependency-review"]


def test_secret_scanning_truth_follows_cc62s_alerts():
    rows = [r for r in security_alerts.demo_truth() if r["test"] == "CC9.1-SECRET-SCANNING"]
    open_alerts = [f"demo-fintech/{repo}/secret-scanning/{a['number']}" for repo, alerts in SECRET_ALERTS.items()
                   if repo != "docs-site" for a in alerts if a["state"] == "open"]
    assert [r["resource"] for r in rows] == open_alerts
