"""Rows of an unexpected shape (migrated from the PHP product, or written by hand): every command
and the domain's page answer them without a 5xx, and the row stays, with what the service could
not read still in it. A record entry the service cannot read is absent to it; a label that is not
text, or Options that are not an object, is the default. Well-formed rows are answered as they
always were (the seed's whole-body tests)."""
from __future__ import annotations

import json

import pytest

from conftest import Accounts, Api
from helpers import insert_domain
from test_web import Visitor, checkboxes, flashes, text

ZONE = "shape.example"
TRACKING = "tracking-host.octeth.example."

# Entries of DNSRecords that are not [type, value] or [type, value, flag] with a type verify checks.
ODD_RECORDS = {
    "a string": "CNAME",
    "numbers": [5, 6],
    "one item": ["CNAME"],
    "an object": {"Type": "CNAME", "Value": TRACKING},
    "null": None,
    "value not text": ["CNAME", 5],
    "type unknown": ["SRV", "0 5 5060 sip.example."],
    "four items": ["CNAME", TRACKING, True, "extra"],
}
# VerificationMeta, or its DNSRecords, of another shape.
ODD_METAS = {
    "meta a list": ["a"],
    "meta a string": "a",
    "records a list": {"DNSRecords": [["CNAME", TRACKING]]},
    "records a string": {"DNSRecords": "CNAME"},
}
ODD_OPTIONS = {
    "subdomain a number": {"LinkTracking": 1, "OpenTracking": 1, "CustomSubdomain": 5},
    "prefix a number": {"LinkTracking": 1, "CustomTrackPrefix": 7},
    "subdomain a list": {"CustomSubdomain": ["em"]},
    "prefix an object": {"CustomTrackPrefix": {"a": 1}},
    "a list": ["a"],
    "a string": "a",
    "a number": 5,
}
ODD = "odd"  # the host label of the odd record entry, in front of the domain

SHAPES = {
    **{f"record {name} beside good ones": ("VerificationMeta", item, True) for name, item in ODD_RECORDS.items()},
    **{f"record {name} alone": ("VerificationMeta", item, False) for name, item in ODD_RECORDS.items()},
    **{name: ("VerificationMeta", meta, None) for name, meta in ODD_METAS.items()},
    **{f"options {name}": ("Options", options, None) for name, options in ODD_OPTIONS.items()},
}
COMMANDS = ("get", "list", "update", "update labels", "verify", "verify all", "dns", "dnshost", "delete", "page",
            "settings form")
WRITES = ("update", "update labels", "verify", "verify all", "page", "settings form")  # may rewrite the row


def _store(app, domain_id, column, value):
    with app.extensions["octeth_db"].session() as db:
        db.execute(f"UPDATE {{p}}sender_domains SET {column} = ? WHERE DomainID = ?", (json.dumps(value), domain_id))


def _row(app, domain_id):
    with app.extensions["octeth_db"].session() as db:
        return db.one("SELECT Status, VerificationMeta, Options FROM {p}sender_domains WHERE DomainID = ?",
                      (domain_id,))


def _well_formed(record):
    return (isinstance(record, list) and len(record) in (2, 3) and record[0] in ("CNAME", "TXT")
            and isinstance(record[1], str) and (len(record) == 2 or record[2] is None or isinstance(record[2], bool)))


def _records_of(domain):
    meta = domain["VerificationMeta"]
    records = meta.get("DNSRecords", {}) if isinstance(meta, dict) else {}
    return records or {}  # the PHP product's empty map is []


def _shape_row(app, api, domain, column, value, beside):
    _, created = api.create(SenderDomain=domain)
    domain_id = created["DomainID"]
    good = created["SenderDomain"]["VerificationMeta"]["DNSRecords"]
    if beside is not None:  # an odd entry of DNSRecords, beside the domain's records or alone
        value = {"DNSRecords": {**(good if beside else {}), f"{ODD}.{domain}": value}}
    _store(app, domain_id, column, value)
    return domain_id, good


def _call(app, user, api, command, domain_id):
    if command == "get":
        return api.get(DomainID=domain_id)
    if command == "list":
        return api.list()
    if command == "update":
        return api.update(DomainID=domain_id, LinkTracking=0)
    if command == "update labels":
        return api.update(DomainID=domain_id, CustomSubdomain="em")
    if command == "verify":
        return api.verify(DomainID=domain_id)
    if command == "verify all":
        return api.verify(VerifyAll=1)
    if command == "dns":
        return api.dns(DomainID=domain_id)
    if command == "dnshost":
        response = app.test_client().get("/api/v1/user.senderdomain.dnshost",
                                         query_string={"APIKey": user["APIKey"], "DomainID": domain_id})
        return response.status_code, response.get_json()
    if command == "delete":
        return api.delete(DomainID=domain_id)
    visitor = Visitor(app)
    visitor.sign_in(user)
    if command == "page":
        response = visitor.get(f"/{domain_id}")
        return response.status_code, {"Success": response.status_code == 200, "Page": text(response)}
    # The settings form sent back as the page shows it, one switch changed; a refusal would be a
    # message on the page it leads back to.
    form = {"OpenTracking": "1", "UseTrackingSubdomain": "1", "checkboxes": checkboxes(text(visitor.get(f"/{domain_id}")))}
    response = visitor.post(f"/{domain_id}/settings", form)
    shown = visitor.get(f"/{domain_id}")
    return max(response.status_code, shown.status_code), {"Success": "Saved." in flashes(text(shown))}


def _check_answer(command, body, domain_id, domain, good):
    """What each command says of a domain whose odd parts are absent, or the default."""
    odd_host = f"{ODD}.{domain}"
    if command in ("get", "list"):
        domains = body["SenderDomains"] if command == "list" else [body["SenderDomain"]]
        (shown,) = [item for item in domains if item["DomainID"] == str(domain_id)]
        options = shown["Options"]
        assert options == [] or isinstance(options, dict)
        assert all(isinstance(options[name], str) for name in ("CustomSubdomain", "CustomTrackPrefix") if name in options)
        assert shown["VerificationMeta"] == [] or isinstance(shown["VerificationMeta"], dict)
        assert isinstance(_records_of(shown), dict) and all(map(_well_formed, _records_of(shown).values()))
    elif command in ("update", "update labels"):
        records = _records_of(body["SenderDomain"])
        assert all(map(_well_formed, records.values())) and odd_host not in records
        assert body["DnsRegenerated"] is (command == "update labels")
        if command == "update labels":
            assert set(records) == {f"em.{domain}", f"track-em.{domain}"}
    elif command == "verify":
        assert all(map(_well_formed, body["DNSRecords"].values()))
        assert odd_host not in body["DNSRecords"] and set(body["Diagnostics"]) == set(body["DNSRecords"])
    elif command == "dns":
        # The stored records, or (none readable) the ones to publish.
        assert set(body["DNSRecords"]) == set(good)
        assert all(record["Type"] == "CNAME" and record["IsVerified"] in (True, False, None)
                   for record in body["DNSRecords"].values())
    elif command == "page":
        assert domain in body["Page"]


@pytest.mark.parametrize("shape", SHAPES)
def test_every_command_answers_a_row_of_an_odd_shape_and_keeps_it(domain_app, dns, shape):
    column, value, beside = SHAPES[shape]
    user = Accounts(domain_app).user()
    api = Api(domain_app, user["APIKey"])
    dns.add_zone(ZONE)
    for number, command in enumerate(COMMANDS):
        domain = f"d{number}.{ZONE}"
        domain_id, good = _shape_row(domain_app, api, domain, column, value, beside)
        for host, (kind, target) in good.items():
            dns.add_record(host, kind, target)
        before = _row(domain_app, domain_id)

        status, body = _call(domain_app, user, api, command, domain_id)

        assert status < 500 and body["Success"] is True, (command, body)
        _check_answer(command, body, domain_id, domain, good)
        after = _row(domain_app, domain_id)
        assert after["Status"] == "Deleted" if command == "delete" else after["Status"] != "Deleted"
        if command not in WRITES:
            assert (after["VerificationMeta"], after["Options"]) == (before["VerificationMeta"], before["Options"]), command
        elif command != "update labels":
            # What the service could not read is still there for whoever can (nothing stored is lost).
            stored = json.loads(after[column])
            if beside is not None:
                assert stored["DNSRecords"][f"{ODD}.{domain}"] == value, command
            elif column == "Options" and isinstance(value, dict):
                assert {key: stored.get(key) for key in value if key.startswith("Custom")} == \
                       {key: item for key, item in value.items() if key.startswith("Custom")}, command


@pytest.mark.parametrize("flag", ["yes", "true", 1, 0, 0.0, [True], {"a": 1}])
def test_a_flag_that_is_not_a_boolean_reads_as_not_verified_until_verify_probes_it(domain_app, dns, flag):
    user = Accounts(domain_app).user()
    api = Api(domain_app, user["APIKey"])
    dns.add_zone(ZONE)
    domain = f"flag.{ZONE}"
    domain_id, good = _shape_row(domain_app, api, domain, "VerificationMeta", None, None)
    _store(domain_app, domain_id, "VerificationMeta", {"DNSRecords": {host: [*record, flag] for host, record in good.items()}})

    _, shown = api.get(DomainID=domain_id)
    # Compared by identity: 0 == False, and get must answer False as the commands read it.
    assert all(entry[2] is False for entry in _records_of(shown["SenderDomain"]).values())
    assert _records_of(shown["SenderDomain"]) == {host: [*record, False] for host, record in good.items()}
    _, listed = api.dns(DomainID=domain_id)
    assert all(record["IsVerified"] is False for record in listed["DNSRecords"].values())
    assert api.update(DomainID=domain_id, Status="Enabled")[1]["Errors"][0]["Code"] == 10

    for host, (kind, target) in good.items():
        dns.add_record(host, kind, target)
    _, verified = api.verify(DomainID=domain_id)
    assert verified["IsVerified"] is True and verified["Status"] == "Enabled"
    assert set(verified["DNSRecords"]) == set(good)
    assert json.loads(_row(domain_app, domain_id)["VerificationMeta"]) == {
        "DNSRecords": {host: [*record, True] for host, record in good.items()}}


def test_a_null_label_is_answered_as_stored(domain_app):
    # The PHP product may write a label as null: no label, and get/list keep it as they found it.
    user = Accounts(domain_app).user()
    options = {"LinkTracking": 1, "OpenTracking": 1, "CustomSubdomain": None, "CustomTrackPrefix": None}
    domain_id = insert_domain(domain_app, user["UserID"], "null-labels.example", options=options)
    _, shown = Api(domain_app, user["APIKey"]).get(DomainID=domain_id)
    assert shown["SenderDomain"]["Options"] == options
