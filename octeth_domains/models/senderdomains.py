"""Sender domains: the row of SPEC §5 and its SQL."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ..db import Connection

STATUSES = ("Approval Pending", "Enabled", "Disabled", "Suspended", "Blocked", "Deleted")

_COLUMNS = (
    "DomainID, SenderDomain, RelUserID, CreatedAt, Status, VerificationMeta, PolicyMeta, Options"
)


def _meta(text: str | None) -> Any:
    # The PHP product stored these with json_encode, where an empty map is [].
    value = json.loads(text) if text else None
    return value if value else []


def _timestamp(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def as_seed_object(row: dict[str, Any]) -> dict[str, Any]:
    """The ``SenderDomain`` object exactly as the seed shows it: ids as strings, metas decoded."""
    return {
        "DomainID": str(row["DomainID"]),
        "SenderDomain": row["SenderDomain"],
        "UserID": str(row["RelUserID"]),
        "CreatedAt": _timestamp(row["CreatedAt"]),
        "Status": row["Status"],
        "VerificationMeta": _meta(row["VerificationMeta"]),
        "PolicyMeta": _meta(row["PolicyMeta"]),
        "Options": _meta(row["Options"]),
    }


def list_for_user(db: Connection, user_id: int) -> list[dict[str, Any]]:
    """The user's domains that are not deleted, oldest first, in one query."""
    return db.query(
        f"SELECT {_COLUMNS} FROM {{p}}sender_domains"
        " WHERE RelUserID = ? AND Status <> 'Deleted' ORDER BY DomainID",
        (user_id,),
    )
