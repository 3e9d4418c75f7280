"""Every example of seed 000, reproduced as a whole body."""
import re

import pytest

from conftest import Accounts, Api
from helpers import insert_domain

TRACKING = "tracking-host.octeth.example."


def error(code, message):
    return {"Success": False, "ErrorCode": [code], "ErrorText": [message], "Errors": [{"Code": code, "Message": message}]}


def test_create_example(api, user):
    status, body = api.create(Command="user.senderdomain.create", SenderDomain="example.com", LinkTracking=True,
                              OpenTracking=True, UnsubscribeLink=False)
    assert status == 200
    created = body["SenderDomain"]["CreatedAt"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", created)
    domain_id = body["DomainID"]
    assert isinstance(domain_id, int)
    assert body == {
        "Success": True,
        "DomainID": domain_id,
        "SenderDomain": {
            "DomainID": str(domain_id),
            "SenderDomain": "example.com",
            "UserID": str(user["UserID"]),
            "CreatedAt": created,
            "Status": "Approval Pending",
            "VerificationMeta": {
                "DNSRecords": {
                    "sl.example.com": ["CNAME", TRACKING],
                    "track-sl.example.com": ["CNAME", TRACKING],
                }
            },
            "PolicyMeta": [],
            "Options": {"LinkTracking": 1, "OpenTracking": 1, "UnsubscribeLink": 0},
        },
    }


def test_get_example(domain_app, api, user):
    options = {"LinkTracking": 1, "OpenTracking": 1, "UnsubscribeLink": 0, "CustomSubdomain": "sl",
               "CustomTrackPrefix": "track", "TrackPrefixDisabled": False}
    domain_id = insert_domain(domain_app, user["UserID"], "example.com",
                              records={"sl.example.com": ["CNAME", TRACKING, True]}, options=options)
    status, body = api.get(DomainID=domain_id)
    assert status == 200
    assert body == {
        "Success": True,
        "SenderDomain": {
            "DomainID": str(domain_id),
            "SenderDomain": "example.com",
            "UserID": str(user["UserID"]),
            "CreatedAt": "2026-04-25 22:54:00",
            "Status": "Enabled",
            "LastVerifiedAt": None,
            "VerificationMeta": {"DNSRecords": {"sl.example.com": ["CNAME", TRACKING, True]}},
            "PolicyMeta": [],
            "Options": options,
            # Octeth v5.9.4's operational fields, after Options (no stats yet).
            "Volume7d": 0, "VolumeDelta": None, "Reputation": None, "ReputationBucket": None,
            "DeliveryRate": None, "BounceRate": None,
        },
    }


def test_update_example(api, user):
    _, created = api.create(SenderDomain="example.com")
    domain_id = created["DomainID"]
    status, body = api.update(Command="user.senderdomain.update", DomainID=domain_id, CustomSubdomain="em",
                              UseTrackingSubdomain=True)
    assert status == 200
    assert body == {
        "Success": True,
        "DnsRegenerated": True,
        "SenderDomain": {
            "DomainID": str(domain_id),
            "SenderDomain": "example.com",
            "UserID": str(user["UserID"]),
            "CreatedAt": created["SenderDomain"]["CreatedAt"],
            "Status": "Approval Pending",
            "VerificationMeta": {
                "DNSRecords": {
                    "em.example.com": ["CNAME", TRACKING],
                    "track-em.example.com": ["CNAME", TRACKING],
                }
            },
            "PolicyMeta": [],
            "Options": {"LinkTracking": 1, "OpenTracking": 1, "UnsubscribeLink": 0, "CustomSubdomain": "em",
                        "TrackPrefixDisabled": False},
        },
    }


def test_update_error_example(api):
    _, created = api.create(SenderDomain="example.com")
    status, body = api.update(DomainID=created["DomainID"], CustomSubdomain="-bad-")
    assert (status, body) == (200, error(
        6, "Invalid CustomSubdomain. Letters, digits, and hyphens only; max 32 chars; no leading/trailing hyphens"))


def test_delete_example(api):
    _, created = api.create(SenderDomain="example.com")
    assert api.delete(DomainID=created["DomainID"]) == (200, {"Success": True})
    assert api.get(DomainID=created["DomainID"]) == (200, error(2, "Sender domain not found"))


def test_verify_example(api, dns):
    _, created = api.create(SenderDomain="example.com")
    dns.set_record("sl.example.com", "CNAME", TRACKING)
    dns.set_record("track-sl.example.com", "CNAME", TRACKING)
    status, body = api.verify(Command="user.senderdomain.verify", DomainID=created["DomainID"])
    assert status == 200
    # The explanations travel under keys of their own beside the seed's (tests/test_diagnostics.py).
    assert set(body.pop("Diagnostics")) == {"sl.example.com", "track-sl.example.com"}
    assert set(body.pop("Health")) == {"DMARC", "SPF"}
    assert body == {
        "Success": True,
        "DomainID": created["DomainID"],
        "IsVerified": True,
        "Status": "Enabled",
        "DNSRecords": {
            "sl.example.com": ["CNAME", TRACKING, True],
            "track-sl.example.com": ["CNAME", TRACKING, True],
        },
    }


def test_dns_example(domain_app, api, user):
    domain_id = insert_domain(domain_app, user["UserID"], "example.com", records={
        "sl.example.com": ["CNAME", TRACKING, True], "track-sl.example.com": ["CNAME", TRACKING]})
    status, body = api.dns(DomainID=domain_id)
    assert status == 200
    assert {host: entry["Reason"] for host, entry in body.pop("Diagnostics").items()} == {
        "sl.example.com": "unchecked", "track-sl.example.com": "unchecked"}
    assert body.pop("Health") is None  # never probed
    assert body == {
        "Success": True,
        "DomainID": domain_id,
        "SenderDomain": "example.com",
        "DNSRecords": {
            "sl.example.com": {"Type": "CNAME", "Value": TRACKING, "IsVerified": True},
            "track-sl.example.com": {"Type": "CNAME", "Value": TRACKING, "IsVerified": None},
        },
    }


def test_list_auth_error_example(domain_app):
    response = domain_app.test_client().get("/api/v1/user.senderdomains", query_string={"APIKey": "your-api-key"})
    assert response.get_json()["Errors"] == [{"Code": 0, "Message": "Authentication failed"}]


@pytest.mark.parametrize("command", ["get", "update", "delete", "verify", "dns"])
def test_missing_and_unknown_domain_id(api, command):
    call = getattr(api, command)
    assert call() == (200, error(1, "Missing DomainID parameter"))
    assert call(DomainID=987654) == (200, error(2, "Sender domain not found"))


def test_create_error_codes(domain_app, api):
    assert api.create() == (200, error(1, "Missing SenderDomain parameter"))
    assert api.create(SenderDomain="localhost") == (200, error(4, "localhost is not a valid sender domain"))
    assert api.create(SenderDomain="LocalHost.") == (200, error(4, "localhost is not a valid sender domain"))
    label_error = error(6, "Invalid CustomTrackPrefix. Letters, digits, and hyphens only; max 32 chars; "
                           "no leading/trailing hyphens")
    assert api.create(SenderDomain="a.example", CustomTrackPrefix="x" * 33) == (200, label_error)
    for bad in ["not a domain", "-x.example", "example", "a..example", "x" * 64 + ".example", "192.0.2.1"]:
        status, answer = api.create(SenderDomain=bad)
        # The seed's entry, plus the Reason SPEC allows beside Code and Message (which rule was broken).
        assert answer["Errors"][0].pop("Reason"), bad
        assert (status, answer) == (400, error(7, "Sender domain create process failed")), bad
    limited = Accounts(domain_app).user(sender_domain_limit=1)
    limited_api = Api(domain_app, limited["APIKey"])
    assert limited_api.create(SenderDomain="one.example")[0] == 200
    assert limited_api.create(SenderDomain="two.example") == (403, error(5, "Sender domain limit reached for your account"))
