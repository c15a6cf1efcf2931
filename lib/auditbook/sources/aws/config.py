"""AWS Config: each resource's configuration history over the period, and what the recorder records.

A state timeline (:mod:`auditbook.timeline`) needs the configuration in effect at every moment of the period:
the item in effect at its start was captured before it, so for each resource the latest item before the start
is read (``laterTime`` = start, newest first, one item) and then every item from the start on (``earlierTime``
= start, oldest first). Which types the recorder records, and whether it is recording and since when, is
the other half: a type not recorded has no history, and its timeline is unknown, never assumed.

An account without a recorder is not an error (the recorders population says so); a call that fails is.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pandas as pd

from auditbook.period import Period
from auditbook.provenance import Collected, RawStore
from auditbook.sources.aws.base import absent, all_pages, call, items, provenance, recorded_items
from auditbook.sources.aws.session import AwsAccount

log = logging.getLogger(__name__)

NOT_DISCOVERED = {"ResourceNotDiscoveredException"}


def records(recorder: dict[str, Any], resource_type: str) -> bool:
    """Whether a recorder's recording group includes this resource type."""
    group = recorder.get("recordingGroup") or {"allSupported": True}
    excluded = (group.get("exclusionByResourceTypes") or {}).get("resourceTypes") or []
    if group.get("allSupported"):
        return resource_type not in excluded
    return resource_type in (group.get("resourceTypes") or [])


def collect_config_history(account: AwsAccount, raw: RawStore, regions: list[str], resource_types: list[str],
                           period: Period) -> tuple[Collected, Collected]:
    prov = provenance(account, "aws:config")
    history: list[dict[str, Any]] = []
    recording: list[dict[str, Any]] = []
    for region in regions:
        client = account.client("config", region)
        recorders = call(f"config:DescribeConfigurationRecorders ({region})",
                         client.describe_configuration_recorders).get("ConfigurationRecorders", [])
        statuses = {s.get("name"): s for s in call(f"config:DescribeConfigurationRecorderStatus ({region})",
                                                    client.describe_configuration_recorder_status)
                    .get("ConfigurationRecordersStatus", [])}
        prov.add_operation("config:DescribeConfigurationRecorders", {"region": region}, records=len(recorders))
        prov.add_operation("config:DescribeConfigurationRecorderStatus", {"region": region}, records=len(statuses))
        raw.save(f"aws/{account.account_id}/config/{region}/recorders.json",
                 {"recorders": recorders, "statuses": list(statuses.values())})
        for resource_type in resource_types:
            recorder = next((r for r in recorders if records(r, resource_type)), None)
            status = statuses.get(recorder.get("name")) if recorder else None
            is_recording = bool(status and status.get("recording"))
            recording.append({
                "account_id": account.account_id, "region": region, "resource_type": resource_type,
                "recorded": recorder is not None, "recording": is_recording,
                "recording_since": status.get("lastStartTime") if is_recording and status else None,
                "recorder_name": (recorder or {}).get("name", ""),
                "detail": ("no configuration recorder records this type" if recorder is None
                           else f"recorder {recorder.get('name')} is not recording "
                                f"({(status or {}).get('lastStatus', 'status unknown')})" if not is_recording else ""),
            })
            if recorder is None:
                log.info("AWS Config %s %s (%s): no recorder records this type, no history to read",
                         account.account_id, resource_type, region)
                continue
            history += _history(account, client, raw, prov, region, resource_type, period)
    return (Collected(pd.DataFrame(history), prov), Collected(pd.DataFrame(recording), prov))


def _history(account: AwsAccount, client: Any, raw: RawStore, prov: Any, region: str, resource_type: str,
             period: Period) -> list[dict[str, Any]]:
    slug = resource_type.replace("::", "-").lower()
    resources = recorded_items(client, "config:ListDiscoveredResources", "resourceIdentifiers", prov, raw,
                               f"aws/{account.account_id}/config/{region}/{slug}/discovered.json", region,
                               resourceType=resource_type, includeDeletedResources=True)
    rows: list[dict[str, Any]] = []
    pages = 0
    for resource in resources:
        resource_id = resource["resourceId"]
        label = f"config:GetResourceConfigHistory ({region} {resource_type} {resource_id})"
        during = all_pages(client, "get_resource_config_history", label, resourceType=resource_type,
                           resourceId=resource_id, earlierTime=period.start, chronologicalOrder="Forward")
        # One page of one item on purpose: the newest before the start is the one in effect at it.
        before = absent(label, lambda rid=resource_id: client.get_resource_config_history(
            resourceType=resource_type, resourceId=rid, laterTime=period.start, chronologicalOrder="Reverse",
            limit=1), NOT_DISCOVERED)
        found = (before or {}).get("configurationItems", [])[:1] + items(during, "configurationItems")
        pages += 1 + len(during)
        raw.save(f"aws/{account.account_id}/config/{region}/{slug}/{_safe(resource_id)}.json",
                 {"before_period": before, "from_period_start": during})
        seen: set[tuple[Any, Any]] = set()
        for item in found:
            key = (item.get("configurationItemCaptureTime"), item.get("configurationStateId"))
            if key in seen:
                continue
            seen.add(key)
            rows.append({
                "account_id": account.account_id, "region": region, "resource_type": resource_type,
                "resource_id": resource_id, "resource_name": item.get("resourceName") or resource.get("resourceName")
                or resource_id, "capture_time": item.get("configurationItemCaptureTime"),
                "status": item.get("configurationItemStatus", ""), "configuration": item.get("configuration") or "",
                "supplementary": json.dumps(item.get("supplementaryConfiguration") or {}, sort_keys=True),
                "arn": item.get("arn", ""),
            })
    prov.add_operation("config:GetResourceConfigHistory", {"region": region, "resourceType": resource_type,
                                                           "earlierTime": period.start.isoformat()},
                       pages=pages, records=len(rows))
    return rows


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:120]
