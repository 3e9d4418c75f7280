"""The shared per-user rate limit (SPEC §8)."""
import logging
import uuid

import requests

from conftest import REDIS_URL, SECRET, Accounts, wipe
from helpers import body
from octeth_domains import create_app
from servers import AppProcess

LIST = "/api/v1/user.senderdomains"


def test_one_user_is_limited_while_another_is_not(make_app):
    app = make_app(OCTETH_RATE_LIMIT="5 per 60 seconds")
    accounts = Accounts(app)
    alice, bob = accounts.user(), accounts.user()
    client = app.test_client()
    for _ in range(5):
        assert body(client.get(LIST, query_string={"APIKey": alice["APIKey"]}))["Success"] is True
    response = client.get(LIST, query_string={"APIKey": alice["APIKey"]})
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    data = body(response)
    assert data["Success"] is False and data["Errors"][0]["Code"] == data["Errors"][0]["Code"]
    assert body(client.get(LIST, query_string={"APIKey": bob["APIKey"]}))["Success"] is True


def test_unauthenticated_requests_are_limited_by_address(make_app):
    app = make_app(OCTETH_RATE_LIMIT="3 per 60 seconds")
    client = app.test_client()
    codes = [body(client.get(LIST, query_string={"APIKey": "guess"}))["Errors"][0]["Code"] for _ in range(4)]
    assert codes == [0, 0, 0, 429]


def test_both_doors_share_one_count(make_app):
    app = make_app(OCTETH_RATE_LIMIT="4 per 60 seconds")
    user = Accounts(app).user()
    client = app.test_client()
    for _ in range(2):
        assert client.get(LIST, query_string={"APIKey": user["APIKey"]}).status_code == 200
        assert client.post("/api.php", data={"Command": "user.senderdomain.list", "APIKey": user["APIKey"]}).status_code == 200
    assert client.get(LIST, query_string={"APIKey": user["APIKey"]}).status_code == 429


def test_an_unreachable_redis_falls_back_to_memory(make_env, caplog, backend):
    env = make_env(OCTETH_REDIS_URL="redis://127.0.0.1:1/0", OCTETH_RATE_LIMIT="3 per 60 seconds")
    app = create_app(env)
    app.extensions["octeth_db"].upgrade()
    user = Accounts(app).user()
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        results = [client.get(LIST, query_string={"APIKey": user["APIKey"]}).status_code for _ in range(4)]
    assert results == [200, 200, 200, 429]
    assert any("falling back to in-memory" in record.getMessage() for record in caplog.records)


def test_two_processes_share_one_count_in_redis(mysql_url, redis_client, tmp_path):
    prefix = f"octeth-test-{uuid.uuid4().hex[:8]}"
    env = {"OCTETH_DATABASE_URL": mysql_url, "OCTETH_REDIS_URL": REDIS_URL, "OCTETH_REDIS_KEY_PREFIX": prefix,
           "OCTETH_SECRET_KEY": SECRET, "OCTETH_INSTANCE_PATH": str(tmp_path / "instance")}
    app = create_app(env)
    accounts = Accounts(app)
    alice, bob = accounts.user(), accounts.user()
    servers = [AppProcess(env, tmp_path / f"gunicorn{n}.log") for n in range(2)]
    try:
        http = requests.Session()
        for n in range(100):
            response = http.get(servers[n % 2].url + LIST, params={"APIKey": alice["APIKey"]}, timeout=5)
            assert response.status_code == 200, (n, response.text)
        for server in servers:
            response = http.get(server.url + LIST, params={"APIKey": alice["APIKey"]}, timeout=5)
            assert response.status_code == 429
            assert int(response.headers["Retry-After"]) >= 1
            assert response.json()["Success"] is False
            assert http.get(server.url + LIST, params={"APIKey": bob["APIKey"]}, timeout=5).json()["Success"] is True
    finally:
        for server in servers:
            server.stop()
        wipe(app)
        keys = list(redis_client.scan_iter(f"*{prefix}*"))
        assert keys, "the count was not kept in Redis"
        redis_client.delete(*keys)


def _limit(redis_client, prefix, text):
    from octeth_domains.api.limits import Counter, Limit, one_limit
    return Limit(one_limit(text), Counter(redis_client, prefix), "api")


def test_a_small_limit_is_counted_request_by_request(redis_client):
    prefix = f"octeth-test-{uuid.uuid4().hex[:8]}:"
    limit = _limit(redis_client, prefix, "100 per 60 seconds")
    try:
        for n in range(1, 11):
            assert limit.hit("user:1") is None
            assert int(redis_client.get(prefix + "api:user:1")) == n
    finally:
        redis_client.delete(prefix + "api:user:1")


def test_a_large_limit_is_counted_in_leases_and_never_overspent(redis_client):
    """Two instances (threads in each) spend one shared limit of 5,000: Redis is asked once per
    lease, not once per request, and together they let exactly the limit through."""
    import threading

    def scripts_run() -> int:
        return sum(redis_client.info("commandstats").get(f"cmdstat_{name}", {}).get("calls", 0)
                   for name in ("evalsha", "eval"))

    prefix = f"octeth-test-{uuid.uuid4().hex[:8]}:"
    instances = [_limit(redis_client, prefix, "5000 per 60 seconds") for _ in range(2)]
    scripts_before = scripts_run()
    admitted = [0] * 8
    refused_after = []

    def client(n: int) -> None:
        limit = instances[n % 2]
        while True:
            retry_after = limit.hit("user:7")
            if retry_after is not None:
                refused_after.append(retry_after)
                return
            admitted[n] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sum(admitted) == 5000
        assert all(count > 0 for count in admitted[:2])
        assert int(redis_client.get(prefix + "api:user:7")) >= 5000
        assert scripts_run() - scripts_before < 5000 / 10
        assert all(0 < seconds <= 60 for seconds in refused_after)
    finally:
        redis_client.delete(prefix + "api:user:7")


def test_a_limit_must_be_one_limit(make_env):
    import pytest

    from octeth_domains.config import ConfigError

    for name, value in (("OCTETH_RATE_LIMIT", "100/minute;1000/hour"), ("OCTETH_LOGIN_FAILURE_LIMIT", "often")):
        with pytest.raises(ConfigError, match=name):
            create_app(make_env(**{name: value}))


def test_counts_kept_in_memory_stay_bounded_under_a_flood_of_new_keys():
    from octeth_domains.api.limits import Counter, Limit, one_limit

    counter = Counter(None, "x:")
    counter._memory.MAX_KEYS = 10
    limit = Limit(one_limit("5 per 60 seconds"), counter, "api")
    limit.MAX_KEYS = 10
    for n in range(500):  # all live: the oldest go
        assert limit.hit(f"addr:2001:db8::{n}") is None
    assert len(counter._memory._counts) <= 10 and len(limit._leases) <= 10
    assert limit.hit("addr:2001:db8::499") is None  # the newest are still counted
    assert counter._memory.peek("api:addr:2001:db8::499")[0] == 2
