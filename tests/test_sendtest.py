"""user.senderdomain.sendtest (Octeth v5.9.4) through a real SMTP server (aiosmtpd) on loopback."""
from __future__ import annotations

import email
import email.policy
import re
import threading

import pytest
from aiosmtpd.controller import Controller

from conftest import Accounts
from helpers import free_port, insert_domain


class Relay:
    """An SMTP server that keeps what it receives, or refuses every recipient."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.received: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "550 5.7.1 Relaying denied"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


@pytest.fixture
def relay():
    handler = Relay()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.url = f"smtp://127.0.0.1:{controller.port}"
    yield handler
    controller.stop()


@pytest.fixture
def ascii_relay():
    """A relay that does not offer SMTPUTF8 (aiosmtpd's Controller offers it unless told not to)."""
    handler = Relay()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=False)
    controller.start()
    handler.url = f"smtp://127.0.0.1:{controller.port}"
    yield handler
    controller.stop()


def _send(app, user, **params):
    response = app.test_client().post("/api/v1/user.senderdomain.sendtest", json={"APIKey": user["APIKey"], **params})
    return response.status_code, response.get_json()


def _code(body):
    return body["Errors"][0]["Code"]


def test_the_message_arrives_as_documented(make_app, relay):
    app = make_app(OCTETH_SMTP_URL=relay.url)
    user = Accounts(app).user()
    domain_id = insert_domain(app, user["UserID"], "example.com")
    status, body = _send(app, user, DomainID=domain_id, to="ops@inbox.example")
    assert status == 200, body
    assert re.fullmatch(r"senderdomaintest_[0-9a-f]{13}\.\d{8}", body["MessageID"])
    assert body == {"Success": True, "DomainID": domain_id, "SenderDomain": "example.com", "To": "ops@inbox.example",
                    "Subject": "Sender domain test from example.com", "MessageID": body["MessageID"]}
    [(mail_from, rcpt, message)] = relay.received
    assert mail_from == "test@sl.example.com"  # at the return-path host
    assert rcpt == ["ops@inbox.example"]
    assert message["From"] == "test@example.com" and message["Subject"] == "Sender domain test from example.com"
    assert message["Message-ID"] == f"<{body['MessageID']}@example.com>"
    text = message.get_content()
    for name in ("test@example.com", "sl.example.com", "track-sl.example.com"):
        assert name in text
    assert re.findall(r"https?://[^\s]+", text) == [f"http://track-sl.example.com/?test={body['MessageID']}"]


def test_own_labels_prefix_and_subject(make_app, relay):
    app = make_app(OCTETH_SMTP_URL=relay.url, OCTETH_SENDTEST_FROM_PREFIX="hello")
    user = Accounts(app).user()
    domain_id = insert_domain(app, user["UserID"], "example.com", options={
        "LinkTracking": 1, "OpenTracking": 1, "UnsubscribeLink": 0, "CustomSubdomain": "em", "CustomTrackPrefix": "go"})
    status, body = _send(app, user, DomainID=domain_id, to="ops@inbox.example", subject="Line one\r\nBcc: x@evil.example")
    assert status == 200 and body["Subject"] == "Line one Bcc: x@evil.example"
    [(mail_from, rcpt, message)] = relay.received
    assert (mail_from, message["From"], rcpt) == ("hello@em.example.com", "hello@example.com", ["ops@inbox.example"])
    assert message["Bcc"] is None and "http://go-em.example.com/" in message.get_content()


def test_the_legacy_door(make_app, relay):
    app = make_app(OCTETH_SMTP_URL=relay.url)
    user = Accounts(app).user()
    domain_id = insert_domain(app, user["UserID"], "example.com")
    response = app.test_client().post("/api.php", data={
        "Command": "user.senderdomain.sendtest", "APIKey": user["APIKey"], "DomainID": domain_id, "to": "a@inbox.example"})
    assert response.get_json()["Success"] is True and len(relay.received) == 1


@pytest.mark.parametrize("params, code", [
    ({}, 1),
    ({"to": "a@inbox.example"}, 1),
    ({"DomainID": "own"}, 3),
    ({"DomainID": "own", "to": ""}, 3),
    ({"DomainID": "own", "to": "not-an-address"}, 8),
    ({"DomainID": "own", "to": "a@b@inbox.example"}, 8),
    ({"DomainID": "own", "to": "Name <a@inbox.example>"}, 8),
    ({"DomainID": "own", "to": ["a@inbox.example"]}, 8),
    ({"DomainID": "own", "to": "a@inbox.example\r\nBcc: b@x.example"}, 8),
    ({"DomainID": 999999, "to": "a@inbox.example"}, 2),
    ({"DomainID": "theirs", "to": "a@inbox.example"}, 2),
])
def test_codes(make_app, relay, params, code):
    app = make_app(OCTETH_SMTP_URL=relay.url)
    user, other = Accounts(app).user(), Accounts(app).user()
    ids = {"own": insert_domain(app, user["UserID"], "example.com"),
           "theirs": insert_domain(app, other["UserID"], "other.example")}
    params = {k: ids.get(v, v) if k == "DomainID" else v for k, v in params.items()}
    status, body = _send(app, user, **params)
    assert (status, _code(body)) == (200, code), body
    assert relay.received == []


@pytest.mark.parametrize("setting", ["refusing", "unreachable", "none"])
def test_a_relay_that_cannot_take_it_is_11_with_502(make_app, relay, setting):
    relay.refuse = True
    url = {"refusing": relay.url, "unreachable": f"smtp://127.0.0.1:{free_port()}", "none": ""}[setting]
    app = make_app(OCTETH_SMTP_URL=url)
    user = Accounts(app).user()
    domain_id = insert_domain(app, user["UserID"], "example.com")
    status, body = _send(app, user, DomainID=domain_id, to="a@inbox.example")
    assert (status, _code(body)) == (502, 11), body
    reason = {"refusing": "550 5.7.1 Relaying denied", "unreachable": "could not be reached",
              "none": "no SMTP relay is configured"}[setting]
    assert body["Errors"][0]["Message"].startswith("Test message delivery failed: ") and reason in body["Errors"][0]["Message"]


def test_the_relay_password_is_never_shown(make_app, relay):
    port = free_port()
    app = make_app(OCTETH_SMTP_URL=f"smtp://mailer:S3cretRelayPw@127.0.0.1:{port}")
    user = Accounts(app).user()
    domain_id = insert_domain(app, user["UserID"], "example.com")
    status, body = _send(app, user, DomainID=domain_id, to="a@inbox.example")
    assert status == 502 and "S3cretRelayPw" not in str(body)


def test_an_eleventh_call_in_five_minutes_is_429(make_app, relay):
    app = make_app(OCTETH_SMTP_URL=relay.url)
    user, other = Accounts(app).user(), Accounts(app).user()
    domain_id = insert_domain(app, user["UserID"], "example.com")
    for _ in range(10):
        assert _send(app, user, DomainID=domain_id, to="a@inbox.example")[0] == 200
    response = app.test_client().post("/api/v1/user.senderdomain.sendtest",
                                      json={"APIKey": user["APIKey"], "DomainID": domain_id, "to": "a@inbox.example"})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 60
    assert len(relay.received) == 10
    # Per user and per command: the others' calls and this user's other commands go on.
    assert _send(app, other, DomainID=domain_id, to="a@inbox.example")[1]["Errors"][0]["Code"] == 2
    listed = app.test_client().get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"]})
    assert listed.status_code == 200


def test_demo_mode_is_99_with_403(make_app, relay):
    app = make_app(OCTETH_SMTP_URL=relay.url, OCTETH_DEMO_MODE="1")
    user = Accounts(app).user()
    domain_id = insert_domain(app, user["UserID"], "example.com")
    status, body = _send(app, user, DomainID=domain_id, to="a@inbox.example")
    assert (status, _code(body)) == (403, 99) and relay.received == []


def test_a_relay_url_that_cannot_work_is_refused_at_start(make_env):
    from octeth_domains import create_app
    from octeth_domains.config import ConfigError

    with pytest.raises(ConfigError, match="OCTETH_SMTP_URL"):
        create_app(make_env(OCTETH_SMTP_URL="http://relay.example"))


@pytest.mark.parametrize("to", ["ops@b\u00fccher.example", "ops@xn--bcher-kva.example", "OPS@B\u00dcCHER.example"])
def test_an_internationalised_domain_is_sent_in_punycode_to_a_relay_without_smtputf8(make_app, ascii_relay, to):
    relay = ascii_relay
    app = make_app(OCTETH_SMTP_URL=relay.url)
    user = Accounts(app).user()
    domain_id = insert_domain(app, user["UserID"], "example.com")
    status, body = _send(app, user, DomainID=domain_id, to=to)
    assert status == 200, body
    assert body["To"].lower() == "ops@b\u00fccher.example"  # shown as a person writes it
    [(_, rcpt, message)] = relay.received
    assert [address.lower() for address in rcpt] == ["ops@xn--bcher-kva.example"]
    assert message["To"].lower() == "ops@xn--bcher-kva.example"


def test_a_local_part_outside_ascii_needs_smtputf8_and_says_so_in_words(make_app, relay, ascii_relay):
    app = make_app(OCTETH_SMTP_URL=ascii_relay.url)
    user = Accounts(app).user()
    domain_id = insert_domain(app, user["UserID"], "example.com")
    status, body = _send(app, user, DomainID=domain_id, to="\u00e9l\u00e8ve@b\u00fccher.example")
    assert (status, _code(body)) == (502, 11), body
    message = body["Errors"][0]["Message"]
    assert "SMTPUTF8" in message and not re.search(r"[A-Z][a-z]+(Error|Exception)\b", message), message
    app = make_app(OCTETH_SMTP_URL=relay.url)  # one that offers SMTPUTF8
    user = Accounts(app).user()
    domain_id = insert_domain(app, user["UserID"], "example.com")
    status, body = _send(app, user, DomainID=domain_id, to="\u00e9l\u00e8ve@b\u00fccher.example")
    assert status == 200, body
    [(_, rcpt, _)] = relay.received
    assert rcpt == ["\u00e9l\u00e8ve@b\u00fccher.example"]


def test_a_relay_that_hangs_up_is_said_in_words(make_app):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def hang_up():
        connection, _ = listener.accept()
        connection.sendall(b"220 relay.example ESMTP\r\n")
        connection.recv(1024)
        connection.close()  # gone after the EHLO

    threading.Thread(target=hang_up, daemon=True).start()
    app = make_app(OCTETH_SMTP_URL=f"smtp://127.0.0.1:{listener.getsockname()[1]}")
    user = Accounts(app).user()
    domain_id = insert_domain(app, user["UserID"], "example.com")
    status, body = _send(app, user, DomainID=domain_id, to="a@inbox.example")
    listener.close()
    message = body["Errors"][0]["Message"]
    assert (status, _code(body)) == (502, 11) and "closed the connection" in message, body
    assert not re.search(r"[A-Z][a-z]+(Error|Exception|Disconnected)\b", message), message
