"""A checker for OCSF 1.3.0 Compliance Findings, written from the schema itself.

Read from github.com/ocsf/ocsf-schema at tag 1.3.0 (commit c8bde8c4cc7e93bb4a36e873623bbe099da22fb5):
events/base_event.json (+ includes/classification.json, includes/occurrence.json, profiles cloud/osint/datetime),
events/findings/finding.json (+ profiles/host.json), events/findings/compliance_finding.json, objects/compliance.json,
objects/finding_info.json, objects/metadata.json, objects/product.json (extends _entity),
objects/resource_details.json (extends _resource, extends _entity), and dictionary.json for the types and enums.
Every attribute those files mark ``"requirement": "required"`` is listed below; an object extending ``_entity``
needs at least one of name and uid (its ``constraints.at_least_one``). Keys outside a class or object's attributes
are reported too: a typo would otherwise be an attribute no consumer reads.
"""

from __future__ import annotations

from typing import Any

# Compliance Finding (class_uid 2003): attributes and which are required.
EVENT_ATTRIBUTES = {
    # base_event
    "enrichments", "message", "metadata", "observables", "raw_data", "severity", "severity_id", "status",
    "status_code", "status_detail", "status_id", "unmapped",
    # includes/classification.json, includes/occurrence.json
    "activity_id", "activity_name", "category_name", "category_uid", "class_name", "class_uid", "type_name",
    "type_uid", "count", "duration", "end_time", "start_time", "time", "timezone_offset",
    # profiles cloud, osint, host
    "api", "cloud", "osint", "actor", "device",
    # finding, compliance_finding
    "comment", "confidence", "confidence_id", "confidence_score", "finding_info", "compliance", "remediation",
    "resource", "resources",
}
EVENT_REQUIRED = {"metadata", "severity_id", "activity_id", "category_uid", "class_uid", "type_uid", "time",
                  "finding_info", "compliance"}
OBJECTS: dict[str, tuple[set[str], set[str]]] = {  # name: (attributes, required)
    "metadata": ({"correlation_uid", "event_code", "extension", "extensions", "labels", "log_level", "log_name",
                  "log_provider", "log_version", "logged_time", "loggers", "modified_time", "original_time",
                  "processed_time", "product", "profiles", "sequence", "tenant_uid", "uid", "version"},
                 {"product", "version"}),
    "product": ({"cpe_name", "feature", "lang", "name", "path", "uid", "url_string", "vendor_name", "version"},
                {"vendor_name"}),
    "finding_info": ({"analytic", "attacks", "created_time", "data_sources", "desc", "first_seen_time",
                      "kill_chain", "last_seen_time", "modified_time", "product_uid", "related_analytics",
                      "related_events", "src_url", "title", "types", "uid"}, {"title", "uid"}),
    "compliance": ({"compliance_references", "compliance_standards", "control", "requirements", "standards",
                    "status", "status_code", "status_detail", "status_id"}, {"standards"}),
    "resource_details": ({"agent_list", "cloud_partition", "criticality", "group", "namespace", "owner", "region",
                          "version", "data", "labels", "name", "type", "uid"}, set()),
}
ENTITIES = {"product", "resource_details"}  # _entity: at least one of name, uid

# Enums (dictionary.json, overridden by the class or object where it defines its own).
ENUMS = {
    "activity_id": {0, 1, 2, 3, 99},  # classification + finding: Unknown, Create, Update, Close, Other
    "severity_id": {0, 1, 2, 3, 4, 5, 6, 99},
    "status_id": {0, 1, 2, 3, 4, 99},  # finding: New, In Progress, Suppressed, Resolved
    "compliance.status_id": {0, 1, 2, 3, 99},  # Pass, Warning, Fail
}
CAPTIONS = {  # the *_name / label of an id, where the finding carries both
    "activity_id": {0: "Unknown", 1: "Create", 2: "Update", 3: "Close"},
    "severity_id": {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical", 6: "Fatal"},
    "status_id": {0: "Unknown", 1: "New", 2: "In Progress", 3: "Suppressed", 4: "Resolved"},
    "compliance.status_id": {0: "Unknown", 1: "Pass", 2: "Warning", 3: "Fail"},
}
CLASS_UID, CATEGORY_UID = 2003, 2  # Compliance Finding (uid 3) in Findings (uid 2)
TIMESTAMPS = ("time", "start_time", "end_time")  # timestamp_t: integer milliseconds


def _object(problems: list[str], where: str, kind: str, value: Any) -> None:
    if not isinstance(value, dict):
        problems.append(f"{where}: not an object")
        return
    attributes, required = OBJECTS[kind]
    problems += [f"{where}.{key}: required, missing" for key in sorted(required - value.keys())]
    problems += [f"{where}.{key}: not an attribute of {kind}" for key in sorted(value.keys() - attributes)]
    if kind in ENTITIES and not (value.get("name") or value.get("uid")):
        problems.append(f"{where}: needs name or uid")


def _string(problems: list[str], where: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        problems.append(f"{where}: not a non-empty string")


def problems(finding: dict[str, Any]) -> list[str]:
    """What makes ``finding`` not a valid OCSF 1.3.0 Compliance Finding: empty when it is one."""
    found: list[str] = []
    found += [f"{key}: required, missing" for key in sorted(EVENT_REQUIRED - finding.keys())]
    found += [f"{key}: not an attribute of compliance_finding" for key in sorted(finding.keys() - EVENT_ATTRIBUTES)]
    if finding.get("class_uid") != CLASS_UID or finding.get("category_uid") != CATEGORY_UID:
        found.append("class_uid/category_uid: not a Compliance Finding (2003 in category 2)")
    activity = finding.get("activity_id")
    if finding.get("type_uid") != (CLASS_UID * 100 + activity if isinstance(activity, int) else None):
        found.append("type_uid: not class_uid * 100 + activity_id")
    for key in ("activity_id", "severity_id", "status_id"):
        if key in finding and finding[key] not in ENUMS[key]:
            found.append(f"{key}: {finding[key]!r} not in the enum")
    for key, label in (("activity_id", "activity_name"), ("severity_id", "severity"), ("status_id", "status")):
        if label in finding and finding[label] != CAPTIONS[key].get(finding.get(key)):
            found.append(f"{label}: {finding[label]!r} is not the caption of {key} {finding.get(key)!r}")
    for key in TIMESTAMPS:
        if key in finding and (not isinstance(finding[key], int) or isinstance(finding[key], bool)):
            found.append(f"{key}: not integer milliseconds")
    for kind in ("metadata", "finding_info", "compliance"):
        if kind in finding:
            _object(found, kind, kind, finding[kind])
    metadata = finding.get("metadata") or {}
    if isinstance(metadata, dict) and "product" in metadata:
        _object(found, "metadata.product", "product", metadata["product"])
        _string(found, "metadata.product.vendor_name", metadata["product"].get("vendor_name"))
    _string(found, "metadata.version", metadata.get("version") if isinstance(metadata, dict) else None)
    info = finding.get("finding_info") or {}
    for key in ("uid", "title"):
        _string(found, f"finding_info.{key}", info.get(key) if isinstance(info, dict) else None)
    compliance = finding.get("compliance") or {}
    if isinstance(compliance, dict):
        for key in ("standards", "requirements"):
            if key in compliance and not (isinstance(compliance[key], list)
                                          and all(isinstance(v, str) and v for v in compliance[key])):
                found.append(f"compliance.{key}: not an array of strings")
        if "status_id" in compliance:
            if compliance["status_id"] not in ENUMS["compliance.status_id"]:
                found.append(f"compliance.status_id: {compliance['status_id']!r} not in the enum")
            elif "status" in compliance and compliance["status"] != CAPTIONS["compliance.status_id"].get(
                    compliance["status_id"]):
                found.append("compliance.status: not the caption of compliance.status_id")
    resources = finding.get("resources", [])
    if not isinstance(resources, list):
        found.append("resources: not an array")
    else:
        for i, resource in enumerate(resources):
            _object(found, f"resources[{i}]", "resource_details", resource)
    return found
