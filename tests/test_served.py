"""The service under a real gunicorn: chunked bodies over the limit, and gunicorn's own log lines."""
from __future__ import annotations

import io
import json
import re
import signal
import socket
import subprocess
import sys
import textwrap

import pytest
import requests

from conftest import Accounts
from helpers import body
from octeth_domains import MAX_BODY_BYTES, create_app
from servers import AppProcess, first_answer, shipped_gunicorn

OVER = b'{"Command": "user.senderdomain.list", "Padding": "' + b"x" * MAX_BODY_BYTES + b'", "APIKey": "%s"}'
UNDER = b'{"Command": "user.senderdomain.list", "Padding": "' + b"x" * 1000 + b'", "APIKey": "%s"}'
DOORS = ["/api.php", "/api/v1/user.senderdomain.list"]


def _chunks(data: bytes, size: int = 65536):
    for start in range(0, len(data), size):
        yield data[start:start + size]


@pytest.mark.parametrize("door", DOORS)
def test_a_chunked_body_over_the_limit_is_413_under_the_test_client(app, accounts, door):
    user = accounts.user()
    client = app.test_client()
    # As a server that decodes chunks (gunicorn, Werkzeug's) hands the body on: no length, a stream it ends.
    environ = {"wsgi.input_terminated": True}
    headers = {"Transfer-Encoding": "chunked"}
    response = client.post(door, input_stream=io.BytesIO(OVER % user["APIKey"].encode()), content_type="application/json",
                           headers=headers, environ_overrides=environ)
    assert response.status_code == 413 and body(response)["Errors"][0]["Code"] == 100001
    response = client.post(door, input_stream=io.BytesIO(UNDER % user["APIKey"].encode()), content_type="application/json",
                           headers=headers, environ_overrides=environ)
    assert body(response) == {"Success": True, "SenderDomains": []}


@pytest.fixture
def served(make_env, tmp_path):
    env = make_env()
    app = create_app(env)
    app.extensions["octeth_db"].upgrade()
    user = Accounts(app).user()
    server = AppProcess(env, tmp_path / "gunicorn.log")
    yield server, user
    if server.process.poll() is None:
        server.stop()


def test_a_chunked_body_over_the_limit_is_413_under_gunicorn(served):
    server, user = served
    key = user["APIKey"].encode()
    for door in DOORS:
        for content_type in ("application/json", "application/x-www-form-urlencoded"):
            data = OVER % key if content_type == "application/json" else b"Command=user.senderdomain.list&APIKey=" + key + b"&P=" + b"x" * MAX_BODY_BYTES
            try:
                response = requests.post(server.url + door, data=_chunks(data), headers={"Content-Type": content_type}, timeout=10)
            except requests.ConnectionError:  # a server may close before reading all: never a 200
                continue
            assert response.status_code == 413 and response.json()["Errors"][0]["Code"] == 100001, (door, content_type)
        response = requests.post(server.url + door, data=_chunks(UNDER % key, 100), headers={"Content-Type": "application/json"},
                                 timeout=10)
        assert response.json() == {"Success": True, "SenderDomains": []}


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_gunicorns_worker_warnings_carry_the_pid_and_ctrl_c_prints_no_traceback(served):
    server, _ = served
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        sock.recv(1024)
    server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(15)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"gunicorn still running 15 s after Ctrl-C:\n{server.log_path.read_text()}") from None
    server._log.close()
    log = server.log_path.read_text()
    workers = re.findall(r"Booting worker with pid: (\d+)", log)
    assert workers, log
    assert "Using worker: octeth_domains.worker.ThreadWorker" in log, log
    assert "Control socket" not in log, log  # one path per user account: two instances would share it
    assert re.search(rf"\[{workers[0]}\] \[WARNING\] Invalid request", log), log
    assert "Traceback" not in log and "Logging error" not in log, log
    assert "Shutting down: Master" in log


QUIT_WHILE_SUBMITTING = textwrap.dedent("""
    import signal
    from concurrent.futures import ThreadPoolExecutor
    from gunicorn.config import Config
    from gunicorn.glogging import Logger
    from octeth_domains.worker import ThreadWorker

    config = Config()
    worker = ThreadWorker(1, 1, [], None, 30, config, Logger(config))
    worker.tpool = ThreadPoolExecutor(1)
    with worker.tpool._shutdown_lock:  # held by submit() while a new thread starts
        worker.handle_quit(signal.SIGQUIT, None)
""")


def test_ctrl_c_ends_a_worker_caught_inside_the_thread_pool_s_lock():
    """SIGQUIT while the worker's main thread is in ThreadPoolExecutor.submit(): gunicorn 27's own
    gthread handler waits for that lock forever (the master kills it 30 s later); ours exits."""
    done = subprocess.run([sys.executable, "-c", QUIT_WHILE_SUBMITTING], capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr


def _connection_header(connection) -> str:
    connection.request("GET", "/api.php")
    response = connection.getresponse()
    assert response.status == 400 and b"100003" in response.read()
    return (response.getheader("Connection") or "").lower()


@pytest.mark.parametrize("held", [None, "1000"])
def test_a_worker_holds_its_threads_connections_and_one_more(tmp_path, held):
    """gunicorn.conf.py's worker_connections is the threads and one: a worker keeps one idle
    connection alive and closes the next rather than holding connections it has no thread for.
    gthread's own default (1,000, the second case) keeps them all."""
    import http.client
    import time

    env = {"GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "1"}
    if held:
        env["GUNICORN_WORKER_CONNECTIONS"] = held
    process, port = shipped_gunicorn(tmp_path / "instance", **env)
    first = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    second = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        first_answer(process, port)  # on a connection of its own, closed by its "Connection: close"
        assert _connection_header(first) == "keep-alive"
        time.sleep(0.3)  # the worker's main thread puts the first connection among its idle ones
        assert _connection_header(second) == ("keep-alive" if held else "close")
        assert _connection_header(first) == "keep-alive"  # the one it kept is still served
    finally:
        first.close()
        second.close()
        process.terminate()
        output, _ = process.communicate(timeout=15)
    assert "No keepalived connections" not in output  # gthread's warning when it could keep none


def _raw(server, request: bytes) -> tuple[int, str, bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, content = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    content_type = next(line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")[1:]
                        if line.lower().startswith(b"content-type:"))
    return status, content_type, content


@pytest.mark.parametrize("request_bytes, status, message", [
    (b"GET /api.php?Command=user.senderdomain.list&Padding=" + b"x" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
     414, "Request line too long: send the parameters in the body of a POST"),
    (b"GET /api.php HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % n for n in range(150)) + b"\r\n",
     431, "Request headers too many or too large"),
    (b"GET /api.php HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 9000 + b"\r\n\r\n",
     431, "Request headers too many or too large"),
    (b"NOT HTTP AT ALL\r\n\r\n", 400, "Malformed HTTP request"),
])
def test_what_gunicorn_refuses_is_answered_in_the_envelope(served, request_bytes, status, message):
    server, _ = served
    got_status, content_type, content = _raw(server, request_bytes)
    assert (got_status, content_type) == (status, "application/json"), content[:200]
    assert json.loads(content) == {"Success": False, "ErrorCode": 100001, "ErrorText": message,
                                   "Errors": [{"Code": 100001, "Message": message}]}
    assert requests.get(server.url + "/api.php", timeout=5).status_code == 400  # the worker serves on


BROKEN_CHUNKS = {
    "a size that is not hexadecimal": b"zz\r\nabc\r\n0\r\n\r\n",
    "a chunk without its CRLF": b"3\r\nabcXX0\r\n\r\n",
    "a body cut short": b"10\r\nabc",
}


def _raw_post(port: int, path: str, content_type: str, chunks: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + chunks)
        sock.shutdown(socket.SHUT_WR)  # the client sends nothing more
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
@pytest.mark.parametrize("broken", BROKEN_CHUNKS, ids=list(BROKEN_CHUNKS))
def test_a_malformed_chunked_body_is_400_in_the_envelope_never_a_500(served, broken):
    server, _ = served
    for path, content_type in (("/api.php", "application/x-www-form-urlencoded"),
                               ("/api/v1/user.senderdomain.list", "application/json"),
                               ("/health", "application/json"),
                               ("/app/user/senderdomains/login", "application/x-www-form-urlencoded")):
        answer = _raw_post(server.port, path, content_type, BROKEN_CHUNKS[broken])
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.split()[1] == b"400", (path, answer[:300])
        headers, _, content = rest.partition(b"\r\n\r\n")
        if path.startswith("/app/"):  # the pages answer with a page of their own
            assert b"Content-Type: text/html" in headers and b"Malformed chunked request body" in content, answer[:2000]
            continue
        data = json.loads(content)
        assert data["ErrorCode"] == 100001 and data["ErrorText"] == "Malformed HTTP request", (path, data)
    server._log.flush()
    assert "Traceback" not in server.log_path.read_text()
