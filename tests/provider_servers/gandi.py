"""A fake of Gandi's LiveDNS API (API v5, REST), the part that manages a domain's records
(``/v5/livedns/domains``).

Read: https://api.gandi.net/docs/livedns/ (and its copy https://api.sandbox.gandi.net/docs/livedns),
https://api.gandi.net/docs/authentication/, the older http://doc.livedns.gandi.net/ for the rrset
model and the answers' messages, and, for what the reference leaves out (TXT quoting, relative
targets), the answers recorded in octodns-gandi's test fixtures and Gandi's own remark in
go-gandi/terraform-provider-gandi issue 2 ("Quotes are added by the Gandi API").

Documented behaviour kept:

- ``Authorization: Bearer <personal access token>`` or the deprecated ``Authorization: Apikey
  <API key>`` on every call. A missing header or an unknown API key: HTTP 401 ("Bad
  authentication attempt because of a wrong API Key"); a bearer token that does not exist, has
  expired or lacks the permission: HTTP 403. Errors are ``{"code", "message", "object",
  "cause"}`` (400s add ``errors``: ``[{"location", "name", "description"}]``).
- ``GET /domains`` lists the domains the credential sees; ``GET /domains/{fqdn}`` answers
  ``{"fqdn", "fqdn_unicode", "domain_href", "domain_records_href", "domain_keys_href",
  "automatic_snapshots"}``, HTTP 404 for a domain that is not there (or not the credential's).
- Records are kept as record sets (rrsets) without ids: one per name and type, ``{"rrset_name",
  "rrset_type", "rrset_ttl", "rrset_values", "rrset_href"}``. Names are relative to the domain,
  ``@`` for the apex. ``GET /domains/{fqdn}/records`` answers every rrset of the zone as one JSON
  array (no pages); ``POST`` there creates one from a body naming ``rrset_name`` and
  ``rrset_type``. ``GET /records/{rrset_name}`` lists the rrsets of a name, ``PUT`` replaces them
  all (``{"items": [...]}``), ``DELETE`` removes them. ``GET /records/{rrset_name}/{rrset_type}``
  answers one rrset (404 when there is none), ``POST`` creates it (409 when it exists), ``PUT``
  creates or replaces its values and TTL (``{"rrset_values", "rrset_ttl"}``), ``DELETE`` removes
  it (204). Writes answer 201 ``{"message": "DNS Record Created"}``.
- ``rrset_values`` is a non-empty list of strings, ``rrset_ttl`` between 300 and 2592000 (10800
  when not given), ``rrset_type`` one of the types LiveDNS supports; anything else is HTTP 400. A
  CNAME holds one value and shares its name with nothing (HTTP 409 otherwise).
- Values are zone-file text: TXT data is kept in quotes (a value sent without them is quoted and
  escaped by the API, one sent quoted is kept as sent), host names in CNAME, MX, NS... data are
  relative to the zone unless they end with a dot (``www`` in ``example.com`` is
  ``www.example.com``).

Record sets have no ids, so :attr:`FakeGandi.records` keys each rrset by ``"{fqdn}/{rrset_name}/
{rrset_type}"`` (where its ``rrset_href`` points) and :meth:`FakeGandi.dump_ids` gives every value
of a set the set's id: rewriting a set's values keeps its id, as rewriting a record in place does.

Knobs besides the shared ones: ``tokens`` (personal access token -> set of domain names it may
see, ``None`` for all), ``api_keys`` (the same for legacy API keys).
"""
from __future__ import annotations

import typing as t
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from . import Entry, FakeServer, LexiconCase, json_response, zone_file_value

#: The record types LiveDNS accepts.
TYPES = {"A", "AAAA", "ALIAS", "CAA", "CDS", "CNAME", "DNAME", "DS", "KEY", "LOC", "MX", "NAPTR", "NS",
         "OPENPGPKEY", "PTR", "RP", "SPF", "SRV", "SSHFP", "TLSA", "TXT", "WKS"}
#: Types whose data ends with a host name, relative to the zone unless it ends with a dot.
HOST_TYPES = {"CNAME", "DNAME", "ALIAS", "NS", "PTR", "MX"}
DEFAULT_TTL = 10800
MIN_TTL, MAX_TTL = 300, 2592000


def _error(status: int, message: str, obj: str, cause: str, **extra: t.Any) -> Response:
    return json_response({"code": status, "message": message, "object": obj, "cause": cause, **extra}, status)


def _not_found(message: str = "The resource could not be found.") -> Response:
    return _error(404, message, "HTTPNotFound", "Not Found")


def _bad_request(name: str, description: str) -> Response:
    return _error(400, "Validation error", "HTTPBadRequest", "Bad Request",
                  errors=[{"location": "body", "name": name, "description": description}])


def _created() -> Response:
    return json_response({"message": "DNS Record Created"}, 201)


def quote_txt(value: str) -> str:
    """TXT data as LiveDNS keeps it: a value without quotes gets them (and its quotes and
    backslashes escaped); a quoted one stays as it was sent."""
    if value.startswith('"'):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquote_txt(value: str) -> str:
    """The text of quoted TXT data (``"a" "b"`` is ``ab``), escapes undone."""
    out, inside, i = [], False, 0
    if not value.startswith('"'):
        return value
    while i < len(value):
        char = value[i]
        if not inside:
            inside = char == '"'
        elif char == "\\" and i + 1 < len(value):
            digits = value[i + 1:i + 4]
            if len(digits) == 3 and digits.isdigit():
                out.append(chr(int(digits)))
                i += 3
            else:
                out.append(value[i + 1])
                i += 1
        elif char == '"':
            inside = False
        else:
            out.append(char)
        i += 1
    return "".join(out)


class FakeGandi(FakeServer):
    def __init__(self, tokens: dict[str, set[str] | None] | None = None,
                 api_keys: dict[str, set[str] | None] | None = None) -> None:
        super().__init__()
        self.tokens: dict[str, set[str] | None] = tokens if tokens is not None else {}
        self.api_keys: dict[str, set[str] | None] = api_keys if api_keys is not None else {}
        self.domains: dict[str, dict[str, t.Any]] = {}
        #: Every rrset, by ``"{fqdn}/{rrset_name}/{rrset_type}"``.
        self.records: dict[str, dict[str, t.Any]] = {}

    # -- seeding -------------------------------------------------------

    def add_zone(self, name: str, records: t.Iterable[Entry] = (), **options: t.Any) -> None:
        name = name.lower()
        self.domains[name] = {"fqdn": name, "fqdn_unicode": name, "automatic_snapshots": True}
        for rid in [r for r, rec in self.records.items() if rec["_domain"] == name]:
            del self.records[rid]
        for fqdn, rtype, value in records:
            relative = "@" if fqdn == name else fqdn[: -len(name) - 1]
            if rtype == "TXT":
                value = quote_txt(value)
            elif rtype == "MX":
                pref, host = value.split(" ", 1)
                value = f"{pref} {host.rstrip('.')}."
            elif rtype in HOST_TYPES:
                value = value.rstrip(".") + "."
            rid = self._id(name, relative, rtype)
            if rid in self.records:
                self.records[rid] = {**self.records[rid],
                                     "rrset_values": [*self.records[rid]["rrset_values"], value]}
            else:
                self._put_rrset(name, relative, rtype, [value], options.get("ttl", DEFAULT_TTL))

    @staticmethod
    def _id(domain: str, name: str, rtype: str) -> str:
        return f"{domain}/{name}/{rtype}"

    def _put_rrset(self, domain: str, name: str, rtype: str, values: list[str], ttl: int) -> None:
        # Always a new dict and a new list: a test's copy of an earlier state must not change.
        self.records[self._id(domain, name, rtype)] = {
            "rrset_name": name, "rrset_type": rtype, "rrset_ttl": ttl, "rrset_values": list(values),
            "_domain": domain,
        }


    def dump_ids(self, name: str) -> list[tuple[t.Any, str, str, str]]:
        """Like :meth:`dump`, each entry led by its rrset's id (every value of a set shares it)."""
        found = []
        for rid, r in self.records.items():
            if r["_domain"] != name:
                continue
            fqdn = name if r["rrset_name"] == "@" else f"{r['rrset_name']}.{name}"
            for value in r["rrset_values"]:
                found.append((rid, fqdn, r["rrset_type"], self._readable(name, r["rrset_type"], value)))
        return found

    @staticmethod
    def _readable(zone: str, rtype: str, value: str) -> str:
        return unquote_txt(value) if rtype == "TXT" else zone_file_value(zone, rtype, value)

    # -- the API -------------------------------------------------------

    def _public(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        href = (f"{self.url}/v5/livedns/domains/{record['_domain']}/records/"
                f"{quote(record['rrset_name'], safe='')}/{record['rrset_type']}")
        return {"rrset_name": record["rrset_name"], "rrset_type": record["rrset_type"],
                "rrset_ttl": record["rrset_ttl"], "rrset_values": list(record["rrset_values"]),
                "rrset_href": href}

    def _domain_info(self, fqdn: str) -> dict[str, t.Any]:
        base = f"{self.url}/v5/livedns/domains/{fqdn}"
        return {**self.domains[fqdn], "domain_href": base, "domain_records_href": base + "/records",
                "domain_keys_href": base + "/keys"}

    def _visible(self, request: Request) -> tuple[set[str] | None, Response | None]:
        auth = request.headers.get("Authorization", "")
        scheme, _, credential = auth.partition(" ")
        if scheme == "Bearer" and credential:
            if credential in self.tokens:
                return self.tokens[credential], None
            return None, _error(403, "Access was denied to this resource.", "HTTPForbidden", "Forbidden")
        if scheme == "Apikey" and credential in self.api_keys:
            return self.api_keys[credential], None
        return None, _error(401, "The server could not verify that you authenticated to access the requested"
                                 " resource.", "HTTPUnauthorized", "Unauthorized")

    def handle(self, request: Request) -> Response:
        # Empty segments are kept: ``/records//TXT`` names no record set and is no route.
        parts = request.path.split("/")[1:]
        if parts[:2] != ["v5", "livedns"]:
            return _not_found()
        visible, refused = self._visible(request)
        if refused is not None:
            return refused
        method, rest = request.method, parts[2:]
        if rest[:1] != ["domains"]:
            return _not_found()
        if rest == ["domains"] and method == "GET":
            return json_response([self._domain_info(n) for n in self.domains if visible is None or n in visible])
        fqdn = rest[1].lower() if len(rest) > 1 else ""
        if fqdn not in self.domains or (visible is not None and fqdn not in visible):
            return _not_found(f"The domain {fqdn} could not be found." if fqdn else "The resource could not be found.")
        rest = rest[2:]
        if rest == [] and method == "GET":
            return json_response(self._domain_info(fqdn))
        if not rest or rest[0] != "records" or len(rest) > 3 or "" in rest[1:]:
            return _not_found()
        sets = [r for r in self.records.values() if r["_domain"] == fqdn]
        if len(rest) == 1:
            if method == "GET":
                return json_response([self._public(r) for r in sets])
            if method == "POST":
                data = request.get_json(silent=True, force=True)
                if not isinstance(data, dict):
                    return _bad_request("body", "Invalid JSON")
                name = str(data.get("rrset_name") or "").lower()
                if not name:
                    return _bad_request("rrset_name", "Required")
                return self._write(fqdn, name, str(data.get("rrset_type") or "").upper(), data, create=True)
            return _error(405, "The method is not allowed for the requested URL.", "HTTPMethodNotAllowed",
                          "Method Not Allowed")
        name = rest[1].lower()
        at_name = [r for r in sets if r["rrset_name"] == name]
        if len(rest) == 2:
            if method == "GET":
                return json_response([self._public(r) for r in at_name])
            if method == "DELETE":
                for r in at_name:
                    del self.records[self._id(fqdn, name, r["rrset_type"])]
                return Response(status=204)
            if method == "PUT":
                data = request.get_json(silent=True, force=True)
                items = data.get("items") if isinstance(data, dict) else None
                if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                    return _bad_request("items", "Required")
                checked = []
                for item in items:
                    rtype = str(item.get("rrset_type") or "").upper()
                    problem = self._check(rtype, item)
                    if problem is not None:
                        return problem
                    checked.append((rtype, item))
                for r in at_name:
                    del self.records[self._id(fqdn, name, r["rrset_type"])]
                for rtype, item in checked:
                    self._put_rrset(fqdn, name, rtype, item["rrset_values"], item.get("rrset_ttl") or DEFAULT_TTL)
                return _created()
            return _error(405, "The method is not allowed for the requested URL.", "HTTPMethodNotAllowed",
                          "Method Not Allowed")
        rtype = rest[2].upper()
        record = self.records.get(self._id(fqdn, name, rtype))
        if method in ("POST", "PUT"):
            data = request.get_json(silent=True, force=True)
            if not isinstance(data, dict):
                return _bad_request("body", "Invalid JSON")
            return self._write(fqdn, name, rtype, data, create=method == "POST")
        if record is None:
            return _error(404, f"Can't find the DNS record {name}/{rtype} in LiveDNS", "dns-record", "Not Found")
        if method == "GET":
            return json_response(self._public(record))
        if method == "DELETE":
            del self.records[self._id(fqdn, name, rtype)]
            return Response(status=204)
        return _error(405, "The method is not allowed for the requested URL.", "HTTPMethodNotAllowed",
                      "Method Not Allowed")

    @staticmethod
    def _check(rtype: str, data: dict[str, t.Any]) -> Response | None:
        if rtype not in TYPES:
            return _bad_request("rrset_type", f"{rtype or 'empty'} is not one of the supported record types")
        values = data.get("rrset_values")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            return _bad_request("rrset_values", "Must be a non-empty list of non-empty strings")
        ttl = data.get("rrset_ttl")
        if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or not MIN_TTL <= ttl <= MAX_TTL):
            return _bad_request("rrset_ttl", f"Must be an integer between {MIN_TTL} and {MAX_TTL}")
        if rtype == "CNAME" and len(values) > 1:
            return _bad_request("rrset_values", "A CNAME record set holds a single value")
        return None

    def _write(self, fqdn: str, name: str, rtype: str, data: dict[str, t.Any], *, create: bool) -> Response:
        problem = self._check(rtype, data)
        if problem is not None:
            return problem
        rid = self._id(fqdn, name, rtype)
        if create and rid in self.records:
            return _error(409, "A DNS record already exists with the same name and type", "dns-record",
                          "Conflict")
        others = {r["rrset_type"] for r in self.records.values()
                  if r["_domain"] == fqdn and r["rrset_name"] == name and r["rrset_type"] != rtype}
        if (rtype == "CNAME" and others) or "CNAME" in others:
            return _error(409, f"A CNAME record cannot share its name ({name}) with other records",
                          "dns-record", "Conflict")
        values = [quote_txt(v) if rtype == "TXT" else v for v in data["rrset_values"]]
        ttl = data.get("rrset_ttl") or DEFAULT_TTL
        self._put_rrset(fqdn, name, rtype, values, ttl)
        return _created()


GANDI_TOKEN = "pat_7f3c9e2a-51b8-4d6e-a0c4-8b2e9d1f6a37"  # a personal access token: Bearer
GANDI_API_KEY = "gNd1LegacyApiKey0123456"  # a legacy API key (24 characters at most): Apikey


LEXICON_CASE = LexiconCase(
    "gandi", lambda: FakeGandi(tokens={GANDI_TOKEN: None}), "/v5/livedns",
    good={"Api_key": GANDI_TOKEN}, bad={"Api_key": "pat_00000000-dead-beef-0000-0000deadbeef"},
    nameservers=("ns-217-a.gandi.net.", "ns-82-b.gandi.net."), refused_status=403, page_size=None,
)
