"""A fake of DigitalOcean's API v2, the domains part (``/v2/domains``).

Documented behaviour kept: ``Authorization: Bearer <token>`` on every call, an unknown or missing
token HTTP 401 ``{"id": "unauthorized", "message": "Unable to authenticate you"}``; an unknown
domain or record HTTP 404 ``{"id": "not_found", ...}``; ``GET /v2/domains/{domain}`` answers
``{"domain": {...}}``; ``GET /v2/domains/{domain}/records`` pages with ``page`` and ``per_page``
(default 20, at most 200) and answers ``{"domain_records": [...], "links": {"pages": {...}},
"meta": {"total": N}}``, ``links.pages.next`` a full URL while there is a next page; records have
a numeric ``id``, a relative ``name`` (``@`` for the apex), ``data`` (a CNAME's or MX's host
fully qualified with its final dot; TXT unquoted), ``priority``, ``ttl``; ``POST`` creates (201
``{"domain_record": ...}``, 422 ``unprocessable_entity`` for bad data, an MX without ``priority``
among it), ``PUT``/``PATCH
.../records/{id}`` updates in place, ``DELETE`` 204. Rate limiting: ``limit(n)`` answers the next
``n`` requests HTTP 429 ``too_many_requests`` with the ``ratelimit-*`` headers DigitalOcean sends.

Knobs besides the shared ones: ``tokens`` (token -> set of domain names it may see; ``None``
all), ``max_per_page``, ``default_per_page``.
"""
from __future__ import annotations

import itertools
import math
import time
import typing as t

from werkzeug.wrappers import Request, Response

from . import Entry, FakeServer, LexiconCase, json_response, per_page

_TYPES = {"A", "AAAA", "CAA", "CNAME", "MX", "NS", "SOA", "SRV", "TXT"}


def _error(status: int, code: str, message: str) -> Response:
    return json_response({"id": code, "message": message}, status)


class FakeDigitalOcean(FakeServer):
    def __init__(self, tokens: dict[str, set[str] | None] | None = None) -> None:
        super().__init__()
        self.tokens: dict[str, set[str] | None] = tokens if tokens is not None else {}
        self.domains: dict[str, dict[str, t.Any]] = {}
        self.records: dict[int, dict[str, t.Any]] = {}  # id -> record (with "_domain")
        self.max_per_page = 200
        self.default_per_page = 20
        self._limit_left = 0
        self._ids = itertools.count(3352892)

    def limit(self, n: int) -> None:
        """Answer the next ``n`` requests as DigitalOcean does past its rate limit."""
        with self.lock:
            self._limit_left = n

    # -- seeding -------------------------------------------------------

    def add_zone(self, name: str, records: t.Iterable[Entry] = (), **options: t.Any) -> None:
        self.domains[name] = {"name": name, "ttl": 1800, "zone_file": ""}
        for rid in [r for r, rec in self.records.items() if rec["_domain"] == name]:
            del self.records[rid]
        for fqdn, rtype, value in records:
            relative = "@" if fqdn == name else fqdn[: -len(name) - 1]
            data: dict[str, t.Any] = {"type": rtype, "name": relative, "data": value, "ttl": 1800}
            if rtype == "MX":
                priority, value = value.split(" ", 1)
                data.update(priority=int(priority), data=value)
            if rtype in ("CNAME", "MX"):
                data["data"] = data["data"].rstrip(".") + "."
            self._store(name, data)

    def _store(self, domain: str, data: dict[str, t.Any]) -> dict[str, t.Any]:
        record = {
            "id": next(self._ids),
            "type": str(data["type"]).upper(),
            "name": str(data["name"]).lower(),
            "data": str(data["data"]),
            "priority": data.get("priority"),
            "port": data.get("port"),
            "ttl": int(data.get("ttl") or 1800),
            "weight": data.get("weight"),
            "flags": data.get("flags"),
            "tag": data.get("tag"),
            "_domain": domain,
        }
        self.records[record["id"]] = record
        return record

    def dump_ids(self, name: str) -> list[tuple[t.Any, str, str, str]]:
        """Like :meth:`dump`, each entry led by the record's id."""
        found = []
        for r in self.records.values():
            if r["_domain"] != name:
                continue
            fqdn = name if r["name"] == "@" else f"{r['name']}.{name}"
            value = r["data"]
            if r["type"] in ("CNAME", "MX"):
                value = value.rstrip(".")
            if r["type"] == "MX":
                value = f"{r['priority']} {value}"
            found.append((r["id"], fqdn, r["type"], value))
        return found

    # -- the API -------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if self._limit_left > 0:
            self._limit_left -= 1
            response = _error(429, "too_many_requests", "API Rate limit exceeded.")
            response.headers["ratelimit-limit"] = "5000"
            response.headers["ratelimit-remaining"] = "0"
            response.headers["ratelimit-reset"] = str(int(time.time()) + 1)
            return response
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        if token is None or token not in self.tokens:
            return _error(401, "unauthorized", "Unable to authenticate you")
        visible = self.tokens[token]
        parts = [p for p in request.path.split("/") if p]
        if parts[:2] != ["v2", "domains"] or len(parts) < 3:
            return _error(404, "not_found", "The resource you were accessing could not be found.")
        domain = self.domains.get(parts[2])
        if domain is None or (visible is not None and domain["name"] not in visible):
            return _error(404, "not_found", "The resource you were accessing could not be found.")
        name, method, rest = domain["name"], request.method, parts[3:]
        if rest == [] and method == "GET":
            return json_response({"domain": domain})
        if rest == ["records"] and method == "GET":
            records = [self.public(r) for r in self.records.values() if r["_domain"] == name]
            for key in ("type", "name"):
                if key in request.args:
                    records = [r for r in records if r[key] == request.args[key]]
            return self._page(request, records)
        if rest == ["records"] and method == "POST":
            data = request.get_json(silent=True, force=True)
            problem = self._invalid(data)
            if problem:
                return _error(422, "unprocessable_entity", problem)
            return json_response({"domain_record": self.public(self._store(name, data))}, 201)
        if len(rest) == 2 and rest[0] == "records":
            record = self.records.get(int(rest[1])) if rest[1].isdigit() else None
            if record is None or record["_domain"] != name:
                return _error(404, "not_found", "The resource you were accessing could not be found.")
            if method == "GET":
                return json_response({"domain_record": self.public(record)})
            if method in ("PUT", "PATCH"):
                data = request.get_json(silent=True, force=True)
                if not isinstance(data, dict):
                    return _error(422, "unprocessable_entity", "Invalid request body.")
                merged = {**record, **{k: v for k, v in data.items() if v is not None}}
                problem = self._invalid(merged)
                if problem:
                    return _error(422, "unprocessable_entity", problem)
                for key in ("type", "name", "data", "priority", "ttl"):
                    if key in data and data[key] is not None:
                        record[key] = int(data[key]) if key == "ttl" else data[key]
                return json_response({"domain_record": self.public(record)})
            if method == "DELETE":
                del self.records[record["id"]]
                return Response(status=204)
        return _error(405, "method_not_allowed", "Method not allowed.")

    @staticmethod
    def _invalid(data: t.Any) -> str | None:
        if not isinstance(data, dict) or str(data.get("type", "")).upper() not in _TYPES:
            return "Type is not a valid record type."
        if not str(data.get("name") or "").strip():
            return "Name can't be blank."
        if not str(data.get("data") or "").strip():
            return "Data can't be blank."
        if str(data["type"]).upper() == "CNAME" and not str(data["data"]).endswith("."):
            return "Data must be a fully qualified domain name ending with a dot."
        if str(data["type"]).upper() == "MX" and not isinstance(data.get("priority"), int):
            return "Priority is required for MX records."  # the API reference: required for MX and SRV
        return None

    def _page(self, request: Request, items: list[dict[str, t.Any]]) -> Response:
        try:
            page = max(1, int(request.args.get("page", 1)))
            per_page = max(1, int(request.args.get("per_page", self.default_per_page)))
        except ValueError:
            return _error(400, "bad_request", "Invalid pagination parameters.")
        per_page = min(per_page, self.max_per_page)
        last = max(1, math.ceil(len(items) / per_page))
        base = f"{request.host_url.rstrip('/')}{request.path}?per_page={per_page}&page="
        pages: dict[str, str] = {}
        if page > 1:
            pages.update(first=f"{base}1", prev=f"{base}{page - 1}")
        if page < last:
            pages.update(next=f"{base}{page + 1}", last=f"{base}{last}")
        start = (page - 1) * per_page
        return json_response({"domain_records": items[start:start + per_page],
                              "links": {"pages": pages} if pages else {},
                              "meta": {"total": len(items)}})


DO_TOKEN = "dop_v1_S3cretDigitalOceanToken0123456789"


LEXICON_CASE = LexiconCase(
    "digitalocean", lambda: FakeDigitalOcean(tokens={DO_TOKEN: None}), "/v2",
    good={"Api_key": DO_TOKEN}, bad={"Api_key": "dop_v1_wrongTokenValue"},
    nameservers=("ns1.digitalocean.com.", "ns2.digitalocean.com."), page_size=per_page,
)
