"""``GET /health``: whether this instance can serve, for load balancers and operators."""
from __future__ import annotations

from flask import Blueprint, Response, current_app

from .api.envelope import render

bp = Blueprint("health", __name__)


@bp.route("/health", methods=["GET"])
def health() -> Response:
    """200 ``{"status": "ok"}`` when the database and Redis (if configured) answer; else 503 with
    the parts that did not. A Redis outage makes this 503 although the API degrades gracefully
    without Redis: the balancer should know that limits are per process and caches are off."""
    failed = []
    try:
        current_app.extensions["octeth_db"].ping()
    except Exception:  # DatabaseUnavailable, or anything else a broken database raises
        failed.append("database")
    redis_client = current_app.extensions["octeth_redis"]
    if redis_client is not None:
        try:
            redis_client.ping()
        except Exception:
            failed.append("redis")
    if failed:
        return render({"status": "unavailable", "failed": failed}, status=503, headers={"Retry-After": "30"})
    return render({"status": "ok"})
