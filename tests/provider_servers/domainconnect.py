"""A fake DNS provider that speaks Domain Connect's synchronous flow, over HTTPS.

What it implements is what the Domain Connect spec documents for a DNS provider:
``GET /v2/<zone>/settings`` (404 for a zone it does not hold), ``GET <urlAPI>/v2/domainTemplates/
providers/<providerId>/services/<serviceId>`` (200 for a template it has, 404 otherwise) and the
apply URL, which checks the signature with the public key it reads from DNS (TXT at
``<key>.<syncPubKeyDomain>``, the ``p=,a=,d=`` pieces), evaluates the template with the URL's
variables the way the spec says (hosts relative to ``host.domain``, ``@``, ``%fqdn%``, groups),
publishes the result on the loopback DNS server and redirects to ``redirect_uri`` with ``state``.
It shares no code with the service: the records it writes are the spec's reading of the template.
"""
from __future__ import annotations

import base64
import re
import typing as t
import urllib.parse

import dns.nameserver
import dns.resolver
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from . import FakeServer, _QuietHandler, json_response

APPLY = re.compile(r"/sync/v2/domainTemplates/providers/([^/]+)/services/([^/]+)/apply")
TEMPLATE = re.compile(r"/api/v2/domainTemplates/providers/([^/]+)/services/([^/]+)")
SETTINGS = re.compile(r"/v2/([^/]+)/settings")


class FakeDomainConnect(FakeServer):
    """``zones``: the zones it holds; ``templates``: ``{(providerId, serviceId): template}``;
    ``dns``: the tests' DNS server (tests/dns_server.py), read for keys and written on apply."""

    provider_name = "Fake DNS"

    def __init__(self, ssl_context: t.Any, dns_server: t.Any) -> None:
        super().__init__()
        self.ssl_context = ssl_context
        self.dns = dns_server
        self.zones: set[str] = set()
        self.templates: dict[tuple[str, str], dict] = {}
        self.applied: list[dict[str, str]] = []
        #: Merged into the settings it answers (a provider's own quirks, or a hostile one's).
        self.settings_extra: dict[str, t.Any] = {}
        #: ``(bytes promised, bytes a second)``: the settings answer promises that many bytes and
        #: sends them at that rate, as a hostile host would to hold a caller's thread.
        self.trickle: tuple[int, float] | None = None

    def start(self) -> FakeDomainConnect:
        import threading

        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler,
                                   ssl_context=self.ssl_context)
        self._server.daemon_threads = True
        self.port = self._server.socket.getsockname()[1]
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"https://{self.host}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def handle(self, request: Request) -> Response:
        path = request.path
        if match := APPLY.fullmatch(path):
            return self._apply(request, *map(urllib.parse.unquote, match.groups()))
        if match := TEMPLATE.fullmatch(path):
            key = tuple(map(urllib.parse.unquote, match.groups()))
            return json_response({"version": 1}) if key in self.templates else json_response({}, 404)
        if match := SETTINGS.fullmatch(path):
            if match.group(1) not in self.zones:
                return json_response({}, 404)
            if self.trickle is not None:
                return self._trickled(*self.trickle)
            return json_response({"providerId": "fake-dns.example", "providerName": self.provider_name,
                                  "providerDisplayName": self.provider_name, "urlSyncUX": f"{self.url}/sync",
                                  "urlAPI": f"{self.url}/api", "width": 750, "height": 750, **self.settings_extra})
        return json_response({}, 404)

    @staticmethod
    def _trickled(size: int, rate: float) -> Response:
        import time

        def body() -> t.Iterator[bytes]:
            chunk = max(1, int(rate / 10))
            sent = 0
            while sent < size:
                piece = min(chunk, size - sent)
                yield b" " * piece
                sent += piece
                time.sleep(piece / rate)

        return Response(body(), headers={"Content-Length": str(size)}, mimetype="application/json",
                        direct_passthrough=True)

    # -- the apply URL -------------------------------------------------------------------------

    def public_key(self, key_host: str, domain: str):
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(*self.dns.address)]
        pieces = {}
        for rdata in resolver.resolve(f"{key_host}.{domain}.", "TXT", search=False):
            fields = dict(part.split("=", 1) for part in b"".join(rdata.strings).decode().split(","))
            pieces[int(fields["p"])] = fields["d"]
        der = base64.b64decode("".join(pieces[n] for n in sorted(pieces)))
        return serialization.load_der_public_key(der)

    def signature_valid(self, query: str, template: dict) -> bool:
        signed, _, tail = query.partition("&sig=")
        extra = dict(urllib.parse.parse_qsl("sig=" + tail))
        try:
            key = self.public_key(extra["key"], template["syncPubKeyDomain"])
            key.verify(base64.b64decode(extra["sig"]), signed.encode(), padding.PKCS1v15(), hashes.SHA256())
        except (KeyError, InvalidSignature, ValueError, dns.exception.DNSException):
            return False
        return True

    def _apply(self, request: Request, provider_id: str, service_id: str) -> Response:
        template = self.templates.get((provider_id, service_id))
        if template is None:
            return Response("no such template", 404)
        query = request.query_string.decode()
        if template.get("syncPubKeyDomain") and not self.signature_valid(query, template):
            return Response("the request's signature is not valid", 403)
        params = dict(urllib.parse.parse_qsl(query.partition("&sig=")[0], keep_blank_values=True))
        if params.get("domain") not in self.zones:
            return Response("not your domain", 403)
        groups = params["groupId"].split(",") if params.get("groupId") else None
        for name, rtype, value in evaluate(template, params, groups):
            self.dns.set_record(name, rtype, value)
        self.applied.append(params)
        target = params.get("redirect_uri")
        if not target:
            return Response("applied; you may close this window")
        joiner = "&" if urllib.parse.urlsplit(target).query else "?"
        return Response("", 302, {"Location": f"{target}{joiner}{urllib.parse.urlencode({'state': params['state']})}"})


def evaluate(template: dict, params: dict[str, str], groups: list[str] | None) -> list[tuple[str, str, str]]:
    """The records applying ``template`` writes, by the spec's rules, as (name, TYPE, value)."""
    domain, host = params["domain"], params.get("host", "")
    fqdn = f"{host}.{domain}" if host else domain
    values = {**params, "domain": domain, "host": host, "fqdn": fqdn}

    def fill(text: t.Any) -> str:
        def one(match: re.Match) -> str:
            if match.group(1) not in values:
                raise KeyError(f"variable {match.group(1)} has no value")
            return values[match.group(1)]

        return re.sub(r"%([^%]+)%", one, str(text))

    out = []
    for record in template["records"]:
        if groups is not None and record.get("groupId") not in groups:
            continue
        name = fill(record["host"])
        if name in ("", "@"):
            name = fqdn
        elif name.endswith("."):
            name = name[:-1]
        else:
            name = f"{name}.{fqdn}"  # relative to the host and domain the template is applied at
        if record["type"] == "TXT":
            out.append((name, "TXT", fill(record["data"])))
        elif record["type"] == "SPFM":
            out.append((name, "TXT", f"v=spf1 {fill(record['spfRules'])} ~all"))
        else:
            target = fill(record["pointsTo"])
            target = fqdn if target in ("", "@") else target  # pointsTo is absolute
            if record["type"] == "MX":
                out.append((name, "MX", f"{record['priority']} {target}."))
            elif record["type"] == "CNAME":
                out.append((name, "CNAME", f"{target}."))
            else:
                out.append((name, record["type"], target))
    return out
