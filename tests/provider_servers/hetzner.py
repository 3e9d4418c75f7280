"""A fake of Hetzner's DNS Console API (``/api/v1``), the part dns-lexicon's Hetzner provider
calls for a DNS Console token.

Documented behaviour kept: the ``Auth-API-Token`` header on every call, a missing or unknown one
HTTP 401 ``{"message": "Invalid authentication credentials"}``; ``GET /zones?name=`` answers
``{"zones": [...], "meta": {"pagination": {...}}}``, HTTP 404 with an empty list and an
``error`` for a name the token has no zone of; ``GET /records?zone_id=`` pages with ``page`` and
``per_page`` (default 100) and answers ``{"records": [...], "meta": {"pagination": {"page",
"per_page", "previous_page", "next_page", "last_page", "total_entries"}}}``; records carry a
string ``id``, a relative ``name`` (``@`` for the apex), ``type``, ``value`` and ``ttl`` when one
was set; ``POST /records`` creates (``{"record": ...}``; HTTP 422 for a missing name, value or
zone), ``PUT /records/{id}`` updates in place, ``DELETE /records/{id}`` removes. A record's
``value`` is read as in a zone file: a CNAME or MX host without its final dot is relative to the
zone (``dump`` shows what is served).

Knobs besides the shared ones: ``tokens`` (token -> set of zone names it may see; ``None`` all),
``max_per_page``.
"""
from __future__ import annotations

import itertools
import math
import typing as t

from werkzeug.wrappers import Request, Response

from . import Entry, FakeServer, LexiconCase, json_response, zone_file_value


def _message(status: int, message: str) -> Response:
    return json_response({"message": message}, status)


def _error(status: int, message: str, **body: t.Any) -> Response:
    return json_response({**body, "error": {"message": message, "code": status}}, status)


def _pagination(page: int, per_page: int, total: int) -> dict[str, t.Any]:
    last = max(1, math.ceil(total / per_page))
    return {"pagination": {"page": page, "per_page": per_page, "previous_page": max(1, page - 1),
                           "next_page": min(last, page + 1), "last_page": last, "total_entries": total}}


class FakeHetzner(FakeServer):
    def __init__(self, tokens: dict[str, set[str] | None] | None = None) -> None:
        super().__init__()
        self.tokens: dict[str, set[str] | None] = tokens if tokens is not None else {}
        self.zones: dict[str, dict[str, t.Any]] = {}
        self.records: dict[str, dict[str, t.Any]] = {}
        self.max_per_page = 100
        self._ids = itertools.count(1)

    def _id(self) -> str:
        return f"{next(self._ids):x}".rjust(22, "a")

    # -- seeding -------------------------------------------------------

    def add_zone(self, name: str, records: t.Iterable[Entry] = (), **options: t.Any) -> str:
        for old in [z for z in self.zones.values() if z["name"] == name]:
            del self.zones[old["id"]]
        zone_id = self._id()
        self.zones[zone_id] = {
            "id": zone_id, "name": name, "ttl": 86400, "status": "verified",
            "ns": ["hydrogen.ns.hetzner.com", "oxygen.ns.hetzner.com", "helium.ns.hetzner.de"],
            "records_count": 0, "is_secondary_dns": False,
        }
        for fqdn, rtype, value in records:
            relative = "@" if fqdn == name else fqdn[: -len(name) - 1]
            if rtype in ("CNAME", "MX"):
                value = value.rstrip(".") + "."
            self._store({"zone_id": zone_id, "name": relative, "type": rtype, "value": value})
        return zone_id

    def _store(self, data: dict[str, t.Any]) -> dict[str, t.Any]:
        record = {"id": self._id(), "type": str(data["type"]).upper(), "name": str(data["name"]),
                  "value": str(data["value"]), "zone_id": data["zone_id"],
                  "created": "2024-01-01 00:00:00.000 +0000 UTC",
                  "modified": "2024-01-01 00:00:00.000 +0000 UTC"}
        if data.get("ttl") is not None:
            record["ttl"] = int(data["ttl"])
        self.records[record["id"]] = record
        return record

    def zone_id(self, name: str) -> str:
        return next(z["id"] for z in self.zones.values() if z["name"] == name)


    def dump_ids(self, name: str) -> list[tuple[t.Any, str, str, str]]:
        """Like :meth:`dump`, each entry led by the record's id."""
        zone_id = self.zone_id(name)
        found = []
        for r in self.records.values():
            if r["zone_id"] != zone_id:
                continue
            fqdn = name if r["name"] == "@" else f"{r['name']}.{name}"
            value = zone_file_value(name, r["type"], r["value"])
            found.append((r["id"], fqdn, r["type"], value))
        return found

    # -- the API -------------------------------------------------------

    def handle(self, request: Request) -> Response:
        token = request.headers.get("Auth-API-Token")
        if not token or token not in self.tokens:
            return _message(401, "Invalid authentication credentials")
        visible = self.tokens[token]

        def mine(zone: dict[str, t.Any] | None) -> bool:
            return zone is not None and (visible is None or zone["name"] in visible)

        parts = [p for p in request.path.split("/") if p]
        if parts[:2] != ["api", "v1"]:
            return _error(404, "not found")
        parts = parts[2:]
        method = request.method
        if parts == ["zones"] and method == "GET":
            zones = [z for z in self.zones.values() if mine(z)]
            if "name" in request.args:
                zones = [z for z in zones if z["name"] == request.args["name"]]
                if not zones:
                    return _error(404, "zone not found", zones=[])
            return json_response({"zones": zones, "meta": _pagination(1, 100, len(zones))})
        if parts == ["records"] and method == "GET":
            zone_id = request.args.get("zone_id")
            if zone_id is not None and not mine(self.zones.get(zone_id)):
                return _error(404, "zone not found", records=[])
            records = [r for r in self.records.values()
                       if (zone_id is None or r["zone_id"] == zone_id) and mine(self.zones.get(r["zone_id"]))]
            try:
                page = max(1, int(request.args.get("page", 1)))
                per_page = min(self.max_per_page, max(1, int(request.args.get("per_page", 100))))
            except ValueError:
                return _error(400, "invalid pagination")
            start = (page - 1) * per_page
            return json_response({"records": records[start:start + per_page],
                                  "meta": _pagination(page, per_page, len(records))})
        if parts == ["records"] and method == "POST":
            data = request.get_json(silent=True, force=True)
            problem = self._invalid(data, mine)
            if problem:
                return _error(422, problem)
            return json_response({"record": self._store(data)})
        if len(parts) == 2 and parts[0] == "records":
            record = self.records.get(parts[1])
            if record is None or not mine(self.zones.get(record["zone_id"])):
                return _error(404, "record not found")
            if method == "GET":
                return json_response({"record": record})
            if method == "PUT":
                data = request.get_json(silent=True, force=True)
                problem = self._invalid(data, mine)
                if problem:
                    return _error(422, problem)
                record.update(type=str(data["type"]).upper(), name=str(data["name"]),
                              value=str(data["value"]), zone_id=data["zone_id"])
                if data.get("ttl") is not None:
                    record["ttl"] = int(data["ttl"])
                return json_response({"record": record})
            if method == "DELETE":
                del self.records[record["id"]]
                return json_response({})
        return _error(404, "not found")

    def _invalid(self, data: t.Any, mine: t.Callable[[t.Any], bool]) -> str | None:
        if not isinstance(data, dict):
            return "invalid body"
        for key in ("name", "type", "value", "zone_id"):
            if not str(data.get(key) or "").strip():
                return f"invalid {key}"
        if not mine(self.zones.get(data["zone_id"])):
            return "zone not found"
        return None


def _cloud_error(status: int, code: str, message: str) -> Response:
    return json_response({"error": {"code": code, "message": message, "details": {}}}, status)


class FakeHetznerCloud(FakeServer):
    """A fake of Hetzner Cloud's DNS API (``/v1/zones``), the part dns-lexicon's Hetzner provider
    calls for a Cloud token.

    Documented behaviour kept: ``Authorization: Bearer <token>``, an unknown one HTTP 401
    ``{"error": {"code": "unauthorized", ...}}``; ``GET /v1/zones/{id or name}`` answers
    ``{"zone": ...}`` (404 ``not_found``); records are record sets without ids per record:
    ``GET /v1/zones/{zone}/rrsets`` pages (``page``, ``per_page``, default 25) with
    ``meta.pagination``, each set ``{"id": "name/TYPE", "name" (relative, ``@`` the apex), "type",
    "ttl", "records": [{"value", "comment"}]}``, TXT values quoted; the actions
    ``POST .../rrsets/{name}/{type}/actions/add_records`` (creates the set if needed),
    ``set_records`` (replaces every value of the set), ``change_ttl``, ``remove_records`` and
    ``DELETE .../rrsets/{name}/{type}`` each answer ``{"action": {..., "status": "success"}}``.
    Values are read as in a zone file, as in the DNS Console (``dump`` shows what is served).

    Knobs besides the shared ones: ``tokens``, ``default_per_page``.
    """

    def __init__(self, tokens: dict[str, set[str] | None] | None = None) -> None:
        super().__init__()
        self.tokens: dict[str, set[str] | None] = tokens if tokens is not None else {}
        self.zones: dict[int, dict[str, t.Any]] = {}
        self.rrsets: dict[tuple[int, str, str], dict[str, t.Any]] = {}
        self.default_per_page = 25
        self._ids = itertools.count(1001)

    def add_zone(self, name: str, records: t.Iterable[Entry] = (), **options: t.Any) -> int:
        for old in [z for z in self.zones.values() if z["name"] == name]:
            del self.zones[old["id"]]
        zone_id = next(self._ids)
        self.zones[zone_id] = {"id": zone_id, "name": name, "mode": "primary", "ttl": 3600, "status": "ok"}
        for key in [k for k in self.rrsets if k[0] == zone_id]:
            del self.rrsets[key]
        for fqdn, rtype, value in records:
            relative = "@" if fqdn == name else fqdn[: -len(name) - 1]
            if rtype == "TXT":
                value = f'"{value}"'
            elif rtype in ("CNAME", "MX"):
                value = value.rstrip(".") + "."
            self._add(zone_id, relative, rtype, [{"value": value}], 3600)
        return zone_id

    def _add(self, zone_id: int, name: str, rtype: str, records: list[dict[str, t.Any]], ttl: t.Any) -> None:
        rrset = self.rrsets.setdefault((zone_id, name, rtype), {
            "id": f"{name}/{rtype}", "name": name, "type": rtype, "ttl": ttl, "labels": {},
            "protection": {"change": False}, "records": [], "zone": zone_id})
        for record in records:
            if record["value"] not in [r["value"] for r in rrset["records"]]:
                rrset["records"].append({"value": record["value"], "comment": record.get("comment", "")})

    def dump(self, name: str) -> list[Entry]:
        zone_id = next(z["id"] for z in self.zones.values() if z["name"] == name)
        found = []
        for (zid, rel, rtype), rrset in self.rrsets.items():
            if zid != zone_id:
                continue
            fqdn = name if rel == "@" else f"{rel}.{name}"
            for record in rrset["records"]:
                value = record["value"]
                if rtype == "TXT" and len(value) >= 2 and value[0] == value[-1] == '"':
                    value = value[1:-1]
                else:
                    value = zone_file_value(name, rtype, value)
                found.append((fqdn, rtype, value))
        return found

    def _action(self, command: str) -> Response:
        return json_response({"action": {"id": next(self._ids), "command": command, "status": "success",
                                         "progress": 100, "started": "2024-01-01T00:00:00Z",
                                         "finished": "2024-01-01T00:00:01Z", "resources": [], "error": None}},
                             201)

    def handle(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        if token is None or token not in self.tokens:
            return _cloud_error(401, "unauthorized", "unable to authenticate")
        visible = self.tokens[token]
        parts = [p for p in request.path.split("/") if p]
        if parts[:2] != ["v1", "zones"] or len(parts) < 3:
            return _cloud_error(404, "not_found", "not found")
        rest, method = parts[2:], request.method
        if rest[0] == "actions" and len(rest) == 2:
            return json_response({"action": {"id": int(rest[1]), "status": "success", "error": None}})
        zone = next((z for z in self.zones.values() if rest[0] in (str(z["id"]), z["name"])), None)
        if zone is None or (visible is not None and zone["name"] not in visible):
            return _cloud_error(404, "not_found", "zone not found")
        zone_id, rest = zone["id"], rest[1:]
        if rest == [] and method == "GET":
            return json_response({"zone": zone})
        if rest == ["rrsets"] and method == "GET":
            sets = [r for (zid, _, _), r in self.rrsets.items() if zid == zone_id and r["records"]]
            for key in ("name", "type"):
                if request.args.get(key):
                    sets = [r for r in sets if r[key] == request.args[key]]
            page = max(1, int(request.args.get("page", 1)))
            per_page = max(1, int(request.args.get("per_page", self.default_per_page)))
            start = (page - 1) * per_page
            return json_response({"rrsets": sets[start:start + per_page],
                                  "meta": _pagination(page, per_page, len(sets))})
        if len(rest) >= 3 and rest[0] == "rrsets":
            name, rtype = rest[1], rest[2].upper()
            key = (zone_id, name, rtype)
            body = request.get_json(silent=True, force=True) or {}
            if rest[3:] == [] and method == "DELETE":
                self.rrsets.pop(key, None)
                return self._action("delete_rrset")
            if rest[3:4] != ["actions"] or method != "POST" or len(rest) != 5:
                return _cloud_error(404, "not_found", "not found")
            action = rest[4]
            if action == "add_records":
                self._add(zone_id, name, rtype, body.get("records") or [], body.get("ttl"))
                return self._action("add_rrset_records")
            if key not in self.rrsets:
                return _cloud_error(404, "not_found", "rrset not found")
            if action == "set_records":
                self.rrsets[key]["records"] = [{"value": r["value"], "comment": r.get("comment", "")}
                                               for r in body.get("records") or []]
                return self._action("set_rrset_records")
            if action == "change_ttl":
                self.rrsets[key]["ttl"] = body.get("ttl")
                return self._action("change_rrset_ttl")
            if action == "remove_records":
                gone = {r["value"] for r in body.get("records") or []}
                self.rrsets[key]["records"] = [r for r in self.rrsets[key]["records"] if r["value"] not in gone]
                return self._action("remove_rrset_records")
        return _cloud_error(404, "not_found", "not found")


HZ_TOKEN = "hzS3cretDnsConsoleToken_01234567"  # DNS Console tokens are 32 characters


def _pages(server: FakeServer, n: int) -> None:
    server.max_per_page = n


LEXICON_CASE = LexiconCase(
    "hetzner", lambda: FakeHetzner(tokens={HZ_TOKEN: None}), "/api/v1",
    good={"Api_key": HZ_TOKEN}, bad={"Api_key": "hzWrongDnsConsoleToken_012345678"[:32]},
    nameservers=("hydrogen.ns.hetzner.com.", "helium.ns.hetzner.de."), page_size=_pages,
)
