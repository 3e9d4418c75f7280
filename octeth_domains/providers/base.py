"""What every DNS provider client shares.

A provider client is a plain object: no Flask, no database. ``dns.authorize``
calls :meth:`Provider.check_access`, ``dns.set`` calls
:meth:`Provider.ensure_records`. Everything that talks HTTP goes through
:meth:`Provider._request`, so every call has a timeout and the same bounded
retry policy, and every error text is cleaned of the caller's credentials
before it leaves this package.

The rule that matters more than any other (SPEC section 7): nothing of the
user's is lost. :func:`plan_changes` decides what to write from what the
provider already has; it only ever adds records, or rewrites a CNAME at one
of the service's own hosts. It never plans a deletion.
"""

from __future__ import annotations

import abc
import dataclasses
import email.utils
import logging
import time
import typing as t
import urllib.parse
from dataclasses import dataclass, field

import requests

from ..senderdomains import spf

logger = logging.getLogger("octeth_domains.providers")

#: What replaces a credential value in any text this package produces.
REDACTED = "[redacted]"


class ProviderError(Exception):
    """The provider could not be reached or gave an answer we cannot use.

    ``reason`` is one sentence a person can act on ("try again later",
    "check the API URL"). It never contains a credential: it is built by
    this package and passed through :func:`scrub`.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class AuthorizationFailed(ProviderError):
    """The provider refused the credentials, or the domain is not theirs to edit.

    Separate from :class:`ProviderError` because the API answers it with its
    own code (4, "the provider said no") rather than the generic code 9.
    """


class Credentials:
    """The secrets a caller hands over for one call.

    Which fields a provider needs: Cloudflare ``key`` (an API token);
    GoDaddy ``key`` and ``secret``; Namecheap ``key``, ``api_user`` and
    ``username``; PowerDNS ``key``. The object never shows its values in
    ``repr`` or ``str``, so it is safe in a traceback or a log line.
    """

    __slots__ = ("key", "secret", "api_user", "username")

    def __init__(
        self,
        key: str,
        secret: str | None = None,
        api_user: str | None = None,
        username: str | None = None,
    ) -> None:
        self.key = key
        self.secret = secret
        self.api_user = api_user
        self.username = username

    def values(self) -> list[str]:
        """Every non-empty credential value, longest first (for :func:`scrub`)."""
        found = [v for v in (self.key, self.secret, self.api_user, self.username) if v]
        return sorted(set(found), key=len, reverse=True)

    def __repr__(self) -> str:
        present = [name for name in self.__slots__ if getattr(self, name)]
        return f"<Credentials {', '.join(present) or 'empty'}>"

    __str__ = __repr__


def scrub(text: str, secrets: t.Iterable[str]) -> str:
    """Return ``text`` with every secret replaced by ``[redacted]``.

    Secrets travel in headers, query strings and form bodies, so besides the
    raw value this also removes its URL-encoded spellings (``%2B``, ``+`` for
    a space), which is how they show up in a ``requests`` error that quotes
    the URL.
    """
    if not text:
        return text
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for form in {
            secret,
            urllib.parse.quote(secret, safe=""),
            urllib.parse.quote_plus(secret),
            urllib.parse.quote(secret),
        }:
            text = text.replace(form, REDACTED)
    return text


def _canonical_name(name: str) -> str:
    return name.strip().rstrip(".").lower()


@dataclass(frozen=True)
class Record:
    """One DNS record, named by its fully qualified name.

    ``name`` is lower-cased and has no trailing dot (``sl.example.com``;
    the apex is the zone's own name). ``value`` is the record's data the
    way a person writes it: a CNAME target (trailing dot optional), a TXT
    string without quotes, an address, ``"10 mx.example.com"`` for an MX.
    ``ref`` is the provider's id for a record read from it (Cloudflare's
    record id); it takes no part in comparisons.
    """

    name: str
    type: str
    value: str
    ttl: int = 3600
    ref: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _canonical_name(self.name))
        object.__setattr__(self, "type", self.type.strip().upper())

    def same_data(self, other: Record) -> bool:
        """True when both records say the same thing, TTL aside.

        Host names in CNAME, MX and NS data compare case-insensitively and
        ignore a trailing dot; anything else (TXT above all) compares
        exactly.
        """
        return (
            self.name == other.name
            and self.type == other.type
            and normalize_value(self.type, self.value) == normalize_value(other.type, other.value)
        )


_HOST_TYPES = {"CNAME", "NS", "PTR", "ALIAS", "DNAME"}


def normalize_value(rtype: str, value: str) -> str:
    """The form of a record's data used to decide whether it is already there."""
    rtype = rtype.upper()
    value = value.strip()
    if rtype in _HOST_TYPES:
        return value.rstrip(".").lower()
    if rtype == "MX":
        parts = value.split()
        if len(parts) == 2 and parts[0].isdigit():
            return f"{int(parts[0])} {parts[1].rstrip('.').lower()}"
        return value.rstrip(".").lower()
    if rtype in {"A", "AAAA"}:
        return value.lower()
    return value


def parse_txt(content: str) -> str:
    """The text of TXT data given in zone-file form (``"a" "b"`` is ``ab``).

    Data that does not start and end with a quote is taken as it is:
    Cloudflare keeps TXT content the way it was entered, bare or quoted.
    Backslash escapes (``\\"``, ``\\\\``, ``\\065``) are undone inside quotes.
    """
    content = content.strip()
    if len(content) < 2 or content[0] != '"' or content[-1] != '"':
        return content
    data = bytearray()
    inside = False
    i = 0
    while i < len(content):
        char = content[i]
        if not inside:
            if char == '"':
                inside = True
            i += 1
            continue
        if char == "\\" and i + 1 < len(content):
            digits = content[i + 1 : i + 4]
            if len(digits) == 3 and digits.isdigit():
                data.append(int(digits) & 0xFF)
                i += 4
            else:
                data.extend(content[i + 1].encode("utf-8"))
                i += 2
            continue
        if char == '"':
            inside = False
        else:
            data.extend(char.encode("utf-8"))
        i += 1
    return data.decode("utf-8", errors="replace")


def quote_txt(value: str) -> str:
    """``value`` as TXT data in zone-file form: quoted, escaped, and cut into
    strings of at most 255 bytes (the limit of one DNS character-string)."""
    raw = value.encode("utf-8")
    chunks = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
    quoted = []
    for chunk in chunks:
        text = "".join(
            "\\" + chr(b) if chr(b) in '"\\' else chr(b) if 32 <= b < 127 else f"\\{b:03d}"
            for b in chunk
        )
        quoted.append(f'"{text}"')
    return " ".join(quoted)


def relative_name(name: str, zone: str) -> str:
    """``name`` relative to ``zone``: ``sl.mail.example.com`` in ``example.com``
    is ``sl.mail``; the zone's own name is ``@``.

    Raises :class:`ValueError` for a name outside the zone: that is a
    programming error, not something a provider said.
    """
    name, zone = _canonical_name(name), _canonical_name(zone)
    if name == zone:
        return "@"
    if name.endswith("." + zone):
        return name[: -len(zone) - 1]
    raise ValueError(f"{name!r} is not inside the zone {zone!r}")


def absolute_name(relative: str, zone: str) -> str:
    """The inverse of :func:`relative_name` (``@`` or empty is the apex)."""
    relative = relative.strip().rstrip(".").lower()
    zone = _canonical_name(zone)
    if relative in ("", "@"):
        return zone
    if relative == zone or relative.endswith("." + zone):
        # Some answers already carry the full name.
        return relative
    return f"{relative}.{zone}"


@dataclass(frozen=True)
class Change:
    """One write: add ``record``, or, when ``replaces`` is set, rewrite that
    existing record in place so that it says ``record`` (our own CNAME with
    another target, or the user's SPF record with our mechanisms merged in).
    Only ``replaces`` changes: the other records of its name and type stay."""

    record: Record
    replaces: Record | None = None


def plan_changes(
    wanted: t.Sequence[Record], existing: t.Sequence[Record]
) -> list[Change]:
    """Decide the writes that make ``wanted`` present without losing anything.

    The rules (SPEC section 7):

    - a record whose data is already there needs nothing (TTL is the
      user's business and is left alone);
    - a CNAME at a name that holds a CNAME to another target is rewritten in
      place: that host is the service's own;
    - an SPF value (``v=spf1 …``) at a name that already has an SPF record
      is merged into it: the mechanisms it lacks go before its ``all``, and
      that record is updated in place (nothing to do when it holds them
      all). A name never gets a second SPF record, which would make SPF fail
      for every message; a name that already has two is refused;
    - any other record (a TXT above all) is added beside what is there,
      never replacing it;
    - a CNAME cannot share its name with other data, and we will not delete
      the user's records to make room: that is a :class:`ProviderError`
      naming the host, raised before anything is written.

    Returns the changes in the order of ``wanted``; an empty list means the
    provider already has everything. ``wanted`` itself must be consistent (a
    CNAME alone at its name): :class:`ValueError` otherwise.
    """
    for record in wanted:
        if record.type == "CNAME" and any(
            other.name == record.name and not other.same_data(record) for other in wanted
        ):
            raise ValueError(f"{record.name}: a CNAME cannot share its name with other records")
    by_name: dict[str, list[Record]] = {}
    for record in existing:
        by_name.setdefault(record.name, []).append(record)

    changes: list[Change] = []
    planned: list[Record] = []
    for record in wanted:
        if any(record.same_data(p) for p in planned):
            continue
        here = by_name.get(record.name, [])
        if any(record.same_data(e) for e in here):
            continue
        if record.type == "TXT" and spf.is_spf(record.value):
            change = _merge_spf(record, here, changes)
            if change is not None:
                changes.append(change)
            planned.append(record)
            continue
        cnames = [e for e in here if e.type == "CNAME"]
        others = [e for e in here if e.type != "CNAME"]
        if record.type == "CNAME":
            if others:
                types = ", ".join(sorted({e.type for e in others}))
                raise ProviderError(
                    f"{record.name} already has {types} records, so the CNAME it needs cannot"
                    " be added; remove those records at the provider (or choose another"
                    " subdomain) and try again."
                )
            changes.append(Change(record, replaces=cnames[0] if cnames else None))
        else:
            if cnames:
                raise ProviderError(
                    f"{record.name} is a CNAME, so the {record.type} record it needs cannot be"
                    " added beside it; remove the CNAME at the provider and try again."
                )
            changes.append(Change(record))
        planned.append(record)
    return changes


def _merge_spf(record: Record, here: list[Record], changes: list[Change]) -> Change | None:
    """The write that puts the SPF mechanisms of ``record`` at its name: a new record when the
    name has no SPF record, else that record merged (None when it already holds them)."""
    # A change planned earlier for this name (two SPF values in one template) is merged into.
    for i, change in enumerate(changes):
        if change.record.name == record.name and change.record.type == "TXT" and spf.is_spf(change.record.value):
            merged = spf.merge(change.record.value, record.value)
            changes[i] = Change(dataclasses.replace(change.record, value=merged), replaces=change.replaces)
            return None
    current = [e for e in here if e.type == "TXT" and spf.is_spf(e.value)]
    if len(current) > 1:
        raise ProviderError(
            f"{record.name} already has {len(current)} SPF records, so SPF fails for every message"
            " sent from it; merge them into one record at the provider and try again."
        )
    if not current:
        return Change(record)
    merged = spf.merge(current[0].value, record.value)
    if merged == current[0].value:
        return None
    return Change(Record(record.name, "TXT", merged, current[0].ttl, ref=current[0].ref), replaces=current[0])


def written_hosts(records: t.Iterable[Record]) -> list[str]:
    """The distinct names of ``records``, first appearance first."""
    hosts: list[str] = []
    for record in records:
        if record.name not in hosts:
            hosts.append(record.name)
    return hosts


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Provider(abc.ABC):
    """A DNS provider's API, seen as a zone of records we may add to.

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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.api_url}>"

    def close(self) -> None:
        """Release the HTTP connections."""
        self.session.close()

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the interface -------------------------------------------------

    @abc.abstractmethod
    def find_zone(self, domain: str) -> t.Any:
        """The provider's own record of the zone named ``domain`` (a zone id,
        the domain's details, ...), for the other methods.

        ``domain`` is the zone's name as DNS sees it (found by walking up to
        the SOA). Raises :class:`AuthorizationFailed` when the provider
        refuses the credentials or the account does not hold that zone.
        """

    @abc.abstractmethod
    def get_records(self, zone_name: str, name: str) -> list[Record]:
        """Every record the provider has at the fully qualified ``name``."""

    @abc.abstractmethod
    def _existing(self, zone: t.Any, zone_name: str, wanted: list[Record]) -> list[Record]:
        """What the provider has that bears on ``wanted``: at least every
        record at each wanted name of the wanted type or of type CNAME."""

    @abc.abstractmethod
    def _apply(
        self, zone: t.Any, zone_name: str, changes: list[Change], existing: list[Record]
    ) -> None:
        """Write ``changes``; ``existing`` is what :meth:`_existing` returned."""

    @abc.abstractmethod
    def check_access(self, zone_name: str) -> None:
        """Return quietly when the credentials can manage ``zone_name``.

        Raises :class:`AuthorizationFailed` when the provider says no, and
        :class:`ProviderError` when it cannot be asked. Implementations read
        the zone and its records, which each provider refuses to a key that
        cannot manage them (no provider here can test a write permission
        without writing).
        """

    def ensure_records(self, zone_name: str, records: list[Record]) -> list[str]:
        """Make every one of ``records`` present in ``zone_name``; idempotent.

        Reads what the provider has, plans with :func:`plan_changes` (adds,
        and in-place updates of our own CNAMEs; never a deletion) and writes
        only if something is missing, so a second call makes no write
        request at all. Returns the hosts written or already present, in the
        order given.
        """
        zone_name = _canonical_name(zone_name)
        for record in records:
            relative_name(record.name, zone_name)  # ValueError if outside the zone
        zone = self.find_zone(zone_name)
        existing = self._existing(zone, zone_name, list(records))
        changes = plan_changes(records, existing)
        if changes:
            logger.info(
                "%s: writing %d record(s) in %s", self.label, len(changes), zone_name
            )
            self._apply(zone, zone_name, changes, existing)
        else:
            logger.info("%s: all records already present in %s", self.label, zone_name)
        return written_hosts(records)

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
        connection are retried up to ``self.retries`` times, waiting
        ``backoff * 2**n`` seconds, or the server's ``Retry-After`` (at most
        :attr:`max_retry_after`). When the retries run out the last 5xx/429
        answer is returned for the caller to judge; network failures and
        timeouts raise :class:`ProviderError`. Any other answer, 4xx
        included, is returned as it is. ``_retryable`` says which statuses
        are retried.
        """
        target = url or f"{self.api_url}{path}"
        shown = self.scrub(f"{method} {target.split('?', 1)[0]}")
        headers = self._headers()
        attempt = 0
        while True:
            try:
                response = self.session.request(
                    method,
                    target,
                    params=params,
                    json=json,
                    data=data,
                    headers=headers,
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
                logger.warning(
                    "%s: %s failed: %s", self.label, shown, self.scrub(type(exc).__name__)
                )
                if attempt < self.retries:
                    self._sleep(self.backoff * 2**attempt)
                    attempt += 1
                    continue
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
            if not self._retryable(response.status_code) or attempt >= self.retries:
                return response
            delay = self.backoff * 2**attempt
            hint = _retry_after(response)
            if hint is not None:
                delay = min(hint, self.max_retry_after)
            logger.info(
                "%s: HTTP %s, retrying in %.2fs", self.label, response.status_code, delay
            )
            response.close()
            self._sleep(delay)
            attempt += 1

    def _retryable(self, status: int) -> bool:
        """Whether an answer with ``status`` is worth asking again."""
        return status >= 500 or status in self.retry_statuses

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

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
        return self._error(
            f"{self.label} answered HTTP {response.status_code} after"
            f" {self.retries + 1} attempts; the service may be having trouble, try"
            " again later."
        )

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
