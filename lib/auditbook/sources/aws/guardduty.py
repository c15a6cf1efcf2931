"""GuardDuty: the detector of each region in scope (a region without one is a row with status NONE).
"""

from __future__ import annotations

import pandas as pd

from auditbook.provenance import Collected, RawStore
from auditbook.sources.aws.base import all_pages, aws_errors, clean, provenance
from auditbook.sources.aws.session import AwsAccount


def collect_detectors(account: AwsAccount, raw: RawStore, regions: list[str]) -> Collected:
    """GuardDuty detectors: one row per region in scope; a region without a detector has status NONE."""
    prov = provenance(account, "aws:guardduty")
    rows = []
    for region in regions:
        gd = account.client("guardduty", region)
        pages = all_pages(gd, "list_detectors", f"guardduty:ListDetectors ({region})")
        ids = [d for p in pages for d in p.get("DetectorIds", [])]
        prov.add_operation("guardduty:ListDetectors", {"region": region}, pages=len(pages), records=len(ids))
        details = {}
        for detector_id in ids:
            with aws_errors(f"guardduty:GetDetector {detector_id} ({region})"):
                details[detector_id] = clean(gd.get_detector(DetectorId=detector_id))
            d = details[detector_id]
            rows.append({"account_id": account.account_id, "region": region, "detector_id": detector_id,
                         "status": d.get("Status", ""), "finding_frequency": d.get("FindingPublishingFrequency", ""),
                         "created": d.get("CreatedAt"), "updated": d.get("UpdatedAt")})
        if ids:
            prov.add_operation("guardduty:GetDetector", {"region": region}, pages=len(ids), records=len(ids))
        else:
            rows.append({"account_id": account.account_id, "region": region, "detector_id": "", "status": "NONE",
                         "finding_frequency": "", "created": None, "updated": None})
        prov.raw_files.append(raw.save(f"aws/{account.account_id}/guardduty/{region}/detectors.json",
                                       {"ListDetectors": pages, "GetDetector": details}))
    return Collected(pd.DataFrame(rows), prov)


def detector_changes(events: pd.DataFrame) -> pd.DataFrame:
    """Successful detector calls as changes of a region's GuardDuty status: ``CreateDetector`` (ENABLED unless its
    request says ``enable: false``), ``UpdateDetector`` with ``enable`` (ENABLED or DISABLED) and ``DeleteDetector``
    (NONE). A region has one detector, so the region is the resource; an unreadable request leaves it unknown."""
    from auditbook.timeline import changes_from

    def interpret(name: str, request: dict | None) -> tuple[str, str | None, None] | None:
        if name == "DeleteDetector":
            return "guardduty", "NONE", None
        if request is None:
            return "guardduty", None, None
        enable = request.get("enable")
        if name == "UpdateDetector" and enable is None:
            return None  # other settings only
        return "guardduty", "DISABLED" if enable is False or (name == "UpdateDetector" and not enable) else \
            "ENABLED", None
    return changes_from(events, "guardduty.amazonaws.com", ["CreateDetector", "UpdateDetector", "DeleteDetector"],
                        interpret)
