"""What a sender domain and its custom labels may be called (SPEC §5)."""
from __future__ import annotations

import re

import idna

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_CUSTOM_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?\Z")


class InvalidDomain(ValueError):
    """Not a name a sender domain can have."""


class LocalhostDomain(InvalidDomain):
    """``localhost``, which the seed refuses with a code of its own."""


def normalize_domain(text: str) -> str:
    """The domain as stored: lower case, no trailing dot, IDN in its ASCII (punycode) form.

    Raises :class:`LocalhostDomain` for ``localhost`` and :class:`InvalidDomain` for any name that
    is not at least two labels of letters, digits and inner hyphens, 1–63 each, 253 in all.
    """
    name = text.strip().rstrip(".").lower()
    if name == "localhost":
        raise LocalhostDomain(name)
    if not name or len(name) > 253 * 4:  # bound the work before idna sees it
        raise InvalidDomain(text)
    try:
        if not name.isascii():
            name = idna.encode(name, uts46=True).decode("ascii")
        elif "xn--" in name:
            idna.decode(name)  # an ASCII-compatible label must decode to a valid IDN label
    except (idna.IDNAError, UnicodeError):
        raise InvalidDomain(text) from None
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidDomain(text)
    if labels[-1].isdigit():  # 192.0.2.1 is an address, not a domain
        raise InvalidDomain(text)
    return name


def is_custom_label(text: str) -> bool:
    """``CustomSubdomain`` / ``CustomTrackPrefix``: 1–32 letters, digits, inner hyphens."""
    return bool(_CUSTOM_LABEL.match(text))
