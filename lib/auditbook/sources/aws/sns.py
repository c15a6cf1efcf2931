"""SNS: the topics alarms notify, with their subscriptions (counts and protocols; endpoints stay in raw/).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from auditbook.provenance import Collected, RawStore
from auditbook.sources.aws.base import all_pages, provenance
from auditbook.sources.aws.session import AwsAccount
from auditbook.timeline import ChangeCalls

# Calls that may change a topic or its subscriptions: all but publishing to it.
TOPIC_CHANGES = ChangeCalls("sns.amazonaws.com", "(?!Publish).*", "SNS calls on topics and subscriptions")


def collect_topics(account: AwsAccount, raw: RawStore, regions: list[str]) -> Collected:
    """Every SNS topic in each region with its subscriptions (counts and protocols; endpoints stay in raw/)."""
    prov = provenance(account, "aws:sns")
    rows = []
    for region in regions:
        sns = account.client("sns", region)
        pages = all_pages(sns, "list_topics", f"sns:ListTopics ({region})")
        topics = [t["TopicArn"] for p in pages for t in p.get("Topics", [])]
        prov.add_operation("sns:ListTopics", {"region": region}, pages=len(pages), records=len(topics))
        subs_raw: dict[str, Any] = {}
        for arn in topics:
            sub_pages = all_pages(sns, "list_subscriptions_by_topic",
                               f"sns:ListSubscriptionsByTopic {arn}", TopicArn=arn)
            subs = [s for p in sub_pages for s in p.get("Subscriptions", [])]
            subs_raw[arn] = sub_pages
            confirmed = [s for s in subs if s.get("SubscriptionArn", "").startswith("arn:")]
            rows.append({"account_id": account.account_id, "region": region, "topic_arn": arn,
                         "topic_name": arn.rsplit(":", 1)[-1], "confirmed_subscriptions": len(confirmed),
                         "pending_subscriptions": len(subs) - len(confirmed),
                         "protocols": ";".join(sorted({s.get("Protocol", "") for s in confirmed}))})
        prov.add_operation("sns:ListSubscriptionsByTopic", {"region": region}, pages=len(topics),
                           records=sum(r["confirmed_subscriptions"] + r["pending_subscriptions"] for r in rows
                                       if r["region"] == region))
        prov.raw_files.append(raw.save(f"aws/{account.account_id}/sns/{region}/topics.json",
                                       {"ListTopics": pages, "ListSubscriptionsByTopic": subs_raw}))
    return Collected(pd.DataFrame(rows), prov)
