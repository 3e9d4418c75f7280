"""DigitalOcean DNS (API v2, a personal access token), through dns-lexicon.

DigitalOcean keeps TXT data unquoted and wants a CNAME target as a fully qualified name with its
final dot. Its update (``PUT /v2/domains/{domain}/records/{id}``) is sent without the record's name:
the name does not change, and the apex's name is ``@`` there, which lexicon would send empty.
"""
from __future__ import annotations

from . import Record
from ._lexicon import LexiconProvider
from .registry import ProviderInfo, key


class DigitalOcean(LexiconProvider):
    name = "digitalocean"
    label = "DigitalOcean"
    lexicon_name = "digitalocean"
    options = {"key": "auth_token"}
    default_api_url = "https://api.digitalocean.com/v2"
    # lexicon's DigitalOcean provider sends no ``priority`` (the API requires it for MX).
    mx_preference = None
    credentials_hint = "use a personal access token with write scope (or the domain:read and domain:update scopes)"
    update_sends_name = False
    apex_name = "@"

    def _content(self, record: Record) -> str:
        if record.type == "CNAME":
            return record.value.rstrip(".") + "."
        return super()._content(record)


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
