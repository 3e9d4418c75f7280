"""The sentences of SPEC §10's ``Hint``: one each, naming the host as the user enters it at their
DNS provider (relative to the zone, as most providers' forms expect it)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

UNCHECKED = "Publish this record at your DNS provider, then verify it."


def _strip(name: str) -> str:
    return name.rstrip(".").lower()


def _host(name: str) -> str:
    # A host as the records spell it ("_DMARC.sl.example.com"): DNS ignores the case, the user
    # copies what the page shows.
    return name.rstrip(".")


def relative(host: str, zone: str | None) -> str:
    """``sl.newsletter`` for ``sl.newsletter.example.com`` in ``example.com``; ``@`` for the apex."""
    shown, zone = _host(host), _strip(zone or "")
    if zone and shown.lower() == zone:
        return "@"
    if zone and shown.lower().endswith("." + zone):
        return shown[: -len(zone) - 1]
    return shown


def _what(rtype: str, value: str) -> str:
    if rtype == "TXT":
        return f'a TXT record with the value "{value}"'
    if rtype == "CNAME":
        return f"a CNAME record pointing to {_strip(value)}"
    return f"a {rtype} record with the value {value}"


def missing(relative_host: str, host: str, rtype: str, value: str) -> str:
    return f"Add {_what(rtype, value)} at {relative_host} ({_host(host)})."


def wrong_value(relative_host: str, rtype: str, value: str, found: Sequence[str]) -> str:
    now = ", ".join(_strip(item) if rtype != "TXT" else f'"{item}"' for item in found)
    if rtype == "CNAME":
        return f"Change the CNAME record at {relative_host} to point to {_strip(value)} instead of {now}."
    return f"Replace the {rtype} value at {relative_host} ({now}) with {value if rtype != 'TXT' else repr(value)}."


def zone_appended(relative_host: str, host: str) -> str:
    return f"Remove the zone from the name: enter {relative_host}, not {_host(host)}."


def proxied(relative_host: str, value: str) -> str:
    return (f"Turn off Cloudflare's proxy for {relative_host} (DNS only, grey cloud) so that its CNAME to "
            f"{_strip(value)} is visible.")


def conflict_beside(relative_host: str, others: Mapping[str, Sequence[str]]) -> str:
    kinds = ", ".join(sorted(others))
    return (f"Remove the other records at {relative_host} ({kinds}): a CNAME cannot share its name with "
            f"other records.")


def conflict_alias(relative_host: str, rtype: str, target: str) -> str:
    return f"{relative_host} is a CNAME to {_strip(target)}: remove that CNAME and add the {rtype} record there."


def split_txt(relative_host: str) -> str:
    return (f"Publish the value at {relative_host} as one TXT record, exactly as shown, without added quotes "
            f"or spaces.")


def inconsistent(relative_host: str) -> str:
    return (f"The zone's name servers disagree about {relative_host}: wait a few minutes for them to catch up, "
            f"or save the record again at your DNS provider.")


def transient(reason: str) -> str:
    if reason == "servfail":
        return "The DNS servers answered with an error; check the zone at your DNS provider, then try again."
    return "No DNS server answered in time; try again in a few minutes."


def unpublishable(host: str) -> str:
    return f"The name {_host(host)} is too long for DNS; choose a shorter custom subdomain or prefix."


# The reasons in plain words, for the page.
WORDS = {
    "ok": "Verified",
    "missing": "Not found in DNS",
    "wrong_value": "Found with another value",
    "zone_appended": "Published with the zone added twice",
    "proxied": "Hidden by Cloudflare's proxy",
    "conflict": "Another record is in the way",
    "split_txt": "Split over several TXT records",
    "inconsistent": "The zone's servers disagree",
    "timeout": "DNS did not answer in time",
    "servfail": "DNS answered with an error",
    "unchecked": "Not checked yet",
}
