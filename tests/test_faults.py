"""Faults a running service must survive: Redis going away, and a crowd of clients."""
import threading
import time
import uuid
from collections import Counter

import requests

from conftest import SECRET, Accounts, wipe
from octeth_domains import create_app
from servers import AppProcess, RedisServer

LIST = "/api/v1/user.senderdomains"


def test_redis_stopped_mid_run_keeps_the_api_answering(mysql_url, tmp_path, templates_file):
    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    env = {"OCTETH_DATABASE_URL": mysql_url, "OCTETH_REDIS_URL": redis_server.url, "OCTETH_SECRET_KEY": SECRET,
           "OCTETH_INSTANCE_PATH": str(tmp_path / "instance"), "OCTETH_REDIS_KEY_PREFIX": uuid.uuid4().hex,
           "OCTETH_RATE_LIMIT": "5 per 60 seconds", "OCTETH_DNS_TEMPLATES": str(templates_file),
           "OCTETH_DNS_SERVERS": "127.0.0.1:1", "OCTETH_DNS_TIMEOUT": "0.5"}
    app = create_app(env)
    user = Accounts(app).user()
    server = AppProcess(env, tmp_path / "gunicorn.log")
    http = requests.Session()
    params = {"APIKey": user["APIKey"]}
    try:
        domain_id = http.post(server.url + "/api/v1/user.senderdomain", json={**params, "SenderDomain": "r.example"},
                              timeout=5).json()["DomainID"]
        assert http.get(server.url + "/health", timeout=5).json() == {"status": "ok"}
        redis_server.stop()
        started = time.monotonic()
        statuses = [http.get(server.url + LIST, params=params, timeout=10).status_code for _ in range(6)]
        assert time.monotonic() - started < 5
        # The count starts again in this process's memory (Redis held the old one), and the limit
        # still holds there.
        assert statuses == [200, 200, 200, 200, 200, 429]
        verify = http.post(server.url + "/api/v1/user.senderdomain.verify", json={"DomainID": domain_id},
                           headers={"Authorization": "Bearer " + Accounts(app).user()["APIKey"]}, timeout=10)
        assert verify.status_code == 200  # another user's id: code 2, answered without the cache
        health = http.get(server.url + "/health", timeout=5)
        assert health.status_code == 503 and health.json()["failed"] == ["redis"]
    finally:
        server.stop()
        redis_server.stop()
        wipe(app)


def test_fifty_clients_for_twenty_seconds_see_only_200_and_429(mysql_url, redis_client, tmp_path):
    prefix = uuid.uuid4().hex
    env = {"OCTETH_DATABASE_URL": mysql_url, "OCTETH_REDIS_URL": "redis://127.0.0.1:6379/0", "OCTETH_SECRET_KEY": SECRET,
           "OCTETH_INSTANCE_PATH": str(tmp_path / "instance"), "OCTETH_REDIS_KEY_PREFIX": prefix}
    app = create_app(env)
    accounts = Accounts(app)
    users = [accounts.user() for _ in range(10)]
    server = AppProcess(env, tmp_path / "gunicorn.log", workers=2)
    outcomes: Counter = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + 20

    def client(n: int) -> None:
        http = requests.Session()
        key = users[n % len(users)]["APIKey"]
        while time.monotonic() < deadline:
            try:
                response = http.get(server.url + LIST, params={"APIKey": key}, timeout=10)
                outcome = response.status_code
                if outcome == 200 and response.json().get("Success") is not True:
                    outcome = "envelope error"
            except requests.RequestException as error:
                outcome = error.__class__.__name__
            with lock:
                outcomes[outcome] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(40)
    finally:
        server.stop()
        wipe(app)
        keys = list(redis_client.scan_iter(f"*{prefix}*"))
        if keys:
            redis_client.delete(*keys)
    assert set(outcomes) <= {200, 429}, outcomes
    assert outcomes[200] == 100 * len(users)  # every user got exactly its limit within the minute
    assert outcomes[429] > 0
