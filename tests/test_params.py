"""Parameter collection (SPEC §2): sources per method, case, duplicates, booleans and ids."""
import json

import pytest

from octeth_domains.api.envelope import APIError
from octeth_domains.api.params import collect, fold, parse_bool, parse_id


@pytest.fixture
def bare_app():
    from flask import Flask

    return Flask(__name__)


def gather(app, method, path="/api.php", command=None, rest=False, **kwargs):
    with app.test_request_context(path, method=method, **kwargs) as ctx:
        return dict((fold(name), value) for name, value in collect(ctx.request, command, rest=rest).items())


def test_get_reads_the_query_string(bare_app):
    assert gather(bare_app, "GET", query_string={"DomainID": "12", "APIKey": "k"}) == {"domainid": "12", "apikey": "k"}


def test_get_ignores_a_json_body_except_for_dns_commands(bare_app):
    body = {"Domain": "example.com"}
    assert gather(bare_app, "GET", command="user.senderdomain.get", rest=True, json=body) == {}
    assert gather(bare_app, "GET", command="dns.provider", rest=True, json=body) == {"domain": "example.com"}
    # On the legacy door the Command parameter decides, wherever it is.
    assert gather(bare_app, "GET", json={"Command": "dns.set", **body}) == {"command": "dns.set", "domain": "example.com"}
    assert gather(bare_app, "GET", query_string={"Command": "user.senderdomain.list"}, json=body) == {
        "command": "user.senderdomain.list"
    }


def test_delete_reads_the_query_string(bare_app):
    assert gather(bare_app, "DELETE", query_string={"DomainID": "3"}, command="user.senderdomain.delete", rest=True) == {
        "domainid": "3"
    }


def test_post_reads_json_and_query(bare_app):
    got = gather(bare_app, "POST", query_string={"APIKey": "k"}, json={"DomainID": 12, "Flag": True})
    assert got == {"apikey": "k", "domainid": 12, "flag": True}


def test_post_reads_urlencoded_and_multipart_forms(bare_app):
    assert gather(bare_app, "POST", data={"SenderDomain": "a.example"}) == {"senderdomain": "a.example"}
    got = gather(bare_app, "POST", data={"SenderDomain": "b.example"}, content_type="multipart/form-data")
    assert got == {"senderdomain": "b.example"}


def test_patch_reads_only_the_json_body(bare_app):
    got = gather(bare_app, "PATCH", query_string={"DomainID": "99", "APIKey": "q"}, json={"DomainID": 12})
    assert got == {"domainid": 12}
    assert gather(bare_app, "PATCH", data={"DomainID": "12"}) == {}


def test_names_are_case_insensitive(bare_app):
    with bare_app.test_request_context("/api.php", query_string={"aPiKeY": "k"}) as ctx:
        params = collect(ctx.request, None, rest=False)
    assert params["APIKey"] == params["apikey"] == params["APIKEY"] == "k"
    assert "ApiKey" in params


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"query_string": [("DomainID", "1"), ("DomainID", "2")]}, "2"),
        ({"query_string": [("DomainID", "1"), ("domainid", "2")]}, "2"),
        ({"method": "POST", "query_string": {"DomainID": "1"}, "json": {"DomainID": 2}}, 2),
        ({"method": "POST", "query_string": {"DomainID": "1"}, "data": {"DomainID": "2"}}, "2"),
        ({"method": "POST", "json": {"DomainID": "a", "domainid": "b"}}, "b"),
    ],
)
def test_a_name_given_twice_keeps_the_value_php_would(bare_app, kwargs, expected):
    # PHP's $_REQUEST: the last within a source, the body's over the query string's.
    method = kwargs.pop("method", "GET")
    got = gather(bare_app, method, **kwargs)
    assert got == {"domainid": expected}


def test_of_two_spellings_the_one_given_last_is_read(bare_app):
    from marshmallow import Schema

    from octeth_domains.api.params import Text
    from octeth_domains.api.registry import Command

    class Spellings(Schema):
        Username = Text(metadata={"aliases": ("Useranem",), "missing": (7, "Missing username parameter")})

    entry = Command("x", lambda args, caller: {}, schema=Spellings, _schema=Spellings())
    for pairs, expected in (([("Username", "a"), ("Useranem", "b")], "b"), ([("Useranem", "b"), ("Username", "a")], "a")):
        with bare_app.test_request_context("/api.php", query_string=pairs) as ctx:
            assert entry.load(collect(ctx.request, None, rest=False)) == {"Username": expected}


def test_a_name_given_twice_with_the_same_value_is_fine(bare_app):
    got = gather(bare_app, "POST", query_string={"DomainID": "12"}, json={"DomainID": 12})
    assert got == {"domainid": 12}


def test_the_rest_door_ignores_command(bare_app):
    got = gather(bare_app, "POST", command="user.login", rest=True, json={"Command": "user.logout", "Username": "u"})
    assert got == {"username": "u"}


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", "\"text\""])
def test_a_body_that_is_not_a_json_object_is_100000(bare_app, body):
    with pytest.raises(APIError) as caught:
        gather(bare_app, "POST", data=body, content_type="application/json")
    assert (caught.value.code, caught.value.status) == (100000, 400)


@pytest.mark.parametrize(
    "value, expected",
    [(True, True), (False, False), (1, True), (0, False), ("true", True), ("FALSE", False), ("1", True),
     ("0", False), ("Yes", True), ("no", False), ("ON", True), ("off", False)],
)
def test_booleans(value, expected):
    assert parse_bool(value) is expected


@pytest.mark.parametrize("value", ["maybe", "", 2, -1, None, 1.0, "10", [True]])
def test_not_booleans(value):
    with pytest.raises(ValueError):
        parse_bool(value)


@pytest.mark.parametrize("value, expected", [(12, 12), ("12", 12), ("007", 7), (0, 0)])
def test_ids(value, expected):
    assert parse_id(value) == expected


@pytest.mark.parametrize("value", ["12abc", "1 OR 1=1", -1, "-1", "1e3", 1e3, 12.0, "", " 12", True, None, [12], "１２"])
def test_ids_that_are_never_coerced(value):
    assert parse_id(value) is None


def test_of_duplicate_keys_inside_one_json_body_the_last_wins(bare_app):
    got = gather(bare_app, "POST", data='{"APIKey": "wrong", "APIKey": "right"}', content_type="application/json")
    assert got == {"apikey": "right"}


def test_only_ascii_letters_fold(bare_app):
    got = gather(bare_app, "GET", query_string={"API\u212aey": "k"})  # a Kelvin sign, not a K
    assert got == {"API\u212aey": "k"} and "apikey" not in got


@pytest.mark.parametrize("body", ['{"A": NaN}', '{"A": Infinity}', '{"A":' + "[" * 5000 + "]" * 5000 + "}"])
def test_json_that_python_would_accept_but_is_not_json(bare_app, body):
    with pytest.raises(APIError) as caught:
        gather(bare_app, "POST", data=body, content_type="application/json")
    assert caught.value.code == 100000


def test_a_stray_body_on_get_is_not_read(bare_app):
    got = gather(bare_app, "GET", command="user.senderdomain.list", rest=True, data="{broken",
                 content_type="application/json", query_string={"APIKey": "k"})
    assert got == {"apikey": "k"}
    got = gather(bare_app, "GET", data="{broken", content_type="application/json",
                 query_string={"Command": "user.senderdomain.list"})
    assert got == {"command": "user.senderdomain.list"}
