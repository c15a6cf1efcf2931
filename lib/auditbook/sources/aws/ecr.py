"""ECR: repositories (tag immutability and scan on push: "the artifact tested is the one deployed"), and
the scan findings of each repository's most recently pushed image.

Findings come from ``DescribeImageScanFindings`` (basic or enhanced/Inspector scanning). Enhanced
findings carry ``firstObservedAt``; a basic finding is dated by the scan that reported it
(``imageScanCompletedAt``), which is later than the finding's real first sighting: the age is then a
lower bound, said in the provenance notes. An image never scanned is kept as a row with
``scan_status`` and no finding, so the control can report it.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from auditbook.provenance import Collected, CollectionError, RawStore
from auditbook.sources.aws.base import all_pages, items, provenance
from auditbook.sources.aws.session import AwsAccount
from auditbook.timeline import ChangeCalls

log = logging.getLogger(__name__)

# Calls that may change a repository's settings: all but pushing, pulling, deleting and scanning images.
REPOSITORY_CHANGES = ChangeCalls(
    "ecr.amazonaws.com", "(?!PutImage$|BatchDeleteImage$|InitiateLayerUpload$|UploadLayerPart$|CompleteLayerUpload$"
    "|StartImageScan$).*", "ECR calls on repositories' settings")

SEVERITIES = {"CRITICAL": "critical", "HIGH": "high", "MEDIUM": "moderate", "LOW": "low",
              "INFORMATIONAL": "informational", "UNDEFINED": "informational"}


def collect_repositories(account: AwsAccount, raw: RawStore, regions: list[str]) -> Collected:
    prov = provenance(account, "aws:ecr")
    rows = []
    for region in regions:
        ecr = account.client("ecr", region)
        pages = all_pages(ecr, "describe_repositories", f"ecr:DescribeRepositories ({region})")
        prov.raw_files.append(raw.save(f"aws/{account.account_id}/ecr/{region}/repositories.json", pages))
        repos = [r for p in pages for r in p.get("repositories", [])]
        prov.add_operation("ecr:DescribeRepositories", {"region": region}, pages=len(pages), records=len(repos))
        rows += [{
            "account_id": account.account_id, "region": region, "repository_name": r["repositoryName"],
            "repository_arn": r["repositoryArn"], "tag_mutability": r.get("imageTagMutability", ""),
            "scan_on_push": bool(r.get("imageScanningConfiguration", {}).get("scanOnPush")),
            "encryption": r.get("encryptionConfiguration", {}).get("encryptionType", ""),
            "created_at": r.get("createdAt"),
        } for r in repos]
    return Collected(pd.DataFrame(rows), prov)


def _basic_package(finding: dict[str, Any]) -> str:
    attrs = {a["key"]: a.get("value", "") for a in finding.get("attributes", [])}
    return f"{attrs.get('package_name', '')} {attrs.get('package_version', '')}".strip()


def _enhanced_package(finding: dict[str, Any]) -> str:
    packages = (finding.get("packageVulnerabilityDetails") or {}).get("vulnerablePackages", [])
    return ";".join(f"{p.get('name', '')} {p.get('version', '')}".strip() for p in packages)


def collect_image_findings(account: AwsAccount, raw: RawStore, regions: list[str],
                           repositories: list[str] | None = None) -> Collected:
    prov = provenance(account, "aws:ecr")
    rows: list[dict[str, Any]] = []
    for region in regions:
        ecr = account.client("ecr", region)
        repos = [r["repositoryName"] for r in items(all_pages(ecr, "describe_repositories",
                                                              f"ecr:DescribeRepositories ({region})"), "repositories")]
        repos = [r for r in repos if not repositories or r in repositories]
        prov.add_operation("ecr:DescribeRepositories", {"region": region}, 1, len(repos))
        for repo in repos:
            image_pages = all_pages(ecr, "describe_images", f"ecr:DescribeImages {repo} ({region})",
                                    repositoryName=repo)
            images = items(image_pages, "imageDetails")
            prov.add_operation("ecr:DescribeImages", {"region": region, "repositoryName": repo}, len(image_pages),
                               len(images))
            base = f"aws/{account.account_id}/ecr/{region}/{repo}"
            prov.raw_files.append(raw.save(f"{base}/images.json", image_pages))
            if not images:
                log.info("ECR repository %s (%s): no image, nothing to scan", repo, region)
                continue
            image = max(images, key=lambda i: i.get("imagePushedAt"))
            image_row = {"account_id": account.account_id, "region": region, "repository_name": repo,
                         "image_digest": image["imageDigest"], "image_tags": ";".join(image.get("imageTags", [])),
                         "pushed_at": image.get("imagePushedAt")}
            try:
                pages = all_pages(ecr, "describe_image_scan_findings", f"ecr:DescribeImageScanFindings {repo}",
                                  repositoryName=repo, imageId={"imageDigest": image["imageDigest"]})
            except CollectionError as exc:
                if "ScanNotFoundException" not in str(exc):
                    raise
                rows.append({**image_row, "scan_status": "NOT_SCANNED"})
                continue
            prov.add_operation("ecr:DescribeImageScanFindings", {"region": region, "repositoryName": repo,
                                                                 "imageDigest": image["imageDigest"]}, len(pages),
                               sum(len((p.get("imageScanFindings") or {}).get("findings", []))
                                   + len((p.get("imageScanFindings") or {}).get("enhancedFindings", []))
                                   for p in pages))
            prov.raw_files.append(raw.save(f"{base}/scan-findings-{image['imageDigest'].split(':')[-1][:12]}.json",
                                           pages))
            status = (pages[0].get("imageScanStatus") or {}).get("status", "") if pages else ""
            completed = pages[0].get("imageScanFindings", {}).get("imageScanCompletedAt") if pages else None
            scan_row = {**image_row, "scan_status": status, "scan_completed_at": completed}
            found = 0
            for page in pages:
                findings = page.get("imageScanFindings") or {}
                for f in findings.get("findings", []):
                    found += 1
                    rows.append({**scan_row, "finding": f.get("name", ""),
                                 "severity": SEVERITIES.get(f.get("severity", ""), "informational"),
                                 "package": _basic_package(f), "status": "ACTIVE", "first_observed": completed,
                                 "last_observed": completed, "scan_type": "basic"})
                for f in findings.get("enhancedFindings", []):
                    found += 1
                    vuln = (f.get("packageVulnerabilityDetails") or {}).get("vulnerabilityId") or f.get("title", "")
                    rows.append({**scan_row, "finding": vuln,
                                 "severity": SEVERITIES.get(f.get("severity", ""), "informational"),
                                 "package": _enhanced_package(f), "status": f.get("status", "ACTIVE"),
                                 "first_observed": f.get("firstObservedAt"), "last_observed": f.get("lastObservedAt"),
                                 "scan_type": "enhanced"})
            if not found:
                rows.append(scan_row)
    prov.notes.append("The most recently pushed image of each repository is tested. Basic-scan findings are dated "
                      "by the scan that reported them, a lower bound of their age.")
    return Collected(pd.DataFrame(rows), prov)
