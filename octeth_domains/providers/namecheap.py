"""Namecheap, through its XML API.

Three facts shape this module:

- ``namecheap.domains.dns.setHosts`` replaces the *whole* zone. Every host
  ``getHosts`` reported is sent back untouched beside ours, and the zone's
  ``EmailType`` is passed back as it was; without it Namecheap drops the MX
  records.
- Namecheap answers HTTP 200 for errors too: the verdict is the
  ``Status`` attribute of ``<ApiResponse>`` and its ``<Errors>``.
- The live service does not always spell things as documented (``host``
  for ``Host``, ``HostID`` for ``HostId``), so the XML is read with tag and
  attribute names folded to lower case and namespaces dropped.
"""

from __future__ import annotations

import typing as t
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from . import registry
from . import (
    AuthorizationFailed,
    Change,
    Credentials,
    Provider,
    Record,
    absolute_name,
    relative_name,
)

#: Namecheap's name servers (``dns1.registrar-servers.com``), for dns.provider and dnshost.
NAMESERVERS: tuple[str, ...] = ("*.registrar-servers.com",)


#: The TTLs Namecheap accepts.
MIN_TTL, MAX_TTL = 60, 60000

#: Errors meaning "not these credentials" or "not this account's domain".
#: Every 101xxxx number is about ApiUser, ApiKey, UserName or the client IP
#: (1011102 invalid key, 1011150 IP not whitelisted, 1017xxx locked...).
_AUTH_ERRORS = {
    2019166,  # domain not found
    2016166,  # domain not associated with this account / not using our DNS
    2030166,  # edit permission for the domain is not supported
    2011166,  # invalid domain for this user
}


@dataclass
class Zone:
    """A Namecheap domain as ``getHosts`` reported it."""

    name: str
    sld: str
    tld: str
    email_type: str | None
    hosts: list[dict[str, str]] = field(default_factory=list)


class Namecheap(Provider):
    """Namecheap DNS. Credentials: ``key`` (ApiKey), ``api_user`` (ApiUser)
    and ``username`` (UserName, the same as ApiUser unless the key acts for
    another account). ``client_ip`` (extra keyword) is the service's own
    address, which must be whitelisted in the Namecheap account."""

    name = "namecheap"
    label = "Namecheap"
    #: Namecheap signals its rate limit with HTTP 405.
    retry_statuses = frozenset({405, 429})
    # Every call is a POST, reads too, and setHosts replaces the whole host list: sending one
    # again after a 5xx cannot add a record twice.
    repeatable_writes = True

    def __init__(
        self, credentials: Credentials, *, client_ip: str | None = None, **kwargs: t.Any
    ) -> None:
        super().__init__(credentials, **kwargs)
        self.client_ip = client_ip or ""

    def _globals(self, command: str) -> dict[str, str]:
        creds = self.credentials
        api_user = creds.api_user or creds.username or ""
        return {
            "ApiUser": api_user,
            "ApiKey": creds.key or "",
            "UserName": creds.username or api_user,
            "ClientIp": self.client_ip,
            "Command": command,
        }

    def _call(self, command: str, args: dict[str, str]) -> ET.Element:
        """Run one command; the ``<CommandResponse>`` of an ``OK`` answer.

        Every command goes as a form POST, credentials included, the way
        Namecheap's own SDK sends them: ``setHosts`` needs a POST past ten
        hosts anyway, and a credential in a body never lands in a URL, where
        access logs, proxies and urllib3's debug log would keep it.
        """
        if not self.client_ip:
            raise self._error(
                f"{self.label} needs the service's public IP address"
                " (OCTETH_NAMECHEAP_CLIENT_IP), whitelisted in the Namecheap account."
            )
        response = self._request("POST", "", data={**self._globals(command), **args})
        if self._retryable(response.status_code):
            raise self._unavailable(response)
        if response.status_code != 200:
            raise self._error(
                f"{self.label} answered HTTP {response.status_code}; check that the API URL"
                " points at its xml.response endpoint."
            )
        root = _parse(response.content)
        if root is None or _tag(root) != "apiresponse":
            raise self._error(
                f"{self.label} sent an answer that is not an ApiResponse; check that the"
                " API URL points at its xml.response endpoint."
            )
        status = _attrs(root).get("status", "").upper()
        errors = [
            (_attrs(e).get("number", ""), (e.text or "").strip())
            for e in root.iter()
            if _tag(e) == "error"
        ]
        if status != "OK" or errors:
            self._raise_for(errors)
        for element in root.iter():
            if _tag(element) == "commandresponse":
                return element
        raise self._error(f"{self.label} sent an answer without a CommandResponse.")

    def _raise_for(self, errors: list[tuple[str, str]]) -> t.NoReturn:
        text = "; ".join(f"{message} ({number})" for number, message in errors) or (
            "an error without details"
        )
        numbers = {int(n) for n, _ in errors if n.strip().isdigit()}
        if any(str(n).startswith("101") for n in numbers) or numbers & _AUTH_ERRORS:
            raise self._error(
                f"{self.label} refused the request: {text}. Check the API user, API key and"
                " username, that API access is enabled, that the service's IP address is"
                " whitelisted, and that the domain is in this account and uses Namecheap DNS.",
                AuthorizationFailed,
            )
        raise self._error(f"{self.label} refused the request: {text}.")

    # -- Provider ------------------------------------------------------

    def find_zone(self, domain: str) -> Zone:
        """The domain's hosts and e-mail setting (``getHosts``).

        ``domain`` is the zone's exact name, so its first label is the SLD and
        the rest the TLD: ``example.co.uk`` is ``example`` + ``co.uk``, with
        no public-suffix list to keep up to date.
        """
        name = domain.rstrip(".").lower()
        sld, _, tld = name.partition(".")
        if not sld or not tld:
            raise self._error(f"{domain} is not a domain {self.label} can hold.")
        response = self._call("namecheap.domains.dns.getHosts", {"SLD": sld, "TLD": tld})
        result = next((e for e in response.iter() if _tag(e) == "domaindnsgethostsresult"), None)
        if result is None:
            raise self._error(f"{self.label} sent getHosts without its result.")
        info = _attrs(result)
        if info.get("isusingourdns", "true").lower() == "false":
            raise self._error(
                f"{name} does not use {self.label}'s DNS servers, so its records cannot be"
                " managed there; switch it to Namecheap BasicDNS, or use the provider that"
                " hosts its DNS.",
                AuthorizationFailed,
            )
        hosts = []
        for element in result:
            if _tag(element) != "host":
                continue
            a = _attrs(element)
            hosts.append({
                "HostName": a.get("name", "@") or "@",
                "RecordType": a.get("type", "").upper(),
                "Address": a.get("address", ""),
                "MXPref": a.get("mxpref", "") or "10",
                "TTL": a.get("ttl", "") or "1800",
            })
        email_type = info.get("emailtype") or None
        return Zone(name=name, sld=sld, tld=tld, email_type=email_type, hosts=hosts)

    def check_access(self, zone_name: str) -> None:
        self.find_zone(zone_name)

    def get_records(self, zone_name: str, name: str) -> list[Record]:
        zone = self.find_zone(zone_name)
        wanted = absolute_name(name, zone.name)
        return [r for r in _records(zone) if r.name == wanted]

    def _existing(self, zone: t.Any, zone_name: str, wanted: list[Record]) -> list[Record]:
        return _records(zone)

    def _apply(
        self, zone: t.Any, zone_name: str, changes: list[Change], existing: list[Record]
    ) -> None:
        hosts = [dict(h) for h in zone.hosts]
        for change in changes:
            record = change.record
            host = relative_name(record.name, zone.name)
            if change.replaces is not None:
                for h in hosts:
                    same_name = absolute_name(h["HostName"], zone.name) == record.name
                    if not same_name or h["RecordType"] != record.type:
                        continue
                    if record.type == "CNAME" or h["Address"] == change.replaces.value:
                        h["Address"] = _address(record)
                        break
                continue
            mx_pref = "10"
            address = _address(record)
            if record.type == "MX":
                mx_pref, _, address = record.value.partition(" ")
            hosts.append({
                "HostName": host,
                "RecordType": record.type,
                "Address": address,
                "MXPref": mx_pref,
                "TTL": str(min(max(record.ttl, MIN_TTL), MAX_TTL)),
            })

        args: dict[str, str] = {"SLD": zone.sld, "TLD": zone.tld}
        email_type = zone.email_type
        if email_type is None and any(h["RecordType"] == "MX" for h in hosts):
            email_type = "MX"  # never let the MX records go
        if email_type:
            args["EmailType"] = email_type
        for i, h in enumerate(hosts, start=1):
            for key, value in h.items():
                args[f"{key}{i}"] = value
        response = self._call("namecheap.domains.dns.setHosts", args)
        result = next((e for e in response.iter() if _tag(e) == "domaindnssethostsresult"), None)
        if result is not None and _attrs(result).get("issuccess", "true").lower() != "true":
            raise self._error(f"{self.label} did not confirm that the records were saved.")


def _records(zone: Zone) -> list[Record]:
    records = []
    for h in zone.hosts:
        value = h["Address"]
        if h["RecordType"] == "MX":
            value = f"{h['MXPref']} {value}"
        ttl = h["TTL"]
        records.append(Record(
            name=absolute_name(h["HostName"], zone.name),
            type=h["RecordType"],
            value=value,
            ttl=int(ttl) if ttl.isdigit() else 1800,
        ))
    return records


def _address(record: Record) -> str:
    if record.type in ("CNAME", "NS"):
        # getHosts reports host names fully qualified, with the final dot.
        return record.value.rstrip(".") + "."
    return record.value


def _parse(content: bytes) -> ET.Element | None:
    try:
        return ET.fromstring(content)
    except ET.ParseError:
        return None


def _tag(element: ET.Element) -> str:
    """The element's name without namespace, lower-cased."""
    tag = element.tag if isinstance(element.tag, str) else ""
    return tag.rsplit("}", 1)[-1].lower()


def _attrs(element: ET.Element) -> dict[str, str]:
    """The element's attributes with names folded to lower case."""
    return {k.rsplit("}", 1)[-1].lower(): v for k, v in element.attrib.items()}


PROVIDER = registry.ProviderInfo(
    name="namecheap",
    label="Namecheap",
    nameservers=NAMESERVERS,
    credentials=(registry.key("API key"), registry.api_user("API user"), registry.username("Account username")),
    where=(
        "In your Namecheap account, under Profile, Tools, Namecheap API Access, turn API "
        "access on, whitelist this service's IP address and copy the API key; the API user "
        "and the account username are your Namecheap username."
    ),
    api_url="https://api.namecheap.com/xml.response",
    client=Namecheap,
    settings=(("client_ip", "OCTETH_NAMECHEAP_CLIENT_IP"),),
)
