"""The adapter between our :class:`Provider` and dns-lexicon's provider classes (SPEC §11).

dns-lexicon drives about ninety DNS providers' APIs; each of its provider classes can
authenticate, list, create, update and delete records. This adapter uses it for the first four
only. Our planner (:func:`plan_changes`) decides every write from the zone it listed, so lexicon
is asked to create a record or to update one in place (our own CNAME with another target, or the
user's SPF record with our mechanisms merged in), and never to delete anything: no code path here
calls ``delete_record``.

Three choices, and why:

- **No** ``lexicon.client.Client``. It splits the domain with tldextract, which fetches the public
  suffix list from the internet on first use. The zone is already known (``dns.provider`` found it
  by walking up to the SOA), so the provider class is built directly, from a
  ``lexicon.config.ConfigResolver`` holding only what we give it (``domain`` = our zone; no
  environment variables, no configuration files), and pointed at the configured API URL.

- **Bounded calls without patching lexicon.** Lexicon's providers call ``requests.request(...)``
  (or a ``requests.Session`` of their own) with no timeout and no retries. Every one of those calls
  goes through ``requests.Session.request``, so this module wraps that method once, at import.
  The wrapper does nothing unless a context variable is set, and only :meth:`LexiconProvider._call`
  sets it, for the duration of one lexicon call of ours: then the call gets our timeout when it
  names none, the session gets an ``HTTPAdapter`` with a urllib3 ``Retry`` (5xx and 429 retried a
  bounded number of times with backoff, ``Retry-After`` honoured up to a cap, a read timeout not
  repeated since the provider may have acted on it) and ignores proxies and ``.netrc`` from the
  environment, like our own clients. Every other user of ``requests`` in the process, our own
  clients included, and other threads, are unaffected, and lexicon's code stays as it is published
  (nothing to re-check at each upgrade but the names of its endpoint attributes).

- **Errors are ours.** Lexicon raises ``requests.HTTPError`` (whose text quotes the URL, which
  for some providers carries a token), its own ``AuthenticationError``/``LexiconError``, or
  whatever a malformed answer causes (``KeyError``...). :meth:`LexiconProvider._call` turns each
  into :class:`AuthorizationFailed` (HTTP 401/403, the zone not in the account) or
  :class:`ProviderError` with a sentence a person can act on, cleaned of every credential, and
  drops the original (``from None``) so its text cannot reach a caller or a log line.

A provider module subclasses :class:`LexiconProvider`, names lexicon's module and the lexicon
options its credentials go to, and overrides a hook where its API needs it (where the API URL is
kept, how TXT data comes back, how a record set without ids is updated in place).
"""
from __future__ import annotations

import contextvars
import importlib
import json
import logging
import typing as t
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from . import (
    AuthorizationFailed, Change, Credentials, Provider, ProviderError, Record, parse_txt, relative_name, written_hosts,
)

from .http import _WriteOnce, server_trouble

logger = logging.getLogger("octeth_domains.providers")


class _CappedRetry(_WriteOnce, Retry):
    """urllib3's Retry, with a server's ``Retry-After`` cut to :attr:`cap` seconds (a provider
    asking for an hour must not hold a request of ours for an hour), and a write sent again only
    when the answer says it was not acted on (:func:`~.http.write_may_repeat`)."""

    cap: float = 5.0

    def new(self, **kw: t.Any) -> _CappedRetry:
        # urllib3 makes a new Retry after each attempt; the cap and the client must travel with it.
        retry = super().new(**kw)
        retry.cap, retry.client = self.cap, self.client
        return retry

    def get_retry_after(self, response: t.Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.cap)


@dataclass(frozen=True, eq=False)
class _Policy:
    timeout: float
    retry: Retry


#: Set only while one of our lexicon calls runs (see the module's docstring).
_POLICY: contextvars.ContextVar[_Policy | None] = contextvars.ContextVar("octeth_lexicon_policy", default=None)
_original_request = requests.Session.request


def _bounded_request(self: requests.Session, method: str, url: str, *args: t.Any, **kwargs: t.Any) -> t.Any:
    policy = _POLICY.get()
    if policy is not None:
        # ``timeout`` is the seventh positional parameter of Session.request; lexicon passes
        # keywords, and a caller that gave one positionally keeps it.
        if len(args) < 7 and kwargs.get("timeout") is None:
            kwargs["timeout"] = policy.timeout
        if getattr(self, "_octeth_policy", None) is not policy:
            adapter = HTTPAdapter(max_retries=policy.retry)
            self.mount("https://", adapter)
            self.mount("http://", adapter)
            self.trust_env = False
            self._octeth_policy = policy  # type: ignore[attr-defined]
    return _original_request(self, method, url, *args, **kwargs)


_bounded_request._octeth_bounded = True  # type: ignore[attr-defined]
if not getattr(requests.Session.request, "_octeth_bounded", False):
    requests.Session.request = _bounded_request  # type: ignore[method-assign]


#: The types whose data ends with a host name (MX: "priority host").
HOST_TYPES = frozenset({"CNAME", "NS", "MX"})


def served_host(rtype: str, value: str, zone_name: str) -> str:
    """A CNAME, NS or MX value read from an API whose host names are relative to the zone, with
    its host as the API serves it: ``mailer`` in example.com is ``mailer.example.com.``, ``@``
    the zone itself; a host with its final dot is as it is."""
    if rtype not in HOST_TYPES:
        return value
    priority, _, host = value.strip().rpartition(" ") if rtype == "MX" else ("", "", value.strip())
    if host and not host.endswith("."):
        host = f"{zone_name}." if host == "@" else f"{host}.{zone_name}."
    return f"{priority} {host}" if priority else host


def lexicon_class(module: str) -> type:
    """Lexicon's provider class of ``module`` (``digitalocean``): its providers live in
    ``lexicon._private.providers`` since 3.23 (``lexicon.providers`` before)."""
    for package in ("lexicon._private.providers", "lexicon.providers"):
        try:
            return importlib.import_module(f"{package}.{module}").Provider
        except ModuleNotFoundError as exc:
            if exc.name and not exc.name.startswith("lexicon"):
                raise  # a dependency of that provider (boto3) is missing: say so
    raise ModuleNotFoundError(f"dns-lexicon has no provider {module!r}")


class LexiconProvider(Provider):
    """A DNS provider driven through one of dns-lexicon's provider classes.

    Subclasses set :attr:`lexicon_name`, :attr:`options` (our credential attribute -> lexicon's
    option name) and :attr:`default_api_url`, and override the hooks their API needs.
    """

    #: Lexicon's module for this provider.
    lexicon_name: t.ClassVar[str] = ""
    #: Credentials attribute (key, secret, api_user, username) -> lexicon option (auth_token...).
    options: t.ClassVar[dict[str, str]] = {}
    #: Lexicon options that do not come from the caller (Gandi's api_protocol).
    fixed_options: t.ClassVar[dict[str, t.Any]] = {}
    #: The provider's public API, used when configuration names none.
    default_api_url: t.ClassVar[str] = ""
    #: What to tell a person whose credentials were refused.
    credentials_hint: t.ClassVar[str] = "check the credentials and that they may edit this zone's DNS records"
    #: Whether update_record is given the record's name (some APIs take only the new data).
    update_sends_name: t.ClassVar[bool] = True
    #: How the apex is named to lexicon: None for the zone's own name (lexicon then sends it
    #: empty), "@" for the APIs that want "@" (lexicon passes "@" through as it is).
    apex_name: t.ClassVar[str | None] = None
    #: Whether the API reads a host name without its final dot as relative to the zone, as a
    #: zone file does (``mailer.delivery.example`` in example.com served as
    #: ``mailer.delivery.example.example.com``): host names then go out with the dot, and one read
    #: back without it is taken as the name the API serves (:func:`served_host`).
    relative_hosts: t.ClassVar[bool] = False
    #: How an MX record's preference reaches the API: ``"data"``, part of the record's data
    #: ("10 mx.example.net"); ``"option"``, lexicon's ``priority`` option, the data the host alone
    #: (lexicon's provider reads it from its settings and lists it back as ``priority`` or
    #: ``options.mx.priority``); ``"field"``, a field of the API's own that lexicon neither sends
    #: nor lists: the module creates an MX record itself (:meth:`_create`) and reads each listed
    #: one's preference (:meth:`_preference_of`).
    mx_preference: t.ClassVar[str] = "data"

    def __init__(self, credentials: Credentials, *, api_url: str | None = None, timeout: float = 10,
                 retries: int = 2, backoff: float = 0.5, **extra: t.Any) -> None:
        super().__init__(credentials, api_url=api_url or self.default_api_url, timeout=timeout,
                         retries=retries, backoff=backoff, **extra)
        retry = _CappedRetry(
            total=self.retries, connect=self.retries, read=False, status=self.retries, other=0,
            backoff_factor=self.backoff, status_forcelist=frozenset(range(500, 600)) | {429},
            allowed_methods=None, respect_retry_after_header=True, raise_on_status=False,
        )
        # max_retry_after: the longest Retry-After honoured (a setting, or a test's shorter one).
        retry.cap = float(extra.get("max_retry_after") or self.max_retry_after)
        retry.client = self
        self._policy = _Policy(float(timeout), retry)

    # -- building lexicon's provider ------------------------------------

    def _settings(self, zone_name: str) -> dict[str, t.Any]:
        """Everything lexicon's provider reads from its configuration. Kept as a dict the
        resolver reads live, so :meth:`_apply` can set the TTL of each write."""
        provider = dict(self.fixed_options)
        for attribute, option in self.options.items():
            value = getattr(self.credentials, attribute, None)
            if value:
                provider[option] = value
        return {"provider_name": self.lexicon_name, "domain": zone_name, "ttl": 3600,
                self.lexicon_name: provider}

    def _point(self, provider: t.Any) -> None:
        """Aim lexicon's provider at our API URL (most keep it in ``api_endpoint``)."""
        provider.api_endpoint = self.api_url

    def _connect(self, zone_name: str) -> t.Any:
        from lexicon.config import ConfigResolver

        settings = self._settings(zone_name)
        cls = lexicon_class(self.lexicon_name)

        def build() -> t.Any:
            provider = cls(ConfigResolver().with_dict(settings))
            provider._octeth_settings = settings
            self._point(provider)
            return provider

        return self._call(build, zone=zone_name)

    # -- the Provider interface -----------------------------------------

    def find_zone(self, domain: str) -> t.Any:
        zone_name = domain.strip().rstrip(".").lower()
        provider = self._connect(zone_name)
        self._call(self._authenticate, provider, zone_name, zone=zone_name)
        return provider

    def check_access(self, zone_name: str) -> None:
        self._list(self.find_zone(zone_name), zone_name)

    def get_records(self, zone_name: str, name: str) -> list[Record]:
        name = name.strip().rstrip(".").lower()
        return [r for r in self._list(self.find_zone(zone_name), zone_name, {name}) if r.name == name]

    def _existing(self, zone: t.Any, zone_name: str, wanted: list[Record]) -> list[Record]:
        names = set(written_hosts(wanted))
        return [r for r in self._list(zone, zone_name, names) if r.name in names]

    def _apply(self, zone: t.Any, zone_name: str, changes: list[Change], existing: list[Record]) -> None:
        for change in changes:
            record = change.record
            zone._octeth_settings["ttl"] = record.ttl
            # A string: lexicon's providers send the option only when it is truthy, and 0 is a preference.
            mx = record.preference if self.mx_preference == "option" else None
            zone._octeth_settings["priority"] = None if mx is None else str(mx)
            if change.replaces is not None:
                self._update(zone, zone_name, change, existing)
            else:
                self._create(zone, zone_name, record)

    # -- hooks ----------------------------------------------------------

    def _authenticate(self, provider: t.Any, zone_name: str) -> None:
        """Find the zone in the account (lexicon's ``authenticate``: the zone's id, the account's)."""
        provider.authenticate()

    def _list(self, provider: t.Any, zone_name: str, names: t.Collection[str] = ()) -> list[Record]:
        """Every record of the zone (lexicon's providers follow their API's pagination). With
        ``mx_preference = "field"`` an MX record's preference costs a call of its own: it is read
        at ``names`` only (the names a run writes), and reads 0 elsewhere."""
        records = []
        for item in self._call(provider.list_records) or ():
            record = self._to_record(item, zone_name)
            if self.mx_preference == "field" and record.type == "MX" and record.name in names:
                record = self._to_record({**item, "priority": self._call(self._preference_of, provider, item)},
                                         zone_name)
            records.append(record)
        return records

    def _preference_of(self, provider: t.Any, item: dict[str, t.Any]) -> int | None:
        """The preference of the listed MX record ``item`` (``mx_preference = "field"``)."""
        raise NotImplementedError

    def _relative(self, record: Record, zone_name: str) -> str:
        """``record``'s name relative to the zone, for the calls a module sends itself: the apex
        is :attr:`apex_name` where that is "@", else empty (as lexicon sends it)."""
        name = relative_name(record.name, zone_name)
        return "" if name == "@" and self.apex_name != "@" else name

    def _mx_body(self, zone_name: str, record: Record, data_key: str = "data") -> dict[str, t.Any]:
        """An MX record as APIs of ``{type, name, <data_key>, priority, ttl}`` records take it
        (DigitalOcean's, Vultr's, DNSimple's ``content``), the preference a field of its own."""
        return {"type": "MX", "name": self._relative(record, zone_name), data_key: self._content(record),
                "priority": record.preference, "ttl": record.ttl}

    def _create(self, provider: t.Any, zone_name: str, record: Record) -> None:
        """Add ``record`` (lexicon's ``create_record``, the record's TTL in its settings)."""
        self._call(provider.create_record, record.type, self._name(record, zone_name), self._content(record))

    def _update(self, provider: t.Any, zone_name: str, change: Change, existing: list[Record]) -> None:
        """Rewrite ``change.replaces`` in place, by its id."""
        old, record = change.replaces, change.record
        assert old is not None
        if not old.ref:
            raise self._error(
                f"{self.label} gave no id for the {old.type} record at {old.name}, so it cannot be"
                " updated in place; change it at the provider and try again."
            )
        name = self._name(record, zone_name) if self.update_sends_name else None
        self._call(provider.update_record, old.ref, record.type, name, self._content(record))

    def _name(self, record: Record, zone_name: str) -> str:
        """The record's name as lexicon's provider is given it."""
        if self.apex_name is not None and record.name == zone_name:
            return self.apex_name
        return record.name

    def _content(self, record: Record) -> str:
        """The data lexicon's provider is given: TXT unquoted (lexicon's providers quote it
        themselves where their API wants quotes), host names without the final dot (with it
        where the API's host names are relative)."""
        if record.type in HOST_TYPES:
            value = record.value
            if record.type == "MX" and self.mx_preference in ("option", "field"):
                value = value.split(None, 1)[-1]  # the preference goes apart
            host = value.rstrip(".")
            return host + "." if self.relative_hosts else host
        return record.value

    def _to_record(self, item: dict[str, t.Any], zone_name: str) -> Record:
        """One of lexicon's record dicts (``id, type, name, content, ttl``) as our Record."""
        rtype = str(item.get("type", "")).upper()
        name = str(item.get("name", "")).strip().rstrip(".").lower()
        # Lexicon joins an apex named "@" or "" to the zone: "@.example.com", ".example.com".
        name = name.removeprefix("@").lstrip(".") or zone_name
        content = str(item.get("content", ""))
        if rtype == "TXT":
            content = parse_txt(content)
        elif self.relative_hosts:
            content = served_host(rtype, content, zone_name)
        if rtype == "MX" and self.mx_preference in ("option", "field"):
            options = item.get("options") if isinstance(item.get("options"), dict) else {}
            given = item.get("priority", (options.get("mx") or {}).get("priority"))
            content = f"{given if given not in (None, '') else 0} {content}"
        ttl = item.get("ttl")
        try:
            ttl = int(ttl)
        except (TypeError, ValueError):
            ttl = 3600
        ref = item.get("id")
        return Record(name, rtype, content, ttl, ref=None if ref in (None, "") else str(ref))

    # -- calls ----------------------------------------------------------

    def _call(self, fn: t.Callable[..., t.Any], *args: t.Any, zone: str | None = None) -> t.Any:
        """Run one lexicon call bounded by our policy, its errors turned into ours.

        ``zone`` is set for the calls that find the zone: a 404 or lexicon's
        AuthenticationError there means the account does not hold it."""
        from lexicon.exceptions import AuthenticationError, LexiconError

        token = _POLICY.set(self._policy)
        try:
            return fn(*args)
        except ProviderError:
            raise
        except requests.exceptions.HTTPError as exc:
            raise self._http_error(exc.response, zone) from None
        except AuthenticationError:
            raise self._error(self._not_yours(zone), AuthorizationFailed) from None
        except requests.exceptions.ReadTimeout:
            logger.warning("%s: a call timed out", self.label)
            raise self._error(
                f"{self.label} did not answer within {self.timeout:g} seconds; it may be slow or"
                " unreachable right now, try again later."
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            logger.warning("%s: a call failed: %s", self.label, self._describe(exc))
            raise self._error(
                f"Could not connect to {self.label} at {self._host()} ({self._describe(exc)});"
                " check the network and the API URL, then try again."
            ) from None
        except requests.exceptions.RequestException as exc:
            raise self._error(f"The request to {self.label} failed ({self._describe(exc)}).") from None
        except LexiconError as exc:
            text = " ".join(str(exc).split())[:200]
            raise self._error(f"{self.label} could not do what was asked: {text or 'no reason given'}.") from None
        except Exception as exc:  # a malformed answer: KeyError, TypeError, ValueError...
            logger.warning("%s: unusable answer (%s)", self.label, type(exc).__name__)
            raise self._error(
                f"{self.label} sent an answer this service could not use; check that the API URL"
                f" points at the {self.label} API, then try again."
            ) from None
        finally:
            _POLICY.reset(token)

    def _not_yours(self, zone: str | None) -> str:
        if zone:
            return (f"The zone {zone} is not in this {self.label} account, or the credentials"
                    f" cannot see it; {self.credentials_hint}.")
        return f"{self.label} refused the credentials; {self.credentials_hint}."

    def _not_the_api(self, status: int) -> ProviderError:
        """An answer that says the configured URL is not the provider's API (``status``)."""
        return self._error(f"{self.label} answered HTTP {status} at {self._host()}; check that the API URL"
                           f" points at the {self.label} API.")

    def _refused(self, detail: str) -> ProviderError:
        """The credentials were refused; ``detail`` says how (``HTTP 401: ...``)."""
        return self._error(f"{self.label} refused the credentials ({detail}); {self.credentials_hint}.",
                           AuthorizationFailed)

    def _http_error(self, response: requests.Response | None, zone: str | None) -> ProviderError:
        status = response.status_code if response is not None else 0
        said = _message(response)
        detail = f"HTTP {status}" + (f": {said}" if said else "")
        if status in (401, 403):
            return self._refused(detail)
        if status == 404 and zone:
            return self._error(self._not_yours(zone), AuthorizationFailed)
        if status == 429:
            return self._error(f"{self.label} is limiting the rate of requests (HTTP 429) after"
                               f" {self.retries + 1} attempts; wait a minute and try again.")
        if status >= 500:
            return self._error(server_trouble(self.label, response, self.retries))
        return self._error(f"{self.label} refused the request ({detail}).")


def _message(response: requests.Response | None) -> str:
    """The provider's own words from an error answer (``message``, ``error``...), short."""
    if response is None:
        return ""
    try:
        body = response.json()
    except ValueError:
        return ""
    found: t.Any = None
    if isinstance(body, dict):
        for key in ("message", "error_message", "error", "errors", "detail"):
            if body.get(key):
                found = body[key]
                break
    if isinstance(found, dict):
        found = found.get("message") or found.get("code") or json.dumps(found)
    elif isinstance(found, list) and found:
        first = found[0]
        found = first.get("reason") or first.get("message") if isinstance(first, dict) else first
    return " ".join(str(found).split())[:200] if found else ""
