"""The sender domain's own DMARC and SPF, checked against what Gmail and Yahoo require of bulk
senders since February 2024 (SPEC §10 "Domain health"), with checkdmarc.

Advice only: nothing here changes a status. The lookups go through a resolver built from the
service's settings (``OCTETH_DNS_SERVERS``, ``OCTETH_DNS_TIMEOUT``), so they ask what the
verification asks. checkdmarc's organisational-domain rule uses the public-suffix list shipped
inside the publicsuffixlist package: nothing is fetched at run time.
"""
from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor, TimeoutError as FutureTimeout
from typing import Any, Sequence

import checkdmarc.utils
import dns.exception
import dns.resolver
from checkdmarc.dmarc import DMARCError, DMARCRecordNotFound, parse_dmarc_record, query_dmarc_record
from checkdmarc.spf import SPFError, SPFRecordNotFound, parse_spf_record, query_spf_record
from expiringdict import ExpiringDict
from ..resolver import make_resolver

log = logging.getLogger(__name__)

# checkdmarc keeps a process-wide answer cache keyed by name alone (not by server) for minutes;
# health is cached with the probe instead, and must see the zone as it is now.
checkdmarc.utils.DNS_CACHE = ExpiringDict(max_len=1, max_age_seconds=0)

_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="dns-health")
NO_DMARC = "Gmail and Yahoo require a DMARC record from bulk senders"




def _timed_out(error: Exception) -> bool:
    return isinstance(getattr(error, "error", None), dns.exception.Timeout) or "timed out" in str(error).lower()


def _entry(status: str, record: str | None, message: str, **extra: Any) -> dict[str, Any]:
    return {"Status": status, "Record": record, "Message": message, **extra}


def check_dmarc(domain: str, resolver: dns.resolver.Resolver, timeout: float) -> dict[str, Any]:
    """DMARC at the domain or its organisational domain: none is a warning, invalid an error."""
    record = None
    try:
        found = query_dmarc_record(domain, resolver=resolver, timeout=timeout, retries=0)
        record = found["record"]
        parsed = parse_dmarc_record(record, found["location"], resolver=resolver, timeout=timeout, retries=0)
    except DMARCRecordNotFound as error:
        if _timed_out(error):
            return _entry("warning", None, "The DMARC record could not be checked: DNS did not answer in time",
                          Policy=None)
        return _entry("warning", None, NO_DMARC, Policy=None)
    except DMARCError as error:
        return _entry("error", record, f"The DMARC record is not valid: {error}", Policy=None)
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
    except SPFRecordNotFound as error:
        if _timed_out(error):
            return _entry("warning", None, "The SPF record could not be checked: DNS did not answer in time")
        return _entry("ok", None, "No SPF record at the domain; the return-path host carries the SPF that counts")
    except SPFError as error:
        return _entry("error", record, f"The SPF record is not valid: {error}")
    return _entry("ok", record, f"SPF is valid ({parsed['dns_lookups']} of 10 DNS lookups)")


def start(domain: str, servers: Sequence[tuple[str, int]] | None, timeout: float) -> tuple[Future, Future]:
    """Start both checks beside the record probe (each a leaf task: nothing in the pool waits on
    the pool); :func:`finish` collects them."""
    resolver = make_resolver(servers, timeout)
    return _POOL.submit(check_dmarc, domain, resolver, timeout), _POOL.submit(check_spf, domain, resolver, timeout)


def finish(started: tuple[Future, Future], timeout: float) -> dict[str, Any]:
    """``{"DMARC": {...}, "SPF": {...}}``; a check still running after ``timeout`` is reported so."""
    health = {}
    for name, future, late in (("DMARC", started[0], {"Policy": None}), ("SPF", started[1], {})):
        try:
            health[name] = future.result(timeout=timeout)
        except FutureTimeout:
            health[name] = _entry("warning", None, f"The {name} record could not be checked in time", **late)
        except Exception as error:  # advice must never break a verify
            log.warning("%s check of %s failed: %r", name, started, error)
            health[name] = _entry("warning", None, f"The {name} record could not be checked", **late)
    return health


def check(domain: str, servers: Sequence[tuple[str, int]] | None, timeout: float) -> dict[str, Any]:
    return finish(start(domain, servers, timeout), timeout)
