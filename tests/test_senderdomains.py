"""create, update, delete, get and dns beyond the seed's examples (SPEC §5, §6)."""
import json
import logging
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import Accounts, Api
from helpers import insert_domain
from octeth_domains import create_app, hooks
from octeth_domains.senderdomains import lifecycle


def stored(app, domain_id):
    with app.extensions["octeth_db"].session() as db:
        return db.one("SELECT * FROM {p}sender_domains WHERE DomainID = ?", (domain_id,))


def set_status(app, domain_id, status):
    with app.app_context(), app.extensions["octeth_db"].session() as db:
        lifecycle.set_status_by_operator(db, domain_id, status)


def test_create_options_and_custom_labels(api):
    _, body = api.create(SenderDomain="Bücher.Example.", LinkTracking="no", OpenTracking=0, UnsubscribeLink="on",
                         CustomSubdomain="Mail", CustomTrackPrefix="clk", UseTrackingSubdomain="true")
    domain = body["SenderDomain"]
    assert domain["SenderDomain"] == "xn--bcher-kva.example"
    assert domain["Options"] == {"LinkTracking": 0, "OpenTracking": 0, "UnsubscribeLink": 1,
                                 "CustomSubdomain": "Mail", "CustomTrackPrefix": "clk", "TrackPrefixDisabled": False}
    assert list(domain["VerificationMeta"]["DNSRecords"]) == ["mail.xn--bcher-kva.example",
                                                              "clk-mail.xn--bcher-kva.example"]


def test_tracking_record_left_out_without_a_tracking_subdomain(api):
    _, body = api.create(SenderDomain="example.com", UseTrackingSubdomain=False)
    assert body["SenderDomain"]["Options"]["TrackPrefixDisabled"] is True
    assert list(body["SenderDomain"]["VerificationMeta"]["DNSRecords"]) == ["sl.example.com"]


def test_invalid_boolean_is_a_clear_error(api):
    assert api.create(SenderDomain="example.com", LinkTracking="maybe") == (400, {"Success": False, "ErrorCode": [7], "ErrorText": ["Sender domain create process failed"], "Errors": [{"Code": 7, "Message": "Sender domain create process failed"}]})
    _, created = api.create(SenderDomain="example.com")
    _, body = api.update(DomainID=created["DomainID"], OpenTracking="2")
    assert body["Errors"][0]["Code"] == 13 and "OpenTracking" in body["Errors"][0]["Message"]


def test_full_template_has_an_unpredictable_ownership_token(domain_app):
    user = Accounts(domain_app).user(dns_template="Full")
    api = Api(domain_app, user["APIKey"])
    first = api.create(SenderDomain="example.com")[1]["SenderDomain"]["VerificationMeta"]["DNSRecords"]
    second = api.create(SenderDomain="example.org")[1]["SenderDomain"]["VerificationMeta"]["DNSRecords"]
    txt = [(host, value) for host, (kind, value) in first.items() if kind == "TXT"]
    assert len(first) == 5 and len(txt) == 1
    host, token = txt[0]
    assert host.endswith(".sl.example.com") and len(host.split(".")[0]) == 10
    assert token not in [value for kind, value in second.values()]
    assert len(token) == 43  # base64url of an HMAC-SHA256, unpadded


def test_empty_template_makes_new_domains_enabled(domain_app):
    user = Accounts(domain_app).user(dns_template="Empty")
    _, body = Api(domain_app, user["APIKey"]).create(SenderDomain="example.com")
    assert body["SenderDomain"]["Status"] == "Enabled"
    assert body["SenderDomain"]["VerificationMeta"] == {"DNSRecords": {}}


def test_recreating_a_deleted_domain_revives_its_row(domain_app, api):
    _, first = api.create(SenderDomain="example.com", CustomSubdomain="em")
    api.delete(DomainID=first["DomainID"])
    _, again = api.create(SenderDomain="example.com")
    assert again["DomainID"] == first["DomainID"]
    assert again["SenderDomain"]["Status"] == "Approval Pending"
    assert again["SenderDomain"]["Options"] == {"LinkTracking": 1, "OpenTracking": 1, "UnsubscribeLink": 0}
    assert list(again["SenderDomain"]["VerificationMeta"]["DNSRecords"]) == ["sl.example.com", "track-sl.example.com"]


@pytest.mark.parametrize("status", ["Enabled", "Disabled", "Approval Pending"])
def test_recreating_a_live_domain_starts_it_afresh_as_octeth_does(domain_app, api, status):
    # SPEC §5 and Octeth's reference (ON DUPLICATE KEY UPDATE): the same row, its Status back to
    # Approval Pending, the records regenerated; docs/commands.md says so under create.
    _, first = api.create(SenderDomain="example.com", CustomSubdomain="em", LinkTracking=False)
    set_status(domain_app, first["DomainID"], status)
    _, again = api.create(SenderDomain="Example.COM.")
    assert again["DomainID"] == first["DomainID"]
    assert again["SenderDomain"]["Status"] == "Approval Pending"
    assert again["SenderDomain"]["Options"] == {"LinkTracking": 1, "OpenTracking": 1, "UnsubscribeLink": 0}
    assert list(again["SenderDomain"]["VerificationMeta"]["DNSRecords"]) == ["sl.example.com", "track-sl.example.com"]
    _, listed = api.list()
    assert [d["DomainID"] for d in listed["SenderDomains"]] == [str(first["DomainID"])]


@pytest.mark.parametrize("status", ["Suspended", "Blocked"])
def test_recreating_keeps_an_administrators_status(domain_app, api, status):
    _, first = api.create(SenderDomain="example.com")
    set_status(domain_app, first["DomainID"], status)
    _, again = api.create(SenderDomain="example.com")
    assert again["DomainID"] == first["DomainID"] and again["SenderDomain"]["Status"] == status


def test_update_is_partial(api):
    _, created = api.create(SenderDomain="example.com", CustomTrackPrefix="clk")
    _, body = api.update(DomainID=created["DomainID"], LinkTracking=False)
    assert body["DnsRegenerated"] is False
    assert body["SenderDomain"]["Options"] == {"LinkTracking": 0, "OpenTracking": 1, "UnsubscribeLink": 0,
                                               "CustomTrackPrefix": "clk"}
    assert body["SenderDomain"]["VerificationMeta"] == created["SenderDomain"]["VerificationMeta"]


def test_patch_ignores_the_query_string(domain_app, api, user):
    _, created = api.create(SenderDomain="example.com")
    response = domain_app.test_client().patch(
        "/api/v1/user.senderdomain", query_string={"APIKey": user["APIKey"], "DomainID": created["DomainID"]},
        json={"LinkTracking": False})
    assert response.get_json()["Errors"][0]["Code"] == 0  # the key in the query string was not read
    response = domain_app.test_client().patch(
        "/api/v1/user.senderdomain", query_string={"DomainID": "999999", "CustomSubdomain": "zz"},
        json={"APIKey": user["APIKey"], "DomainID": created["DomainID"], "LinkTracking": False})
    assert response.get_json()["SenderDomain"]["Options"]["LinkTracking"] == 0
    assert "CustomSubdomain" not in response.get_json()["SenderDomain"]["Options"]


def test_the_same_dns_settings_do_not_regenerate(api):
    _, created = api.create(SenderDomain="example.com", CustomSubdomain="em")
    _, body = api.update(DomainID=created["DomainID"], CustomSubdomain="em")
    assert body["DnsRegenerated"] is False


def test_status_toggle_rules(domain_app, api, dns):
    _, created = api.create(SenderDomain="example.com")
    domain_id = created["DomainID"]
    # Codes and words of Octeth v6.0.1's reference.
    assert api.update(DomainID=domain_id, Status="Paused")[1]["Errors"] == [
        {"Code": 9, "Message": "Invalid Status value. Allowed: Enabled, Disabled"}]
    assert api.update(DomainID=domain_id, Status="Disabled")[1]["Errors"] == [{"Code": 12, "Message": (
        "Cannot disable an unverified (Approval Pending) domain: run user.senderdomain.verify first, or delete the domain")}]
    assert api.update(DomainID=domain_id, Status="enabled")[1]["Errors"] == [
        {"Code": 10, "Message": "Cannot enable an unverified domain: run user.senderdomain.verify first"}]
    dns.set_record("sl.example.com", "CNAME", "tracking-host.octeth.example.")
    dns.set_record("track-sl.example.com", "CNAME", "tracking-host.octeth.example.")
    assert api.verify(DomainID=domain_id)[1]["Status"] == "Enabled"
    assert api.update(DomainID=domain_id, Status="DISABLED")[1]["SenderDomain"]["Status"] == "Disabled"
    # A user's own Disabled survives a verify that passes.
    assert api.verify(DomainID=domain_id)[1]["Status"] == "Disabled"
    assert api.update(DomainID=domain_id, Status="Enabled")[1]["SenderDomain"]["Status"] == "Enabled"
    set_status(domain_app, domain_id, "Suspended")
    before = stored(domain_app, domain_id)
    assert api.update(DomainID=domain_id, Status="Disabled")[1]["Errors"] == [{"Code": 11, "Message": (
        "The domain is Suspended or Blocked by an administrator; only an administrator can change its status")}]
    assert stored(domain_app, domain_id) == before


def test_regeneration_resets_status_but_not_an_administrators(domain_app, api):
    _, created = api.create(SenderDomain="example.com")
    set_status(domain_app, created["DomainID"], "Enabled")
    assert api.update(DomainID=created["DomainID"], CustomSubdomain="em")[1]["SenderDomain"]["Status"] == "Approval Pending"
    set_status(domain_app, created["DomainID"], "Blocked")
    _, body = api.update(DomainID=created["DomainID"], CustomSubdomain="mx1")
    assert body["DnsRegenerated"] is True and body["SenderDomain"]["Status"] == "Blocked"


DELETE_REFUSED = "The domain is Suspended or Blocked by an administrator and cannot be deleted"  # Octeth v6.0.1's


@pytest.mark.parametrize("status", ["Suspended", "Blocked"])
def test_delete_refuses_an_administrators_status(domain_app, api, status):
    # HTTP 422, as Octeth v6.0.1 answers this refusal ("error 3, HTTP 422").
    _, created = api.create(SenderDomain="example.com")
    set_status(domain_app, created["DomainID"], status)
    assert api.delete(DomainID=created["DomainID"]) == (422, {
        "Success": False, "ErrorCode": [3], "ErrorText": [DELETE_REFUSED], "Errors": [{"Code": 3, "Message": DELETE_REFUSED}]})
    assert stored(domain_app, created["DomainID"])["Status"] == status


def test_delete_is_soft(domain_app, api):
    _, created = api.create(SenderDomain="example.com")
    api.delete(DomainID=created["DomainID"])
    assert stored(domain_app, created["DomainID"])["Status"] == "Deleted"
    assert api.list()[1]["SenderDomains"] == []
    assert api.delete(DomainID=created["DomainID"])[1]["Errors"][0]["Code"] == 2


@pytest.mark.parametrize("command", ["get", "update", "delete", "verify", "dns"])
def test_someone_elses_domain_is_not_found_and_unchanged(domain_app, api, command):
    other = Accounts(domain_app).user()
    theirs = Api(domain_app, other["APIKey"]).create(SenderDomain="theirs.example")[1]["DomainID"]
    before = stored(domain_app, theirs)
    extra = {"CustomSubdomain": "em", "Status": "Disabled"} if command == "update" else {}
    status, body = getattr(api, command)(DomainID=theirs, **extra)
    assert (status, body["Errors"][0]["Code"], body["Errors"][0]["Message"]) == (200, 2, "Sender domain not found")
    assert stored(domain_app, theirs) == before


@pytest.mark.parametrize("bad_id", ["1 OR 1=1", "12abc", "-1", -1, "1e3", "0x1"])
@pytest.mark.parametrize("command", ["get", "update", "delete", "verify", "dns"])
def test_ids_that_are_not_ids_answer_like_a_missing_domain(domain_app, api, command, bad_id):
    domain_id = api.create(SenderDomain="example.com")[1]["DomainID"]
    before = stored(domain_app, domain_id)
    assert getattr(api, command)(DomainID=bad_id)[1]["Errors"][0]["Code"] == 2
    assert stored(domain_app, domain_id) == before


def test_dns_shows_a_rendered_set_without_saving_it(domain_app, api, user):
    domain_id = insert_domain(domain_app, user["UserID"], "legacy.example", records={})
    _, body = api.dns(DomainID=domain_id)
    assert body["DNSRecords"] == {
        "sl.legacy.example": {"Type": "CNAME", "Value": "tracking-host.octeth.example.", "IsVerified": None},
        "track-sl.legacy.example": {"Type": "CNAME", "Value": "tracking-host.octeth.example.", "IsVerified": None},
    }
    assert json.loads(stored(domain_app, domain_id)["VerificationMeta"]) == {"DNSRecords": {}}


def test_parallel_creates_respect_the_limit(domain_app):
    user = Accounts(domain_app).user(sender_domain_limit=3)

    def create(n):
        return Api(domain_app, user["APIKey"]).create(SenderDomain=f"d{n}.example")

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(create, range(12)))
    assert sorted(status for status, _ in results) == [200] * 3 + [403] * 9
    assert len(Api(domain_app, user["APIKey"]).list()[1]["SenderDomains"]) == 3


def test_parallel_creates_of_one_domain_leave_one_row(domain_app):
    user = Accounts(domain_app).user()

    def create(_):
        return Api(domain_app, user["APIKey"]).create(SenderDomain="same.example")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(create, range(8)))
    assert {status for status, _ in results} == {200}
    assert len({body["DomainID"] for _, body in results}) == 1
    with domain_app.extensions["octeth_db"].session() as db:
        assert db.one("SELECT COUNT(*) AS n FROM {p}sender_domains")["n"] == 1


def test_delete_sends_the_hook_and_a_failing_receiver_does_not_undo_it(domain_app, api, user, caplog):
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    hook = hooks.signal("Delete.SenderDomain")
    hook.connect(receiver)
    hook.connect(broken)
    try:
        domain_id = api.create(SenderDomain="example.com")[1]["DomainID"]
        with caplog.at_level(logging.ERROR):
            assert api.delete(DomainID=domain_id) == (200, {"Success": True})
    finally:
        hook.disconnect(receiver)
        hook.disconnect(broken)
    assert received == [{"DomainID": domain_id, "UserID": user["UserID"], "SenderDomain": "example.com"}]
    assert stored(domain_app, domain_id)["Status"] == "Deleted"
    assert any("Delete.SenderDomain" in record.getMessage() for record in caplog.records)


def test_a_plugin_installed_as_a_package_receives_the_hook(tmp_path, make_env, templates_file, monkeypatch):
    """A distribution with an entry point in octeth_domains.plugins, as pip leaves one on disk."""
    site = tmp_path / "site"
    (site / "octeth_test_plugin").mkdir(parents=True)
    (site / "octeth_test_plugin" / "__init__.py").write_text(textwrap.dedent("""
        from octeth_domains.hooks import signal

        received = []

        def setup(app):
            app.config["TEST_PLUGIN_LOADED"] = True
            signal("Delete.SenderDomain").connect(on_delete, weak=False)

        def on_delete(sender, **kwargs):
            received.append(kwargs)
    """))
    dist = site / "octeth_test_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: octeth-test-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[octeth_domains.plugins]\ntest = octeth_test_plugin:setup\n")
    monkeypatch.syspath_prepend(str(site))
    app = create_app(make_env(OCTETH_DNS_TEMPLATES=str(templates_file)))
    app.extensions["octeth_db"].upgrade()
    try:
        assert app.config.get("TEST_PLUGIN_LOADED") is True
        user = Accounts(app).user()
        api = Api(app, user["APIKey"])
        domain_id = api.create(SenderDomain="plugin.example")[1]["DomainID"]
        api.delete(DomainID=domain_id)
        plugin = sys.modules["octeth_test_plugin"]
        assert plugin.received == [{"DomainID": domain_id, "UserID": user["UserID"], "SenderDomain": "plugin.example"}]
    finally:
        hooks.signal("Delete.SenderDomain").disconnect(sys.modules["octeth_test_plugin"].on_delete)
        sys.modules.pop("octeth_test_plugin", None)


def test_an_update_that_keeps_the_layout_regenerates_nothing(api):
    _, created = api.create(SenderDomain="example.com")
    records = created["SenderDomain"]["VerificationMeta"]["DNSRecords"]
    for change in ({"UseTrackingSubdomain": True}, {"CustomSubdomain": "SL"}, {"CustomTrackPrefix": "track"}):
        _, body = api.update(DomainID=created["DomainID"], **change)
        assert body["DnsRegenerated"] is False, change
        assert body["SenderDomain"]["VerificationMeta"]["DNSRecords"] == records


def test_labels_that_make_hosts_dns_cannot_hold_are_refused(domain_app, api):
    long_labels = {"CustomSubdomain": "s" * 32, "CustomTrackPrefix": "t" * 32}  # "ttt…-sss…" is 65 octets
    assert api.create(SenderDomain="example.com", **long_labels)[1]["Errors"][0]["Code"] == 6
    _, created = api.create(SenderDomain="example.com")
    before = stored(domain_app, created["DomainID"])
    assert api.update(DomainID=created["DomainID"], **long_labels)[1]["Errors"][0]["Code"] == 6
    assert stored(domain_app, created["DomainID"]) == before
    longest = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 57]) + ".com"  # 253 characters
    assert api.create(SenderDomain=longest)[0] == 400  # valid, but sl.<it> is not


def test_invalid_punycode_is_refused(api):
    assert api.create(SenderDomain="xn--zz.example")[1]["Errors"][0]["Code"] == 7


def test_an_empty_template_waits_for_approval_where_the_group_wants_it(domain_app):
    user = Accounts(domain_app).user(dns_template="Empty", manual_approval=True)
    _, body = Api(domain_app, user["APIKey"]).create(SenderDomain="example.com")
    assert body["SenderDomain"]["Status"] == "Blocked"
