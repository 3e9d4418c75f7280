"""Structured logs: one JSON object per line, and one line per API request.

The request line says what happened (command, user, status, time) and never what was sent: no
query string, no parameters, so an API key, session id, password or provider credential cannot
reach a log from here.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from datetime import datetime, timezone

from flask import Flask, Response, g, request

access_log = logging.getLogger("octeth_domains.access")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
_CONTEXT_FIELDS = ("request_id", "command", "user_id", "status", "duration_ms", "method", "path")


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _RequestContext(logging.Filter):
    # Every line logged while a request runs carries its id, so a failure can be traced to it.
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            try:
                record.request_id = g.get("request_id")
            except RuntimeError:  # outside a request
                pass
        return True


def configure(app: Flask) -> None:
    """JSON lines on stderr (unless something already configured logging), and the request line."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JSONFormatter())
        handler.addFilter(_RequestContext())
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        # Our lines name no source line, thread or process; skip the stack walk and lookups that
        # fill those in for every record (the logging HOWTO's "Optimization").
        logging._srcfile = None
        logging.logThreads = False
        logging.logProcesses = False
        logging.logMultiprocessing = False

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        asked = request.headers.get("X-Request-ID", "")
        g.request_id = asked if _REQUEST_ID.match(asked) else os.urandom(16).hex()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        caller = g.get("caller")
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "request_id": g.get("request_id"),
                "command": g.get("command"),
                "user_id": caller.user.user_id if caller is not None else None,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
                "method": request.method,
                "path": request.path,
            },
        )
        return response
