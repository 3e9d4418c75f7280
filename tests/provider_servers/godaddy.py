"""A fake of GoDaddy's Domains API v1 (domain details and DNS records).

Documented behaviour kept: ``Authorization: sso-key <key>:<secret>`` (HTTP
401 ``UNABLE_TO_AUTHENTICATE`` for an unknown pair, ``MALFORMED_CREDENTIALS``
for a malformed header); a domain of another account is HTTP 403
``ACCESS_DENIED``, an unknown one 404 ``NOT_FOUND``; names relative with
``@`` for the apex; TTL at least 600 (422 otherwise); ``PATCH /records``
appends; ``PUT /records/{type}/{name}`` replaces that name and type;
``PUT /records`` replaces the whole zone (implemented so a test can prove
it is never used); errors as ``{"code", "message", "fields"}``.

Knobs besides the shared ones: ``keys`` ((key, secret) -> account),
``domains`` (name -> {"account", "records"}).
"""

from __future__ import annotations

import re
import typing as t
import urllib.parse

from werkzeug.wrappers import Request, Response

from . import Entry, FakeServer, json_response

MIN_TTL = 600


def _error(
    status: int, code: str, message: str, fields: list[dict[str, str]] | None = None
) -> Response:
    body: dict[str, t.Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return json_response(body, status)


def _invalid(path: str, code: str, message: str) -> Response:
    """GoDaddy's schema error: HTTP 422 ``INVALID_BODY`` with the field at fault."""
    return _error(
        422,
        "INVALID_BODY",
        "Request body doesn't fulfill schema, see details in `fields`",
        [{"path": path, "code": code, "message": message}],
    )


UNAUTHORIZED = "Unauthorized : Could not authenticate API key/secret"


class FakeGoDaddy(FakeServer):
    def __init__(self, keys: dict[tuple[str, str], str] | None = None) -> None:
        super().__init__()
        self.keys: dict[tuple[str, str], str] = keys if keys is not None else {}
        self.domains: dict[str, dict[str, t.Any]] = {}

    # -- seeding -------------------------------------------------------

    def add_zone(
        self, name: str, records: t.Iterable[Entry] = (), *, account: str = "1000", **options: t.Any
    ) -> None:
        items = []
        for fqdn, rtype, value in records:
            item = {"type": rtype, "name": _relative(fqdn, name), "data": value, "ttl": 3600}
            if rtype == "MX":
                pref, host = value.split(" ", 1)
                item.update(priority=int(pref), data=host)
            items.append(item)
        self.domains[name] = {"account": account, "records": items}

    def dump(self, name: str) -> list[Entry]:
        found = []
        for r in self.domains[name]["records"]:
            fqdn = name if r["name"] == "@" else f"{r['name']}.{name}"
            value = r["data"]
            if r["type"] == "MX":
                value = f"{r.get('priority', 0)} {value}"
            found.append((fqdn, r["type"], value))
        return found

    # -- the API -------------------------------------------------------

    def handle(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        match = re.fullmatch(r"sso-key ([^:\s]+):(\S+)", auth)
        if not match:
            return _error(401, "MALFORMED_CREDENTIALS", UNAUTHORIZED)
        account = self.keys.get((match.group(1), match.group(2)))
        if account is None:
            return _error(401, "UNABLE_TO_AUTHENTICATE", UNAUTHORIZED)

        parts = [urllib.parse.unquote(p) for p in request.path.split("/") if p]
        if parts[:2] != ["v1", "domains"] or len(parts) < 3:
            return _error(404, "NOT_FOUND", "The requested resource was not found")
        domain_name = parts[2].lower()
        domain = self.domains.get(domain_name)
        if domain is None:
            return _error(404, "NOT_FOUND", f"Domain {domain_name} not found")
        if domain["account"] != account:
            return _error(403, "ACCESS_DENIED", "Authenticated user is not allowed access")
        rest = parts[3:]
        method = request.method
        records = domain["records"]

        if not rest and method == "GET":
            return json_response({
                "domain": domain_name,
                "domainId": 1000 + len(domain_name),
                "status": "ACTIVE",
                "nameServers": ["ns01.domaincontrol.com", "ns02.domaincontrol.com"],
                "locked": True,
                "privacy": False,
            })
        if not rest or rest[0] != "records":
            return _error(404, "NOT_FOUND", "The requested resource was not found")

        if method == "GET":
            found = records
            if len(rest) > 1:
                found = [r for r in found if r["type"] == rest[1].upper()]
            if len(rest) > 2:
                found = [r for r in found if r["name"] == rest[2].lower()]
            offset = int(request.args.get("offset", 0) or 0)
            limit = request.args.get("limit")
            found = found[offset:offset + int(limit)] if limit else found[offset:]
            return json_response(found)

        body = request.get_json(silent=True)
        if not isinstance(body, list):
            return _invalid("records", "UNEXPECTED_TYPE", "is not a array")

        if method == "PATCH" and len(rest) == 1:
            new = []
            for item in body:
                problem = self._check(item, needs_identity=True)
                if problem:
                    return problem
                new.append(self._clean(item))
            for item in new:
                if item in records or item in new[: new.index(item)]:
                    return _error(
                        422, "DUPLICATE_RECORD", "Another record with the same attributes already exists"
                    )
                here = [r for r in records if r["name"] == item["name"]]
                if (item["type"] == "CNAME" and here) or any(r["type"] == "CNAME" for r in here):
                    return _error(
                        422,
                        "CONFLICT",
                        f"Record name {item['name']} conflicts with an existing CNAME record",
                    )
            records.extend(new)
            return Response("", status=200)

        if method == "PUT" and len(rest) == 3:
            rtype, name = rest[1].upper(), rest[2].lower()
            new = []
            for item in body:
                problem = self._check(item, needs_identity=False)
                if problem:
                    return problem
                new.append(self._clean({**item, "type": rtype, "name": name}))
            kept = [r for r in records if not (r["type"] == rtype and r["name"] == name)]
            domain["records"] = kept + new
            return Response("", status=200)

        if method == "PUT" and len(rest) == 1:
            # Replaces the whole zone: what a client must never do to a user's domain.
            new = []
            for item in body:
                problem = self._check(item, needs_identity=True)
                if problem:
                    return problem
                new.append(self._clean(item))
            domain["records"] = new
            return Response("", status=200)

        return _error(405, "METHOD_NOT_ALLOWED", "Method not allowed")

    def _check(self, item: t.Any, *, needs_identity: bool) -> Response | None:
        if not isinstance(item, dict) or "data" not in item:
            return _invalid("records[].data", "MISSING", "is a required field")
        if needs_identity and not all(k in item for k in ("type", "name")):
            return _invalid("records[].type", "MISSING", "is a required field")
        ttl = item.get("ttl", 3600)
        if not isinstance(ttl, int) or ttl < MIN_TTL:
            return _invalid("records[].ttl", "MINIMUM", f"must be >= {MIN_TTL}")
        name = str(item.get("name", "@"))
        if name.endswith("."):
            return _error(422, "INVALID_BODY", "Record name must be relative to the domain")
        return None

    @staticmethod
    def _clean(item: dict[str, t.Any]) -> dict[str, t.Any]:
        clean = {
            "type": str(item["type"]).upper(),
            "name": str(item["name"]).lower(),
            "data": str(item["data"]),
            "ttl": int(item.get("ttl", 3600)),
        }
        if "priority" in item:
            clean["priority"] = int(item["priority"])
        return clean


def _relative(fqdn: str, zone: str) -> str:
    fqdn = fqdn.lower().rstrip(".")
    return "@" if fqdn == zone else fqdn[: -len(zone) - 1]
