"""The per-user rate limit (SPEC §8) and the sign-in lockout, through flask-limiter.

One flask-limiter ``Limiter`` per app, configured with the usual ``RATELIMIT_*`` settings; its
strategy counts, in its storage, with its in-memory fallback, and it writes its ``X-RateLimit-*``
headers. The doors count from :func:`~.doors.run` (:func:`check`) rather than in flask-limiter's
``before_request``: the key is the authenticated user (the client address before authentication),
known only once the credentials have been read. Every command and both doors share one count per
key; a command may declare a limit of its own on the registry (``@command(..., limit="10 per 5
minutes")``), counted per command and key besides.

With Redis the counts live in :class:`SharedCounts`, a ``limits`` storage of ours (scheme
``octeth+redis://``): the stock Redis storage answers a hit with one round trip, then flask-limiter
asks two more (``GET`` and ``TTL``) for its headers; ours returns the count and the time left in
the same Lua call and keeps them for the rest of the request. Without Redis the counts are
``limits``' in-process memory storage (one process only: gunicorn.conf.py refuses more workers).
If Redis goes away the counts fall back to memory (logged) and Redis is asked again now and then.
"""
from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from flask import Flask, Response, current_app, g, has_app_context, request
from flask_limiter import Limiter, RequestLimit
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage

from ..config import ConfigError
from .envelope import APIError, rate_limited

log = logging.getLogger(__name__)


class SharedCounts(RedisStorage):
    """Fixed-window counts in Redis at one round trip per hit: one Lua call counts the hit and
    answers the count with the time left, which ``get`` and ``get_expiry`` then answer from for
    the rest of the request (flask-limiter asks them for its headers right after the hit)."""

    STORAGE_SCHEME = ["octeth+redis", "octeth+rediss", "octeth+redis+unix"]

    # INCRBY that starts the window's expiry on the first count; a key left without expiry (by
    # hand) gets one rather than living forever.
    SCRIPT_COUNT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
"""

    def __init__(self, uri: str, **options: Any) -> None:
        from .. import redis_options

        super().__init__(uri.removeprefix("octeth+"), **{**redis_options(), **options})

    def initialize_storage(self, uri: str) -> None:
        super().initialize_storage(uri)
        self.lua_count = self.get_connection().register_script(self.SCRIPT_COUNT)

    @staticmethod
    def _seen() -> dict[str, tuple[int, float]]:
        # Per request (Flask's g), so that no count outlives the request that read it.
        return g.setdefault("_octeth_rate_counts", {}) if has_app_context() else {}

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        count, left_ms = self.lua_count([self.prefixed_key(key)], [int(expiry * 1000), amount])
        self._seen()[key] = (int(count), time.time() + int(left_ms) / 1000)
        return int(count)

    def get(self, key: str) -> int:
        seen = self._seen().get(key)
        return seen[0] if seen else super().get(key)

    def get_expiry(self, key: str) -> float:
        seen = self._seen().get(key)
        return seen[1] if seen else super().get_expiry(key)


def one_limit(text: str) -> RateLimitItem:
    """The one limit ``text`` states; ValueError for anything else. flask-limiter's notation allows
    several (``100/minute;1000/hour``), which would cost a round trip each: refused at start
    rather than quietly cut to the first."""
    limits = parse_many(text)
    if len(limits) != 1:
        raise ValueError(f"{text!r} must state exactly one limit, such as '100 per 60 seconds'")
    return limits[0]


def _setting(config: Any, name: str) -> RateLimitItem:
    try:
        return one_limit(config[name])
    except ValueError as error:
        raise ConfigError(f"{name}: {error}") from None


def _rate_key() -> str:
    caller = g.get("caller")
    if caller is not None and caller.admin is not None:  # an administrator's calls are its own
        return f"admin:{caller.admin.admin_id}"
    if caller is not None:
        return f"user:{caller.user.user_id}"
    return f"addr:{request.remote_addr or 'local'}"


def storage_uri(config: Any) -> str:
    """``RATELIMIT_STORAGE_URI`` if set, else ours on ``OCTETH_REDIS_URL``, else memory."""
    if config.get("RATELIMIT_STORAGE_URI"):
        return config["RATELIMIT_STORAGE_URI"]
    redis_url = config.get("OCTETH_REDIS_URL")
    return "octeth+" + redis_url if redis_url else "memory://"


def counts_are_shared(config: Any) -> bool:
    """Whether every process of the service sees the same counts (not in-process memory)."""
    return not storage_uri(config).startswith("memory://")


def init_app(app: Flask) -> None:
    config = app.config
    api_limit = _setting(config, "OCTETH_RATE_LIMIT")
    app.extensions["octeth_login_limit"] = _setting(config, "OCTETH_LOGIN_FAILURE_LIMIT")
    from .registry import registry

    command_limits = {}
    for entry in registry.commands.values():
        if entry.limit is not None:
            try:
                command_limits[entry.name] = one_limit(entry.limit)
            except ValueError as error:
                raise ConfigError(f"the limit of {entry.name}: {error}") from None
    config["RATELIMIT_STORAGE_URI"] = storage_uri(config)
    config.setdefault("RATELIMIT_KEY_PREFIX", config["OCTETH_REDIS_KEY_PREFIX"])
    config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"key_prefix": f"{config['OCTETH_REDIS_KEY_PREFIX']}:limit"})
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    config.setdefault("RATELIMIT_STRATEGY", "fixed-window")

    # flask-limiter sets Retry-After on every response it counted; it belongs on a 429 (and a 503
    # keeps its own). Registered before the limiter, so that it runs after its header hook.
    @app.after_request
    def _retry_after_only_when_refused(response: Response) -> Response:
        if response.status_code != 429:
            own = g.pop("_octeth_retry_after", None)
            if own is None:
                response.headers.pop("Retry-After", None)
            else:
                response.headers["Retry-After"] = own
        return response

    limiter = Limiter(key_func=_rate_key, app=app)
    # Its before_request check runs before authentication, when the key is not known yet, and its
    # limit resolution (decorators, blueprints, exemptions) costs more than the rest of a get: the
    # doors count instead (check()), with flask-limiter's strategy, storage, fallback and headers.
    app.before_request_funcs[None].remove(limiter._check_request_limit)

    @app.after_request
    def _remember_retry_after(response: Response) -> Response:
        if response.status_code != 429 and "Retry-After" in response.headers:
            g._octeth_retry_after = response.headers["Retry-After"]
        return response

    app.extensions["octeth_limiter"] = limiter
    app.extensions["octeth_limits"] = _Limits(limiter, api_limit, command_limits, config["RATELIMIT_KEY_PREFIX"])


class _Limits:
    """The app's limits, parsed once, counted through its flask-limiter ``Limiter``."""

    RECHECK_SECONDS = (1, 2, 4, 8, 16, 30)  # how soon a dead store is asked again

    def __init__(self, limiter: Limiter, api: RateLimitItem, commands: dict[str, RateLimitItem],
                 prefix: str) -> None:
        self.limiter = limiter
        self.api = api
        self.commands = commands
        self.prefix = prefix
        self._recheck_at = 0.0
        self._rechecks = 0

    def _fall_back(self, error: Exception) -> None:
        # flask-limiter's own switch: ``limiter.limiter`` is then its in-memory fallback.
        self.limiter._storage_dead = True
        self._rechecks = 0
        self._recheck_at = time.monotonic() + self.RECHECK_SECONDS[0]
        log.warning("rate limit storage unreachable (%s): falling back to in-memory counts",
                    error.__class__.__name__)

    def _revive(self) -> None:
        if self.limiter._storage_dead and time.monotonic() >= self._recheck_at:
            if self.limiter.storage.check():
                self.limiter._storage_dead = False
                log.warning("rate limit storage reachable again")
                return
            self._rechecks = min(self._rechecks + 1, len(self.RECHECK_SECONDS) - 1)
            self._recheck_at = time.monotonic() + self.RECHECK_SECONDS[self._rechecks]

    def hit(self, item: RateLimitItem, *args: str) -> bool:
        self._revive()
        try:
            return self.limiter.limiter.hit(item, *args)
        except Exception as error:
            if self.limiter._storage_dead or not self.limiter._in_memory_fallback_enabled:
                log.warning("rate limit not counted: %s", error.__class__.__name__)
                return True
            self._fall_back(error)
            return self.limiter.limiter.hit(item, *args)


def check(command: Any = None) -> None:
    """Count this request against the caller's limits; 429 in the envelope once one is spent.
    ``command`` is the registry entry being run (its own limit, if it declares one, is counted
    too, per command)."""
    app_limits: _Limits = current_app.extensions["octeth_limits"]
    limiter = app_limits.limiter
    if not limiter.enabled:
        return
    key = _rate_key()
    buckets = [(app_limits.api, [app_limits.prefix, key, "api"])]
    own = app_limits.commands.get(getattr(command, "name", None))
    if own is not None:
        buckets.append((own, [app_limits.prefix, key, "command:" + command.name]))
    context = limiter.context
    for item, args in buckets:
        allowed = app_limits.hit(item, *args)
        counted = RequestLimit(limiter, item, args, not allowed, True)
        context.view_rate_limits.append(counted)
        context.view_rate_limit = counted  # the headers speak of the narrowest: the command's own
        if not allowed:
            log.info("ratelimit %s (%s) exceeded", item, key)
            raise rate_limited(int(counted.reset_at - time.time()))


def _login_key(username: str) -> str:
    # A digest: a username is whatever the client sent, up to the 1 MiB body.
    return hashlib.sha256(username.lower().encode("utf-8", "replace")).hexdigest()


def refuse_locked_login(username: str) -> None:
    """Refuse a sign-in for a username that failed too often in the current window (code 4, 429).

    Counted by flask-limiter's strategy in its storage, so every instance sees the same lockout
    (each process its own while Redis is away)."""
    limiter = current_app.extensions["octeth_limiter"]
    item = current_app.extensions["octeth_login_limit"]
    key = (current_app.config["RATELIMIT_KEY_PREFIX"], "login-failures", _login_key(username))
    try:
        if limiter.limiter.test(item, *key):
            return
        reset_at = limiter.limiter.get_window_stats(item, *key).reset_time
    except Exception as error:  # a lockout is a brake on guessing, not a reason to refuse users
        log.warning("login lockout unavailable: %s", error.__class__.__name__)
        return
    raise APIError(4, "Too many failed sign-in attempts for this username; try again later", 429,
                   {"Retry-After": str(max(1, int(reset_at - time.time()) + 1))})


def count_failed_login(username: str) -> None:
    item = current_app.extensions["octeth_login_limit"]
    current_app.extensions["octeth_limits"].hit(item, current_app.config["RATELIMIT_KEY_PREFIX"],
                                                "login-failures", _login_key(username))
