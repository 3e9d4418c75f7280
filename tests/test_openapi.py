"""The OpenAPI document at /api/v1/openapi.json: valid, complete, and true of the running API.

The schemathesis run is bounded (a fixed number of examples per operation) and sends requests only
to the app in process; provider URLs point at a closed loopback port.
"""
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import pytest

from conftest import Accounts
from octeth_domains.api.registry import registry

CLOSED = "http://127.0.0.1:1"


@pytest.fixture
def api_app(make_app, templates_file, dns):
    host, port = dns.address
    app = make_app(OCTETH_DNS_TEMPLATES=str(templates_file), OCTETH_DNS_SERVERS=f"{host}:{port}",
                   OCTETH_DNS_TIMEOUT="0.5", OCTETH_RATE_LIMIT="100000 per 60 seconds",
                   OCTETH_CLOUDFLARE_API_URL=CLOSED, OCTETH_GODADDY_API_URL=CLOSED, OCTETH_NAMECHEAP_API_URL=CLOSED,
                   OCTETH_POWERDNS_API_URL=CLOSED + "/api/v1/servers/localhost", OCTETH_PROVIDER_TIMEOUT="0.5")
    app.config["TEST_API_KEY"] = Accounts(app).user()["APIKey"]
    return app


def test_the_document_is_valid_openapi_and_names_every_rest_route(client):
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    declared = {(method.lower(), f"/api/v1/{path}") for path, methods in registry.routes.items() for method in methods}
    documented = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert documented == declared
    assert "user.senderdomain.create" in {op["summary"] for ops in document["paths"].values() for op in ops.values()}


def test_the_api_keeps_the_documents_promises(api_app):
    """Every operation, 15 generated requests each: no 5xx, and every answer as documented."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    headers = {"Authorization": "Bearer " + api_app.config["TEST_API_KEY"]}
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(methods) for methods in registry.routes.values())
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case):
            case.call_and_validate(headers=headers, checks=checks)

        exercise()


def test_every_success_body_matches_its_documented_schema(api_app, dns):
    """The generated requests above mostly meet business errors; here each operation is called
    the way a client who knows what it is doing would, and its success body is checked."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    key = api_app.config["TEST_API_KEY"]
    headers = {"Authorization": "Bearer " + key}
    user = Accounts(api_app).user()
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

    def call(method, path, query=None, body=None):
        operation = schema[f"/api/v1/{path}"][method]
        if body is None:
            case = operation.Case(query=query or {})
        else:
            case = operation.Case(body=body, media_type="application/json")
        response = case.call_and_validate(headers=headers, checks=checks)
        data = response.json()
        assert "ErrorCode" not in data or data["ErrorCode"] == 0, data
        return data

    created = call("POST", "user.senderdomain", body={"SenderDomain": "documented.example", "CustomSubdomain": "em"})
    domain_id = created["DomainID"]
    for host, (kind, value) in created["SenderDomain"]["VerificationMeta"]["DNSRecords"].items():
        dns.add_record(host, kind, value)
    call("GET", "user.senderdomains")
    call("GET", "user.senderdomain", query={"DomainID": domain_id})
    call("GET", "user.senderdomain.dns", query={"DomainID": domain_id})
    assert call("POST", "user.senderdomain.verify", body={"DomainID": domain_id})["IsVerified"] is True
    call("POST", "user.senderdomain.verify", body={"VerifyAll": True})
    call("PATCH", "user.senderdomain", body={"DomainID": domain_id, "UseTrackingSubdomain": False})
    dns.add_zone("documented.example")
    dns.set_record("documented.example", "NS", "ana.ns.cloudflare.com.")
    call("GET", "dns.provider", query={"Domain": "documented.example"})
    call("DELETE", "user.senderdomain", query={"DomainID": domain_id})
    login = call("POST", "user.login", body={"Username": user["Username"], "Password": user["Password"]})
    logout = schema["/api/v1/user.logout"]["POST"].Case(body={"SessionID": login["SessionID"]},
                                                        media_type="application/json")
    assert logout.call_and_validate(checks=checks).json()["Success"] is True


def test_every_command_is_documented_with_its_codes_required_parameters_and_example(client):
    from octeth_domains.api import catalog

    document = client.get("/api/v1/openapi.json").get_json()
    operations = {op["summary"]: (method, op) for ops in document["paths"].values() for method, op in ops.items()}
    assert set(operations) == {entry.name for entry in registry.commands.values() if entry.rest}
    for entry in registry.commands.values():
        if not entry.rest:
            continue
        method, operation = operations[entry.name]
        codes = {error["Code"] for error in operation["x-error-codes"]}
        assert codes == {error.code for error in catalog.errors_of(entry)}
        schema = entry._schema
        for name, field in (schema.fields.items() if schema else ()):
            for which in ("missing", "invalid"):
                if which in field.metadata:
                    code = field.metadata[which][0]
                    assert code in codes and f"- {code}: " in operation["description"], (entry.name, name)
        for code, *_ in entry.errors:
            assert code in codes
        required = {parameter.name for parameter in catalog.parameters_of(entry) if parameter.required}
        if method in ("get", "delete"):
            listed = {p["name"] for p in operation["parameters"] if p["required"]}
            assert all(p.get("description") for p in operation["parameters"] if p["name"] in required)
        else:
            listed = set(operation["requestBody"]["content"]["application/json"]["schema"].get("required", []))
        assert listed == required, entry.name
        example = operation["responses"]["200"]["content"]["application/json"]["examples"]["success"]["value"]
        assert example and operation["description"]
        if entry.authenticated:
            assert operation["security"] and {} not in operation["security"]
            schemes = {name for requirement in operation["security"] for name in requirement}
            assert schemes <= set(document["components"]["securitySchemes"])
        else:
            assert operation["security"] == []


def test_the_examples_match_the_documented_success_schemas(client):
    from openapi_schema_validator import OAS30Validator, validate as validate_value

    document = client.get("/api/v1/openapi.json").get_json()
    for ops in document["paths"].values():
        for operation in ops.values():
            content = operation["responses"]["200"]["content"]["application/json"]
            success_schema = content["schema"]["oneOf"][0]
            validate_value(content["examples"]["success"]["value"], success_schema, cls=OAS30Validator)
            if "error" in content["examples"]:  # one of the refusal shapes the schema names
                refusal = content["examples"]["error"]["value"]
                valid = []
                for schema in content["schema"]["oneOf"][1:]:
                    try:
                        validate_value(refusal, schema, cls=OAS30Validator)
                        valid.append(schema)
                    except Exception:
                        pass
                assert valid, (operation["operationId"], refusal)
                if operation["summary"].startswith("admin.") and refusal["Errors"][0]["Code"] != 0:
                    assert isinstance(refusal["ErrorCode"], int), refusal
