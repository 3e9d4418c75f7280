"""Vultr DNS (API v2, an API key), through dns-lexicon.

Vultr pages its lists with a cursor (``meta.links.next``), which lexicon follows; TXT data goes
and comes back quoted, and lexicon adds and strips the quotes. An MX record is created here, its
preference in ``priority``, and that of each listed MX record read by its id: lexicon's provider
sends ``priority: 0`` and lists none.
"""
from __future__ import annotations

import typing as t

from . import Record
from ._lexicon import LexiconProvider
from .registry import ProviderInfo, key


class Vultr(LexiconProvider):
    name = "vultr"
    label = "Vultr"
    lexicon_name = "vultr"
    options = {"key": "auth_token"}
    default_api_url = "https://api.vultr.com/v2"
    # Vultr keeps an MX record's preference in ``priority``; lexicon's provider sends 0 whatever
    # the record says, and lists none.
    mx_preference = "field"
    credentials_hint = "use the account's API key, and allow this service's address in its access control list"

    def _create(self, provider: t.Any, zone_name: str, record: Record) -> None:
        if record.type != "MX":
            return super()._create(provider, zone_name, record)
        self._call(provider._post, f"/domains/{provider.domain_id}/records", self._mx_body(zone_name, record))

    def _preference_of(self, provider: t.Any, item: dict[str, t.Any]) -> int | None:
        return provider._get(f"/domains/{provider.domain_id}/records/{item['id']}")["record"].get("priority")


PROVIDER = ProviderInfo(
    name="vultr",
    label="Vultr",
    nameservers=("*.vultr.com",),
    credentials=(key("API key"),),
    where="In the Vultr customer portal, open Account, then API, enable the API and copy the API"
    " key (allow this server's IP address in its access control).",
    api_url=Vultr.default_api_url,
    client=Vultr,
)
