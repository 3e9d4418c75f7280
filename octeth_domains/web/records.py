"""The DNS records as the edit page shows them: one row per record with its check state, and the
whole set as zone-file lines a user can paste into a provider's import box."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from ..senderdomains import hints
from ..senderdomains.verify import registered_domain

VERIFIED, FAILED, UNCHECKED = "verified", "failed", "unchecked"


@dataclass(frozen=True)
class Row:
    host: str
    type: str
    value: str
    state: str  # VERIFIED, FAILED or UNCHECKED
    relative: str = ""  # the host as most DNS panels want it: without the zone
    reason: str | None = None
    words: str | None = None  # the reason in plain words
    found: tuple[str, ...] | None = None
    hint: str | None = None

    @property
    def explained(self) -> bool:
        return self.reason not in (None, "ok", "unchecked") and self.state != VERIFIED


def zone_of(domain: str) -> str:
    """The zone most providers hold the domain's records in: its registered domain."""
    return registered_domain(domain)


def explain(rows: list[Row], diagnostics: Mapping[str, Mapping[str, Any]] | None, domain: str) -> list[Row]:
    """Rows with the host relative to the zone and, from ``Diagnostics``, why each failed."""
    zone = zone_of(domain)
    out = []
    for row in rows:
        entry = (diagnostics or {}).get(row.host) or {}
        reason = entry.get("Reason")
        found = entry.get("Found")
        out.append(replace(row, relative=hints.relative(row.host, zone), reason=reason,
                           words=hints.WORDS.get(reason) if reason else None,
                           found=tuple(found) if isinstance(found, list) else None, hint=entry.get("Hint")))
    return out


def health_warnings(health: Mapping[str, Mapping[str, Any]] | None) -> list[tuple[str, str, str]]:
    """(check, status, message) of each health check that is not ok."""
    return [(name, entry.get("Status", ""), entry.get("Message", "")) for name, entry in (health or {}).items()
            if isinstance(entry, Mapping) and entry.get("Status") != "ok"]


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
