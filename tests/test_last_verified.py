"""LastVerifiedAt (SPEC §13): null before the first probe, moved by every verify, cached or not,
passed or failed, and by reverify; shown by get and by the kept list alike."""
import re
import time

from octeth_domains.senderdomains import reverify as background
from octeth_domains.senderdomains import verification

TRACKING = "tracking-host.octeth.example."
STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def stamps(api, domain_id):
    _, got = api.get(DomainID=domain_id)
    _, listed = api.list()
    (in_list,) = [d for d in listed["SenderDomains"] if d["DomainID"] == str(domain_id)]
    assert list(got["SenderDomain"])[4:6] == ["Status", "LastVerifiedAt"]  # after Status
    assert in_list["LastVerifiedAt"] == got["SenderDomain"]["LastVerifiedAt"]
    return got["SenderDomain"]["LastVerifiedAt"]


def test_last_verified_at_moves_on_every_verify(api, dns, domain_app):
    _, created = api.create(SenderDomain="example.com")
    domain_id = created["DomainID"]
    assert "LastVerifiedAt" not in created["SenderDomain"]  # create answers the seed's keys only
    assert stamps(api, domain_id) is None  # the list is now kept by this process

    assert api.verify(DomainID=domain_id)[1]["IsVerified"] is False  # failed, fresh
    first = stamps(api, domain_id)
    assert STAMP.fullmatch(first)

    time.sleep(1.1)
    queries = len(dns.queries)
    assert api.verify(DomainID=domain_id)[1]["IsVerified"] is False  # failed, from the cache
    assert len(dns.queries) == queries
    second = stamps(api, domain_id)
    assert second > first

    dns.set_record("sl.example.com", "CNAME", TRACKING)
    dns.set_record("track-sl.example.com", "CNAME", TRACKING)
    domain_app.extensions["octeth_senderdomains"].cache.delete(
        verification.verify.cache_key(domain_id, created["SenderDomain"]["VerificationMeta"]["DNSRecords"]))
    time.sleep(1.1)
    assert api.verify(DomainID=domain_id)[1]["IsVerified"] is True  # passed, fresh
    third = stamps(api, domain_id)
    assert third > second

    time.sleep(1.1)
    with domain_app.app_context(), domain_app.extensions["octeth_db"].session() as db:
        assert background.run(db, domain_app.extensions["octeth_reverify"]).passed == 1
    assert stamps(api, domain_id) > third


def test_verify_all_sets_it_too(api, dns):
    _, created = api.create(SenderDomain="example.com")
    api.verify(VerifyAll="true")
    assert STAMP.fullmatch(stamps(api, created["DomainID"]))
