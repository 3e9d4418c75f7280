"""A fake of Cloudflare's API v4 (zones and DNS records).

Documented behaviour kept: ``Authorization: Bearer <token>`` on every call
(a malformed header is HTTP 400 with codes 6003/6111, an unknown token HTTP
403 code 9109 "Invalid access token"); the ``{success, errors, messages,
result}`` envelope with ``result_info`` on lists; pagination with ``page``
and ``per_page`` (``max_per_page`` caps it, so tests can force several
pages); FQDN record names; CNAME exclusivity (code 81053) and identical
records (code 81058) refused on create.

Knobs besides the shared ones: ``tokens`` (token -> set of zone names it may
see; ``None`` means all), ``max_per_page``.
"""

from __future__ import annotations

import itertools
import math
import re
import typing as t

from werkzeug.wrappers import Request, Response

from . import Entry, FakeServer, json_response


def _envelope(result: t.Any = None, *, errors: list[dict[str, t.Any]] | None = None,
              status: int = 200, info: dict[str, t.Any] | None = None) -> Response:
    body: dict[str, t.Any] = {
        "success": not errors,
        "errors": errors or [],
        "messages": [],
        "result": result,
    }
    if info is not None:
        body["result_info"] = info
    return json_response(body, status)


def _error(status: int, code: int, message: str) -> Response:
    return _envelope(None, errors=[{"code": code, "message": message}], status=status)


class FakeCloudflare(FakeServer):
    def __init__(self, tokens: dict[str, set[str] | None] | None = None) -> None:
        super().__init__()
        self.tokens: dict[str, set[str] | None] = tokens if tokens is not None else {}
        self.zones: dict[str, dict[str, t.Any]] = {}
        self.records: dict[str, dict[str, t.Any]] = {}
        self.max_per_page = 5000
        self._ids = itertools.count(1)

    def _id(self) -> str:
        return f"{next(self._ids):032x}"

    # -- seeding -------------------------------------------------------

    def add_zone(self, name: str, records: t.Iterable[Entry] = (), **options: t.Any) -> str:
        """Create the zone ``name`` (replacing one of that name) holding ``records``."""
        for old in [z for z in self.zones.values() if z["name"] == name]:
            del self.zones[old["id"]]
            for rid in [r for r, rec in self.records.items() if rec["zone_id"] == old["id"]]:
                del self.records[rid]
        zone_id = self._id()
        self.zones[zone_id] = {
            "id": zone_id,
            "name": name,
            "status": "active",
            "paused": False,
            "type": "full",
            "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
        }
        for fqdn, rtype, value in records:
            self._store(zone_id, {"name": fqdn, "type": rtype, "content": value, "ttl": 1})
        return zone_id

    def _store(self, zone_id: str, data: dict[str, t.Any]) -> dict[str, t.Any]:
        record_id = self._id()
        content = str(data["content"])
        priority = data.get("priority")
        if data["type"] == "MX" and priority is None and " " in content:
            pref, content = content.split(" ", 1)
            priority = int(pref)
        record = {
            "id": record_id,
            "zone_id": zone_id,
            "zone_name": self.zones[zone_id]["name"],
            "name": str(data["name"]).lower().rstrip("."),
            "type": str(data["type"]).upper(),
            "content": content,
            "proxiable": True,
            "proxied": bool(data.get("proxied", False)),
            "ttl": int(data.get("ttl", 1)),
            "locked": False,
            "meta": {"auto_added": False},
            "created_on": "2024-01-01T00:00:00Z",
            "modified_on": "2024-01-01T00:00:00Z",
        }
        if priority is not None:
            record["priority"] = int(priority)
        self.records[record_id] = record
        return record

    def dump(self, name: str) -> list[Entry]:
        zone_id = self.zone_id(name)
        found = []
        for r in self.records.values():
            if r["zone_id"] != zone_id:
                continue
            value = r["content"]
            if r["type"] == "MX":
                value = f"{r.get('priority', 10)} {value}"
            found.append((r["name"], r["type"], value))
        return found

    def zone_id(self, name: str) -> str:
        return next(z["id"] for z in self.zones.values() if z["name"] == name)

    # -- the API -------------------------------------------------------

    def handle(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        match = re.fullmatch(r"Bearer ([A-Za-z0-9_\-.]+)", auth)
        if not match:
            return _envelope(None, status=400, errors=[{
                "code": 6003,
                "message": "Invalid request headers",
                "error_chain": [{"code": 6111, "message": "Invalid format for Authorization header"}],
            }])
        token = match.group(1)
        if token not in self.tokens:
            return _error(403, 9109, "Invalid access token")
        visible = self.tokens[token]

        def can_see(zone: dict[str, t.Any]) -> bool:
            return visible is None or zone["name"] in visible

        parts = [p for p in request.path.split("/") if p]
        # Accept the API mounted anywhere (e.g. /client/v4/zones/...).
        if "zones" not in parts:
            return _error(404, 7000, "No route for that URI")
        parts = parts[parts.index("zones"):]
        method = request.method

        if parts == ["zones"] and method == "GET":
            zones = [z for z in self.zones.values() if can_see(z)]
            if "name" in request.args:
                zones = [z for z in zones if z["name"] == request.args["name"]]
            return self._page(request, zones)

        zone = self.zones.get(parts[1]) if len(parts) > 1 else None
        if zone is None or not can_see(zone):
            return _error(403, 10000, "Authentication error")
        zone_id = zone["id"]

        if parts[2:] == ["dns_records"] and method == "GET":
            records = [r for r in self.records.values() if r["zone_id"] == zone_id]
            for key in ("name", "type", "content"):
                if key in request.args:
                    wanted = request.args[key]
                    records = [
                        r for r in records
                        if str(r[key]).lower() == wanted.lower()
                    ]
            return self._page(request, records)

        if parts[2:] == ["dns_records"] and method == "POST":
            data = request.get_json(silent=True)
            if not isinstance(data, dict) or not all(k in data for k in ("type", "name", "content")):
                return _error(400, 9005, "Content for record is invalid.")
            problem = self._conflict(zone_id, data)
            if problem:
                return problem
            return _envelope(self._store(zone_id, data))

        if len(parts) == 4 and parts[2] == "dns_records" and method in ("PATCH", "PUT"):
            record = self.records.get(parts[3])
            if record is None or record["zone_id"] != zone_id:
                return _error(404, 81044, "Record does not exist.")
            data = request.get_json(silent=True)
            if not isinstance(data, dict):
                return _error(400, 9005, "Content for record is invalid.")
            for key in ("type", "name", "content", "ttl", "proxied", "priority"):
                if key in data:
                    record[key] = str(data[key]).lower().rstrip(".") if key == "name" else data[key]
            return _envelope(record)

        if len(parts) == 4 and parts[2] == "dns_records" and method == "DELETE":
            self.records.pop(parts[3], None)
            return _envelope({"id": parts[3]})

        return _error(405, 10405, "Method not allowed for this route")

    def _conflict(self, zone_id: str, data: dict[str, t.Any]) -> Response | None:
        name = str(data["name"]).lower().rstrip(".")
        rtype = str(data["type"]).upper()
        here = [r for r in self.records.values() if r["zone_id"] == zone_id and r["name"] == name]
        for r in here:
            if r["type"] == rtype and r["content"] == str(data["content"]):
                return _error(400, 81058, "An identical record already exists.")
        if rtype == "CNAME" and here or any(r["type"] == "CNAME" for r in here):
            return _error(400, 81053, "An A, AAAA, or CNAME record with that host already exists.")
        return None

    def _page(self, request: Request, items: list[dict[str, t.Any]]) -> Response:
        try:
            page = max(1, int(request.args.get("page", 1)))
            per_page = max(1, int(request.args.get("per_page", 20)))
        except ValueError:
            return _error(400, 1001, "Invalid pagination parameters")
        per_page = min(per_page, self.max_per_page)
        start = (page - 1) * per_page
        chunk = items[start:start + per_page]
        if getattr(self, "endless", False):  # a broken API (or a proxy's): every page full, pages without end
            return _envelope(items[:per_page], info={"page": page, "per_page": per_page, "count": len(items[:per_page]),
                                                     "total_count": 10**10, "total_pages": 10**8})
        return _envelope(chunk, info={
            "page": page,
            "per_page": per_page,
            "count": len(chunk),
            "total_count": len(items),
            "total_pages": max(1, math.ceil(len(items) / per_page)),
        })
