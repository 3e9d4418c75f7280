"""user.senderdomain.list end to end: door, auth, SQL, the seed's shape."""
from conftest import Accounts
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
            "LastVerifiedAt": None,
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


# Octeth v5.9.4's operational fields, after Options, for a domain without stats.
NO_STATS = {"Volume7d": 0, "VolumeDelta": None, "Reputation": None, "ReputationBucket": None,
            "DeliveryRate": None, "BounceRate": None}


def test_list_reproduces_the_seed_example(client, accounts, app):
    user = accounts.user()
    seed = {**SEED_LIST_EXAMPLE["SenderDomains"][0], **NO_STATS}
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


def _listed(client, user):
    data = body(client.get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"]}))
    return {d["SenderDomain"]: d["Status"] for d in data["SenderDomains"]}


def test_a_kept_list_follows_every_write_made_by_another_instance(make_app, accounts):
    """Each process keeps the lists it rendered; a write through any other one shows at once."""
    reader, writer = make_app(), make_app()
    user = Accounts(reader).user()
    first = insert_domain(reader, user["UserID"], "a.example")
    reading, writing = reader.test_client(), writer.test_client()
    assert _listed(reading, user) == {"a.example": "Enabled"}
    key = {"APIKey": user["APIKey"]}

    assert body(writing.patch("/api/v1/user.senderdomain", json={**key, "DomainID": first, "Status": "Disabled"}))["Success"]
    assert _listed(reading, user) == {"a.example": "Disabled"}
    created = body(writing.post("/api/v1/user.senderdomain", json={**key, "SenderDomain": "b.example"}))
    assert _listed(reading, user) == {"a.example": "Disabled", "b.example": "Approval Pending"}
    assert body(writing.delete("/api/v1/user.senderdomain", query_string={**key, "DomainID": first}))["Success"]
    assert _listed(reading, user) == {"b.example": "Approval Pending"}
    # Revived: the same row comes back (same DomainID, so only its Revision says it changed).
    assert body(writing.post("/api/v1/user.senderdomain", json={**key, "SenderDomain": "a.example"}))["Success"]
    assert set(_listed(reading, user)) == {"a.example", "b.example"}
    assert created["DomainID"] != first


def test_a_kept_list_is_answered_without_rendering_it_again(make_app):
    app = make_app()
    user = Accounts(app).user()
    insert_domain(app, user["UserID"], "a.example")
    client = app.test_client()
    assert _listed(client, user) == {"a.example": "Enabled"}
    cache = app.extensions["octeth_list_cache"]
    version, text = cache.get(user["UserID"])
    cache.put(user["UserID"], version, text.replace("a.example", "kept.example"))
    assert _listed(client, user) == {"kept.example": "Enabled"}
    xml = client.get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"], "ResponseFormat": "XML"})
    assert "<SenderDomain><![CDATA[kept.example]]></SenderDomain>" in xml.get_data(as_text=True)


def test_a_row_changed_by_hand(make_app, backend):
    """MySQL's trigger moves Revision for any writer; on SQLite a change made by hand shows once
    Revision moves (README: or within a minute)."""
    app = make_app()
    user = Accounts(app).user()
    domain_id = insert_domain(app, user["UserID"], "a.example")
    client = app.test_client()
    assert _listed(client, user) == {"a.example": "Enabled"}
    with app.extensions["octeth_db"].session() as db:
        db.execute("UPDATE {p}sender_domains SET Status = 'Suspended' WHERE DomainID = ?", (domain_id,))
    if backend == "mariadb":
        assert _listed(client, user) == {"a.example": "Suspended"}
        return
    assert _listed(client, user) == {"a.example": "Enabled"}
    with app.extensions["octeth_db"].session() as db:
        db.execute("UPDATE {p}sender_domains SET Revision = Revision + 1 WHERE DomainID = ?", (domain_id,))
    assert _listed(client, user) == {"a.example": "Suspended"}


def test_the_kept_lists_stay_within_their_budget():
    from octeth_domains.senderdomains.listing import ListCache

    cache = ListCache(max_bytes=100)
    cache.put(1, (1, 1, 1), "x" * 40)
    cache.put(2, (1, 1, 2), "y" * 40)
    assert cache.get(1) == ((1, 1, 1), "x" * 40)  # 1 is now the most recently used
    cache.put(3, (1, 1, 3), "z" * 40)
    assert cache.get(2) is None and cache.get(1) is not None and cache.get(3) is not None
    cache.put(4, (1, 1, 4), "w" * 101)  # larger than the whole budget: not kept
    assert cache.get(4) is None and cache.get(3) is not None
