"""Gandi LiveDNS (API v5, a personal access token or a legacy API key), through dns-lexicon.

Lexicon's Gandi provider speaks the old XML-RPC API unless told ``api_protocol=rest``; this one
always uses LiveDNS's REST API. Lexicon sends a token of at most 24 characters as ``Apikey`` and a
longer one (a personal access token) as ``Bearer``.

Lexicon finds the zone (``GET /domains/{fqdn}``) and sends every call (its ``_get``, ``_post`` and
``_put`` carry the credential); the rest is done here, because LiveDNS keeps records as record
sets, one per name and type, without ids, and lexicon's REST code gets them wrong in four ways:

- It names the apex ``""``, so its calls go to ``/records//TXT``, which is no record set at all;
  LiveDNS names the apex ``@``.
- It sends data as it is given: a CNAME or MX target without its final dot is read by LiveDNS as
  relative to the zone (``mailer.delivery.example`` becomes ``mailer.delivery.example.example.com``).
  Targets are sent with the final dot here, and TXT data quoted and escaped (zone-file form, as
  LiveDNS keeps it).
- It reads TXT data by dropping the first and last character, which breaks data of several
  strings (``"v=spf1 ..." "... ~all"``, as LiveDNS keeps text longer than 255 bytes). The zone is
  read here from ``GET /domains/{fqdn}/records`` as LiveDNS gives it.
- Its update replaces the whole set with the one new value, and its create rewrites a set with
  its values as it read them (unquoted) and our TTL: merging SPF in place at a name that holds
  other TXT values would take those with it. Here a set is rewritten with every value it holds,
  byte for byte as LiveDNS gave them, the one replaced value swapped (or the new one appended),
  and the set keeps its TTL when it holds values of the user's.
"""
from __future__ import annotations

import typing as t
from urllib.parse import quote

import requests

from . import Change, Record, absolute_name, parse_txt, quote_txt, relative_name
from ._lexicon import LexiconProvider, served_host
from .registry import ProviderInfo, key

#: LiveDNS's shortest TTL.
_MIN_TTL = 300


class Gandi(LexiconProvider):
    name = "gandi"
    label = "Gandi"
    lexicon_name = "gandi"
    options = {"key": "auth_token"}
    fixed_options = {"api_protocol": "rest"}
    default_api_url = "https://api.gandi.net/v5/livedns"
    credentials_hint = "use a personal access token allowed to manage the domain's technical configuration"
    apex_name = "@"
    relative_hosts = True

    # -- data in and out of LiveDNS's form --------------------------------

    def _content(self, record: Record) -> str:
        return quote_txt(record.value) if record.type == "TXT" else super()._content(record)

    @staticmethod
    def _readable(rtype: str, value: str, zone_name: str) -> str:
        """One of an rrset's values the way a Record holds it."""
        return parse_txt(value) if rtype == "TXT" else served_host(rtype, value, zone_name)

    def _url(self, provider: t.Any, zone_name: str, name: str, rtype: str) -> str:
        rel = relative_name(name, zone_name)
        return f"/domains/{provider.domain_id}/records/{quote(rel, safe='')}/{rtype}"

    # -- reading ------------------------------------------------------------

    def _list(self, provider: t.Any, zone_name: str, names: t.Collection[str] = ()) -> list[Record]:
        rrsets = self._call(provider._get, f"/domains/{provider.domain_id}/records")
        records = []
        for rrset in rrsets:
            rtype = str(rrset["rrset_type"]).upper()
            name = str(rrset["rrset_name"])
            fqdn = absolute_name(name, zone_name)
            ttl = rrset.get("rrset_ttl")
            for value in rrset["rrset_values"]:
                records.append(Record(fqdn, rtype, self._readable(rtype, str(value), zone_name),
                                      int(ttl) if isinstance(ttl, int) else 3600, ref=name or "@"))
        return records

    def _rrset(self, provider: t.Any, url: str) -> dict[str, t.Any] | None:
        """The record set at ``url`` as LiveDNS holds it, None when there is none."""
        try:
            return provider._get(url)
        except requests.exceptions.HTTPError as exc:
            if exc.response is not None and exc.response.status_code == 404:
                return None
            raise

    # -- writing ------------------------------------------------------------

    def _create(self, provider: t.Any, zone_name: str, record: Record) -> None:
        self._call(self._add, provider, zone_name, record)

    def _add(self, provider: t.Any, zone_name: str, record: Record) -> None:
        url = self._url(provider, zone_name, record.name, record.type)
        value = self._content(record)
        current = self._rrset(provider, url)
        if current is None:
            provider._post(url, {"rrset_values": [value], "rrset_ttl": max(record.ttl, _MIN_TTL)})
            return
        values = list(current["rrset_values"])
        if any(Record(record.name, record.type, self._readable(record.type, v, zone_name)).same_data(record)
               for v in values):
            return
        # The set holds the user's values: it keeps its TTL.
        provider._put(url, {"rrset_values": [*values, value], "rrset_ttl": current["rrset_ttl"]})

    def _update(self, provider: t.Any, zone_name: str, change: Change, existing: list[Record]) -> None:
        old, record = change.replaces, change.record
        assert old is not None

        def rewrite() -> None:
            url = self._url(provider, zone_name, old.name, old.type)
            # The set as it is now (an earlier change of this run may have added to it).
            current = self._rrset(provider, url)
            if current is None:
                provider._post(url, {"rrset_values": [self._content(record)],
                                     "rrset_ttl": max(record.ttl, _MIN_TTL)})
                return
            values, swapped = [], False
            for value in current["rrset_values"]:
                readable = Record(old.name, old.type, self._readable(old.type, value, zone_name))
                if not swapped and readable.same_data(old):
                    values.append(self._content(record))
                    swapped = True
                else:
                    values.append(value)
            if not swapped:
                # The value we read is gone (changed at Gandi since): adding ours beside what is
                # there now could make a second SPF record, which fails SPF for every message.
                raise self._error(f"The {old.type} record at {old.name} changed at {self.label} while it was"
                                  " being updated; try again.")
            ttl = max(record.ttl, _MIN_TTL) if len(values) == 1 else current["rrset_ttl"]
            provider._put(url, {"rrset_values": values, "rrset_ttl": ttl})

        self._call(rewrite)


PROVIDER = ProviderInfo(
    name="gandi",
    label="Gandi",
    nameservers=("*.gandi.net",),
    credentials=(key("Personal access token"),),
    where="In Gandi's admin interface, open the organization's settings, then Sharing, and create a"
    " personal access token with the permission to manage domain technical configurations.",
    api_url=Gandi.default_api_url,
    client=Gandi,
)
