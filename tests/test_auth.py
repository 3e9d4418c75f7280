"""Authentication and permissions (SPEC §3)."""
import time

import pytest

from helpers import body

AUTH_FAILED = {"Success": False, "ErrorCode": [99998], "ErrorText": ["Authentication failed"],
               "Errors": [{"Code": 0, "Message": "Authentication failed"}]}
LIST = "/api/v1/user.senderdomains"


def login(client, username, password):
    return body(client.post("/api/v1/user.login", json={"Username": username, "Password": password}))


def test_no_credential_is_code_0(client):
    assert body(client.get(LIST)) == AUTH_FAILED


@pytest.mark.parametrize("how", ["bearer", "session", "apikey"])
def test_a_wrong_credential_is_code_0_through_each_method(client, accounts, how):
    accounts.user()
    if how == "bearer":
        response = client.get(LIST, headers={"Authorization": "Bearer " + "0" * 40})
    elif how == "session":
        response = client.get(LIST, query_string={"SessionID": "0" * 64})
    else:
        response = client.get(LIST, query_string={"APIKey": "0" * 40})
    assert body(response) == AUTH_FAILED


@pytest.mark.parametrize("how", ["bearer", "session", "apikey"])
def test_each_method_authenticates(client, accounts, how):
    user = accounts.user()
    if how == "bearer":
        response = client.get(LIST, headers={"Authorization": "Bearer " + user["APIKey"]})
    elif how == "session":
        session_id = login(client, user["Username"], user["Password"])["SessionID"]
        response = client.get(LIST, query_string={"SessionID": session_id})
    else:
        response = client.get(LIST, query_string={"APIKey": user["APIKey"]})
    assert body(response) == {"Success": True, "SenderDomains": []}


def test_a_wrong_credential_does_not_fall_through_to_a_right_one(client, accounts):
    user = accounts.user()
    response = client.get(LIST, headers={"Authorization": "Bearer wrong"}, query_string={"APIKey": user["APIKey"]})
    assert body(response) == AUTH_FAILED
    response = client.get(LIST, query_string={"SessionID": "wrong", "APIKey": user["APIKey"]})
    assert body(response) == AUTH_FAILED


def test_login_answers_a_session_and_user_info(client, accounts):
    user = accounts.user()
    data = login(client, user["Username"], user["Password"])
    assert data["Success"] is True and data["ErrorCode"] == 0
    assert len(data["SessionID"]) >= 32
    # Octeth's UserInfo: UserID a number, then its name fields and status.
    info = data["UserInfo"]
    assert list(info)[:6] == ["UserID", "Username", "EmailAddress", "FirstName", "LastName", "AccountStatus"]
    assert (info["UserID"], info["Username"], info["AccountStatus"]) == (user["UserID"], user["Username"], "Enabled")
    assert isinstance(info["UserID"], int)
    assert not any("Hash" in key or "Password" in key for key in data["UserInfo"])


def test_login_with_an_api_key_instead_of_a_password(client, accounts):
    user = accounts.user()
    data = body(client.post("/api/v1/user.login", json={"Username": user["Username"], "APIKey": user["APIKey"]}))
    assert data["Success"] is True
    other = accounts.user()
    data = body(client.post("/api/v1/user.login", json={"Username": other["Username"], "APIKey": user["APIKey"]}))
    assert data["Errors"][0]["Code"] == 3 and data["ErrorCode"] == [3]


@pytest.mark.parametrize(
    "params, code, message",
    [
        ({"Password": "x"}, 1, "Missing username"),
        ({"Username": "someone"}, 2, "Missing password"),
        ({"Username": "someone", "Password": "wrong"}, 3, "Invalid login information"),
        ({"Username": "nobody-at-all", "Password": "secret-pw"}, 3, "Invalid login information"),
        ({"APIKey": "not-a-key"}, 3, "Invalid login information"),
        ({"Username": "someone@example.com", "Password": "wrong"}, 3, "Invalid login information"),
    ],
)
def test_login_errors(client, accounts, params, code, message):
    accounts.user(username="someone", email="someone@example.com")
    data = body(client.post("/api.php", data={"Command": "user.login", **params}))
    assert data == {"Success": False, "ErrorCode": [code], "ErrorText": [message],
                    "Errors": [{"Code": code, "Message": message}]}


@pytest.mark.parametrize("params", [{}, {"Username": "", "Password": ""}, {"Username": None, "Password": None}])
@pytest.mark.parametrize("door", ["/api.php", "/api/v1/user.login"])
def test_login_without_either_field_names_both(client, door, params):
    # Octeth's error-handling page: {"ErrorCode": [1, 2], "ErrorText": ["Missing username", "Missing password"]}
    data = body(client.post(door, json={"Command": "user.login", **params}))
    assert data == {"Success": False, "ErrorCode": [1, 2], "ErrorText": ["Missing username", "Missing password"],
                    "Errors": [{"Code": 1, "Message": "Missing username"}, {"Code": 2, "Message": "Missing password"}]}


def test_login_without_either_field_names_both_in_xml(client):
    response = client.post("/api.php", data={"Command": "user.login", "ResponseFormat": "XML"})
    xml = response.get_data(as_text=True)
    assert "<node_0><![CDATA[1]]></node_0><node_1><![CDATA[2]]></node_1>" in xml, xml
    assert "Missing password" in xml


@pytest.mark.parametrize("spelled", ["carol@example.com", "Carol@Example.COM", " carol@example.com "])
def test_login_by_email_address(client, accounts, spelled):
    # Octeth's users page: Username is "Username or email address".
    user = accounts.user(username="carol", email="carol@example.com")
    data = login(client, spelled, user["Password"])
    assert data["Success"] is True and data["UserInfo"]["Username"] == "carol", data
    assert body(client.get(LIST, query_string={"SessionID": data["SessionID"]}))["Success"] is True


def test_an_address_two_accounts_share_signs_in_neither(client, accounts):
    first = accounts.user(username="dave", email="shared@example.com")
    accounts.user(username="erin", email="shared@example.com", password=first["Password"])
    assert login(client, "shared@example.com", first["Password"])["Errors"][0]["Code"] == 3
    assert login(client, "dave", first["Password"])["Success"] is True


def test_a_username_that_looks_like_an_address_is_matched_first(client, accounts):
    named = accounts.user(username="frank@example.com", email="frank@elsewhere.example")
    accounts.user(username="other", email="frank@example.com")
    assert login(client, "frank@example.com", named["Password"])["UserInfo"]["Username"] == "frank@example.com"


def test_failures_by_address_and_by_name_share_one_lockout(make_app):
    from conftest import Accounts

    app = make_app(OCTETH_LOGIN_FAILURE_LIMIT="3 per 60 seconds")
    user = Accounts(app).user(username="grace", email="grace@example.com")
    client = app.test_client()
    for name in ("grace", "grace@example.com", "GRACE@example.com"):
        assert login(client, name, "wrong")["Errors"][0]["Code"] == 3
    assert login(client, "grace", user["Password"])["Errors"][0]["Code"] == 4  # locked, by either name


@pytest.mark.parametrize("suffix", ["\x00", "\x00\x00", "\x00anything"])
def test_a_password_with_a_nul_is_not_the_password_without_it(client, accounts, suffix):
    # scrypt's HMAC pads a key with zero bytes, so "pw" and "pw\0" hash alike: a NUL never signs in.
    user = accounts.user()
    data = login(client, user["Username"], user["Password"] + suffix)
    assert data["Success"] is False and data["Errors"][0]["Code"] == 3, data
    assert login(client, user["Username"], user["Password"])["Success"] is True


def test_logout_ends_the_session(client, accounts):
    user = accounts.user()
    session_id = login(client, user["Username"], user["Password"])["SessionID"]
    assert body(client.post("/api/v1/user.logout", json={"SessionID": session_id}))["Success"] is True
    assert body(client.get(LIST, query_string={"SessionID": session_id})) == AUTH_FAILED
    # The API key is untouched by a logout.
    assert body(client.get(LIST, query_string={"APIKey": user["APIKey"]}))["Success"] is True


def test_sessions_expire_after_the_idle_period(make_app):
    app = make_app(OCTETH_SESSION_IDLE_TIMEOUT="1")
    from conftest import Accounts

    user = Accounts(app).user()
    client = app.test_client()
    session_id = login(client, user["Username"], user["Password"])["SessionID"]
    assert body(client.get(LIST, query_string={"SessionID": session_id}))["Success"] is True
    time.sleep(2.2)
    # Octeth's code for an expired session, so that a legacy client signs in again.
    assert body(client.get(LIST, query_string={"SessionID": session_id})) == {**AUTH_FAILED, "ErrorCode": [99999]}
    # Gone now: the next try is an unknown session.
    assert body(client.get(LIST, query_string={"SessionID": session_id})) == AUTH_FAILED


def test_sessions_last_thirty_days_idle_by_default(app):
    assert app.config["OCTETH_SESSION_IDLE_TIMEOUT"] == 30 * 24 * 3600


def test_login_with_an_api_key_alone(client, accounts):
    user = accounts.user()
    for door in ("/api/v1/user.login", "/api.php"):
        data = body(client.post(door, data={"Command": "user.login", "apikey": user["APIKey"]}))
        assert data["Success"] is True and data["ErrorCode"] == 0 and data["ErrorText"] == ""
        assert data["UserInfo"]["Username"] == user["Username"]
        assert body(client.get(LIST, query_string={"SessionID": data["SessionID"]}))["Success"] is True


def test_a_successful_login_says_errortext_empty(client, accounts):
    user = accounts.user()
    data = login(client, user["Username"], user["Password"])
    assert (data["ErrorCode"], data["ErrorText"]) == (0, "")


def test_a_user_without_the_permission_gets_no_data(client, accounts, app):
    from helpers import insert_domain

    user = accounts.user(permissions="")
    insert_domain(app, user["UserID"], "example.com")
    data = body(client.get(LIST, query_string={"APIKey": user["APIKey"]}))
    assert data["Success"] is False and data["Errors"][0]["Code"] == 0
    assert "Permission" in data["Errors"][0]["Message"] and "SenderDomains" not in data


def test_only_hashes_of_keys_and_sessions_are_stored(client, accounts, app):
    user = accounts.user()
    session_id = login(client, user["Username"], user["Password"])["SessionID"]
    with app.extensions["octeth_db"].session() as db:
        stored = repr(db.query("SELECT * FROM {p}users")) + repr(db.query("SELECT * FROM {p}sessions"))
    assert user["APIKey"] not in stored and session_id not in stored and user["Password"] not in stored


def test_an_address_is_found_by_index_not_by_scanning_the_accounts(app, backend):
    # Anyone may send Username=x@y before authenticating: an unknown address must cost a lookup.
    from octeth_domains.models.users import _USER_SELECT

    query = _USER_SELECT + " WHERE u.EmailAddress IN (?, ?) LIMIT 2"
    with app.extensions["octeth_db"].session() as db:
        if backend == "mariadb":
            plan = db.query("EXPLAIN " + query, ("a@example.com", "a@example.com"))
            used = [row["key"] for row in plan if row["table"] == "u"]
        else:
            plan = db.query("EXPLAIN QUERY PLAN " + query, ("a@example.com", "a@example.com"))
            used = [row["detail"] for row in plan if "ix_users_email" in row["detail"]]
    assert used and all(used) and any("ix_users_email" in str(item) for item in used), plan
