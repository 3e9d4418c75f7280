"""The DNS records as the edit page shows them: one row per record with its check state, and the
whole set as zone-file lines a user can paste into a provider's import box."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VERIFIED, FAILED, UNCHECKED = "verified", "failed", "unchecked"


@dataclass(frozen=True)
class Row:
    host: str
    type: str
    value: str
    state: str  # VERIFIED, FAILED or UNCHECKED


def _state(flag: Any) -> str:
    if flag is None:
        return UNCHECKED
    return VERIFIED if flag is True else FAILED


def from_verify(records: dict[str, list]) -> list[Row]:
    """Rows from ``user.senderdomain.verify``: ``{host: [Type, Value, passed]}``."""
    return [Row(host, record[0], record[1], _state(record[2] if len(record) > 2 else None))
            for host, record in records.items()]


def from_dns(records: dict[str, dict[str, Any]]) -> list[Row]:
    """Rows from ``user.senderdomain.dns``: ``{host: {Type, Value, IsVerified}}``."""
    return [Row(host, record["Type"], record["Value"], _state(record["IsVerified"]))
            for host, record in records.items()]


def _zone_value(row: Row) -> str:
    if row.type == "TXT":
        return '"' + row.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return row.value


def as_zone_text(rows: list[Row]) -> str:
    """``host. IN TYPE value`` lines (TXT quoted), the form most providers import as it is."""
    return "\n".join(f"{row.host.rstrip('.')}.\tIN\t{row.type}\t{_zone_value(row)}" for row in rows)


def verify_summary(name: str, answer: dict[str, Any]) -> str:
    """One sentence on a ``user.senderdomain.verify`` answer, for the message after a check."""
    found = answer.get("DNSRecords", {})
    failed = sum(1 for record in found.values() if not (len(record) > 2 and record[2] is True))
    if not found:
        checked = "no DNS records to verify"
    elif failed:
        checked = f"{failed} of {len(found)} DNS records not verified yet"
    else:
        checked = f"all {len(found)} DNS records verified"
    return f"{name}: {checked}; status {answer['Status']}."
