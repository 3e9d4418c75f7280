"""One stored DNS record of a sender domain: its type, its value and what the last definite
probe said of it.

``VerificationMeta.DNSRecords`` keeps the PHP product's shape, ``[Type, Value]`` until the record
is probed and ``[Type, Value, true|false]`` after; this type is how the code reads and writes it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping


@dataclass(frozen=True)
class StoredRecord:
    type: str
    value: str
    verified: bool | None = None  # None: never probed

    @classmethod
    def from_json(cls, item: Any) -> "StoredRecord":
        item = list(item) if isinstance(item, (list, tuple)) else []
        kind = str(item[0]) if item else ""
        value = str(item[1]) if len(item) > 1 else ""
        flag = item[2] if len(item) > 2 else None
        return cls(kind, value, None if flag is None else flag is True)

    def to_json(self) -> list:
        if self.verified is None:
            return [self.type, self.value]
        return [self.type, self.value, self.verified]

    def flagged(self, verified: bool | None) -> "StoredRecord":
        return replace(self, verified=verified)

    @property
    def identity(self) -> tuple[str, str]:
        """What the record asks DNS for; the flag is not part of it."""
        return (self.type, self.value)


Records = dict[str, StoredRecord]


def from_json(records: Mapping[str, Any] | None) -> Records:
    return {host: StoredRecord.from_json(item) for host, item in (records or {}).items()}


def to_json(records: Mapping[str, StoredRecord]) -> dict[str, list]:
    return {host: record.to_json() for host, record in records.items()}


def same_set(left: Mapping[str, StoredRecord], right: Mapping[str, StoredRecord]) -> bool:
    return {(h, *r.identity) for h, r in left.items()} == {(h, *r.identity) for h, r in right.items()}
