"""AWS Config configuration history for the demo: what moto 5.2 lacks, in botocore's shapes.

moto's ``GetResourceConfigHistory`` answers the current configuration of a few types and ignores the time
range; ``ListDiscoveredResources`` lists what moto's own backends hold. The demo records each resource's
configuration items here (:func:`record`) as it changes (baseline at creation, then the in-period changes),
and both operations answer from that history for the types the demo records: ``earlierTime``, ``laterTime``,
``chronologicalOrder``, ``limit`` and ``nextToken`` honoured as AWS documents. The recorder itself (what it
records, since when) is moto's own ``PutConfigurationRecorder``/``StartConfigurationRecorder``.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from auditbook.demo.moto_extensions import _timestamp

# (account, region) → resource type → resource id → configuration items (oldest first)
HISTORY: dict[tuple[str, str], dict[str, dict[str, list[dict[str, Any]]]]] = defaultdict(
    lambda: defaultdict(dict))
PAGE_SIZE = 10  # AWS's default limit for GetResourceConfigHistory
_INSTALLED = False


def reset() -> None:
    HISTORY.clear()


def record(account_id: str, region: str, resource_type: str, resource_id: str, resource_name: str,
           capture_time: datetime, configuration: dict[str, Any], status: str = "OK",
           supplementary: dict[str, Any] | None = None, arn: str = "") -> None:
    """One configuration item, as the recorder would have captured it at ``capture_time``."""
    items = HISTORY[(account_id, region)][resource_type].setdefault(resource_id, [])
    text = json.dumps(configuration, sort_keys=True, default=str)
    items.append({
        "version": "1.3", "accountId": account_id, "configurationItemCaptureTime": capture_time,
        "configurationItemStatus": status, "configurationStateId": str(int(capture_time.timestamp() * 1000)),
        "configurationItemMD5Hash": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
        "arn": arn, "resourceType": resource_type, "resourceId": resource_id, "resourceName": resource_name,
        "awsRegion": region, "availabilityZone": "Not Applicable", "tags": {}, "relatedEvents": [],
        "relationships": [], "configuration": text,
        "supplementaryConfiguration": {k: json.dumps(v) for k, v in (supplementary or {}).items()},
    })
    items.sort(key=lambda i: i["configurationItemCaptureTime"])


def latest(account_id: str, region: str, resource_type: str, resource_id: str) -> dict[str, Any]:
    """The configuration a resource has now (what a change starts from)."""
    return json.loads(HISTORY[(account_id, region)][resource_type][resource_id][-1]["configuration"])


def _wire(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "configurationItemCaptureTime": item["configurationItemCaptureTime"].timestamp()}


def _get_resource_config_history(self: Any) -> str:
    from moto.config.exceptions import ResourceNotDiscoveredException

    by_type = HISTORY.get((self.current_account, self.region), {}).get(self._get_param("resourceType"))
    resource_id = self._get_param("resourceId")
    if by_type is None or resource_id not in by_type:
        raise ResourceNotDiscoveredException(self._get_param("resourceType"), resource_id)
    earlier = _timestamp(self._get_param("earlierTime"))
    later = _timestamp(self._get_param("laterTime")) or datetime.now(UTC)
    items = [i for i in by_type[resource_id] if (earlier is None or i["configurationItemCaptureTime"] >= earlier)
             and i["configurationItemCaptureTime"] <= later]
    if self._get_param("chronologicalOrder") != "Forward":  # AWS's default is Reverse
        items = items[::-1]
    start = int(self._get_param("nextToken") or 0)
    size = int(self._get_param("limit") or PAGE_SIZE)
    page: dict[str, Any] = {"configurationItems": [_wire(i) for i in items[start:start + size]]}
    if start + size < len(items):
        page["nextToken"] = str(start + size)
    return json.dumps(page)


def _list_discovered_resources(self: Any) -> str:
    by_type = HISTORY.get((self.current_account, self.region), {}).get(self._get_param("resourceType"), {})
    deleted = bool(self._get_param("includeDeletedResources"))
    found = []
    for resource_id, items in sorted(by_type.items()):
        gone = items[-1]["configurationItemStatus"].startswith("ResourceDeleted")
        if gone and not deleted:
            continue
        found.append({"resourceType": items[-1]["resourceType"], "resourceId": resource_id,
                      "resourceName": items[-1]["resourceName"],
                      **({"resourceDeletionTime": items[-1]["configurationItemCaptureTime"].timestamp()}
                         if gone else {})})
    start = int(self._get_param("nextToken") or 0)
    size = int(self._get_param("limit") or 100)
    page: dict[str, Any] = {"resourceIdentifiers": found[start:start + size]}
    if start + size < len(found):
        page["nextToken"] = str(start + size)
    return json.dumps(page)


def install() -> None:
    """Register the handlers with moto (once per process)."""
    global _INSTALLED
    if _INSTALLED:
        return
    from moto.config.responses import ConfigResponse

    ConfigResponse.get_resource_config_history = _get_resource_config_history  # type: ignore[method-assign]
    ConfigResponse.list_discovered_resources = _list_discovered_resources  # type: ignore[method-assign]
    _INSTALLED = True
