"""The interface every DNS provider client implements.

A provider client is a plain object: no Flask, no database. ``dns.authorize`` calls
:meth:`Provider.check_access`, ``dns.set`` calls :meth:`Provider.ensure_records`, which reads
what the provider has, lets :func:`~.planner.plan_changes` decide the writes (never a deletion)
and hands them to the client. HTTP, with its timeout and retries, is :class:`~.http.HttpClient`.
"""
from __future__ import annotations

import abc
import typing as t

from .errors import AuthorizationFailed, ProviderError
from .http import HttpClient, logger
from .planner import Change, plan_changes, written_hosts
from .records import Record, canonical_name, relative_name
from .secrets import Credentials, scrub


class Provider(HttpClient, abc.ABC):
    """A DNS provider's API, seen as a zone of records we may add to."""

    #: The largest MX preference the API takes (DNS allows 65535; an API may allow less).
    max_mx_preference: t.ClassVar[int] = 65535

    def __enter__(self) -> Provider:
        return self

    # -- the interface -------------------------------------------------

    @abc.abstractmethod
    def find_zone(self, domain: str) -> t.Any:
        """The provider's own record of the zone named ``domain`` (a zone id,
        the domain's details, ...), for the other methods.

        ``domain`` is the zone's name as DNS sees it (found by walking up to
        the SOA). Raises :class:`AuthorizationFailed` when the provider
        refuses the credentials or the account does not hold that zone.
        """

    @abc.abstractmethod
    def get_records(self, zone_name: str, name: str) -> list[Record]:
        """Every record the provider has at the fully qualified ``name``."""

    @abc.abstractmethod
    def _existing(self, zone: t.Any, zone_name: str, wanted: list[Record]) -> list[Record]:
        """What the provider has that bears on ``wanted``: at least every
        record at each wanted name of the wanted type or of type CNAME."""

    @abc.abstractmethod
    def _apply(
        self, zone: t.Any, zone_name: str, changes: list[Change], existing: list[Record]
    ) -> None:
        """Write ``changes``; ``existing`` is what :meth:`_existing` returned."""

    @abc.abstractmethod
    def check_access(self, zone_name: str) -> None:
        """Return quietly when the credentials can manage ``zone_name``.

        Raises :class:`AuthorizationFailed` when the provider says no, and
        :class:`ProviderError` when it cannot be asked. Implementations read
        the zone and its records, which each provider refuses to a key that
        cannot manage them (no provider here can test a write permission
        without writing).
        """

    def ensure_records(self, zone_name: str, records: list[Record]) -> list[str]:
        """Make every one of ``records`` present in ``zone_name``; idempotent.

        Reads what the provider has, plans with :func:`plan_changes` (adds,
        and in-place updates of our own CNAMEs; never a deletion) and writes
        only if something is missing, so a second call makes no write
        request at all. Returns the hosts written or already present, in the
        order given.
        """
        zone_name = canonical_name(zone_name)
        for record in records:
            relative_name(record.name, zone_name)  # ValueError if outside the zone
            # Refused before the first write rather than by the API halfway through the run.
            if (record.preference or 0) > self.max_mx_preference:
                raise self._error(
                    f"{self.label} takes an MX preference from 0 to {self.max_mx_preference}; the"
                    f" MX record at {record.name} has {record.preference}, so nothing was written."
                    " Ask the operator to lower it in the DNS template."
                )
        zone = self.find_zone(zone_name)
        existing = self._existing(zone, zone_name, list(records))
        changes = plan_changes(records, existing)
        if changes:
            logger.info(
                "%s: writing %d record(s) in %s", self.label, len(changes), zone_name
            )
            self._apply(zone, zone_name, changes, existing)
        else:
            logger.info("%s: all records already present in %s", self.label, zone_name)
        return written_hosts(records)
