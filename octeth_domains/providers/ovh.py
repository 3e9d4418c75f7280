"""OVHcloud DNS (API 1.0, an application key and secret and a consumer key), through dns-lexicon.

OVH signs every call with the application secret and the consumer key; lexicon does that. Its
region (Europe, Canada, US) is the API base URL: ``OCTETH_OVH_API_URL`` (default OVH Europe).
"""
from __future__ import annotations

import typing as t

from ._lexicon import LexiconProvider
from .registry import Credential, ProviderInfo, key, secret


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

    def _point(self, provider: t.Any) -> None:
        provider.endpoint_api = self.api_url


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
