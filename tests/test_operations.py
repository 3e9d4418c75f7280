"""What operators rely on: /health, structured logs without secrets, the sign-in lockout."""
import json
import logging

from conftest import Accounts
from helpers import body
from octeth_domains import create_app
from octeth_domains.logs import JSONFormatter


def test_health_is_ok_when_the_database_and_redis_answer(client):
    response = client.get("/health")
    assert (response.status_code, body(response)) == (200, {"status": "ok"})


def test_health_names_the_part_that_failed(make_env, backend):
    if backend == "mariadb":
        env = make_env(OCTETH_DATABASE_URL="mysql://root@127.0.0.1:1/none", OCTETH_REDIS_URL="redis://127.0.0.1:1/0")
        expected = ["database", "redis"]
    else:
        env = make_env(OCTETH_DATABASE_URL="sqlite:////proc/none/db.sqlite")
        expected = ["database"]
    response = create_app(env).test_client().get("/health")
    assert response.status_code == 503
    assert body(response) == {"status": "unavailable", "failed": expected}


def test_every_request_logs_one_json_line_without_credentials(app, accounts, caplog):
    user = accounts.user()
    client = app.test_client()
    caplog.set_level(logging.DEBUG)
    client.get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"]}, headers={"X-Request-ID": "abc-1"})
    client.post("/api/v1/user.login", json={"Username": user["Username"], "Password": user["Password"]})
    client.post("/api.php", data={"Command": "user.login", "Username": user["Username"], "Password": "wrong-pw-1"})
    lines = [JSONFormatter().format(record) for record in caplog.records if record.name == "octeth_domains.access"]
    entries = [json.loads(line) for line in lines]
    assert len(entries) == 3
    first = entries[0]
    assert first["request_id"] == "abc-1" and first["command"] == "user.senderdomain.list"
    assert first["user_id"] == user["UserID"] and first["status"] == 200 and first["level"] == "INFO"
    assert isinstance(first["duration_ms"], float) and "time" in first
    everything = caplog.text + "\n".join(lines)
    for secret in (user["APIKey"], user["Password"], "wrong-pw-1"):
        assert secret not in everything


def test_a_bad_request_id_header_is_replaced(client):
    response = client.get("/health", headers={"X-Request-ID": "x" * 200})
    assert len(response.headers["X-Request-ID"]) == 32


def login(client, username, password):
    response = client.post("/api/v1/user.login", json={"Username": username, "Password": password})
    return response.status_code, body(response)


def test_ten_failed_sign_ins_lock_the_username_for_the_window(app, accounts):
    victim, bystander = accounts.user(), accounts.user()
    client = app.test_client()
    for _ in range(10):
        assert login(client, victim["Username"], "wrong")[1]["Errors"][0]["Code"] == 3
    status, data = login(client, victim["Username"], victim["Password"])
    assert status == 429 and data["Errors"][0]["Code"] == 4
    assert login(client, bystander["Username"], bystander["Password"])[1]["Success"] is True


def test_the_lockout_is_shared_by_every_instance(make_env, backend, tmp_path):
    env = make_env()
    first, second = create_app(env), create_app(env)
    first.extensions["octeth_db"].upgrade()
    user = Accounts(first).user()
    for _ in range(10):
        login(first.test_client(), user["Username"], "wrong")
    status, _ = login(second.test_client(), user["Username"], user["Password"])
    # In Redis the count is shared; the embedded default keeps it per process, as documented.
    assert status == (429 if backend == "mariadb" else 200)


def test_request_lines_are_written_in_batches_and_warnings_at_once():
    import io
    import time

    from octeth_domains.logs import BatchedStreamHandler, JSONFormatter

    stream = io.StringIO()
    handler = BatchedStreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger(f"batched-{time.monotonic_ns()}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.info("first")
    logger.info("second")
    assert stream.getvalue() == ""  # held back for at most FLUSH_AFTER
    deadline = time.monotonic() + 5
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == ["first", "second"]
    logger.info("third")
    logger.warning("trouble")  # written at once, after what came before it
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == [
        "first", "second", "third", "trouble"]


def test_a_batch_is_written_in_pieces_a_pipe_keeps_whole():
    from octeth_domains.logs import PIPE_BUF, BatchedStreamHandler

    class Recorder:
        def __init__(self):
            self.writes = []

        def write(self, text):
            self.writes.append(text)

        def flush(self):
            pass

    stream = Recorder()
    handler = BatchedStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for n in range(100):
        handler.handle(logging.LogRecord("x", logging.INFO, "", 0, f"line {n} " + "é" * 60, (), None))
    handler.handle(logging.LogRecord("x", logging.WARNING, "", 0, "last", (), None))
    assert len(stream.writes) > 1
    assert all(len(piece.encode()) <= PIPE_BUF and piece.endswith("\n") for piece in stream.writes)
    assert "".join(stream.writes).splitlines() == [f"line {n} " + "é" * 60 for n in range(100)] + ["last"]
