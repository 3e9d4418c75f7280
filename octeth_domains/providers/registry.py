"""The one list of DNS providers (SPEC §11): every module of this package that defines
``PROVIDER`` (or ``PROVIDERS``, as ``recognised.py`` does for the providers the service only
recognises), plus the modules an operator names in ``OCTETH_PROVIDER_MODULES``.

A provider module holds everything about its provider in one :class:`ProviderInfo`: the name
``dns.provider`` answers and ``dns.set`` takes, the label a person knows it by, its name-server
patterns, the credentials it needs (with the seed's codes for a missing one and what the
provider's own console calls each), where its API lives (``OCTETH_<NAME>_API_URL``) and its
client. ``dns.provider``, ``dns.authorize``, ``dns.set``, ``dnshost``, the page's automatic set-up
and the README's provider table all read this list, so adding a provider is adding one module.
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Callable, Iterable, Mapping, Sequence

#: What ``dns.provider`` and ``dnshost`` answer when no provider's patterns match.
UNKNOWN = "unknown"


class ExtraMissing(ImportError):
    """A provider's client needs a pip extra that is not installed (``route53``): the client
    factory raises it, and ``dns.authorize``/``dns.set`` answer code 8 naming the extra."""

    def __init__(self, extra: str) -> None:
        super().__init__(f"install the extra: pip install octeth-domains[{extra}]")
        self.extra = extra


@dataclass(frozen=True)
class Credential:
    """One credential a provider needs, named by its :class:`~.base.Credentials` attribute."""

    attribute: str  # key, secret, api_user or username
    parameter: str  # the seed's parameter name: Api_key, Api_secret, Api_user, Username
    code: int  # the seed's error code when it is missing
    message: str  # the seed's message when it is missing
    label: str = ""  # what the provider's own console calls it ("API token", "Access key ID")
    secret: bool = True  # typed into a password box on the page


def key(label: str) -> Credential:
    return Credential("key", "Api_key", 2, "Missing API key parameter", label)


def secret(label: str) -> Credential:
    return Credential("secret", "Api_secret", 5, "Missing API secret parameter", label)


def api_user(label: str) -> Credential:
    return Credential("api_user", "Api_user", 6, "Missing API user parameter", label, secret=False)


def username(label: str) -> Credential:
    return Credential("username", "Username", 7, "Missing username parameter", label, secret=False)


@dataclass(frozen=True)
class ProviderInfo:
    """Everything about one provider. ``client`` builds the client: it is called as
    ``client(credentials, api_url=..., timeout=..., **options)``; ``None`` for a provider the
    service recognises by its name servers but cannot drive (``dns.authorize``/``dns.set``
    answer code 8 then). What it returns is used as ``with client:``, then
    ``check_access(zone)`` or ``ensure_records(zone, records)``, and its ``credentials`` clean
    an unexpected error's text: a :class:`~.base.Provider` subclass has all of these."""

    name: str  # as dns.provider answers it and dns.set takes it: lower case
    label: str  # as a person knows it, and as user.senderdomain.dnshost answers it
    nameservers: tuple[str, ...] = ()  # fnmatch patterns on the lower-cased host name
    credentials: tuple[Credential, ...] = ()
    where: str = ""  # one link-free sentence: where in the provider's console to create them
    api_url: str | None = None  # the public API base; None: it must be configured
    client: Callable[..., object] | None = None
    extra: str | None = None  # the pip extra its client needs (route53), or None
    requires: tuple[str, ...] = ()  # the modules that extra installs (boto3): checked before anything else
    # Settings the client takes besides its URL: (keyword argument, setting name) pairs, e.g.
    # Namecheap's ("client_ip", "OCTETH_NAMECHEAP_CLIENT_IP"); each is read from the environment
    # (default empty) and passed to the client as that keyword.
    settings: tuple[tuple[str, str], ...] = ()

    @property
    def api_url_setting(self) -> str:
        return f"OCTETH_{self.name.upper()}_API_URL"

    @property
    def drivable(self) -> bool:
        return self.client is not None

    def unavailable(self) -> ExtraMissing | None:
        """Why this provider's client cannot run here (its extra is not installed), or None.
        Asked before the credentials, so a caller learns at once that no credentials will do,
        and the page does not offer it."""
        if self.extra and any(importlib.util.find_spec(module) is None for module in self.requires):
            return ExtraMissing(self.extra)
        return None

    def missing(self, credentials: object) -> Credential | None:
        """The first credential this provider needs that ``credentials`` lacks, in the order
        declared (so the seed's codes come out in the seed's order), or None."""
        return next((c for c in self.credentials if not getattr(credentials, c.attribute, None)), None)

    def connect(self, credentials: object, config: Mapping[str, Any], timeout: float) -> Any:
        """The client for one request: its URL and options from ``config`` (never from a
        request). Raises :class:`ExtraMissing` when the client's extra is not installed."""
        if self.client is None:
            raise ValueError(f"{self.name} cannot be driven")
        options = {option: config.get(setting) for option, setting in self.settings}
        return self.client(credentials, api_url=config.get(self.api_url_setting), timeout=timeout, **options)


def particularity(pattern: str) -> int:
    """How particular a name-server pattern is: its characters that are not wildcards.
    ``ns-cloud-*.googledomains.com`` beats ``*.googledomains.com``."""
    return sum(1 for char in pattern if char not in "*?[]")


def host_of(nameserver: str, providers: Mapping[str, ProviderInfo]) -> ProviderInfo | None:
    """The provider of one name server: of all matching patterns, the most particular wins, so
    the answer never depends on the order in which modules were loaded."""
    host = nameserver.strip().rstrip(".").lower()
    best: tuple[int, str] | None = None
    for info in providers.values():
        for pattern in info.nameservers:
            if fnmatchcase(host, pattern):
                # Equally particular patterns of two providers: the name decides, not the order.
                found = (particularity(pattern), info.name)
                if best is None or found[0] > best[0] or (found[0] == best[0] and found[1] < best[1]):
                    best = found
    return providers[best[1]] if best is not None else None


def identify(nameservers: Sequence[str], providers: Mapping[str, ProviderInfo]) -> ProviderInfo | None:
    """The provider every one of ``nameservers`` belongs to; None when unknown, mixed or empty."""
    found = {host_of(ns, providers) for ns in nameservers}
    if len(found) != 1:
        return None
    return found.pop()


def _modules(extra_modules: Iterable[str]) -> list[object]:
    found = [importlib.import_module(f"{__package__}.{module.name}")
             for module in pkgutil.iter_modules(importlib.import_module(__package__).__path__)
             if not module.name.startswith("_")]
    return found + [importlib.import_module(name) for name in extra_modules if name]


def merge(infos: Iterable[ProviderInfo]) -> dict[str, ProviderInfo]:
    """``infos`` by name. A provider the service can drive always wins over one it only
    recognises, whichever comes first (``recognised.py`` sorts after ``digitalocean.py`` but
    before ``route53.py``); otherwise a later one with a name already taken replaces the
    earlier, so an operator's module can supply their own client."""
    providers: dict[str, ProviderInfo] = {}
    for info in infos:
        known = providers.get(info.name)
        if known is not None and known.drivable and not info.drivable:
            continue
        providers[info.name] = info
    return providers


def load(extra_modules: Iterable[str] = ()) -> dict[str, ProviderInfo]:
    """Every provider, by name (a module's ``PROVIDER``, and each of its ``PROVIDERS``): this
    package's modules in alphabetical order, then ``extra_modules`` (dotted module paths) in
    the order given, merged as :func:`merge` says."""
    infos: list[ProviderInfo] = []
    for module in _modules(extra_modules):
        # PROVIDERS: a module of providers the service only recognises by their name servers.
        for info in (getattr(module, "PROVIDER", None), *getattr(module, "PROVIDERS", ())):
            if isinstance(info, ProviderInfo):
                infos.append(info)
    return merge(infos)
