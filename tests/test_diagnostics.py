"""Verification that explains itself (SPEC §10), against real DNS servers on loopback: a resolver
on 127.0.0.1 that knows the delegation of example.com (SOA, NS, glue) but none of the records, as
a resolver with a stale cache, and the zone's two authoritative servers on 127.0.0.2 and 127.0.0.3,
on one common port (OCTETH_DNS_AUTHORITATIVE_PORT)."""
import json
import re
import time

import pytest

from conftest import Accounts, Api
from dns_server import DNSServer, start_on_common_port
from octeth_domains.senderdomains import reverify as background
from octeth_domains.senderdomains import verify

TRACKING = "tracking-host.octeth.example."
DOMAIN = "newsletter.example.com"
SL, TRACK = f"sl.{DOMAIN}", f"track-sl.{DOMAIN}"
STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


class World:
    def __init__(self, resolver, authorities):
        self.resolver = resolver
        self.authorities = authorities
        self.port = authorities[0].port

    def delegate(self, ns_names=("ns1.example.com.", "ns2.example.com.")):
        """The resolver's view of the delegation: example.com's SOA, NS and the servers' addresses."""
        self.resolver.clear()
        self.resolver.add_zone("example.com")
        self.resolver.remove("example.com", "NS")
        for name, server in zip(ns_names, self.authorities):
            self.resolver.add_record("example.com", "NS", name)
            self.resolver.set_record(name, "A", server.host)

    def publish(self, host, rtype, value, on=None):
        for server in on or self.authorities:
            server.add_record(host, rtype, value)

    def clear(self):
        for server in (self.resolver, *self.authorities):
            server.clear()
            server.silent = False
        self.delegate()


@pytest.fixture(scope="module")
def servers():
    resolver = DNSServer().start()
    authorities = start_on_common_port(["127.0.0.2", "127.0.0.3"], zones=["example.com"])
    yield resolver, authorities
    for server in (resolver, *authorities):
        server.stop()


@pytest.fixture
def world(servers):
    world = World(*servers)
    world.clear()
    yield world
    world.clear()


@pytest.fixture
def make_world_app(make_app, templates_file, world):
    def make(**overrides):
        host, port = world.resolver.address
        return make_app(OCTETH_DNS_TEMPLATES=str(templates_file), OCTETH_DNS_SERVERS=f"{host}:{port}",
                        OCTETH_DNS_TIMEOUT="1", OCTETH_DNS_AUTHORITATIVE_PORT=str(world.port), **overrides)
    return make


@pytest.fixture
def app_(make_world_app):
    return make_world_app()


@pytest.fixture
def api_(app_):
    return Api(app_, Accounts(app_).user()["APIKey"])


def create(api, **options):
    _, body = api.create(SenderDomain=DOMAIN, **options)
    return body["DomainID"], body["SenderDomain"]["VerificationMeta"]["DNSRecords"]


def forget(app, domain_id, records):
    app.extensions["octeth_senderdomains"].cache.delete(verify.cache_key(domain_id, records))


def diagnose(api, domain_id):
    _, body = api.verify(DomainID=domain_id)
    return body, body["Diagnostics"]


def test_published_at_the_authoritative_servers_passes_though_the_resolver_says_nxdomain(api_, world):
    domain_id, _ = create(api_)
    world.publish(SL, "CNAME", TRACKING)
    world.publish(TRACK, "CNAME", TRACKING)
    body, diagnostics = diagnose(api_, domain_id)
    assert (body["IsVerified"], body["Status"]) == (True, "Enabled")
    assert diagnostics[SL] == {"Type": "CNAME", "Expected": TRACKING, "Found": [TRACKING], "Reason": "ok",
                               "Hint": None, "Source": "authoritative", "CheckedAt": diagnostics[SL]["CheckedAt"]}
    assert STAMP.fullmatch(diagnostics[SL]["CheckedAt"])
    # Both authoritative servers were asked; the resolver never was, for the records.
    for server in world.authorities:
        assert (SL, "CNAME") in server.queries
    assert (SL, "CNAME") not in world.resolver.queries


def test_without_authoritative_lookups_the_stale_resolver_decides(make_world_app, world):
    app = make_world_app(OCTETH_DNS_AUTHORITATIVE="0")
    api = Api(app, Accounts(app).user()["APIKey"])
    domain_id, _ = create(api)
    world.publish(SL, "CNAME", TRACKING)
    world.publish(TRACK, "CNAME", TRACKING)
    body, diagnostics = diagnose(api, domain_id)
    assert (body["IsVerified"], body["Status"]) == (False, "Approval Pending")
    assert {d["Source"] for d in diagnostics.values()} == {"resolver"}
    assert {d["Reason"] for d in diagnostics.values()} == {"missing"}
    assert not any(server.queries for server in world.authorities)


def test_the_zones_servers_are_found_once(api_, app_, world):
    domain_id, records = create(api_)
    world.publish(SL, "CNAME", TRACKING)
    world.publish(TRACK, "CNAME", TRACKING)
    diagnose(api_, domain_id)
    assert ("example.com", "NS") in world.resolver.queries
    world.resolver.queries.clear()
    forget(app_, domain_id, records)
    body, _ = diagnose(api_, domain_id)
    assert body["IsVerified"] is True
    # Zone, NS and addresses all kept: the resolver is asked only the health checks' TXT.
    assert {qtype for _, qtype in world.resolver.queries} <= {"TXT"}


def test_missing(api_, world):
    domain_id, _ = create(api_)
    world.publish(TRACK, "CNAME", TRACKING)
    body, diagnostics = diagnose(api_, domain_id)
    assert body["Status"] == "Approval Pending"
    entry = diagnostics[SL]
    assert (entry["Reason"], entry["Found"], entry["Source"]) == ("missing", [], "authoritative")
    assert "sl.newsletter" in entry["Hint"] and TRACKING.rstrip(".") in entry["Hint"]
    assert diagnostics[TRACK]["Reason"] == "ok"


def test_wrong_value_names_what_was_found(api_, world):
    domain_id, _ = create(api_)
    world.publish(SL, "CNAME", "someone-else.example.")
    body, diagnostics = diagnose(api_, domain_id)
    assert (diagnostics[SL]["Reason"], diagnostics[SL]["Found"]) == ("wrong_value", ["someone-else.example."])
    assert "someone-else.example" in diagnostics[SL]["Hint"]


def test_zone_appended(api_, world):
    domain_id, _ = create(api_)
    world.publish(SL + ".example.com", "CNAME", TRACKING)  # "sl.newsletter.example.com" typed into the panel
    _, diagnostics = diagnose(api_, domain_id)
    assert diagnostics[SL]["Reason"] == "zone_appended"
    assert diagnostics[SL]["Hint"] == "Remove the zone from the name: enter sl.newsletter, not sl.newsletter.example.com."


def test_proxied_at_cloudflare(api_, world):
    world.delegate(("anna.ns.cloudflare.com.", "bob.ns.cloudflare.com."))
    domain_id, _ = create(api_)
    world.publish(SL, "A", "104.16.1.1")
    world.publish(SL, "AAAA", "2606:4700::1")
    _, diagnostics = diagnose(api_, domain_id)
    assert (diagnostics[SL]["Reason"], diagnostics[SL]["Source"]) == ("proxied", "authoritative")
    assert "proxy" in diagnostics[SL]["Hint"]


def test_addresses_under_other_name_servers_are_a_conflict(api_, world):
    domain_id, _ = create(api_)
    world.publish(SL, "A", "104.16.1.1")
    _, diagnostics = diagnose(api_, domain_id)
    assert diagnostics[SL]["Reason"] == "conflict"


def test_conflict_txt_where_a_cname_is_needed(api_, world):
    domain_id, _ = create(api_)
    world.publish(SL, "TXT", "google-site-verification=abc")
    _, diagnostics = diagnose(api_, domain_id)
    assert diagnostics[SL]["Reason"] == "conflict" and "TXT" in diagnostics[SL]["Hint"]


def test_split_txt(app_, world):
    api = Api(app_, Accounts(app_).user(dns_template="Full")["APIKey"])
    domain_id, records = create(api)
    txt_host, (_, token) = next((h, r) for h, r in records.items() if r[0] == "TXT")
    world.publish(txt_host, "TXT", token[:12])
    world.publish(txt_host, "TXT", token[12:])
    _, diagnostics = diagnose(api, domain_id)
    assert diagnostics[txt_host]["Reason"] == "split_txt"
    assert sorted(diagnostics[txt_host]["Found"]) == sorted([token[:12], token[12:]])


def test_inconsistent_servers_never_demote(api_, app_, world):
    domain_id, records = create(api_)
    world.publish(SL, "CNAME", TRACKING)
    world.publish(TRACK, "CNAME", TRACKING)
    assert diagnose(api_, domain_id)[0]["Status"] == "Enabled"
    world.authorities[1].remove(SL)
    forget(app_, domain_id, records)
    body, diagnostics = diagnose(api_, domain_id)
    assert diagnostics[SL]["Reason"] == "inconsistent" and diagnostics[SL]["Source"] == "authoritative"
    assert (body["IsVerified"], body["Status"]) == (False, "Enabled")


def test_timeout_when_nobody_answers(api_, app_, world):
    domain_id, records = create(api_)
    for server in (world.resolver, *world.authorities):
        server.silent = True
    started = time.monotonic()
    body, diagnostics = diagnose(api_, domain_id)
    assert time.monotonic() - started < 3.5  # OCTETH_DNS_TIMEOUT is 1 s; health runs beside
    assert {d["Reason"] for d in diagnostics.values()} == {"timeout"}
    assert body["Status"] == "Approval Pending"


@pytest.mark.parametrize("broken", ["an answer about another name", "an answer still truncated over TCP"])
def test_a_broken_servers_answer_is_not_a_missing_record_and_never_demotes(api_, app_, world, broken):
    domain_id, records = create(api_)
    world.publish(SL, "CNAME", TRACKING)
    world.publish(TRACK, "CNAME", TRACKING)
    world.publish("victim.example.com", "CNAME", "elsewhere.example.",  # what the broken servers send instead
                  on=[world.resolver, *world.authorities])
    assert diagnose(api_, domain_id)[0]["Status"] == "Enabled"
    for server in (world.resolver, *world.authorities):
        if broken == "an answer about another name":
            server.answer_about(SL, "victim.example.com")
        else:
            server.always_truncated = True
    forget(app_, domain_id, records)
    body, diagnostics = diagnose(api_, domain_id)
    assert diagnostics[SL]["Reason"] == "servfail", diagnostics[SL]
    assert (body["IsVerified"], body["Status"]) == (False, "Enabled")
    stored = api_.get(DomainID=domain_id)[1]["SenderDomain"]["VerificationMeta"]["DNSRecords"]
    assert stored[SL][2] is True  # a transient answer leaves the stored flag alone


def test_verify_all_gives_reasons(api_, world):
    domain_id, _ = create(api_)
    world.publish(SL, "CNAME", "someone-else.example.")
    _, body = api_.verify(VerifyAll="true")
    assert body["Domains"][0]["Reasons"] == {SL: "wrong_value", TRACK: "missing"}


def test_dns_shows_the_last_probe_whoever_ran_it(api_, app_, world):
    domain_id, records = create(api_)
    _, view = api_.dns(DomainID=domain_id)
    assert {h: (d["Reason"], d["Found"]) for h, d in view["Diagnostics"].items()} == {
        SL: ("unchecked", None), TRACK: ("unchecked", None)}
    world.publish(SL, "CNAME", TRACKING)
    world.publish(TRACK, "CNAME", TRACKING)
    diagnose(api_, domain_id)
    _, view = api_.dns(DomainID=domain_id)
    assert {d["Reason"] for d in view["Diagnostics"].values()} == {"ok"}
    assert set(view["Health"]) == {"DMARC", "SPF"}
    health_seen = view["Health"]
    for server in world.authorities:
        server.remove(TRACK)
    world.resolver.queries.clear()
    with app_.app_context(), app_.extensions["octeth_db"].session() as db:
        assert background.run(db, app_.extensions["octeth_reverify"]).failed == 1
    _, view = api_.dns(DomainID=domain_id)
    assert view["Diagnostics"][TRACK]["Reason"] == "missing"
    # reverify probes the records only: the health shown is the one the user's verify found.
    assert view["Health"] == health_seen
    assert not [name for name, rtype in world.resolver.queries if name.startswith("_dmarc.")]


def test_reverify_keeps_the_health_an_earlier_release_stored_inside_the_probe(api_, app_, world):
    domain_id, _ = published_domain(api_, world)
    diagnose(api_, domain_id)
    kept = {"DMARC": {"Status": "warning", "Record": None, "Message": "kept", "Policy": None},
            "SPF": {"Status": "ok", "Record": None, "Message": "kept"}}
    with app_.app_context(), app_.extensions["octeth_db"].session() as db:
        # As releases before migration 0007 wrote it: the health inside Probe, no Health column.
        probe = json.loads(db.one("SELECT Probe FROM {p}sender_domain_probes WHERE DomainID = ?",
                                  (domain_id,))["Probe"])
        db.execute("UPDATE {p}sender_domain_probes SET Probe = ?, Health = NULL WHERE DomainID = ?",
                   (json.dumps({**probe, "Health": kept}), domain_id))
        assert api_.dns(DomainID=domain_id)[1]["Health"] == kept
        assert background.run(db, app_.extensions["octeth_reverify"]).passed == 1
    _, view = api_.dns(DomainID=domain_id)
    assert view["Health"] == kept
    assert {d["Reason"] for d in view["Diagnostics"].values()} == {"ok"}


def test_a_health_dns_did_not_answer_leaves_the_last_answered_one(make_world_app, world):
    app = make_world_app(OCTETH_DNS_HEALTH_CACHE_TTL="0")
    api = Api(app, Accounts(app).user()["APIKey"])
    domain_id, _ = published_domain(api, world)
    answered = diagnose(api, domain_id)[0]["Health"]
    assert answered["DMARC"]["Message"] == "Gmail and Yahoo require a DMARC record from bulk senders"
    world.resolver.silent = True  # the health lookups go to the resolver; the records to the zone's servers
    try:
        forget(app, domain_id, api.get(DomainID=domain_id)[1]["SenderDomain"]["VerificationMeta"]["DNSRecords"])
        body, _ = diagnose(api, domain_id)
    finally:
        world.resolver.silent = False
    assert body["IsVerified"] is True
    assert "could not be checked" in body["Health"]["DMARC"]["Message"]  # this answer says so
    assert api.dns(DomainID=domain_id)[1]["Health"] == answered  # what is kept is the last answer


def test_get_and_list_bodies_do_not_change_with_diagnostics(api_, world):
    domain_id, _ = create(api_)
    world.publish(SL, "CNAME", "someone-else.example.")
    diagnose(api_, domain_id)  # flags stored: [Type, Value, false]
    before = (api_.get(DomainID=domain_id)[1], api_.list()[1])
    diagnose(api_, domain_id)  # the same outcome again, diagnostics kept
    after = (api_.get(DomainID=domain_id)[1], api_.list()[1])

    def without_time(bodies):
        got, listed = bodies
        return ({**got, "SenderDomain": {**got["SenderDomain"], "LastVerifiedAt": "-"}},
                [{**d, "LastVerifiedAt": "-"} for d in listed["SenderDomains"]])

    assert without_time(before) == without_time(after)
    assert "Diagnostics" not in str(after) and "Health" not in str(after)


# Domain health (checkdmarc through the configured resolver) ---------------------------------------

def published_domain(api, world):
    domain_id, records = create(api)
    world.publish(SL, "CNAME", TRACKING)
    world.publish(TRACK, "CNAME", TRACKING)
    return domain_id, records


def health(api, domain_id):
    body, _ = diagnose(api, domain_id)
    assert (body["IsVerified"], body["Status"]) == (True, "Enabled")  # health never changes a status
    _, view = api.dns(DomainID=domain_id)
    assert view["Health"] == body["Health"]  # kept with the probe
    return body["Health"]


def test_no_dmarc_is_a_warning(api_, world):
    domain_id, _ = published_domain(api_, world)
    found = health(api_, domain_id)
    assert found["DMARC"] == {"Status": "warning", "Record": None, "Policy": None,
                              "Message": "Gmail and Yahoo require a DMARC record from bulk senders"}
    assert found["SPF"]["Status"] == "ok" and found["SPF"]["Record"] is None


def test_dmarc_p_none_is_ok(api_, world):
    domain_id, _ = published_domain(api_, world)
    world.resolver.set_record(f"_dmarc.{DOMAIN}", "TXT", "v=DMARC1; p=none")
    found = health(api_, domain_id)
    assert (found["DMARC"]["Status"], found["DMARC"]["Policy"], found["DMARC"]["Record"]) == (
        "ok", "none", "v=DMARC1; p=none")


@pytest.mark.parametrize("record, after, character", [
    ("v=DMARC1; p=none; rua mailto:a@b.example", "v=DMARC1; p=none;", 19),  # the "=" forgotten
    ("v=DMARC1; p=\x00reject; rua=mailto:a@b.example", "v=DMARC1;", 11),  # a control character
])
def test_a_dmarc_record_that_cannot_be_read_is_said_in_words(api_, world, record, after, character):
    domain_id, _ = published_domain(api_, world)
    world.resolver.set_record(f"_dmarc.{DOMAIN}", "TXT", record)
    found = health(api_, domain_id)["DMARC"]
    assert (found["Status"], found["Record"]) == ("error", record)
    assert found["Message"] == (f"The DMARC record is not valid: it cannot be read after \u201c{after}\u201d"
                                f" (character {character}): tags are name=value pairs separated by semicolons,"
                                " as in v=DMARC1; p=none")


def test_a_dmarc_tag_checkdmarc_names_keeps_its_words(api_, world):
    domain_id, _ = published_domain(api_, world)
    world.resolver.set_record(f"_dmarc.{DOMAIN}", "TXT", "v=DMARC1; p=rejekt")
    found = health(api_, domain_id)["DMARC"]
    assert found["Message"] == ("The DMARC record is not valid: Tag p must have one of the following values:"
                                " none,quarantine,reject - not rejekt")


def test_dmarc_at_the_organisational_domain_counts(api_, world):
    domain_id, _ = published_domain(api_, world)
    world.resolver.set_record(DOMAIN, "MX", "10 mx.example.com.")  # the domain exists
    world.resolver.set_record("_dmarc.example.com", "TXT", "v=DMARC1; p=reject")
    found = health(api_, domain_id)
    assert (found["DMARC"]["Status"], found["DMARC"]["Policy"]) == ("ok", "reject")


def test_a_dmarc_record_behind_a_cname_is_read_through_it(api_, world):
    domain_id, _ = published_domain(api_, world)
    world.resolver.set_record(f"_dmarc.{DOMAIN}", "CNAME", "_dmarc.policy.example.net.")
    world.resolver.set_record("_dmarc.policy.example.net", "TXT", "v=DMARC1; p=quarantine")
    found = health(api_, domain_id)["DMARC"]
    assert (found["Status"], found["Policy"], found["Record"]) == ("ok", "quarantine", "v=DMARC1; p=quarantine")


def test_a_cname_loop_at_the_dmarc_name_is_a_finding_not_a_failure(api_, world):
    domain_id, _ = published_domain(api_, world)
    world.resolver.set_record(f"_dmarc.{DOMAIN}", "CNAME", f"_dmarc.{DOMAIN}.")
    found = health(api_, domain_id)  # answered, status unchanged
    assert (found["DMARC"]["Status"], found["DMARC"]["Policy"]) == ("error", None), found
    assert "CNAME chain is too long" in found["DMARC"]["Message"]
    assert found["SPF"]["Status"] == "ok"


@pytest.mark.parametrize("rcode", ["SERVFAIL", "REFUSED"])
def test_a_health_lookup_answered_with_an_error_is_unchecked_in_words_and_not_kept(make_world_app, world, rcode):
    app = make_world_app(OCTETH_DNS_HEALTH_CACHE_TTL="300")
    api = Api(app, Accounts(app).user()["APIKey"])
    domain_id, records = published_domain(api, world)
    world.resolver.set_record(DOMAIN, "TXT", "v=spf1 -all")  # the domain has TXT: checkdmarc goes on
    world.resolver.fail(f"_dmarc.{DOMAIN}", rcode)
    world.resolver.fail(DOMAIN, rcode)  # the SPF lookup too
    body, _ = diagnose(api, domain_id)
    assert (body["IsVerified"], body["Status"]) == (True, "Enabled")
    found = body["Health"]
    assert found["DMARC"] == {"Status": "warning", "Record": None, "Policy": None, "Message":
                              "The DMARC record could not be checked: the DNS servers answered with an error"}
    assert found["SPF"] == {"Status": "warning", "Record": None,
                            "Message": "The SPF record could not be checked: the DNS servers answered with an error"}
    assert api.dns(DomainID=domain_id)[1]["Health"] is None  # stored: none answered yet
    # Not kept for the health's TTL: once the servers answer, the next probe says what is there.
    world.resolver.fail(f"_dmarc.{DOMAIN}", "NOERROR")
    world.resolver.fail(DOMAIN, "NOERROR")
    world.resolver.set_record(f"_dmarc.{DOMAIN}", "TXT", "v=DMARC1; p=reject")
    forget(app, domain_id, records)
    found = health(api, domain_id)
    assert (found["DMARC"]["Status"], found["DMARC"]["Policy"], found["SPF"]["Status"]) == ("ok", "reject", "ok")


def test_no_message_names_the_resolver(api_, world):
    domain_id, _ = published_domain(api_, world)
    world.resolver.set_record(f"_dmarc.{DOMAIN}", "CNAME", f"_dmarc.{DOMAIN}.")  # a loop: an answer, an error
    found = health(api_, domain_id)["DMARC"]
    host, port = world.resolver.address
    assert found["Status"] == "error" and host not in found["Message"] and str(port) not in found["Message"]
    assert "Do53" not in found["Message"] and "the lookup of" in found["Message"], found


def test_an_spf_include_without_spf_is_an_error_not_no_record(api_, world):
    domain_id, _ = published_domain(api_, world)
    world.resolver.set_record(DOMAIN, "TXT", "v=spf1 include:_spf.nosuch.example -all")
    found = health(api_, domain_id)["SPF"]
    assert (found["Status"], found["Record"]) == ("error", "v=spf1 include:_spf.nosuch.example -all"), found
    assert "_spf.nosuch.example" in found["Message"], found


def test_two_spf_records_are_an_error(api_, world):
    domain_id, _ = published_domain(api_, world)
    world.resolver.add_record(DOMAIN, "TXT", "v=spf1 include:_spf.one.example ~all")
    world.resolver.add_record(DOMAIN, "TXT", "v=spf1 include:_spf.two.example ~all")
    assert health(api_, domain_id)["SPF"]["Status"] == "error"


def test_spf_with_eleven_lookups_is_an_error(api_, world):
    domain_id, _ = published_domain(api_, world)
    for n in range(11):
        world.resolver.set_record(f"h{n}.example.com", "A", "192.0.2.1")
    mechanisms = " ".join(f"a:h{n}.example.com" for n in range(11))
    world.resolver.set_record(DOMAIN, "TXT", f"v=spf1 {mechanisms} -all")
    found = health(api_, domain_id)["SPF"]
    assert found["Status"] == "error" and "10" in found["Message"], found


def test_an_spf_record_that_cannot_be_read_is_said_in_words(api_, world):
    domain_id, _ = published_domain(api_, world)
    world.resolver.set_record(DOMAIN, "TXT", "v=spf1 mx =all")
    found = health(api_, domain_id)["SPF"]
    assert (found["Status"], found["Record"]) == ("error", "v=spf1 mx =all")
    assert found["Message"] == ("The SPF record is not valid: it cannot be read after \u201cv=spf1 mx\u201d"
                                " (character 11): mechanisms are separated by spaces, as in v=spf1 mx -all")


def test_an_included_spf_record_that_cannot_be_read_is_named(api_, world):
    domain_id, _ = published_domain(api_, world)
    world.resolver.set_record(DOMAIN, "TXT", "v=spf1 include:_spf.broken.example -all")
    world.resolver.set_record("_spf.broken.example", "TXT", "v=spf1 ip4:192.0.2.1 =all")
    found = health(api_, domain_id)["SPF"]
    assert found["Status"] == "error", found
    assert found["Message"] == ("The SPF record is not valid: the SPF record of _spf.broken.example, which yours"
                                " includes, cannot be read after \u201cv=spf1 ip4:192.0.2.1\u201d (character 22):"
                                " mechanisms are separated by spaces, as in v=spf1 mx -all"), found


def test_a_good_spf_is_ok(api_, world):
    domain_id, _ = published_domain(api_, world)
    world.resolver.set_record(DOMAIN, "TXT", "v=spf1 a:h0.example.com -all")
    world.resolver.set_record("h0.example.com", "A", "192.0.2.1")
    found = health(api_, domain_id)["SPF"]
    assert (found["Status"], found["Record"]) == ("ok", "v=spf1 a:h0.example.com -all")


def test_health_is_kept_apart_from_the_probe_for_its_own_ttl(make_world_app, world):
    def verify_twice(app):
        api = Api(app, Accounts(app).user()["APIKey"])
        domain_id, records = published_domain(api, world)
        world.resolver.remove(f"_dmarc.{DOMAIN}")
        before = health(api, domain_id)["DMARC"]["Status"]
        world.resolver.set_record(f"_dmarc.{DOMAIN}", "TXT", "v=DMARC1; p=none")
        forget(app, domain_id, records)  # the records are looked up again; health is another entry
        queries = len(world.resolver.queries)
        after = health(api, domain_id)["DMARC"]["Status"]
        asked = {name for name, _ in world.resolver.queries[queries:]}
        return before, after, f"_dmarc.{DOMAIN}" in asked

    # Reused within OCTETH_DNS_HEALTH_CACHE_TTL: the DMARC record is not asked again.
    assert verify_twice(make_world_app(OCTETH_DNS_HEALTH_CACHE_TTL="300")) == ("warning", "warning", False)
    # 0: checked at every probe.
    assert verify_twice(make_world_app(OCTETH_DNS_HEALTH_CACHE_TTL="0")) == ("warning", "ok", True)


def _health_asking(world, domain, parents):
    """The DMARC entry of ``domain``'s health with the parents' cache ``parents``, and the names
    the resolver was asked for it."""
    from octeth_domains.senderdomains import domainhealth

    world.resolver.set_record(domain, "TXT", "v=spf1 -all")  # a name that exists (checkdmarc stops at NXDOMAIN)
    start = len(world.resolver.queries)
    found = domainhealth.check(domain, [world.resolver.address], 2.0, parents)
    return found["DMARC"], {name for name, _ in world.resolver.queries[start:]}


def test_the_dmarc_tree_walk_asks_each_parent_once_per_ttl(world):
    from octeth_domains.senderdomains import domainhealth

    # The organisational domain's DMARC record, with a TTL of 1 s; _dmarc.letter.example.com and
    # _dmarc.com do not exist (negative answers, kept for the zone's SOA minimum: 60 s).
    world.resolver.set_record("_dmarc.example.com", "TXT", "v=DMARC1; p=reject", ttl=1)
    parents = domainhealth.parent_answers(300)
    own = lambda domain: {f"_dmarc.{domain}", domain}  # noqa: E731
    walk = {"_dmarc.letter.example.com", "_dmarc.example.com", "_dmarc.com"}

    dmarc, asked = _health_asking(world, "a.letter.example.com", parents)
    assert (dmarc["Status"], dmarc["Policy"]) == ("ok", "reject") and asked == own("a.letter.example.com") | walk
    # A sibling: its own names are asked, the parents' answers come from the cache, and the
    # health it gets is the same as if they had been asked.
    dmarc, asked = _health_asking(world, "b.letter.example.com", parents)
    assert (dmarc["Status"], dmarc["Policy"]) == ("ok", "reject") and asked == own("b.letter.example.com")
    # The record's TTL ends its answer's life in the cache: a change to it is seen then.
    world.resolver.set_record("_dmarc.example.com", "TXT", "v=DMARC1; p=quarantine", ttl=1)
    time.sleep(1.2)
    dmarc, asked = _health_asking(world, "c.letter.example.com", parents)
    assert dmarc["Policy"] == "quarantine" and asked == own("c.letter.example.com") | {"_dmarc.example.com"}


def test_no_parent_answer_outlives_the_health_cache_ttl(world):
    from octeth_domains.senderdomains import domainhealth

    # Negative answers the zone lets a cache keep for 60 s, kept 0.5 s (the health TTL) at most.
    parents = domainhealth.parent_answers(0.5)
    _, first = _health_asking(world, "a.letter.example.com", parents)
    _, soon = _health_asking(world, "b.letter.example.com", parents)
    time.sleep(0.7)
    _, later = _health_asking(world, "c.letter.example.com", parents)
    assert "_dmarc.com" in first and "_dmarc.com" not in soon and "_dmarc.com" in later
    # A health TTL of 0 (checked at every probe) keeps nothing, the parents included.
    assert domainhealth.parent_answers(0) is None
    _, again = _health_asking(world, "d.letter.example.com", None)
    assert {"_dmarc.com", "_dmarc.example.com"} <= again


def test_an_app_keeps_the_parents_answers_only_with_a_health_cache(make_world_app, world):
    def asked_twice(app):
        api = Api(app, Accounts(app).user()["APIKey"])
        domain_id, records = published_domain(api, world)
        api.verify(DomainID=domain_id)
        start = len(world.resolver.queries)
        # Another domain of the same organisational domain, verified by the same app.
        _, body = api.create(SenderDomain="other.example.com")
        assert body["Success"] is True, body
        api.verify(DomainID=body["DomainID"])
        return {name for name, _ in world.resolver.queries[start:]}

    assert "_dmarc.com" not in asked_twice(make_world_app(OCTETH_DNS_HEALTH_CACHE_TTL="300"))
    world.clear()
    assert "_dmarc.com" in asked_twice(make_world_app(OCTETH_DNS_HEALTH_CACHE_TTL="0"))


def test_the_health_lookups_go_out_together(world):
    from octeth_domains.senderdomains import domainhealth

    world.resolver.delay = 0.2
    started = time.monotonic()
    found = domainhealth.check("news.letter.example.com", [world.resolver.address], 2.0)
    elapsed = time.monotonic() - started
    asked = [name for name, _ in world.resolver.queries]
    # Five questions (the _dmarc record, the domain's TXT, the tree walk's three parents): one
    # after the other they would take 1 s. The obsolete SPF type is never asked.
    assert {"_dmarc.news.letter.example.com", "_dmarc.letter.example.com", "_dmarc.example.com",
            "_dmarc.com", "news.letter.example.com"} <= set(asked)
    assert "SPF" not in {qtype for _, qtype in world.resolver.queries}
    assert elapsed < 0.5, elapsed
    assert found["DMARC"]["Message"] == "Gmail and Yahoo require a DMARC record from bulk senders"


def test_a_domain_with_dmarc_and_spf_is_checked_in_one_round_trip(world):
    from octeth_domains.senderdomains import domainhealth

    domain = "news.letter.example.com"
    world.resolver.set_record(f"_dmarc.{domain}", "TXT", "v=DMARC1; p=none")
    world.resolver.set_record(domain, "TXT", "v=spf1 -all")
    world.resolver.delay = 0.2
    started = time.monotonic()
    found = domainhealth.check(domain, [world.resolver.address], 2.0)
    elapsed = time.monotonic() - started
    assert (found["DMARC"]["Status"], found["DMARC"]["Policy"], found["SPF"]["Status"]) == ("ok", "none", "ok")
    # checkdmarc asks a found record's name for a CNAME, one name after the other, only to warn
    # of a TXT beside a CNAME; the health reports no warnings, so those lookups are not made.
    assert {qtype for _, qtype in world.resolver.queries} == {"TXT"}
    assert elapsed < 0.4, elapsed


def test_a_hint_names_the_host_as_the_records_spell_it():
    # The page shows "_DMARC.sl.example.com" (the template's spelling); its hint must say the same.
    from octeth_domains.senderdomains import hints

    relative = hints.relative("_DMARC.sl.example.com.", "Example.COM")
    assert relative == "_DMARC.sl"
    assert hints.missing(relative, "_DMARC.sl.example.com", "CNAME", "_DMARC.Mailer.Example.") == (
        "Add a CNAME record pointing to _dmarc.mailer.example at _DMARC.sl (_DMARC.sl.example.com).")
    assert hints.relative("Example.com", "example.com") == "@"
