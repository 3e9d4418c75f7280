"""The per-user rate limit (SPEC §8) and the sign-in lockout.

Both are fixed windows counted in Redis when it is configured, so that every worker and every
instance shares one count, and in this process's memory otherwise or while Redis is away. Limits
are written in flask-limiter's notation (``100 per 60 seconds``), parsed by ``limits``, the
library flask-limiter is built on.

flask-limiter itself is not in the request path: its per-request machinery (stack inspection,
limit registration and resolution, a second evaluation in its own ``before_request``) cost about a
quarter of a ``user.senderdomain.get`` in ``make bench``. What it did for us is one ``INCR`` with
an expiry per request, which :class:`Counter` does with one Lua call.

A limit too large to be reached one request at a time is counted in leases: a process takes a few
requests' worth of the window from Redis at once and spends them locally, so that a busy client
costs one round trip per lease instead of one per request. Leases are counted in Redis when taken,
so the instances together never let more than the limit through; a lease is at most 1/64 of what
is left of the window, so limits under 128 per window are still counted request by request.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse_many

from ..config import ConfigError
from .envelope import APIError, rate_limited

log = logging.getLogger(__name__)

# INCRBY that starts the window's expiry on the first count, and answers the count with the time
# left, in one round trip. A key left without expiry (by hand) gets one rather than living forever.
_ADD = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  left = tonumber(ARGV[2])
end
return {count, left}
"""


class _RedisCounts:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._prefix = prefix
        self._client = client
        self._add = client.register_script(_ADD)

    def add(self, key: str, amount: int, window: float) -> tuple[int, float]:
        count, left_ms = self._add(keys=[self._prefix + key], args=[amount, int(window * 1000)])
        return int(count), int(left_ms) / 1000

    def peek(self, key: str) -> tuple[int, float]:
        with self._client.pipeline(transaction=False) as pipe:
            count, left_ms = pipe.get(self._prefix + key).pttl(self._prefix + key).execute()
        return int(count or 0), max(0, int(left_ms)) / 1000


def _pruned(entries: dict, live: Any, cap: int) -> dict:
    """``entries`` without the expired ones; if the live ones still fill half of ``cap``, the
    oldest of them go too (a dict keeps insertion order), so that a flood of new keys, such as
    addresses, costs a rebuild now and then rather than at every request."""
    kept = {key: value for key, value in entries.items() if live(value)}
    if len(kept) > cap // 2:
        kept = dict(list(kept.items())[len(kept) - cap // 2:])
    return kept


class _MemoryCounts:
    MAX_KEYS = 100_000

    def __init__(self) -> None:
        self._counts: dict[str, list[float]] = {}  # key -> [count, monotonic end of the window]
        self._lock = threading.Lock()

    def add(self, key: str, amount: int, window: float) -> tuple[int, float]:
        now = time.monotonic()
        with self._lock:
            entry = self._counts.get(key)
            if entry is None or entry[1] <= now:
                if len(self._counts) >= self.MAX_KEYS:
                    self._counts = _pruned(self._counts, lambda entry: entry[1] > now, self.MAX_KEYS)
                entry = self._counts[key] = [0, now + window]
            entry[0] += amount
            return int(entry[0]), entry[1] - now

    def peek(self, key: str) -> tuple[int, float]:
        now = time.monotonic()
        with self._lock:
            entry = self._counts.get(key)
        if entry is None or entry[1] <= now:
            return 0, 0.0
        return int(entry[0]), entry[1] - now


class Counter:
    """Fixed-window counts in Redis, or in memory without Redis and while it is away: a dead
    Redis is left alone for ``retry_after`` seconds so that requests do not each wait on it."""

    def __init__(self, client: redis.Redis | None, prefix: str, retry_after: float = 5.0) -> None:
        self._redis = _RedisCounts(client, prefix) if client is not None else None
        self._memory = _MemoryCounts()
        self._retry_after = retry_after
        self._redis_down_until = 0.0

    def _store(self) -> _RedisCounts | _MemoryCounts:
        if self._redis is not None and time.monotonic() >= self._redis_down_until:
            return self._redis
        return self._memory

    def _fall_back(self, error: Exception) -> None:
        self._redis_down_until = time.monotonic() + self._retry_after
        log.warning("rate limit store unreachable (%s): falling back to in-memory counts for %g s",
                    error.__class__.__name__, self._retry_after)

    def add(self, key: str, amount: int, window: float) -> tuple[int, float, bool]:
        """Add ``amount`` to ``key``'s count in its current window: (the count now, seconds left,
        whether Redis counted it)."""
        store = self._store()
        try:
            return (*store.add(key, amount, window), store is self._redis)
        except (redis.RedisError, OSError) as error:
            self._fall_back(error)
        return (*self._memory.add(key, amount, window), False)

    def peek(self, key: str) -> tuple[int, float]:
        store = self._store()
        try:
            return store.peek(key)
        except (redis.RedisError, OSError) as error:
            self._fall_back(error)
        return self._memory.peek(key)


@dataclass
class _Lease:
    tokens: int  # requests already counted in the store and not yet spent here
    ends: float  # monotonic time the window ends
    remaining: int  # what the store had left of the window when last asked
    spent: bool  # the window is used up: refuse without asking until it ends
    shared: bool  # counted in Redis (else in this process's memory, while Redis is away)


class Limit:
    """``item`` (such as ``100 per 60 seconds``) per key, counted in ``counter`` under ``name``."""

    LEASE_SHARE = 64  # a lease is at most 1/64 of what is left of the window
    MAX_LEASE = 64
    MAX_KEYS = 100_000

    def __init__(self, item: RateLimitItem, counter: Counter, name: str) -> None:
        self.amount = item.amount
        self.window = float(item.get_expiry())
        self._counter = counter
        self._name = name
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    def _lease_size(self, remaining: int) -> int:
        return max(1, min(self.MAX_LEASE, remaining // self.LEASE_SHARE))

    def hit(self, key: str) -> float | None:
        """Count one request for ``key``: None when it may go ahead, else the seconds until the
        window ends."""
        now = time.monotonic()
        with self._lock:
            lease = self._leases.get(key)
            if lease is not None and lease.ends > now:
                if lease.tokens > 0:
                    lease.tokens -= 1
                    return None
                if lease.spent:
                    return lease.ends - now
                size = self._lease_size(lease.remaining)
            else:
                size = self._lease_size(self.amount)
        asked = time.monotonic()
        count, left, shared = self._counter.add(f"{self._name}:{key}", size, self.window)
        granted = max(0, min(size, self.amount - (count - size)))
        # Counted from before the call: a lease must not outlive the window it was counted in.
        ends = asked + left
        fresh = _Lease(max(0, granted - 1), ends, max(0, self.amount - count), count >= self.amount, shared)
        with self._lock:
            lease = self._leases.get(key)
            if lease is not None and lease.shared == shared and abs(lease.ends - ends) < self.window / 2:
                # Another thread took a lease of the same window meanwhile: pool them.
                lease.tokens += fresh.tokens
                lease.remaining = min(lease.remaining, fresh.remaining)
                lease.spent = lease.spent or fresh.spent
            elif lease is None or lease.ends <= ends:  # never an older window over a newer one
                if len(self._leases) >= self.MAX_KEYS:
                    self._leases = _pruned(self._leases, lambda lease: lease.ends > now, self.MAX_KEYS)
                self._leases[key] = fresh
        return None if granted else left


def one_limit(text: str) -> RateLimitItem:
    """The one limit ``text`` states; ValueError for anything else. flask-limiter's notation allows
    several (``100/minute;1000/hour``), which is more than one window per key: refused at start
    rather than quietly cut to the first."""
    limits = parse_many(text)
    if len(limits) != 1:
        raise ValueError(f"{text!r} must state exactly one limit, such as '100 per 60 seconds'")
    return limits[0]


def _rate_key() -> str:
    caller = g.get("caller")
    if caller is not None:
        return f"user:{caller.user.user_id}"
    return f"addr:{request.remote_addr or 'local'}"


def init_app(app: Flask) -> None:
    config = app.config
    counter = Counter(app.extensions["octeth_redis"], f"{config['OCTETH_REDIS_KEY_PREFIX']}:limit:")
    # One bucket for both doors and every command: the seed documents one limit per user.
    app.extensions["octeth_api_limit"] = Limit(_setting(config, "OCTETH_RATE_LIMIT"), counter, "api")
    app.extensions["octeth_login_limit"] = _setting(config, "OCTETH_LOGIN_FAILURE_LIMIT")
    app.extensions["octeth_limit_counter"] = counter


def _setting(config: Any, name: str) -> RateLimitItem:
    try:
        return one_limit(config[name])
    except ValueError as error:
        raise ConfigError(f"{name}: {error}") from None


def check() -> None:
    """Count this request against the caller's limit; 429 in the envelope once it is spent."""
    retry_after = current_app.extensions["octeth_api_limit"].hit(_rate_key())
    if retry_after is not None:
        raise rate_limited(int(retry_after) + 1)


def _login_key(username: str) -> str:
    # A digest: a username is whatever the client sent, up to the 1 MiB body.
    return "login-failures:" + hashlib.sha256(username.lower().encode("utf-8", "replace")).hexdigest()


def refuse_locked_login(username: str) -> None:
    """Refuse a sign-in for a username that failed too often in the current window (code 4, 429).

    The count lives where the rate limit does, so every instance sees the same lockout (each
    process its own while Redis is away)."""
    limit = current_app.extensions["octeth_login_limit"]
    try:
        count, left = current_app.extensions["octeth_limit_counter"].peek(_login_key(username))
    except Exception as error:  # a lockout is a brake on guessing, not a reason to refuse users
        log.warning("login lockout unavailable: %s", error.__class__.__name__)
        return
    if count < limit.amount:
        return
    raise APIError(4, "Too many failed sign-in attempts for this username; try again later", 429,
                   {"Retry-After": str(max(1, int(left) + 1))})


def count_failed_login(username: str) -> None:
    limit = current_app.extensions["octeth_login_limit"]
    try:
        current_app.extensions["octeth_limit_counter"].add(_login_key(username), 1, limit.get_expiry())
    except Exception as error:
        log.warning("login lockout unavailable: %s", error.__class__.__name__)


def check_command(name: str, limit: str) -> None:
    """Count this request against the limit a command declares for itself (``@command(...,
    limit="10 per 5 minutes")``), per user, beside the service-wide one; 429 once it is spent.
    Each command's limit is parsed once and counted under its own name."""
    kept = current_app.extensions.setdefault("octeth_command_limits", {})
    entry = kept.get(name)
    if entry is None:
        entry = kept[name] = Limit(one_limit(limit), current_app.extensions["octeth_limit_counter"], f"cmd:{name}")
    retry_after = entry.hit(_rate_key())
    if retry_after is not None:
        raise rate_limited(int(retry_after) + 1)
