"""DNSimple (API v2, an API access token), through dns-lexicon.

The account holding the zone is found among those the token reaches (``GET /accounts``), so an
account token or a user token both work and no account ID need be typed in. Lexicon's own search
takes the first domain whose name *contains* the zone's (DNSimple's ``name_like``): with
``myexample.com`` in one account and ``example.com`` in another, it chose the first account and
every write then failed with a 404. This module takes only the domain of exactly that name.

DNSimple pages its record lists (30 a page unless ``per_page`` says otherwise, at most 100) and
lexicon reads only the first page; a zone of more records would look incomplete to the planner,
which could then add a second SPF record beside the user's. This module reads every page itself.
"""
from __future__ import annotations

import typing as t

import requests
from lexicon.exceptions import AuthenticationError

from . import Record
from ._lexicon import LexiconProvider
from .registry import ProviderInfo, key


class DNSimple(LexiconProvider):
    name = "dnsimple"
    label = "DNSimple"
    lexicon_name = "dnsimple"
    options = {"key": "auth_token"}
    default_api_url = "https://api.dnsimple.com/v2"
    # DNSimple keeps an MX record's preference in ``priority``, an integer: lexicon sends it from
    # its option only when it is truthy (so never 0). An MX record is created here; the zone's
    # own listing (_list) reads ``priority`` with every record.
    mx_preference = "field"
    credentials_hint = "use an account API access token of the account that holds this domain"
    #: Items asked for per page of a list (DNSimple's largest page).
    per_page = 100

    def _authenticate(self, provider: t.Any, zone_name: str) -> None:
        """What lexicon's ``authenticate`` sets (``account_id``, ``domain_id``), from the first
        account holding a domain named exactly ``zone_name``."""
        for account in provider._get("/accounts") or ():
            if account.get("plan_identifier") is None:
                continue  # an account without a plan has no API access to its domains
            try:
                domains = self._pages(provider, f"/{account['id']}/domains", {"name_like": zone_name})
            except requests.HTTPError as error:
                # An account the token reaches but may not read (a lapsed subscription, 402, or a
                # role without access, 403) holds nothing for us: the next one may hold the zone.
                if error.response is not None and error.response.status_code in (402, 403):
                    continue
                raise
            for found in domains:
                if str(found.get("name", "")).rstrip(".").lower() == zone_name:
                    provider.account_id, provider.domain_id = account["id"], found["id"]
                    return
        raise AuthenticationError(f"No domain found named {zone_name}")

    def _pages(self, provider: t.Any, path: str, query: dict[str, t.Any]) -> list[dict[str, t.Any]]:
        items: list[dict[str, t.Any]] = []
        page = 1
        while True:
            # _request answers the body's "data" only, so a page shorter than asked is the last.
            data = provider._request("GET", path, query_params={**query, "page": page,
                                                                "per_page": self.per_page})
            items.extend(data or [])
            if not data or len(data) < self.per_page:
                return items
            page += 1

    def _create(self, provider: t.Any, zone_name: str, record: Record) -> None:
        if record.type != "MX":
            return super()._create(provider, zone_name, record)
        self._call(provider._post, f"/{provider.account_id}/zones/{provider.domain}/records",
                   self._mx_body(zone_name, record, data_key="content"))

    def _list(self, provider: t.Any, zone_name: str, names: t.Collection[str] = ()) -> list[Record]:
        items = self._call(self._pages, provider, f"/{provider.account_id}/zones/{provider.domain}/records", {})
        # DNSimple's names are relative to the zone, the apex "".
        return [self._to_record({**item, "name": f"{item['name']}.{zone_name}" if item.get("name") else zone_name},
                                zone_name) for item in items]


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
