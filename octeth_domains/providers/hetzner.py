"""Hetzner DNS, through dns-lexicon: the DNS Console API (``Auth-API-Token``, 32-character tokens)
and Hetzner Cloud's DNS API (``Bearer``, Cloud project tokens). Lexicon picks the API by the
token's length.

``OCTETH_HETZNER_API_URL`` is the DNS Console API's base (``https://dns.hetzner.com/api/v1``).
When it is set to anything else (a private deployment, a test), a Cloud token is sent there too
(``<url>/zones/...``), so that no call leaves for an address that was not configured.

Three quirks handled here:

- Host names in a record's data are read as in a zone file, relative to the zone without their
  final dot: ours go out with it (``relative_hosts``), and one the user wrote without it is read
  as the name Hetzner serves.

- Lexicon lists the DNS Console's records with one ``GET /records?zone_id=`` and does not follow
  ``meta.pagination``; a zone of more than one page would look incomplete to the planner. This
  module pages through it (``page``, ``per_page``) itself.
- Hetzner Cloud keeps records as record sets without ids, and lexicon's update replaces the
  whole set with one value: an SPF record merged in place at a name that also holds other TXT
  values would take those with it. This module rewrites the set with every value it held, the
  one merged value swapped in (``set_records``), so nothing else at that name is lost.
"""
from __future__ import annotations

import typing as t

from . import Change, Record
from ._lexicon import LexiconProvider
from .registry import ProviderInfo, key

#: Where lexicon's Hetzner Cloud implementation sends its calls by default.
CLOUD_API_URL = "https://api.hetzner.cloud/v1/zones"


class Hetzner(LexiconProvider):
    name = "hetzner"
    label = "Hetzner"
    lexicon_name = "hetzner"
    options = {"key": "auth_token"}
    default_api_url = "https://dns.hetzner.com/api/v1"
    credentials_hint = "use an API token of the DNS Console (or of the Hetzner Cloud project) that holds this zone"
    #: Records asked for per page of the DNS Console's list.
    records_per_page = 100
    apex_name = "@"
    # Both APIs read a record's data as a zone file does: an MX or CNAME host without its final
    # dot is relative to the zone (mx.mailer.delivery.example.<zone>).
    relative_hosts = True

    def _point(self, provider: t.Any) -> None:
        impl = provider._hetzner_impl
        if hasattr(impl, "API_ENDPOINT"):  # Hetzner Cloud
            if self.api_url != self.default_api_url:
                impl.API_ENDPOINT = self.api_url + "/zones"
        else:
            impl.api_endpoint = self.api_url

    def _list(self, provider: t.Any, zone_name: str, names: t.Collection[str] = ()) -> list[Record]:
        impl = provider._hetzner_impl
        if hasattr(impl, "API_ENDPOINT"):
            return super()._list(provider, zone_name, names)

        def pages() -> list[dict[str, t.Any]]:
            items: list[dict[str, t.Any]] = []
            page = 1
            while True:
                payload = impl._get("/records", {"zone_id": impl.domain_id, "page": page,
                                                 "per_page": self.records_per_page})
                items.extend(impl._hetzner_record_to_lexicon_record(r) for r in payload["records"])
                pagination = (payload.get("meta") or {}).get("pagination") or {}
                last = pagination.get("last_page")
                if not payload["records"] or not isinstance(last, int) or page >= last:
                    return items
                page += 1

        return [self._to_record(item, zone_name) for item in self._call(pages)]

    def _update(self, provider: t.Any, zone_name: str, change: Change, existing: list[Record]) -> None:
        impl = provider._hetzner_impl
        if not hasattr(impl, "API_ENDPOINT"):
            return super()._update(provider, zone_name, change, existing)
        old, record = change.replaces, change.record
        assert old is not None
        # The set as it is now (an earlier change of this run may have added to it), not as
        # it was listed before the writes began.
        current = [r for r in self._list(provider, zone_name) if (r.name, r.type) == (old.name, old.type)]
        values = [record.value if r.same_data(old) else r.value for r in current]
        if not any(r.same_data(old) for r in current):
            values.append(record.value)

        def set_records() -> bool:
            records = [impl._records_from(record.type, self._content(Record(record.name, record.type, v)))[0]
                       for v in values]
            action = impl._post(f"{impl._rrset_url(self._name(record, zone_name), record.type)}/actions/set_records",
                                {"records": records})["action"]
            return impl._wait_for_action(action)

        if not self._call(set_records):
            raise self._error(f"{self.label} did not finish updating {record.name}; try again later.")


PROVIDER = ProviderInfo(
    name="hetzner",
    label="Hetzner",
    nameservers=("*.ns.hetzner.com", "*.ns.hetzner.de"),
    credentials=(key("API token"),),
    where="In Hetzner's DNS Console, open API tokens and create a token (or, for zones in Hetzner"
    " Cloud, create a read and write API token in the project's Security settings).",
    api_url=Hetzner.default_api_url,
    client=Hetzner,
)
