"""Live DNS probing of a sender domain's records, and the short-lived cache
of its outcome (SPEC §5 "verify", §10 "Verification that explains itself").

Every record is asked of the zone's own (authoritative) servers when they
can be found, all of them in parallel, and of the configured resolver
otherwise. Each result says whether the record passed, whether the answer
is definite (only a server saying the record is absent or different may
demote a domain), and why: the ``reason`` of SPEC §10, what was found, a
hint a person can follow, and which kind of server answered.

All lookups of one probe run at once on one event loop, within one
deadline (``timeout``): half of it for the authoritative path (finding the
zone included), the rest for the resolver when that path gave no answer.
Extra lookups that tell one failure from another (the record at
``<host>.<zone>``, other data at the name, the zone's NS) run only for
records that failed, in parallel with each other.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
import struct
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import redis
from publicsuffixlist import PublicSuffixList

from . import hints, spf
from .templates import RECORD_TYPES

__all__ = [
    "RecordOutcome",
    "VerificationCache",
    "ZoneCache",
    "cache_key",
    "probe",
    "txt_matches",
]

log = logging.getLogger(__name__)

_SUPPORTED = RECORD_TYPES  # what a template can make is what a probe can check
AUTHORITATIVE, RESOLVER = "authoritative", "resolver"
# Reasons that are definite failures; the others (inconsistent, timeout,
# servfail) never demote a domain.
DEFINITE = frozenset({"missing", "wrong_value", "zone_appended", "proxied", "conflict", "split_txt"})
ZONE_TTL_CAP = 3600
_MAX_CHAIN = 8


@dataclass(frozen=True)
class RecordOutcome:
    """The result of probing one record.

    ``definite`` is true when the answer can be trusted: a pass, or a
    server saying the record is absent or different. A timeout or a server
    failure is ``passed=False, definite=False``. Two outcomes are equal when
    these two are; the rest explains them.
    """

    passed: bool
    definite: bool
    reason: str = field(default="ok", compare=False)
    found: tuple[str, ...] = field(default=(), compare=False)
    hint: str | None = field(default=None, compare=False)
    source: str = field(default=RESOLVER, compare=False)


def _outcome(reason: str, found: Sequence[str], hint: str | None, source: str) -> RecordOutcome:
    passed = reason == "ok"
    return RecordOutcome(passed, passed or reason in DEFINITE, reason, tuple(found), hint, source)


# Comparing ------------------------------------------------------------------------------------

def _name(text: str) -> str:
    return text.rstrip(".").lower()


def txt_matches(expected: str, found: Sequence[str]) -> bool:
    """Whether the TXT strings at a name (each record's segments joined) hold ``expected``.

    The one place TXT values are compared. An SPF value passes by mechanism: a record the user
    merged ours into passes, two SPF records at the name do not.
    """
    if spf.is_spf(expected):
        return spf.matches(expected, found)
    return expected in found


def _matches(rtype: str, expected: str, found: Sequence[str]) -> bool:
    if rtype == "TXT":
        return txt_matches(expected, found)
    if rtype in ("CNAME", "MX"):
        # MX as a template writes it for the providers ("10 mx.example."): the host is compared.
        parts = expected.split()
        wanted = _name(parts[-1]) if parts else ""
        return wanted != "" and wanted in {_name(value) for value in found}
    import ipaddress

    try:
        wanted_address = ipaddress.ip_address(expected)
    except ValueError:
        return False
    return wanted_address in {ipaddress.ip_address(value) for value in found}


def _split_txt(expected: str, found: Sequence[str]) -> bool:
    """The value is there only split over several TXT records, or wrapped in quotes or spaces."""
    if any(value.strip().strip('"').strip() == expected for value in found):
        return True
    if 1 < len(found) <= 5:
        return any("".join(order) == expected for order in itertools.permutations(found))
    return False


_SUFFIXES = PublicSuffixList()  # the list shipped inside the package: nothing is fetched


def registered_domain(domain: str) -> str:
    name = domain.rstrip(".").lower()
    return _SUFFIXES.privatesuffix(name) or name


# Asking servers -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reply:
    """One server's answer for one name and type: ``status`` is ``answer``
    (NOERROR), ``nxdomain``, ``servfail`` (an error rcode) or ``timeout``
    (no answer at all)."""

    status: str
    values: tuple[str, ...] = ()
    cname: str | None = None  # the CNAME at the name asked, when the answer shows one
    message: dns.message.Message | None = field(default=None, compare=False)

    @property
    def answered(self) -> bool:
        return self.status in ("answer", "nxdomain")

    @property
    def shape(self) -> tuple[bool, frozenset[str]]:
        # What two servers must share to agree: the name's existence counts only through its data.
        return (bool(self.values) or self.cname is not None, frozenset(_name(v) if v.endswith(".") else v
                                                                        for v in self.values))


_TIMEOUT = Reply("timeout")
_SERVFAIL = Reply("servfail")


def _value_text(rtype: str, rdata: Any) -> str:
    if rtype == "CNAME":
        return rdata.target.to_text()
    if rtype == "MX":
        return rdata.exchange.to_text()
    if rtype == "TXT":
        return b"".join(rdata.strings).decode("utf-8", "replace")
    if rtype == "NS":
        return rdata.target.to_text()
    return rdata.to_text()


def _read(message: dns.message.Message, qname: dns.name.Name, rtype: str) -> Reply:
    rcode = message.rcode()
    # An error, or an answer still cut short over TCP: nothing to judge by, not a "missing" record.
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN) or message.flags & dns.flags.TC:
        return Reply("servfail", message=message)
    wanted = dns.rdatatype.from_text(rtype)
    name, cname, values = qname, None, ()
    for _ in range(_MAX_CHAIN):
        rrset = message.get_rrset(message.answer, name, dns.rdataclass.IN, wanted)
        if rrset is not None:
            values = tuple(_value_text(rtype, rdata) for rdata in rrset)
            break
        alias = message.get_rrset(message.answer, name, dns.rdataclass.IN, dns.rdatatype.CNAME)
        if alias is None:
            break
        target = alias[0].target
        if name == qname:
            cname = target.to_text()
        name = target
    if not values and cname is None and any(rrset.name != qname for rrset in message.answer):
        # Records about another name only: a broken server's answer, not proof the record is absent.
        return Reply("servfail", message=message)
    status = "nxdomain" if rcode == dns.rcode.NXDOMAIN else "answer"
    return Reply(status, values, cname, message)


#: The EDNS payload asked for: the size of a UDP answer that is not fragmented on common paths.
_PAYLOAD = 1232
_HEADER = struct.Struct("!HHHHHH")  # RFC 1035 §4.1.1: id, flags, one question, no answers, one OPT
_QUESTION = struct.Struct("!HH")
# RFC 6891 §6.1.2: the OPT record of EDNS version 0 with no options, the payload in its class.
_OPT = struct.pack("!BHHIH", 0, dns.rdatatype.OPT, _PAYLOAD, 0, 0)


class _Query(dns.message.QueryMessage):
    """One question with EDNS, which is every query a probe sends, rendered in one step.

    ``Message.to_wire`` goes through a renderer that builds and hashes a name for every suffix
    of the question's name, for a compression table one name never uses: a fifth of a lookup's
    CPU (65 µs of a query's ~300 on the bench machine). The wire form is the same bytes
    (tests/test_verify.py compares it with ``make_query``'s); dnspython still sends it, reads the
    answer and matches it to this query."""

    def to_wire(self, origin: Any = None, max_size: int = 0, multi: bool = False, tsig_ctx: Any = None,
                prepend_length: bool = False, prefer_truncation: bool = False, **kw: Any) -> bytes:
        (question,) = self.question
        wire = (_HEADER.pack(self.id, self.flags, 1, 0, 0, 1) + question.name.to_wire()
                + _QUESTION.pack(question.rdtype, question.rdclass) + _OPT)
        return len(wire).to_bytes(2, "big") + wire if prepend_length else wire


def make_query(qname: dns.name.Name, rtype: str, recursion: bool) -> _Query:
    """What ``dns.message.make_query(qname, rtype, use_edns=0, payload=1232)`` makes, RD unset
    unless ``recursion``."""
    query = _Query()
    query.flags = dns.flags.RD if recursion else 0
    query.find_rrset(query.question, qname, dns.rdataclass.IN, dns.rdatatype.from_text(rtype), create=True,
                     force_unique=True)
    query.use_edns(0, 0, _PAYLOAD)
    return query


async def _ask(server: tuple[str, int], qname: dns.name.Name, rtype: str, timeout: float,
               recursion: bool) -> Reply:
    """One query to one server: UDP, then TCP when the answer was truncated."""
    if timeout <= 0:
        return _TIMEOUT
    query = make_query(qname, rtype, recursion)
    host, port = server
    started = time.monotonic()
    try:
        response = await dns.asyncquery.udp(query, host, timeout=timeout, port=port, ignore_unexpected=True)
        if response.flags & dns.flags.TC:
            left = timeout - (time.monotonic() - started)
            if left <= 0:
                return _TIMEOUT
            response = await dns.asyncquery.tcp(query, host, timeout=left, port=port)
    except dns.exception.Timeout:
        return _TIMEOUT
    except (OSError, EOFError, dns.exception.DNSException) as error:
        log.info("DNS query %s %s to %s:%s failed: %s", qname, rtype, host, port, error)
        return _TIMEOUT
    return _read(response, qname, rtype)


class _Resolver:
    """The configured resolver: servers in order, each with a share of the time, the next one
    asked when a server fails; a lone server gets a second try."""

    def __init__(self, servers: Sequence[tuple[str, int]]) -> None:
        self.servers = list(servers)

    async def ask(self, qname: dns.name.Name, rtype: str, deadline: float) -> Reply:
        if not self.servers:
            return _TIMEOUT
        tries = self.servers if len(self.servers) > 1 else self.servers * 2
        share = max(0.0, deadline - time.monotonic()) / len(tries)
        worst = _TIMEOUT
        for index, server in enumerate(tries):
            left = deadline - time.monotonic()
            reply = await _ask(server, qname, rtype, left if index == len(tries) - 1 else min(share, left), True)
            if reply.answered:
                return reply
            if reply.status == "servfail":
                worst = reply
        return worst


def _system_servers() -> list[tuple[str, int]]:
    try:
        resolver = dns.resolver.get_default_resolver()
    except dns.resolver.NoResolverConfiguration as error:
        log.warning("No DNS resolver configured, cannot verify: %s", error)
        return []
    return [(str(getattr(ns, "address", ns)), int(getattr(ns, "port", 53))) for ns in resolver.nameservers]


# Zones and their servers ------------------------------------------------------------------------

@dataclass(frozen=True)
class Zone:
    name: str  # with its trailing dot
    ns_names: tuple[str, ...]
    addresses: tuple[str, ...]


class ZoneCache:
    """Which zone a host is in, and each zone's authoritative servers, kept for their TTL (at
    most an hour). Shared by the probes of one process."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self.max_entries = max_entries
        self._hosts: dict[str, tuple[float, str | None]] = {}
        self._zones: dict[str, tuple[float, Zone | None]] = {}
        self._lock = threading.Lock()

    def _get(self, table: dict, key: str) -> tuple[bool, Any]:
        with self._lock:
            entry = table.get(key)
            if entry is None:
                return False, None
            if entry[0] <= time.monotonic():
                del table[key]
                return False, None
            return True, entry[1]

    def _put(self, table: dict, key: str, value: Any, ttl: float) -> None:
        with self._lock:
            if len(table) >= self.max_entries:
                table.clear()  # rare, and cheaper than an LRU for what is one lookup to redo
            table[key] = (time.monotonic() + max(1.0, min(ttl, ZONE_TTL_CAP)), value)

    def zone_of(self, host: str) -> tuple[bool, str | None]:
        return self._get(self._hosts, host)

    def remember_host(self, host: str, zone: str | None, ttl: float) -> None:
        self._put(self._hosts, host, zone, ttl)

    def servers(self, zone: str) -> tuple[bool, Zone | None]:
        return self._get(self._zones, zone)

    def enclosing(self, host: str) -> Zone | None:
        """The nearest zone above ``host`` (the root excluded) whose servers are known: where a
        resolver would start, so that a new name in a known zone costs no discovery. The zone's
        answer tells whether the name is really in it (see ``_delegated``)."""
        name = host.rstrip(".").lower()
        while "." in name:
            name = name.split(".", 1)[1]
            ok, zone = self._get(self._zones, name + ".")
            if ok and zone is not None and zone.addresses:
                return zone
        return None

    def remember_zone(self, zone: str, found: Zone | None, ttl: float) -> None:
        self._put(self._zones, zone, found, ttl)


async def _find_zone(resolver: _Resolver, host: str, deadline: float) -> tuple[str | None, float]:
    """The zone ``host`` is in: the nearest name upwards with an SOA, through the resolver; a
    negative answer's authority SOA names it at once. (None, ttl) when there is none."""
    name = dns.name.from_text(host)
    while name != dns.name.root:
        reply = await resolver.ask(name, "SOA", deadline)
        if not reply.answered:
            return None, 0.0
        message = reply.message
        soa = message.get_rrset(message.answer, name, dns.rdataclass.IN, dns.rdatatype.SOA)
        if soa is not None:
            return name.to_text(), float(soa.ttl)
        for rrset in message.authority:
            if rrset.rdtype == dns.rdatatype.SOA and name.is_subdomain(rrset.name) and reply.cname is None:
                return rrset.name.to_text(), float(rrset.ttl)
        name = name.parent()
    return None, 60.0


async def _find_servers(resolver: _Resolver, zone: str, deadline: float) -> tuple[Zone | None, float]:
    """The zone's NS names and their addresses (glue first, else asked), through the resolver:
    a server's IPv4 addresses, or its IPv6 ones when it has no IPv4 address (asking both of
    one server would double its queries for the same answer)."""
    qname = dns.name.from_text(zone)
    reply = await resolver.ask(qname, "NS", deadline)
    if reply.status != "answer" or not reply.values:
        return None, 60.0
    message = reply.message
    ns_rrset = message.get_rrset(message.answer, qname, dns.rdataclass.IN, dns.rdatatype.NS)
    ttl = float(ns_rrset.ttl) if ns_rrset is not None else 300.0
    names = tuple(sorted({value.lower() for value in reply.values}))
    glue: dict[tuple[str, str], list[str]] = {}
    for rrset in message.additional:
        if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            key = (rrset.name.to_text().lower(), dns.rdatatype.to_text(rrset.rdtype))
            glue.setdefault(key, []).extend(r.address for r in rrset)

    async def addresses(ns: str) -> list[str]:
        for family in ("A", "AAAA"):
            found = glue.get((ns, family)) or (await resolver.ask(dns.name.from_text(ns), family, deadline)).values
            if found:
                return list(found)
        return []

    found = await asyncio.gather(*(addresses(ns) for ns in names))
    return Zone(zone, names, tuple(dict.fromkeys(address for each in found for address in each))), ttl


# Probing ----------------------------------------------------------------------------------------

@dataclass
class _Context:
    resolver: _Resolver
    port: int
    deadline: float
    auth_deadline: float
    zones: dict[str, Zone | None]  # host -> its zone, when authoritative lookups are on
    domain: str | None
    cache: ZoneCache | None = None
    # Hosts whose zone is the nearest known zone above them, not yet confirmed by its servers.
    guessed: set[str] = field(default_factory=set)

    def zone_name(self, host: str) -> str | None:
        zone = self.zones.get(host)
        if zone is not None:
            return zone.name
        # Not found: most providers hold a domain in a zone named after its registered domain.
        return (registered_domain(self.domain) + ".") if self.domain else None


async def _ask_zone(zone: Zone, port: int, qname: dns.name.Name, rtype: str, deadline: float) -> list[Reply]:
    timeout = deadline - time.monotonic()
    return list(await asyncio.gather(*(_ask((address, port), qname, rtype, timeout, False)
                                       for address in zone.addresses)))


async def _ask_source(ctx: _Context, host: str, source: str, qname: dns.name.Name, rtype: str) -> Reply:
    """One extra lookup from the same kind of server that answered the record."""
    zone = ctx.zones.get(host)
    if source == AUTHORITATIVE and zone is not None:
        replies = await _ask_zone(zone, ctx.port, qname, rtype, ctx.deadline)
        return next((reply for reply in replies if reply.answered), _TIMEOUT)
    return await ctx.resolver.ask(qname, rtype, ctx.deadline)


async def _explain(ctx: _Context, host: str, rtype: str, value: str, reply: Reply, source: str) -> RecordOutcome:
    """Why the record failed, from the answer and the extra lookups it calls for."""
    found = list(reply.values)
    zone = ctx.zone_name(host)
    relative = hints.relative(host, zone)
    qname = dns.name.from_text(host)
    appended = None
    if zone and not host.rstrip(".").endswith("." + zone.rstrip(".") + "." + zone.rstrip(".")):
        try:
            appended = dns.name.from_text(host.rstrip(".") + "." + zone)
        except dns.exception.DNSException:
            appended = None  # too long to exist

    if rtype == "CNAME":
        if found:
            return _outcome("wrong_value", found, hints.wrong_value(relative, rtype, value, found), source)
        extra: dict[str, Any] = {}
        lookups = {}
        if appended is not None:
            lookups["appended"] = _ask_source(ctx, host, source, appended, "CNAME")
        if reply.status == "answer":  # the name exists: with what?
            for other in ("A", "AAAA", "TXT", "MX"):
                lookups[other] = _ask_source(ctx, host, source, qname, other)
            known = ctx.zones.get(host)
            if known is None and zone:
                lookups["NS"] = ctx.resolver.ask(dns.name.from_text(zone), "NS", ctx.deadline)
        results = await asyncio.gather(*lookups.values())
        extra = dict(zip(lookups, results))
        if "appended" in extra and _matches(rtype, value, extra["appended"].values):
            return _outcome("zone_appended", found, hints.zone_appended(relative, host), source)
        addresses = [*extra.get("A", _TIMEOUT).values, *extra.get("AAAA", _TIMEOUT).values]
        ns_names = ctx.zones[host].ns_names if ctx.zones.get(host) else extra.get("NS", _TIMEOUT).values
        if addresses and ns_names and all(_name(ns).endswith(".ns.cloudflare.com") for ns in ns_names):
            return _outcome("proxied", found, hints.proxied(relative, value), source)
        others = {kind: extra[kind].values for kind in ("A", "AAAA", "TXT", "MX") if kind in extra and extra[kind].values}
        if others:
            return _outcome("conflict", found, hints.conflict_beside(relative, others), source)
        return _outcome("missing", found, hints.missing(relative, host, rtype, value), source)

    if reply.cname is not None:
        return _outcome("conflict", found, hints.conflict_alias(relative, rtype, reply.cname), source)
    if rtype == "TXT" and found and _split_txt(value, found):
        return _outcome("split_txt", found, hints.split_txt(relative), source)
    if found:
        return _outcome("wrong_value", found, hints.wrong_value(relative, rtype, value, found), source)
    if appended is not None:
        elsewhere = await _ask_source(ctx, host, source, appended, rtype)
        if _matches(rtype, value, elsewhere.values):
            return _outcome("zone_appended", found, hints.zone_appended(relative, host), source)
    return _outcome("missing", found, hints.missing(relative, host, rtype, value), source)


def _transient(reply: Reply, source: str) -> RecordOutcome:
    reason = "servfail" if reply.status == "servfail" else "timeout"
    return _outcome(reason, [], hints.transient(reason), source)


def _delegated(reply: Reply) -> bool:
    """An answer that is not the asking server's own data (no AA flag): a referral to a zone cut
    below the zone asked, or a server that does not hold the zone."""
    return reply.message is not None and not reply.message.flags & dns.flags.AA


async def _check(ctx: _Context, host: str, qname: dns.name.Name, rtype: str, value: str) -> RecordOutcome:
    zone = ctx.zones.get(host)
    if zone is not None and zone.addresses:
        replies = [reply for reply in await _ask_zone(zone, ctx.port, qname, rtype, ctx.auth_deadline)
                   if reply.answered]
        if host in ctx.guessed:
            ctx.guessed.discard(host)
            if any(_delegated(reply) for reply in replies) and ctx.cache is not None:
                # The name is in a zone of its own below the guessed one: find it as for a new name.
                del ctx.zones[host]
                await _discover(ctx, [host], ctx.cache, guess=False)
                return await _check(ctx, host, qname, rtype, value)
        if replies:
            verdicts = {_matches(rtype, value, reply.values) for reply in replies}
            if verdicts == {True}:
                return _outcome("ok", replies[0].values, None, AUTHORITATIVE)
            if len(verdicts) > 1 or len({reply.shape for reply in replies}) > 1:
                found = list(dict.fromkeys(v for reply in replies for v in reply.values))
                return _outcome("inconsistent", found, hints.inconsistent(hints.relative(host, zone.name)),
                                AUTHORITATIVE)
            return await _explain(ctx, host, rtype, value, replies[0], AUTHORITATIVE)
    reply = await ctx.resolver.ask(qname, rtype, ctx.deadline)
    if not reply.answered:
        return _transient(reply, RESOLVER)
    if _matches(rtype, value, reply.values):
        return _outcome("ok", reply.values, None, RESOLVER)
    return await _explain(ctx, host, rtype, value, reply, RESOLVER)


async def _discover(ctx: _Context, hosts: Sequence[str], cache: ZoneCache, guess: bool = True) -> None:
    """Fill ``ctx.zones`` for ``hosts``: from the cache, else the nearest known zone above the
    host (``guess``; checked by its servers' answer), else found through the resolver."""
    unknown = []
    for host in hosts:
        known, zone = cache.zone_of(host)
        if not known and guess:
            enclosing = cache.enclosing(host)
            if enclosing is not None:
                ctx.zones[host] = enclosing
                ctx.guessed.add(host)
                continue
        if known:
            ctx.zones[host] = None
            if zone is not None:
                ok, servers = cache.servers(zone)
                if ok:
                    ctx.zones[host] = servers
                    continue
                unknown.append((host, zone))
                continue
            continue
        unknown.append((host, None))
    if not unknown:
        return
    to_find = [host for host, zone in unknown if zone is None]
    found = await asyncio.gather(*(_find_zone(ctx.resolver, host, ctx.auth_deadline) for host in to_find))
    zone_of = {host: zone for host, zone in unknown if zone is not None}
    for host, (zone, ttl) in zip(to_find, found):
        zone_of[host] = zone
        if zone is not None or ttl:
            cache.remember_host(host, zone, ttl or 60.0)
    names = sorted({zone for zone in zone_of.values() if zone is not None and zone != "."})
    servers: dict[str, Zone | None] = {}
    missing = []
    for zone in names:
        ok, known = cache.servers(zone)
        if ok:
            servers[zone] = known
        else:
            missing.append(zone)
    for zone, (known, ttl) in zip(missing, await asyncio.gather(
            *(_find_servers(ctx.resolver, zone, ctx.auth_deadline) for zone in missing))):
        servers[zone] = known
        if known is not None and known.addresses:
            cache.remember_zone(zone, known, ttl)
    for host, zone in zone_of.items():
        ctx.zones[host] = servers.get(zone) if zone else None


async def _probe(records: Mapping[str, Sequence[Any]], names: Mapping[str, dns.name.Name], resolver: _Resolver,
                 timeout: float, authoritative: bool, port: int, zones: ZoneCache | None, domain: str | None
                 ) -> dict[str, RecordOutcome]:
    started = time.monotonic()
    ctx = _Context(resolver, port, started + timeout, started + (timeout / 2 if authoritative else 0), {}, domain,
                   zones)
    hosts = list(records)
    if authoritative and zones is not None:
        await _discover(ctx, hosts, zones)
    tasks = {host: asyncio.ensure_future(_check(ctx, host, names[host], str(records[host][0]).upper(),
                                                str(records[host][1])))
             for host in hosts}
    done, _ = await asyncio.wait(tasks.values(), timeout=max(0.0, ctx.deadline - time.monotonic()) + 0.05)
    results = {}
    late = []
    for host, task in tasks.items():
        if task in done and task.exception() is None:
            results[host] = task.result()
        else:
            if task in done:
                log.warning("DNS probe of %s failed: %r", host, task.exception())
            task.cancel()
            late.append(task)
            results[host] = _transient(_TIMEOUT, RESOLVER)
    if late:
        # The loop outlives this probe (run_async): let the cancelled lookups close their sockets now.
        await asyncio.gather(*late, return_exceptions=True)
    return results


def probe(records: Mapping[str, Sequence[Any]], *args: Any, **kwargs: Any) -> dict[str, RecordOutcome]:
    """:func:`probe_async`, run to its end on this thread's event loop."""
    return run_async(probe_async(records, *args, **kwargs))


async def probe_async(
    records: Mapping[str, Sequence[Any]],
    servers: Sequence[tuple[str, int]] | None = None,
    timeout: float = 3.0,
    *,
    authoritative: bool = False,
    port: int = 53,
    zones: ZoneCache | None = None,
    domain: str | None = None,
) -> dict[str, RecordOutcome]:
    """Look up every record of ``{host: [TYPE, value, ...]}`` and return
    ``{host: RecordOutcome}``, on the running event loop (``reverify`` keeps every domain in
    flight on one loop; :func:`probe` runs it on the caller's thread).

    All lookups run at once and the probe returns within ``timeout``
    seconds however many records there are. ``servers`` are the resolver's
    ``(address, port)`` pairs; ``None`` means the system resolver. With
    ``authoritative``, each record is asked of its zone's servers on
    ``port`` (zones kept in ``zones``); ``domain`` stands for the zone when
    it cannot be found. Items after the value (the stored verified flag) are
    ignored. Raises :exc:`ValueError` for a record type it cannot check.
    """
    for host, record in records.items():
        if str(record[0]).upper() not in _SUPPORTED:
            raise ValueError(f"Cannot verify record type {record[0]!r} at {host!r}.")
    if not records:
        return {}
    bad, names = {}, {}
    for host in records:
        try:
            names[host] = dns.name.from_text(host)
        except dns.exception.DNSException:
            # A name DNS cannot hold can never be published: that is a definite answer.
            bad[host] = _outcome("missing", [], hints.unpublishable(host), RESOLVER)
    resolver = _Resolver(list(servers) if servers is not None else _system_servers())
    rest = {host: record for host, record in records.items() if host not in bad}
    found = await _probe(rest, names, resolver, timeout, authoritative, port, zones, domain) if rest else {}
    return {host: bad.get(host) or found[host] for host in records}


_LOOPS = threading.local()


def run_async(coroutine: Any) -> Any:
    """Run ``coroutine`` to its end on this thread's own event loop, kept for the thread's life.

    ``asyncio.run`` would build and close a loop for every probe, and its clean-up walks the tasks
    of every loop of the process: with 64 probing threads that walk was a seventh of reverify's
    CPU (py-spy). The loop is closed when its thread is collected.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        # Called from inside a running loop (Playwright's sync API in the tests, a notebook): a
        # second loop cannot run on this thread, so the coroutine runs on one of its own.
        with ThreadPoolExecutor(1, thread_name_prefix="run-async") as elsewhere:
            return elsewhere.submit(run_async, coroutine).result()
    loop = getattr(_LOOPS, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _LOOPS.loop = loop
        weakref.finalize(threading.current_thread(), loop.close)
    return loop.run_until_complete(coroutine)


def cache_key(domain_id: int, records: Mapping[str, Sequence[Any]]) -> str:
    """Return the cache key of a domain's probe of ``records``.

    It holds a digest of the (host, type, value) set, so a regenerated set
    never reads an outcome probed for the old one, and the stored verified
    flags do not change it.
    """
    canonical = sorted(
        (host.lower(), str(record[0]).upper(), str(record[1]))
        for host, record in records.items()
    )
    digest = hashlib.sha256(json.dumps(canonical).encode()).hexdigest()[:32]
    return f"{int(domain_id)}:{digest}"


class VerificationCache:
    """A small TTL cache of probe outcomes, in Redis when a client is given
    (shared by every worker) and in process memory otherwise.

    Values must be JSON-serializable; both stores round-trip them through
    JSON so they behave alike. A Redis failure is logged and treated as a
    miss or a no-op, and Redis is left alone for ``retry_after`` seconds:
    verification must work without its cache, and must not wait on a dead
    server's connection retries at every request.
    """

    def __init__(
        self,
        client: redis.Redis | None = None,
        prefix: str = "octeth:verify:",
        retry_after: float = 30.0,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.retry_after = retry_after
        self._down_until = 0.0
        self._memory: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def get(self, key: str) -> Any | None:
        """Return the value stored under ``key``, or ``None`` when it is
        missing, expired, or the store is unreachable."""
        if self.client is not None:
            raw = self._redis(lambda client: client.get(self.prefix + key))
        else:
            with self._lock:
                expires, raw = self._memory.get(key, (0.0, None))

                if raw is not None and expires <= time.monotonic():
                    del self._memory[key]
                    raw = None

        return None if raw is None else json.loads(raw)

    def get_many(self, keys: Sequence[str]) -> list[Any | None]:
        """:meth:`get` of each key, in one Redis round trip."""
        if self.client is None:
            return [self.get(key) for key in keys]

        raws = self._redis(lambda client: client.mget([self.prefix + key for key in keys])) or [None] * len(keys)
        return [None if raw is None else json.loads(raw) for raw in raws]

    def set(self, key: str, value: Any, ttl: float = 60) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds."""
        self.set_many([(key, value, ttl)])

    def set_many(self, items: Sequence[tuple[str, Any, float]]) -> None:
        """:meth:`set` of each ``(key, value, ttl)``, in one Redis round trip."""
        if self.client is not None:
            def write(client: redis.Redis) -> None:
                pipe = client.pipeline(transaction=False)
                for key, value, ttl in items:
                    pipe.set(self.prefix + key, json.dumps(value), px=max(1, int(ttl * 1000)))
                pipe.execute()

            self._redis(write)
            return

        now = time.monotonic()

        with self._lock:
            # Sweep here so the in-process store cannot grow without bound; at most once a
            # second, as a sweep walks every entry (at every write it made verifies O(entries)).
            if now >= self._next_sweep:
                self._next_sweep = now + 1.0
                for stale in [k for k, (exp, _) in self._memory.items() if exp <= now]:
                    del self._memory[stale]

            for key, value, ttl in items:
                self._memory[key] = (now + ttl, json.dumps(value))

    def delete(self, key: str) -> None:
        """Drop the outcome stored under ``key``, if any."""
        if self.client is None:
            with self._lock:
                self._memory.pop(key, None)
            return

        self._redis(lambda client: client.delete(self.prefix + key))

    def _redis(self, command: Callable[[redis.Redis], Any]) -> Any:
        if time.monotonic() < self._down_until:
            return None

        try:
            return command(self.client)
        except redis.RedisError as e:
            log.warning(
                "Verification cache unavailable, not using it for %g s: %s",
                self.retry_after,
                e,
            )
            self._down_until = time.monotonic() + self.retry_after
            return None
