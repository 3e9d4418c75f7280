"""Verification against a real authoritative DNS server on loopback (SPEC §5 verify, reverify)."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Accounts, Api
from octeth_domains.senderdomains import lifecycle, verification, verify
from octeth_domains.senderdomains import reverify as background

TRACKING = "tracking-host.octeth.example."


def publish(dns, records, skip=()):
    for host, (kind, value, *_) in records.items():
        if host not in skip:
            dns.add_record(host, kind, value)


def create(api, domain="example.com", **options):
    _, body = api.create(SenderDomain=domain, **options)
    return body["DomainID"], body["SenderDomain"]["VerificationMeta"]["DNSRecords"]


def forget(app, domain_id, records):
    """Drop the cached probe, as if its minute had passed."""
    app.extensions["octeth_senderdomains"].cache.delete(verify.cache_key(domain_id, {h: r[:2] for h, r in records.items()}))


def stored_status(app, domain_id):
    with app.extensions["octeth_db"].session() as db:
        return db.one("SELECT Status FROM {p}sender_domains WHERE DomainID = ?", (domain_id,))["Status"]



@pytest.fixture
def full_api(domain_app):
    return Api(domain_app, Accounts(domain_app).user(dns_template="Full")["APIKey"])


def test_full_template_published_is_enabled(full_api, dns):
    domain_id, records = create(full_api)
    publish(dns, records)
    _, body = full_api.verify(DomainID=domain_id)
    assert body["IsVerified"] is True and body["Status"] == "Enabled"
    assert all(flag is True for _, _, flag in body["DNSRecords"].values())
    _, dns_view = full_api.dns(DomainID=domain_id)
    assert all(record["IsVerified"] is True for record in dns_view["DNSRecords"].values())


def test_wrong_cname_missing_txt_and_half_published(full_api, dns):
    domain_id, records = create(full_api)
    txt_host = next(host for host, (kind, _) in records.items() if kind == "TXT")
    dkim_host = next(host for host in records if host.startswith("key1._domainkey."))
    publish(dns, records, skip=(txt_host, dkim_host))
    dns.add_record(dkim_host, "CNAME", "someone-else.example.")
    _, body = full_api.verify(DomainID=domain_id)
    assert body["IsVerified"] is False and body["Status"] == "Approval Pending"
    flags = {host: record[2] for host, record in body["DNSRecords"].items()}
    assert flags == {host: host not in (txt_host, dkim_host) for host in records}
    _, view = full_api.dns(DomainID=domain_id)
    assert {host: r["IsVerified"] for host, r in view["DNSRecords"].items()} == flags


def test_a_definite_failure_demotes_an_enabled_domain(api, dns, domain_app):
    domain_id, records = create(api)
    publish(dns, records)
    assert api.verify(DomainID=domain_id)[1]["Status"] == "Enabled"
    dns.clear()
    forget(domain_app, domain_id, records)  # past the 60-second cache, as a minute later
    _, body = api.verify(DomainID=domain_id)
    assert (body["IsVerified"], body["Status"]) == (False, "Approval Pending")


def test_case_and_trailing_dots_do_not_matter(make_app, tmp_path, dns):
    templates = tmp_path / "mixed.toml"
    templates.write_text('[campaign.Default]\n"_Subdomain_._SenderDomain_" = ["CNAME", "Tracking-Host.OCTETH.example"]\n'
                         '"txt._SenderDomain_" = ["TXT", "v=Token With Case"]\n')
    host, port = dns.address
    app = make_app(OCTETH_DNS_TEMPLATES=str(templates), OCTETH_DNS_SERVERS=f"{host}:{port}", OCTETH_DNS_TIMEOUT="1")
    api = Api(app, Accounts(app).user()["APIKey"])
    domain_id, _ = create(api, "Example.COM")
    dns.add_record("SL.EXAMPLE.com.", "CNAME", "TRACKING-HOST.octeth.EXAMPLE.")
    dns.add_record("txt.example.com", "TXT", "v=Token With Case")
    _, body = api.verify(DomainID=domain_id)
    assert body["IsVerified"] is True, body


def test_a_second_verify_within_60_seconds_is_answered_from_the_cache(api, dns):
    domain_id, records = create(api)
    publish(dns, records)
    assert api.verify(DomainID=domain_id)[1]["IsVerified"] is True
    queries = len(dns.queries)
    assert queries >= 2
    dns.clear()  # the zone changes, but the cached outcome answers for a minute
    _, body = api.verify(DomainID=domain_id)
    assert body["IsVerified"] is True and len(dns.queries) == 0


def test_after_an_update_the_old_cache_does_not_answer(api, dns):
    domain_id, records = create(api)
    publish(dns, records)
    assert api.verify(DomainID=domain_id)[1]["Status"] == "Enabled"
    _, updated = api.update(DomainID=domain_id, CustomSubdomain="em")
    assert updated["DnsRegenerated"] is True and updated["SenderDomain"]["Status"] == "Approval Pending"
    dns.queries.clear()
    _, body = api.verify(DomainID=domain_id)
    assert list(body["DNSRecords"]) == ["em.example.com", "track-em.example.com"]
    assert body["IsVerified"] is False and len(dns.queries) >= 2


def test_a_silent_dns_server_never_demotes_an_enabled_domain(api, dns, domain_app):
    domain_id, records = create(api)
    publish(dns, records)
    assert api.verify(DomainID=domain_id)[1]["Status"] == "Enabled"
    forget(domain_app, domain_id, records)
    dns.silent = True
    started = time.monotonic()
    _, body = api.verify(DomainID=domain_id)
    assert time.monotonic() - started < 2.5  # OCTETH_DNS_TIMEOUT is 1 s
    assert body["IsVerified"] is False and body["Status"] == "Enabled"
    assert all(record[2] is False for record in body["DNSRecords"].values())
    # The stored flags still say what the last definite answer said.
    dns.silent = False
    _, view = api.dns(DomainID=domain_id)
    assert all(record["IsVerified"] is True for record in view["DNSRecords"].values())


def test_only_last_verified_at_is_written_when_nothing_changed(api, dns, domain_app):
    domain_id, records = create(api)
    dns.add_record("sl.example.com", "CNAME", TRACKING)
    api.verify(DomainID=domain_id)
    db = domain_app.extensions["octeth_db"]
    with db.session() as connection:
        connection.execute("CREATE TABLE {p}test_writes (n INTEGER NOT NULL)")
        connection.execute("INSERT INTO {p}test_writes (n) VALUES (0)")
        body = "UPDATE {p}test_writes SET n = n + 1"
        if connection.dialect == "mysql":
            connection.execute("CREATE TRIGGER {p}count_writes AFTER UPDATE ON {p}sender_domains FOR EACH ROW " + body)
        else:
            connection.execute("CREATE TRIGGER {p}count_writes AFTER UPDATE ON {p}sender_domains BEGIN " + body + "; END")
    try:
        forget(domain_app, domain_id, records)
        before = api.get(DomainID=domain_id)[1]["SenderDomain"]
        assert api.verify(DomainID=domain_id)[1]["IsVerified"] is False  # same outcome as before
        with db.session() as connection:
            assert connection.one("SELECT n FROM {p}test_writes")["n"] == 1  # one UPDATE: LastVerifiedAt
        after = api.get(DomainID=domain_id)[1]["SenderDomain"]
        assert {**after, "LastVerifiedAt": None} == {**before, "LastVerifiedAt": None}
        dns.add_record("track-sl.example.com", "CNAME", TRACKING)
        forget(domain_app, domain_id, records)
        assert api.verify(DomainID=domain_id)[1]["IsVerified"] is True
        with db.session() as connection:
            assert connection.one("SELECT n FROM {p}test_writes")["n"] == 2
    finally:
        with db.session() as connection:
            connection.execute("DROP TRIGGER {p}count_writes")
            connection.execute("DROP TABLE {p}test_writes")


def test_manual_approval_blocks_until_an_operator_approves(domain_app, dns):
    user = Accounts(domain_app).user(manual_approval=True)
    api = Api(domain_app, user["APIKey"])
    domain_id, records = create(api)
    publish(dns, records)
    assert api.verify(DomainID=domain_id)[1]["Status"] == "Blocked"
    with domain_app.app_context(), domain_app.extensions["octeth_db"].session() as db:
        lifecycle.set_status_by_operator(db, domain_id, "Enabled")
    _, updated = api.update(DomainID=domain_id, CustomSubdomain="em")
    assert updated["SenderDomain"]["Status"] == "Approval Pending"
    publish(dns, updated["SenderDomain"]["VerificationMeta"]["DNSRecords"])
    assert api.verify(DomainID=domain_id)[1]["Status"] == "Enabled"  # the approval is remembered


def test_verify_all(api, dns):
    first, records = create(api, "one.example")
    publish(dns, records)
    create(api, "two.example")
    create(api, "three.example")
    status, body = api.verify(VerifyAll="true")
    assert status == 200
    domains = {d["DomainID"]: d for d in body.pop("Domains")}
    assert body == {"Success": True, "VerifyAll": True, "Verified": 1, "Failed": 2, "Truncated": False}
    assert domains[first] == {"DomainID": first, "IsVerified": True, "Status": "Enabled",
                              "Reasons": {"sl.one.example": "ok", "track-sl.one.example": "ok"}}
    assert all(set(d["Reasons"].values()) == {"missing"} for k, d in domains.items() if k != first)
    assert all(d["Status"] == "Approval Pending" for k, d in domains.items() if k != first)


def test_verify_all_stops_at_25(api, dns, domain_app):
    ids = [create(api, f"d{n}.example", UseTrackingSubdomain=False)[0] for n in range(26)]
    _, body = api.verify(verifyall=1)
    assert body["Truncated"] is True and len(body["Domains"]) == 25
    assert [d["DomainID"] for d in body["Domains"]] == ids[:25]


def reverify(app, dns):
    with app.app_context(), app.extensions["octeth_db"].session() as db:
        return background.run(db, app.extensions["octeth_reverify"])


def test_reverify_demotes_after_three_definite_failures_in_a_row(api, dns, domain_app):
    domain_id, records = create(api)
    publish(dns, records)
    assert api.verify(DomainID=domain_id)[1]["Status"] == "Enabled"
    dns.clear()
    assert reverify(domain_app, dns).failed == 1
    assert reverify(domain_app, dns).failed == 1
    dns.silent = True  # transient: neither counts nor resets
    assert reverify(domain_app, dns).inconclusive == 1
    dns.silent = False
    assert stored_status(domain_app, domain_id) == "Enabled"
    summary = reverify(domain_app, dns)
    assert (summary.failed, summary.demoted) == (1, 1)
    assert stored_status(domain_app, domain_id) == "Approval Pending"


def test_reverify_a_pass_resets_the_count(api, dns, domain_app):
    domain_id, records = create(api)
    publish(dns, records)
    api.verify(DomainID=domain_id)
    dns.clear()
    reverify(domain_app, dns)
    reverify(domain_app, dns)
    publish(dns, records)
    assert reverify(domain_app, dns).passed == 1
    dns.clear()
    reverify(domain_app, dns)
    reverify(domain_app, dns)
    assert stored_status(domain_app, domain_id) == "Enabled"


def test_reverify_command_prints_one_summary_line(domain_app, make_env, templates_file, dns):
    host, port = dns.address
    env = make_env(OCTETH_DNS_TEMPLATES=str(templates_file), OCTETH_DNS_SERVERS=f"{host}:{port}", OCTETH_DNS_TIMEOUT="1")
    api = Api(domain_app, Accounts(domain_app).user()["APIKey"])
    domain_id, records = create(api)
    publish(dns, records)
    api.verify(DomainID=domain_id)
    result = subprocess.run([str(Path(sys.executable).parent / "octeth-domains"), "reverify"], capture_output=True,
                            text=True, env={**os.environ, **env}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == ["reverify: 1 claimed, 1 passed, 0 failed, 0 inconclusive, 0 demoted"]


def test_an_update_during_a_verify_is_not_marked_verified_by_it(api, dns, domain_app):
    """The probe of the old records must not be applied to the records an update just made."""
    import threading

    domain_id, records = create(api)
    publish(dns, records)
    dns.delay = 0.6
    answers = {}
    verifier = threading.Thread(target=lambda: answers.update(result=api.verify(DomainID=domain_id)[1]))
    verifier.start()
    time.sleep(0.2)  # the lookups of sl/track-sl are under way
    _, updated = api.update(DomainID=domain_id, CustomTrackPrefix="clk")
    dns.delay = 0.0
    verifier.join(10)
    assert updated["DnsRegenerated"] is True
    result = answers["result"]
    # Answered for the records the domain has now, which nobody published.
    assert list(result["DNSRecords"]) == ["sl.example.com", "clk-sl.example.com"]
    assert result["IsVerified"] is False and result["Status"] == "Approval Pending"
    _, view = api.dns(DomainID=domain_id)
    assert view["DNSRecords"]["clk-sl.example.com"]["IsVerified"] is False
    assert stored_status(domain_app, domain_id) == "Approval Pending"


def test_reverify_leaves_a_domain_disabled_during_its_run_alone(api, dns, domain_app):
    import threading

    domain_id, records = create(api)
    publish(dns, records)
    api.verify(DomainID=domain_id)
    dns.clear()
    reverify(domain_app, dns)
    reverify(domain_app, dns)  # two definite failures: the next one would demote
    dns.delay = 0.6
    runner = threading.Thread(target=reverify, args=(domain_app, dns))
    runner.start()
    time.sleep(0.2)
    dns.delay = 0.0
    assert api.update(DomainID=domain_id, Status="Disabled")[1]["SenderDomain"]["Status"] == "Disabled"
    runner.join(10)
    assert stored_status(domain_app, domain_id) == "Disabled"


def test_mx_records_verify_by_their_host(make_app, tmp_path, dns):
    templates = tmp_path / "mx.toml"
    templates.write_text('[campaign.Default]\n"bounce._SenderDomain_" = ["MX", "10 mx.delivery.example."]\n')
    host, port = dns.address
    app = make_app(OCTETH_DNS_TEMPLATES=str(templates), OCTETH_DNS_SERVERS=f"{host}:{port}", OCTETH_DNS_TIMEOUT="1")
    api = Api(app, Accounts(app).user()["APIKey"])
    domain_id, _ = create(api)
    dns.add_record("bounce.example.com", "MX", "20 MX.delivery.example.")
    assert api.verify(DomainID=domain_id)[1]["IsVerified"] is True
