"""The command line (SPEC §9), api.php.py (SPEC §1) and `make run`."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from helpers import free_port

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def cli(env, *args, check=True):
    result = subprocess.run([str(BIN / "octeth-domains"), *args], env={**os.environ, **env}, cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def last_json(result):
    return json.loads(result.stdout.strip().splitlines()[-1])


def api_php(env, *args):
    return subprocess.run([sys.executable, str(REPO / "api.php.py"), *args], env={**os.environ, **env}, cwd=REPO,
                          capture_output=True, timeout=60)


@pytest.fixture
def env(make_env):
    env = make_env()
    every = [sorted(path.stem for path in (REPO / "sql" / dialect).glob("*.sql")) for dialect in ("sqlite", "mysql")]
    assert last_json(cli(env, "db", "upgrade"))["Applied"] in (*every, [])
    return env


def test_db_upgrade_is_safe_to_run_again(env):
    assert last_json(cli(env, "db", "upgrade")) == {"Applied": []}


def test_group_and_user_creation_give_a_working_key(env, app):
    group = last_json(cli(env, "group", "create", "Senders", "--sender-domain-limit", "3"))
    assert set(group) == {"UserGroupID", "Name"} and group["Name"] == "Senders"
    user = last_json(cli(env, "user", "create", "ann", "--password", "pw", "--group", "Senders"))
    assert set(user) == {"UserID", "Username", "APIKey"} and user["Username"] == "ann"
    client = app.test_client()
    response = client.get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"]})
    assert response.get_json() == {"Success": True, "SenderDomains": []}


def test_a_group_without_permissions(env, app):
    cli(env, "group", "create", "Readers", "--permissions", "")
    user = last_json(cli(env, "user", "create", "bob", "--password", "pw", "--group", "Readers"))
    response = app.test_client().get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"]})
    assert response.get_json()["ErrorCode"] == 0


def test_user_apikey_revokes_the_old_key(env, app):
    cli(env, "group", "create", "G")
    old = last_json(cli(env, "user", "create", "cy", "--password", "pw", "--group", "G"))["APIKey"]
    new = last_json(cli(env, "user", "apikey", "cy"))["APIKey"]
    client = app.test_client()
    assert client.get("/api/v1/user.senderdomains", query_string={"APIKey": new}).get_json()["Success"] is True
    assert client.get("/api/v1/user.senderdomains", query_string={"APIKey": old}).get_json()["ErrorCode"] == 0


def test_commands_before_db_upgrade_say_what_to_do(tmp_path):
    env = {"OCTETH_INSTANCE_PATH": str(tmp_path / "fresh"), "OCTETH_SECRET_KEY": "k", "OCTETH_DATABASE_URL": ""}
    result = cli(env, "group", "create", "Early", check=False)
    assert result.returncode == 1 and "db upgrade" in result.stderr and "Traceback" not in result.stderr


def test_cli_errors_are_one_line_not_a_traceback(env):
    cli(env, "group", "create", "Twice")
    result = cli(env, "group", "create", "Twice", check=False)
    assert result.returncode == 1 and "already exists" in result.stderr and "Traceback" not in result.stderr
    result = cli(env, "user", "create", "dan", "--password", "pw", "--group", "Nope", check=False)
    assert result.returncode == 1 and "no group" in result.stderr
    result = cli(env, "user", "apikey", "nobody", check=False)
    assert result.returncode == 1 and "no user" in result.stderr


def test_api_php_py_prints_the_body_the_http_door_sends(env, app):
    cli(env, "group", "create", "G")
    key = last_json(cli(env, "user", "create", "eve", "--password", "pw", "--group", "G"))["APIKey"]
    client = app.test_client()
    for extra in ([], ["ResponseFormat=XML"]):
        result = api_php(env, "Command=user.senderdomain.list", f"APIKey={key}", *extra)
        assert result.returncode == 0, result.stderr
        query = dict(arg.split("=", 1) for arg in ["Command=user.senderdomain.list", f"APIKey={key}", *extra])
        assert result.stdout.rstrip(b"\n") == client.get("/api.php", query_string=query).get_data().rstrip(b"\n")


def test_api_php_py_exit_statuses(env):
    result = api_php(env, "Command=user.senderdomain.list", "APIKey=wrong")
    assert result.returncode == 1
    assert json.loads(result.stdout)["Errors"] == [{"Code": 0, "Message": "Authentication failed"}]
    assert api_php(env, "Command=user.nothing").returncode == 1
    assert api_php(env, "not-a-pair").returncode == 2
    assert api_php(env, "APIKey=x").returncode == 2
    assert api_php(env).returncode == 2


def test_make_run_prints_a_key_that_works(tmp_path):
    port = free_port()
    env = {**os.environ, "OCTETH_INSTANCE_PATH": str(tmp_path / "instance"), "VENV": str(BIN.parent),
           "PORT": str(port)}
    env.pop("OCTETH_DATABASE_URL", None)
    env.pop("OCTETH_REDIS_URL", None)
    process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        key = None
        deadline = time.monotonic() + 120
        while key is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line or process.poll() is None, "make run exited"
            match = re.search(r"APIKey=([0-9a-f]{40})", line)
            key = match.group(1) if match else None
        assert key
        url = f"http://127.0.0.1:{port}/api/v1/user.senderdomains"
        while time.monotonic() < deadline:
            try:
                response = requests.get(url, params={"APIKey": key}, timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert response.json() == {"Success": True, "SenderDomains": []}
        assert (tmp_path / "instance" / "octeth.sqlite").exists()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
