"""ExampleDNS: a provider added the way the README's "Adding a provider" says, in one module that
lives in the test suite alone and is registered only through ``OCTETH_PROVIDER_MODULES``.
Its API is the fake of tests/provider_servers/exampledns.py."""
from __future__ import annotations

import typing as t
import urllib.parse

from octeth_domains.providers import AuthorizationFailed, Change, Provider, ProviderInfo, Record, registry


class ExampleDNS(Provider):
    name = "exampledns"
    label = "ExampleDNS"

    def _headers(self) -> dict[str, str]:
        return {"X-Token": self.credentials.key or "", "X-Account": self.credentials.username or ""}

    def _call(self, method: str, path: str, **options: t.Any) -> t.Any:
        response = self._request(method, path, **options)
        if self._retryable(response.status_code):
            raise self._unavailable(response)
        if response.status_code in (401, 403, 404):
            raise self._error(f"{self.label} said no: {self._json(response).get('error')}", AuthorizationFailed)
        if response.status_code >= 300:
            raise self._error(f"{self.label} refused the request (HTTP {response.status_code}).")
        return self._json(response)

    def _zone(self, zone_name: str) -> str:
        return "/zones/" + urllib.parse.quote(zone_name, safe="")

    def find_zone(self, domain: str) -> str:
        self._call("GET", self._zone(domain))
        return domain

    def check_access(self, zone_name: str) -> None:
        self.find_zone(zone_name)

    def _all(self, zone_name: str) -> list[Record]:
        records, page = [], 1
        while page:
            answer = self._call("GET", self._zone(zone_name) + "/records", params={"page": page})
            records += [Record(r["name"], r["type"], r["value"], ref=r["id"]) for r in answer["records"]]
            page = answer.get("next")
        return records

    def get_records(self, zone_name: str, name: str) -> list[Record]:
        return [r for r in self._all(zone_name) if r.name == name]

    def _existing(self, zone: t.Any, zone_name: str, wanted: list[Record]) -> list[Record]:
        return self._all(zone_name)

    def _apply(self, zone: t.Any, zone_name: str, changes: list[Change], existing: list[Record]) -> None:
        for change in changes:  # as the planner says: add, or update in place; never delete
            body = {"name": change.record.name, "type": change.record.type, "value": change.record.value}
            if change.replaces is not None:
                self._call("PUT", f"{self._zone(zone_name)}/records/{change.replaces.ref}", json=body)
            else:
                self._call("POST", f"{self._zone(zone_name)}/records", json=body)


PROVIDER = ProviderInfo(
    name="exampledns",
    label="ExampleDNS",
    nameservers=("*.ns.exampledns.test",),
    credentials=(registry.key("Access token"), registry.username("Account name")),
    where="In the ExampleDNS console, under Account, Tokens, create a token that may edit your zones.",
    api_url="https://api.exampledns.test/v1",
    client=ExampleDNS,
)
