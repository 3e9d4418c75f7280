"""A fake of "ExampleDNS", a made-up provider that exists only in the test suite, for the README's
"Adding a provider" steps (tests/example_provider.py is its one module).

Its API: ``X-Token`` and ``X-Account`` headers on every call (a wrong pair is HTTP 401
``{"error": ...}``, a zone of another account HTTP 404); ``GET /zones/{zone}``;
``GET /zones/{zone}/records?page=N`` (``{"records": [...], "next": N | null}``, pages of
``per_page`` records); ``POST /zones/{zone}/records`` adds ``{"name", "type", "value"}`` (names fully
qualified); ``PUT /zones/{zone}/records/{id}`` rewrites one; ``DELETE`` exists, and is counted.
"""
from __future__ import annotations

import itertools
import typing as t

from werkzeug.wrappers import Request, Response

from . import Entry, FakeServer, json_response


class FakeExampleDNS(FakeServer):
    def __init__(self, accounts: dict[tuple[str, str], set[str]] | None = None) -> None:
        super().__init__()
        self.accounts = accounts or {}  # (token, account) -> the zones it holds
        self.zones: dict[str, dict[str, dict[str, str]]] = {}
        self.per_page = 3  # small, so that every listing takes several pages
        self._ids = itertools.count(1)

    def add_zone(self, name: str, records: t.Iterable[Entry] = (), **options: t.Any) -> None:
        self.zones[name] = {}
        for fqdn, rtype, value in records:
            self._store(name, fqdn, rtype, value)

    def _store(self, zone: str, name: str, rtype: str, value: str) -> dict[str, str]:
        record = {"id": str(next(self._ids)), "name": name.rstrip(".").lower(), "type": rtype.upper(), "value": value}
        self.zones[zone][record["id"]] = record
        return record

    def dump(self, name: str) -> list[Entry]:
        return sorted((r["name"], r["type"], r["value"]) for r in self.zones.get(name, {}).values())

    def handle(self, request: Request) -> Response:
        held = self.accounts.get((request.headers.get("X-Token", ""), request.headers.get("X-Account", "")))
        if held is None:
            return json_response({"error": "invalid token or account"}, 401)
        parts = request.path.strip("/").split("/")
        if len(parts) < 2 or parts[0] != "zones":
            return json_response({"error": "no such endpoint"}, 404)
        zone = parts[1]
        if zone not in held or zone not in self.zones:
            return json_response({"error": f"zone {zone} not found"}, 404)
        records = self.zones[zone]
        if len(parts) == 2 and request.method == "GET":
            return json_response({"name": zone})
        if len(parts) == 3 and parts[2] == "records" and request.method == "GET":
            page = int(request.args.get("page", "1"))
            listed = list(records.values())
            chunk = listed[(page - 1) * self.per_page: page * self.per_page]
            more = page * self.per_page < len(listed)
            return json_response({"records": chunk, "next": page + 1 if more else None})
        if len(parts) == 3 and parts[2] == "records" and request.method == "POST":
            body = request.get_json(silent=True) or {}
            if not all(isinstance(body.get(k), str) for k in ("name", "type", "value")):
                return json_response({"error": "name, type and value are required"}, 422)
            return json_response(self._store(zone, body["name"], body["type"], body["value"]), 201)
        if len(parts) == 4 and parts[2] == "records" and parts[3] in records:
            if request.method == "PUT":
                body = request.get_json(silent=True) or {}
                records[parts[3]].update({k: body[k] for k in ("name", "type", "value") if isinstance(body.get(k), str)})
                return json_response(records[parts[3]])
            if request.method == "DELETE":
                del records[parts[3]]
                return Response(status=204)
        return json_response({"error": "not supported"}, 405)
