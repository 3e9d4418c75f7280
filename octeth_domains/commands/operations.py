"""What Octeth v5.9.4 added beside the seed's commands for its front end: ``dnshost`` ("DNS via
Cloudflare") and ``sendtest`` (the test button)."""
from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from marshmallow import Schema, fields

from ..api.auth import Caller
from ..api.envelope import APIError
from ..api.params import Identifier, Text
from ..api.registry import command
from ..db import get_db
from ..models import senderdomains as model
from ..senderdomains import dnshost, sendtest, verify
from ..senderdomains.errors import NOT_FOUND, not_found

MISSING_ID = {"missing": (1, "Missing DomainID parameter")}
# sendtest's codes beside 1 and 2 (Octeth's reference wording).
MISSING_TO = (3, "Missing To parameter")
INVALID_TO = (8, "Invalid recipient email address")
DELIVERY_FAILED = 11, "Test message delivery failed", 502
DEMO_MODE = (99, "Not available in demo mode", 403)


class DnsHostSchema(Schema):
    DomainID = Identifier(required=True, metadata=MISSING_ID)


class SendTestSchema(Schema):
    DomainID = Identifier(required=True, metadata=MISSING_ID)
    to = Text(required=True, metadata={"missing": MISSING_TO, "invalid": INVALID_TO})
    subject = fields.Raw()  # optional: anything but text means the default


def _cache() -> verify.VerificationCache:
    # A TTL cache like the verification one (Redis, or in-process), under its own key prefix.
    extensions = current_app.extensions
    if "octeth_dnshost_cache" not in extensions:
        prefix = f"{current_app.config['OCTETH_REDIS_KEY_PREFIX']}:dnshost:"
        extensions["octeth_dnshost_cache"] = verify.VerificationCache(extensions.get("octeth_redis"), prefix=prefix)
    return extensions["octeth_dnshost_cache"]


@command("user.senderdomain.dnshost", rest=("GET", "user.senderdomain.dnshost"), schema=DnsHostSchema,
         errors=[NOT_FOUND])
def sender_domain_dns_host(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    row = model.get_owned(get_db(), args["DomainID"], caller.user.user_id)
    if row is None:
        raise APIError(*not_found().args)
    config = current_app.config
    label, nameservers = dnshost.dns_host(row["SenderDomain"], config["OCTETH_DNS_SERVERS"],
                                          config["OCTETH_DNS_TIMEOUT"], _cache(),
                                          current_app.extensions["octeth_providers"])
    return {"Success": True, "DomainID": int(row["DomainID"]), "SenderDomain": row["SenderDomain"],
            "DnsHost": label, "Nameservers": nameservers}


@command("user.senderdomain.sendtest", rest=("POST", "user.senderdomain.sendtest"), schema=SendTestSchema,
         limit="10 per 5 minutes",
         errors=[NOT_FOUND, (DELIVERY_FAILED[0], f"{DELIVERY_FAILED[1]}: <reason>", DELIVERY_FAILED[2]), DEMO_MODE])
def sender_domain_send_test(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    config = current_app.config
    if config["OCTETH_DEMO_MODE"]:
        raise APIError(*DEMO_MODE)
    row = model.get_owned(get_db(), args["DomainID"], caller.user.user_id)
    if row is None:
        raise APIError(*not_found().args)
    try:
        address = validate_email(args["to"].strip(), check_deliverability=False)
    except EmailNotValidError:
        raise APIError(*INVALID_TO) from None
    # Answered normalised (the domain lower-case and in Unicode); sent in ASCII (the domain in
    # punycode) wherever the address has an ASCII form, so that a relay without SMTPUTF8 takes it.
    # Only a local part outside ASCII needs SMTPUTF8.
    to, to_on_the_wire = address.normalized, address.ascii_email or address.normalized
    domain = row["SenderDomain"]
    hosts = sendtest.hosts_of(domain, model.options_of(row),
                              config["OCTETH_SENDTEST_FROM_PREFIX"], config["EMAILCAMPAIGN_DNS_SUBDOMAIN"],
                              config["EMAILCAMPAIGN_DNS_TRACK_PREFIX"], config["EMAILCAMPAIGN_DNS_TRACK_MERGE"])
    subject = args.get("subject")
    # One header line: line breaks would let a caller add headers of their own.
    subject = " ".join(subject.split())[:200] if isinstance(subject, str) else ""
    subject = subject or f"Sender domain test from {domain}"
    mid = sendtest.message_id()
    mail_from = f"{config['OCTETH_SENDTEST_FROM_PREFIX']}@{hosts.return_path}"
    try:
        mail = sendtest.build(domain, hosts, to_on_the_wire, subject, mid, mail_from)
        sendtest.send(config["OCTETH_SMTP_URL"], mail, mail_from, to_on_the_wire)
    except sendtest.SendFailed as error:
        code, message, status = DELIVERY_FAILED
        raise APIError(code, f"{message}: {error}", status) from None
    return {"Success": True, "DomainID": int(row["DomainID"]), "SenderDomain": domain, "To": to,
            "Subject": subject, "MessageID": mid}
