"""What the documentation says of each command, read from its registry entry.

Parameters, whether they are required, and every error code come from the declaration: the
marshmallow schema (a field's ``missing``/``invalid`` codes, its ``aliases`` and an optional
``description`` in its metadata) and the entry's ``errors`` (the handler's own codes). Both the
generated reference (docs/commands.md) and the OpenAPI document are built from here, so a new
command is documented by declaring it. What a declaration cannot hold (the seeds' prose and example
answers) is kept below, keyed by name; a command without an example gets one built from its
success schema.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import fields

from .params import Boolean, Identifier
from .registry import Command

# The codes any request can meet before a handler runs (SPEC §4), with their HTTP status.
HARD_FAILURES = (
    (100000, "Request body is not valid JSON", 400),
    (100001, "Unsupported or invalid connection method (a method the path does not take)", 400),
    (100003, 'Invalid API command: "<name>" not found.', 400),
    (100004, "A required component is unavailable, try again later (with Retry-After: 30)", 503),
    (100005, "An unexpected error occurred", 500),
)
RATE_LIMITED = (429, "Rate limit exceeded, try again later (with Retry-After)", 429)
AUTHENTICATION_FAILED = (0, "Authentication failed", 200)


@dataclass(frozen=True)
class Error:
    code: int
    message: str
    status: int = 200
    when: str = ""  # what causes it, where the declaration says


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str  # "string", "integer" or "boolean"
    required: bool
    description: str
    aliases: tuple[str, ...] = ()


# Parameter descriptions shared by every command that takes the name (a field's own
# ``metadata={"description": ...}`` wins).
DESCRIPTIONS = {
    "APIKey": "The user's API key (or send `Authorization: Bearer <key>`, or a `SessionID`).",
    "SessionID": "A session from `user.login`, instead of an API key.",
    "ResponseFormat": "`XML` for the legacy XML answer; anything else (or nothing) answers JSON.",
    "DomainID": "The sender domain's id; it must belong to the calling user.",
    "SenderDomain": "The domain name to register (for example `example.com`); not `localhost`.",
    "LinkTracking": "Click tracking on links sent from this domain (default true on create).",
    "OpenTracking": "Open tracking (default true on create).",
    "UnsubscribeLink": "Inject the unsubscribe link automatically (default false on create).",
    "UseTrackingSubdomain": "Whether to use a separate tracking subdomain (stored as the inverse `TrackPrefixDisabled`).",
    "CustomSubdomain": "Overrides the MFROM/return-path subdomain: letters, digits and hyphens, at most 32, no leading or trailing hyphen.",
    "CustomTrackPrefix": "Overrides the click-tracking prefix; the same rules as `CustomSubdomain`.",
    "Status": "`Enabled` or `Disabled` (a verified domain only; Suspended and Blocked are the operator's).",
    "VerifyAll": "Verify every pending domain of the user instead of one `DomainID`.",
    "Domain": "The domain whose DNS zone is meant.",
    "Api_key": "The DNS provider's API key (also spelled `ApiKey` when you authenticate another way).",
    "ApiKey": "The DNS provider's API key, when the caller authenticated with a Bearer header or `SessionID`.",
    "Provider": "The DNS provider: `cloudflare`, `godaddy`, `namecheap` or `powerdns`.",
    "ApiSecret": "The provider's API secret (GoDaddy).",
    "ApiUser": "The provider's API user (Namecheap).",
    "Username": "The user name (Namecheap's account for the dns.* commands; the Octeth user, or the account's email address, for `user.login`).",
    "RecordType": "`campaign` (the sender domain's records) or `email-gateway`.",
    "Password": "The user's password.",
    "AdminAPIKey": "An administrator's key (`octeth-domains admin create`).",
    "Access": ("`admin` to call this user command as an administrator (`AdminAPIKey`) for the user `UserID` names;"
               " `user` (the default) for the user's own call. Compared exactly, as Octeth does: any other"
               " spelling (`Admin`, `USER`) fails authentication (99998)."),
    "UserID": "The user account an administrator acts on (with `Access=admin`).",
}

SUMMARIES = {
    "user.senderdomain.list": "The caller's sender domains (deleted ones excluded).",
    "user.senderdomain.get": "One sender domain of the caller.",
    "user.senderdomain.create": "Register a sender domain; it starts as `Approval Pending`, with the DNS records to publish. "
                                "Creating a domain the caller already has (in any spelling: `Example.COM.`, its punycode) "
                                "starts that same row (same `DomainID`) afresh, as Octeth does: the options sent (or the "
                                "defaults), new records to publish, `Approval Pending` again, even for an `Enabled` or "
                                "`Disabled` one; only a `Suspended` or `Blocked` domain keeps its status. To change a "
                                "domain, use `user.senderdomain.update`.",
    "user.senderdomain.update": "Change a domain's tracking switches, custom labels or status; only the fields sent change. "
                                "A change of labels regenerates the DNS records (`DnsRegenerated: true`) and makes the "
                                "domain `Approval Pending` again.",
    "user.senderdomain.delete": "Delete a sender domain (a soft delete: the row stays, with Status `Deleted`).",
    "user.senderdomain.verify": "Look the domain's records up in DNS and set its status from the result.",
    "user.senderdomain.dns": "The records to publish for a domain, with what the last verification found.",
    "dns.provider": "Which DNS provider serves the domain's zone, from its NS records.",
    "dns.authorize": "Check that the provider credentials can change the domain's zone.",
    "dns.set": "Publish the domain's records at its DNS provider with the credentials given.",
    "user.login": "Trade a user name and password (or API key) for a session.",
    "user.logout": "End the caller's session.",
}

_SEED_DOMAIN = {
    "DomainID": "12", "SenderDomain": "example.com", "UserID": "1", "CreatedAt": "2026-04-25 22:54:00",
    "Status": "Enabled",
    "VerificationMeta": {"DNSRecords": {"sl.example.com": ["CNAME", "tracking-host.octeth.example.", True]}},
    "PolicyMeta": [],
    "Options": {"LinkTracking": 1, "OpenTracking": 1, "UnsubscribeLink": 0, "CustomSubdomain": "sl",
                "CustomTrackPrefix": "track", "TrackPrefixDisabled": False},
}
_NEW_RECORDS = {"sl.example.com": ["CNAME", "tracking-host.octeth.example."],
                "track-sl.example.com": ["CNAME", "tracking-host.octeth.example."]}

# The seeds' example answers.
EXAMPLES: dict[str, dict[str, Any]] = {
    "user.senderdomain.list": {"Success": True, "SenderDomains": [_SEED_DOMAIN]},
    "user.senderdomain.get": {"Success": True, "SenderDomain": _SEED_DOMAIN},
    "user.senderdomain.create": {"Success": True, "DomainID": 12, "SenderDomain": {
        **_SEED_DOMAIN, "CreatedAt": "2026-04-26 09:30:00", "Status": "Approval Pending",
        "VerificationMeta": {"DNSRecords": _NEW_RECORDS},
        "Options": {"LinkTracking": 1, "OpenTracking": 1, "UnsubscribeLink": 0}}},
    "user.senderdomain.update": {"Success": True, "DnsRegenerated": True, "SenderDomain": {
        **_SEED_DOMAIN, "Status": "Approval Pending",
        "VerificationMeta": {"DNSRecords": {"em.example.com": ["CNAME", "tracking-host.octeth.example."],
                                            "track-em.example.com": ["CNAME", "tracking-host.octeth.example."]}},
        "Options": {"LinkTracking": 1, "OpenTracking": 1, "UnsubscribeLink": 0, "CustomSubdomain": "em",
                    "TrackPrefixDisabled": False}}},
    "user.senderdomain.delete": {"Success": True},
    "user.senderdomain.verify": {"Success": True, "DomainID": 12, "IsVerified": True, "Status": "Enabled",
                                 "DNSRecords": {host: [*record, True] for host, record in _NEW_RECORDS.items()}},
    "user.senderdomain.dns": {"Success": True, "DomainID": 12, "SenderDomain": "example.com", "DNSRecords": {
        "sl.example.com": {"Type": "CNAME", "Value": "tracking-host.octeth.example.", "IsVerified": True},
        "track-sl.example.com": {"Type": "CNAME", "Value": "tracking-host.octeth.example.", "IsVerified": None}}},
    "dns.provider": {"provider": "namecheap"},
    "dns.authorize": {"success": True},
    "dns.set": {"success": True},
    "user.login": {"Success": True, "ErrorCode": 0, "ErrorText": "", "SessionID": "3f2a…", "UserInfo": {"UserID": 1, "Username": "demo", "EmailAddress": "demo@example.com", "FirstName": "", "LastName": "", "AccountStatus": "Enabled", "RelUserGroupID": "1", "GroupName": "Default"}},
    "user.logout": {"Success": True, "ErrorCode": 0},
}


def summary_of(entry: Command) -> str:
    if entry.name in SUMMARIES:
        return SUMMARIES[entry.name]
    doc = (entry.handler.__doc__ or "").strip()
    return " ".join(doc.split("\n\n", 1)[0].split()) if doc else ""


def _kind(field: fields.Field) -> str:
    if isinstance(field, Boolean):
        return "boolean"
    if isinstance(field, Identifier):
        return "integer"
    if isinstance(field, (fields.Integer, fields.Float)):
        return "integer" if isinstance(field, fields.Integer) else "number"
    return "string"


def parameters_of(entry: Command) -> list[Parameter]:
    """The command's parameters in declaration order, then the credentials and ResponseFormat."""
    found: list[Parameter] = []
    schema = entry._schema
    for name, field in (schema.fields.items() if schema else ()):
        key = field.data_key or name
        description = field.metadata.get("description") or DESCRIPTIONS.get(key, "")
        found.append(Parameter(key, _kind(field), bool(field.required), description,
                               tuple(field.metadata.get("aliases", ()))))
    names = {parameter.name.lower() for parameter in found}
    if entry.admin:
        extra = ["AdminAPIKey"]
    else:
        extra = ["APIKey", "SessionID"] if entry.authenticated else []
        extra += ["Access", "AdminAPIKey", "UserID"] if entry.admin_access else []
    extra.append("ResponseFormat")
    for name in extra:
        if name.lower() not in names:
            found.append(Parameter(name, "string", False, DESCRIPTIONS[name]))
    return found


def _error(declared: tuple, when: str = "") -> Error:
    code, message, *status = declared
    return Error(int(code), str(message), int(status[0]) if status else 200, when)


def errors_of(entry: Command) -> list[Error]:
    """Every business error code of the command, by code: its parameters' (from the schema), the
    handler's own (``errors`` on the registry entry), authentication and the rate limit."""
    found: list[Error] = []
    schema = entry._schema
    for name, field in (schema.fields.items() if schema else ()):
        key = field.data_key or name
        for which, when in (("missing", f"{key} missing"), ("invalid", f"{key} invalid")):
            if which in field.metadata:
                found.append(_error(field.metadata[which], when))
    found.extend(_error(declared) for declared in entry.errors)
    if entry.authenticated:
        found.append(_error(AUTHENTICATION_FAILED, "no valid credential"))
        if entry.permission:
            found.append(Error(0, f"Permission denied: {entry.permission} is required", 200,
                               "the user's group lacks the permission"))
    if entry.limit:
        found.append(_error(RATE_LIMITED, f"over the user's limit or this command's own ({entry.limit})"))
    else:
        found.append(_error(RATE_LIMITED, "over the administrator's limit" if entry.admin else "over the user's limit"))
    unique: dict[tuple[int, str], Error] = {}
    for error in found:
        seen = unique.get((error.code, error.message))
        if seen is None:
            unique[(error.code, error.message)] = error
        elif error.when and error.when not in seen.when:
            unique[(error.code, error.message)] = Error(seen.code, seen.message, seen.status,
                                                        ", ".join(filter(None, (seen.when, error.when))))
    return sorted(unique.values(), key=lambda error: error.code)


def _from_schema(schema: dict[str, Any]) -> Any:
    if "example" in schema:
        return schema["example"]
    if "oneOf" in schema:
        return _from_schema(schema["oneOf"][0])
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        return {name: _from_schema(value) for name, value in schema.get("properties", {}).items()}
    if kind == "array":
        return [_from_schema(schema["items"])] if "items" in schema else []
    return {"integer": 1, "number": 1, "boolean": True}.get(kind, "string")


def example_of(entry: Command, success_schema: dict[str, Any] | None) -> Any:
    """The seed's example answer, else one built from the command's success schema."""
    if entry.name in EXAMPLES:
        return EXAMPLES[entry.name]
    if success_schema:
        return _from_schema(success_schema)
    return {"Success": True}
