"""The shared per-user rate limit (SPEC §8)."""
import logging
import subprocess
import time
import uuid

import redis
import requests

from conftest import REDIS_URL, SECRET, Accounts, wipe
from helpers import body
from octeth_domains import create_app
from servers import AppProcess, RedisServer

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


def _codes(client, forwarded_for, n):
    return [body(client.get(LIST, query_string={"APIKey": "guess"}, headers={"X-Forwarded-For": forwarded_for}))
            ["Errors"][0]["Code"] for _ in range(n)]


def test_behind_a_trusted_proxy_each_client_address_is_counted_apart(make_app):
    app = make_app(OCTETH_RATE_LIMIT="3 per 60 seconds", OCTETH_TRUSTED_PROXIES="1")
    client = app.test_client()
    assert _codes(client, "198.51.100.7", 4) == [0, 0, 0, 429]
    assert _codes(client, "198.51.100.8", 1) == [0]  # another client behind the same proxy
    # Only the hop the proxy added is believed: an address the client wrote before it is not.
    assert _codes(client, "203.0.113.1, 198.51.100.7", 1) == [429]


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(make_app):
    app = make_app(OCTETH_RATE_LIMIT="3 per 60 seconds")
    client = app.test_client()
    assert _codes(client, "198.51.100.7", 3) == [0, 0, 0]
    assert _codes(client, "198.51.100.8", 1) == [429]  # a new header is not a new client


def test_trusted_proxies_must_be_a_small_count(make_env):
    import pytest

    from octeth_domains.config import ConfigError

    for value in ("-1", "6", "yes"):
        with pytest.raises(ConfigError, match="OCTETH_TRUSTED_PROXIES"):
            create_app(make_env(OCTETH_TRUSTED_PROXIES=value))


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


def test_two_app_instances_share_one_count_through_flask_limiter(make_env, backend, redis_client):
    """Two apps (two instances of the service) on one Redis: one count per user between them."""
    if backend == "embedded":  # no Redis: each process counts alone (and serves alone: test_one_worker...)
        env = make_env(OCTETH_RATE_LIMIT="4 per 60 seconds")
        assert create_app(env).config["RATELIMIT_STORAGE_URI"] == "memory://"
        return
    env = make_env(OCTETH_RATE_LIMIT="4 per 60 seconds")
    first, second = create_app(env), create_app(env)
    assert first.config["RATELIMIT_STORAGE_URI"] == "octeth+" + REDIS_URL
    user = Accounts(first).user()
    clients = [first.test_client(), second.test_client()]
    statuses = [clients[n % 2].get(LIST, query_string={"APIKey": user["APIKey"]}).status_code for n in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    keys = [key.decode() for key in redis_client.scan_iter(f"*{env['OCTETH_REDIS_KEY_PREFIX']}*")]
    assert any(f"user:{user['UserID']}/api/4/60/second" in key for key in keys), keys


def test_the_limit_headers_of_flask_limiter(make_app):
    app = make_app(OCTETH_RATE_LIMIT="2 per 60 seconds")
    user = Accounts(app).user()
    client = app.test_client()
    first = client.get(LIST, query_string={"APIKey": user["APIKey"]})
    assert first.headers["X-RateLimit-Limit"] == "2" and first.headers["X-RateLimit-Remaining"] == "1"
    assert 0 < int(first.headers["X-RateLimit-Reset"]) - time.time() <= 61
    assert "Retry-After" not in first.headers
    client.get(LIST, query_string={"APIKey": user["APIKey"]})
    refused = client.get(LIST, query_string={"APIKey": user["APIKey"]})
    assert refused.status_code == 429 and refused.headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert refused.headers.getlist("Retry-After") == [refused.headers["Retry-After"]]
    assert body(refused)["Errors"][0]["Code"] == 429


def test_one_redis_round_trip_per_request(tmp_path, make_env, backend):
    """Counted by a Redis server of the test's own, through MONITOR: every command a client sent
    (those a Lua script runs inside Redis are marked ``lua`` and are not round trips)."""
    if backend == "embedded":
        return
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        app = create_app(make_env(OCTETH_REDIS_URL=server.url))
        user = Accounts(app).user()
        client = app.test_client()
        for door in ("rest", "legacy"):
            for _ in range(3):  # warm: the script loaded, the key cached
                assert client.get(LIST, query_string={"APIKey": user["APIKey"]}).status_code == 200
            log_path = tmp_path / f"monitor-{door}.log"
            with open(log_path, "w") as log:
                monitor = subprocess.Popen(["redis-cli", "-p", str(server.port), "monitor"], stdout=log)
                time.sleep(0.3)
                for _ in range(10):
                    if door == "rest":
                        response = client.get(LIST, query_string={"APIKey": user["APIKey"]})
                    else:
                        response = client.post("/api.php", data={"Command": "user.senderdomain.list",
                                                                  "APIKey": user["APIKey"]})
                    assert response.status_code == 200 and "X-RateLimit-Remaining" in response.headers
                time.sleep(0.3)
                monitor.terminate()
                monitor.wait(5)
            sent = [line for line in log_path.read_text().splitlines() if " [0 127.0.0.1:" in line]
            assert len(sent) == 10, (door, sent)
            assert all('"EVALSHA"' in line.upper() for line in sent)
    finally:
        server.stop()


def test_a_command_s_own_limit_is_counted_besides_the_user_s(make_app):
    from octeth_domains.api.registry import registry

    entry = registry.commands["user.senderdomain.list"]
    object.__setattr__(entry, "limit", "2 per 5 minutes")
    try:
        app = make_app(OCTETH_RATE_LIMIT="50 per 60 seconds")
        user = Accounts(app).user()
        client = app.test_client()
        statuses = [client.get(LIST, query_string={"APIKey": user["APIKey"]}).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert 60 < int(client.get(LIST, query_string={"APIKey": user["APIKey"]}).headers["Retry-After"]) <= 301
        # Other commands are still counted only against the user's limit.
        get = client.get("/api/v1/user.senderdomain", query_string={"APIKey": user["APIKey"], "DomainID": 1})
        assert get.status_code == 200 and body(get)["Errors"][0]["Code"] == 2
    finally:
        object.__setattr__(entry, "limit", None)


def test_a_command_s_limit_must_be_one_limit(make_env):
    import pytest

    from octeth_domains.api.registry import registry
    from octeth_domains.config import ConfigError

    entry = registry.commands["user.senderdomain.list"]
    object.__setattr__(entry, "limit", "sometimes")
    try:
        with pytest.raises(ConfigError, match="user.senderdomain.list"):
            create_app(make_env())
    finally:
        object.__setattr__(entry, "limit", None)


def test_a_limit_must_be_one_limit(make_env):
    import pytest

    from octeth_domains.config import ConfigError

    for name, value in (("OCTETH_RATE_LIMIT", "100/minute;1000/hour"), ("OCTETH_LOGIN_FAILURE_LIMIT", "often")):
        with pytest.raises(ConfigError, match=name):
            create_app(make_env(**{name: value}))




def test_the_embedded_default_refuses_several_workers(tmp_path):
    """The shipped gunicorn.conf.py (4 workers) without Redis: counts would be per process."""
    from servers import shipped_gunicorn

    process, _ = shipped_gunicorn(tmp_path / "instance")
    try:
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 1
    assert "refusing to start 4 workers without Redis" in output and "OCTETH_REDIS_URL" in output
    assert "Booting worker" not in output


def test_one_worker_without_redis_and_several_with_it_start(tmp_path):
    from servers import first_answer, shipped_gunicorn

    for env in ({"GUNICORN_WORKERS": "1"}, {"GUNICORN_WORKERS": "2", "OCTETH_REDIS_URL": REDIS_URL}):
        process, port = shipped_gunicorn(tmp_path / "instance", **env)
        try:
            assert first_answer(process, port).json()["Errors"][0]["Code"] == 100003
        finally:
            process.terminate()
            process.wait(10)
