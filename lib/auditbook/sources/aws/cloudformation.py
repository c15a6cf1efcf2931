"""CloudFormation: stacks with the result and time of their last drift detection, and every stack
resource with its physical id.

Drift is read, not triggered: ``DescribeStacks`` returns the result and time of the stack's last
drift detection (run by the organization, e.g. on a schedule or by AWS Config), and
``DescribeStackResourceDrifts`` the property differences of a drifted stack.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from auditbook.provenance import Collected, RawStore
from auditbook.sources.aws.base import all_pages, aws_errors, items, provenance
from auditbook.sources.aws.session import AwsAccount

DRIFTED = ["MODIFIED", "DELETED"]


def _drift_detail(drifts: list[dict[str, Any]]) -> str:
    parts = []
    for d in drifts:
        props = ", ".join(f"{p['PropertyPath']} {p.get('DifferenceType', '').lower()}"
                          for p in d.get("PropertyDifferences", []))
        parts.append(f"{d['LogicalResourceId']} ({d['ResourceType']}) {d['StackResourceDriftStatus']}"
                     + (f": {props}" if props else ""))
    return "; ".join(parts)


def _stacks(account: AwsAccount, raw: RawStore, prov: Any, region: str,
            raw_name: str) -> tuple[Any, list[dict[str, Any]]]:
    """The region's stacks (deleted ones left out); the pages are saved as ``raw_name``."""
    cfn = account.client("cloudformation", region)
    pages = all_pages(cfn, "describe_stacks", f"cloudformation:DescribeStacks ({region})")
    stacks = [s for s in items(pages, "Stacks") if s.get("StackStatus") != "DELETE_COMPLETE"]
    prov.add_operation("cloudformation:DescribeStacks", {"region": region}, len(pages), len(stacks))
    prov.raw_files.append(raw.save(f"aws/{account.account_id}/cloudformation/{region}/{raw_name}", pages))
    return cfn, stacks


def collect_stacks(account: AwsAccount, raw: RawStore, regions: list[str]) -> Collected:
    """Every stack with the result and time of its last drift detection, and what drifted."""
    prov = provenance(account, "aws:cloudformation")
    rows = []
    for region in regions:
        cfn, stacks = _stacks(account, raw, prov, region, "stacks.json")
        for s in stacks:
            name = s["StackName"]
            drift = s.get("DriftInformation") or {}
            status = drift.get("StackDriftStatus", "NOT_CHECKED")
            drifts: list[dict[str, Any]] = []
            if status == "DRIFTED":
                drift_pages = _resource_drift_pages(cfn, name, region)
                drifts = items(drift_pages, "StackResourceDrifts")
                prov.add_operation("cloudformation:DescribeStackResourceDrifts",
                                   {"region": region, "StackName": name, "StackResourceDriftStatusFilters": DRIFTED},
                                   len(drift_pages), len(drifts))
                prov.raw_files.append(raw.save(f"aws/{account.account_id}/cloudformation/{region}/"
                                               f"stack-resource-drifts-{name}.json", drift_pages))
            rows.append({
                "account_id": account.account_id, "region": region, "stack_name": name, "stack_id": s["StackId"],
                "status": s.get("StackStatus", ""), "drift_status": status,
                "drift_checked_at": drift.get("LastCheckTimestamp"), "drifted_resources": len(drifts),
                "drift_detail": _drift_detail(drifts), "created": s.get("CreationTime"),
                "updated": s.get("LastUpdatedTime"),
            })
    return Collected(pd.DataFrame(rows), prov)


def collect_stack_resources(account: AwsAccount, raw: RawStore, regions: list[str]) -> Collected:
    """Every resource of every stack, with its physical id (how the resource is known outside the stack)."""
    prov = provenance(account, "aws:cloudformation")
    rows = []
    for region in regions:
        cfn, stacks = _stacks(account, raw, prov, region, "stacks-for-resources.json")
        for s in stacks:
            name = s["StackName"]
            pages = all_pages(cfn, "list_stack_resources", f"cloudformation:ListStackResources {name} ({region})",
                              StackName=name)
            resources = items(pages, "StackResourceSummaries")
            prov.add_operation("cloudformation:ListStackResources", {"region": region, "StackName": name},
                               len(pages), len(resources))
            prov.raw_files.append(raw.save(f"aws/{account.account_id}/cloudformation/{region}/"
                                           f"stack-resources-{name}.json", pages))
            rows += [{"account_id": account.account_id, "region": region, "stack_name": name,
                      "logical_id": r["LogicalResourceId"], "physical_id": r.get("PhysicalResourceId", ""),
                      "resource_type": r["ResourceType"], "status": r.get("ResourceStatus", "")} for r in resources]
    return Collected(pd.DataFrame(rows), prov)


def _resource_drift_pages(cfn: Any, stack: str, region: str) -> list[dict[str, Any]]:
    """``DescribeStackResourceDrifts`` has no boto3 paginator: follow ``NextToken`` by hand."""
    pages: list[dict[str, Any]] = []
    token = None
    with aws_errors(f"cloudformation:DescribeStackResourceDrifts {stack} ({region})"):
        while True:
            page = cfn.describe_stack_resource_drifts(StackName=stack, StackResourceDriftStatusFilters=DRIFTED,
                                                      **({"NextToken": token} if token else {}))
            page.pop("ResponseMetadata", None)
            pages.append(page)
            token = page.get("NextToken")
            if not token:
                return pages
