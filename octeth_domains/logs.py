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
import threading
import time
from datetime import datetime, timezone
from typing import Any

from flask import Flask, Response, g, request

access_log = logging.getLogger("octeth_domains.access")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
PIPE_BUF = 4096  # POSIX's least guarantee is 512; Linux's is 4096
_CONTEXT_FIELDS = ("request_id", "command", "user_id", "admin_id", "status", "duration_ms", "method", "path")


class JSONFormatter(logging.Formatter):
    _second: tuple[int, str] = (0, "")  # the last second formatted, shared by threads as one value

    def _time(self, created: float) -> str:
        # The date and time change once a second and the lines come by the thousand: format the
        # second once (UTC, ISO 8601, milliseconds as datetime.isoformat() writes them).
        whole = int(created)
        second, text = self._second
        if second != whole:
            text = datetime.fromtimestamp(whole, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = (whole, text)
        return f"{text}.{int((created - whole) * 1000):03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self._time(record.created),
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


class BatchedStreamHandler(logging.StreamHandler):
    """A stream handler that writes INFO lines in batches, at most ``FLUSH_AFTER`` seconds late
    (as nginx's ``access_log … buffer= flush=`` does): one write per request would be one more
    system call, and one more hand-over of the GIL between a worker's threads, for every answer.
    A WARNING or worse is written at once, after the lines before it, and everything pending is
    written at exit (logging's own shutdown flushes handlers); a killed process loses at most the
    last ``FLUSH_AFTER`` seconds of request lines."""

    FLUSH_AFTER = 0.25
    MAX_PENDING = 64 * 1024

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._pending_size = 0
        self._timer: threading.Timer | None = None
        self._timer_pid = 0

    def emit(self, record: logging.LogRecord) -> None:
        # Called with self.lock held (Handler.handle).
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        self._pending.append(line)
        self._pending_size += len(line)
        if record.levelno >= logging.WARNING or self._pending_size >= self.MAX_PENDING:
            self._write()
        elif self._timer is None or self._timer_pid != os.getpid():  # none yet, or the parent's
            self._timer = threading.Timer(self.FLUSH_AFTER, self.flush)
            self._timer.daemon = True
            self._timer_pid = os.getpid()
            self._timer.start()

    def flush(self) -> None:
        with self.lock:
            self._timer = None
            self._write()

    def _write(self) -> None:
        # Workers share one stderr, often a pipe, where only writes of up to PIPE_BUF bytes are
        # never interleaved with another process's: the batch goes out in pieces of whole lines
        # no larger than that (a longer line alone, as it would have anyway).
        lines, chunk, size = self._pending, [], 0
        self._pending, self._pending_size = [], 0
        for line in lines:
            length = len(line) if line.isascii() else len(line.encode("utf-8", "replace"))
            if chunk and size + length > PIPE_BUF:
                self._put("".join(chunk))
                chunk, size = [], 0
            chunk.append(line)
            size += length
        if chunk:
            self._put("".join(chunk))

    def _put(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:
            pass  # a closed or broken stderr must not fail the request that logged


def configure(app: Flask) -> None:
    """JSON lines on stderr (unless something already configured logging), and the request line."""
    root = logging.getLogger()
    if not root.handlers:
        handler = BatchedStreamHandler(sys.stderr)
        handler.setFormatter(JSONFormatter())
        handler.addFilter(_RequestContext())
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        # Our lines name no source line: skip the stack walk that finds it for every record, the
        # one costly lookup (the logging HOWTO's "Optimization"). The thread and process ids stay:
        # they cost a call each, and other formats in the same process need them (gunicorn's
        # "[%(process)d]" fails on every line, its warnings lost, without them).
        logging._srcfile = None

    @app.before_request
    def _start() -> None:
        state = g._get_current_object()
        state.started = time.perf_counter()
        asked = request.environ.get("HTTP_X_REQUEST_ID", "")
        state.request_id = asked if _REQUEST_ID.match(asked) else os.urandom(16).hex()

    @app.after_request
    def _finish(response: Response) -> Response:
        # Each g or request lookup goes through a context-local proxy; look them up once.
        state, current = g._get_current_object(), request._get_current_object()
        request_id = getattr(state, "request_id", "")
        response.headers["X-Request-ID"] = request_id
        if access_log.isEnabledFor(logging.INFO):
            caller = getattr(state, "caller", None)
            started = getattr(state, "started", None)
            method, path, status = current.method, current.path, response.status_code
            access_log.info(
                "%s %s %s", method, path, status,
                extra={
                    "request_id": request_id,
                    "command": getattr(state, "command", None),
                    "user_id": caller.user.user_id if caller is not None and caller.user is not None else None,
                    "admin_id": caller.admin.admin_id if caller is not None and caller.admin is not None else None,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
                    "method": method,
                    "path": path,
                },
            )
        return response
