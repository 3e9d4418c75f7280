"""DNS records as the planner and the clients see them: :class:`Record`, the comparison form of
a record's data, TXT data in and out of zone-file form, and names relative to a zone."""
from __future__ import annotations

from dataclasses import dataclass, field


def canonical_name(name: str) -> str:
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
        object.__setattr__(self, "name", canonical_name(self.name))
        object.__setattr__(self, "type", self.type.strip().upper())

    @property
    def preference(self) -> int | None:
        """An MX record's preference ("10 mx.example.net" is 10); None for any other."""
        if self.type != "MX":
            return None
        first = self.value.split(None, 1)[0] if self.value.strip() else ""
        return int(first) if first.isdigit() else None

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
    name, zone = canonical_name(name), canonical_name(zone)
    if name == zone:
        return "@"
    if name.endswith("." + zone):
        return name[: -len(zone) - 1]
    raise ValueError(f"{name!r} is not inside the zone {zone!r}")


def absolute_name(relative: str, zone: str) -> str:
    """The inverse of :func:`relative_name` (``@`` or empty is the apex)."""
    relative = relative.strip().rstrip(".").lower()
    zone = canonical_name(zone)
    if relative in ("", "@"):
        return zone
    if relative == zone or relative.endswith("." + zone):
        # Some answers already carry the full name.
        return relative
    return f"{relative}.{zone}"
