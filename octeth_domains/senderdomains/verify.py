"""Live DNS probing of a sender domain's records, and the short-lived cache
of its outcome (SPEC §5 "verify").

The probe tells a definite failure (a server answered that the record is
not there or differs) from an indefinite one (nobody answered, or the
server failed), because only the former may demote a domain.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.name
import dns.nameserver
import dns.resolver
import redis

__all__ = [
    "RecordOutcome",
    "VerificationCache",
    "cache_key",
    "probe",
]

log = logging.getLogger(__name__)

_SUPPORTED = frozenset({"CNAME", "TXT", "MX", "A", "AAAA"})


@dataclass(frozen=True)
class RecordOutcome:
    """The result of probing one record.

    ``definite`` is true when the answer can be trusted: a pass, or a
    server saying the record is absent or different. A timeout or a server
    failure is ``passed=False, definite=False``.
    """

    passed: bool
    definite: bool


_PASSED = RecordOutcome(passed=True, definite=True)
_FAILED = RecordOutcome(passed=False, definite=True)
_UNKNOWN = RecordOutcome(passed=False, definite=False)


def _name(text: str) -> str:
    return text.rstrip(".").lower()


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _rdata_values(rtype: str, answer: dns.resolver.Answer) -> Iterable[Any]:
    # Each type is reduced to what SPEC §5 compares: a name, the joined TXT
    # segments, or an address.
    for rdata in answer:
        if rtype == "CNAME":
            yield _name(rdata.target.to_text())
        elif rtype == "MX":
            yield _name(rdata.exchange.to_text())
        elif rtype == "TXT":
            yield b"".join(rdata.strings).decode("utf-8", "replace")
        else:
            yield _address(rdata.address)


def _expected(rtype: str, value: str) -> Any:
    if rtype == "MX":
        # "10 mx.example." as a template writes it for the providers; the host is what is compared.
        return _name(value.split()[-1]) if value.split() else ""

    if rtype == "CNAME":
        return _name(value)

    if rtype == "TXT":
        return value

    return _address(value)


def _make_resolver(
    servers: Sequence[tuple[str, int]] | None, timeout: float
) -> dns.resolver.Resolver:
    if servers is None:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(host, port) for host, port in servers
        ]

    # Hosts are fully qualified; a search list would turn a missing record
    # into a lookup of some other name.
    resolver.search = []
    resolver.use_search_by_default = False
    resolver.lifetime = timeout
    # Each server gets a share of the lifetime, and a lone server one
    # retransmission, so that a dead server or a lost UDP packet does not
    # cost the whole lookup.
    resolver.timeout = timeout / max(2, len(resolver.nameservers))
    # Each probe must see the zone as it is now, not as it was a minute ago.
    resolver.cache = None
    return resolver


def _lookup(
    resolver: dns.resolver.Resolver, host: str, rtype: str, value: str
) -> RecordOutcome:
    try:
        # Asking for the CNAME itself (not following it) checks exactly what
        # the user published; for other types a CNAME chain is followed.
        answer = resolver.resolve(host, rtype, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return _FAILED
    except (dns.name.LabelTooLong, dns.name.NameTooLong, dns.name.EmptyLabel):
        # A name DNS cannot hold can never be published: that is a definite answer.
        return _FAILED
    except dns.exception.DNSException as e:
        log.info("DNS lookup of %s %s did not complete: %s", host, rtype, e)
        return _UNKNOWN

    expected = _expected(rtype, value)

    if expected is not None and expected in _rdata_values(rtype, answer):
        return _PASSED

    return _FAILED


# One pool for every probe of the process: the lookups of all records must
# wait on the network at once, and building threads for each request costs
# more than the lookups' own work. Its threads start on first use, so a
# forking server gives every worker a pool of its own.
_POOL = ThreadPoolExecutor(max_workers=64, thread_name_prefix="dns-probe")


@functools.lru_cache(maxsize=16)
def _shared_resolver(
    servers: tuple[tuple[str, int], ...] | None, timeout: float
) -> dns.resolver.Resolver:
    # A resolver is only read by lookups (its cache is off), so threads share it.
    return _make_resolver(servers, timeout)


def probe(
    records: Mapping[str, Sequence[Any]],
    servers: Sequence[tuple[str, int]] | None = None,
    timeout: float = 3.0,
    pool: ThreadPoolExecutor | None = None,
) -> dict[str, RecordOutcome]:
    """Look up every record of ``{host: [TYPE, value, ...]}`` and return
    ``{host: RecordOutcome}``.

    All lookups run at once and the probe returns within ``timeout``
    seconds however many records there are. ``servers`` are
    ``(address, port)`` pairs; ``None`` means the system resolver. Items
    after the value (the stored verified flag) are ignored. ``pool`` runs
    the lookups instead of the process's shared pool (``reverify`` bounds
    its lookups with a pool of its own). Raises
    :exc:`ValueError` for a record type it cannot check.
    """
    for host, record in records.items():
        if str(record[0]).upper() not in _SUPPORTED:
            raise ValueError(f"Cannot verify record type {record[0]!r} at {host!r}.")

    if not records:
        return {}

    try:
        resolver = _shared_resolver(tuple(servers) if servers is not None else None, timeout)
    except dns.resolver.NoResolverConfiguration as e:
        # No resolver means nobody could answer: not the domain's fault.
        log.warning("No DNS resolver configured, cannot verify: %s", e)
        return dict.fromkeys(records, _UNKNOWN)

    futures = {
        host: (pool or _POOL).submit(_lookup, resolver, host, str(record[0]).upper(), str(record[1]))
        for host, record in records.items()
    }
    # dnspython may sleep past its lifetime between retries; the deadline is
    # kept here instead, and a straggler is reported like a timeout and left
    # to finish on its own.
    wait(futures.values(), timeout=timeout)
    return {
        host: future.result() if future.done() else _UNKNOWN
        for host, future in futures.items()
    }


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

    def set(self, key: str, value: Any, ttl: float = 60) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds."""
        raw = json.dumps(value)

        if self.client is not None:
            ms = max(1, int(ttl * 1000))
            self._redis(lambda client: client.set(self.prefix + key, raw, px=ms))
            return

        now = time.monotonic()

        with self._lock:
            # Sweep here so the in-process store cannot grow without bound.
            for stale in [k for k, (exp, _) in self._memory.items() if exp <= now]:
                del self._memory[stale]

            self._memory[key] = (now + ttl, raw)

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
