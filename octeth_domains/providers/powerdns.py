"""PowerDNS Authoritative, through its HTTP API.

Records live in RRsets (all records of one name and type). A ``PATCH`` with
``changetype: REPLACE`` sets a whole RRset, so to add a TXT beside others
the RRset is sent back with the values it had plus ours; only the RRsets
we add to are sent, never the zone.

The API URL comes from configuration only (``OCTETH_POWERDNS_API_URL``),
e.g. ``http://127.0.0.1:8081/api/v1/servers/localhost``.
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
    parse_txt,
    quote_txt,
)

#: PowerDNS is the operator's own server: no public name servers to recognise it by.
NAMESERVERS: tuple[str, ...] = ()


class PowerDNS(Provider):
    """A PowerDNS Authoritative server. Credentials: ``key`` is its API key
    (sent as ``X-API-Key``)."""

    name = "powerdns"
    label = "PowerDNS"
    # Its one write, a PATCH of RRsets with changetype REPLACE, says the whole outcome.
    repeatable_writes = True

    def _headers(self) -> dict[str, str]:
        return {"X-API-Key": self.credentials.key or "", "Accept": "application/json"}

    def _call(self, method: str, path: str, *, json: t.Any = None, zone: str) -> t.Any:
        response = self._request(method, path, json=json)
        status = response.status_code
        if self._retryable(status):
            raise self._unavailable(response)
        if 200 <= status < 300:
            return self._json(response) if response.content.strip() else None
        message = _message(response)
        if status in (401, 403):
            raise self._error(
                f"{self.label} refused the API key ({message}); use the server's api-key.",
                AuthorizationFailed,
            )
        if status == 404 or (status == 422 and "could not find" in message.lower()):
            raise self._error(
                f"The zone {zone} does not exist on this {self.label} server ({message}).",
                AuthorizationFailed,
            )
        raise self._error(f"{self.label} refused the request (HTTP {status}): {message}.")

    def _zone_path(self, zone_name: str) -> str:
        zone_id = zone_name.rstrip(".").lower() + "."
        return "/zones/" + urllib.parse.quote(zone_id, safe="")

    # -- Provider ------------------------------------------------------

    def find_zone(self, domain: str) -> dict[str, t.Any]:
        """The zone with all its RRsets (``GET /zones/{zone.}``)."""
        name = domain.rstrip(".").lower()
        zone = self._call("GET", self._zone_path(name), zone=name)
        if not isinstance(zone, dict) or not isinstance(zone.get("rrsets", []), list):
            raise self._error(f"{self.label} sent the zone in an unexpected form.")
        return zone

    def check_access(self, zone_name: str) -> None:
        self.find_zone(zone_name)

    def get_records(self, zone_name: str, name: str) -> list[Record]:
        wanted = name.rstrip(".").lower()
        return [r for r in _records(self.find_zone(zone_name)) if r.name == wanted]

    def _existing(self, zone: t.Any, zone_name: str, wanted: list[Record]) -> list[Record]:
        return _records(zone)

    def _apply(
        self, zone: t.Any, zone_name: str, changes: list[Change], existing: list[Record]
    ) -> None:
        rrsets: dict[tuple[str, str], dict[str, t.Any]] = {}
        current = {
            (str(r.get("name", "")).rstrip(".").lower(), str(r.get("type", "")).upper()): r
            for r in zone.get("rrsets", [])
        }
        for change in changes:
            record = change.record
            key = (record.name, record.type)
            if key not in rrsets:
                old = current.get(key)
                rrsets[key] = {
                    "name": record.name + ".",
                    "type": record.type,
                    "ttl": old.get("ttl", record.ttl) if old else record.ttl,
                    "changetype": "REPLACE",
                    # Everything already there stays, disabled ones included.
                    "records": [
                        {"content": r.get("content", ""), "disabled": bool(r.get("disabled"))}
                        for r in (old.get("records", []) if old else [])
                    ],
                }
            entry = {"content": _content(record), "disabled": False}
            if change.replaces is not None and record.type == "CNAME":
                rrsets[key]["records"] = [entry]  # a CNAME has exactly one target
            elif change.replaces is not None:  # that one record rewritten, its neighbours kept
                records = rrsets[key]["records"]
                for i, old_entry in enumerate(records):
                    if parse_txt(old_entry["content"]) == change.replaces.value:
                        records[i] = {**entry, "disabled": old_entry["disabled"]}
                        break
                else:
                    records.append(entry)
            else:
                rrsets[key]["records"].append(entry)
        self._call(
            "PATCH", self._zone_path(zone_name), json={"rrsets": list(rrsets.values())},
            zone=zone_name,
        )


def _message(response: t.Any) -> str:
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:200] if text else f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    return f"HTTP {response.status_code}"


def _records(zone: dict[str, t.Any]) -> list[Record]:
    records = []
    for rrset in zone.get("rrsets", []):
        rtype = str(rrset.get("type", "")).upper()
        for item in rrset.get("records", []):
            content = str(item.get("content", ""))
            if rtype == "TXT":
                content = parse_txt(content)
            records.append(Record(
                name=str(rrset.get("name", "")),
                type=rtype,
                value=content,
                ttl=int(rrset.get("ttl") or 3600),
            ))
    return records


def _content(record: Record) -> str:
    if record.type == "TXT":
        return quote_txt(record.value)
    if record.type in ("CNAME", "NS", "PTR"):
        return record.value.rstrip(".") + "."
    if record.type == "MX":
        priority, _, host = record.value.partition(" ")
        return f"{priority} {host.rstrip('.')}."
    return record.value


PROVIDER = registry.ProviderInfo(
    name="powerdns",
    label="PowerDNS",
    nameservers=NAMESERVERS,
    credentials=(registry.key("API key"),),
    where=(
        "The API key is the api-key setting of your PowerDNS Authoritative server "
        "(pdns.conf)."
    ),
    api_url=None,  # no public URL: OCTETH_POWERDNS_API_URL must name the server's API
    client=PowerDNS,
)
