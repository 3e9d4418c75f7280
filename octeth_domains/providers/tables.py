"""The README's provider table and docs/configuration.md's provider settings, generated from the
registry so that neither can drift from the modules (``octeth-domains docs`` rewrites both
between their markers; ``--check`` and a test fail when either is stale).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

from .registry import ProviderInfo, load

REPO = Path(__file__).resolve().parent.parent.parent
README = REPO / "README.md"
CONFIGURATION = REPO / "docs" / "configuration.md"
BEGIN = "<!-- generated from the provider registry by `octeth-domains docs`: {what} -->"
END = "<!-- end of the generated {what} -->"


def _code(items) -> str:
    return ", ".join(f"`{item}`" for item in items) or "none"


def _ordered(providers: Mapping[str, ProviderInfo]) -> list[ProviderInfo]:
    # The ones the service drives first, then the ones it only recognises; by name within each.
    return sorted(providers.values(), key=lambda info: (not info.drivable, info.name))


def provider_table(providers: Mapping[str, ProviderInfo]) -> str:
    lines = ["| `Provider` | label | credentials (what the provider's console calls them) | detected from name servers | set-up |",
             "| --- | --- | --- | --- | --- |"]
    for info in _ordered(providers):
        credentials = "; ".join(f"`{needed.parameter}`: {needed.label}" for needed in info.credentials) or "—"
        if not info.drivable:
            driven = "recognised only (code 8)"
        elif info.extra:
            driven = f"automatic, with `pip install octeth-domains[{info.extra}]`"
        else:
            driven = "automatic"
        lines.append(f"| `{info.name}` | {info.label} | {credentials} | {_code(info.nameservers)} | {driven} |")
    return "\n".join(lines) + "\n"


def settings_table(providers: Mapping[str, ProviderInfo]) -> str:
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for info in _ordered(providers):
        if not info.drivable:
            continue
        default = f"`{info.api_url}`" if info.api_url else f"none ({info.label} off until it is set)"
        lines.append(f"| `{info.api_url_setting}` | {default} | {info.label}'s API |")
        for option, setting in info.settings:
            lines.append(f"| `{setting}` | empty | passed to the {info.label} client as `{option}` |")
    return "\n".join(lines) + "\n"


def _replace(text: str, what: str, table: str) -> str:
    begin, end = BEGIN.format(what=what), END.format(what=what)
    pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"the markers of the {what} are missing")
    return pattern.sub(lambda _match: f"{begin}\n{table}{end}", text, count=1)


def documents(providers: Mapping[str, ProviderInfo] | None = None) -> dict[Path, str]:
    """README.md and docs/configuration.md as they should read, by path."""
    providers = load() if providers is None else providers
    return {
        README: _replace(README.read_text(), "provider table", provider_table(providers)),
        CONFIGURATION: _replace(CONFIGURATION.read_text(), "provider settings", settings_table(providers)),
    }
