"""The per-user rate limit (SPEC §8), counted in Redis when configured so that every worker and
every instance shares one count, in memory otherwise or while Redis is away."""
from __future__ import annotations

import time

from flask import Flask, current_app, g, request
from flask_limiter import Limiter, RateLimitExceeded

from .. import redis_options
from .envelope import rate_limited


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
