"""The two doors, command names, envelopes and hard failures (SPEC §1, §4)."""
import json
import xml.etree.ElementTree as ET

import pytest

from helpers import body, insert_domain
from octeth_domains import create_app


def test_both_doors_answer_the_same_body(client, accounts, app):
    user = accounts.user()
    insert_domain(app, user["UserID"], "example.com")
    rest = client.get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"]})
    legacy = client.post("/api.php", data={"Command": "user.senderdomain.list", "APIKey": user["APIKey"]})
    assert rest.status_code == legacy.status_code == 200
    assert rest.get_data() == legacy.get_data()
    assert body(rest)["SenderDomains"][0]["SenderDomain"] == "example.com"


@pytest.mark.parametrize("name", ["User.SenderDomain.List", "USER.SENDERDOMAIN.LIST", "user.senderdomain.list"])
def test_command_names_are_case_insensitive(client, accounts, name):
    user = accounts.user()
    response = client.get("/api.php", query_string={"command": name, "APIKEY": user["APIKey"]})
    assert body(response) == {"Success": True, "SenderDomains": []}


def test_rest_paths_are_case_insensitive_and_any_command_runs_with_post(client, accounts):
    user = accounts.user()
    assert body(client.get("/api/v1/User.SenderDomains", query_string={"apikey": user["APIKey"]}))["Success"] is True
    response = client.post("/api/v1/user.senderdomain.list", json={"APIKey": user["APIKey"]})
    assert body(response) == {"Success": True, "SenderDomains": []}


def test_the_rest_door_ignores_a_command_field(client, accounts):
    user = accounts.user()
    response = client.get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"], "Command": "user.logout"})
    assert body(response) == {"Success": True, "SenderDomains": []}


def error_of(response):
    data = body(response)
    assert data["Success"] is False
    # A hard failure's legacy fields are scalars beside the seed's Errors, as Octeth's
    # error-handling page shows them; a command's refusal has them as arrays.
    code, message = data["Errors"][0]["Code"], data["Errors"][0]["Message"]
    if code >= 100000:
        assert (data["ErrorCode"], data["ErrorText"]) == (code, message)
    else:
        assert (data["ErrorCode"], data["ErrorText"]) == ([code], [message])
    return response.status_code, code


def test_a_hard_failure_is_shaped_as_octeths_example(client):
    # Octeth's error-handling page, to the byte but for the name it echoes.
    response = client.get("/api.php", query_string={"Command": "nope"})
    assert response.status_code == 400 and body(response) == {
        "Success": False, "ErrorCode": 100003, "ErrorText": 'Invalid API command: "nope" not found.',
        "Errors": [{"Code": 100003, "Message": 'Invalid API command: "nope" not found.'}]}


def test_a_refusal_keeps_its_legacy_fields_as_arrays(client):
    data = body(client.get("/api.php", query_string={"Command": "user.senderdomain.list", "APIKey": "nope"}))
    assert (data["ErrorCode"], data["ErrorText"]) == ([99998], ["Authentication failed"])


def test_invalid_json_is_100000(client):
    response = client.post("/api.php", data="{nope", content_type="application/json")
    assert error_of(response) == (400, 100000)


def test_unsupported_method_is_100001(client):
    assert error_of(client.put("/api/v1/user.senderdomains")) == (400, 100001)
    assert error_of(client.patch("/api.php", json={"Command": "user.senderdomain.list"})) == (400, 100001)
    assert error_of(client.get("/api/v1/user.login")) == (400, 100001)


def test_a_repeated_parameter_keeps_the_last_value_as_php_does(client, accounts):
    # PHP's $_REQUEST: the last within a source, and two spellings of one name likewise.
    user = accounts.user()
    response = client.get("/api/v1/user.senderdomains", query_string=[("APIKey", "other"), ("apikey", user["APIKey"])])
    assert body(response) == {"Success": True, "SenderDomains": []}
    response = client.get("/api/v1/user.senderdomains", query_string=[("APIKey", user["APIKey"]), ("apikey", "other")])
    assert body(response)["Errors"][0]["Code"] == 0
    # A public PHP client sends ResponseFormat twice on every GET.
    response = client.get("/api.php", query_string=[("Command", "user.senderdomain.list"), ("ResponseFormat", "JSON"),
                                                    ("APIKey", user["APIKey"]), ("ResponseFormat", "XML")])
    assert response.mimetype == "text/xml" and ET.fromstring(response.get_data()).findtext("Success") == "true"


def test_the_body_wins_over_the_query_string(client, accounts):
    user = accounts.user()
    response = client.post("/api.php?APIKey=wrong&Command=user.nothing",
                           data={"Command": "user.senderdomain.list", "APIKey": user["APIKey"]})
    assert body(response) == {"Success": True, "SenderDomains": []}
    response = client.post("/api/v1/user.senderdomain.list?APIKey=wrong", json={"APIKey": user["APIKey"]})
    assert body(response) == {"Success": True, "SenderDomains": []}


def test_a_duplicate_json_key_keeps_the_last(client, accounts):
    user = accounts.user()
    raw = '{"Command": "user.senderdomain.list", "APIKey": "wrong", "APIKey": "%s"}' % user["APIKey"]
    assert body(client.post("/api.php", data=raw, content_type="application/json"))["Success"] is True


@pytest.mark.parametrize("query", [{}, {"Command": ""}, {"Command": "user.nothing"}, {"Command": "user.senderdomain.list.x"}])
def test_unknown_or_missing_command_is_100003(client, query):
    assert error_of(client.get("/api.php", query_string=query)) == (400, 100003)


def test_unknown_rest_path_is_100003(client):
    assert error_of(client.get("/api/v1/user.nothing")) == (400, 100003)


def test_database_unreachable_is_100004_with_retry_after(make_env, backend):
    url = "mysql://root@127.0.0.1:1/nothing" if backend == "mariadb" else "sqlite:////proc/no/such/dir/db.sqlite"
    app = create_app(make_env(OCTETH_DATABASE_URL=url))
    response = app.test_client().get("/api/v1/user.senderdomains", query_string={"APIKey": "x" * 40})
    assert error_of(response) == (503, 100004)
    assert response.headers["Retry-After"] == "30"
    text = response.get_data(as_text=True)
    assert "127.0.0.1" not in text and "proc" not in text and "Traceback" not in text


def test_an_unhandled_error_is_100005_without_details(client, accounts, app):
    user = accounts.user()
    domain_id = insert_domain(app, user["UserID"], "broken.example")
    with app.extensions["octeth_db"].session() as db:
        db.execute("UPDATE {p}sender_domains SET Options = ? WHERE DomainID = ?", ("{broken", domain_id))
    response = client.get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"]})
    assert error_of(response) == (500, 100005)
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and ".py" not in text and "SELECT" not in text


def test_xml_response_parses(client, accounts, app):
    user = accounts.user()
    insert_domain(app, user["UserID"], "example.com", records={"1sl.example.com": ["CNAME", "x.example.]]>", None]})
    response = client.get("/api.php", query_string={
        "Command": "user.senderdomain.list", "APIKey": user["APIKey"], "ResponseFormat": "XML"})
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.get_data())
    assert root.tag == "response"
    assert root.findtext("Success") == "true"
    domain = root.find("SenderDomains/node_0")
    assert domain.findtext("SenderDomain") == "example.com"
    assert domain.findtext("DomainID").isdigit()
    record = domain.find("VerificationMeta/DNSRecords/node")
    assert record.get("key") == "1sl.example.com"
    assert [node.text for node in record] == ["CNAME", "x.example.]]>", None]
    assert domain.findtext("Options/LinkTracking") == "1"


def test_xml_error_envelope_parses_and_other_spellings_mean_json(client):
    response = client.get("/api.php", query_string={"Command": "user.senderdomain.list", "ResponseFormat": "XML"})
    root = ET.fromstring(response.get_data())
    assert (root.findtext("Success"), root.findtext("ErrorCode/node_0")) == ("false", "99998")
    assert (root.findtext("ErrorText/node_0"), root.findtext("Errors/node_0/Code")) == ("Authentication failed", "0")
    assert root.findtext("Errors/node_0/Message") == "Authentication failed"
    response = client.get("/api.php", query_string={"Command": "user.senderdomain.list", "ResponseFormat": "xml"})
    assert response.mimetype == "application/json"


def test_hard_failures_100000_and_100001_are_always_json(client):
    response = client.post("/api.php?ResponseFormat=XML", data="{", content_type="application/json")
    assert response.mimetype == "application/json" and error_of(response) == (400, 100000)
    response = client.put("/api/v1/user.senderdomains?ResponseFormat=XML")
    assert response.mimetype == "application/json" and error_of(response) == (400, 100001)


def test_unknown_path_outside_the_api_is_an_envelope(client):
    response = client.get("/nothing/here")
    assert response.status_code == 404 and body(response)["Errors"][0]["Code"] == 100003


def test_a_body_over_one_mib_is_413_in_the_envelope(client):
    response = client.post("/api.php", data={"Command": "user.senderdomain.list", "Padding": "x" * (1024 * 1024)})
    assert error_of(response) == (413, 100001)


def test_too_many_multipart_fields_is_said_so_not_that_the_body_is_too_large(client):
    data = {f"p{n}": "x" for n in range(1100)}  # a few kilobytes: far under the size limit
    response = client.post("/api.php", data=data, content_type="multipart/form-data")
    assert error_of(response) == (413, 100001)
    assert body(response)["Errors"][0]["Message"] == "Request has too many form fields (at most 1000)"


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND"])
def test_exotic_methods_are_100001(client, method):
    assert error_of(client.open("/api/v1/user.senderdomains", method=method)) == (400, 100001)


def test_an_empty_rest_name_is_100003(client):
    assert error_of(client.get("/api/v1/")) == (400, 100003)


def test_unknown_command_answers_in_xml_when_asked(client):
    response = client.get("/api.php", query_string={"Command": "nope", "ResponseFormat": "XML"})
    assert response.mimetype == "text/xml" and response.status_code == 400
    root = ET.fromstring(response.get_data())
    assert root.findtext("ErrorCode") == "100003"
    assert root.findtext("Errors/node_0/Message") == 'Invalid API command: "nope" not found.'


@pytest.mark.parametrize("door", ["legacy-form", "legacy-json", "rest-form", "rest-json"])
def test_a_hard_failure_honours_xml_asked_in_the_body(client, door):
    # Octeth: "Hard failures honour ResponseFormat=XML", wherever the client put it.
    path = "/api.php" if door.startswith("legacy") else "/api/v1/user.nothing"
    values = {"ResponseFormat": "XML", **({"Command": "nope"} if door.startswith("legacy") else {})}
    if door.endswith("json"):
        response = client.post(path, json=values)
    else:
        response = client.post(path, data=values)
    assert response.mimetype == "text/xml" and response.status_code == 400, response.get_data()
    assert ET.fromstring(response.get_data()).findtext("ErrorCode") == "100003"


def test_a_missing_command_honours_xml_asked_in_the_body(client):
    response = client.post("/api.php", data={"ResponseFormat": "XML"})
    assert response.mimetype == "text/xml" and response.status_code == 400
    assert ET.fromstring(response.get_data()).findtext("Errors/node_0/Code") == "100003"


@pytest.mark.parametrize("name", ["user.nothing", "", "\x01]]>"])
def test_the_unknown_command_message_is_octeths(client, name):
    response = client.post("/api.php", data={"Command": name})
    assert body(response)["Errors"][0]["Message"] == f'Invalid API command: "{name}" not found.'
    assert body(client.get("/api/v1/user.nothing"))["Errors"][0]["Message"] == 'Invalid API command: "user.nothing" not found.'



def test_a_stray_broken_body_on_get_is_ignored(client, accounts):
    user = accounts.user()
    response = client.get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"]}, data="{bad",
                          content_type="application/json")
    assert body(response) == {"Success": True, "SenderDomains": []}


def test_a_lone_surrogate_is_refused_cleanly(client, accounts):
    accounts.user(username="u")
    for params in ({"Username": "u", "Password": "\ud800"}, {"Username": "\ud800", "Password": "x"}):
        response = client.post("/api/v1/user.login", data=json.dumps(params), content_type="application/json")
        assert response.status_code == 200 and body(response)["Errors"][0]["Code"] == 3


def test_the_schema_missing_is_100004(make_env, backend):
    from conftest import MYSQL_SERVER, _mysql_admin

    overrides = {}
    if backend == "mariadb":
        admin = _mysql_admin()
        admin.cursor().execute("CREATE DATABASE octeth_test_empty_schema")
        overrides["OCTETH_DATABASE_URL"] = f"{MYSQL_SERVER}/octeth_test_empty_schema"
    try:
        app = create_app(make_env(**overrides))
        response = app.test_client().get("/api/v1/user.senderdomains", query_string={"APIKey": "k"})
        assert error_of(response) == (503, 100004)
        # A missing schema is not an outage: the next request tries again at once.
        assert app.test_client().get("/api/v1/user.senderdomains?APIKey=k").status_code == 503
    finally:
        if backend == "mariadb":
            admin.cursor().execute("DROP DATABASE octeth_test_empty_schema")
            admin.close()


@pytest.mark.parametrize("path, query", [
    ("/api/v1/user.senderdomains", {}),
    ("/api.php", {"Command": "user.senderdomain.list"}),
])
def test_head_answers_what_get_answers_without_the_body(client, accounts, path, query):
    user = accounts.user()
    query = {**query, "APIKey": user["APIKey"]}
    got, head = client.get(path, query_string=query), client.head(path, query_string=query)
    assert (head.status_code, head.mimetype) == (got.status_code, got.mimetype) == (200, "application/json")
    assert head.get_data() == b"" and int(head.headers["Content-Length"]) == len(got.get_data())


def test_head_on_a_path_without_get_is_100001(client):
    response = client.head("/api/v1/user.senderdomain.verify")
    assert response.status_code == 400 and response.get_data() == b""


@pytest.mark.parametrize("command, extra", [
    ("user.senderdomain.create", {"SenderDomain": "head.example"}),
    ("user.senderdomain.delete", {"DomainID": "1"}),
    ("user.logout", {}),
    ("dns.set", {"Domain": "head.example", "Provider": "cloudflare", "Api_key": "k", "RecordType": "campaign"}),
    ("user.senderdomain.verify", {"DomainID": "1"}),
])
def test_head_never_runs_a_command_that_is_not_a_read(client, accounts, command, extra):
    # A link checker's HEAD of a legacy URL must not create, delete or publish anything.
    user = accounts.user()
    response = client.head("/api.php", query_string={"Command": command, "APIKey": user["APIKey"], **extra})
    assert response.status_code == 400
    response = client.head(f"/api/v1/{command}", query_string={"APIKey": user["APIKey"], **extra})  # REST alike
    assert response.status_code == 400 and response.get_data() == b""
    listed = body(client.get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"]}))
    assert listed == {"Success": True, "SenderDomains": []}


def test_one_large_multipart_field_within_the_body_limit_is_read(client, accounts):
    # Flask stops a multipart text field at 500 kB by default; the body's 1 MiB is the limit here.
    user = accounts.user()
    response = client.post("/api.php", content_type="multipart/form-data", data={
        "Command": "user.senderdomain.list", "APIKey": user["APIKey"], "Padding": "x" * 600_000})
    assert body(response) == {"Success": True, "SenderDomains": []}


@pytest.mark.parametrize("asked, on, off", [
    ("XML", "text/xml", "text/xml"), ("xml", "text/xml", "application/json"), ("Xml", "text/xml", "application/json"),
    ("xml ", "application/json", "application/json"), ("yaml", "application/json", "application/json"),
])
def test_response_format_case_is_the_operators_choice(make_app, asked, on, off):
    # Octeth v6.0.1: exactly XML by default; API_RESPONSEFORMAT_CASE_INSENSITIVE opts into any spelling.
    for setting, expected in (("1", on), ("", off)):
        client = make_app(OCTETH_RESPONSEFORMAT_CASE_INSENSITIVE=setting).test_client()
        for response in (client.get("/api.php", query_string={"Command": "nope", "ResponseFormat": asked}),
                         client.post("/api/v1/user.nothing", data={"ResponseFormat": asked}),
                         client.get("/api/v1/user.senderdomains", query_string={"ResponseFormat": asked})):
            assert response.mimetype == expected, (setting, asked, response.get_data()[:80])
