"""A fake of Namecheap's XML API (``/xml.response``).

Documented behaviour kept: global parameters ``ApiUser``, ``ApiKey``,
``UserName``, ``ClientIp``, ``Command`` (names case-insensitive, from the
query string or a form body); HTTP 200 for every answer, the verdict in
``<ApiResponse Status="OK|ERROR">`` with ``<Errors><Error Number=...>``
(1011102 bad API key, 1011150 client IP not whitelisted, 2019166 unknown
domain, 2016166 domain of another account); ``getHosts`` / ``setHosts`` by
``SLD`` + ``TLD``; ``setHosts`` replaces the whole zone, and drops the MX
records unless ``EmailType=MX`` is passed. ``getHosts`` reports every host
with ``HostId``, ``Name``, ``Type``, ``Address``, ``MXPref``, ``TTL``,
``AssociatedAppTitle``, ``FriendlyName``, ``IsActive`` and ``IsDDNSEnabled``;
``setHosts`` takes ``HostNameN``, ``RecordTypeN`` (one of the documented
types: A, AAAA, ALIAS, CAA, CNAME, MX, MXE, NS, TXT, URL, URL301, FRAME),
``AddressN``, ``MXPrefN`` and ``TTLN``; a host sent without ``TTLN`` gets
Namecheap's default 1800, without ``MXPrefN`` 10.

Seeding: ``add_zone`` takes the shared ``(fqdn, type, value)`` entries, and
also ``(fqdn, type, value, ttl)`` or ``(fqdn, type, value, ttl, mxpref)``
to give a host its own TTL and MXPref (an MX value may then be the bare
mail host, its preference the fifth item). ``dump`` answers the shared
3-tuples; ``dump_full`` answers ``(fqdn, type, address, mxpref, ttl)`` for
every host, so a test can see that nothing of a host was rewritten.

Quirks of the live service reproduced: the host element is spelled
``host`` (the docs say ``Host``) and the id attribute ``HostId`` or
``HostID`` (knobs ``host_tag``, ``id_attr``). ``max_get_hosts`` (default 10):
a GET ``setHosts`` with more hosts is refused with HTTP 414, as a too long
URL would be.

Knobs besides the shared ones: ``users`` (api_user -> {"key", "username",
"ips"}), ``domains`` (name -> {"owner", "email_type", "hosts",
"using_our_dns"}).
"""

from __future__ import annotations

import itertools
import typing as t
from xml.sax.saxutils import escape, quoteattr

from werkzeug.wrappers import Request, Response

from . import Entry, FakeServer, Seen

NS = "http://api.namecheap.com/xml.response"

#: The record types setHosts documents.
RECORD_TYPES = frozenset({"A", "AAAA", "ALIAS", "CAA", "CNAME", "MX", "MXE", "NS", "TXT",
                          "URL", "URL301", "FRAME"})
#: What Namecheap gives a host sent without TTL / MXPref.
DEFAULT_TTL, DEFAULT_MX_PREF = "1800", "10"


def _xml(status: str, command: str, inner: str = "", errors: list[tuple[int, str]] = ()) -> Response:
    errs = "".join(f'<Error Number="{n}">{escape(text)}</Error>' for n, text in errors)
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<ApiResponse Status="{status}" xmlns="{NS}">'
        f"<Errors>{errs}</Errors><Warnings />"
        f"<RequestedCommand>{escape(command)}</RequestedCommand>"
        + (f'<CommandResponse Type="{escape(command)}">{inner}</CommandResponse>' if status == "OK" else "")
        + "<Server>FAKE</Server><GMTTimeDifference>--5:00</GMTTimeDifference>"
        "<ExecutionTime>0.01</ExecutionTime></ApiResponse>"
    )
    # Namecheap answers 200 whatever happened.
    return Response(body, status=200, mimetype="text/xml")


class FakeNamecheap(FakeServer):
    def __init__(self, users: dict[str, dict[str, t.Any]] | None = None) -> None:
        super().__init__()
        self.users: dict[str, dict[str, t.Any]] = users if users is not None else {}
        self.domains: dict[str, dict[str, t.Any]] = {}
        self.host_tag = "host"
        self.id_attr = "HostId"
        self.max_get_hosts = 10
        self._ids = itertools.count(100)

    def is_write(self, seen: Seen) -> bool:
        params = {k.lower(): v for k, v in {**seen.query, **seen.form}.items()}
        return params.get("command", "").lower() not in (
            "namecheap.domains.dns.gethosts",
            "namecheap.domains.getlist",
            "namecheap.domains.dns.getlist",
        )

    # -- seeding -------------------------------------------------------

    def add_zone(self, name: str, records: t.Iterable[Entry] = (), *, owner: str | None = None,
                 email_type: str | None = None, using_our_dns: bool = True, **options: t.Any) -> None:
        if owner is None:  # the first user's domain unless told otherwise
            owner = next(iter(self.users.values()))["username"] if self.users else "alice"
        hosts = []
        for record in records:
            fqdn, rtype, value, *rest = record
            if len(rest) > 2:
                raise ValueError(f"a Namecheap host is (fqdn, type, value[, ttl[, mxpref]]), not {record!r}")
            ttl = str(rest[0]) if rest else DEFAULT_TTL
            mx_pref = str(rest[1]) if len(rest) > 1 else None
            rtype = rtype.upper()
            if rtype not in RECORD_TYPES:
                raise ValueError(f"Namecheap does not hold {rtype} records")
            if not ttl.isdigit():
                raise ValueError(f"TTL {ttl!r} of {record!r} is not a number of seconds")
            host = {"Name": _relative(fqdn, name), "Type": rtype, "Address": value,
                    "MXPref": mx_pref or DEFAULT_MX_PREF, "TTL": ttl}
            if rtype == "MX" and (mx_pref is None or " " in value):
                pref, address = value.split(" ", 1)
                if mx_pref is not None and pref != mx_pref:
                    raise ValueError(f"{record!r} gives two MX preferences")
                host.update(MXPref=pref, Address=address)
            if rtype == "CNAME":
                host["Address"] = value.rstrip(".") + "."
            if not host["MXPref"].isdigit():
                raise ValueError(f"MXPref {host['MXPref']!r} of {record!r} is not a number")
            hosts.append(self._with_id(host))
        if email_type is None:
            email_type = "MX" if any(h["Type"] == "MX" for h in hosts) else "NONE"
        self.domains[name] = {"owner": owner, "email_type": email_type, "hosts": hosts,
                              "using_our_dns": using_our_dns}

    def _with_id(self, host: dict[str, str]) -> dict[str, str]:
        return {"HostId": str(next(self._ids)), **host}

    def dump(self, name: str) -> list[Entry]:
        found = []
        for h in self.domains[name]["hosts"]:
            fqdn = name if h["Name"] == "@" else f"{h['Name']}.{name}"
            value = h["Address"]
            if h["Type"] == "CNAME":
                value = value.rstrip(".")
            if h["Type"] == "MX":
                value = f"{h['MXPref']} {value}"
            found.append((fqdn, h["Type"], value))
        return found

    def dump_full(self, name: str) -> list[tuple[str, str, str, str, str]]:
        """Every host as ``(fqdn, type, address, mxpref, ttl)``, MXPref and
        TTL as the strings ``getHosts`` reports; the address as for
        :meth:`dump` (CNAME target without the final dot), but an MX's
        address is the bare mail host, its preference in ``mxpref``."""
        found = []
        for h in self.domains[name]["hosts"]:
            fqdn = name if h["Name"] == "@" else f"{h['Name']}.{name}"
            value = h["Address"].rstrip(".") if h["Type"] == "CNAME" else h["Address"]
            found.append((fqdn, h["Type"], value, h["MXPref"], h["TTL"]))
        return found

    # -- the API -------------------------------------------------------

    def handle(self, request: Request) -> Response:
        params = {k.lower(): v for k, v in request.args.items()}
        params.update({k.lower(): v for k, v in request.form.items()})
        command = params.get("command", "")
        user = self.users.get(params.get("apiuser", ""))
        if user is None or user["key"] != params.get("apikey"):
            return _xml("ERROR", command, errors=[(1011102, "Parameter APIKey is invalid")])
        if params.get("clientip") not in user.get("ips", {params.get("clientip")}):
            return _xml("ERROR", command, errors=[(1011150, "Parameter RequestIP is invalid")])
        if params.get("username", "") != user["username"]:
            return _xml("ERROR", command, errors=[(1016103, "Parameter UserName is unauthorized")])
        username = user["username"]

        lowered = command.lower()
        if lowered == "namecheap.domains.getlist":
            rows = "".join(
                f'<Domain ID="{i}" Name="{escape(n)}" User="{escape(username)}" IsExpired="false" />'
                for i, (n, d) in enumerate(self.domains.items()) if d["owner"] == username
            )
            return _xml("OK", command, f"<DomainGetListResult>{rows}</DomainGetListResult>")

        if lowered in ("namecheap.domains.dns.gethosts", "namecheap.domains.dns.sethosts"):
            sld, tld = params.get("sld", ""), params.get("tld", "")
            if not sld or not tld:
                return _xml("ERROR", command, errors=[(2010324, "SLD and TLD are required")])
            name = f"{sld}.{tld}".lower()
            domain = self.domains.get(name)
            if domain is None:
                return _xml("ERROR", command, errors=[(2019166, "Domain not found")])
            if domain["owner"] != username:
                return _xml("ERROR", command, errors=[(2016166, "Domain is not associated with your account")])
            if lowered.endswith("gethosts"):
                return self._get_hosts(command, name, domain)
            return self._set_hosts(request, command, name, domain, params)

        return _xml("ERROR", command, errors=[(1010104, "Parameter Command is invalid")])

    def _get_hosts(self, command: str, name: str, domain: dict[str, t.Any]) -> Response:
        rows = "".join(
            f"<{self.host_tag} {self.id_attr}={quoteattr(h['HostId'])} Name={quoteattr(h['Name'])}"
            f" Type={quoteattr(h['Type'])} Address={quoteattr(h['Address'])}"
            f" MXPref={quoteattr(h['MXPref'])} TTL={quoteattr(h['TTL'])}"
            ' AssociatedAppTitle="" FriendlyName="" IsActive="true" IsDDNSEnabled="false" />'
            for h in domain["hosts"]
        )
        using = "true" if domain["using_our_dns"] else "false"
        inner = (
            f'<DomainDNSGetHostsResult Domain={quoteattr(name)} EmailType={quoteattr(domain["email_type"])}'
            f' IsUsingOurDNS="{using}">{rows}</DomainDNSGetHostsResult>'
        )
        return _xml("OK", command, inner)

    def _set_hosts(self, request: Request, command: str, name: str, domain: dict[str, t.Any],
                   params: dict[str, str]) -> Response:
        if not domain["using_our_dns"]:
            return _xml("ERROR", command, errors=[(2016166, "Domain is not using Namecheap DNS servers")])
        hosts = []
        for i in itertools.count(1):
            if f"hostname{i}" not in params:
                break
            rtype = params.get(f"recordtype{i}", "").upper()
            address = params.get(f"address{i}", "")
            if not rtype or not address:
                return _xml("ERROR", command, errors=[(2050900, f"RecordType{i} and Address{i} are required")])
            if rtype not in RECORD_TYPES:
                return _xml("ERROR", command, errors=[(2050900, f"Invalid RecordType{i}: {rtype}")])
            if rtype == "CNAME" and not address.endswith("."):
                address += "."
            hosts.append(self._with_id({
                "Name": params[f"hostname{i}"],
                "Type": rtype,
                "Address": address,
                # Namecheap's defaults for a host sent without them.
                "MXPref": params.get(f"mxpref{i}", "") or DEFAULT_MX_PREF,
                "TTL": params.get(f"ttl{i}", "") or DEFAULT_TTL,
            }))
        if request.method == "GET" and len(hosts) > self.max_get_hosts:
            return Response("Request-URI Too Long", status=414)
        email_type = params.get("emailtype", "").upper()
        if email_type != "MX":
            # What the live service does: without EmailType=MX the MX records go.
            hosts = [h for h in hosts if h["Type"] != "MX"]
        domain["hosts"] = hosts
        domain["email_type"] = email_type or "NONE"
        inner = f'<DomainDNSSetHostsResult Domain={quoteattr(name)} IsSuccess="true"><Warnings /></DomainDNSSetHostsResult>'
        return _xml("OK", command, inner)


def _relative(fqdn: str, zone: str) -> str:
    fqdn = fqdn.lower().rstrip(".")
    return "@" if fqdn == zone else fqdn[: -len(zone) - 1]
