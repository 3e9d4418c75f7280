"""Porkbun (API v3, an API key and its secret API key), through dns-lexicon.

Both keys travel in the JSON body of every call (Porkbun's API is all ``POST``); API access must
also be switched on for the domain itself in Porkbun's domain management.

Porkbun answers every error with HTTP 400 and ``{"status": "ERROR", "message": ...}``, never
401/403/404, so the status alone does not tell a refused key from a bad request; lexicon raises
the same ``HTTPError`` for all of them. This module reads Porkbun's message
(https://porkbun.com/api/json/v3/documentation) to tell them apart:

- ``"Invalid API key. (002)"``: the key pair was refused (:class:`AuthorizationFailed`);
- ``"Invalid domain."`` while finding the zone: the domain is not in this account
  (:class:`AuthorizationFailed`);
- ``"Domain is not opted in to API access."``: the keys are good but API access is off for the
  domain (:class:`AuthorizationFailed`, saying where to switch it on);
- any other 400 stays a :class:`ProviderError` with Porkbun's words. A 404 is not Porkbun's
  answer for an unknown domain, only for a path that is not its API: it says to check the URL.
"""
from __future__ import annotations

import requests

from . import AuthorizationFailed, ProviderError
from ._lexicon import LexiconProvider, _message
from .registry import ProviderInfo, key, secret


class Porkbun(LexiconProvider):
    name = "porkbun"
    # Every call of Porkbun's API is a POST, reads included: a rule by method would never retry
    # a read. Its edits and deletes name their record and say the whole outcome, so they may be
    # repeated too; a create answered a 5xx may have added its record, and sent again would add
    # it twice, so it is not repeated.
    repeatable_writes = True
    unrepeatable_paths = ("/dns/create/",)
    label = "Porkbun"
    lexicon_name = "porkbun"
    options = {"key": "auth_key", "secret": "auth_secret"}
    default_api_url = "https://api.porkbun.com/api/json/v3"
    # Porkbun keeps the preference in ``prio``, which lexicon sends from its option.
    mx_preference = "option"
    credentials_hint = "check the API key and secret API key, and that API access is on for this domain"

    def _http_error(self, response: requests.Response | None, zone: str | None) -> ProviderError:
        status = response.status_code if response is not None else 0
        said = _message(response)
        if status == 400:
            if said.lower().startswith("invalid api key"):
                return self._refused(f"HTTP 400: {said}")
            if "not opted in to api access" in said.lower():
                where = f" for {zone}" if zone else " for this domain"
                return self._error(f"{self.label} accepted the API keys but API access is switched off{where}"
                                   f" (HTTP 400: {said}); turn on API access in the domain's details in"
                                   " Porkbun's domain management, then try again.", AuthorizationFailed)
            if said.lower().rstrip(".") == "invalid domain" and zone:
                return self._error(self._not_yours(zone), AuthorizationFailed)
        if status == 404:
            return self._not_the_api(404)
        return super()._http_error(response, zone)


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
