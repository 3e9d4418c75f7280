"""The database stopped or hung under a running app: 503 + Retry-After + envelope, then recovery."""
import signal
import time

import pymysql
import pytest
import requests

from conftest import SECRET, Accounts
from octeth_domains import create_app
from servers import AppProcess, MariaDBServer

LIST = "/api/v1/user.senderdomains"


@pytest.fixture
def mariadb(tmp_path):
    """A MariaDB of the test's own, so that stopping it disturbs nothing else."""
    server = MariaDBServer(tmp_path / "mariadb")
    server.start()
    admin = pymysql.connect(host="127.0.0.1", port=server.port, user="root", autocommit=True)
    admin.cursor().execute("CREATE DATABASE octeth")
    admin.close()
    yield server
    if server.process and server.process.poll() is None:
        server.process.send_signal(signal.SIGCONT)
    server.stop()


@pytest.fixture
def serve(mariadb, tmp_path):
    """Start the app under gunicorn on that MariaDB; returns (base URL, a user's parameters)."""
    started = []

    def start(**settings):
        env = {"OCTETH_DATABASE_URL": mariadb.url + "/octeth", "OCTETH_SECRET_KEY": SECRET,
               "OCTETH_INSTANCE_PATH": str(tmp_path / "instance"), **settings}
        app = create_app(env)
        app.extensions["octeth_db"].upgrade()
        user = Accounts(app).user()
        started.append(AppProcess(env, tmp_path / "gunicorn.log"))
        return started[-1].url, {"APIKey": user["APIKey"]}

    yield start
    for server in started:
        server.stop()


def wait_for_recovery(http, url, params, seconds=15):
    deadline = time.monotonic() + seconds
    while True:
        response = http.get(url + LIST, params=params, timeout=10)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_database_stopped_answers_503_quickly_and_recovers_without_restart(mariadb, serve):
    url, params = serve()
    http = requests.Session()
    for _ in range(3):  # fill the pool with connections that the stop will break
        assert http.get(url + LIST, params=params, timeout=5).json()["Success"] is True

    mariadb.stop()
    for _ in range(3):
        started = time.monotonic()
        response = http.get(url + LIST, params=params, timeout=10)
        assert time.monotonic() - started < 2
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "30"
        assert response.json()["Errors"][0]["Code"] == 100004
        assert response.json()["Errors"][0]["Code"] == 100004
        assert "Traceback" not in response.text

    mariadb.start()
    assert wait_for_recovery(http, url, params).json() == {"Success": True, "SenderDomains": []}


def test_a_hung_database_is_answered_quickly_after_the_first_timeout(mariadb, serve):
    """SIGSTOP: the server accepts connections but never answers, the hardest outage to notice."""
    url, params = serve(OCTETH_DATABASE_TIMEOUT="1", OCTETH_DATABASE_QUERY_TIMEOUT="1")
    http = requests.Session()
    assert http.get(url + LIST, params=params, timeout=5).json()["Success"] is True

    mariadb.process.send_signal(signal.SIGSTOP)
    started = time.monotonic()
    response = http.get(url + LIST, params=params, timeout=30)
    assert time.monotonic() - started < 5
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    for _ in range(3):
        started = time.monotonic()
        response = http.get(url + LIST, params=params, timeout=30)
        assert time.monotonic() - started < 0.5
        assert response.status_code == 503 and response.json()["Errors"][0]["Code"] == 100004

    mariadb.process.send_signal(signal.SIGCONT)
    assert wait_for_recovery(http, url, params).json() == {"Success": True, "SenderDomains": []}
