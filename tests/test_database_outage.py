"""The database stopped under a running app: 503 + Retry-After + envelope, then recovery."""
import time

import requests

from conftest import SECRET, Accounts
from octeth_domains import create_app
from servers import AppProcess, MariaDBServer

LIST = "/api/v1/user.senderdomains"


def test_database_stopped_answers_503_quickly_and_recovers_without_restart(tmp_path):
    mariadb = MariaDBServer(tmp_path / "mariadb")
    mariadb.start()
    server = None
    try:
        import pymysql

        admin = pymysql.connect(host="127.0.0.1", port=mariadb.port, user="root", autocommit=True)
        admin.cursor().execute("CREATE DATABASE octeth")
        admin.close()
        env = {"OCTETH_DATABASE_URL": mariadb.url + "/octeth", "OCTETH_SECRET_KEY": SECRET,
               "OCTETH_INSTANCE_PATH": str(tmp_path / "instance")}
        app = create_app(env)
        app.extensions["octeth_db"].upgrade()
        user = Accounts(app).user()
        server = AppProcess(env, tmp_path / "gunicorn.log")
        http = requests.Session()
        params = {"APIKey": user["APIKey"]}
        for _ in range(3):  # fill the pool with connections that the stop will break
            assert http.get(server.url + LIST, params=params, timeout=5).json()["Success"] is True

        mariadb.stop()
        for _ in range(3):
            started = time.monotonic()
            response = http.get(server.url + LIST, params=params, timeout=10)
            elapsed = time.monotonic() - started
            assert elapsed < 2, elapsed
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "30"
            assert response.json()["ErrorCode"] == 100004
            assert response.json()["Errors"][0]["Code"] == 100004
            assert "Traceback" not in response.text

        mariadb.start()
        deadline = time.monotonic() + 10
        while True:
            response = http.get(server.url + LIST, params=params, timeout=10)
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert response.status_code == 200 and response.json() == {"Success": True, "SenderDomains": []}
    finally:
        if server:
            server.stop()
        mariadb.stop()


def test_a_hung_database_is_answered_quickly_after_the_first_timeout(tmp_path):
    """SIGSTOP: the server accepts connections but never answers, the hardest outage to notice."""
    import signal

    mariadb = MariaDBServer(tmp_path / "mariadb")
    mariadb.start()
    server = None
    try:
        import pymysql

        admin = pymysql.connect(host="127.0.0.1", port=mariadb.port, user="root", autocommit=True)
        admin.cursor().execute("CREATE DATABASE octeth")
        admin.close()
        env = {"OCTETH_DATABASE_URL": mariadb.url + "/octeth", "OCTETH_SECRET_KEY": SECRET,
               "OCTETH_INSTANCE_PATH": str(tmp_path / "instance"), "OCTETH_DATABASE_TIMEOUT": "1",
               "OCTETH_DATABASE_QUERY_TIMEOUT": "1"}
        app = create_app(env)
        app.extensions["octeth_db"].upgrade()
        user = Accounts(app).user()
        server = AppProcess(env, tmp_path / "gunicorn.log")
        http = requests.Session()
        params = {"APIKey": user["APIKey"]}
        assert http.get(server.url + LIST, params=params, timeout=5).json()["Success"] is True

        mariadb.process.send_signal(signal.SIGSTOP)
        started = time.monotonic()
        response = http.get(server.url + LIST, params=params, timeout=30)
        assert time.monotonic() - started < 5
        assert response.status_code == 503 and response.headers["Retry-After"] == "30"
        for _ in range(3):
            started = time.monotonic()
            response = http.get(server.url + LIST, params=params, timeout=30)
            assert time.monotonic() - started < 0.5
            assert response.status_code == 503 and response.json()["ErrorCode"] == 100004

        mariadb.process.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 15
        while True:
            response = http.get(server.url + LIST, params=params, timeout=10)
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert response.json() == {"Success": True, "SenderDomains": []}
    finally:
        if server:
            server.stop()
        if mariadb.process and mariadb.process.poll() is None:
            mariadb.process.send_signal(signal.SIGCONT)
        mariadb.stop()
