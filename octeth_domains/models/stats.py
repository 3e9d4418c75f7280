"""Daily sending figures per sender domain and the accounting files they came from: the SQL."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Iterable

from ..db import Connection

# The windows of the operational fields, counted in UTC days ending today (inclusive): the last
# 7 days, the 7 before them, and the last 30.
WINDOW_DAYS = 7
REPUTATION_DAYS = 30

# The sums one sender domain's operational fields are computed from, as one derived table that a
# list joins (one statement for any number of domains). Its date parameters are those of
# :func:`window_args`, then the filter on the domains (a user's, or one id).
SUMS = ("Sent7", "SentPrev7", "Sent30", "Delivered30", "Bounced30", "Complaints30")
_DERIVED = (
    "SELECT DomainID AS StatsDomainID,"
    " SUM(CASE WHEN StatDate >= ? THEN Sent ELSE 0 END) AS Sent7,"
    " SUM(CASE WHEN StatDate < ? AND StatDate >= ? THEN Sent ELSE 0 END) AS SentPrev7,"
    " SUM(CASE WHEN StatDate >= ? THEN Sent ELSE 0 END) AS Sent30,"
    " SUM(CASE WHEN StatDate >= ? THEN Delivered ELSE 0 END) AS Delivered30,"
    " SUM(CASE WHEN StatDate >= ? THEN Bounced ELSE 0 END) AS Bounced30,"
    " SUM(CASE WHEN StatDate >= ? THEN Complaints ELSE 0 END) AS Complaints30"
    " FROM {p}sender_domain_stats WHERE StatDate >= ? AND StatDate <= ? AND DomainID IN ({domains})"
    " GROUP BY DomainID"
)
STATS_OF_USER = _DERIVED.replace("{domains}", "SELECT DomainID FROM {p}sender_domains WHERE RelUserID = ?")
STATS_OF_DOMAIN = _DERIVED.replace("{domains}", "?")
SELECT_SUMS = ", ".join(f"st.{name}" for name in SUMS)


def today() -> date:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).date()


def window_args(day: date) -> tuple[str, ...]:
    """The date parameters of :data:`STATS_OF_USER` / :data:`STATS_OF_DOMAIN` for ``day``."""
    last7 = (day - timedelta(days=WINDOW_DAYS - 1)).isoformat()
    prev7 = (day - timedelta(days=2 * WINDOW_DAYS - 1)).isoformat()
    last30 = (day - timedelta(days=REPUTATION_DAYS - 1)).isoformat()
    oldest = min(prev7, last30)
    return last7, last7, prev7, last30, last30, last30, last30, oldest, day.isoformat()


def daily(db: Connection, domain_id: int, days: int, day: date) -> list[dict[str, Any]]:
    """The domain's days with activity among the ``days`` ending on ``day``, newest first."""
    first = (day - timedelta(days=days - 1)).isoformat()
    return db.query(
        "SELECT StatDate, Sent, Delivered, Bounced, Complaints FROM {p}sender_domain_stats"
        " WHERE DomainID = ? AND StatDate >= ? AND StatDate <= ?"
        " AND (Sent > 0 OR Delivered > 0 OR Bounced > 0 OR Complaints > 0) ORDER BY StatDate DESC",
        (domain_id, first, day.isoformat()),
    )


def domain_hosts(db: Connection) -> list[dict[str, Any]]:
    """Every sender domain that is not deleted, with what maps a sending address to it."""
    return db.query(
        "SELECT DomainID, SenderDomain, Status, Options FROM {p}sender_domains"
        " WHERE Status <> 'Deleted' ORDER BY DomainID"
    )


def file_known(db: Connection, content_hash: str, size: int) -> bool:
    return db.one(
        "SELECT FileID FROM {p}sender_domain_stats_files WHERE ContentHash = ? AND FileSize = ?",
        (content_hash, size),
    ) is not None


def earlier_imports(db: Connection, name: str, size: int) -> list[tuple[int, str]]:
    """(size, content hash) of the imports of a file of this name smaller than ``size``, largest first."""
    rows = db.query(
        "SELECT FileSize, ContentHash FROM {p}sender_domain_stats_files WHERE FileName = ? AND FileSize < ?"
        " ORDER BY FileSize DESC",
        (name[-255:], size),
    )
    return [(int(row["FileSize"]), row["ContentHash"]) for row in rows]


def remember_file(db: Connection, name: str, size: int, content_hash: str, imported_at: str,
                  records: int, unknown: int) -> None:
    """Raises :class:`~octeth_domains.db.IntegrityError` when another import took the file first."""
    db.execute(
        "INSERT INTO {p}sender_domain_stats_files (FileName, FileSize, ContentHash, ImportedAt, Records,"
        " UnknownRecords) VALUES (?, ?, ?, ?, ?, ?)",
        (name[-255:], size, content_hash, imported_at, records, unknown),
    )


def add(db: Connection, figures: dict[tuple[int, str], list[int]]) -> None:
    """Add ``{(DomainID, 'Y-m-d'): [Sent, Delivered, Bounced, Complaints]}`` to the days' rows, and
    tell cached lists that those domains changed (their Revision)."""
    if db.dialect == "mysql":
        upsert = (
            "INSERT INTO {p}sender_domain_stats (DomainID, StatDate, Sent, Delivered, Bounced, Complaints)"
            " VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE Sent = Sent + VALUES(Sent),"
            " Delivered = Delivered + VALUES(Delivered), Bounced = Bounced + VALUES(Bounced),"
            " Complaints = Complaints + VALUES(Complaints)"
        )
    else:
        upsert = (
            "INSERT INTO {p}sender_domain_stats (DomainID, StatDate, Sent, Delivered, Bounced, Complaints)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (DomainID, StatDate) DO UPDATE SET"
            " Sent = Sent + excluded.Sent, Delivered = Delivered + excluded.Delivered,"
            " Bounced = Bounced + excluded.Bounced, Complaints = Complaints + excluded.Complaints"
        )
    for (domain_id, day), (sent, delivered, bounced, complaints) in sorted(figures.items()):
        db.execute(upsert, (domain_id, day, sent, delivered, bounced, complaints))
    touch(db, {domain_id for domain_id, _ in figures})


def touch(db: Connection, domain_ids: Iterable[int]) -> None:
    for domain_id in sorted(domain_ids):
        db.execute("UPDATE {p}sender_domains SET Revision = Revision + 1 WHERE DomainID = ?", (domain_id,))


def _round(value: float, digits: int = 0) -> float:
    # PHP's round(), which Octeth's figures come from: halves away from zero, not to even.
    from decimal import ROUND_HALF_UP, Decimal

    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def bucket(reputation: int | None) -> str | None:
    if reputation is None:
        return None
    for floor, name in ((90, "excellent"), (70, "good"), (50, "fair")):
        if reputation >= floor:
            return name
    return "poor"


def operational_fields(sums: dict[str, Any]) -> dict[str, Any]:
    """Octeth v5.9.4's six fields from a row's :data:`SUMS` (None when the domain has no stats)."""
    sent7, prev7, sent, delivered, bounced, complaints = (int(sums.get(name) or 0) for name in SUMS)
    if not sent7:
        delta = None
    elif not prev7:
        delta = "new"
    else:
        delta = f"{int(_round((sent7 - prev7) * 100 / prev7)):+d}%"
    if sent:
        bounce_pct, complaint_pct = bounced * 100 / sent, complaints * 100 / sent
        reputation = max(0, min(100, int(_round(100 - 4 * bounce_pct - 200 * complaint_pct))))
        delivered_share = delivered if delivered else max(0, sent - bounced - complaints)
        delivery_rate = _round(delivered_share * 100 / sent, 1)
        bounce_rate = _round(bounce_pct, 1)
    else:
        reputation = delivery_rate = bounce_rate = None
    return {
        "Volume7d": sent7,
        "VolumeDelta": delta,
        "Reputation": reputation,
        "ReputationBucket": bucket(reputation),
        "DeliveryRate": delivery_rate,
        "BounceRate": bounce_rate,
    }
