"""A fake of OVHcloud's API 1.0, the DNS zone part (``/1.0/domain/zone``), with its request signing.

Documented behaviour kept (OVH's "First steps with the API",
https://docs.ovh.com/gb/en/customer/first-steps-with-ovh-api/ and
https://www.ovh.com/us/g934.first_steps_with_the_api, now
https://help.ovhcloud.com/csm/en-gb-api-getting-started-ovhcloud-api; the python-ovh client,
https://github.com/ovh/python-ovh (README, ``ovh/client.py`` ``Client.call``); the record shape as
the live API answers it, quoted in https://github.com/dns-lexicon/dns-lexicon/pull/65):

- ``GET /auth/time`` needs no authentication and answers the server's clock as a bare JSON integer
  (clients take the difference with their own clock and add it to every timestamp).
- Every other call is signed: ``X-Ovh-Application`` (application key), ``X-Ovh-Consumer`` (consumer
  key), ``X-Ovh-Timestamp`` and ``X-Ovh-Signature`` = ``"$1$"`` + the SHA-1 hex digest of
  ``application_secret + "+" + consumer_key + "+" + METHOD + "+" + full URL (query string
  included) + "+" + body + "+" + timestamp``. The fake checks the signature with the application
  secret it holds for the application key, over the URL exactly as it was requested.
- Refusals, with OVH's error body ``{"errorCode", "httpCode", "message"}`` (as quoted from the live
  API in ovh/php-ovh#56, #62, #80, qdm12/ddns-updater#319, ovh/python-ovh#86, toorop/ovh-cli#10):
  no signing headers at all HTTP 401 "You must login first"; an unknown application key HTTP 400
  ``INVALID_KEY`` "Invalid application key"; an unknown consumer key (or one of another
  application) HTTP 403 ``NOT_CREDENTIAL`` "This credential does not exist"; a consumer key not yet
  validated HTTP 403 ``INVALID_CREDENTIAL`` "This credential is not valid"; a wrong signature (the
  wrong application secret above all) HTTP 400 ``INVALID_SIGNATURE`` "Invalid signature"; a call the
  consumer key's access rules do not cover HTTP 403 ``NOT_GRANTED_CALL`` "This call has not been
  granted". A timestamp more than 180 seconds away from the server's clock is HTTP 400
  ``QUERY_TIME_OUT`` "Query out of time" (not in OVH's guides; a clock 8 minutes off is refused in
  rmbolger/Posh-ACME#162): set ``clock_offset`` to give the fake a clock of its own, so a client
  that does not use ``/auth/time`` fails.
- ``GET /domain/zone`` lists the names of the zones the credentials see; an unknown zone HTTP 404
  "This service does not exist"; ``GET /domain/zone/{zone}/status`` answers ``{"isDeployed",
  "errors", "warnings", "infos"}``.
- ``GET /domain/zone/{zone}/record`` answers a list of record ids, whole (no paging), filtered by
  ``fieldType`` and ``subDomain`` (exact; an empty ``subDomain=`` is taken as the apex);
  ``GET .../record/{id}`` the record ``{"fieldType", "id", "subDomain", "target", "ttl", "zone"}``
  (``subDomain`` ``""`` for the apex, ``ttl`` 0 for the zone's default), an unknown id HTTP 404
  "The requested object (id = N) does not exist"; ``POST .../record`` (``fieldType``, ``target``,
  optional ``subDomain`` and ``ttl``) creates and answers the record; ``PUT .../record/{id}``
  (``subDomain``, ``target``, ``ttl``) updates in place and answers ``null``; ``DELETE`` answers
  ``null``; ``POST /domain/zone/{zone}/refresh`` publishes the zone (counted in ``refreshes``).
- Record data as OVH keeps it: a TXT target is stored wrapped in double quotes when sent without
  them, and comes back quoted (dns-lexicon/dns-lexicon#65, baarde/cert-manager-webhook-ovh#34,
  ovh/terraform-provider-ovh#1193); an MX target holds its priority (``"10 mx1.example.net."``);
  a CNAME or MX host without its final dot is relative to the zone, which OVH appends
  (ansible/ansible#19198, ovh/terraform-provider-ovh#252): ``dump`` shows it that way.

Knobs besides the shared ones: ``applications`` (application key -> application secret),
``consumers`` (consumer key -> ``{"application", "zones" (names or None for all), "rules"
(method, path pattern with ``*``), "validated"}``), ``clock_offset`` (seconds added to the fake's
clock), ``refreshes`` (zones refreshed, in order).
"""
from __future__ import annotations

import fnmatch
import hashlib
import itertools
import json
import time
import typing as t

from werkzeug.wrappers import Request, Response

from . import Entry, FakeServer, LexiconCase, json_response, zone_file_value

#: Where the API is mounted: the configured URL is fake.url + PREFIX.
PREFIX = "/1.0"
_TYPES = {"A", "AAAA", "CAA", "CNAME", "DKIM", "DMARC", "LOC", "MX", "NAPTR", "NS", "PTR", "SPF", "SRV",
          "SSHFP", "TLSA", "TXT"}
#: The rights our credentials hint asks for.
DNS_RULES = [("GET", "/domain/zone"), ("GET", "/domain/zone/*"), ("POST", "/domain/zone/*"),
             ("PUT", "/domain/zone/*")]
_STATUS_TEXT = {400: "400 Bad Request", 401: "401 Unauthorized", 403: "403 Forbidden", 404: "404 Not Found"}


def _error(status: int, message: str, code: str | None = None) -> Response:
    body: dict[str, t.Any] = {"message": message}
    if code:
        body = {"errorCode": code, "httpCode": _STATUS_TEXT.get(status, str(status)), "message": message}
    return json_response(body, status)


def _quoted(target: str) -> str:
    return target if len(target) >= 2 and target[0] == target[-1] == '"' else f'"{target}"'


class FakeOVH(FakeServer):
    #: How far a request's timestamp may be from the fake's clock.
    max_skew = 180

    def __init__(self, applications: dict[str, str] | None = None,
                 consumers: dict[str, dict[str, t.Any]] | None = None, clock_offset: int = 0) -> None:
        super().__init__()
        self.applications: dict[str, str] = applications if applications is not None else {}
        self.consumers: dict[str, dict[str, t.Any]] = consumers if consumers is not None else {}
        self.clock_offset = clock_offset
        self.zones: dict[str, dict[str, t.Any]] = {}
        self.records: dict[int, dict[str, t.Any]] = {}
        self.refreshes: list[str] = []
        self._ids = itertools.count(5390038375)

    def now(self) -> int:
        return int(time.time()) + self.clock_offset

    # -- seeding -------------------------------------------------------

    def add_zone(self, name: str, records: t.Iterable[Entry] = (), **options: t.Any) -> None:
        """Seed ``name`` with ``records`` (the shared Entry shape), replacing what it held.
        ``deployed=False`` makes its status say it is not deployed."""
        self.zones[name] = {"name": name, "deployed": bool(options.get("deployed", True)),
                            "nameServers": ["dns10.ovh.net", "ns10.ovh.net"]}
        for rid in [r for r, rec in self.records.items() if rec["zone"] == name]:
            del self.records[rid]
        for fqdn, rtype, value in records:
            relative = "" if fqdn == name else fqdn[: -len(name) - 1]
            if rtype in ("CNAME", "NS"):
                value = value.rstrip(".") + "."
            elif rtype == "MX":
                pref, host = value.split(" ", 1)
                value = f"{pref} {host.rstrip('.')}."
            self._store(name, {"fieldType": rtype, "subDomain": relative, "target": value, "ttl": 0})

    def _store(self, zone: str, data: dict[str, t.Any]) -> dict[str, t.Any]:
        rtype = str(data["fieldType"]).upper()
        target = str(data["target"])
        record = {"fieldType": rtype, "id": next(self._ids), "subDomain": str(data.get("subDomain") or ""),
                  "target": _quoted(target) if rtype == "TXT" else target, "ttl": int(data.get("ttl") or 0),
                  "zone": zone}
        self.records[record["id"]] = record
        return record

    # -- reading -------------------------------------------------------


    def dump_ids(self, name: str) -> list[tuple[t.Any, str, str, str]]:
        """Like :meth:`dump`, each entry led by the record's id. Host names are resolved the way
        OVH serves them: without a final dot, relative to the zone."""
        found = []
        for r in self.records.values():
            if r["zone"] != name:
                continue
            fqdn = f"{r['subDomain']}.{name}" if r["subDomain"] else name
            value = r["target"]
            if r["fieldType"] == "TXT" and len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            else:
                value = zone_file_value(name, r["fieldType"], value)
            found.append((r["id"], fqdn, r["fieldType"], value))
        return found

    # -- authentication --------------------------------------------------

    def _refused(self, request: Request, path: str) -> Response | None:
        """None when the request is signed by credentials that may make this call."""
        ak = request.headers.get("X-Ovh-Application")
        ck = request.headers.get("X-Ovh-Consumer")
        stamp = request.headers.get("X-Ovh-Timestamp")
        signature = request.headers.get("X-Ovh-Signature")
        if not ak and not ck and not signature:
            return _error(401, "You must login first")
        if not ak or ak not in self.applications:
            return _error(400, "Invalid application key", "INVALID_KEY")
        consumer = self.consumers.get(ck or "")
        if consumer is None or consumer.get("application") != ak:
            return _error(403, "This credential does not exist", "NOT_CREDENTIAL")
        if not consumer.get("validated", True):
            return _error(403, "This credential is not valid", "INVALID_CREDENTIAL")
        try:
            skew = abs(int(stamp or "") - self.now())
        except ValueError:
            skew = self.max_skew + 1
        if skew > self.max_skew:
            return _error(400, "Query out of time", "QUERY_TIME_OUT")
        # The URL exactly as the client asked for it (the signature covers the query string).
        raw = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI") or request.full_path
        url = f"{request.scheme}://{request.host}{raw}"
        body = request.get_data(as_text=True)
        expected = "$1$" + hashlib.sha1("+".join(
            [self.applications[ak], ck or "", request.method.upper(), url, body, stamp or ""]).encode("utf-8")
        ).hexdigest()
        if signature != expected:
            return _error(400, "Invalid signature", "INVALID_SIGNATURE")
        rules = consumer.get("rules", DNS_RULES)
        if not any(method == request.method and fnmatch.fnmatchcase(path, pattern) for method, pattern in rules):
            return _error(403, "This call has not been granted", "NOT_GRANTED_CALL")
        return None

    def _visible(self, request: Request, zone: str) -> bool:
        consumer = self.consumers[request.headers["X-Ovh-Consumer"]]
        zones = consumer.get("zones")
        return zone in self.zones and (zones is None or zone in zones)

    # -- the API -------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if not (request.path == PREFIX or request.path.startswith(PREFIX + "/")):
            return _error(404, "Got an invalid (or empty) URL")
        path = request.path[len(PREFIX):].rstrip("/") or "/"
        method = request.method
        if path == "/auth/time":
            if method != "GET":
                return _error(405, f"Received not described method '{method}' for path '/auth/time'")
            return json_response(self.now())
        refused = self._refused(request, path)
        if refused is not None:
            return refused
        parts = [p for p in path.split("/") if p]
        if parts[:2] != ["domain", "zone"]:
            return _error(404, "Got an invalid (or empty) URL")
        rest = parts[2:]
        if rest == []:
            if method != "GET":
                return _error(405, f"Received not described method '{method}' for path '{path}'")
            return json_response(sorted(z for z in self.zones if self._visible(request, z)))
        zone = rest[0]
        if not self._visible(request, zone):
            return _error(404, "This service does not exist")
        rest = rest[1:]
        if rest == [] and method == "GET":
            info = self.zones[zone]
            return json_response({"name": zone, "hasDnsAnycast": False, "dnssecSupported": True,
                                  "nameServers": info["nameServers"], "lastUpdate": "2024-01-01T00:00:00+01:00"})
        if rest == ["status"] and method == "GET":
            return json_response({"isDeployed": self.zones[zone]["deployed"], "errors": [], "warnings": [],
                                  "infos": []})
        if rest == ["refresh"] and method == "POST":
            self.refreshes.append(zone)
            return json_response(None)
        if rest == ["record"] and method == "GET":
            kind = request.args.get("fieldType")
            sub = request.args.get("subDomain")
            return json_response([r["id"] for r in self.records.values() if r["zone"] == zone
                                  and (kind is None or r["fieldType"] == kind.upper())
                                  and (sub is None or r["subDomain"] == sub.lower())])
        if rest == ["record"] and method == "POST":
            data = self._json(request)
            if not isinstance(data, dict) or not data.get("target") or not data.get("fieldType"):
                return _error(400, "Missing parameter(s) for fieldType, target")
            if str(data["fieldType"]).upper() not in _TYPES:
                return _error(400, f"Invalid value for fieldType: {data['fieldType']}")
            return json_response(self._store(zone, data))
        if len(rest) == 2 and rest[0] == "record":
            try:
                record = self.records.get(int(rest[1]))
            except ValueError:
                record = None
            if record is None or record["zone"] != zone:
                return _error(404, f"The requested object (id = {rest[1]}) does not exist")
            if method == "GET":
                return json_response(record)
            if method == "PUT":
                data = self._json(request)
                if not isinstance(data, dict):
                    return _error(400, "Invalid JSON received")
                if "subDomain" in data:
                    record["subDomain"] = str(data["subDomain"] or "")
                if "target" in data:
                    target = str(data["target"])
                    record["target"] = _quoted(target) if record["fieldType"] == "TXT" else target
                if "ttl" in data:
                    record["ttl"] = int(data["ttl"] or 0)
                return json_response(None)
            if method == "DELETE":
                del self.records[record["id"]]
                return json_response(None)
        return _error(405, f"Received not described method '{method}' for path '{path}'")

    @staticmethod
    def _json(request: Request) -> t.Any:
        try:
            return json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            return None


OVH_APP_KEY = "7kbG7Bk7S9Nt7ZSV"
OVH_APP_SECRET = "EXEgWIz07P0HYwtQDs7cNIqCiQaWSuHF"
OVH_CONSUMER_KEY = "MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1"


def _fake() -> FakeOVH:
    # The fake's clock runs an hour ahead of this host's: only a client that signs with OVH's time
    # (GET /auth/time) gets in.
    return FakeOVH(applications={OVH_APP_KEY: OVH_APP_SECRET},
                   consumers={OVH_CONSUMER_KEY: {"application": OVH_APP_KEY, "zones": None, "rules": DNS_RULES}},
                   clock_offset=3600)


LEXICON_CASE = LexiconCase(
    "ovh", _fake, PREFIX,
    good={"Api_key": OVH_APP_KEY, "Api_secret": OVH_APP_SECRET, "Api_user": OVH_CONSUMER_KEY},
    bad={"Api_key": OVH_APP_KEY, "Api_secret": OVH_APP_SECRET, "Api_user": "WrongConsumerKey0123456789abcdef"},
    nameservers=("dns10.ovh.net.", "ns10.ovh.net."), refused_status=403,
)
