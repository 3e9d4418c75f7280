"""The settings of SPEC §8, read from the environment once, at app creation."""
from __future__ import annotations

import importlib
import ipaddress
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Any, Mapping

from .providers import registry
from .providers.registry import ProviderInfo

REVERIFY_DNS_TIMEOUT = 1.5  # seconds (docs/reverify.md, "The background timeout")


class ConfigError(Exception):
    """A setting that cannot work; raised at start-up, never during a request."""


def _proxies(env: Mapping[str, str]) -> int:
    count = _int(env, "OCTETH_TRUSTED_PROXIES", 0)
    if not 0 <= count <= 5:
        raise ConfigError("OCTETH_TRUSTED_PROXIES must be the number of proxies in front of the service, 0 to 5")
    return count


def _trusted_hosts(env: Mapping[str, str]) -> tuple[str, ...] | None:
    """``OCTETH_TRUSTED_HOSTS``: the names a request's ``Host`` may carry (Flask's
    ``TRUSTED_HOSTS``), ASCII (punycode) and lower case; a leading dot admits the name and every
    name under it. None (the default) admits any."""
    import idna

    from .senderdomains.names import is_dns_label

    hosts = []
    for part in env.get("OCTETH_TRUSTED_HOSTS", "").split(","):
        entry = part.strip().lower()
        if not entry:
            continue
        suffix, name = (".", entry[1:]) if entry.startswith(".") else ("", entry)
        name = name[:-1] if name.endswith(".") else name
        try:
            address = ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            address = None
        if address is not None and (address.version == 6 or suffix):
            # werkzeug compares the part before the first ":", which no IPv6 address survives.
            raise ConfigError(f"OCTETH_TRUSTED_HOSTS: {part.strip()!r}: list a host name or an IPv4 address")
        if address is None:
            try:
                name = idna.encode(name, uts46=True).decode("ascii") if not name.isascii() else name
            except (idna.IDNAError, UnicodeError):
                name = ""
            if not all(map(is_dns_label, name.split("."))) or len(name) > 253:
                raise ConfigError(f"OCTETH_TRUSTED_HOSTS: {part.strip()!r} is not a host name "
                                  "(a name, '.name' for every name under it, or an IPv4 address; no port)")
        hosts.append(suffix + name)
    return tuple(hosts) or None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    seconds = _float(env, name, default)
    # Not 0 (every lookup would time out at once), not NaN or infinity (a silent server: forever).
    if not 0 < seconds < float("inf"):
        raise ConfigError(f"{name} must be a number of seconds above 0, not {env.get(name, '').strip()!r}")
    return seconds


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    port = _int(env, name, default)
    if not 0 < port < 65536:
        raise ConfigError(f"{name} must be a port number (1-65535), not {port}")
    return port


def parse_dns_servers(raw: str) -> list[tuple[str, int]] | None:
    """``address[:port],…`` into pairs; ``[v6]:port`` for IPv6 with a port. Empty: the system
    resolver. Addresses, not names: a resolver cannot be found by asking a resolver."""
    servers = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        match = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?|([^:]+)(?::(\d+))?|([0-9a-fA-F:]+)", item)
        host = match and (match.group(1) or match.group(3) or match.group(5))
        port = match and int(match.group(2) or match.group(4) or "53")
        try:
            ipaddress.ip_address(host or "")
        except ValueError:
            raise ConfigError(f"OCTETH_DNS_SERVERS: {item!r} is not an address[:port]") from None
        if not 0 < port < 65536:
            raise ConfigError(f"OCTETH_DNS_SERVERS: {item!r} has no valid port")
        servers.append((host, port))
    return servers or None


def _secret_key(instance_path: Path, env: Mapping[str, str]) -> bytes:
    # A generated key must outlive the process: ownership tokens are HMACs under it, and a new key
    # would make every published TXT record stale.
    if env.get("OCTETH_SECRET_KEY"):
        return env["OCTETH_SECRET_KEY"].encode()
    path = instance_path / "secret_key"
    if not path.exists():
        # Several workers may start at once on a fresh instance folder: each writes a complete
        # file of its own and links it into place; the first link wins and all read the winner.
        instance_path.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=instance_path, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    key = path.read_text().strip()
    if not key:
        raise ConfigError(f"{path} is empty; remove it or set OCTETH_SECRET_KEY")
    return key.encode()


def _smtp_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("OCTETH_SMTP_URL", "").strip()
    if not raw:
        return None
    from .senderdomains.sendtest import parse_relay

    try:
        parse_relay(raw)
    except ValueError as error:
        raise ConfigError(f"OCTETH_SMTP_URL {error}") from None
    return raw


def provider_modules(env: Mapping[str, str]) -> tuple[str, ...]:
    """``OCTETH_PROVIDER_MODULES``: comma-separated dotted paths of the operator's own provider
    modules, registered after this package's."""
    return tuple(part.strip() for part in env.get("OCTETH_PROVIDER_MODULES", "").split(",") if part.strip())


def load_providers(env: Mapping[str, str]) -> dict[str, ProviderInfo]:
    """The registry of providers this environment asks for; a module that cannot be imported
    stops the start, naming it, rather than leaving its provider silently missing."""
    modules = provider_modules(env)
    for name in modules:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", name):
            raise ConfigError(f"OCTETH_PROVIDER_MODULES: {name!r} is not a dotted module path")
    try:
        providers = registry.load(modules)
    except ImportError as error:
        raise ConfigError(f"OCTETH_PROVIDER_MODULES: cannot import {error.name or error}") from None
    for name in modules:  # imported by now; a module that declares nothing is a mistake
        module = importlib.import_module(name)
        if not isinstance(getattr(module, "PROVIDER", None), ProviderInfo) and not getattr(module, "PROVIDERS", ()):
            raise ConfigError(f"OCTETH_PROVIDER_MODULES: {name} defines no PROVIDER")
    return providers


def provider_settings(env: Mapping[str, str], providers: Mapping[str, ProviderInfo]) -> dict[str, Any]:
    """Each provider's ``OCTETH_<NAME>_API_URL`` (default its module's public URL; None when it
    has none, PowerDNS: then it must be set) and the settings its client takes (default empty).
    A provider the service only recognises has no client, so no settings."""
    found: dict[str, Any] = {}
    for info in (info for info in providers.values() if info.drivable):
        found[info.api_url_setting] = env.get(info.api_url_setting, "").strip() or info.api_url
        for _option, setting in info.settings:
            found[setting] = env.get(setting, "").strip()
    return found


def from_environment(instance_path: str, env: Mapping[str, str] | None = None,
                     providers: Mapping[str, ProviderInfo] | None = None) -> dict[str, Any]:
    """Return the app's ``OCTETH_*`` settings, with the defaults of SPEC §8 filled in, the
    settings of every provider in ``providers`` (default: the registry ``env`` asks for)
    among them."""
    env = os.environ if env is None else env
    providers = load_providers(env) if providers is None else providers
    instance = Path(instance_path)
    prefix = env.get("OCTETH_TABLE_PREFIX", "oempro_")
    if not re.fullmatch(r"[A-Za-z0-9_]{0,32}", prefix):
        # The prefix is pasted into SQL; only identifier characters are safe there.
        raise ConfigError("OCTETH_TABLE_PREFIX may hold only letters, digits and underscores")
    database_url = env.get("OCTETH_DATABASE_URL") or f"sqlite:///{instance / 'octeth.sqlite'}"
    return {
        "OCTETH_DATABASE_URL": database_url,
        "OCTETH_DATABASE_TIMEOUT": _seconds(env, "OCTETH_DATABASE_TIMEOUT", 2.0),
        "OCTETH_DATABASE_QUERY_TIMEOUT": _seconds(env, "OCTETH_DATABASE_QUERY_TIMEOUT", 5.0),
        "OCTETH_DATABASE_POOL_SIZE": _int(env, "OCTETH_DATABASE_POOL_SIZE", 10),
        "OCTETH_TRUSTED_PROXIES": _proxies(env),
        "OCTETH_TRUSTED_HOSTS": _trusted_hosts(env),
        "OCTETH_REDIS_URL": env.get("OCTETH_REDIS_URL") or None,
        "OCTETH_REDIS_KEY_PREFIX": env.get("OCTETH_REDIS_KEY_PREFIX", "octeth"),
        "OCTETH_DNS_SERVERS": parse_dns_servers(env.get("OCTETH_DNS_SERVERS", "")),
        "OCTETH_DNS_TIMEOUT": _seconds(env, "OCTETH_DNS_TIMEOUT", 3.0),
        "OCTETH_DNS_HEALTH_CACHE_TTL": max(0.0, _float(env, "OCTETH_DNS_HEALTH_CACHE_TTL", 300.0)),
        "OCTETH_DNS_TEMPLATES": env.get("OCTETH_DNS_TEMPLATES") or None,
        "OCTETH_DELIVERY_HOST": env.get("OCTETH_DELIVERY_HOST", "mailer.octeth.example."),
        "EMAILCAMPAIGN_DNS_SUBDOMAIN": env.get("EMAILCAMPAIGN_DNS_SUBDOMAIN", "sl"),
        "EMAILCAMPAIGN_DNS_TRACK_PREFIX": env.get("EMAILCAMPAIGN_DNS_TRACK_PREFIX", "track"),
        "EMAILCAMPAIGN_DNS_TRACK_MERGE": env.get("EMAILCAMPAIGN_DNS_TRACK_MERGE", "-"),
        "OCTETH_SECRET_KEY": _secret_key(instance, env),
        "OCTETH_RATE_LIMIT": env.get("OCTETH_RATE_LIMIT", "100 per 60 seconds"),
        "OCTETH_LOGIN_FAILURE_LIMIT": env.get("OCTETH_LOGIN_FAILURE_LIMIT", "10 per 10 minutes"),
        "OCTETH_AUTH_CACHE_SECONDS": _float(env, "OCTETH_AUTH_CACHE_SECONDS", 10.0),
        "OCTETH_LIST_CACHE_MB": _float(env, "OCTETH_LIST_CACHE_MB", 16.0),
        "OCTETH_SESSION_IDLE_TIMEOUT": _int(env, "OCTETH_SESSION_IDLE_TIMEOUT", 30 * 24 * 3600),  # Octeth: 30 days
        "OCTETH_TABLE_PREFIX": prefix,
        "OCTETH_PROVIDER_MODULES": provider_modules(env),
        **provider_settings(env, providers),
        "OCTETH_PROVIDER_TIMEOUT": _seconds(env, "OCTETH_PROVIDER_TIMEOUT", 10.0),
        "OCTETH_DNS_AUTHORITATIVE": env.get("OCTETH_DNS_AUTHORITATIVE", "1").strip().lower() not in ("0", "false", "no", "off"),
        "OCTETH_DNS_AUTHORITATIVE_PORT": _port(env, "OCTETH_DNS_AUTHORITATIVE_PORT", 53),
        "OCTETH_SPF_INCLUDE": env.get("OCTETH_SPF_INCLUDE", "").strip() or None,
        "OCTETH_SMTP_URL": _smtp_url(env),
        "OCTETH_SENDTEST_FROM_PREFIX": env.get("OCTETH_SENDTEST_FROM_PREFIX", "").strip() or "test",
        "OCTETH_DEMO_MODE": env.get("OCTETH_DEMO_MODE", "").strip().lower() in ("1", "true", "yes", "on"),
        # Octeth v6.0.1's API_RESPONSEFORMAT_CASE_INSENSITIVE: "xml", "Xml" answer XML too.
        "OCTETH_RESPONSEFORMAT_CASE_INSENSITIVE": env.get("OCTETH_RESPONSEFORMAT_CASE_INSENSITIVE", "").strip().lower()
        in ("1", "true", "yes", "on"),
        # flask-limiter's own names: a `limits` storage URI (default: ours on OCTETH_REDIS_URL, else
        # memory) and its strategy (fixed-window, the one that costs a single round trip).
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or None,
        "RATELIMIT_STRATEGY": env.get("RATELIMIT_STRATEGY") or "fixed-window",
        # Domain Connect (docs/domain-connect.md): off without a provider id.
        "OCTETH_DOMAINCONNECT_PROVIDER_ID": env.get("OCTETH_DOMAINCONNECT_PROVIDER_ID", "").strip(),
        "OCTETH_DOMAINCONNECT_SERVICE_ID": env.get("OCTETH_DOMAINCONNECT_SERVICE_ID", "").strip() or "senderdomain",
        "OCTETH_DOMAINCONNECT_KEY_HOST": env.get("OCTETH_DOMAINCONNECT_KEY_HOST", "").strip() or "_dck1",
        "OCTETH_DOMAINCONNECT_KEY_DOMAIN": env.get("OCTETH_DOMAINCONNECT_KEY_DOMAIN", "").strip().rstrip("."),
        "OCTETH_DOMAINCONNECT_PRIVATE_KEY": env.get("OCTETH_DOMAINCONNECT_PRIVATE_KEY")
        or str(instance / "domainconnect_key.pem"),
        "OCTETH_DOMAINCONNECT_REDIRECT_DOMAINS": tuple(
            part.strip().lower() for part in env.get("OCTETH_DOMAINCONNECT_REDIRECT_DOMAINS", "").split(",")
            if part.strip()),
        "OCTETH_DOMAINCONNECT_TEMPLATE": env.get("OCTETH_DOMAINCONNECT_TEMPLATE", "").strip() or "Default",
        "OCTETH_DOMAINCONNECT_ALLOW_PRIVATE": env.get("OCTETH_DOMAINCONNECT_ALLOW_PRIVATE", "").strip() == "1",
        "OCTETH_REVERIFY_CLAIM_TTL": _seconds(env, "OCTETH_REVERIFY_CLAIM_TTL", 300.0),
        "OCTETH_REVERIFY_DNS_TIMEOUT": _seconds(env, "OCTETH_REVERIFY_DNS_TIMEOUT", REVERIFY_DNS_TIMEOUT),
    }
