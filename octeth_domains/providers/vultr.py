"""Vultr DNS (API v2, an API key), through dns-lexicon.

Vultr pages its lists with a cursor (``meta.links.next``), which lexicon follows; TXT data goes
and comes back quoted, and lexicon adds and strips the quotes.
"""
from __future__ import annotations

from ._lexicon import LexiconProvider
from .registry import ProviderInfo, key


class Vultr(LexiconProvider):
    name = "vultr"
    label = "Vultr"
    lexicon_name = "vultr"
    options = {"key": "auth_token"}
    default_api_url = "https://api.vultr.com/v2"
    # lexicon's Vultr provider sends ``priority: 0`` whatever the record says.
    mx_preference = None
    credentials_hint = "use the account's API key, and allow this service's address in its access control list"


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
