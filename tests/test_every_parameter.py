"""Every parameter of every command, every JSON type and a handful of hostile strings, through
both doors and in both formats: never a 5xx, always the envelope, and XML a strict parser reads.

The commands and their parameters are read from the registry when the tests are collected, so a
command added later is covered without a line here.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest

from conftest import Accounts
from helpers import insert_domain
from octeth_domains import create_app  # noqa: F401  (importing the app registers every command)
from octeth_domains import commands  # noqa: F401
from octeth_domains.api.params import BODY_ON_GET, Boolean, Identifier, fold
from octeth_domains.api.registry import registry

# Read by the doors and by authentication rather than by a schema.
COMMON = ("Command", "SessionID", "APIKey", "ResponseFormat")

JSON_VALUES = [True, False, 0, -1, 2**64, 1.5, [], ["a", 1], {}, {"a": {"b": None}}, None]
HOSTILE_STRINGS = [
    "",
    "\x00",
    "a\x01b\x0bc\x1f\x7f",
    "\ufffe\uffff",
    "\ud800",  # a lone surrogate, as JSON's \\ud800 decodes
    "x" * 100_000,
    "]]>",
    "<![CDATA[<a>]]>&amp;",
    "ｌｏｃａｌｈｏｓｔ。",
    "1 OR 1=1; --",
    "\u202e\U0001f4a5",
]
HOSTILE_KEYS = {"\x01": "v", "]]>": "v", "a\x00b": 1, "\ud800": "v", "xml": "v", "1a": "v"}


def _parameters(entry) -> list[str]:
    names = list(COMMON)
    if entry._schema is not None:
        for name, field in entry._schema.fields.items():
            names.append(field.data_key or name)
            names.extend(field.metadata.get("aliases", ()))
    return names


# Values that pass each parameter's own check, so that the one under test is reached past them.
PLAUSIBLE = {"provider": "cloudflare", "recordtype": "campaign", "record_type": "campaign", "status": "Enabled",
             "customsubdomain": "em", "customtrackprefix": "trk"}
# Left out of the baseline: a password makes every call hash one (each field is still tried alone).
SLOW = {"password"}


def _baseline(entry, domain_id: int) -> dict[str, str]:
    """A plausible value for every parameter of ``entry``."""
    values = {}
    if entry._schema is not None:
        for name, field in entry._schema.fields.items():
            key = field.data_key or name
            if fold(key) in {fold(common) for common in COMMON} or fold(key) in SLOW:
                continue
            if isinstance(field, Identifier):
                values[key] = str(domain_id)
            elif isinstance(field, Boolean):
                values[key] = "1"
            else:
                values[key] = PLAUSIBLE.get(fold(key), "example.com")
    return values


def _urlencoded(params: dict) -> str:
    # By hand, so that a lone surrogate goes out as the bytes a broken client would send.
    return "&".join(
        f"{quote(str(key).encode('utf-8', 'surrogatepass'))}={quote(str(value).encode('utf-8', 'surrogatepass'))}"
        for key, value in params.items()
    )


def _check(response, where: str) -> str | None:
    """None if ``response`` is a well-formed envelope; else what is wrong with it."""
    if response.status_code >= 500:
        return f"{where}: HTTP {response.status_code} {response.get_data()[:200]!r}"
    raw = response.get_data()
    if response.mimetype == "text/xml":
        try:
            root = ET.fromstring(raw)  # expat: refuses any character XML 1.0 cannot carry
        except ET.ParseError as error:
            return f"{where}: XML does not parse ({error})"
        if root.tag != "response":
            return f"{where}: XML root is {root.tag}"
        if root.find("Errors") is not None:
            if root.findtext("Success") != "false" or root.find("Errors/node_0/Code") is None:
                return f"{where}: XML error without the envelope"
        elif root.findtext("Success") != "true" and root.findtext("success") != "true" and root.find("provider") is None:
            return f"{where}: XML neither success nor error"
        return None
    if response.mimetype != "application/json":
        return f"{where}: answered {response.mimetype}"
    try:
        data = json.loads(raw)
    except ValueError:
        return f"{where}: JSON does not parse"
    if not isinstance(data, dict):
        return f"{where}: JSON is not an object"
    if "Errors" in data:
        errors = data["Errors"]
        if (data.get("Success") is not False or not isinstance(errors, list) or not errors
                or not isinstance(errors[0].get("Code"), int) or not isinstance(errors[0].get("Message"), str)):
            return f"{where}: JSON error without the envelope: {raw[:200]!r}"
    elif data.get("Success") is not True and data.get("success") is not True and "provider" not in data:
        return f"{where}: JSON neither success nor error: {raw[:200]!r}"
    return None


def _requests(entry, params: dict, strings_only: bool):
    """(description, client call arguments) for each way ``params`` can reach ``entry``."""
    legacy = {"Command": entry.name, **params}
    yield "legacy JSON", ("POST", "/api.php", {"data": json.dumps(legacy), "content_type": "application/json"})
    if strings_only:
        yield "legacy form", ("POST", "/api.php", {"data": _urlencoded(legacy),
                                                   "content_type": "application/x-www-form-urlencoded"})
        yield "legacy GET", ("GET", "/api.php", {"query_string": _urlencoded(legacy)})
    routes = entry.rest if isinstance(entry.rest, list) else [entry.rest or ("POST", entry.name)]
    for method, path in routes:
        url = f"/api/v1/{path}"
        if method in ("GET", "DELETE") and fold(entry.name) not in BODY_ON_GET:
            if strings_only:
                yield f"REST {method} query", (method, url, {"query_string": _urlencoded(params)})
        else:
            yield f"REST {method} JSON", (method, url, {"data": json.dumps(params), "content_type": "application/json"})


@pytest.fixture
def fuzz_app(make_app, dns):
    host, port = dns.address
    closed = "http://127.0.0.1:1"  # no provider API is reached, and none on the internet
    return make_app(
        OCTETH_DNS_SERVERS=f"{host}:{port}", OCTETH_DNS_TIMEOUT="1",
        OCTETH_RATE_LIMIT="1000000 per 60 seconds", OCTETH_LOGIN_FAILURE_LIMIT="1000000 per 60 seconds",
        OCTETH_CLOUDFLARE_API_URL=closed, OCTETH_GODADDY_API_URL=closed, OCTETH_NAMECHEAP_API_URL=closed,
        OCTETH_POWERDNS_API_URL=closed,
    )


@pytest.mark.parametrize("name", sorted(registry.commands))
def test_every_parameter_every_type_answers_the_envelope(fuzz_app, name):
    entry = registry.commands[name]
    user = Accounts(fuzz_app).user()
    client = fuzz_app.test_client()
    domain_id = insert_domain(fuzz_app, user["UserID"], "example.com", status="Approval Pending")
    base = {"APIKey": user["APIKey"], **_baseline(entry, domain_id)}
    problems = []
    if fold(name) == "user.senderdomain.delete":  # so that every call still finds its domain
        base.pop("DomainID")
    cases = [(parameter, value) for parameter in _parameters(entry) for value in JSON_VALUES + HOSTILE_STRINGS]
    for parameter, value in cases:
        for fmt in ("XML", "JSON"):
            params = {**base, "ResponseFormat": fmt, parameter: value}
            if parameter == "ResponseFormat" and fmt == "JSON":
                continue
            strings_only = all(isinstance(item, str) for item in params.values())
            for where, (method, url, kwargs) in _requests(entry, params, strings_only):
                response = client.open(url, method=method, **kwargs)
                problem = _check(response, f"{name} {parameter}={str(value)[:40]!r} {fmt} {where}")
                if problem:
                    problems.append(problem)
    for where, (method, url, kwargs) in _requests(entry, {**base, "ResponseFormat": "XML", **HOSTILE_KEYS}, True):
        problem = _check(client.open(url, method=method, **kwargs), f"{name} hostile keys {where}")
        if problem:
            problems.append(problem)
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} in all)"


def test_a_schema_field_without_its_error_codes_is_refused_at_registration():
    from marshmallow import Schema

    from octeth_domains.api.params import Text
    from octeth_domains.api.registry import Registry

    class Forgetful(Schema):
        Name = Text(required=True, metadata={"missing": (1, "Missing Name parameter")})
        Colour = Text()

    with pytest.raises(RuntimeError, match="Colour"):
        Registry().command("x.forgetful", schema=Forgetful)(lambda args, caller: {})
