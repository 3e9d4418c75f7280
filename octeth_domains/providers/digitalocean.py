"""DigitalOcean DNS (API v2, a personal access token), through dns-lexicon.

DigitalOcean keeps TXT data unquoted and wants a CNAME target as a fully qualified name with its
final dot. Its update (``PUT /v2/domains/{domain}/records/{id}``) is sent without the record's name:
the name does not change, and the apex's name is ``@`` there, which lexicon would send empty.
An MX record is created here, its preference in ``priority``, and that of each listed MX record
read by its id: lexicon's provider neither sends nor lists it.
"""
from __future__ import annotations

import typing as t

from . import Record
from ._lexicon import LexiconProvider
from .registry import ProviderInfo, key


class DigitalOcean(LexiconProvider):
    name = "digitalocean"
    label = "DigitalOcean"
    lexicon_name = "digitalocean"
    options = {"key": "auth_token"}
    default_api_url = "https://api.digitalocean.com/v2"
    # DigitalOcean keeps an MX record's preference in ``priority`` (required for MX), which
    # lexicon's provider neither sends nor lists.
    mx_preference = "field"
    credentials_hint = "use a personal access token with write scope (or the domain:read and domain:update scopes)"
    update_sends_name = False
    apex_name = "@"

    def _content(self, record: Record) -> str:
        if record.type in ("CNAME", "MX"):
            return super()._content(record).rstrip(".") + "."
        return super()._content(record)

    def _create(self, provider: t.Any, zone_name: str, record: Record) -> None:
        if record.type != "MX":
            return super()._create(provider, zone_name, record)
        self._call(provider._post, f"/domains/{provider.domain_id}/records", self._mx_body(zone_name, record))

    def _preference_of(self, provider: t.Any, item: dict[str, t.Any]) -> int | None:
        return provider._get(f"/domains/{provider.domain_id}/records/{item['id']}")["domain_record"].get("priority")


PROVIDER = ProviderInfo(
    name="digitalocean",
    label="DigitalOcean",
    nameservers=("*.digitalocean.com",),
    credentials=(key("Personal access token"),),
    where="In the DigitalOcean control panel, open API, then Tokens, and generate a new personal"
    " access token with write scope.",
    api_url=DigitalOcean.default_api_url,
    client=DigitalOcean,
)
