"""What the sender-domain rules need from the service's configuration, built once by
``create_app`` and handed to them: the rules themselves never read Flask's ``current_app``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from . import domainhealth, templates
from .verify import VerificationCache


@dataclass(frozen=True)
class DomainSettings:
    templates: templates.Templates
    template_settings: templates.TemplateSettings
    cache: VerificationCache
    dns_servers: tuple[tuple[str, int], ...] | None = None  # None: the system resolver
    dns_timeout: float = 3.0
    authoritative: bool = True
    authoritative_port: int = 53
    health_cache_ttl: float = 300.0  # seconds a domain's health is reused; 0: checked every probe
    # Zone -> its authoritative servers, shared by every probe of the process (authoritative.py).
    zones: Any = field(default=None, compare=False)
    # The DMARC tree walk's answers about parent names, shared likewise (domainhealth.ParentAnswers).
    health_parents: Any = field(default=None, compare=False)

    @property
    def subdomain(self) -> str:
        return self.template_settings.subdomain

    @property
    def track_prefix(self) -> str:
        return self.template_settings.track_prefix

    def render(self, kind: str, template_name: str | None, domain: str, options: Mapping[str, Any]) -> dict[str, list]:
        """The records ``domain`` must publish under the named template of ``kind``, ``[Type, Value]``."""
        return templates.render(self.templates.get(kind, template_name), domain, dict(options), self.template_settings)


def from_config(config: Mapping[str, Any], loaded: templates.Templates, cache: VerificationCache,
                zones: Any = None) -> DomainSettings:
    servers = config["OCTETH_DNS_SERVERS"]
    health_ttl = float(config.get("OCTETH_DNS_HEALTH_CACHE_TTL", 300.0))
    return DomainSettings(
        templates=loaded,
        template_settings=templates.TemplateSettings(
            secret_key=config["OCTETH_SECRET_KEY"],
            subdomain=config["EMAILCAMPAIGN_DNS_SUBDOMAIN"],
            track_prefix=config["EMAILCAMPAIGN_DNS_TRACK_PREFIX"],
            track_merge=config["EMAILCAMPAIGN_DNS_TRACK_MERGE"],
        ),
        cache=cache,
        dns_servers=tuple(servers) if servers is not None else None,
        dns_timeout=float(config["OCTETH_DNS_TIMEOUT"]),
        authoritative=bool(config.get("OCTETH_DNS_AUTHORITATIVE", True)),
        authoritative_port=int(config.get("OCTETH_DNS_AUTHORITATIVE_PORT", 53)),
        health_cache_ttl=health_ttl,
        zones=zones,
        health_parents=domainhealth.parent_answers(health_ttl),
    )
