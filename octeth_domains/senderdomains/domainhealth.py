"""The sender domain's own DMARC and SPF, checked against what Gmail and Yahoo require of bulk
senders since February 2024 (SPEC §10 "Domain health"), with checkdmarc.

Advice only: nothing here changes a status. The lookups go through a resolver built from the
service's settings (``OCTETH_DNS_SERVERS``, ``OCTETH_DNS_TIMEOUT``), so they ask what the
verification asks. checkdmarc's organisational-domain rule uses the public-suffix list shipped
inside the publicsuffixlist package: nothing is fetched at run time.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
from concurrent.futures import Future, ThreadPoolExecutor, TimeoutError as FutureTimeout
from typing import Any, Sequence

import checkdmarc.utils
import dns.asyncresolver
import dns.exception
import dns.resolver
from checkdmarc.dmarc import DMARCError, DMARCRecordNotFound, parse_dmarc_record, query_dmarc_record
from checkdmarc.spf import SPFError, SPFRecordNotFound, parse_spf_record, query_spf_record
from expiringdict import ExpiringDict
from ..resolver import make_resolver
from .verify import run_async

log = logging.getLogger(__name__)

# checkdmarc keeps a process-wide answer cache keyed by name alone (not by server) for minutes;
# health is cached with the probe instead, and must see the zone as it is now.
checkdmarc.utils.DNS_CACHE = ExpiringDict(max_len=1, max_age_seconds=0)

_POOL = ThreadPoolExecutor(max_workers=64, thread_name_prefix="dns-health")
NO_DMARC = "Gmail and Yahoo require a DMARC record from bulk senders"
_UNCHECKED = "could not be checked"  # in the message of every check DNS did not answer




def _unanswered(error: Exception) -> str | None:
    """Why DNS gave no answer to judge by (checkdmarc wraps dnspython's errors in its own, or
    puts their text in its message), None when it answered. Said in our words: dnspython's text
    names the resolver's address."""
    inner = getattr(error, "error", None)
    text = str(error).lower()
    if isinstance(inner, dns.exception.Timeout) or "timed out" in text or "lifetime expired" in text:
        return "DNS did not answer in time"
    # dnspython says "All nameservers failed to answer ...: Server ... answered SERVFAIL"; the same
    # words end with "answered The CNAME chain is too long." for a loop, which is an answer.
    if any(f"answered {rcode}" in text for rcode in ("servfail", "refused", "notimp", "formerr")):
        return "the DNS servers answered with an error"
    return None


def _unchecked(kind: str, why: str, **extra: Any) -> dict[str, Any]:
    # Not cached (its message carries _UNCHECKED): the next probe asks again.
    return _entry("warning", None, f"The {kind} record {_UNCHECKED}: {why}", **extra)


# checkdmarc reports a record its grammar cannot read in its parser's words, the text it parsed
# after "in:" with a ➞ where reading stopped: "Error: Expected end_of_statement or tag_value at
# position 10 (marked with ➞) in: v=DMARC1; ➞p ..." for DMARC, "example.com: Expected mechanism at
# position 10 ... in: v=spf1 mx ➞=all" for SPF (the domain is an include's when the fault is there).
_PARSER_SAID = re.compile(r"(?:Error|(?P<domain>[^\s:]+)): Expected .*? at position (?P<at>\d+)"
                          r" \(marked with \u279e\) in: (?P<text>.*)\Z", re.S)
_NO_SERVER = re.compile(r"All nameservers failed to answer the query (\S+) IN (\S+): Server \S+ answered ")
DMARC_RULE = "tags are name=value pairs separated by semicolons, as in v=DMARC1; p=none"
SPF_RULE = "mechanisms are separated by spaces, as in v=spf1 mx -all"


def _said(error: Exception, domain: str, kind: str, rule: str) -> str:
    """checkdmarc's reason a record is not valid, as a sentence the record's owner can act on."""
    text = _NO_SERVER.sub(r"the lookup of \1 \2 failed: ", str(error))  # never the resolver's address
    found = _PARSER_SAID.match(text)
    if found is None:
        return text
    before = found.group("text").split("\u279e", 1)[0]
    before = "".join(c if c.isprintable() else "\ufffd" for c in before).strip()
    where = f" after \u201c{before[-40:]}\u201d" if before else " at its start"
    whose = found.group("domain")
    record = "it" if whose in (None, domain) else f"the {kind} record of {whose}, which yours includes,"
    return f"{record} cannot be read{where} (character {int(found.group('at')) + 1}): {rule}"


def _entry(status: str, record: str | None, message: str, **extra: Any) -> dict[str, Any]:
    return {"Status": status, "Record": record, "Message": message, **extra}


def check_dmarc(domain: str, resolver: dns.resolver.Resolver, timeout: float) -> dict[str, Any]:
    """DMARC at the domain or its organisational domain: none is a warning, invalid an error."""
    record = None
    try:
        found = query_dmarc_record(domain, resolver=resolver, timeout=timeout, retries=0)
        record = found["record"]
        parsed = parse_dmarc_record(record, found["location"], resolver=resolver, timeout=timeout, retries=0)
    except DMARCError as error:  # DMARCRecordNotFound among them
        why = _unanswered(error)
        if why is not None:
            return _unchecked("DMARC", why, Policy=None)
        if isinstance(error, DMARCRecordNotFound):
            return _entry("warning", None, NO_DMARC, Policy=None)
        return _entry("error", record, f"The DMARC record is not valid: {_said(error, domain, 'DMARC', DMARC_RULE)}",
                      Policy=None)
    policy = str(parsed["tags"].get("p", {}).get("value") or "") or None
    if policy == "none":
        message = "DMARC is published with policy none: reports only, which meets the bulk-sender rules"
    else:
        message = f"DMARC is published with policy {policy}"
    return _entry("ok", record, message, Policy=policy)


def check_spf(domain: str, resolver: dns.resolver.Resolver, timeout: float) -> dict[str, Any]:
    """SPF at the domain: two records, more than 10 lookups or bad syntax is an error; none is ok."""
    record = None
    try:
        found = query_spf_record(domain, resolver=resolver, timeout=timeout, retries=0)
        record = found["record"]
        parsed = parse_spf_record(record, domain, resolver=resolver, timeout=timeout, retries=0)
    except SPFError as error:  # SPFRecordNotFound among them
        why = _unanswered(error)
        if why is not None:
            return _unchecked("SPF", why)
        if isinstance(error, SPFRecordNotFound) and record is None:
            return _entry("ok", None, "No SPF record at the domain; the return-path host carries the SPF that counts")
        # Found, but an include: of it names a domain without SPF (a permerror for receivers).
        return _entry("error", record, f"The SPF record is not valid: {_said(error, domain, 'SPF', SPF_RULE)}")
    return _entry("ok", record, f"SPF is valid ({parsed['dns_lookups']} of 10 DNS lookups)")


# Record types checkdmarc asks for only to add a warning to its result, which the health shown
# here does not report: the obsolete SPF type (RFC 7208), and a CNAME beside a DMARC or SPF record
# that was found (two lookups, one after the other, after the prefetched ones). Answered "none".
_WARNINGS_ONLY = frozenset({"SPF", "CNAME"})


class _Prefetched(dns.resolver.Resolver):
    """A resolver that answers the questions asked ahead of time from their answers (or their
    errors), and asks anything else live. It lives for one health check: nothing goes stale."""

    def __init__(self, base: dns.resolver.Resolver, answers: dict[tuple[str, str], Any]) -> None:
        super().__init__(configure=False)
        for name in ("nameservers", "timeout", "lifetime", "search", "use_search_by_default", "cache"):
            setattr(self, name, getattr(base, name))
        self._answers = answers

    def resolve(self, qname: Any, rdtype: Any = "A", *args: Any, **kwargs: Any) -> dns.resolver.Answer:
        key = (str(qname).rstrip(".").lower(), str(rdtype).upper())
        if key[1] in _WARNINGS_ONLY:
            raise dns.resolver.NoAnswer()
        if key in self._answers:
            found = self._answers[key]
            if isinstance(found, BaseException):
                raise found
            return found
        return super().resolve(qname, rdtype, *args, **kwargs)


def _questions(domain: str) -> list[tuple[str, str]]:
    """What checkdmarc asks about ``domain`` before any record is parsed: the DMARC record, the
    domain's TXT (SPF, and a DMARC record misplaced at the root), and the RFC 9989 tree walk's
    ``_dmarc`` of every parent (at most 8 queries in all, as checkdmarc counts them). Asked all
    at once, they cost one round trip instead of one each in turn."""
    labels = domain.rstrip(".").lower().split(".")
    start = 1 if len(labels) <= 8 else len(labels) - 7
    parents = [".".join(labels[i:]) for i in range(start, len(labels))]
    name = ".".join(labels)
    return [(f"_dmarc.{name}", "TXT"), (name, "TXT"), *((f"_dmarc.{parent}", "TXT") for parent in parents)]


class ParentAnswers(dns.resolver.LRUCache):
    """The answers to the DMARC tree walk's questions about a domain's parents (``_dmarc.com``
    for every domain under .com, ``_dmarc.example.com`` for each of its subdomains), shared by
    the health checks of one app, whose resolver's servers they came from. dnspython's own cache
    (negative answers kept for the zone's SOA minimum), each answer kept for its TTL and at most
    ``cap`` seconds: the time a domain's whole health is reused (``OCTETH_DNS_HEALTH_CACHE_TTL``).
    A health computed from a parent's answer just before it expired is itself kept up to ``cap``,
    so a DMARC record published at a parent shows within twice ``cap`` at worst
    (docs/verification.md). The domain's own names are never kept: a user who has just published
    their DMARC record at the domain sees it once the domain's health is no longer cached."""

    def __init__(self, cap: float, max_size: int = 10_000) -> None:
        super().__init__(max_size)
        self.cap = cap

    def put(self, key: Any, value: dns.resolver.Answer) -> None:
        value.expiration = min(value.expiration, time.time() + self.cap)
        super().put(key, value)


def parent_answers(cap: float) -> ParentAnswers | None:
    """The cache of :class:`ParentAnswers` for a health cache TTL of ``cap``; none when it is 0
    (health checked afresh at every probe)."""
    return ParentAnswers(cap) if cap > 0 else None


def _async_resolver(base: dns.resolver.Resolver, cache: dns.resolver.CacheBase | None) -> dns.asyncresolver.Resolver:
    resolver = dns.asyncresolver.Resolver(configure=False)
    for name in ("nameservers", "timeout", "lifetime", "search", "use_search_by_default"):
        setattr(resolver, name, getattr(base, name))
    resolver.cache = cache
    return resolver


async def prefetch(domain: str, servers: Sequence[tuple[str, int]] | None, timeout: float,
                   parents: ParentAnswers | None = None) -> dict[tuple[str, str], Any]:
    """checkdmarc's lookups of ``domain`` (:func:`_questions`), all at once, on the running event
    loop: a verify asks them beside its record lookups, on the same loop. Their answers, or the
    DNS errors they ended with, for :func:`start`. The parents' questions are answered from
    ``parents`` when it holds them (and fill it when it does not)."""
    questions = _questions(domain)
    base = make_resolver(servers, timeout)
    own = _async_resolver(base, None)
    walk = _async_resolver(base, parents) if parents is not None else own
    # The first two questions are the domain's own (_questions); the rest are its parents'.
    found = await asyncio.gather(*((own if i < 2 else walk).resolve(name, rdtype)
                                   for i, (name, rdtype) in enumerate(questions)),
                                 return_exceptions=True)
    return {key: value for key, value in zip(questions, found)
            if not isinstance(value, BaseException) or isinstance(value, dns.exception.DNSException)}


def _check_both(domain: str, servers: Sequence[tuple[str, int]] | None, timeout: float,
                answers: dict[tuple[str, str], Any]) -> dict[str, Any]:
    """Both checks of one domain, run on the prefetched answers (a lookup checkdmarc makes beyond
    them, an SPF include, is asked live)."""
    resolver = _Prefetched(make_resolver(servers, timeout), answers)
    return {"DMARC": check_dmarc(domain, resolver, timeout), "SPF": check_spf(domain, resolver, timeout)}


def start(domain: str, servers: Sequence[tuple[str, int]] | None, timeout: float,
          answers: dict[tuple[str, str], Any]) -> Future:
    """Start the checks on the ``answers`` of :func:`prefetch`, on the pool (a leaf task: nothing
    in the pool waits on the pool), so that :func:`finish` can bound them, SPF includes asked live
    included; :func:`finish` collects them."""
    return _POOL.submit(_check_both, domain, servers, timeout, answers)


def finish(started: Future, timeout: float) -> dict[str, Any]:
    """``{"DMARC": {...}, "SPF": {...}}``; checks still running after ``timeout`` are reported so."""
    late = {"DMARC": {"Policy": None}, "SPF": {}}
    try:
        return started.result(timeout=timeout)
    except FutureTimeout:
        return {name: _entry("warning", None, f"The {name} record could not be checked in time", **extra)
                for name, extra in late.items()}
    except Exception as error:  # advice must never break a verify
        log.warning("The health checks failed: %r", error)
        return {name: _entry("warning", None, f"The {name} record could not be checked", **extra)
                for name, extra in late.items()}


def answered(health: dict[str, Any]) -> bool:
    """Whether every check got its answer from DNS (worth keeping: a timeout is not)."""
    return not any(_UNCHECKED in str(entry.get("Message", "")) for entry in health.values())


def check(domain: str, servers: Sequence[tuple[str, int]] | None, timeout: float,
          parents: ParentAnswers | None = None) -> dict[str, Any]:
    """The health of ``domain`` on its own (no record probe beside it)."""
    answers = run_async(prefetch(domain, servers, timeout, parents))
    return finish(start(domain, servers, timeout, answers), timeout)
