"""One real test message from a sender domain (``user.senderdomain.sendtest``), through the SMTP
relay of ``OCTETH_SMTP_URL``.

The message shows the three names that matter when a sender domain is being debugged: the From
address (``<prefix>@<domain>``), the return-path host the envelope sender (MAIL FROM) is at
(``<subdomain>.<domain>``), and the tracking host, with one link through it. A recipient who
receives it, and whose client follows the link, has seen all three work outside a campaign.
"""
from __future__ import annotations

import secrets
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
TIMEOUT = 15.0


class SendFailed(Exception):
    """The relay refused the message, could not be reached, or none is configured. The message
    is meant for the user (it never holds the relay's password)."""


@dataclass(frozen=True)
class Relay:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None


def parse_relay(url: str) -> Relay:
    """``smtp://[user:pass@]host[:port]``, ``smtps://…`` or ``smtp+starttls://…``; ValueError
    for anything else."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError("must start with smtp://, smtps:// or smtp+starttls://")
    if not parts.hostname:
        raise ValueError("names no host")
    try:
        port = parts.port or SCHEMES[scheme]
    except ValueError:
        raise ValueError("has no valid port") from None
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return Relay(scheme, parts.hostname, port, username, password)


@dataclass(frozen=True)
class Hosts:
    from_address: str
    return_path: str
    tracking: str


def hosts_of(domain: str, options: dict, prefix: str, subdomain: str, track_prefix: str, track_merge: str) -> Hosts:
    """The From address, return-path host and tracking host of a sender domain, as its records
    name them (SPEC §5's placeholders)."""
    label = options.get("CustomSubdomain") or subdomain
    return_path = f"{label}.{domain}"
    if options.get("TrackPrefixDisabled"):
        tracking = return_path
    else:
        tracking = f"{options.get('CustomTrackPrefix') or track_prefix}{track_merge}{return_path}"
    return Hosts(f"{prefix}@{domain}", return_path, tracking)


def message_id() -> str:
    """An id in Octeth's form (``senderdomaintest_<13 hex>.<8 digits>``)."""
    return f"senderdomaintest_{secrets.token_hex(7)[:13]}.{secrets.randbelow(10**8):08d}"


def build(domain: str, hosts: Hosts, to: str, subject: str, mid: str, mail_from: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = hosts.from_address
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(time.time(), usegmt=True)
    message["Message-ID"] = f"<{mid}@{domain}>"
    message.set_content(
        f"This is a test message from the sender domain {domain}.\n"
        "\n"
        f"From address:     {hosts.from_address}\n"
        f"Return-path host: {hosts.return_path} (envelope sender {mail_from})\n"
        f"Tracking host:    {hosts.tracking}\n"
        "\n"
        "This link goes through the tracking host; if it opens, the tracking record works:\n"
        f"http://{hosts.tracking}/?test={mid}\n"
    )
    return message


def send(relay_url: str | None, message: EmailMessage, mail_from: str, to: str) -> None:
    """Hand ``message`` to the relay for ``to``, with ``mail_from`` as the envelope sender."""
    if not relay_url:
        raise SendFailed("no SMTP relay is configured (OCTETH_SMTP_URL)")
    relay = parse_relay(relay_url)  # checked at start-up (config.py)
    where = f"{relay.host}:{relay.port}"
    try:
        if relay.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(relay.host, relay.port, timeout=TIMEOUT,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(relay.host, relay.port, timeout=TIMEOUT)
        with client:
            if relay.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if relay.username is not None:
                client.login(relay.username, relay.password or "")
            client.send_message(message, from_addr=mail_from, to_addrs=[to])
    except smtplib.SMTPRecipientsRefused as error:
        code, text = next(iter(error.recipients.values()))
        raise SendFailed(f"the relay {where} refused the recipient: {code} {_text(text)}") from None
    except smtplib.SMTPResponseException as error:
        raise SendFailed(f"the relay {where} refused the message: {error.smtp_code} {_text(error.smtp_error)}") from None
    except smtplib.SMTPException as error:
        raise SendFailed(f"the relay {where} failed: {_smtp_failure(error)}") from None
    except ssl.SSLError as error:
        said = getattr(error, "verify_message", None) or error.reason
        raise SendFailed(f"TLS with the relay {where} failed: {said or 'the handshake did not complete'}") from None
    except (OSError, TimeoutError) as error:
        reason = "connection refused" if isinstance(error, ConnectionRefusedError) else (
            "timed out" if isinstance(error, TimeoutError) else (error.strerror or "a network error").lower())
        raise SendFailed(f"the relay {where} could not be reached: {reason}") from None


def _smtp_failure(error: smtplib.SMTPException) -> str:
    """What went wrong, in words; never the exception's class name, which tells a user nothing."""
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return "it closed the connection"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        # smtplib names the extension that is missing (SMTPUTF8, STARTTLS, AUTH) in a sentence.
        return f"it does not offer what this message needs: {str(error).rstrip('.')}"
    return "it answered in a way this service could not use"


def _text(value: bytes | str) -> str:
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)).strip()
