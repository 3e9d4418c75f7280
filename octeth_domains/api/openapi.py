"""The OpenAPI 3 document of the REST door, built from the command registry.

Paths, methods, parameters (required or not, described) and every operation's error codes come
from each command's declaration through :mod:`.catalog`, so the document cannot drift from what the
doors accept; the success bodies are written out here, as the seeds show them, with the seeds'
examples. The security schemes are the three credentials of SPEC §3; an operation that needs
authentication lists only them (no anonymous alternative).
"""
from __future__ import annotations

from typing import Any

from . import catalog
from .envelope import APIError
from .registry import Command, Registry

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
FLAG = {"type": "integer", "enum": [0, 1]}
RECORD = {"type": "array", "items": {"oneOf": [STRING, BOOLEAN]}, "minItems": 2, "maxItems": 3}
RECORDS = {"oneOf": [{"type": "object", "additionalProperties": RECORD}, {"type": "array", "maxItems": 0}]}
META = {"oneOf": [{"type": "object"}, {"type": "array", "maxItems": 0}]}

SENDER_DOMAIN = {
    "type": "object",
    "required": ["DomainID", "SenderDomain", "UserID", "CreatedAt", "Status", "VerificationMeta", "PolicyMeta", "Options"],
    "properties": {
        "DomainID": STRING,
        "SenderDomain": STRING,
        "UserID": STRING,
        "CreatedAt": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"},
        "Status": {"type": "string", "enum": ["Approval Pending", "Enabled", "Disabled", "Suspended", "Blocked"]},
        "VerificationMeta": {"oneOf": [
            {"type": "object", "properties": {"DNSRecords": RECORDS}}, {"type": "array", "maxItems": 0}]},
        "PolicyMeta": META,
        "Options": {"oneOf": [{"type": "object", "properties": {
            "LinkTracking": FLAG, "OpenTracking": FLAG, "UnsubscribeLink": FLAG, "CustomSubdomain": STRING,
            "CustomTrackPrefix": STRING, "TrackPrefixDisabled": BOOLEAN}}, {"type": "array", "maxItems": 0}]},
        # Octeth v5.9.4's operational fields (list and get).
        "Volume7d": INTEGER,
        "VolumeDelta": {"type": "string", "nullable": True},
        "Reputation": {"type": "integer", "nullable": True},
        "ReputationBucket": {"type": "string", "nullable": True, "enum": ["excellent", "good", "fair", "poor", None]},
        "DeliveryRate": {"type": "number", "nullable": True},
        "BounceRate": {"type": "number", "nullable": True},
    },
}
DAY_STATS = {"type": "object", "required": ["Period", "Sent", "Delivered", "Bounced", "Complaints"],
             "properties": {"Period": STRING, "Sent": INTEGER, "Delivered": INTEGER, "Bounced": INTEGER,
                            "Complaints": INTEGER}}
ERROR = {
    "type": "object",
    "required": ["Success", "ErrorCode", "ErrorText", "Errors"],
    "properties": {
        "Success": {"type": "boolean", "enum": [False]},
        "ErrorCode": {"type": "array", "items": INTEGER},
        "ErrorText": {"type": "array", "items": STRING},
        "Errors": {"type": "array", "items": {"type": "object", "required": ["Code", "Message"],
                                               "properties": {"Code": INTEGER, "Message": STRING}}},
    },
}
# A hard failure (100000-100005) carries the legacy fields as scalars, as Octeth shows them.
HARD_FAILURE = {**ERROR, "properties": {**ERROR["properties"], "ErrorCode": INTEGER, "ErrorText": STRING}}
TRUE = {"type": "boolean", "enum": [True]}


def _ok(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "properties": properties}


SUCCESS: dict[str, dict[str, Any]] = {
    "user.senderdomain.list": _ok({"Success": TRUE, "SenderDomains": {"type": "array", "items": SENDER_DOMAIN}}),
    "user.senderdomain.get": {"type": "object", "required": ["Success", "SenderDomain"], "properties": {
        "Success": TRUE, "SenderDomain": SENDER_DOMAIN, "Days": INTEGER,
        "Stats": {"type": "object", "additionalProperties": DAY_STATS}}},
    "user.senderdomain.dnshost": _ok({"Success": TRUE, "DomainID": INTEGER, "SenderDomain": STRING, "DnsHost": STRING,
                                      "Nameservers": {"type": "array", "items": STRING}}),
    "user.senderdomain.sendtest": _ok({"Success": TRUE, "DomainID": INTEGER, "SenderDomain": STRING, "To": STRING,
                                       "Subject": STRING, "MessageID": STRING}),
    "user.senderdomain.create": _ok({"Success": TRUE, "DomainID": INTEGER, "SenderDomain": SENDER_DOMAIN}),
    "user.senderdomain.update": _ok({"Success": TRUE, "DnsRegenerated": BOOLEAN, "SenderDomain": SENDER_DOMAIN}),
    "user.senderdomain.delete": _ok({"Success": TRUE}),
    "user.senderdomain.verify": {"oneOf": [
        _ok({"Success": TRUE, "DomainID": INTEGER, "IsVerified": BOOLEAN, "Status": STRING, "DNSRecords": RECORDS}),
        _ok({"Success": TRUE, "VerifyAll": TRUE, "Verified": INTEGER, "Failed": INTEGER, "Truncated": BOOLEAN,
             "Domains": {"type": "array", "items": _ok({"DomainID": INTEGER, "IsVerified": BOOLEAN, "Status": STRING})}}),
    ]},
    "user.senderdomain.dns": _ok({"Success": TRUE, "DomainID": INTEGER, "SenderDomain": STRING, "DNSRecords": {
        "type": "object", "additionalProperties": _ok({"Type": STRING, "Value": STRING,
                                                       "IsVerified": {"type": "boolean", "nullable": True}})}}),
    "dns.provider": _ok({"provider": STRING}),
    "dns.authorize": _ok({"success": TRUE}),
    "dns.set": {"type": "object", "required": ["success"],
                "properties": {"success": TRUE, "Records": {"type": "array", "items": STRING}}},
    "user.login": _ok({"Success": TRUE, "ErrorCode": INTEGER, "ErrorText": STRING, "SessionID": STRING, "UserInfo": {"type": "object"}}),
    "user.logout": _ok({"Success": TRUE, "ErrorCode": INTEGER}),
}
# Statuses other than 200 that a command's business errors answer with (SPEC §4).
BUSINESS_STATUSES = {
    "user.senderdomain.create": ("400", "403", "500"),
    "user.senderdomain.update": ("500",),
    "user.login": ("429",),
    "user.senderdomain.sendtest": ("403", "502"),
}


KINDS = {
    "boolean": {"oneOf": [BOOLEAN, {"type": "integer", "enum": [0, 1]}, STRING]},
    "integer": {"oneOf": [INTEGER, STRING]},
    "number": {"oneOf": [{"type": "number"}, STRING]},
    "string": STRING,
}
GENERIC_SUCCESS = {"type": "object"}


def _parameters(entry: Command) -> list[tuple[str, dict[str, Any], bool, str]]:
    """(name, schema, required, description) of every spelling the command reads."""
    found = []
    for parameter in catalog.parameters_of(entry):
        schema = {"type": "string", "enum": ["JSON", "XML"]} if parameter.name == "ResponseFormat" else KINDS[parameter.kind]
        found.append((parameter.name, schema, parameter.required, parameter.description))
        for alias in parameter.aliases:
            found.append((alias, schema, False, f"Another spelling of {parameter.name}."))
    return found


def _errors_text(errors: list[catalog.Error]) -> str:
    lines = [f"- {error.code}: {error.message}" + (f" (HTTP {error.status})" if error.status != 200 else "")
             + (f" — {error.when}" if error.when else "") for error in errors]
    return "Error codes (in `Errors[0].Code`):\n\n" + "\n".join(lines)


def _security(entry: Command, method: str) -> list[dict[str, list]]:
    if not entry.authenticated:
        return []  # explicitly none: a command that signs in
    if entry.admin:
        return [{"adminApiKey": []}]
    if method == "PATCH":  # a PATCH reads only its JSON body: the query string's key is ignored
        return [{"bearer": []}]
    return [{"bearer": []}, {"apiKey": []}, {"sessionId": []}] + ([{"adminApiKey": []}] if entry.admin_access else [])


def _operation(entry: Command, method: str) -> dict[str, Any]:
    parameters = _parameters(entry)
    errors = catalog.errors_of(entry)
    success = SUCCESS.get(entry.name, GENERIC_SUCCESS)
    example = catalog.example_of(entry, success)
    first_error = next((error for error in errors if error.status == 200), None)
    envelope = {"application/json": {"schema": ERROR}, "text/xml": {"schema": STRING}}
    hard = {"application/json": {"schema": HARD_FAILURE}, "text/xml": {"schema": STRING}}
    either = {"application/json": {"schema": {"oneOf": [HARD_FAILURE, ERROR]}}, "text/xml": {"schema": STRING}}
    examples = {"success": {"summary": "Success", "value": example}}
    if first_error is not None:
        refusal = APIError(first_error.code, first_error.message)
        refusal.scalar = entry.admin and first_error.code != 0  # 0: authentication, every command's
        examples["error"] = {"summary": f"Error {first_error.code}", "value": refusal.body()}
    # An admin command's own refusals carry ErrorCode/ErrorText as scalars; its authentication
    # failure (99998) is every command's.
    refusals = [ERROR, HARD_FAILURE] if entry.admin else [ERROR]
    responses: dict[str, Any] = {
        "200": {"description": "The seed's success body, or a business error in the envelope",
                "content": {"application/json": {"schema": {"oneOf": [success, *refusals]}, "examples": examples},
                            "text/xml": {"schema": STRING}}},
        "400": {"description": "Hard failure 100000, 100001 or 100003, or a business error the seed answers "
                       "with 400", "content": either},
        "413": {"description": "Request body over 1 MiB", "content": hard},
        "429": {"description": "Rate limit exceeded; see Retry-After and the X-RateLimit-* headers",
                "content": envelope},
        "503": {"description": "Hard failure 100004: the database is unavailable; see Retry-After",
                "content": hard},
        "500": {"description": "Hard failure 100005 (an unexpected error), or a business error the seed "
                       "answers with 500",
                "content": either},
    }
    for status in sorted({str(error.status) for error in errors} | set(BUSINESS_STATUSES.get(entry.name, ()))):
        responses.setdefault(status, {"description": "A business error the seed answers with this status",
                                      "content": envelope})
    operation: dict[str, Any] = {
        "operationId": f"{entry.name}.{method.lower()}", "summary": entry.name,
        "description": "\n\n".join(filter(None, (catalog.summary_of(entry),
                                                  f"Also `/api.php?Command={entry.name}`.", _errors_text(errors)))),
        "security": _security(entry, method),
        "x-error-codes": [{"Code": error.code, "Message": error.message, "HTTP": error.status} for error in errors],
        "responses": responses,
    }
    if method in ("GET", "DELETE"):
        operation["parameters"] = [{"name": name, "in": "query", "required": required, "description": description,
                                    "schema": schema} for name, schema, required, description in parameters]
    else:
        required = [name for name, _, needed, _ in parameters if needed]
        body = {"type": "object", "properties": {name: {**schema, "description": description}
                                                 if "$ref" not in schema else schema
                                                 for name, schema, _, description in parameters}}
        if required:
            body["required"] = required
        content = {"application/json": {"schema": body}}
        if method == "POST":
            form = {"type": "object", "properties": {name: {**STRING, "description": description}
                                                     for name, _, _, description in parameters}}
            if required:
                form["required"] = required
            content["application/x-www-form-urlencoded"] = {"schema": form}
        operation["requestBody"] = {"required": bool(required), "content": content}
    return operation


def document(registry: Registry) -> dict[str, Any]:
    """The OpenAPI 3.0 document of every ``/api/v1`` route the registry declares."""
    paths: dict[str, dict[str, Any]] = {}
    for path, methods in sorted(registry.routes.items()):
        for method, entry in sorted(methods.items()):
            paths.setdefault(f"/api/v1/{path}", {})[method.lower()] = _operation(entry, method)
    return {
        "openapi": "3.0.3",
        "info": {"title": "octeth-domains", "version": "1",
                 "description": "The sender-domain API of the Octeth email platform. Every path is also "
                                "reachable as /api.php?Command=<name>."},
        "paths": paths,
        "components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <API key>"},
            "apiKey": {"type": "apiKey", "in": "query", "name": "APIKey",
                       "description": "The API key as a parameter (query string, or the body on POST)"},
            "sessionId": {"type": "apiKey", "in": "query", "name": "SessionID",
                          "description": "A session from user.login (query string, or the body on POST)"},
            "adminApiKey": {"type": "apiKey", "in": "query", "name": "AdminAPIKey",
                            "description": "An administrator's key (query string, or the body on POST); on a"
                                           " user command with Access=admin and UserID"},
        }},
    }
