"""The gunicorn worker the service runs in (gunicorn.conf.py's ``worker_class``): gunicorn's own
threaded worker, with a quick shutdown that cannot hang.

gthread's SIGQUIT handler (Ctrl-C at the master, which sends SIGQUIT to its workers) calls
``ThreadPoolExecutor.shutdown()`` from the signal handler. When the signal lands while the worker's
main thread is inside ``ThreadPoolExecutor.submit()``, which holds the pool's lock (as it does for
as long as a new thread takes to start, so most often on a worker's first requests), the handler
waits for a lock its own thread holds: the worker never exits, and the master kills it after
``graceful_timeout`` (30 s), "Worker was sent SIGKILL". Seen with gunicorn 27.0.1.

The base worker's quick shutdown is enough: it raises SystemExit in the main thread, which leaves
``submit()`` and its lock, and the interpreter's exit then ends the pool's threads, each after the
request it is answering.

A request gunicorn itself refuses before the application sees it (a URL over
``limit_request_line``, too many or too large headers, a request line that is not HTTP) is
answered in the API's envelope with gunicorn's status, instead of gunicorn's HTML page: a client
parsing JSON must be able to read it."""
from __future__ import annotations

from datetime import datetime

from gunicorn import util
from gunicorn.http import errors as http
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers.base import Worker
from gunicorn.workers.gthread import ThreadWorker as _GunicornThreadWorker


def _errors(*names: str) -> tuple[type, ...]:
    # By name: gunicorn adds error classes over its releases, and an older one installed must
    # still load this worker (its requests then take gunicorn's own answer).
    return tuple(kind for kind in (getattr(http, name, None) for name in names) if isinstance(kind, type))


# (what gunicorn raised, its status and reason, what the client is told), first match wins.
_REFUSED = [
    (_errors("LimitRequestLine"), 414, "URI Too Long", "Request line too long: send the parameters in the body of a POST"),
    (_errors("LimitRequestHeaders"), 431, "Request Header Fields Too Large", "Request headers too many or too large"),
    (_errors("InvalidRequestLine", "InvalidRequestMethod", "InvalidHTTPVersion", "InvalidHeaderName", "InvalidHeader",
             "ObsoleteFolding", "InvalidChunkSize", "ChunkMissingTerminator", "InvalidChunkExtension"),
     400, "Bad Request", "Malformed HTTP request"),
]
# A header the application tried to send is the application's fault: gunicorn's own 500.
_NOT_THE_CLIENTS = _errors("InvalidResponseHeader", "InvalidResponseHeaderName")
# The refusals that carry the request they were reading, for the access log.
_CARRY_THE_REQUEST = _errors("InvalidHeader", "InvalidHeaderName")


class ThreadWorker(_GunicornThreadWorker):
    def handle_quit(self, sig, frame) -> None:
        Worker.handle_quit(self, sig, frame)

    def handle_error(self, req, client, addr, exc) -> None:
        refused = None if isinstance(exc, _NOT_THE_CLIENTS) else next(
            (entry for entry in _REFUSED if isinstance(exc, entry[0])), None)
        if refused is None:
            return super().handle_error(req, client, addr, exc)
        _, status, reason, message = refused
        started = datetime.now()
        addr = addr or ("", -1)  # a unix socket
        self.log.warning("Invalid request from ip=%s: %s", addr[0], exc)
        from .api import envelope  # the app's, imported once the worker has loaded it

        data = envelope.dumps(envelope.bad_request(message).body()).encode("utf-8")
        head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n\r\n")
        try:
            util.write_nonblock(client, head.encode("latin-1") + data)
        except Exception:
            self.log.debug("Failed to send error message.")
        if req is None and isinstance(exc, _CARRY_THE_REQUEST):
            req = getattr(exc, "req", None)  # as gunicorn's own handler finds it
        if req is not None:  # the access log line gunicorn's own answer would have written
            try:
                environ = default_environ(req, client, self.cfg)
                environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = addr[0], str(addr[1])
                answer = Response(req, client, self.cfg)
                answer.status, answer.response_length = f"{status} {reason}", len(data)
                self.log.access(answer, req, environ, datetime.now() - started)
            except Exception:
                self.log.debug("Failed to log the refused request.")
