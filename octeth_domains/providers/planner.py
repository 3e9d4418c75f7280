"""The one place that decides what is written (SPEC section 7): nothing of the user's is lost.

:func:`plan_changes` decides the writes from what the provider already has; it only ever adds
records, or rewrites in place a CNAME at one of the service's own hosts or the user's SPF record
with our mechanisms merged in. It never plans a deletion, so no client is ever asked for one.
"""
from __future__ import annotations

import dataclasses
import typing as t
from dataclasses import dataclass

from ..senderdomains import spf
from .errors import ProviderError
from .records import Record


@dataclass(frozen=True)
class Change:
    """One write: add ``record``, or, when ``replaces`` is set, rewrite that
    existing record in place so that it says ``record`` (our own CNAME with
    another target, or the user's SPF record with our mechanisms merged in).
    Only ``replaces`` changes: the other records of its name and type stay."""

    record: Record
    replaces: Record | None = None


def plan_changes(
    wanted: t.Sequence[Record], existing: t.Sequence[Record]
) -> list[Change]:
    """Decide the writes that make ``wanted`` present without losing anything.

    The rules (SPEC section 7):

    - a record whose data is already there needs nothing (TTL is the
      user's business and is left alone);
    - a CNAME at a name that holds a CNAME to another target is rewritten in
      place: that host is the service's own;
    - an SPF value (``v=spf1 …``) at a name that already has an SPF record
      is merged into it: the mechanisms it lacks go before its ``all``, and
      that record is updated in place (nothing to do when it holds them
      all). A name never gets a second SPF record, which would make SPF fail
      for every message; a name that already has two is refused;
    - any other record (a TXT above all) is added beside what is there,
      never replacing it;
    - a CNAME cannot share its name with other data, and we will not delete
      the user's records to make room: that is a :class:`ProviderError`
      naming the host, raised before anything is written.

    Returns the changes in the order of ``wanted``; an empty list means the
    provider already has everything. ``wanted`` itself must be consistent (a
    CNAME alone at its name): :class:`ValueError` otherwise.
    """
    for record in wanted:
        if record.type == "CNAME" and any(
            other.name == record.name and not other.same_data(record) for other in wanted
        ):
            raise ValueError(f"{record.name}: a CNAME cannot share its name with other records")
    by_name: dict[str, list[Record]] = {}
    for record in existing:
        by_name.setdefault(record.name, []).append(record)

    changes: list[Change] = []
    planned: list[Record] = []
    for record in wanted:
        if any(record.same_data(p) for p in planned):
            continue
        here = by_name.get(record.name, [])
        if any(record.same_data(e) for e in here):
            continue
        if record.type == "TXT" and spf.is_spf(record.value):
            change = _merge_spf(record, here, changes)
            if change is not None:
                changes.append(change)
            planned.append(record)
            continue
        cnames = [e for e in here if e.type == "CNAME"]
        others = [e for e in here if e.type != "CNAME"]
        if record.type == "CNAME":
            if others:
                types = ", ".join(sorted({e.type for e in others}))
                raise ProviderError(
                    f"{record.name} already has {types} records, so the CNAME it needs cannot"
                    " be added; remove those records at the provider (or choose another"
                    " subdomain) and try again."
                )
            changes.append(Change(record, replaces=cnames[0] if cnames else None))
        else:
            if cnames:
                raise ProviderError(
                    f"{record.name} is a CNAME, so the {record.type} record it needs cannot be"
                    " added beside it; remove the CNAME at the provider and try again."
                )
            changes.append(Change(record))
        planned.append(record)
    return changes


def _merge_spf(record: Record, here: list[Record], changes: list[Change]) -> Change | None:
    """The write that puts the SPF mechanisms of ``record`` at its name: a new record when the
    name has no SPF record, else that record merged (None when it already holds them)."""
    # A change planned earlier for this name (two SPF values in one template) is merged into.
    for i, change in enumerate(changes):
        if change.record.name == record.name and change.record.type == "TXT" and spf.is_spf(change.record.value):
            merged = spf.merge(change.record.value, record.value)
            changes[i] = Change(dataclasses.replace(change.record, value=merged), replaces=change.replaces)
            return None
    current = [e for e in here if e.type == "TXT" and spf.is_spf(e.value)]
    if len(current) > 1:
        raise ProviderError(
            f"{record.name} already has {len(current)} SPF records, so SPF fails for every message"
            " sent from it; merge them into one record at the provider and try again."
        )
    if not current:
        return Change(record)
    merged = spf.merge(current[0].value, record.value)
    if merged == current[0].value:
        return None
    return Change(Record(record.name, "TXT", merged, current[0].ttl, ref=current[0].ref), replaces=current[0])


def written_hosts(records: t.Iterable[Record]) -> list[str]:
    """The distinct names of ``records``, first appearance first."""
    hosts: list[str] = []
    for record in records:
        if record.name not in hosts:
            hosts.append(record.name)
    return hosts
