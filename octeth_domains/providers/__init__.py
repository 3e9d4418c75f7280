"""Clients for the DNS providers' APIs (plain modules: no Flask, no database), and the registry
of providers (:mod:`.registry`): one module per provider.

Every name a provider module needs is importable from here, whichever module of one concern
holds it: records (:mod:`.records`), the change planner (:mod:`.planner`), credentials and
their scrubbing (:mod:`.secrets`), HTTP with timeouts and retries (:mod:`.http`), the errors
(:mod:`.errors`) and the :class:`Provider` interface (:mod:`.base`). This module imports no
provider module, so a provider module may import from it.
"""

from __future__ import annotations

from .base import Provider
from .errors import AuthorizationFailed, ProviderError
from .http import HttpClient
from .planner import Change, plan_changes, written_hosts
from .records import Record, absolute_name, canonical_name, normalize_value, parse_txt, quote_txt, relative_name
from .registry import Credential, ExtraMissing, ProviderInfo
from .secrets import REDACTED, Credentials, scrub

__all__ = [
    "AuthorizationFailed",
    "Change",
    "Credential",
    "Credentials",
    "ExtraMissing",
    "HttpClient",
    "Provider",
    "ProviderError",
    "ProviderInfo",
    "REDACTED",
    "Record",
    "absolute_name",
    "canonical_name",
    "normalize_value",
    "parse_txt",
    "plan_changes",
    "quote_txt",
    "relative_name",
    "scrub",
    "written_hosts",
]
