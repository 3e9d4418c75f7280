"""DNSimple (API v2, an API access token), through dns-lexicon.

Lexicon finds the account holding the zone among those the token reaches (``GET /accounts``), so
an account token or a user token both work and no account ID need be typed in.

DNSimple pages its record lists (30 a page unless ``per_page`` says otherwise, at most 100) and
lexicon reads only the first page; a zone of more records would look incomplete to the planner,
which could then add a second SPF record beside the user's. This module reads every page itself.
"""
from __future__ import annotations

import typing as t

from . import Record
from ._lexicon import LexiconProvider
from .registry import ProviderInfo, key


class DNSimple(LexiconProvider):
    name = "dnsimple"
    label = "DNSimple"
    lexicon_name = "dnsimple"
    options = {"key": "auth_token"}
    default_api_url = "https://api.dnsimple.com/v2"
    credentials_hint = "use an account API access token of the account that holds this domain"
    #: Records asked for per page (DNSimple's largest page).
    records_per_page = 100

    def _list(self, provider: t.Any, zone_name: str) -> list[Record]:
        def pages() -> list[dict[str, t.Any]]:
            items: list[dict[str, t.Any]] = []
            page = 1
            while True:
                # _request answers the body's "data" only, so a page shorter than asked is the last.
                data = provider._request("GET", f"/{provider.account_id}/zones/{provider.domain}/records",
                                         query_params={"page": page, "per_page": self.records_per_page})
                items.extend(data or [])
                if not data or len(data) < self.records_per_page:
                    return items
                page += 1

        # DNSimple's names are relative to the zone, the apex "".
        return [self._to_record({**item, "name": f"{item['name']}.{zone_name}" if item.get("name") else zone_name},
                                zone_name) for item in self._call(pages)]


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
