"""Gandi LiveDNS (API v5, a personal access token or a legacy API key), through dns-lexicon.

Lexicon's Gandi provider speaks the old XML-RPC API unless told ``api_protocol=rest``; this one
always uses LiveDNS's REST API. Lexicon sends a token of at most 24 characters as ``Apikey`` and a
longer one (a personal access token) as ``Bearer``.
"""
from __future__ import annotations

from ._lexicon import LexiconProvider
from .registry import ProviderInfo, key


class Gandi(LexiconProvider):
    name = "gandi"
    label = "Gandi"
    lexicon_name = "gandi"
    options = {"key": "auth_token"}
    fixed_options = {"api_protocol": "rest"}
    default_api_url = "https://api.gandi.net/v5/livedns"
    credentials_hint = "use a personal access token allowed to manage the domain's technical configuration"


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
