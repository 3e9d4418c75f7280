"""DNSimple (API v2, an API access token), through dns-lexicon.

Lexicon finds the account holding the zone among those the token reaches (``GET /accounts``), so
an account token or a user token both work and no account ID need be typed in.
"""
from __future__ import annotations

from ._lexicon import LexiconProvider
from .registry import ProviderInfo, key


class DNSimple(LexiconProvider):
    name = "dnsimple"
    label = "DNSimple"
    lexicon_name = "dnsimple"
    options = {"key": "auth_token"}
    default_api_url = "https://api.dnsimple.com/v2"
    credentials_hint = "use an account API access token of the account that holds this domain"


PROVIDER = ProviderInfo(
    name="dnsimple",
    label="DNSimple",
    nameservers=("*.dnsimple.com", "*.dnsimple-edge.net", "*.dnsimple-edge.org"),
    credentials=(key("API access token"),),
    where="In DNSimple, open the account's settings, then Access tokens, and create a new account"
    " access token.",
    api_url=DNSimple.default_api_url,
    client=DNSimple,
)
