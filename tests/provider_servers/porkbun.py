"""A fake of Porkbun's API v3, the DNS part (``/api/json/v3``).

Documented behaviour kept (https://porkbun.com/api/json/v3/documentation, its current form
https://porkbun.com/llms-full.txt and https://porkbun.com/llms/dns, and the answers recorded from
the live API in dns-lexicon's test cassettes, tests/fixtures/cassettes/porkbun/ of AnalogJ/lexicon):

- Every call is a ``POST`` whose JSON body carries ``apikey`` and ``secretapikey``; the key pair
  is checked on every call. Every answer is JSON with ``status`` ``"SUCCESS"`` or ``"ERROR"``;
  errors come with HTTP 400 and ``{"status": "ERROR", "message": ...}``: an unknown key pair
  ``"Invalid API key. (002)"``, a domain outside the account (or a subdomain given as the domain)
  ``"Invalid domain."``, a domain whose API access is not switched on in Porkbun's domain
  management ``"Domain is not opted in to API access."``.
- ``/ping`` answers ``{"status": "SUCCESS", "yourIp": ...}``.
- ``/dns/retrieve/{domain}[/{id}]`` answers ``{"status", "cloudflare", "records": [...]}``, the
  whole zone in one answer (no pagination); records with ``id``, ``name`` (the full name, the
  domain's own name at the apex), ``type``, ``content`` (TXT text as it was given, bare unless
  given quoted; host names without a final dot), ``ttl``, ``prio`` (``"0"`` unless set) and
  ``notes``, every value a string.
- ``/dns/retrieveByNameType/{domain}/{type}[/{subdomain}]``: the records of that type at that
  subdomain (none: the apex).
- ``/dns/create/{domain}``: ``name`` the subdomain *without* the domain (blank or missing: the
  apex; a full name is taken as a subdomain, as Porkbun does), ``type``, ``content``, ``ttl``
  (default and minimum 600: lower values are raised to 600), ``prio``, ``notes``; answers
  ``{"status": "SUCCESS", "id": <number>}``.
- ``/dns/edit/{domain}/{id}``: rewrites that record in place (same id) from ``name`` (blank or
  missing: the apex, so an edit without a name moves the record to the apex), ``type`` and
  ``content`` (both required), ``ttl``, ``prio``, ``notes``.
- ``/dns/editByNameType/{domain}/{type}[/{subdomain}]``: sets ``content``, ``ttl``, ``prio``,
  ``notes`` of every record of that type at that subdomain.
- ``/dns/delete/{domain}/{id}`` and ``/dns/deleteByNameType/{domain}/{type}[/{subdomain}]``.
- Record types: A, MX, CNAME, ALIAS, TXT, NS, AAAA, SRV, TLSA, CAA, HTTPS, SVCB, SSHFP.

Not documented, chosen here: the wording of the errors for a bad record (an unknown type, no
content, an unknown id) and for a call that is not a ``POST`` with a JSON body; a path outside
``/api/json/v3`` gets a plain HTTP 404 page, as any web server gives.

Knobs besides the shared ones: ``keys`` ((API key, secret API key) -> set of domain names the
pair may reach; ``None`` every domain of the account), ``add_zone(..., api_access=False)`` for a
domain whose API access is switched off.
"""
from __future__ import annotations

import itertools
import typing as t

from werkzeug.wrappers import Request, Response

from . import Entry, FakeServer, LexiconCase, Seen, json_response

PREFIX = "/api/json/v3"
TYPES = {"A", "MX", "CNAME", "ALIAS", "TXT", "NS", "AAAA", "SRV", "TLSA", "CAA", "HTTPS", "SVCB", "SSHFP"}
MIN_TTL = 600
#: The calls that change something (every call is a POST, reads included).
WRITES = {"create", "edit", "editByNameType", "delete", "deleteByNameType"}


def _error(message: str, status: int = 400) -> Response:
    return json_response({"status": "ERROR", "message": message}, status)


def _ok(**payload: t.Any) -> Response:
    return json_response({"status": "SUCCESS", **payload})


class FakePorkbun(FakeServer):
    def __init__(self, keys: dict[tuple[str, str], set[str] | None] | None = None) -> None:
        super().__init__()
        self.keys: dict[tuple[str, str], set[str] | None] = keys if keys is not None else {}
        self.domains: dict[str, dict[str, t.Any]] = {}  # name -> {"api_access": bool}
        self.records: dict[str, dict[str, t.Any]] = {}  # id -> record (with "_domain")
        self._ids = itertools.count(236096065)

    def is_write(self, seen: Seen) -> bool:
        parts = [p for p in seen.path.split("/") if p]
        return seen.method == "POST" and len(parts) >= 5 and parts[3] == "dns" and parts[4] in WRITES

    # -- seeding -------------------------------------------------------

    def add_zone(self, name: str, records: t.Iterable[Entry] = (), *, api_access: bool = True,
                 **options: t.Any) -> None:
        self.domains[name] = {"api_access": api_access}
        for rid in [r for r, rec in self.records.items() if rec["_domain"] == name]:
            del self.records[rid]
        for fqdn, rtype, value in records:
            relative = "" if fqdn == name else fqdn[: -len(name) - 1]
            prio = None
            if rtype == "MX":
                prio, value = value.split(" ", 1)
            self._store(name, {"name": relative, "type": rtype, "content": value, "ttl": "3600", "prio": prio})

    def _store(self, domain: str, data: dict[str, t.Any]) -> dict[str, t.Any]:
        record = {"id": str(next(self._ids)), "_domain": domain}
        self._fill(record, domain, data)
        self.records[record["id"]] = record
        return record

    @staticmethod
    def _fill(record: dict[str, t.Any], domain: str, data: dict[str, t.Any]) -> None:
        relative = str(data.get("name") or "").strip().lower()
        try:
            ttl = max(MIN_TTL, int(data.get("ttl") or MIN_TTL))
        except (TypeError, ValueError):
            ttl = MIN_TTL
        record.update(
            name=f"{relative}.{domain}" if relative else domain,
            type=str(data["type"]).upper(),
            content=str(data["content"]),
            ttl=str(ttl),
            prio=str(data.get("prio") or 0),
            notes=str(data.get("notes") or ""),
        )

    def dump_ids(self, name: str) -> list[tuple[t.Any, str, str, str]]:
        """Like :meth:`dump`, each entry led by the record's id."""
        found = []
        for r in self.records.values():
            if r["_domain"] != name:
                continue
            value = r["content"]
            if r["type"] == "TXT" and len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if r["type"] in ("CNAME", "MX", "NS", "ALIAS"):
                value = value.rstrip(".")
            if r["type"] == "MX":
                value = f"{r['prio']} {value}"
            found.append((r["id"], r["name"], r["type"], value))
        return found

    # -- the API -------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if not (request.path == PREFIX or request.path.startswith(PREFIX + "/")):
            return Response("<html><body><h1>404 Not Found</h1></body></html>", status=404,
                            mimetype="text/html")
        if request.method != "POST":
            return _error("All API calls must be made with HTTP POST.")
        body = request.get_json(silent=True, force=True)
        if not isinstance(body, dict):
            return _error("Invalid JSON in the request body.")
        pair = (str(body.get("apikey") or ""), str(body.get("secretapikey") or ""))
        if pair not in self.keys:
            return _error("Invalid API key. (002)")
        reach = self.keys[pair]
        parts = [p for p in request.path[len(PREFIX):].split("/") if p]
        if parts == ["ping"]:
            return _ok(yourIp=request.remote_addr or "127.0.0.1")
        if len(parts) < 3 or parts[0] != "dns":
            return _error("Invalid API endpoint.")
        command, domain, rest = parts[1], parts[2].lower(), parts[3:]
        if domain not in self.domains or (reach is not None and domain not in reach):
            return _error("Invalid domain.")
        if not self.domains[domain]["api_access"]:
            return _error("Domain is not opted in to API access.")
        zone = [r for r in self.records.values() if r["_domain"] == domain]

        if command == "retrieve" and len(rest) <= 1:
            found = [r for r in zone if not rest or r["id"] == rest[0]]
            return _ok(cloudflare="enabled", records=[self.public(r) for r in found])
        if command in ("retrieveByNameType", "editByNameType", "deleteByNameType") and len(rest) in (1, 2):
            rtype = rest[0].upper()
            name = f"{rest[1].lower()}.{domain}" if len(rest) == 2 else domain
            found = [r for r in zone if r["type"] == rtype and r["name"] == name]
            if command == "retrieveByNameType":
                return _ok(cloudflare="enabled", records=[self.public(r) for r in found])
            if command == "deleteByNameType":
                for r in found:
                    del self.records[r["id"]]
                return _ok()
            if not str(body.get("content") or "").strip():
                return _error("Content is required.")
            for r in found:
                relative = r["name"][: -len(domain) - 1] if r["name"] != domain else ""
                self._fill(r, domain, {**body, "name": relative, "type": r["type"]})
            return _ok()
        if command == "create" and not rest:
            problem = self._invalid(body)
            if problem:
                return _error(problem)
            return _ok(id=int(self._store(domain, body)["id"]))
        if command in ("edit", "delete") and len(rest) == 1:
            record = self.records.get(rest[0])
            if record is None or record["_domain"] != domain:
                return _error("Invalid record ID.")
            if command == "delete":
                del self.records[record["id"]]
                return _ok()
            problem = self._invalid(body)
            if problem:
                return _error(problem)
            self._fill(record, domain, body)
            return _ok()
        return _error("Invalid API endpoint.")

    @staticmethod
    def _invalid(body: dict[str, t.Any]) -> str | None:
        if str(body.get("type") or "").upper() not in TYPES:
            return "Invalid type."
        if not str(body.get("content") or "").strip():
            return "Content is required."
        return None


PB_KEY = "pk1_3f9c2a6e3f9c2a6e3f9c2a6e3f9c2a6e3f9c2a6e3f9c2a6e3f9c2a6e3f9c2a6e"
PB_SECRET = "sk1_b81d4c07b81d4c07b81d4c07b81d4c07b81d4c07b81d4c07b81d4c07b81d4c07"


LEXICON_CASE = LexiconCase(
    "porkbun", lambda: FakePorkbun(keys={(PB_KEY, PB_SECRET): None}), PREFIX,
    good={"Api_key": PB_KEY, "Api_secret": PB_SECRET},
    bad={"Api_key": "pk1_0000wrongporkbunapikey0000", "Api_secret": "sk1_0000wrongporkbunsecret0000"},
    nameservers=("curitiba.porkbun.com.", "fortaleza.porkbun.com."),
    refused_status=400,
)
