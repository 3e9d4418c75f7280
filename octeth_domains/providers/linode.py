"""Linode (Akamai) DNS Manager (API v4, a personal access token), through dns-lexicon.

Lexicon's Linode provider joins its paths (``domains/...``) to the base without a slash, so the
base keeps its final slash.
"""
from __future__ import annotations

import typing as t

from ._lexicon import LexiconProvider
from .registry import ProviderInfo, key


class Linode(LexiconProvider):
    name = "linode"
    label = "Linode"
    lexicon_name = "linode"
    options = {"key": "auth_token"}
    default_api_url = "https://api.linode.com/v4"
    credentials_hint = "use a personal access token with Read/Write access to Domains"

    def _point(self, provider: t.Any) -> None:
        provider.api_endpoint = self.api_url + "/"


PROVIDER = ProviderInfo(
    name="linode",
    label="Linode",
    nameservers=("*.linode.com",),
    credentials=(key("Personal access token"),),
    where="In the Linode Cloud Manager, open your profile, then API Tokens, and create a personal"
    " access token with Read/Write access to Domains.",
    api_url=Linode.default_api_url,
    client=Linode,
)
