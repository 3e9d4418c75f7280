"""Domain Connect (domainconnect.org), the synchronous flow of a Service Provider (SPEC §12).

The user is sent to their own DNS provider with a signed link that names our template and the
values of its variables; they approve there, signed in, and come back. This module holds all of
it that is not Flask: the service template made from a ``campaign`` DNS template, the variables of
one sender domain, discovery of the domain's DNS provider, the template check, the signed apply
URL, the signing keys and the single-use ``state`` of a round trip.
"""
from __future__ import annotations

import base64
import contextvars
import ipaddress
import json
import os
import re
import secrets
import socket
import threading
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.exception
import dns.resolver
import requests
import requests.adapters
import urllib3
import urllib3.connection
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .senderdomains import templates
from .senderdomains.verify import VerificationCache
from .resolver import make_resolver

__all__ = [
    "ConnectError",
    "Discovery",
    "NotSupported",
    "StateStore",
    "TemplateIdentity",
    "Unreachable",
    "apply_template",
    "apply_url",
    "check_template",
    "discover",
    "ensure_keys",
    "identity_from",
    "load_private_key",
    "public_key_records",
    "same_records",
    "service_template",
    "sign",
    "variables_for",
]

KEY_BITS = 2048
TTL = 3600
STATE_TTL = 600  # seconds a round trip to the DNS provider may take
TRACKING_GROUP = "tracking"
RECORDS_GROUP = "records"

# The per-domain placeholders of a DNS template and the template variables they become. The
# others are the same for every domain (_TrackMerge_) or are Domain Connect's own (%fqdn%).
VARIABLES = {
    "_Subdomain_": "subdomain",
    "_TrackPrefix_": "trackprefix",
    "_SenderDomainRandom_": "ownerlabel",
    "_SenderDomainHash_": "ownertoken",
}
DESCRIPTIONS = {
    "subdomain": "the sending (return-path) label of the sender domain, e.g. sl",
    "trackprefix": "the tracking prefix of the sender domain, e.g. track",
    "ownerlabel": "the random label of the ownership record, issued by the service",
    "ownertoken": "the ownership token published at that label, an HMAC the service issued",
}
_TOKEN_RE = re.compile("|".join(map(re.escape, sorted(
    (*VARIABLES, "_SenderDomain_", "_TrackMerge_"), key=len, reverse=True))))
_DOMAIN_SUFFIX = "._SenderDomain_"
# The _domainconnect record names a host, possibly with a port (a provider may serve elsewhere).
_HOST_PORT = re.compile(r"((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?::(\d{1,5}))?")


class ConnectError(Exception):
    """Why the Domain Connect flow cannot go on; ``reason`` is one sentence for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotSupported(ConnectError):
    """The domain's DNS provider does not support Domain Connect, or not this template."""


class Unreachable(ConnectError):
    """The DNS provider (or DNS) could not be reached or answered with an error."""


# The service template -------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class TemplateIdentity:
    provider_id: str
    service_id: str
    key_domain: str  # syncPubKeyDomain
    provider_name: str = "Octeth"
    service_name: str = "Sender domain"
    redirect_domains: tuple[str, ...] = ()  # syncRedirectDomain


def identity_from(config: Mapping[str, Any], provider_name: str = "Octeth",
                  service_name: str = "Sender domain") -> TemplateIdentity:
    """The template's identity from the ``OCTETH_DOMAINCONNECT_*`` settings."""
    provider_id = config["OCTETH_DOMAINCONNECT_PROVIDER_ID"]
    return TemplateIdentity(
        provider_id=provider_id,
        service_id=config["OCTETH_DOMAINCONNECT_SERVICE_ID"],
        key_domain=config["OCTETH_DOMAINCONNECT_KEY_DOMAIN"] or provider_id,
        provider_name=provider_name,
        service_name=service_name,
        redirect_domains=tuple(config["OCTETH_DOMAINCONNECT_REDIRECT_DOMAINS"]),
    )


def _pattern(text: str, track_merge: str, *, host: bool) -> str:
    """A DNS template's host or value in Domain Connect's notation: per-domain placeholders become
    ``%variables%``, the sender domain ``%fqdn%`` (in values) and the literal parts of a host
    lower case, as DNS compares them."""
    out = []
    position = 0
    for match in _TOKEN_RE.finditer(text):
        literal = text[position:match.start()]
        out.append(literal.lower() if host else literal)
        token = match.group()
        if token in VARIABLES:
            out.append(f"%{VARIABLES[token]}%")
        elif token == "_TrackMerge_":
            out.append(track_merge.lower() if host else track_merge)
        else:
            out.append("%fqdn%")
        position = match.end()
    literal = text[position:]
    out.append(literal.lower() if host else literal)
    return "".join(out)


def _template_host(pattern: str, track_merge: str) -> str:
    # Template hosts are relative to the name the template is applied at, the sender domain.
    if pattern == "_SenderDomain_":
        return "@"
    if not pattern.endswith(_DOMAIN_SUFFIX) or "_SenderDomain_" in pattern[: -len(_DOMAIN_SUFFIX)]:
        raise templates.TemplateError(
            f"record {pattern!r}: Domain Connect applies a template under the sender domain, so every host"
            f" must end in {_DOMAIN_SUFFIX!r}")
    return _pattern(pattern[: -len(_DOMAIN_SUFFIX)], track_merge, host=True)


def _spf_rules(value: str) -> str | None:
    """The mechanisms of an SPF value between ``v=spf1`` and its ``all``; None if not SPF."""
    terms = value.split()
    if not terms or terms[0].lower() != "v=spf1":
        return None
    return " ".join(term for term in terms[1:] if term.lstrip("+-~?").lower() != "all")


def service_template(records: Mapping[str, Sequence[str]], identity: TemplateIdentity,
                     track_merge: str = "-") -> dict[str, Any]:
    """The Domain Connect template (the Domain-Connect/Templates format) of a ``campaign`` DNS
    template: one record per template record, in its order. The tracking record (the one whose
    host holds ``_TrackPrefix_``) is in a group of its own, so that a domain without a tracking
    host applies the other group only. Raises TemplateError for a record it cannot express."""
    out = []
    has_tracking = any("_TrackPrefix_" in pattern for pattern in records)
    host_required = False
    for pattern, (rtype, value) in records.items():
        host = _template_host(pattern, track_merge)
        record: dict[str, Any] = {"type": rtype, "host": host}
        if rtype == "TXT" and _spf_rules(value) is not None:
            # The Templates rules: SPF is merged by the DNS provider (SPFM), never a second TXT.
            record = {"type": "SPFM", "host": host, "spfRules": _pattern(_spf_rules(value), track_merge, host=False)}
        elif rtype == "TXT":
            record.update(data=_pattern(value, track_merge, host=False), ttl=TTL, txtConflictMatchingMode="None")
        elif rtype == "MX":
            priority, target = value.split()
            record.update(pointsTo=_pattern(target.rstrip("."), track_merge, host=False), ttl=TTL,
                          priority=int(priority))
        else:
            record.update(pointsTo=_pattern(value.rstrip("."), track_merge, host=False), ttl=TTL)
            host_required = host_required or (rtype == "CNAME" and host == "@")
        if has_tracking:
            record["groupId"] = TRACKING_GROUP if "_TrackPrefix_" in pattern else RECORDS_GROUP
        out.append(record)
    used = sorted({name for name in VARIABLES.values() for record in out
                   if any(f"%{name}%" in str(field) for field in record.values())})
    template: dict[str, Any] = {
        "providerId": identity.provider_id,
        "providerName": identity.provider_name,
        "serviceId": identity.service_id,
        "serviceName": identity.service_name,
        "version": 1,
        "description": "The DNS records of a sender domain of an Octeth email platform: return path, DKIM, "
                       "DMARC, tracking host and ownership record",
        "variableDescription": "; ".join(f"%{name}%: {DESCRIPTIONS[name]}" for name in used),
        "syncBlock": False,
        "syncPubKeyDomain": identity.key_domain,
    }
    if identity.redirect_domains:
        template["syncRedirectDomain"] = ",".join(identity.redirect_domains)
    if host_required:
        template["hostRequired"] = True
    template["records"] = out
    return template


# The variables of one sender domain -----------------------------------------------------------

def variables_for(records: Mapping[str, Sequence[str]], domain: str, options: Mapping[str, Any],
                  stored: Mapping[str, Sequence[Any]], settings: templates.TemplateSettings) -> dict[str, str]:
    """The template variables that make the DNS template ``records`` give the ``stored`` records of
    ``domain``: its labels from its options (as rendering takes them), and the ownership label
    and token read back from the stored record that carries them. Raises NotSupported when the
    stored records do not come from this template."""
    values = {
        "subdomain": options.get("CustomSubdomain") or settings.subdomain,
        "trackprefix": options.get("CustomTrackPrefix") or settings.track_prefix,
    }
    for pattern, (_rtype, value) in records.items():
        if "_SenderDomainRandom_" not in pattern and "_SenderDomainHash_" not in pattern + value:
            continue
        host_re = _matcher(pattern, domain, values, settings.track_merge)
        value_re = _matcher(value, domain, values, settings.track_merge, host=False)
        for host, record in stored.items():
            host_match = host_re.fullmatch(host.lower().rstrip("."))
            value_match = value_re.fullmatch(str(record[1]))
            if host_match and value_match:
                for match in (host_match, value_match):
                    for name, found in match.groupdict().items():
                        if found is not None:
                            values.setdefault(name, found)
                break
    wanted = {VARIABLES[token] for pattern, (_t, value) in records.items()
              for token in _TOKEN_RE.findall(pattern + value) if token in VARIABLES}
    missing = wanted - set(values)
    if missing:
        raise NotSupported("the DNS records of this sender domain are not those of the Domain Connect template")
    return {name: values[name] for name in sorted(wanted)}


def _matcher(text: str, domain: str, values: Mapping[str, str], track_merge: str, host: bool = True) -> re.Pattern:
    parts = []
    position = 0
    seen = set()
    for match in _TOKEN_RE.finditer(text):
        parts.append(re.escape(text[position:match.start()].lower() if host else text[position:match.start()]))
        token = match.group()
        name = VARIABLES.get(token)
        if token == "_SenderDomain_":
            parts.append(re.escape(domain))
        elif token == "_TrackMerge_":
            parts.append(re.escape(track_merge))
        elif name in values:
            parts.append(re.escape(values[name].lower() if host else values[name]))
        elif name in seen:
            parts.append(f"(?P={name})")
        else:
            seen.add(name)
            parts.append(f"(?P<{name}>[A-Za-z0-9_-]+)")
        position = match.end()
    parts.append(re.escape(text[position:].lower() if host else text[position:]))
    return re.compile("".join(parts))


def apply_template(template: Mapping[str, Any], domain: str, host: str | None, variables: Mapping[str, str],
                   groups: Sequence[str] | None = None) -> dict[str, list[str]]:
    """What applying ``template`` at ``host.domain`` with ``variables`` writes, as
    ``{name: [TYPE, value]}`` in the form the service stores records (absolute names, CNAME and
    MX targets with a trailing dot, SPFM as the SPF value it merges into an empty name)."""
    fqdn = f"{host}.{domain}" if host else domain
    builtins = {"host": host or "", "domain": domain, "fqdn": fqdn}

    def fill(text: Any) -> str:
        return re.sub(r"%([^%\s]+)%", lambda m: builtins.get(m.group(1), variables.get(m.group(1), m.group())),
                      str(text))

    out: dict[str, list[str]] = {}
    for record in template["records"]:
        if groups is not None and record.get("groupId") not in groups:
            continue
        name = fill(record["host"])
        name = fqdn if name in ("", "@") else name.rstrip(".") if name.endswith(".") else f"{name}.{fqdn}"
        rtype = record["type"]
        if rtype == "SPFM":
            value = f"v=spf1 {fill(record['spfRules'])} ~all"
            rtype = "TXT"
        elif rtype == "TXT":
            value = fill(record["data"])
        else:
            target = fill(record["pointsTo"])
            target = fqdn if target in ("", "@") else target
            value = f"{record['priority']} {target}." if rtype == "MX" else f"{target}." if rtype == "CNAME" else target
        out[name.lower()] = [rtype, value]
    return out


def same_records(applied: Mapping[str, Sequence[Any]], stored: Mapping[str, Sequence[Any]]) -> bool:
    """Whether two record sets are the same DNS data (names and targets compared as DNS does,
    an SPF value by its mechanisms, as verification compares it)."""
    def canonical(records: Mapping[str, Sequence[Any]]) -> set[tuple[str, str, str]]:
        out = set()
        for name, record in records.items():
            rtype, value = str(record[0]).upper(), str(record[1])
            if rtype in ("CNAME", "MX"):
                value = value.rstrip(".").lower()
            elif rtype == "TXT" and _spf_rules(value) is not None:
                value = "spf:" + " ".join(sorted(_spf_rules(value).lower().split()))
            out.add((name.rstrip(".").lower(), rtype, value))
        return out

    return canonical(applied) == canonical(stored)


# Discovery --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Discovery:
    zone: str
    provider_id: str
    provider_name: str
    url_sync_ux: str
    url_api: str




def _https_url(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 2000 or not value.isascii() or not value.isprintable() or (
            " " in value):  # the user's browser is sent there, and a page shows it
        return None
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme != "https" or not parsed.hostname or parsed.query or parsed.fragment:
        return None
    return value.rstrip("/")


def _refuse_private(url: str, what: str) -> None:
    """The host of a Domain Connect URL comes from the domain's own DNS, which its owner controls:
    it must not be able to make the service call an address inside its network. (A name that
    resolves differently a moment later is not caught here; the requests are GETs of fixed paths
    whose answers are only read for a few fields.)"""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        raise Unreachable(f"{what} could not be found ({host} does not resolve)") from None
    for address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            raise NotSupported(f"{what} is at a private address ({address}), which this service does not call")


#: The most of an answer read from a Domain Connect host. Settings and a template's status are a
#: few hundred bytes; the host is named by the domain's own DNS, so its owner may serve anything.
MAX_ANSWER_BYTES = 64 * 1024


class _Deadline:
    """One whole exchange's time. requests' timeout bounds each read of the socket, not the
    answer: a host sending a byte of its headers or body every few seconds would hold the
    request's thread for ever. When the time is up the exchange's sockets are shut down, which
    ends the read that waits on them, wherever it is (connection, TLS, headers, body).

    Each socket is watched through a duplicate of its descriptor: TLS takes the socket over (the
    object urllib3 made is detached), and the duplicate keeps the number ours until the exchange
    ends, so that a late timer never shuts down a socket the number was given to since."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._watched: list[socket.socket] = []
        self._done = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            duplicate = sock.dup()
            self._watched.append(duplicate)
            if self.expired:
                self._shut(duplicate)

    def _cut(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for sock in self._watched:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # the other end closed it already
            pass

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()
        with self._lock:
            self._done = True
            for sock in self._watched:
                sock.close()


#: The deadline of the exchange running in this thread, which its connections report to.
_DEADLINE: contextvars.ContextVar[_Deadline | None] = contextvars.ContextVar("octeth_dc_deadline", default=None)


class _WatchedConnection(urllib3.connection.HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        deadline = _DEADLINE.get()
        if deadline is not None:
            deadline.watch(sock)
        return sock


class _WatchedPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, its HTTPS connections reporting their sockets to the deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {**self.poolmanager.pool_classes_by_scheme, "https": _WatchedPool}


def _get(session: requests.Session, url: str, timeout: float, what: str,
         allow_private: bool = False) -> requests.Response:
    """The answer to a GET of ``url`` (https), read whole within ``timeout`` seconds
    (:class:`_Deadline`) and :data:`MAX_ANSWER_BYTES`."""
    if not allow_private:
        _refuse_private(url, what)
    session.mount("https://", _WatchedAdapter())
    deadline = _Deadline(timeout)
    token = _DEADLINE.set(deadline)
    try:
        with deadline:
            # Never followed: the address asked is the one DNS named, nothing the answer points to.
            response = session.get(url, timeout=timeout, allow_redirects=False, stream=True,
                                   headers={"Accept": "application/json"})
            with response:
                body = bytearray()
                # read1: what has arrived (iter_content would wait for each whole chunk).
                while chunk := response.raw.read1(8192, decode_content=True):
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        raise NotSupported(f"{what} answered more than {MAX_ANSWER_BYTES // 1024} KiB")
                if deadline.expired:  # a socket shut mid-answer may read as an answer that ended
                    raise requests.Timeout()
                response._content = bytes(body)  # what .json() and .text read
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
        raise Unreachable(f"{what} {_failure(error, timeout, deadline.expired)}") from None
    finally:
        _DEADLINE.reset(token)
    return response


def _failure(error: Exception, timeout: float, expired: bool) -> str:
    if expired or isinstance(error, (requests.Timeout, urllib3.exceptions.TimeoutError)):
        return f"did not answer within {timeout:g} seconds"
    if isinstance(error, requests.exceptions.SSLError):
        return "did not present a valid HTTPS certificate"
    if isinstance(error, requests.ConnectionError) and not isinstance(error.__context__, urllib3.exceptions.ProtocolError):
        return "could not be reached (no connection to it)"
    return "could not be reached (its answer could not be read)"  # cut short, undecodable, TLS broken


def _shown_text(value: Any, limit: int = 100) -> str:
    """A provider's name as a page and a log line may show it: text only (a number or a list is
    no name), printable, no lone surrogates (which no page can encode), at most ``limit``."""
    if not isinstance(value, str):
        return ""
    text = " ".join("".join(char if char.isprintable() else " " for char in
                            value.encode("utf-8", "replace").decode("utf-8")).split())
    return text[:limit - 1].rstrip() + "…" if len(text) > limit else text


def discover(zone: str, servers: Sequence[tuple[str, int]] | None, dns_timeout: float,
             http_timeout: float, session: requests.Session | None = None, allow_private: bool = False) -> Discovery:
    """Find the Domain Connect settings of ``zone``'s DNS provider: the ``_domainconnect`` TXT
    record of the zone, then ``GET https://<that host>/v2/<zone>/settings``."""
    try:
        answer = make_resolver(servers, dns_timeout).resolve(f"_domainconnect.{zone}.", "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        raise NotSupported(f"the DNS provider of {zone} does not support Domain Connect "
                           f"(no _domainconnect record in the zone)") from None
    except dns.exception.DNSException as error:
        reason = "no DNS server answered in time" if isinstance(error, dns.exception.Timeout) else (
            "the DNS servers answered with an error")
        raise Unreachable(f"the _domainconnect record of {zone} could not be looked up ({reason})") from None
    text = b"".join(next(iter(answer)).strings).decode("ascii", "replace").strip().lower().rstrip(".")
    match = _HOST_PORT.fullmatch(text)
    if match is None or len(match.group(1)) > 253 or (match.group(2) and not 0 < int(match.group(2)) < 65536):
        raise NotSupported(f"the _domainconnect record of {zone} does not name a host")
    session = session or requests.Session()
    what = f"the Domain Connect service of {zone} ({text})"
    response = _get(session, f"https://{text}/v2/{zone}/settings", http_timeout, what, allow_private)
    if response.status_code == 404:
        raise NotSupported(f"{what} does not hold the zone {zone}")
    if response.status_code != 200:
        raise Unreachable(f"{what} answered HTTP {response.status_code}")
    try:
        settings = response.json()
    except ValueError:
        settings = None
    if not isinstance(settings, dict):
        raise NotSupported(f"{what} did not answer with Domain Connect settings")
    url_api, url_sync_ux = _https_url(settings.get("urlAPI")), _https_url(settings.get("urlSyncUX"))
    if url_api is None:
        raise NotSupported(f"{what} names no API (urlAPI)")
    if url_sync_ux is None:
        raise NotSupported(f"{what} does not offer the synchronous flow (urlSyncUX)")
    name = next(filter(None, map(_shown_text, (
        settings.get("providerDisplayName"), settings.get("providerName"), settings.get("providerId")))), text)
    return Discovery(zone, _shown_text(settings.get("providerId"), 253), name, url_sync_ux, url_api)


def check_template(found: Discovery, provider_id: str, service_id: str, timeout: float,
                   session: requests.Session | None = None, allow_private: bool = False) -> None:
    """Raise NotSupported unless the DNS provider has our template (200 on the template's URL)."""
    url = (f"{found.url_api}/v2/domainTemplates/providers/{urllib.parse.quote(provider_id, safe='')}"
           f"/services/{urllib.parse.quote(service_id, safe='')}")
    response = _get(session or requests.Session(), url, timeout, f"the Domain Connect API of {found.provider_name}",
                    allow_private)
    if response.status_code == 404:
        raise NotSupported(f"{found.provider_name} does not support this service's Domain Connect template "
                           f"({provider_id}/{service_id}) yet")
    if not 200 <= response.status_code < 300:
        raise Unreachable(f"the Domain Connect API of {found.provider_name} answered HTTP {response.status_code}")


# The signed apply URL ---------------------------------------------------------------------------

def sign(query: str, private_key: rsa.RSAPrivateKey) -> str:
    """The ``sig`` of a query string: RSA-SHA256, PKCS#1 v1.5, base64, as the reference client."""
    signature = private_key.sign(query.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def apply_url(found: Discovery, provider_id: str, service_id: str, host: str | None,
              variables: Mapping[str, str], redirect_uri: str, state: str, key_host: str,
              private_key: rsa.RSAPrivateKey, groups: Sequence[str] | None = None) -> str:
    """``<urlSyncUX>/v2/domainTemplates/providers/<id>/services/<id>/apply?<query>&sig=..&key=..``,
    the query sorted by name and url-encoded, the signature over exactly that query."""
    params = {"domain": found.zone, **variables, "redirect_uri": redirect_uri, "state": state}
    if host:
        params["host"] = host
    if groups is not None:
        params["groupId"] = ",".join(groups)
    query = urllib.parse.urlencode(sorted(params.items()))
    signed = urllib.parse.urlencode({"sig": sign(query, private_key), "key": key_host})
    return (f"{found.url_sync_ux}/v2/domainTemplates/providers/{urllib.parse.quote(provider_id, safe='')}"
            f"/services/{urllib.parse.quote(service_id, safe='')}/apply?{query}&{signed}")


# Keys -------------------------------------------------------------------------------------------

def load_private_key(path: str | os.PathLike) -> rsa.RSAPrivateKey:
    """The signing key at ``path``; ConnectError when it is missing or not an RSA key."""
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError:
        raise ConnectError(f"no Domain Connect signing key at {path}: run `octeth-domains domainconnect keys`") from None
    except (ValueError, TypeError):
        raise ConnectError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConnectError(f"{path} is not an RSA key")
    return key


def ensure_keys(path: str | os.PathLike) -> tuple[rsa.RSAPrivateKey, bool]:
    """The key pair at ``path``, made (2048 bits, file mode 0600) when there is none; returns
    (key, whether it was made now). An existing key is kept: its public half is already published."""
    path = Path(path)
    if path.exists():
        return load_private_key(path), False
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created with its final mode, never readable by others even for a moment.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return key, True


def public_key_records(public_key: rsa.RSAPublicKey, piece: int = 200) -> list[str]:
    """The TXT strings that publish ``public_key`` (``p=<n>,a=RS256,d=<base64 DER piece>``), each
    short enough for one TXT string."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    data = base64.b64encode(der).decode("ascii")
    return [f"p={number},a=RS256,d={data[start:start + piece]}"
            for number, start in enumerate(range(0, len(data), piece), start=1)]


# The state of one round trip ------------------------------------------------------------------

class StateStore(VerificationCache):
    """Single-use ``state`` values of the return from the DNS provider, ten minutes each, in Redis
    (shared by every worker) or in process memory: the verification cache's two stores, with a
    ``take`` that reads and removes at once so that a state works one time only."""

    def issue(self, value: Mapping[str, Any], ttl: float = STATE_TTL) -> str:
        state = secrets.token_urlsafe(24)
        self.set(state, dict(value), ttl=ttl)
        return state

    def take(self, state: str) -> Any | None:
        if not state or len(state) > 128:
            return None
        if self.client is None:
            with self._lock:
                expires, raw = self._memory.pop(state, (0.0, None))
            return json.loads(raw) if raw is not None and expires > time.monotonic() else None
        raw = self._redis(lambda client: client.getdel(self.prefix + state))
        return None if raw is None else json.loads(raw)
