"""A fake of DNSimple's API v2, the part dns-lexicon's DNSimple provider calls.

Documented behaviour kept: ``Authorization: Bearer <token>``, an unknown one HTTP 401
``{"message": "Authentication failed"}``; every answer ``{"data": ...}``, lists with
``pagination`` (``current_page``, ``per_page``, ``total_entries``, ``total_pages``) and paged by
``page`` and ``per_page`` (default 30, at most 100); ``GET /v2/accounts``;
``GET /v2/{account}/domains?name_like=``; ``GET/POST /v2/{account}/zones/{zone}/records`` (records
with a numeric ``id``, a relative ``name``, ``""`` for the apex, ``content``, ``ttl``,
``priority``, ``type``; the filters ``name`` and ``type``), ``PATCH`` and ``DELETE``
``/v2/{account}/zones/{zone}/records/{id}``; an unknown zone or record HTTP 404
``{"message": ...}``.

``name_like`` matches any domain whose name contains the string, as DNSimple's does.

Knobs besides the shared ones: ``tokens`` (token -> account id, or the ids of every account a
user token reaches, listed by ``/accounts`` in that order); ``unplanned`` (accounts listed with
``plan_identifier: null``); ``lapsed`` (accounts whose subscription lapsed: everything under them
answers HTTP 402, as DNSimple documents for an account "not subscribed or not in good standing").
"""
from __future__ import annotations

import itertools
import math
import typing as t

from werkzeug.wrappers import Request, Response

from . import Entry, FakeServer, LexiconCase, json_response


class FakeDNSimple(FakeServer):
    def __init__(self, tokens: dict[str, int | t.Sequence[int]] | None = None) -> None:
        super().__init__()
        self.tokens: dict[str, int | t.Sequence[int]] = tokens if tokens is not None else {}
        self.unplanned: set[int] = set()
        self.lapsed: set[int] = set()
        self.zones: dict[str, int] = {}  # zone name -> account id
        self.records: dict[int, dict[str, t.Any]] = {}
        self._ids = itertools.count(5001)

    def add_zone(self, name: str, records: t.Iterable[Entry] = (), *, account: int = 1010, **options: t.Any) -> None:
        self.zones[name] = account
        for rid in [r for r, rec in self.records.items() if rec["zone_id"] == name]:
            del self.records[rid]
        for fqdn, rtype, value in records:
            priority = None
            if rtype == "MX":
                pref, value = value.split(" ", 1)
                priority = int(pref)
            self._store(name, {"name": "" if fqdn == name else fqdn[: -len(name) - 1], "type": rtype,
                               "content": value, "priority": priority})

    def _store(self, zone: str, data: dict[str, t.Any]) -> dict[str, t.Any]:
        record = {"id": next(self._ids), "zone_id": zone, "parent_id": None, "name": str(data.get("name") or ""),
                  "content": str(data["content"]), "ttl": int(data.get("ttl") or 3600),
                  "priority": data.get("priority"), "type": str(data["type"]).upper(), "regions": ["global"],
                  "system_record": False, "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"}
        self.records[record["id"]] = record
        return record


    def dump_ids(self, name: str) -> list[tuple[t.Any, str, str, str]]:
        found = []
        for r in self.records.values():
            if r["zone_id"] != name:
                continue
            value = f"{r['priority']} {r['content']}" if r["type"] == "MX" else r["content"]
            found.append((r["id"], f"{r['name']}.{name}" if r["name"] else name, r["type"], value))
        return found

    def handle(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        reached = self.tokens.get(auth[len("Bearer "):]) if auth.startswith("Bearer ") else None
        if reached is None:
            return json_response({"message": "Authentication failed"}, 401)
        accounts = [reached] if isinstance(reached, int) else list(reached)
        parts = [p for p in request.path.split("/") if p]
        if parts[:1] != ["v2"]:
            return json_response({"message": "Not found"}, 404)
        rest, method = parts[1:], request.method
        if rest == ["accounts"]:
            return json_response({"data": [
                {"id": a, "email": "user@example.com",
                 "plan_identifier": None if a in self.unplanned else "teams-v1-monthly"} for a in accounts]})
        account = int(rest[0]) if rest and rest[0].isdigit() and int(rest[0]) in accounts else None
        if account is None:
            return json_response({"message": "Not found"}, 404)
        if account in self.lapsed:
            return json_response({"message": "Your account is not subscribed or not in good standing"}, 402)
        if len(rest) == 2 and rest[1] == "domains":
            like = request.args.get("name_like", "")
            domains = [{"id": i + 1, "account_id": account, "name": z, "state": "hosted"}
                       for i, (z, a) in enumerate(sorted(self.zones.items())) if a == account and like in z]
            return self._page(request, domains)
        if len(rest) >= 4 and rest[1] == "zones" and rest[3] == "records":
            zone = rest[2]
            if self.zones.get(zone) != account:
                return json_response({"message": f"Zone `{zone}` not found"}, 404)
            if len(rest) == 4 and method == "GET":
                records = [r for r in self.records.values() if r["zone_id"] == zone]
                for key in ("name", "type"):
                    if key in request.args:
                        records = [r for r in records if r[key] == request.args[key]]
                return self._page(request, records)
            if len(rest) == 4 and method == "POST":
                data = request.get_json(silent=True, force=True)
                if not isinstance(data, dict) or not data.get("type") or not data.get("content"):
                    return json_response({"message": "Validation failed", "errors": {"content": ["can't be blank"]}}, 400)
                return json_response({"data": self._store(zone, data)}, 201)
            record = self.records.get(int(rest[4])) if len(rest) == 5 and rest[4].isdigit() else None
            if record is None or record["zone_id"] != zone:
                return json_response({"message": "Record not found"}, 404)
            if method == "PATCH":
                data = request.get_json(silent=True, force=True) or {}
                for key in ("name", "content", "ttl", "priority"):
                    if key in data:
                        record[key] = data[key]
                return json_response({"data": record})
            if method == "DELETE":
                del self.records[record["id"]]
                return Response(status=204)
            if method == "GET":
                return json_response({"data": record})
        return json_response({"message": "Not found"}, 404)

    @staticmethod
    def _page(request: Request, items: list[dict[str, t.Any]]) -> Response:
        page = max(1, int(request.args.get("page", 1)))
        per_page = min(100, max(1, int(request.args.get("per_page", 30))))
        start = (page - 1) * per_page
        return json_response({"data": items[start:start + per_page], "pagination": {
            "current_page": page, "per_page": per_page, "total_entries": len(items),
            "total_pages": max(1, math.ceil(len(items) / per_page))}})


DS_TOKEN = "dnsimpleS3cretAccountToken_0123456789"


# No page_size: our DNSimple module asks 100 a page (DNSimple's most) and takes a shorter page for
# the last, so a fake paging by 7 would end it early; its paging is tested with 120 records
# (test_dnsimple_reads_every_page_so_the_users_spf_is_merged_not_doubled).
LEXICON_CASE = LexiconCase(
    "dnsimple", lambda: FakeDNSimple(tokens={DS_TOKEN: 1010}), "/v2",
    good={"Api_key": DS_TOKEN}, bad={"Api_key": "dnsimpleWrongAccountToken_000000000"},
    nameservers=("ns1.dnsimple.com.", "ns2.dnsimple-edge.net."),
)
