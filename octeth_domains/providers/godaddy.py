"""GoDaddy, through API v1 and an ``sso-key``.

Names are relative to the domain (``@`` for the apex) and a TTL is at least
600. GoDaddy has no record ids: ``PATCH /records`` adds records, and
``PUT /records/{type}/{name}`` replaces every record of that one type at
that one name, which is how a CNAME is rewritten in place. The whole-zone
``PUT /records`` is never used: it would delete everything we did not send.
"""

from __future__ import annotations

import typing as t
import urllib.parse

from . import registry
from . import (
    AuthorizationFailed,
    Change,
    Provider,
    Record,
    absolute_name,
    relative_name,
)

#: GoDaddy's name servers (``ns51.domaincontrol.com``), for dns.provider and dnshost.
NAMESERVERS: tuple[str, ...] = ("*.domaincontrol.com",)

MIN_TTL = 600


class GoDaddy(Provider):
    """GoDaddy DNS. Credentials: ``key`` and ``secret`` of a production API key."""

    name = "godaddy"
    label = "GoDaddy"

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"sso-key {self.credentials.key}:{self.credentials.secret or ''}",
            "Accept": "application/json",
        }

    def _call(self, method: str, path: str, *, json: t.Any = None, domain: str) -> t.Any:
        """One call; the parsed body of a 2xx answer (``None`` when empty).

        401 and 403 (and 404 on the domain) are :class:`AuthorizationFailed`;
        anything else that is not a success is :class:`ProviderError` with
        GoDaddy's own message.
        """
        response = self._request(method, path, json=json)
        status = response.status_code
        if self._retryable(status):
            raise self._unavailable(response)
        if 200 <= status < 300:
            if not response.content.strip():
                return None
            return self._json(response)
        message = _message(response)
        if status == 401:
            raise self._error(
                f"{self.label} did not accept the API key and secret ({message}); check"
                " that both belong to a production key.",
                AuthorizationFailed,
            )
        if status == 403:
            raise self._error(
                f"{self.label} does not allow this key to manage {domain} ({message}); the"
                " domain must be in the key's account, and GoDaddy only opens its DNS API"
                " to some accounts.",
                AuthorizationFailed,
            )
        if status == 404:
            raise self._error(
                f"{self.label} does not know {domain} in this account ({message}).",
                AuthorizationFailed,
            )
        raise self._error(f"{self.label} refused the request (HTTP {status}): {message}.")

    # -- Provider ------------------------------------------------------

    def find_zone(self, domain: str) -> dict[str, t.Any]:
        """The domain's details (``GET /v1/domains/{domain}``)."""
        domain = domain.rstrip(".").lower()
        details = self._call("GET", f"/v1/domains/{_q(domain)}", domain=domain)
        if not isinstance(details, dict):
            raise self._error(f"{self.label} sent domain details in an unexpected form.")
        return details

    def get_records(self, zone_name: str, name: str, types: t.Iterable[str] = ()) -> list[Record]:
        """The records at ``name``; of the given ``types``, or of every
        common type when none are given (GoDaddy reads one type at a time)."""
        zone_name = zone_name.rstrip(".").lower()
        types = list(types) or ["A", "AAAA", "CNAME", "MX", "TXT", "CAA", "NS", "SRV"]
        records: list[Record] = []
        for rtype in types:
            records.extend(self._read(zone_name, rtype, name))
        return records

    def _read(self, zone_name: str, rtype: str, name: str) -> list[Record]:
        host = relative_name(name, zone_name)
        items = self._call(
            "GET",
            f"/v1/domains/{_q(zone_name)}/records/{_q(rtype)}/{_q(host)}",
            domain=zone_name,
        )
        if items is None:
            return []
        if not isinstance(items, list):
            raise self._error(f"{self.label} sent records in an unexpected form.")
        return [_to_record(item, zone_name) for item in items if isinstance(item, dict)]

    def _existing(self, zone: t.Any, zone_name: str, wanted: list[Record]) -> list[Record]:
        # Only the types that decide the plan: a CNAME at each name, and each
        # type we want there. A clash with another type at a CNAME host is
        # refused by GoDaddy itself (HTTP 422), never resolved by deleting.
        types: dict[str, set[str]] = {}
        for record in wanted:
            types.setdefault(record.name, {"CNAME"}).add(record.type)
        records: list[Record] = []
        for name, kinds in types.items():
            records.extend(self.get_records(zone_name, name, sorted(kinds)))
        return records

    def check_access(self, zone_name: str) -> None:
        zone_name = zone_name.rstrip(".").lower()
        self.find_zone(zone_name)
        self._read(zone_name, "NS", zone_name)

    def _apply(
        self, zone: t.Any, zone_name: str, changes: list[Change], existing: list[Record]
    ) -> None:
        base = f"/v1/domains/{_q(zone_name)}/records"
        additions = [_to_item(c.record, zone_name) for c in changes if c.replaces is None]
        for change in changes:
            if change.replaces is None:
                continue
            record = change.record
            # PUT replaces every record of that name and type: send the others back as they are.
            kept = [e for e in existing if e.name == record.name and e.type == record.type
                    and not e.same_data(change.replaces)] if record.type != "CNAME" else []
            items = []
            for one in [record, *kept]:
                item = _to_item(one, zone_name)
                del item["type"], item["name"]
                items.append(item)
            host = relative_name(record.name, zone_name)
            self._call("PUT", f"{base}/{_q(record.type)}/{_q(host)}", json=items, domain=zone_name)
        if additions:
            self._call("PATCH", base, json=additions, domain=zone_name)


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="@")


def _message(response: t.Any) -> str:
    """GoDaddy's ``{"code", "message", "fields"}`` error, as one phrase."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {response.status_code}"
    text = str(body.get("message") or body.get("code") or f"HTTP {response.status_code}")
    details = [
        str(f.get("message"))
        for f in body.get("fields") or []
        if isinstance(f, dict) and f.get("message")
    ]
    if details:
        text += ": " + "; ".join(details)
    if body.get("code") and str(body["code"]) not in text:
        text = f"{body['code']}: {text}"
    return text.rstrip(".")


def _to_record(item: dict[str, t.Any], zone_name: str) -> Record:
    rtype = str(item.get("type", "")).upper()
    data = str(item.get("data", ""))
    if rtype == "CNAME" and data == "@":
        data = zone_name
    if rtype == "MX" and item.get("priority") is not None:
        data = f"{item['priority']} {data}"
    ttl = item.get("ttl")
    return Record(
        name=absolute_name(str(item.get("name", "@")), zone_name),
        type=rtype,
        value=data,
        ttl=ttl if isinstance(ttl, int) else MIN_TTL,
    )


def _to_item(record: Record, zone_name: str) -> dict[str, t.Any]:
    item: dict[str, t.Any] = {
        "type": record.type,
        "name": relative_name(record.name, zone_name),
        "data": record.value,
        "ttl": max(MIN_TTL, record.ttl),
    }
    if record.type in ("CNAME", "NS"):
        item["data"] = record.value.rstrip(".")
    if record.type == "MX":
        priority, _, host = record.value.partition(" ")
        item["priority"], item["data"] = int(priority), host.rstrip(".")
    return item


PROVIDER = registry.ProviderInfo(
    name="godaddy",
    label="GoDaddy",
    nameservers=NAMESERVERS,
    credentials=(registry.key("API key"), registry.secret("API secret")),
    where=(
        "On GoDaddy's developer site, under API Keys, create a Production key; GoDaddy shows "
        "the key and its secret together, the secret only once."
    ),
    api_url="https://api.godaddy.com",
    client=GoDaddy,
)
