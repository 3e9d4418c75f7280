"""Local HTTP servers that behave like the DNS providers' public APIs.

Each fake listens on 127.0.0.1 on a free port, in a background thread, and
keeps its zones in memory. They implement what the providers document, with
the quirks a client must survive (Namecheap's replace-all ``setHosts`` and
its lower-case ``host`` element, the error bodies of each API).

Control knobs shared by every fake (see :class:`FakeServer`):

- ``server.requests``: every request received, as :class:`Seen`
  (method, path, query, headers, form, json), in order;
  ``server.writes()`` only the ones that change something.
- ``server.fail(n, status=500, retry_after=None)``: the next ``n`` requests
  get that status (with an empty JSON body) instead of being served.
- ``server.hang(n=1)``: the next ``n`` requests are never answered (until
  ``server.stop()``), to test client timeouts.
- ``server.add_zone(name, records, ...)`` / ``server.dump(name)``: seed and
  read a zone as ``(fqdn, type, value)`` tuples, the same shape for every
  fake, so tests can compare zones across providers.

Use as a context manager or call ``start()`` / ``stop()``.
"""

from __future__ import annotations

import json
import threading
import typing as t
from dataclasses import dataclass, field

from werkzeug.serving import WSGIRequestHandler, make_server

from octeth_domains.providers import Record
from werkzeug.wrappers import Request, Response

#: The zone every provider test starts from: records the user owns, which nothing may touch.
SPF = "v=spf1 include:_spf.example.net ~all"
UNRELATED = [
    ("example.com", "A", "192.0.2.10"),
    ("example.com", "MX", "10 mx1.example.net"),
    ("example.com", "TXT", SPF),
    ("www.example.com", "CNAME", "example.com"),
]
#: What the service publishes into it: a campaign set plus a TXT at the apex beside the SPF.
OURS = [
    Record("sl.example.com", "CNAME", "mailer.delivery.example."),
    Record("key1._domainkey.sl.example.com", "CNAME", "key1._domainkey.mailer.delivery.example."),
    Record("_dmarc.sl.example.com", "CNAME", "_dmarc.mailer.delivery.example."),
    Record("track-sl.example.com", "CNAME", "track.mailer.delivery.example."),
    Record("abcdefghij.sl.example.com", "TXT", "xG7_Jq2oR-ownership-token"),
    Record("example.com", "TXT", "octeth-verification=Zm9vYmFy"),
]

#: One record in the shape shared by every fake: (fully qualified name, TYPE, value).
#: Values: CNAME targets without the final dot, TXT text unquoted, MX as
#: "priority host".
Entry = tuple[str, str, str]

#: Types whose data is a host name (MX: "preference host").
_HOST_DATA = frozenset({"CNAME", "DNAME", "ALIAS", "NS", "PTR"})


def zone_file_value(zone: str, rtype: str, value: str) -> str:
    """A record's data as an API that reads host names as a zone file does serves it: a host
    without its final dot is relative to ``zone`` (``@`` the zone itself), one with it is as it
    is (written here without the dot, as ``dump`` writes every name)."""
    def host(name: str) -> str:
        if name.endswith("."):
            return name[:-1]
        return zone if name == "@" else f"{name}.{zone}"

    if rtype == "MX" and " " in value.strip():
        preference, name = value.strip().split(" ", 1)
        return f"{preference} {host(name.strip())}"
    return host(value.strip()) if rtype in _HOST_DATA else value


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    json: t.Any = None
    body: bytes = b""


class _QuietHandler(WSGIRequestHandler):
    """No access log: it would print the credentials the client sent, and a
    test that checks the client's logs must only see the client's."""

    def log(self, type: str, message: str, *args: t.Any) -> None:
        pass


class FakeServer:
    """A threaded WSGI server around :meth:`handle`, with the shared knobs."""

    #: Requests with these methods change state (Namecheap overrides :meth:`is_write`).
    write_methods = {"POST", "PUT", "PATCH", "DELETE"}
    #: How long a hanging request waits at most (it is released at ``stop()``).
    hang_seconds = 30.0

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.lock = threading.RLock()
        self._fail_left = 0
        self._fail_status = 500
        self._fail_retry_after: str | None = None
        self._fail_writes_only = False
        self._hang_left = 0
        self._acted_fail_left = 0
        self._acted_fail_status = 500
        self._release = threading.Event()
        self._server: t.Any = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- life ----------------------------------------------------------

    def start(self) -> FakeServer:
        self._server = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler
        )
        self._server.daemon_threads = True
        port = self._server.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- knobs ---------------------------------------------------------

    def fail(self, n: int, status: int = 500, retry_after: str | None = None, writes_only: bool = False) -> None:
        """Answer the next ``n`` requests (only the writes, with ``writes_only``) with ``status``
        instead of serving them."""
        with self.lock:
            self._fail_left = n
            self._fail_status = status
            self._fail_retry_after = retry_after
            self._fail_writes_only = writes_only

    def fail_after_acting(self, n: int, status: int = 500) -> None:
        """Carry out the next ``n`` writes, then answer each with ``status``: a server whose
        commit went through while its answer did not (a 500 after the commit, a proxy's 502)."""
        with self.lock:
            self._acted_fail_left = n
            self._acted_fail_status = status

    def hang(self, n: int = 1) -> None:
        """Never answer the next ``n`` requests (they wait until ``stop()``)."""
        with self.lock:
            self._hang_left = n

    def is_write(self, seen: Seen) -> bool:
        return seen.method in self.write_methods

    def writes(self) -> list[Seen]:
        """The requests received so far that would change state."""
        with self.lock:
            return [s for s in self.requests if self.is_write(s)]

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    # -- subclass API --------------------------------------------------

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def add_zone(self, name: str, records: t.Iterable[Entry], **options: t.Any) -> None:
        raise NotImplementedError

    def dump(self, name: str) -> list[Entry]:
        return [entry[1:] for entry in self.dump_ids(name)]

    def dump_ids(self, name: str) -> list[tuple[t.Any, str, str, str]]:
        """Like :meth:`dump`, each entry led by the record's id."""
        raise NotImplementedError

    @staticmethod
    def public(record: dict[str, t.Any]) -> dict[str, t.Any]:
        """A stored record as the API shows it: without the fake's own ``_`` fields."""
        return {k: v for k, v in record.items() if not k.startswith("_")}

    # -- plumbing ------------------------------------------------------

    def _wsgi(self, environ: dict[str, t.Any], start_response: t.Any) -> t.Iterable[bytes]:
        request = Request(environ)
        body = request.get_data(cache=True)
        payload = None
        if request.mimetype == "application/json" and body:
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None
        seen = Seen(
            method=request.method,
            path=request.path,
            query=dict(request.args.items()),
            headers=dict(request.headers.items()),
            form=dict(request.form.items()),
            json=payload,
            body=body,
        )
        with self.lock:
            self.requests.append(seen)
            hang = self._hang_left > 0
            if hang:
                self._hang_left -= 1
            fail = not hang and self._fail_left > 0 and (not self._fail_writes_only or self.is_write(seen))
            if fail:
                self._fail_left -= 1
            status, retry_after = self._fail_status, self._fail_retry_after
        if hang:
            self._release.wait(self.hang_seconds)
            response = Response("", status=504)
        elif fail:
            response = Response("{}", status=status, mimetype="application/json")
            if retry_after is not None:
                response.headers["Retry-After"] = retry_after
        else:
            with self.lock:
                response = self.handle(request)
                if self._acted_fail_left > 0 and self.is_write(seen) and response.status_code < 400:
                    self._acted_fail_left -= 1
                    response = Response("{}", status=self._acted_fail_status, mimetype="application/json")
        return response(environ, start_response)


@dataclass(frozen=True)
class LexiconCase:
    """What tests/test_lexicon_providers.py needs to run its shared tests against one fake: a
    fake module for a provider driven through dns-lexicon defines one as ``LEXICON_CASE``, and
    the test module finds it there (adding a fake adds its provider to every shared test)."""

    name: str  # the provider's name in the registry
    fake: t.Callable[[], "FakeServer"]  # a new fake, not started, that accepts ``good`` alone
    path: str  # where the API is mounted on the fake (the configured URL is fake.url + path)
    good: dict[str, str]  # working credentials as the commands take them: Api_key, Api_secret, Api_user
    bad: dict[str, str]  # credentials the fake refuses
    nameservers: tuple[str, str]  # two of the provider's name servers (dns.provider finds it by them)
    refused_status: int = 401  # the HTTP status the API answers refused credentials with
    # Makes the fake answer lists ``n`` records a page; None when the API lists a zone whole.
    page_size: t.Callable[["FakeServer", int], None] | None = None
    page_keys: tuple[str, ...] = ("page", "cursor")  # the query parameters that name a page

    def credentials(self, params: dict[str, str] | None = None) -> t.Any:
        from octeth_domains.providers import Credentials

        given = self.good if params is None else params
        return Credentials(given["Api_key"], given.get("Api_secret"), given.get("Api_user"))


def per_page(server: "FakeServer", n: int) -> None:
    """A ``LexiconCase.page_size`` for the fakes that page by ``default_per_page`` up to
    ``max_per_page`` (DigitalOcean's, Vultr's)."""
    server.default_per_page = server.max_per_page = n


def json_response(payload: t.Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


__all__ = ["Entry", "FakeServer", "LexiconCase", "Seen", "json_response", "per_page"]
