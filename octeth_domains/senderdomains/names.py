"""What a sender domain and its custom labels may be called (SPEC §5)."""
from __future__ import annotations

import re
import unicodedata

import idna

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_CUSTOM_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?\Z")


class InvalidDomain(ValueError):
    """Not a name a sender domain can have; ``reason`` says which rule it broke, in words."""

    def __init__(self, text: str, reason: str = "not a domain name") -> None:
        super().__init__(text, reason)
        self.reason = reason


class LocalhostDomain(InvalidDomain):
    """``localhost``, which the seed refuses with a code of its own."""


# The full stops IDNA (UTS #46) maps to ".": ideographic, fullwidth and halfwidth ideographic.
_OTHER_DOTS = "\u3002\uff0e\uff61"
_DOTS = str.maketrans({dot: "." for dot in _OTHER_DOTS})


def is_localhost(text: str) -> bool:
    """``localhost`` or a name under it (RFC 6761), however it is spelled: case, fullwidth
    letters (NFKC), any full stop, trailing dots."""
    name = unicodedata.normalize("NFKC", text).translate(_DOTS).strip().rstrip(".").casefold()
    return name == "localhost" or name.endswith(".localhost")


def normalize_domain(text: str) -> str:
    """The domain as stored: lower case, no trailing dot, IDN in its ASCII (punycode) form.

    Raises :class:`LocalhostDomain` for ``localhost`` and the names under it, and
    :class:`InvalidDomain` for any name that is not at least two labels of letters, digits and
    inner hyphens, 1–63 each, 253 in all. One trailing ASCII dot is removed; labels are separated
    by ASCII dots only, so ``a.com..``, ``a.com。`` and ``a。com`` are all invalid alike, rather
    than one of them passing because IDNA happens to map its dot.
    """
    too_long = "a domain name has at most 253 characters"
    if len(text) > 253 * 4:  # bound the work before NFKC and idna see it
        raise InvalidDomain(text, too_long)
    if is_localhost(text):
        raise LocalhostDomain(text)
    name = text.strip().lower()
    name = name[:-1] if name.endswith(".") else name
    if not name:
        raise InvalidDomain(text, "the name is empty")
    if any(dot in name for dot in _OTHER_DOTS):
        raise InvalidDomain(text, "labels are separated by '.' only")
    try:
        if not name.isascii():
            name = idna.encode(name, uts46=True).decode("ascii")
        elif "xn--" in name:
            idna.decode(name)  # an ASCII-compatible label must decode to a valid IDN label
    except (idna.IDNAError, UnicodeError):
        raise InvalidDomain(text, "not a valid internationalised domain name") from None
    labels = name.split(".")
    if len(name) > 253:
        raise InvalidDomain(text, too_long)
    if not all(map(is_dns_label, labels)):
        raise InvalidDomain(text, "each label is 1-63 letters, digits and inner hyphens, with no empty label")
    if len(labels) < 2:
        raise InvalidDomain(text, "a domain name has at least two labels (example.com)")
    if labels[-1].isdigit():  # 192.0.2.1 is an address, not a domain
        raise InvalidDomain(text, "an IP address is not a domain name")
    if is_localhost(name):  # "xn--" spellings that decode to it
        raise LocalhostDomain(text)
    return name


def is_dns_label(text: str) -> bool:
    """One label of a host name in its ASCII form: 1-63 lower-case letters, digits and inner hyphens."""
    return bool(_LABEL.match(text))


def is_custom_label(text: str) -> bool:
    """``CustomSubdomain`` / ``CustomTrackPrefix``: 1–32 letters, digits, inner hyphens."""
    return bool(_CUSTOM_LABEL.match(text))
