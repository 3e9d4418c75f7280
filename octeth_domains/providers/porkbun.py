"""Porkbun (API v3, an API key and its secret API key), through dns-lexicon.

Both keys travel in the JSON body of every call (Porkbun's API is all ``POST``); API access must
also be switched on for the domain itself in Porkbun's domain management.
"""
from __future__ import annotations

from ._lexicon import LexiconProvider
from .registry import ProviderInfo, key, secret


class Porkbun(LexiconProvider):
    name = "porkbun"
    label = "Porkbun"
    lexicon_name = "porkbun"
    options = {"key": "auth_key", "secret": "auth_secret"}
    default_api_url = "https://api.porkbun.com/api/json/v3"
    credentials_hint = "check the API key and secret API key, and that API access is on for this domain"


PROVIDER = ProviderInfo(
    name="porkbun",
    label="Porkbun",
    nameservers=("*.porkbun.com",),
    credentials=(key("API key"), secret("Secret API key")),
    where="In Porkbun, open Account, then API Access, create an API key (it comes with a secret API"
    " key), and turn on API access in the domain's details.",
    api_url=Porkbun.default_api_url,
    client=Porkbun,
)
