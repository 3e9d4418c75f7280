"""The admin.* sender-domain commands and Access=admin, as Octeth's v6.0.1 reference describes them:
an administrator's AdminAPIKey, one user's domains, the moderation queue, a domain's moderation."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Accounts
from helpers import body, insert_domain
from octeth_domains.models import admins


@pytest.fixture
def admin_key(app):
    with app.extensions["octeth_db"].session() as db:
        return admins.create_admin(db, "ops")[1]


def call(client, command, legacy=True, **params):
    if legacy:
        response = client.post("/api.php", data={"Command": command, **params})
    else:
        response = client.post(f"/api/v1/{command}", json=params)
    return response.status_code, body(response)


def error(code, message):
    # An admin command's own refusal: ErrorCode and ErrorText scalars, as Octeth's sender-domains
    # page shows for each admin command (`{"Success": false, "ErrorCode": 5002, "ErrorText": "User
    # not found"}`); the seed's Errors list beside them, as on every error.
    return {"Success": False, "ErrorCode": code, "ErrorText": message, "Errors": [{"Code": code, "Message": message}]}


def test_access_admin_on_list_keeps_the_user_commands_arrays(client, admin_key):
    # user.senderdomain.list is a user command run by an administrator: its refusals stay arrays.
    data = call(client, "user.senderdomain.list", AdminAPIKey=admin_key, Access="admin")[1]
    assert data["ErrorCode"] == [5001] and data["ErrorText"] == ["UserID is required"], data


# AdminAPIKey ------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["admin.user.senderdomains.get", "admin.senderdomain.status.update",
                                     "admin.senderdomains.pending.get"])
def test_admin_commands_need_an_admin_key_not_a_users(client, accounts, admin_key, command):
    user = accounts.user()
    failed = {"Success": False, "ErrorCode": [99998], "ErrorText": ["Authentication failed"],
              "Errors": [{"Code": 0, "Message": "Authentication failed"}]}
    assert call(client, command, UserID=user["UserID"]) == (200, failed)
    assert call(client, command, APIKey=user["APIKey"], UserID=user["UserID"]) == (200, failed)
    assert call(client, command, AdminAPIKey=user["APIKey"], UserID=user["UserID"]) == (200, failed)
    assert call(client, command, AdminAPIKey=admin_key + "x", UserID=user["UserID"]) == (200, failed)
    assert call(client, command, AdminAPIKey=admin_key, UserID=user["UserID"])[0] == 200


def test_an_admin_key_is_no_users_key(client, admin_key):
    assert body(client.get("/api/v1/user.senderdomains", query_string={"APIKey": admin_key}))["ErrorCode"] == [99998]


def test_the_cli_creates_and_rotates_an_admin_key(make_env):
    env = make_env()
    cli = [str(Path(sys.executable).parent / "octeth-domains")]
    run = lambda *args: subprocess.run([*cli, *args], env=env, capture_output=True, text=True, timeout=60)  # noqa: E731
    assert run("db", "upgrade").returncode == 0
    created = json.loads(run("admin", "create", "ops").stdout.splitlines()[-1])
    assert created["Name"] == "ops" and len(created["AdminAPIKey"]) == 40
    rotated = json.loads(run("admin", "apikey", "ops").stdout.splitlines()[-1])
    assert rotated["AdminAPIKey"] != created["AdminAPIKey"]
    missing = run("admin", "apikey", "nobody")
    assert missing.returncode == 1 and "no administrator named 'nobody'" in missing.stderr
    from octeth_domains import create_app

    app = create_app(env)
    with app.extensions["octeth_db"].session() as db:
        assert admins.admin_by_api_key(db, created["AdminAPIKey"]) is None  # revoked
        assert admins.admin_by_api_key(db, rotated["AdminAPIKey"]).name == "ops"
        stored = db.one("SELECT APIKeyHash FROM {p}admins WHERE Name = 'ops'")["APIKeyHash"]
    assert rotated["AdminAPIKey"] not in stored  # only its hash is kept


# UserID -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("user_id", [None, "", "abc", "-1", "0", "1.5", "1 OR 1=1", "\u0661"])
def test_a_missing_or_unusable_user_id_is_5001(client, admin_key, user_id):
    params = {"AdminAPIKey": admin_key} if user_id is None else {"AdminAPIKey": admin_key, "UserID": user_id}
    assert call(client, "admin.user.senderdomains.get", **params) == (200, error(5001, "UserID is required"))


def test_a_user_that_does_not_exist_is_5002(client, admin_key):
    assert call(client, "admin.user.senderdomains.get", AdminAPIKey=admin_key, UserID="999999") == (
        200, error(5002, "User not found"))


# admin.user.senderdomains.get ------------------------------------------------------------------

def test_one_users_domains_as_the_admin_tab_lists_them(app, client, accounts, admin_key):
    user, other = accounts.user(), accounts.user()
    first = insert_domain(app, user["UserID"], "a.example")
    second = insert_domain(app, user["UserID"], "b.example", status="Blocked")
    insert_domain(app, user["UserID"], "gone.example", status="Deleted")
    insert_domain(app, other["UserID"], "other.example")
    status, data = call(client, "admin.user.senderdomains.get", legacy=False, AdminAPIKey=admin_key,
                        UserID=user["UserID"])
    assert status == 200
    assert list(data) == ["Success", "ErrorCode", "UserID", "SenderDomainManagementEnabled", "EmailGatewayDomains",
                          "SenderDomains", "Domains", "TotalDomains"]
    assert (data["Success"], data["ErrorCode"], data["UserID"], data["SenderDomainManagementEnabled"]) == (
        True, 0, user["UserID"], True)
    assert data["EmailGatewayDomains"] == []
    own = body(client.get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"]}))["SenderDomains"]
    assert data["SenderDomains"] == [{**entry, "Type": "CA"} for entry in own]
    assert [entry["DomainID"] for entry in data["SenderDomains"]] == [str(first), str(second)]
    assert data["Domains"] == data["SenderDomains"] and data["TotalDomains"] == 2


# Access=admin on user.senderdomain.list ---------------------------------------------------------

def test_list_with_access_admin_is_what_the_users_own_key_receives(app, client, accounts, admin_key):
    user = accounts.user()
    insert_domain(app, user["UserID"], "a.example")
    own = client.get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"]}).get_data()
    as_admin = client.get("/api/v1/user.senderdomains",
                          query_string={"AdminAPIKey": admin_key, "Access": "admin", "UserID": user["UserID"]})
    assert as_admin.get_data() == own
    legacy = client.post("/api.php", data={"Command": "user.senderdomain.list", "AdminAPIKey": admin_key,
                                           "Access": "admin", "UserID": str(user["UserID"])})
    assert legacy.get_data() == own
    # Access=user (or an empty Access) is the user's own call, whatever else is sent beside it.
    for access in ("user", ""):
        assert client.get("/api/v1/user.senderdomains", query_string={
            "APIKey": user["APIKey"], "AdminAPIKey": admin_key, "Access": access}).get_data() == own


@pytest.mark.parametrize("access", ["Admin", "ADMIN", "admin ", " admin", "User", "USER", "user ", "admins", "root",
                                    "1", "a\u00efdmin"])
def test_access_is_compared_exactly(client, accounts, admin_key, access):
    # Octeth's authorization page: "The value is compared exactly. Admin, USER or any other spelling
    # makes authentication fail with 99998 even when the credential is valid."
    user = accounts.user()
    failed = {"Success": False, "ErrorCode": [99998], "ErrorText": ["Authentication failed"],
              "Errors": [{"Code": 0, "Message": "Authentication failed"}]}
    for credentials in ({"AdminAPIKey": admin_key, "UserID": str(user["UserID"])}, {"APIKey": user["APIKey"]}):
        legacy = client.post("/api.php", data={"Command": "user.senderdomain.list", "Access": access, **credentials})
        assert (legacy.status_code, body(legacy)) == (200, failed)
        rest = client.post("/api/v1/user.senderdomain.list", json={"Access": access, **credentials})
        assert body(rest) == failed


def test_access_is_ignored_where_one_kind_of_credential_is_accepted(client, accounts, admin_key):
    user = accounts.user()
    got = body(client.get("/api/v1/user.senderdomain.dns", query_string={
        "APIKey": user["APIKey"], "Access": "Admin", "DomainID": "999"}))
    assert got["Errors"][0]["Code"] == 2
    status, got = call(client, "admin.senderdomains.pending.get", AdminAPIKey=admin_key, Access="USER")
    assert (status, got["Success"]) == (200, True)


def test_list_with_access_admin_needs_an_admin_and_a_user(client, accounts, admin_key):
    user = accounts.user()
    query = {"Access": "admin", "UserID": user["UserID"]}
    # A user's key is not an administrator's, and without Access=admin the call is the user's own.
    assert body(client.get("/api/v1/user.senderdomains", query_string={**query, "APIKey": user["APIKey"]}))[
        "ErrorCode"] == [99998]
    assert body(client.get("/api/v1/user.senderdomains", query_string={"AdminAPIKey": admin_key,
                                                                          "UserID": user["UserID"]}))["ErrorCode"] == [99998]
    assert body(client.get("/api/v1/user.senderdomains", query_string={"AdminAPIKey": admin_key, "Access": "admin"})
                )["Errors"] == [{"Code": 5001, "Message": "UserID is required"}]
    assert body(client.get("/api/v1/user.senderdomains", query_string={"AdminAPIKey": admin_key, "Access": "admin",
                                                                          "UserID": "999999"}))["Errors"][0]["Code"] == 5002


def test_access_admin_is_only_on_the_list(client, accounts, admin_key):
    user = accounts.user()
    data = body(client.get("/api/v1/user.senderdomain", query_string={
        "AdminAPIKey": admin_key, "Access": "admin", "UserID": user["UserID"], "DomainID": "1"}))
    assert data["ErrorCode"] == [99998]


# admin.senderdomain.status.update ---------------------------------------------------------------

def moderation(client, admin_key, user, domain_id, domain_type="CA", status="Enabled"):
    return call(client, "admin.senderdomain.status.update", AdminAPIKey=admin_key, UserID=user["UserID"],
                DomainID=domain_id, DomainType=domain_type, Status=status)


def stored_status(app, domain_id):
    with app.extensions["octeth_db"].session() as db:
        return db.one("SELECT Status, Approved FROM {p}sender_domains WHERE DomainID = ?", (domain_id,))


@pytest.mark.parametrize("start, status, domain_type", [
    ("Blocked", "Enabled", "CA"), ("Enabled", "suspended", "eg"), ("Suspended", "BLOCKED", "Ca"),
    ("Blocked", "approval pending", "EG"), ("Approval Pending", "Enabled", "CA"),
])
def test_an_administrator_moderates_a_domain(app, client, accounts, admin_key, start, status, domain_type):
    user = accounts.user()
    domain_id = insert_domain(app, user["UserID"], "a.example", status=start)
    got, data = moderation(client, admin_key, user, domain_id, domain_type, status)
    wanted = next(name for name in ("Enabled", "Suspended", "Blocked", "Approval Pending") if name.lower() == status.lower())
    assert got == 200
    assert {key: data[key] for key in ("Success", "ErrorCode", "UserID", "DomainID", "DomainType", "Status")} == {
        "Success": True, "ErrorCode": 0, "UserID": user["UserID"], "DomainID": domain_id,
        "DomainType": domain_type.upper(), "Status": wanted}
    assert (data["Domain"]["DomainID"], data["Domain"]["Status"], data["Domain"]["Type"]) == (
        str(domain_id), wanted, domain_type.upper())
    assert stored_status(app, domain_id)["Status"] == wanted
    if wanted == "Enabled":  # an approval, remembered for the manual-approval rule
        assert stored_status(app, domain_id)["Approved"] == 1


def test_an_approved_domain_of_a_manual_approval_group_stays_enabled_when_verified(domain_app, admin_key, dns):
    from conftest import Api

    client = domain_app.test_client()
    user = Accounts(domain_app).user(manual_approval=True)
    api = Api(domain_app, user["APIKey"])
    _, created = api.create(SenderDomain="example.com")
    for host, (kind, value) in created["SenderDomain"]["VerificationMeta"]["DNSRecords"].items():
        dns.set_record(host, kind, value)
    assert api.verify(DomainID=created["DomainID"])[1]["Status"] == "Blocked"  # awaits the administrator
    queue = call(client, "admin.senderdomains.pending.get", AdminAPIKey=admin_key, Status="Blocked")[1]
    assert [entry["SenderDomain"] for entry in queue["Domains"]] == ["example.com"]
    assert moderation(client, admin_key, user, created["DomainID"])[1]["Status"] == "Enabled"
    assert api.verify(DomainID=created["DomainID"], VerifyAll=False)[1]["Status"] == "Enabled"
    assert call(client, "admin.senderdomains.pending.get", AdminAPIKey=admin_key)[1]["TotalDomains"] == 0


@pytest.mark.parametrize("params, code", [
    ({"DomainID": None}, 1), ({"DomainID": "0"}, 1), ({"DomainID": "-3"}, 1), ({"DomainID": "x"}, 1),
    ({"DomainType": None}, 2), ({"Status": None}, 3), ({"DomainType": "XX"}, 4),
    ({"Status": "Disabled"}, 5), ({"Status": "Deleted"}, 5), ({"Status": "nope"}, 5),
])
def test_moderation_parameters(app, client, accounts, admin_key, params, code):
    user = accounts.user()
    domain_id = insert_domain(app, user["UserID"], "a.example", status="Blocked")
    values = {"AdminAPIKey": admin_key, "UserID": user["UserID"], "DomainID": domain_id, "DomainType": "CA",
              "Status": "Enabled", **params}
    status, data = call(client, "admin.senderdomain.status.update", **{k: v for k, v in values.items() if v is not None})
    assert status == 200 and data["Errors"][0]["Code"] == code, data
    assert stored_status(app, domain_id)["Status"] == "Blocked"  # nothing written


def test_another_users_domain_is_6_and_disabled_or_deleted_is_7(app, client, accounts, admin_key):
    user, other = accounts.user(), accounts.user()
    theirs = insert_domain(app, other["UserID"], "theirs.example", status="Blocked")
    assert moderation(client, admin_key, user, theirs)[1] == error(6, "Sender domain not found for this user")
    assert moderation(client, admin_key, user, 999999)[1]["Errors"][0]["Code"] == 6
    for status in ("Disabled", "Deleted"):
        domain_id = insert_domain(app, user["UserID"], f"{status.lower()}.example", status=status)
        assert moderation(client, admin_key, user, domain_id)[1] == error(7, (
            f'A domain in status "{status}" cannot be moderated; only Blocked, Enabled, Approval Pending, Suspended can'))
        assert stored_status(app, domain_id)["Status"] == status
    assert stored_status(app, theirs)["Status"] == "Blocked"


# admin.senderdomains.pending.get ----------------------------------------------------------------

def test_the_moderation_queue_is_every_users_pending_and_blocked_oldest_first(app, client, accounts, admin_key):
    first, second = accounts.user(), accounts.user()
    older = insert_domain(app, second["UserID"], "older.example", status="Blocked", created_at="2026-01-01 00:00:00")
    newer = insert_domain(app, first["UserID"], "newer.example", status="Approval Pending", created_at="2026-02-01 00:00:00")
    insert_domain(app, first["UserID"], "fine.example", status="Enabled")
    insert_domain(app, first["UserID"], "gone.example", status="Deleted")
    status, data = call(client, "admin.senderdomains.pending.get", legacy=False, AdminAPIKey=admin_key)
    assert status == 200
    assert (data["Statuses"], data["RecordsFrom"], data["RecordsPerRequest"], data["TotalDomains"]) == (
        ["Approval Pending", "Blocked"], 0, 25, 2)
    assert [entry["DomainID"] for entry in data["Domains"]] == [str(older), str(newer)]
    entry = data["Domains"][0]
    assert (entry["UserID"], entry["Username"], entry["Status"]) == (str(second["UserID"]), second["Username"], "Blocked")
    assert list(entry)[-3:] == ["Username", "EmailAddress", "RelUserGroupID"]
    only = call(client, "admin.senderdomains.pending.get", AdminAPIKey=admin_key, Status="approval pending")[1]
    assert (only["Statuses"], [e["DomainID"] for e in only["Domains"]]) == (["Approval Pending"], [str(newer)])


def test_the_queue_pages(app, client, accounts, admin_key):
    user = accounts.user()
    ids = [insert_domain(app, user["UserID"], f"d{n}.example", status="Approval Pending",
                         created_at=f"2026-01-{n + 1:02d} 00:00:00") for n in range(5)]
    page = call(client, "admin.senderdomains.pending.get", AdminAPIKey=admin_key, RecordsFrom="2",
                RecordsPerRequest="2")[1]
    assert ([e["DomainID"] for e in page["Domains"]], page["TotalDomains"]) == ([str(ids[2]), str(ids[3])], 5)
    huge = call(client, "admin.senderdomains.pending.get", AdminAPIKey=admin_key, RecordsPerRequest="100000")[1]
    assert huge["RecordsPerRequest"] == 500 and len(huge["Domains"]) == 5
    odd = call(client, "admin.senderdomains.pending.get", AdminAPIKey=admin_key, RecordsFrom="-1",
               RecordsPerRequest="many")[1]
    assert (odd["RecordsFrom"], odd["RecordsPerRequest"]) == (0, 25)


@pytest.mark.parametrize("size, shown", [("2", 2), (3, 3), ("-1", 25), (0, 1), ("0", 1), ("9" * 25, 25),
                                         ("100000", 500), ("many", 25), (" 10 ", 25), (None, 25)])
def test_the_page_size_is_digits_clamped_to_1_500_else_the_default(client, admin_key, size, shown):
    params = {} if size is None else {"RecordsPerRequest": size}
    assert call(client, "admin.senderdomains.pending.get", AdminAPIKey=admin_key, **params)[1]["RecordsPerRequest"] == shown


@pytest.mark.parametrize("offset, shown, first", [
    ("2", 2, 2), (" 3 ", 3, 3), ("+1", 1, 1), (4, 4, 4), ("-1", 0, 0), (-7, 0, 0), ("many", 0, 0), ("1e3", 0, 0),
    ("0x10", 0, 0), (True, 0, 0), (None, 0, 0), ([], 0, 0),
    ("5", 5, None), ("4294967295", 4294967295, None), ("4294967296", 4294967296, None), (2**40, 2**40, None),
    ("9" * 30, 2**53 - 1, None), ("9" * 5000, 2**53 - 1, None), (2**70, 2**53 - 1, None),
    ("\u00a05", 0, 0),  # PHP's (int) skips ASCII white space only
])
def test_an_offset_past_the_queue_is_an_empty_page_never_the_first_again(app, admin_key, accounts, offset, shown, first):
    user = accounts.user()
    ids = [insert_domain(app, user["UserID"], f"d{n}.example", status="Approval Pending",
                         created_at=f"2026-01-{n + 1:02d} 00:00:00") for n in range(5)]
    params = {"Command": "admin.senderdomains.pending.get", "AdminAPIKey": admin_key, "RecordsPerRequest": 1}
    if offset is not None:
        params["RecordsFrom"] = offset
    page = body(app.test_client().post("/api/v1/admin.senderdomains.pending.get", json=params))
    assert page["RecordsFrom"] == shown and page["TotalDomains"] == 5
    assert [entry["DomainID"] for entry in page["Domains"]] == ([] if first is None else [str(ids[first])])


@pytest.mark.parametrize("value", ["Enabled", "Deleted", "x", "Approval"])
def test_the_queue_takes_only_its_two_statuses(client, admin_key, value):
    assert call(client, "admin.senderdomains.pending.get", AdminAPIKey=admin_key, Status=value) == (
        200, error(1, "Status must be one of: Approval Pending, Blocked"))


def test_an_administrators_calls_are_rate_limited_as_its_own(make_app):
    app = make_app(OCTETH_RATE_LIMIT="3 per minute")
    with app.extensions["octeth_db"].session() as db:
        key = admins.create_admin(db, "ops")[1]
    client = app.test_client()
    answers = [call(client, "admin.senderdomains.pending.get", AdminAPIKey=key)[0] for _ in range(4)]
    assert answers == [200, 200, 200, 429]
