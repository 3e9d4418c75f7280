"""The per-user rate limit (SPEC §8), counted in Redis when configured so that every worker and
every instance shares one count, in memory otherwise or while Redis is away."""
from __future__ import annotations

import logging
import time

from flask import Flask, current_app, g, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse

from .. import redis_options
from .envelope import APIError, rate_limited

log = logging.getLogger(__name__)


def _rate_key() -> str:
    caller = g.get("caller")
    if caller is not None:
        return f"user:{caller.user.user_id}"
    return f"addr:{request.remote_addr or 'local'}"


def init_app(app: Flask) -> None:
    config = app.config
    redis_url = config["OCTETH_REDIS_URL"]
    limiter = Limiter(
        key_func=_rate_key,
        app=app,
        storage_uri=redis_url or "memory://",
        # After the first failure flask-limiter counts in memory and probes Redis now and then
        # until it is back.
        storage_options=redis_options() if redis_url else {},
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        key_prefix=f"{config['OCTETH_REDIS_KEY_PREFIX']}:limit",
        strategy="fixed-window",
        headers_enabled=False,
    )
    app.extensions["octeth_limiter"] = limiter
    app.extensions["octeth_login_limit"] = parse(config["OCTETH_LOGIN_FAILURE_LIMIT"])
    # One bucket for both doors and every command: the seed documents one limit per user.
    app.extensions["octeth_api_limit"] = limiter.shared_limit(
        config["OCTETH_RATE_LIMIT"], scope="api", key_func=_rate_key
    )


def check() -> None:
    """Count this request against the caller's limit; 429 in the envelope once it is spent."""
    try:
        with current_app.extensions["octeth_api_limit"]:
            pass
    except RateLimitExceeded:
        current = current_app.extensions["octeth_limiter"].current_limit
        retry_after = int(current.reset_at - time.time()) + 1 if current else 60
        raise rate_limited(retry_after) from None


def _login_window(username: str) -> tuple[str, str, str]:
    return current_app.config["OCTETH_REDIS_KEY_PREFIX"], "login-failures", username.lower()


def refuse_locked_login(username: str) -> None:
    """Refuse a sign-in for a username that failed too often in the current window (code 4, 429).

    The count lives where the rate limit does, so every instance sees the same lockout. If that
    store fails, sign-in stays open: a lockout is a brake on guessing, not a reason to refuse users.
    """
    limit = current_app.extensions["octeth_login_limit"]
    try:
        strategy = current_app.extensions["octeth_limiter"].limiter
        if strategy.test(limit, *_login_window(username)):
            return
        reset_at = strategy.get_window_stats(limit, *_login_window(username)).reset_time
    except Exception as error:
        log.warning("login lockout store unavailable: %s", error.__class__.__name__)
        return
    raise APIError(4, "Too many failed sign-in attempts for this username; try again later", 429,
                   {"Retry-After": str(max(1, int(reset_at - time.time()) + 1))})


def count_failed_login(username: str) -> None:
    try:
        strategy = current_app.extensions["octeth_limiter"].limiter
        strategy.hit(current_app.extensions["octeth_login_limit"], *_login_window(username))
    except Exception as error:
        log.warning("login lockout store unavailable: %s", error.__class__.__name__)
