"""What the events tests share: the demo period and the Athena set-up's names."""

from __future__ import annotations

from auditbook.period import parse_period

PERIOD = parse_period("2026-Q3")
DATABASE = "cloudtrail_audit"
WORKGROUP = "auditbook"
RESULTS = "s3://demo-athena-results/auditbook/"
