"""HTTP to a provider's API: every call has a timeout and the same bounded retry policy (urllib3's
``Retry`` on the session's adapter), and every error text is cleaned of the caller's credentials
before it leaves this package.
"""
from __future__ import annotations

import logging
import typing as t
import urllib.parse

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from .errors import ProviderError
from .secrets import Credentials, scrub

logger = logging.getLogger("octeth_domains.providers")


#: The answers that say a request was not acted on, so that even a write may be sent again.
NOT_ACTED_ON = frozenset({429, 503})
_WRITES = frozenset({"POST", "PATCH"})  # PUT and DELETE say the whole outcome: repeating them is harmless


def write_may_repeat(client: t.Any, method: str, status: int, path: str | None = None) -> bool:
    """Whether a call answered ``status`` may be sent again. A POST or PATCH answered another 5xx
    (a 500 after the commit, a proxy's 502 after the backend acted) may have been carried out, and
    sending it again could publish a record twice; unless the client's API makes such a write
    safe to repeat (:attr:`HttpClient.repeatable_writes`), at that ``path`` (none of
    :attr:`HttpClient.unrepeatable_paths`; ``None``: not known yet)."""
    if client is None or method.upper() not in _WRITES:
        return True
    if status in NOT_ACTED_ON or status in getattr(client, "retry_statuses", ()):
        return True
    if not getattr(client, "repeatable_writes", False):
        return False
    return path is None or not any(part in path for part in getattr(client, "unrepeatable_paths", ()))


def server_trouble(label: str, response: requests.Response, retries: int) -> str:
    """What to tell of a 5xx that outlived the retries: how many times the call was sent, read off
    urllib3's record of its retries, since a write that may have been carried out is sent once."""
    history = getattr(getattr(getattr(response, "raw", None), "retries", None), "history", ())
    attempts = len(history) + 1
    method = str(getattr(getattr(response, "request", None), "method", "") or "").upper()
    if attempts == 1 and retries > 0 and method in _WRITES:
        return (f"{label} answered HTTP {response.status_code} to a change, which was not sent again (it may"
                " have been made): try again later, and a second dns.set completes what is missing.")
    return (f"{label} answered HTTP {response.status_code} after {attempts} attempt{'s' * (attempts != 1)};"
            " the service may be having trouble, try again later.")


class _WriteOnce:
    """A urllib3 ``Retry`` that sends a write again only where :func:`write_may_repeat` says so;
    ``client`` is the provider client the retries are for."""

    client: t.Any = None

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if not write_may_repeat(self.client, method, status_code):
            return False
        return super().is_retry(method, status_code, has_retry_after)  # type: ignore[misc]

    def increment(self, method: str | None = None, url: str | None = None, response: t.Any = None,
                  *args: t.Any, **kwargs: t.Any) -> t.Any:
        # urllib3 asks is_retry without the URL; the path is known only here, before the repeat.
        # MaxRetryError ends the retries, and with raise_on_status=False the answer is returned.
        if (response is not None and method and url
                and not write_may_repeat(self.client, method, response.status, urllib.parse.urlsplit(url).path)):
            raise MaxRetryError(kwargs.get("_pool"), url, ResponseError(f"{method} answered {response.status}:"
                                                                        " not sent again"))
        return super().increment(method, url, response, *args, **kwargs)  # type: ignore[misc]


class _Retry(_WriteOnce, Retry):
    """urllib3's ``Retry`` with the client's own policy: ``backoff``, twice that, ... before the
    retries (urllib3 would wait nothing before the first), a ``Retry-After`` honoured up to
    the client's ``max_retry_after`` (read at each wait, so a client may change it), and a write
    sent again only when the answer says it was not acted on."""

    client: HttpClient | None = None

    def new(self, **options: t.Any) -> _Retry:
        retry = t.cast(_Retry, super().new(**options))
        retry.client = self.client
        return retry

    def get_backoff_time(self) -> float:
        if self.client is None or not self.history:
            return 0.0
        return self.client.backoff * 2 ** (len(self.history) - 1)

    def get_retry_after(self, response: t.Any) -> float | None:
        seconds = super().get_retry_after(response)
        if seconds is None or self.client is None:
            return seconds
        return min(seconds, self.client.max_retry_after)


class HttpClient:
    """One provider's HTTP API: a session, a timeout on every call and bounded retries.

    :param credentials: the caller's secrets, used for this object's calls
        only and never stored anywhere else.
    :param api_url: the API's base URL. It comes from configuration only,
        never from a request, so a caller cannot aim the service at an
        address of its choosing.
    :param timeout: seconds allowed for each HTTP call (connect and each
        read).
    :param retries: how many times a call is repeated after a 5xx, a 429
        or a connection failure. A call that timed out reading the answer
        is not repeated: the provider may have acted on it, and the caller
        is better served by an error now than by waiting several timeouts.
    :param backoff: seconds before the first retry, doubled for each next.
    """

    #: The name used in ``dns.*`` requests and in messages.
    name: t.ClassVar[str] = ""
    #: The name a person knows the provider by.
    label: t.ClassVar[str] = ""
    #: Longest ``Retry-After`` we honour; a longer one is cut to this.
    max_retry_after: t.ClassVar[float] = 5.0
    #: Statuses retried besides every 5xx (a provider may add its own signal).
    retry_statuses: t.ClassVar[frozenset[int]] = frozenset({429})
    #: Whether this API's POST and PATCH calls may be sent again after any 5xx: where its writes
    #: replace a whole set (Namecheap's setHosts, PowerDNS's rrsets) and its reads are POSTs too.
    #: Elsewhere a write answered a 5xx other than 503 is not repeated (:func:`write_may_repeat`).
    repeatable_writes: t.ClassVar[bool] = False
    #: Parts of the paths whose writes are never sent again after such a 5xx, even where
    #: ``repeatable_writes`` (an API whose reads are POSTs too, but whose creates add a record).
    unrepeatable_paths: t.ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        credentials: Credentials,
        *,
        api_url: str,
        timeout: float = 10,
        retries: int = 2,
        backoff: float = 0.5,
        **extra: t.Any,
    ) -> None:
        self.credentials = credentials
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = max(0.0, backoff)
        self.extra = extra
        self.session = requests.Session()
        # Never pick up proxies or a .netrc from the environment: a .netrc
        # entry would silently replace our Authorization header.
        self.session.trust_env = False
        adapter = HTTPAdapter(max_retries=self._retry_policy())
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def _retry_policy(self) -> Retry:
        """The bounded retries, by urllib3 under every call of the session: a failed connection
        and a 5xx or ``retry_statuses`` answer, for every method but a write the provider may
        have carried out (:func:`write_may_repeat`); never a read that timed out or broke
        off (``read=False``: the provider may have acted on it, and an error now serves the
        caller better than several timeouts). When they run out the last answer is returned
        (``raise_on_status=False``) for the client to judge."""
        retry = _Retry(
            total=self.retries,
            connect=self.retries,
            read=False,
            status=self.retries,
            other=0,
            allowed_methods=None,
            status_forcelist=frozenset(range(500, 600)) | self.retry_statuses,
            backoff_factor=0,
            raise_on_status=False,
            respect_retry_after_header=True,
        )
        retry.client = self
        return retry

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.api_url}>"

    def close(self) -> None:
        """Release the HTTP connections."""
        self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- HTTP ----------------------------------------------------------

    def scrub(self, text: str) -> str:
        """``text`` without any of this object's credential values."""
        return scrub(text, self.credentials.values())

    def _error(self, reason: str, cls: type[ProviderError] = ProviderError) -> ProviderError:
        return cls(self.scrub(reason))

    def _headers(self) -> dict[str, str]:
        """Headers sent with every call (authentication above all)."""
        return {}

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: t.Any = None,
        json: t.Any = None,
        data: t.Any = None,
        url: str | None = None,
    ) -> requests.Response:
        """Send one call, retrying what is safe to retry, and return the answer.

        Every attempt has ``self.timeout``. A 5xx or 429 answer and a failed
        connection are retried up to ``self.retries`` times (a write answered
        a 5xx it may have been carried out under, only as
        :func:`write_may_repeat` allows), waiting
        ``backoff * 2**n`` seconds, or the server's ``Retry-After`` (at most
        :attr:`max_retry_after`). When the retries run out the last 5xx/429
        answer is returned for the caller to judge; network failures and
        timeouts raise :class:`ProviderError`. Any other answer, 4xx
        included, is returned as it is. ``_retryable`` says which statuses
        are retried.
        """
        target = url or f"{self.api_url}{path}"
        shown = self.scrub(f"{method} {target.split('?', 1)[0]}")
        try:
            response = self.session.request(
                method,
                target,
                params=params,
                json=json,
                data=data,
                headers=self._headers(),
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.exceptions.ReadTimeout:
            logger.warning("%s: %s timed out", self.label, shown)
            raise self._error(
                f"{self.label} did not answer within {self.timeout:g} seconds; it may be"
                " slow or unreachable right now, try again later."
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            logger.warning("%s: %s failed: %s", self.label, shown, self.scrub(type(exc).__name__))
            raise self._error(
                f"Could not connect to {self.label} at {self._host()}"
                f" ({self._describe(exc)}); check the network and the API URL, then"
                " try again."
            ) from None
        except requests.exceptions.RequestException as exc:
            raise self._error(
                f"The request to {self.label} failed ({self._describe(exc)})."
            ) from None
        logger.debug("%s: %s -> HTTP %s", self.label, shown, response.status_code)
        return response

    def _retryable(self, status: int) -> bool:
        """Whether an answer with ``status`` is worth asking again."""
        return status >= 500 or status in self.retry_statuses

    def _host(self) -> str:
        return urllib.parse.urlsplit(self.api_url).netloc or self.api_url

    def _describe(self, exc: Exception) -> str:
        """A short, credential-free description of a transport failure."""
        text = str(exc)
        for hint, words in (
            ("Connection refused", "connection refused"),
            ("Name or service not known", "host name not found"),
            ("nodename nor servname", "host name not found"),
            ("Temporary failure in name resolution", "host name not found"),
            ("CERTIFICATE_VERIFY_FAILED", "TLS certificate not trusted"),
            ("timed out", "connection timed out"),
        ):
            if hint in text:
                return words
        return "the connection failed"  # never a library's exception name: it tells a user nothing

    def _unavailable(self, response: requests.Response) -> ProviderError:
        """The error for a 5xx or 429 that outlived the retries."""
        if response.status_code < 500:
            return self._error(
                f"{self.label} is limiting the rate of requests (HTTP"
                f" {response.status_code}); wait a minute and try again."
            )
        return self._error(server_trouble(self.label, response, self.retries))

    def _json(self, response: requests.Response) -> t.Any:
        """The JSON body of ``response``, or a :class:`ProviderError` saying
        the answer was not what this API sends."""
        try:
            return response.json()
        except ValueError:
            raise self._error(
                f"{self.label} sent an answer that is not JSON (HTTP"
                f" {response.status_code}); check that the API URL points at its API."
            ) from None
