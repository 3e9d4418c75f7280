"""OVHcloud DNS (API 1.0, an application key and secret and a consumer key), through dns-lexicon.

OVH signs every call with the application secret and the consumer key; lexicon does that. Its
region (Europe, Canada, US) is the API base URL: ``OCTETH_OVH_API_URL`` (default OVH Europe).

Three quirks of OVH's API handled here:

- **Host names are relative unless they end with a dot.** OVH appends the zone to a CNAME (or MX,
  NS) target written without its final dot, as a zone file does: ``mailer.delivery.example`` in
  ``example.com`` is served as ``mailer.delivery.example.example.com.``. Targets are sent fully
  qualified with their final dot, and a target read back without one is taken as OVH serves it
  (relative to the zone), so a record pointing at the wrong place is not mistaken for ours.
- **The clock.** Lexicon signs with OVH's time, from ``GET /auth/time``, but reads that answer
  without looking at its status: an error page there (a 503 after our retries, a 429, a wrong
  URL) became a ``TypeError`` and "an answer this service could not use". The clock is asked
  first here, through the same bounded call, so those failures are said as what they are.
- **Refused credentials are not all 401/403.** A wrong application secret makes a wrong
  signature, HTTP 400 ``INVALID_SIGNATURE``, and an unknown application key HTTP 400
  ``INVALID_KEY``: both are refused credentials, not a bad request of ours.

OVH keeps TXT data in double quotes (it adds them to data sent without); the adapter sends TXT
unquoted and reads it back through ``parse_txt``.
"""
from __future__ import annotations

import typing as t

import requests

from . import ProviderError
from ._lexicon import LexiconProvider, _message
from .registry import Credential, ProviderInfo, key, secret

#: OVH's errorCode values (HTTP 400) that mean the credentials, not the request, are wrong.
_CREDENTIAL_ERRORS = {"INVALID_SIGNATURE", "INVALID_KEY"}


class OVH(LexiconProvider):
    name = "ovh"
    label = "OVH"
    lexicon_name = "ovh"
    options = {"key": "auth_application_key", "secret": "auth_application_secret",
               "api_user": "auth_consumer_key"}
    # Lexicon refuses to start without an entry point; the URL is then set from ours.
    fixed_options = {"auth_entrypoint": "ovh-eu"}
    default_api_url = "https://eu.api.ovh.com/1.0"
    credentials_hint = ("check the application key, application secret and consumer key, and that the"
                        " consumer key may GET, POST and PUT /domain/zone/*")

    relative_hosts = True

    def _point(self, provider: t.Any) -> None:
        # Lexicon joins paths that start with "/" to this base: no trailing slash, or every
        # signed URL would hold "//" and OVH would route it elsewhere.
        provider.endpoint_api = self.api_url.rstrip("/")

    def _authenticate(self, provider: t.Any, zone_name: str) -> None:
        self._call(self._server_time, provider)
        provider.authenticate()

    def _server_time(self, provider: t.Any) -> int:
        """OVH's clock (``GET /auth/time``), its HTTP errors raised as such."""
        with requests.Session() as session:
            answer = session.get(f"{provider.endpoint_api}/auth/time")
        if answer.status_code == 404:  # no OVH API there: not a zone or a credential of the user's
            raise self._not_the_api(404)
        answer.raise_for_status()
        try:
            value = answer.json()
        except ValueError:
            value = None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("no clock in the answer")  # _call says it as an answer it could not use
        return value

    def _http_error(self, response: requests.Response | None, zone: str | None) -> ProviderError:
        if response is not None and response.status_code == 400:
            try:
                code = response.json().get("errorCode")
            except (ValueError, AttributeError):
                code = None
            if code in _CREDENTIAL_ERRORS:
                said = _message(response)
                return self._refused("HTTP 400" + (f": {said}" if said else ""))
        return super()._http_error(response, zone)


PROVIDER = ProviderInfo(
    name="ovh",
    label="OVH",
    nameservers=("*.ovh.net", "*.ovh.ca"),
    credentials=(
        key("Application key"),
        secret("Application secret"),
        # The consumer key is a secret too (it signs requests), so it is typed into a password box.
        Credential("api_user", "Api_user", 6, "Missing API user parameter", "Consumer key"),
    ),
    where="On OVHcloud's token creation page for your region, create an application key, application"
    " secret and consumer key with the rights GET, POST and PUT on /domain/zone/*.",
    api_url=OVH.default_api_url,
    client=OVH,
)
