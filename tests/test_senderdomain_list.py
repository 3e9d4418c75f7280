"""user.senderdomain.list end to end: door, auth, SQL, the seed's shape."""
from helpers import body, insert_domain

SEED_LIST_EXAMPLE = {
    "Success": True,
    "SenderDomains": [
        {
            "DomainID": "12",
            "SenderDomain": "example.com",
            "UserID": "1",
            "CreatedAt": "2026-04-25 22:54:00",
            "Status": "Enabled",
            "VerificationMeta": {
                "DNSRecords": {"sl.example.com": ["CNAME", "tracking-host.octeth.example.", True]}
            },
            "PolicyMeta": [],
            "Options": {
                "LinkTracking": 1,
                "OpenTracking": 1,
                "UnsubscribeLink": 0,
                "CustomSubdomain": "sl",
                "CustomTrackPrefix": "track",
                "TrackPrefixDisabled": False,
            },
        }
    ],
}


def test_list_reproduces_the_seed_example(client, accounts, app):
    user = accounts.user()
    seed = SEED_LIST_EXAMPLE["SenderDomains"][0]
    domain_id = insert_domain(app, user["UserID"], "example.com", records=seed["VerificationMeta"]["DNSRecords"],
                              options=seed["Options"])
    expected = {**SEED_LIST_EXAMPLE, "SenderDomains": [{**seed, "DomainID": str(domain_id), "UserID": str(user["UserID"])}]}
    response = client.get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"]})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert body(response) == expected
    # Key order is part of what legacy clients see.
    assert list(body(response)["SenderDomains"][0]) == list(seed)


def test_list_shows_only_the_callers_domains_that_are_not_deleted(client, accounts, app):
    alice, bob = accounts.user(), accounts.user()
    first = insert_domain(app, alice["UserID"], "a.example")
    insert_domain(app, alice["UserID"], "gone.example", status="Deleted")
    insert_domain(app, bob["UserID"], "b.example")
    second = insert_domain(app, alice["UserID"], "c.example", status="Approval Pending")
    data = body(client.get("/api/v1/user.senderdomains", query_string={"APIKey": alice["APIKey"]}))
    assert [(d["DomainID"], d["SenderDomain"]) for d in data["SenderDomains"]] == [
        (str(first), "a.example"), (str(second), "c.example")]
    assert all(d["UserID"] == str(alice["UserID"]) for d in data["SenderDomains"])


def test_an_empty_list(client, accounts):
    user = accounts.user()
    assert body(client.get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"]})) == {
        "Success": True, "SenderDomains": []}


def test_empty_metas_are_empty_lists_as_php_encoded_them(client, accounts, app):
    user = accounts.user()
    insert_domain(app, user["UserID"], "bare.example", records={}, options={})
    with app.extensions["octeth_db"].session() as db:
        db.execute("UPDATE {p}sender_domains SET VerificationMeta = '[]'")
    domain = body(client.get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"]}))["SenderDomains"][0]
    assert (domain["VerificationMeta"], domain["PolicyMeta"], domain["Options"]) == ([], [], [])


def test_list_of_many_domains(client, accounts, app):
    user = accounts.user()
    with app.extensions["octeth_db"].session() as db:
        for n in range(300):
            db.execute(
                "INSERT INTO {p}sender_domains (SenderDomain, RelUserID, CreatedAt, Status, VerificationMeta,"
                " PolicyMeta, Options) VALUES (?, ?, '2026-01-01 00:00:00', 'Enabled', '{}', '[]', '{}')",
                (f"d{n}.example", user["UserID"]),
            )
    data = body(client.get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"]}))
    assert len(data["SenderDomains"]) == 300
    assert [d["SenderDomain"] for d in data["SenderDomains"][:2]] == ["d0.example", "d1.example"]
