"""The PowerDNS client against a real PowerDNS Authoritative server.

The fixture starts ``pdns_server`` on loopback with a fresh SQLite database,
its HTTP API on a free port, and a zone created through that API; the tests
write with :class:`PowerDNS` and then ask the server over DNS (dnspython) to
prove the records are served. Needs the Debian packages ``pdns-server`` and
``pdns-backend-sqlite3``, which ``.ci/run`` installs; without them the tests fail, never skip.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import time
import typing as t
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype
import pytest
import requests

from octeth_domains.providers import AuthorizationFailed, Credentials, ProviderError, Record
from octeth_domains.providers.powerdns import PowerDNS
from provider_servers import OURS, SPF

ZONE = "example.com"


def _find_pdns() -> tuple[str, str] | None:
    server = shutil.which("pdns_server") or shutil.which("pdns_server", path="/usr/sbin:/usr/local/sbin")
    schemas = [
        "/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql",
        "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql",
    ]
    schema = next((s for s in schemas if os.path.exists(s)), None)
    backend = glob.glob("/usr/lib/*/pdns/libgsqlite3backend.so") + glob.glob(
        "/usr/lib/pdns/libgsqlite3backend.so"
    )
    if server and schema and backend:
        return server, schema
    return None


PDNS = _find_pdns()


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (pdns binds both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
        return port
    raise RuntimeError("no free port")


@dataclass
class PdnsServer:
    api_url: str
    api_key: str
    dns_port: int
    process: subprocess.Popen[bytes]

    def provider(self, key: str | None = None, **options: t.Any) -> PowerDNS:
        settings = {"api_url": self.api_url, "timeout": 5.0, "retries": 1, "backoff": 0.05}
        settings.update(options)
        return PowerDNS(Credentials(key or self.api_key), **settings)

    def api(self, method: str, path: str, **kwargs: t.Any) -> requests.Response:
        return requests.request(
            method, self.api_url + path, headers={"X-API-Key": self.api_key}, timeout=5, **kwargs
        )

    def query(self, name: str, rtype: str) -> list[str]:
        """What the server answers over DNS for ``name``/``rtype``, as text."""
        request = dns.message.make_query(name, rtype)
        answer = dns.query.udp(request, "127.0.0.1", port=self.dns_port, timeout=3)
        wanted = dns.rdatatype.from_text(rtype)
        return sorted(
            rdata.to_text()
            for rrset in answer.answer
            if rrset.rdtype == wanted
            for rdata in rrset
        )

    def serial(self) -> int:
        return int(self.query(ZONE, "SOA")[0].split()[2])


@pytest.fixture()
def pdns(tmp_path: Path) -> t.Iterator[PdnsServer]:
    assert PDNS is not None, "install the Debian packages pdns-server and pdns-backend-sqlite3 (.ci/run does)"
    server_bin, schema = PDNS
    database = tmp_path / "pdns.sqlite3"
    with sqlite3.connect(database) as db:
        db.executescript(Path(schema).read_text())
    api_key = secrets.token_urlsafe(24)
    dns_port, web_port = free_port(), free_port()
    (tmp_path / "pdns.conf").write_text(
        "\n".join([
            "launch=gsqlite3",
            f"gsqlite3-database={database}",
            "local-address=127.0.0.1",
            f"local-port={dns_port}",
            "webserver=yes",
            "webserver-address=127.0.0.1",
            f"webserver-port={web_port}",
            "webserver-allow-from=127.0.0.0/8",
            "api=yes",
            f"api-key={api_key}",
            "daemon=no",
            "guardian=no",
            f"socket-dir={tmp_path}",
            "disable-syslog=yes",
            "security-poll-suffix=",
            "loglevel=3",
            "",
        ])
    )
    log = open(tmp_path / "pdns.log", "wb")
    process = subprocess.Popen(
        [server_bin, f"--config-dir={tmp_path}"], stdout=log, stderr=subprocess.STDOUT
    )
    server = PdnsServer(
        api_url=f"http://127.0.0.1:{web_port}/api/v1/servers/localhost",
        api_key=api_key,
        dns_port=dns_port,
        process=process,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                pytest.fail("pdns_server exited:\n" + (tmp_path / "pdns.log").read_text())
            try:
                if server.api("GET", "").status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("pdns_server did not start:\n" + (tmp_path / "pdns.log").read_text())
            time.sleep(0.1)
        created = server.api("POST", "/zones", json={
            "name": ZONE + ".",
            "kind": "Native",
            "nameservers": ["ns1.example.com."],
            "rrsets": [
                {"name": "example.com.", "type": "A", "ttl": 3600, "records": [{"content": "192.0.2.10", "disabled": False}]},
                {"name": "example.com.", "type": "MX", "ttl": 3600, "records": [{"content": "10 mx1.example.net.", "disabled": False}]},
                {"name": "example.com.", "type": "TXT", "ttl": 3600, "records": [{"content": f'"{SPF}"', "disabled": False}]},
                {"name": "www.example.com.", "type": "CNAME", "ttl": 3600, "records": [{"content": "example.com.", "disabled": False}]},
                {"name": "ns1.example.com.", "type": "A", "ttl": 3600, "records": [{"content": "192.0.2.53", "disabled": False}]},
            ],
        })
        assert created.status_code == 201, created.text
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


def unrelated_intact(pdns: PdnsServer) -> None:
    assert pdns.query(ZONE, "A") == ["192.0.2.10"]
    assert pdns.query(ZONE, "MX") == ["10 mx1.example.net."]
    assert f'"{SPF}"' in pdns.query(ZONE, "TXT")
    assert pdns.query("www.example.com", "CNAME") == ["example.com."]


def test_records_written_through_the_api_are_served(pdns: PdnsServer) -> None:
    with pdns.provider() as provider:
        provider.check_access(ZONE)
        hosts = provider.ensure_records(ZONE, OURS)

    assert hosts == [r.name for r in OURS]
    assert pdns.query("sl.example.com", "CNAME") == ["mailer.delivery.example."]
    assert pdns.query("key1._domainkey.sl.example.com", "CNAME") == ["key1._domainkey.mailer.delivery.example."]
    assert pdns.query("_dmarc.sl.example.com", "CNAME") == ["_dmarc.mailer.delivery.example."]
    assert pdns.query("track-sl.example.com", "CNAME") == ["track.mailer.delivery.example."]
    assert pdns.query("abcdefghij.sl.example.com", "TXT") == ['"xG7_Jq2oR-ownership-token"']
    assert pdns.query(ZONE, "TXT") == sorted(['"octeth-verification=Zm9vYmFy"', f'"{SPF}"'])
    unrelated_intact(pdns)


def test_second_call_changes_nothing(pdns: PdnsServer) -> None:
    with pdns.provider() as provider:
        provider.ensure_records(ZONE, OURS)
        serial = pdns.serial()
        zone = pdns.api("GET", f"/zones/{ZONE}.").json()["rrsets"]
        provider.ensure_records(ZONE, OURS)
    assert pdns.serial() == serial
    assert pdns.api("GET", f"/zones/{ZONE}.").json()["rrsets"] == zone


def test_cname_with_another_target_is_updated_in_place(pdns: PdnsServer) -> None:
    pdns.api("PATCH", f"/zones/{ZONE}.", json={"rrsets": [{
        "name": "sl.example.com.", "type": "CNAME", "ttl": 300, "changetype": "REPLACE",
        "records": [{"content": "old-mailer.example.net.", "disabled": False}],
    }]}).raise_for_status()
    with pdns.provider() as provider:
        provider.ensure_records(ZONE, OURS[:1])
    assert pdns.query("sl.example.com", "CNAME") == ["mailer.delivery.example."]
    unrelated_intact(pdns)


def test_long_txt_is_split_and_read_back_whole(pdns: PdnsServer) -> None:
    value = "k=rsa; p=" + "A" * 400
    with pdns.provider() as provider:
        provider.ensure_records(ZONE, [Record("key2._domainkey.example.com", "TXT", value)])
        assert [r.value for r in provider.get_records(ZONE, "key2._domainkey.example.com")] == [value]
        provider.ensure_records(ZONE, [Record("key2._domainkey.example.com", "TXT", value)])
    (served,) = pdns.query("key2._domainkey.example.com", "TXT")
    assert served.count('"') == 4  # two character-strings


def test_wrong_api_key_is_authorization_failed(pdns: PdnsServer) -> None:
    with pdns.provider(key="wrong-key") as provider:
        with pytest.raises(AuthorizationFailed) as info:
            provider.ensure_records(ZONE, OURS)
    assert "wrong-key" not in str(info.value)
    assert pdns.query("sl.example.com", "CNAME") == []


def test_unknown_zone_is_authorization_failed(pdns: PdnsServer) -> None:
    with pdns.provider() as provider, pytest.raises(AuthorizationFailed, match="does not exist"):
        provider.check_access("not-here.example")


def test_stopped_server_is_a_provider_error(pdns: PdnsServer) -> None:
    pdns.process.terminate()
    pdns.process.wait(timeout=10)
    with pdns.provider(retries=0) as provider, pytest.raises(ProviderError, match="Could not connect"):
        provider.check_access(ZONE)


def test_end_to_end_dns_set_then_verify_against_powerdns(pdns: PdnsServer, make_app, templates_file) -> None:
    """The whole flow on a real DNS server: create, publish through the provider API, verify."""
    from conftest import Accounts, Api

    app = make_app(OCTETH_DNS_TEMPLATES=str(templates_file), OCTETH_DNS_SERVERS=f"127.0.0.1:{pdns.dns_port}",
                   OCTETH_DNS_TIMEOUT="2", OCTETH_POWERDNS_API_URL=pdns.api_url)
    user = Accounts(app).user(dns_template="Full")
    api = Api(app, user["APIKey"])
    _, created = api.create(SenderDomain="example.com")
    domain_id = created["DomainID"]
    assert api.verify(DomainID=domain_id)[1]["IsVerified"] is False

    response = app.test_client().post("/api/v1/dns.set", json={
        "APIKey": user["APIKey"], "Provider": "powerdns", "Domain": "example.com", "Api_key": pdns.api_key,
        "RecordType": "campaign"})
    body = response.get_json()
    assert body["success"] is True and len(body["Records"]) == 5

    with app.app_context():  # the failed probe above is cached for a minute; a user would wait
        from octeth_domains.senderdomains import verify
        app.extensions["octeth_senderdomains"].cache.delete(verify.cache_key(domain_id, created["SenderDomain"]["VerificationMeta"]["DNSRecords"]))
    _, verified = api.verify(DomainID=domain_id)
    assert (verified["IsVerified"], verified["Status"]) == (True, "Enabled"), verified
    unrelated_intact(pdns)
