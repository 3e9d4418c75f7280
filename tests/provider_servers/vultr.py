"""A fake of Vultr's API v2, the DNS part (``/v2/domains``).

Documented behaviour kept: ``Authorization: Bearer <API key>`` on every call, a missing or
unknown key HTTP 401 ``{"error": "Invalid API token.", "status": 401}``; errors as ``{"error",
"status"}``; lists page with a cursor: ``per_page`` (default 100, at most 500) and ``cursor``,
``meta.links.next`` the next page's cursor or ``""`` on the last page, ``meta.total``;
``GET /v2/domains`` answers ``{"domains": [{"domain", "date_created", "dns_sec"}]}``;
``GET /v2/domains/{domain}/records`` answers ``{"records": [...]}``, records with a UUID ``id``,
``type``, a relative ``name`` (``""`` for the apex), ``data`` (TXT data in quotes, as Vultr
keeps it), ``priority`` and ``ttl``; ``POST`` creates (201 ``{"record": ...}``; 400 for missing
fields), ``GET .../records/{id}`` reads one, ``PATCH`` updates in place (204), ``DELETE`` (204).

Knobs besides the shared ones: ``tokens`` (key -> set of domain names it may see; ``None`` all),
``max_per_page``, ``default_per_page``.
"""
from __future__ import annotations

import base64
import itertools
import typing as t
import uuid

from werkzeug.wrappers import Request, Response

from . import Entry, FakeServer, LexiconCase, json_response, per_page


def _error(status: int, message: str) -> Response:
    return json_response({"error": message, "status": status}, status)


class FakeVultr(FakeServer):
    def __init__(self, tokens: dict[str, set[str] | None] | None = None) -> None:
        super().__init__()
        self.tokens: dict[str, set[str] | None] = tokens if tokens is not None else {}
        self.domains: dict[str, dict[str, t.Any]] = {}
        self.records: dict[str, dict[str, t.Any]] = {}
        self.max_per_page = 500
        self.default_per_page = 100
        self._ids = itertools.count(1)

    # -- seeding -------------------------------------------------------

    def add_zone(self, name: str, records: t.Iterable[Entry] = (), **options: t.Any) -> None:
        self.domains[name] = {"domain": name, "date_created": "2024-01-01T00:00:00+00:00", "dns_sec": "disabled"}
        for rid in [r for r, rec in self.records.items() if rec["_domain"] == name]:
            del self.records[rid]
        for fqdn, rtype, value in records:
            relative = "" if fqdn == name else fqdn[: -len(name) - 1]
            priority = -1
            if rtype == "MX":
                pref, value = value.split(" ", 1)
                priority = int(pref)
            if rtype == "TXT":
                value = f'"{value}"'
            self._store(name, {"type": rtype, "name": relative, "data": value, "priority": priority})

    def _store(self, domain: str, data: dict[str, t.Any]) -> dict[str, t.Any]:
        record = {"id": str(uuid.UUID(int=next(self._ids))), "type": str(data["type"]).upper(),
                  "name": str(data.get("name") or ""), "data": str(data["data"]),
                  "priority": int(data.get("priority", -1) or 0), "ttl": int(data.get("ttl") or 300),
                  "_domain": domain}
        self.records[record["id"]] = record
        return record

    def dump_ids(self, name: str) -> list[tuple[t.Any, str, str, str]]:
        """Like :meth:`dump`, each entry led by the record's id."""
        found = []
        for r in self.records.values():
            if r["_domain"] != name:
                continue
            fqdn = f"{r['name']}.{name}" if r["name"] else name
            value = r["data"]
            if r["type"] == "TXT" and len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if r["type"] == "MX":
                value = f"{r['priority']} {value}"
            found.append((r["id"], fqdn, r["type"], value))
        return found

    # -- the API -------------------------------------------------------

    def handle(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        if token is None or token not in self.tokens:
            return _error(401, "Invalid API token.")
        visible = self.tokens[token]
        parts = [p for p in request.path.split("/") if p]
        if parts[:2] != ["v2", "domains"]:
            return _error(404, "Invalid API route.")
        method, rest = request.method, parts[2:]
        if rest == [] and method == "GET":
            domains = [d for n, d in self.domains.items() if visible is None or n in visible]
            return self._page(request, "domains", domains)
        domain = self.domains.get(rest[0]) if rest else None
        if domain is None or (visible is not None and rest[0] not in visible):
            return _error(404, "Invalid domain.")
        name, rest = rest[0], rest[1:]
        if rest == [] and method == "GET":
            return json_response({"domain": domain})
        if rest == ["records"] and method == "GET":
            return self._page(request, "records", [self.public(r) for r in self.records.values()
                                                   if r["_domain"] == name])
        if rest == ["records"] and method == "POST":
            data = request.get_json(silent=True, force=True)
            if not isinstance(data, dict) or not data.get("type") or not data.get("data") or "name" not in data:
                return _error(400, "Unable to create record: missing name, type or data")
            return json_response({"record": self.public(self._store(name, data))}, 201)
        if len(rest) == 2 and rest[0] == "records":
            record = self.records.get(rest[1])
            if record is None or record["_domain"] != name:
                return _error(404, "Invalid record.")
            if method == "GET":
                return json_response({"record": self.public(record)})
            if method == "PATCH":
                data = request.get_json(silent=True, force=True)
                if not isinstance(data, dict):
                    return _error(400, "Invalid JSON.")
                for key in ("name", "data", "ttl", "priority"):
                    if key in data:
                        record[key] = data[key]
                return Response(status=204)
            if method == "DELETE":
                del self.records[record["id"]]
                return Response(status=204)
        return _error(405, "Method not allowed.")

    def _page(self, request: Request, key: str, items: list[dict[str, t.Any]]) -> Response:
        try:
            per_page = min(self.max_per_page, max(1, int(request.args.get("per_page", self.default_per_page))))
            cursor = request.args.get("cursor", "")
            start = int(base64.b64decode(cursor).decode().removeprefix("next__")) if cursor else 0
        except ValueError:
            return _error(400, "Invalid cursor.")
        end = start + per_page
        token = lambda n: base64.b64encode(f"next__{n}".encode()).decode()  # noqa: E731
        links = {"next": token(end) if end < len(items) else "",
                 "prev": token(max(0, start - per_page)) if start else ""}
        return json_response({key: items[start:end], "meta": {"total": len(items), "links": links}})


VU_TOKEN = "VULTRS3CRETAPIKEY0123456789ABCDEFGHI"


LEXICON_CASE = LexiconCase(
    "vultr", lambda: FakeVultr(tokens={VU_TOKEN: None}), "/v2",
    good={"Api_key": VU_TOKEN}, bad={"Api_key": "WRONGVULTRAPIKEY0123"},
    nameservers=("ns1.vultr.com.", "ns2.vultr.com."), page_size=per_page,
)
