"""The one list of DNS providers (SPEC §11): every module of this package that defines
``PROVIDER``, plus the modules an operator names in ``OCTETH_PROVIDER_MODULES``.

A provider module holds everything about its provider in one :class:`ProviderInfo`: the name
``dns.provider`` answers and ``dns.set`` takes, the label a person knows it by, its name-server
patterns, the credentials it needs (with the seed's codes for a missing one and what the
provider's own console calls each), where its API lives (``OCTETH_<NAME>_API_URL``) and its
client. ``dns.provider``, ``dns.authorize``, ``dns.set``, ``dnshost``, the page's automatic set-up
and the README's provider table all read this list, so adding a provider is adding one module.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable, Iterable


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
    answer code 8 then)."""

    name: str  # as dns.provider answers it and dns.set takes it: lower case
    label: str  # as a person knows it, and as user.senderdomain.dnshost answers it
    nameservers: tuple[str, ...] = ()  # fnmatch patterns on the lower-cased host name
    credentials: tuple[Credential, ...] = ()
    where: str = ""  # one link-free sentence: where in the provider's console to create them
    api_url: str | None = None  # the public API base; None: it must be configured
    client: Callable[..., object] | None = None
    extra: str | None = None  # the pip extra its client needs (route53), or None

    @property
    def api_url_setting(self) -> str:
        return f"OCTETH_{self.name.upper()}_API_URL"

    @property
    def drivable(self) -> bool:
        return self.client is not None


def _modules(extra_modules: Iterable[str]) -> list[object]:
    found = [importlib.import_module(f"{__package__}.{module.name}")
             for module in pkgutil.iter_modules(importlib.import_module(__package__).__path__)
             if not module.name.startswith("_")]
    return found + [importlib.import_module(name) for name in extra_modules if name]


def load(extra_modules: Iterable[str] = ()) -> dict[str, ProviderInfo]:
    """Every provider, by name (a module's ``PROVIDER``, and each of its ``PROVIDERS``): this package's modules in alphabetical order, then
    ``extra_modules`` (dotted module paths) in the order given. A later module with a name
    already taken replaces the earlier one, so an operator can supply their own client."""
    providers: dict[str, ProviderInfo] = {}
    for module in _modules(extra_modules):
        # PROVIDERS: a module of providers the service only recognises by their name servers.
        for info in (getattr(module, "PROVIDER", None), *getattr(module, "PROVIDERS", ())):
            if isinstance(info, ProviderInfo):
                providers[info.name] = info
    return providers
