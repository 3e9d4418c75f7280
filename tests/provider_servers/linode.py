"""A fake of Linode's (Akamai's) API v4, the DNS Manager part (``/v4/domains``).

Documented behaviour kept (Linode's OpenAPI specification, linode/linode-api-docs ``openapi.yaml``
4.173; https://techdocs.akamai.com/linode-api/reference/pagination,
https://techdocs.akamai.com/linode-api/reference/filtering-and-sorting,
https://techdocs.akamai.com/linode-api/reference/401.md,
https://techdocs.akamai.com/linode-api/reference/get-domain-records,
https://techdocs.akamai.com/linode-api/reference/post-domain-record,
https://techdocs.akamai.com/linode-api/reference/put-domain-record):

- ``Authorization: Bearer <personal access token>`` on every call; a missing or unknown token is
  HTTP 401. Every error is ``{"errors": [{"reason": ..., "field": ...}]}``, ``field`` only when
  the error is about one field of the request; an unknown domain, record or path is 404
  ``Not found``; a wrong method 405.
- Lists are always paged: ``page`` (from 1) and ``page_size`` (default 100, from 25 to 500;
  outside that range 400), the answer ``{"data": [...], "page", "pages", "results"}``; a page
  past the last one is answered empty.
- ``X-Filter``: a JSON object filtering a list on its filterable fields (a domain's ``domain``,
  ``group``, ``tags``, ``type``; a record's ``name``, ``type``, ``target``, ``tag``), values
  compared for equality, the operators ``+and``, ``+or``, ``+gt``, ``+gte``, ``+lt``, ``+lte``,
  ``+contains``, ``+neq``, ``+order_by``/``+order``; another field is 400.
- ``GET /domains`` lists the token's domains (``id``, ``domain``, ``type``, ``status``,
  ``soa_email``...); ``POST /domains`` adds one (``domain`` and ``type`` required, ``soa_email``
  for a ``master``); ``GET /domains/{domainId}`` reads one.
- ``GET /domains/{domainId}/records`` lists records: a numeric ``id``, ``type``, ``name``
  relative to the domain (``""`` for the apex), ``target`` (TXT text unquoted, as it was given;
  a CNAME's, MX's or NS's host without a final dot, the trailing period a request may carry being
  dropped), ``priority`` (an MX's preference; 0 where unused), ``weight``, ``port``, ``service``,
  ``protocol``, ``tag``, ``ttl_sec``, ``created``, ``updated``.
- ``POST /domains/{domainId}/records`` creates (HTTP 200 with the record; ``type`` required, the
  ``target`` of every type here required, a CNAME's ``name`` required and unique); ``ttl_sec`` 0
  (or none) is the domain's default, any other value rounded up to one of the valid values.
- ``PUT /domains/{domainId}/records/{recordId}`` updates in place (HTTP 200 with the record) the
  fields its request schema lists (``name``, ``target``, ``priority``, ``weight``, ``port``,
  ``service``, ``protocol``, ``ttl_sec``, ``tag``); fields left out stay; fields outside that
  schema (``type``) are ignored. The schema types ``name``, ``target`` and the numbers as
  non-nullable (only ``service``, ``protocol`` and ``tag`` are ``nullable: true``), so a JSON
  ``null`` for one of them is refused with 400 naming the field.
- ``DELETE /domains/{domainId}/records/{recordId}`` (200 ``{}``).

Knobs besides the shared ones: ``tokens`` (token -> set of domain names it may see; ``None``
all), ``default_page_size``, ``min_page_size``, ``max_page_size``. The shared pagination test
asks for 7 records a page, below Linode's documented minimum of 25: ``LEXICON_CASE.page_size``
sets the default *and the minimum* to that number, a test knob only (the fake keeps 25 to 500
otherwise).
"""
from __future__ import annotations

import itertools
import json
import math
import typing as t

from werkzeug.wrappers import Request, Response

from . import Entry, FakeServer, LexiconCase, json_response

#: The ttl_sec values Linode keeps; another is rounded up to the next one (0: the default).
VALID_TTLS = (300, 3600, 7200, 14400, 28800, 57600, 86400, 172800, 345600, 604800, 1209600, 2419200)
_HOST_TYPES = {"CNAME", "MX", "NS", "SRV", "PTR"}
_TYPES = {"A", "AAAA", "NS", "MX", "CNAME", "TXT", "SRV", "PTR", "CAA"}
_DOMAIN_FILTERABLE = {"domain", "group", "tags", "type", "id"}
_RECORD_FILTERABLE = {"name", "type", "target", "tag", "id"}
#: The PUT request schema: field -> (JSON type, nullable).
_UPDATABLE = {"name": (str, False), "target": (str, False), "priority": (int, False), "weight": (int, False),
              "port": (int, False), "service": (str, True), "protocol": (str, True), "ttl_sec": (int, False),
              "tag": (str, True)}
_STAMP = "2024-01-01T00:00:00"


def _error(status: int, reason: str, field: str | None = None) -> Response:
    error: dict[str, str] = {"reason": reason}
    if field is not None:
        error["field"] = field
    return json_response({"errors": [error]}, status)


def _ttl(value: t.Any) -> int:
    ttl = int(value or 0)
    if ttl <= 0:
        return 0
    return next((v for v in VALID_TTLS if v >= ttl), VALID_TTLS[-1])


class _FilterError(ValueError):
    pass


def _matches(obj: dict[str, t.Any], flt: t.Any, allowed: set[str]) -> bool:
    if not isinstance(flt, dict):
        raise _FilterError("Filter must be an object")
    for key, cond in flt.items():
        if key in ("+order_by", "+order"):
            continue
        if key in ("+and", "+or"):
            if not isinstance(cond, list):
                raise _FilterError(f"{key} must be an array")
            results = [_matches(obj, sub, allowed) for sub in cond]
            if not (all(results) if key == "+and" else any(results)):
                return False
            continue
        if key not in allowed:
            raise _FilterError(f"Cannot filter on {key}")
        value = obj.get(key)
        if isinstance(cond, dict):
            for op, operand in cond.items():
                ok = {
                    "+gt": lambda: value is not None and value > operand,
                    "+gte": lambda: value is not None and value >= operand,
                    "+lt": lambda: value is not None and value < operand,
                    "+lte": lambda: value is not None and value <= operand,
                    "+contains": lambda: isinstance(value, (str, list)) and operand in value,
                    "+neq": lambda: value != operand,
                }.get(op)
                if ok is None:
                    raise _FilterError(f"Unknown operator {op}")
                if not ok():
                    return False
        elif isinstance(value, list):
            if cond not in value:
                return False
        elif value != cond:
            return False
    return True


class FakeLinode(FakeServer):
    def __init__(self, tokens: dict[str, set[str] | None] | None = None) -> None:
        super().__init__()
        self.tokens: dict[str, set[str] | None] = tokens if tokens is not None else {}
        self.domains: dict[int, dict[str, t.Any]] = {}  # id -> domain
        self.records: dict[int, dict[str, t.Any]] = {}  # id -> record (with "_domain", the domain's id)
        self.default_page_size = 100
        self.min_page_size = 25
        self.max_page_size = 500
        self._domain_ids = itertools.count(1234567)
        self._record_ids = itertools.count(28430001)

    # -- seeding -------------------------------------------------------

    def _domain_named(self, name: str) -> dict[str, t.Any] | None:
        return next((d for d in self.domains.values() if d["domain"] == name), None)

    def _new_domain(self, name: str, data: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        data = data or {}
        domain = {"id": next(self._domain_ids), "domain": name, "type": data.get("type", "master"),
                  "status": data.get("status", "active"), "soa_email": data.get("soa_email", f"hostmaster@{name}"),
                  "description": data.get("description", ""), "group": data.get("group", ""),
                  "tags": list(data.get("tags") or []), "master_ips": list(data.get("master_ips") or []),
                  "axfr_ips": list(data.get("axfr_ips") or []), "ttl_sec": _ttl(data.get("ttl_sec")),
                  "refresh_sec": 0, "retry_sec": 0, "expire_sec": 0,
                  "created": _STAMP, "updated": _STAMP}
        self.domains[domain["id"]] = domain
        return domain

    def add_zone(self, name: str, records: t.Iterable[Entry] = (), **options: t.Any) -> None:
        domain = self._domain_named(name) or self._new_domain(name)
        for rid in [r for r, rec in self.records.items() if rec["_domain"] == domain["id"]]:
            del self.records[rid]
        for fqdn, rtype, value in records:
            relative = "" if fqdn == name else fqdn[: -len(name) - 1]
            data: dict[str, t.Any] = {"type": rtype, "name": relative, "target": value}
            if rtype == "MX":
                priority, host = value.split(" ", 1)
                data.update(priority=int(priority), target=host)
            self._store(domain["id"], data)

    def _store(self, domain_id: int, data: dict[str, t.Any]) -> dict[str, t.Any]:
        rtype = str(data["type"]).upper()
        target = str(data["target"])
        if rtype in _HOST_TYPES:
            target = target.rstrip(".")
        record = {
            "id": next(self._record_ids),
            "type": rtype,
            "name": str(data.get("name") or "").lower(),
            "target": target,
            "priority": int(data.get("priority") or 0),
            "weight": int(data.get("weight") or 0),
            "port": int(data.get("port") or 0),
            "service": data.get("service"),
            "protocol": data.get("protocol"),
            "tag": data.get("tag"),
            "ttl_sec": _ttl(data.get("ttl_sec")),
            "created": _STAMP,
            "updated": _STAMP,
            "_domain": domain_id,
        }
        self.records[record["id"]] = record
        return record

    def dump_ids(self, name: str) -> list[tuple[t.Any, str, str, str]]:
        """Like :meth:`dump`, each entry led by the record's id."""
        domain = self._domain_named(name)
        if domain is None:
            return []
        found = []
        for r in self.records.values():
            if r["_domain"] != domain["id"]:
                continue
            fqdn = f"{r['name']}.{name}" if r["name"] else name
            value = r["target"]
            if r["type"] == "MX":
                value = f"{r['priority']} {value}"
            found.append((r["id"], fqdn, r["type"], value))
        return found

    # -- the API -------------------------------------------------------

    def handle(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else None
        if token is None or token not in self.tokens:
            return _error(401, "Invalid Token")
        visible = self.tokens[token]
        parts = [p for p in request.path.split("/") if p]
        if parts[:1] not in (["v4"], ["v4beta"]) or parts[1:2] != ["domains"]:
            return _error(404, "Not found")
        method, rest = request.method, parts[2:]
        if rest == []:
            if method == "GET":
                domains = [d for d in self.domains.values() if visible is None or d["domain"] in visible]
                return self._page(request, domains, _DOMAIN_FILTERABLE)
            if method == "POST":
                return self._create_domain(request, visible)
            return _error(405, "Method Not Allowed")
        try:
            domain = self.domains.get(int(rest[0]))
        except ValueError:
            domain = None
        if domain is None or (visible is not None and domain["domain"] not in visible):
            return _error(404, "Not found")
        rest = rest[1:]
        if rest == []:
            if method == "GET":
                return json_response(domain)
            return _error(405, "Method Not Allowed")
        if rest[0] != "records" or len(rest) > 2:
            return _error(404, "Not found")
        mine = [r for r in self.records.values() if r["_domain"] == domain["id"]]
        if len(rest) == 1:
            if method == "GET":
                return self._page(request, [self.public(r) for r in mine], _RECORD_FILTERABLE)
            if method == "POST":
                return self._create_record(request, domain, mine)
            return _error(405, "Method Not Allowed")
        try:
            record = self.records.get(int(rest[1]))
        except ValueError:
            record = None
        if record is None or record["_domain"] != domain["id"]:
            return _error(404, "Not found")
        if method == "GET":
            return json_response(self.public(record))
        if method == "PUT":
            return self._update_record(request, record)
        if method == "DELETE":
            del self.records[record["id"]]
            return json_response({})
        return _error(405, "Method Not Allowed")

    @staticmethod
    def _body(request: Request) -> dict[str, t.Any] | Response:
        data = request.get_json(silent=True, force=True)
        if not isinstance(data, dict):
            return _error(400, "Invalid JSON")
        return data

    def _create_domain(self, request: Request, visible: set[str] | None) -> Response:
        data = self._body(request)
        if isinstance(data, Response):
            return data
        name = data.get("domain")
        if not isinstance(name, str) or not name:
            return _error(400, "domain is required", "domain")
        if data.get("type") not in ("master", "slave"):
            return _error(400, "type is required", "type")
        if data["type"] == "master" and not data.get("soa_email"):
            return _error(400, "soa_email is required for master domains", "soa_email")
        name = name.lower()
        if self._domain_named(name) is not None:
            return _error(400, "Domain already exists", "domain")
        domain = self._new_domain(name, data)
        if visible is not None:
            visible.add(name)
        return json_response(domain)

    def _create_record(self, request: Request, domain: dict[str, t.Any],
                       mine: list[dict[str, t.Any]]) -> Response:
        data = self._body(request)
        if isinstance(data, Response):
            return data
        rtype = data.get("type")
        if not isinstance(rtype, str) or rtype.upper() not in _TYPES:
            return _error(400, "type is required and must be a valid record type", "type")
        rtype = rtype.upper()
        for key, (kind, nullable) in _UPDATABLE.items():
            if key in data and data[key] is None and not nullable:
                return _error(400, f"{key} must be {'a string' if kind is str else 'an integer'}", key)
        name = data.get("name", "")
        if not isinstance(name, str) or len(name) > 100:
            return _error(400, "name must be a string of at most 100 characters", "name")
        target = data.get("target")
        if not isinstance(target, str) or (not target and rtype != "MX"):
            return _error(400, "target is required", "target")
        if rtype == "CNAME":
            if not name:
                return _error(400, "name is required for CNAME records", "name")
            if any(r["name"] == name.lower() for r in mine):
                return _error(400, "Record conflict - CNAMES must be unique", "name")
        priority = data.get("priority", 0)
        if rtype in ("MX", "SRV") and not (isinstance(priority, int) and 0 <= priority <= 255):
            return _error(400, "priority must be between 0 and 255", "priority")
        record = self._store(domain["id"], {**data, "type": rtype, "name": name,
                                            "priority": priority if rtype in ("MX", "SRV") else 0})
        return json_response(self.public(record))

    def _update_record(self, request: Request, record: dict[str, t.Any]) -> Response:
        data = self._body(request)
        if isinstance(data, Response):
            return data
        for key, (kind, nullable) in _UPDATABLE.items():
            if key not in data:
                continue
            value = data[key]
            if value is None:
                if not nullable:
                    return _error(400, f"{key} must be {'a string' if kind is str else 'an integer'}", key)
                continue
            if not isinstance(value, kind) or isinstance(value, bool):
                return _error(400, f"{key} must be {'a string' if kind is str else 'an integer'}", key)
        if "target" in data and not data["target"] and record["type"] != "MX":
            return _error(400, "target is required", "target")
        if "name" in data and len(data["name"]) > 100:
            return _error(400, "name must be at most 100 characters", "name")
        for key in _UPDATABLE:
            if key not in data:
                continue
            value = data[key]
            if key == "name":
                value = value.lower()
            elif key == "target" and record["type"] in _HOST_TYPES:
                value = value.rstrip(".")
            elif key == "ttl_sec":
                value = _ttl(value)
            record[key] = value
        record["updated"] = "2024-01-02T00:00:00"
        return json_response(self.public(record))

    def _page(self, request: Request, items: list[dict[str, t.Any]], filterable: set[str]) -> Response:
        raw_page = request.args.get("page", "1")
        raw_size = request.args.get("page_size", str(self.default_page_size))
        try:
            page = int(raw_page)
        except ValueError:
            return _error(400, "page must be an integer", "page")
        try:
            size = int(raw_size)
        except ValueError:
            return _error(400, "page_size must be an integer", "page_size")
        if page < 1:
            return _error(400, "page must be 1 or greater", "page")
        if not self.min_page_size <= size <= self.max_page_size:
            return _error(400, f"page_size must be between {self.min_page_size} and {self.max_page_size}",
                          "page_size")
        header = request.headers.get("X-Filter")
        if header:
            try:
                flt = json.loads(header)
                items = [i for i in items if _matches(i, flt, filterable)]
                order_by = flt.get("+order_by") if isinstance(flt, dict) else None
                if order_by is not None:
                    if order_by not in filterable:
                        raise _FilterError(f"Cannot order by {order_by}")
                    items = sorted(items, key=lambda i: (i.get(order_by) is None, i.get(order_by)),
                                   reverse=flt.get("+order") == "desc")
            except ValueError as exc:
                reason = str(exc) if isinstance(exc, _FilterError) else "Invalid JSON"
                return _error(400, reason, "X-Filter")
        pages = max(1, math.ceil(len(items) / size))
        start = (page - 1) * size
        return json_response({"data": items[start:start + size], "page": page, "pages": pages,
                              "results": len(items)})


LI_TOKEN = "9f3c2a7be41d08c65f2e9a1b7d4c3e8f0a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d"


def _pages(server: FakeServer, n: int) -> None:
    # A test knob: Linode documents 25 as the least page_size; the fake goes below it only here.
    server.default_page_size = server.min_page_size = n


LEXICON_CASE = LexiconCase(
    "linode", lambda: FakeLinode(tokens={LI_TOKEN: None}), "/v4",
    good={"Api_key": LI_TOKEN}, bad={"Api_key": "0badc0de0badc0de0badc0de0badc0de0badc0de0badc0de0badc0de0badc0d"},
    nameservers=("ns1.linode.com.", "ns2.linode.com."), refused_status=401, page_size=_pages,
    page_keys=("page",),
)
