"""Route 53 (global, read once per account): health checks, and the routed records of every hosted zone.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from auditbook.provenance import Collected, RawStore
from auditbook.sources.aws.base import all_pages, items, provenance, recorded_items
from auditbook.sources.aws.session import AwsAccount

ROUTING_FIELDS = {"Failover": "failover", "Weight": "weighted", "Region": "latency", "GeoLocation": "geolocation",
                  "MultiValueAnswer": "multivalue", "GeoProximityLocation": "geoproximity",
                  "CidrRoutingConfig": "cidr"}


def _routing_policy(record: dict[str, Any]) -> str:
    return next((policy for field, policy in ROUTING_FIELDS.items() if field in record), "simple")


def collect_health_checks(account: AwsAccount, raw: RawStore) -> Collected:
    """Every Route 53 health check of the account (Route 53 is global)."""
    prov = provenance(account, "aws:route53")
    checks = recorded_items(account.client("route53", "us-east-1"), "route53:ListHealthChecks", "HealthChecks", prov,
                            raw, f"aws/{account.account_id}/route53/health-checks.json")
    rows = []
    for hc in checks:
        cfg = hc.get("HealthCheckConfig", {})
        target = cfg.get("FullyQualifiedDomainName") or cfg.get("IPAddress") or ""
        if cfg.get("Type") == "CALCULATED":
            target = ";".join(cfg.get("ChildHealthChecks", []))
        elif cfg.get("Type") == "CLOUDWATCH_METRIC":
            target = (cfg.get("AlarmIdentifier") or {}).get("Name", "")
        rows.append({
            "account_id": account.account_id, "health_check_id": hc["Id"], "type": cfg.get("Type", ""),
            "target": target, "port": cfg.get("Port"), "resource_path": cfg.get("ResourcePath", ""),
            "request_interval": cfg.get("RequestInterval"), "failure_threshold": cfg.get("FailureThreshold"),
            "disabled": bool(cfg.get("Disabled")), "inverted": bool(cfg.get("Inverted")),
            "name": hc.get("CallerReference", ""),
        })
    return Collected(pd.DataFrame(rows), prov)


def collect_dns_records(account: AwsAccount, raw: RawStore) -> Collected:
    """The resource record sets of every hosted zone, with routing policy and health check."""
    prov = provenance(account, "aws:route53")
    r53 = account.client("route53", "us-east-1")
    base = f"aws/{account.account_id}/route53"
    zones = recorded_items(r53, "route53:ListHostedZones", "HostedZones", prov, raw, f"{base}/hosted-zones.json")
    rows = []
    for zone in zones:
        zone_id = zone["Id"].rsplit("/", 1)[-1]
        pages = all_pages(r53, "list_resource_record_sets", f"route53:ListResourceRecordSets {zone_id}",
                          HostedZoneId=zone_id)
        records = items(pages, "ResourceRecordSets")
        prov.add_operation("route53:ListResourceRecordSets", {"HostedZoneId": zone_id}, len(pages), len(records))
        prov.raw_files.append(raw.save(f"{base}/records-{zone_id}.json", pages))
        for rec in records:
            alias = rec.get("AliasTarget") or {}
            rows.append({
                "account_id": account.account_id, "zone_id": zone_id, "zone_name": zone["Name"],
                "name": rec["Name"], "type": rec["Type"], "set_identifier": rec.get("SetIdentifier", ""),
                "routing_policy": _routing_policy(rec), "health_check_id": rec.get("HealthCheckId", ""),
                "alias_target": alias.get("DNSName", ""),
                "evaluate_target_health": bool(alias.get("EvaluateTargetHealth")),
            })
    return Collected(pd.DataFrame(rows), prov)
