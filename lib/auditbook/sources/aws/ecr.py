"""ECR repositories: tag immutability and scan-on-push, the facts behind "the artifact tested is the one deployed"."""

from __future__ import annotations

import pandas as pd

from auditbook.provenance import Population, RawStore
from auditbook.sources.aws.iam import _provenance, aws_errors
from auditbook.sources.aws.session import AwsAccount

COLUMNS = ["account_id", "region", "repository_name", "repository_arn", "tag_mutability", "scan_on_push",
           "encryption", "created_at"]


def collect_repositories(account: AwsAccount, raw: RawStore, regions: list[str]) -> Population:
    prov = _provenance(account, "aws:ecr")
    rows = []
    for region in regions:
        ecr = account.client("ecr", region)
        pages = []
        with aws_errors("ecr:DescribeRepositories"):
            for page in ecr.get_paginator("describe_repositories").paginate():
                page.pop("ResponseMetadata", None)
                pages.append(page)
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
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return Population("ecr-repositories", frame, prov)
