"""No provider is ever asked to delete a record (SPEC §7, §11): ours (Cloudflare, GoDaddy,
Namecheap, PowerDNS) and dns-lexicon's (DigitalOcean, Hetzner's DNS Console and Hetzner Cloud, Vultr).

Each client publishes our records into a zone holding the user's own (an A, an MX, an SPF TXT and another
TXT beside it, a CNAME, and a CNAME at one of our hosts pointing elsewhere), twice, against a local server that
records every request. The test fails if any request deletes: an HTTP ``DELETE``; for the APIs
that replace a set of records in one call, a call that leaves out a record that was there
(Namecheap's replace-all ``setHosts``, GoDaddy's ``PUT`` of one name and type, PowerDNS's
``REPLACE`` of an RRset, Hetzner Cloud's ``set_records``), a Hetzner Cloud ``remove_records`` or a
PowerDNS ``changetype: DELETE``. The only records that may change
are the two the rules of §7 rewrite in place: our CNAME host's target and the user's SPF record,
which gets our mechanism merged in.
"""
from __future__ import annotations

import json
import typing as t
import urllib.parse
from dataclasses import dataclass

import pytest
from werkzeug.wrappers import Request, Response

from octeth_domains.providers import Credentials, Record, parse_txt, registry
from provider_servers import OURS, SPF, UNRELATED, Entry, FakeServer, Seen, json_response
from provider_servers.cloudflare import FakeCloudflare
from provider_servers.digitalocean import FakeDigitalOcean
from provider_servers.godaddy import FakeGoDaddy
from provider_servers.hetzner import FakeHetzner, FakeHetznerCloud
from provider_servers.namecheap import FakeNamecheap
from provider_servers.vultr import FakeVultr

ZONE = "example.com"
OLD_CNAME = ("sl.example.com", "CNAME", "old-target.example.net")
#: Another TXT of the user's at the name of the SPF record: rewriting the SPF must keep it.
SITE_TXT = (ZONE, "TXT", "google-site-verification=Zm9vYmFyYmF6")
OUR_SPF = Record(ZONE, "TXT", "v=spf1 include:_spf.mailer.delivery.example ~all")
WANTED = [*OURS, OUR_SPF]
#: What may be rewritten in place: (name, type, old value).
REWRITTEN = {OLD_CNAME, (ZONE, "TXT", SPF)}
CLIENT_IP = "198.51.100.7"


class FakePowerDNS(FakeServer):
    """Just enough of the PowerDNS Authoritative API for its client: ``GET`` a zone with its
    RRsets, ``PATCH`` RRsets (``REPLACE`` sets one whole RRset, ``DELETE`` removes it)."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.rrsets: dict[tuple[str, str], dict[str, t.Any]] = {}

    def add_zone(self, name: str, records: t.Iterable[Entry] = (), **options: t.Any) -> None:
        self.rrsets.clear()
        for fqdn, rtype, value in records:
            content = f'"{value}"' if rtype == "TXT" else value + "." if rtype in ("CNAME", "MX") else value
            rrset = self.rrsets.setdefault((fqdn + ".", rtype), {"name": fqdn + ".", "type": rtype, "ttl": 3600,
                                                                 "records": []})
            rrset["records"].append({"content": content, "disabled": False})

    def dump(self, name: str) -> list[Entry]:
        found = []
        for rrset in self.rrsets.values():
            for record in rrset["records"]:
                content = record["content"]
                content = parse_txt(content) if rrset["type"] == "TXT" else content.rstrip(".")
                found.append((rrset["name"].rstrip("."), rrset["type"], content))
        return found

    def handle(self, request: Request) -> Response:
        if request.headers.get("X-API-Key") != self.key:
            return json_response({"error": "Unauthorized"}, 401)
        if not request.path.endswith(f"/zones/{ZONE}."):
            return json_response({"error": "Could not find domain"}, 404)
        if request.method == "GET":
            return json_response({"name": ZONE + ".", "kind": "Native", "rrsets": list(self.rrsets.values())})
        if request.method == "PATCH":
            for rrset in (request.get_json(force=True) or {}).get("rrsets", []):
                key = (rrset["name"], rrset["type"])
                if rrset.get("changetype") == "DELETE":
                    self.rrsets.pop(key, None)
                else:
                    self.rrsets[key] = {k: rrset[k] for k in ("name", "type", "ttl", "records")}
            return Response(status=204)
        return json_response({"error": "Method not allowed"}, 405)


@dataclass
class Case:
    name: str
    server: t.Any
    url: str
    credentials: Credentials
    options: dict[str, t.Any]


def client_class(name: str) -> t.Any:
    """The provider's client: from its module's PROVIDER, or (for the four that predate the
    registry) from the package's table."""
    name = name.removesuffix("_cloud")  # hetzner_cloud: the hetzner client with a Cloud token
    info = registry.load().get(name)
    if info is not None and info.client is not None:
        return info.client
    from octeth_domains.providers import get_provider_class

    return get_provider_class(name)


def make(name: str) -> Case:
    if name == "cloudflare":
        s = FakeCloudflare(tokens={"cfToken": None}).start()
        return Case(name, s, s.url, Credentials("cfToken"), {})
    if name == "godaddy":
        s = FakeGoDaddy(keys={("gdKey", "gdSecret"): "1000"}).start()
        return Case(name, s, s.url, Credentials("gdKey", "gdSecret"), {})
    if name == "namecheap":
        s = FakeNamecheap(users={"ncUser": {"key": "ncKey", "username": "ncUser", "ips": {CLIENT_IP}}}).start()
        return Case(name, s, s.url + "/xml.response", Credentials("ncKey", api_user="ncUser", username="ncUser"),
                    {"client_ip": CLIENT_IP})
    if name == "powerdns":
        s = FakePowerDNS("pdnsKey").start()
        return Case(name, s, s.url + "/api/v1/servers/localhost", Credentials("pdnsKey"), {})
    if name == "digitalocean":
        s = FakeDigitalOcean(tokens={"doToken": None}).start()
        return Case(name, s, s.url + "/v2", Credentials("doToken"), {})
    if name == "hetzner":
        s = FakeHetzner(tokens={"h" * 32: None}).start()
        return Case(name, s, s.url + "/api/v1", Credentials("h" * 32), {})
    if name == "hetzner_cloud":
        s = FakeHetznerCloud(tokens={"hcloudToken": None}).start()
        return Case(name, s, s.url + "/v1", Credentials("hcloudToken"), {})
    s = FakeVultr(tokens={"vuKey": None}).start()
    return Case(name, s, s.url + "/v2", Credentials("vuKey"), {})


PROVIDERS = ["cloudflare", "godaddy", "namecheap", "powerdns", "digitalocean", "hetzner", "hetzner_cloud", "vultr"]


@pytest.fixture(params=PROVIDERS)
def case(request: pytest.FixtureRequest) -> t.Iterator[Case]:
    c = make(request.param)
    c.server.add_zone(ZONE, [*UNRELATED, OLD_CNAME, SITE_TXT])
    try:
        yield c
    finally:
        c.server.stop()


def norm(entry: Entry) -> Entry:
    """One record compared as DNS compares it: host names without the final dot, in lower case."""
    name, rtype, value = entry
    value = value.rstrip(".").lower() if rtype in ("CNAME", "MX") else value
    return (name.rstrip(".").lower(), rtype, value)


def kept(entries: t.Iterable[Entry]) -> set[Entry]:
    """The user's records that nothing may remove or change."""
    return {norm(e) for e in entries} - {norm(e) for e in REWRITTEN}


def params(seen: Seen) -> dict[str, str]:
    return {k.lower(): v for k, v in {**seen.query, **seen.form}.items()}


def sent_hosts(seen: Seen) -> set[Entry]:
    """The hosts one Namecheap ``setHosts`` call sends, as (fqdn, type, value)."""
    p = params(seen)
    hosts = set()
    n = 1
    while f"hostname{n}" in p:
        host = p[f"hostname{n}"]
        fqdn = ZONE if host == "@" else f"{host}.{ZONE}"
        rtype, value = p[f"recordtype{n}"].upper(), p[f"address{n}"]
        if rtype == "MX":
            value = f"{p.get(f'mxpref{n}', '10')} {value}"
        hosts.add(norm((fqdn, rtype, value)))
        n += 1
    return hosts


def assert_nothing_deleted(case: Case, before: set[Entry]) -> None:
    requests = case.server.requests
    assert requests, "the client made no request at all"
    deletes = [(s.method, s.path) for s in requests if s.method == "DELETE"]
    assert deletes == [], f"{case.name} was asked to delete: {deletes}"
    for seen in requests:
        if case.name == "namecheap" and params(seen).get("command", "").lower() == "namecheap.domains.dns.sethosts":
            missing = before - sent_hosts(seen)
            assert not missing, f"setHosts left out the user's hosts {missing}"
        if case.name == "godaddy" and seen.method == "PUT":
            parts = [p for p in seen.path.split("/") if p]
            assert len(parts) == 6, f"GoDaddy was sent a whole-zone PUT: {seen.path}"
            rtype, host = parts[4].upper(), urllib.parse.unquote(parts[5])
            fqdn = ZONE if host == "@" else f"{host}.{ZONE}"
            values = {str(item.get("data", "")).rstrip(".").lower() if rtype in ("CNAME", "MX") else
                      str(item.get("data", "")) for item in json.loads(seen.body or b"[]")}
            missing = {e for e in before if e[:2] == (fqdn, rtype) and e[2] not in values and rtype != "MX"}
            assert not missing, f"a GoDaddy PUT of {fqdn} {rtype} left out {missing}"
        if case.name == "hetzner_cloud":
            assert not seen.path.endswith("/remove_records"), f"Hetzner Cloud was asked to remove records: {seen.path}"
            if seen.path.endswith("/set_records"):
                rel, rtype = seen.path.split("/rrsets/", 1)[1].split("/")[:2]
                fqdn = ZONE if rel == "@" else f"{rel}.{ZONE}"
                values = {norm((fqdn, rtype, parse_txt(r["value"]) if rtype == "TXT" else r["value"]))[2]
                          for r in (seen.json or {}).get("records", [])}
                missing = {e for e in before if e[:2] == (fqdn, rtype) and e[2] not in values}
                assert not missing, f"a Hetzner Cloud set_records of {fqdn} {rtype} left out {missing}"
        if case.name == "powerdns" and seen.method == "PATCH":
            for rrset in (seen.json or {}).get("rrsets", []):
                assert rrset.get("changetype") == "REPLACE", rrset
                fqdn, rtype = rrset["name"].rstrip("."), rrset["type"]
                values = {parse_txt(r["content"]) if rtype == "TXT" else r["content"].rstrip(".").lower()
                          for r in rrset["records"]}
                missing = {e for e in before if e[:2] == (fqdn, rtype) and e[2] not in values}
                assert not missing, f"a PowerDNS REPLACE of {fqdn} {rtype} left out {missing}"
    after = kept(case.server.dump(ZONE))
    assert before <= after, f"{case.name} lost the user's records {before - after}"


def test_no_provider_is_ever_asked_to_delete_a_record(case: Case) -> None:
    before = kept(case.server.dump(ZONE))
    assert len(before) == len(UNRELATED)  # the A, the MX, the www CNAME, the site TXT; the SPF may be merged
    cls = client_class(case.name)
    assert cls is not None, case.name
    for _ in range(2):  # the first run writes, the second must find everything there
        with cls(case.credentials, api_url=case.url, timeout=2.0, retries=1, backoff=0.01, **case.options) as client:
            client.check_access(ZONE)
            client.ensure_records(ZONE, WANTED)
    assert_nothing_deleted(case, before)
    zone = case.server.dump(ZONE)
    spf = [v for n, r, v in zone if (n, r) == (ZONE, "TXT") and v.startswith("v=spf1")]
    assert spf == ["v=spf1 include:_spf.example.net include:_spf.mailer.delivery.example ~all"]
    assert [v.rstrip(".") for n, r, v in zone if (n, r) == ("sl.example.com", "CNAME")] == ["mailer.delivery.example"]


def test_the_check_catches_a_delete(case: Case) -> None:
    """The check above can fail: a client that removes the user's MX record is caught."""
    before = kept(case.server.dump(ZONE))
    mx = next(e for e in case.server.dump(ZONE) if e[1] == "MX")
    case.server.add_zone(ZONE, [e for e in case.server.dump(ZONE) if e != mx])
    case.server.requests.append(Seen("GET", "/", {}, {}))
    with pytest.raises(AssertionError, match="lost the user's records"):
        assert_nothing_deleted(case, before)


def test_no_client_in_the_package_calls_a_delete() -> None:
    """Belt and braces: nothing under octeth_domains/providers calls lexicon's delete_record or
    sends an HTTP DELETE."""
    import pathlib

    import octeth_domains.providers as package

    for path in pathlib.Path(package.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert "delete_record(" not in text, path.name
        assert '"DELETE"' not in text and "'DELETE'" not in text, path.name
