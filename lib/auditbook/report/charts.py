"""Charts, one function per picture, same look in every notebook."""

from __future__ import annotations

from datetime import datetime

import matplotlib.pyplot as plt
import pandas as pd

from auditbook.report.display import figure

OK, BAD, NEUTRAL = "#1b7f3b", "#b3261e", "#8a9099"


def mfa_coverage(console_users: pd.DataFrame) -> None:
    """Console users with and without MFA, one bar per account."""
    if console_users.empty:
        return
    counts = console_users.groupby("account_id")["mfa_active"].agg(with_mfa="sum", total="count")
    counts["without_mfa"] = counts["total"] - counts["with_mfa"]
    fig, ax = figure(height=0.6 + 0.5 * len(counts))
    labels = list(counts.index)
    ax.barh(labels, counts["with_mfa"], color=OK, label="MFA")
    ax.barh(labels, counts["without_mfa"], left=counts["with_mfa"], color=BAD, label="no MFA")
    for i, (_, row) in enumerate(counts.iterrows()):
        ax.text(row["total"] + 0.2, i, f"{row['with_mfa']}/{row['total']} with MFA", va="center", fontsize=8)
    ax.set_xlabel("console users")
    ax.set_title("MFA coverage of console users", fontsize=10)
    ax.set_xlim(0, counts["total"].max() * 1.35)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    plt.show()


def days_since_last_sign_in(console_users: pd.DataFrame, as_of: datetime, threshold_days: int) -> None:
    """Histogram of days between each console user's last sign-in and the period end."""
    users = console_users[console_users["user_creation_time"] < as_of]
    last = users["password_last_used"].where(users["password_last_used"] <= as_of)
    since = (pd.Timestamp(as_of) - last.fillna(users["user_creation_time"])).dt.days
    if since.empty:
        return
    fig, ax = figure()
    bins = range(0, int(max(since.max(), threshold_days)) + 15, 15)
    ax.hist(since[since <= threshold_days], bins=bins, color=OK, label="active")
    ax.hist(since[since > threshold_days], bins=bins, color=BAD, label="dormant")
    ax.axvline(threshold_days, color="#333", linestyle="--", linewidth=1)
    ax.text(threshold_days, ax.get_ylim()[1] * 0.9, f" {threshold_days} d threshold", fontsize=8)
    ax.set_xlabel(f"days since last console sign-in (or creation, if never) at {as_of:%Y-%m-%d}")
    ax.set_ylabel("users")
    ax.legend(fontsize=8, frameon=False)
    plt.show()
