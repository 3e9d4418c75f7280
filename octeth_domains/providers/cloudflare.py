"""Cloudflare, through API v4 and an API token.

Every answer is ``{"success", "errors", "messages", "result"}`` (plus
``result_info`` on lists). Record names are fully qualified in this API, so
no relative names are involved; records have ids, which lets a CNAME be
rewritten in place with ``PATCH``.
"""

from __future__ import annotations

import typing as t

from . import registry
from . import (
    AuthorizationFailed,
    Change,
    Provider,
    ProviderError,
    Record,
    parse_txt,
    written_hosts,
)

#: Cloudflare's name servers (``ana.ns.cloudflare.com``), for dns.provider and dnshost.
NAMESERVERS: tuple[str, ...] = ("*.ns.cloudflare.com",)


#: Error codes that mean "these credentials are not good enough", whatever
#: the HTTP status they come with (6003/6111: malformed Authorization header;
#: 9106/9109: missing or invalid token; 10000: authentication error, which is
#: also what a token lacking a permission gets).
_AUTH_CODES = {6003, 6100, 6101, 6102, 6103, 6111, 9103, 9106, 9109, 10000, 10001}
#: "An identical record already exists": a retried POST that had succeeded.
_ALREADY_THERE = {81057, 81058}


class _Refused(ProviderError):
    """A refusal that is not about credentials; keeps Cloudflare's codes."""

    def __init__(self, reason: str, codes: set[t.Any]) -> None:
        super().__init__(reason)
        self.codes = codes


class Cloudflare(Provider):
    """Cloudflare DNS. Credentials: ``key`` is an API token with Zone:Read
    and DNS:Edit on the zone (sent as ``Authorization: Bearer``)."""

    name = "cloudflare"
    label = "Cloudflare"
    #: Page sizes asked for: Cloudflare allows at most 50 zones per page.
    zones_per_page = 50
    records_per_page = 100
    #: A bound on any one list: an answer claiming endless pages (a proxy's, or a fake API's)
    #: must not hold a request for hours. 200 pages of 100 records is a zone few have.
    max_pages = 200

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.credentials.key}",
            "Accept": "application/json",
        }

    def _call(
        self, method: str, path: str, *, params: t.Any = None, json: t.Any = None
    ) -> dict[str, t.Any]:
        """One API call; the parsed envelope when ``success`` is true.

        Raises :class:`AuthorizationFailed` for an authentication or
        permission answer and :class:`ProviderError` for anything else that
        is not a success.
        """
        response = self._request(method, path, params=params, json=json)
        if self._retryable(response.status_code):
            raise self._unavailable(response)
        body = self._json(response)
        if not isinstance(body, dict) or "success" not in body:
            raise self._error(
                f"{self.label} sent an answer without its usual envelope (HTTP"
                f" {response.status_code}); check that the API URL points at API v4."
            )
        if body.get("success") and response.ok:
            return body
        errors = _errors(body)
        codes = {code for code, _ in errors}
        text = "; ".join(f"{message} ({code})" for code, message in errors) or (
            f"HTTP {response.status_code}"
        )
        if response.status_code in (401, 403) or codes & _AUTH_CODES:
            raise self._error(
                f"{self.label} refused the API token: {text}. Use a token with Zone:Read"
                " and DNS:Edit permissions on this zone.",
                AuthorizationFailed,
            )
        raise _Refused(self.scrub(f"{self.label} refused the request: {text}."), codes)

    def _list(
        self, path: str, params: dict[str, t.Any], *, per_page: int
    ) -> list[dict[str, t.Any]]:
        """Every item of a paginated list, following ``result_info``."""
        items: list[dict[str, t.Any]] = []
        page = 1
        while True:
            body = self._call("GET", path, params={**params, "page": page, "per_page": per_page})
            result = body.get("result") or []
            if not isinstance(result, list):
                raise self._error(f"{self.label} sent a list answer that is not a list.")
            items.extend(result)
            info = body.get("result_info") or {}
            total_pages = info.get("total_pages")
            if not result or not isinstance(total_pages, int) or page >= total_pages:
                return items
            if page >= self.max_pages:
                raise self._error(f"{self.label} answered with more than {self.max_pages} pages of {path}"
                                  f" ({per_page} to a page); this service reads no more than that.")
            page += 1

    # -- Provider ------------------------------------------------------

    def find_zone(self, domain: str) -> dict[str, t.Any]:
        """The zone object (``id``, ``name``, ``status``...) named ``domain``."""
        domain = domain.rstrip(".").lower()
        zones = self._list("/zones", {"name": domain}, per_page=self.zones_per_page)
        for zone in zones:
            if str(zone.get("name", "")).lower() == domain and zone.get("id"):
                return zone
        raise self._error(
            f"The zone {domain} is not in this {self.label} account, or the API token"
            " cannot see it; add the zone to the token's resources.",
            AuthorizationFailed,
        )

    def get_records(self, zone_name: str, name: str) -> list[Record]:
        zone = self.find_zone(zone_name)
        return self._records_at(zone["id"], name)

    def _records_at(self, zone_id: str, name: str) -> list[Record]:
        items = self._list(
            f"/zones/{zone_id}/dns_records",
            {"name": name.rstrip(".").lower()},
            per_page=self.records_per_page,
        )
        return [_to_record(item) for item in items if item.get("name")]

    def check_access(self, zone_name: str) -> None:
        zone = self.find_zone(zone_name)
        self._call("GET", f"/zones/{zone['id']}/dns_records", params={"per_page": 5})

    def _existing(self, zone: t.Any, zone_name: str, wanted: list[Record]) -> list[Record]:
        records: list[Record] = []
        for name in written_hosts(wanted):
            records.extend(self._records_at(zone["id"], name))
        return records

    def _apply(
        self, zone: t.Any, zone_name: str, changes: list[Change], existing: list[Record]
    ) -> None:
        path = f"/zones/{zone['id']}/dns_records"
        for change in changes:
            record = change.record
            body: dict[str, t.Any] = {
                "type": record.type,
                "name": record.name,
                "content": _content(record),
                # 1 is "automatic"; otherwise Cloudflare wants at least 60.
                "ttl": record.ttl if record.ttl == 1 else max(60, record.ttl),
            }
            if record.type in ("CNAME", "A", "AAAA"):
                # A proxied CNAME is flattened to Cloudflare's addresses and a
                # DKIM or tracking lookup would not see our target.
                body["proxied"] = False
            if record.type == "MX":
                priority, _, host = record.value.partition(" ")
                body["priority"], body["content"] = int(priority), host.rstrip(".")
            if change.replaces is not None and change.replaces.ref:
                update = {"type": record.type, "content": body["content"]}
                if "proxied" in body:
                    update["proxied"] = False
                self._call("PATCH", f"{path}/{change.replaces.ref}", json=update)
                continue
            try:
                self._call("POST", path, json=body)
            except _Refused as exc:
                if not exc.codes & _ALREADY_THERE:
                    raise


def _errors(body: dict[str, t.Any]) -> list[tuple[t.Any, str]]:
    found = []
    for error in body.get("errors") or []:
        if isinstance(error, dict):
            found.append((error.get("code"), str(error.get("message", "")).strip()))
    return found


def _to_record(item: dict[str, t.Any]) -> Record:
    rtype = str(item.get("type", "")).upper()
    content = str(item.get("content", ""))
    if rtype == "TXT":
        content = parse_txt(content)
    elif rtype == "MX" and item.get("priority") is not None:
        content = f"{item['priority']} {content}"
    ttl = item.get("ttl")
    return Record(
        name=str(item["name"]),
        type=rtype,
        value=content,
        ttl=ttl if isinstance(ttl, int) else 1,
        ref=str(item["id"]) if item.get("id") else None,
    )


def _content(record: Record) -> str:
    if record.type in ("CNAME", "NS"):
        return record.value.rstrip(".")
    return record.value


PROVIDER = registry.ProviderInfo(
    name="cloudflare",
    label="Cloudflare",
    nameservers=NAMESERVERS,
    credentials=(registry.key("API token"),),
    where=(
        "In the Cloudflare dashboard, under My Profile, API Tokens, create a token with the "
        "Zone Read and DNS Edit permissions for this zone."
    ),
    api_url="https://api.cloudflare.com/client/v4",
    client=Cloudflare,
)
