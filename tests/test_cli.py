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
    applied = last_json(cli(env, "db", "upgrade"))["Applied"]
    dialect = "mysql" if env.get("OCTETH_DATABASE_URL", "").startswith("mysql") else "sqlite"
    assert applied in (sorted(path.stem for path in (REPO / "sql" / dialect).glob("*.sql")), [])
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
    assert response.get_json()["Errors"][0]["Code"] == 0


def test_user_apikey_revokes_the_old_key(env, app):
    cli(env, "group", "create", "G")
    old = last_json(cli(env, "user", "create", "cy", "--password", "pw", "--group", "G"))["APIKey"]
    new = last_json(cli(env, "user", "apikey", "cy"))["APIKey"]
    client = app.test_client()
    assert client.get("/api/v1/user.senderdomains", query_string={"APIKey": new}).get_json()["Success"] is True
    assert client.get("/api/v1/user.senderdomains", query_string={"APIKey": old}).get_json()["Errors"][0]["Code"] == 0


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


UNDECODABLE = os.fsdecode(b"\xff\xfe")  # bytes a terminal could not decode as UTF-8


@pytest.mark.parametrize("args, said", [
    (("domain", "status", "9" * 23, "Enabled"), "is not in the range"),
    (("reverify", "--interval", "9" * 20), "is not in the range"),
    (("admin", "create", ""), "is empty"),
    (("admin", "create", UNDECODABLE), "is not valid UTF-8 text"),
    (("group", "create", "a" * 191), "at most 190"),
    (("group", "create", "tab\there"), "control character"),
    (("user", "create", "u", "--password", "", "--group", "G"), "could never sign in"),
    (("user", "create", "u", "--password", "x", "--group", "G", "--email", "not an email"), "@-sign"),
    (("user", "apikey", UNDECODABLE), "is not valid UTF-8 text"),
    (("demo", "--username", "../outside"), "letters, digits"),
    (("demo", "--username", "\u00e9" * 300), "letters, digits"),
    (("group", "create", "--sender-domain-limit", "9" * 30, "G2"), "is not in the range"),
])
def test_bad_arguments_are_one_line_and_store_nothing(app, args, said):
    # In-process (the command line's own parsing and checks; a process each would cost seconds).
    def rows():
        with app.extensions["octeth_db"].session() as db:
            return [db.one(f"SELECT COUNT(*) AS n FROM {{p}}{table}")["n"] for table in ("user_groups", "users", "admins")]

    app.extensions["octeth_db"].upgrade()
    before = rows()
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 2 and said in result.stderr, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr and "Error" in result.stderr
    assert rows() == before


@pytest.mark.parametrize("kind", ["admin", "group", "user"])
def test_a_name_taken_is_said_without_the_databases_words(app, kind):
    app.extensions["octeth_db"].upgrade()
    run = app.test_cli_runner().invoke
    assert run(args=["group", "create", f"G{kind}"]).exit_code == 0
    args = {"admin": ["admin", "create", f"ops{kind}"], "group": ["group", "create", f"G{kind}"],
            "user": ["user", "create", f"ann{kind}", "--password", "pw", "--group", f"G{kind}"]}[kind]
    if kind != "group":
        assert run(args=args).exit_code == 0
    result = run(args=args)
    named = {"admin": f"an administrator named 'ops{kind}'", "group": f"a group named 'G{kind}'",
             "user": f"a user named 'ann{kind}'"}
    assert result.exit_code == 1 and result.stderr.strip() == f"Error: {named[kind]} already exists", result.output


def test_a_setting_that_cannot_work_is_one_line(env):
    for args in (("db", "upgrade"), ("group", "create", "G")):
        result = cli({**env, "OCTETH_DNS_TIMEOUT": "abc"}, *args, check=False)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.strip() == "Error: OCTETH_DNS_TIMEOUT must be a number, not 'abc'"
    shown = cli({**env, "OCTETH_DNS_TIMEOUT": "abc"}, "--help", check=False)
    assert "Traceback" not in shown.stderr and "OCTETH_DNS_TIMEOUT must be a number" in shown.stderr
    result = api_php({**env, "OCTETH_RATE_LIMIT": "garbage"}, "Command=user.senderdomain.list")
    assert result.returncode == 2 and b"Traceback" not in result.stderr and b"OCTETH_RATE_LIMIT" in result.stderr


def test_api_php_py_sends_undecodable_bytes_as_a_client_would(env, app):
    result = api_php(env, "Command=user.senderdomain.list", f"APIKey={UNDECODABLE}")
    assert result.returncode == 1 and b"Traceback" not in result.stderr
    assert json.loads(result.stdout)["ErrorCode"] == [99998]


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


def _make_run(tmp_path, port):
    env = {**os.environ, "OCTETH_INSTANCE_PATH": str(tmp_path / "instance"), "VENV": str(BIN.parent),
           "PORT": str(port)}
    env.pop("OCTETH_DATABASE_URL", None)
    env.pop("OCTETH_REDIS_URL", None)
    process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    key, output = None, []
    deadline = time.monotonic() + 120
    while key is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        output.append(line)
        assert line or process.poll() is None, "make run exited: " + "".join(output)
        match = re.search(r"APIKey=([0-9a-f]{40})", line)
        key = match.group(1) if match else None
    assert key
    return process, key, output


def _answers(url, key):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            return requests.get(url + "/api/v1/user.senderdomains", params={"APIKey": key}, timeout=15).json()
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


def _stop(process):
    os.killpg(process.pid, signal.SIGTERM)
    return process.communicate(timeout=20)[0]


def test_make_run_prints_a_key_that_works_and_keeps_it(tmp_path):
    port = free_port()
    process, key, output = _make_run(tmp_path, port)
    second = None
    try:
        assert _answers(f"http://127.0.0.1:{port}", key) == {"Success": True, "SenderDomains": []}
        assert (tmp_path / "instance" / "octeth.sqlite").exists()
        # The key lives in the instance folder, readable by its owner only; the database has its hash.
        key_file = tmp_path / "instance" / "demo_api_key"
        assert key_file.read_text().strip() == key and key_file.stat().st_mode & 0o077 == 0
        assert key.encode() not in (tmp_path / "instance" / "octeth.sqlite").read_bytes()
        # A second instance beside it, on the same instance folder: no clash, the same key works.
        other = free_port()
        second = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=REPO, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
            env={**{k: v for k, v in os.environ.items() if not k.startswith(("OCTETH_DATABASE", "OCTETH_REDIS"))},
                 "OCTETH_INSTANCE_PATH": str(tmp_path / "instance"), "GUNICORN_WORKERS": "1",
                 "GUNICORN_BIND": f"127.0.0.1:{other}"})
        assert _answers(f"http://127.0.0.1:{other}", key)["Success"] is True
        assert _answers(f"http://127.0.0.1:{port}", key)["Success"] is True
    finally:
        if second is not None:
            second_output = _stop(second)
        first_output = "".join(output) + _stop(process)
    for text in (first_output, second_output):  # quiet: no build backend's or library's warning
        assert "Warning" not in text and "[WARNING]" not in text and "Connection in use" not in text, text
        assert "Control socket" not in text, text  # gunicorn's is one path per user account: shared
    # Restarted: the same key.
    process, again, _ = _make_run(tmp_path, port)
    try:
        assert again == key
        assert _answers(f"http://127.0.0.1:{port}", key)["Success"] is True
    finally:
        _stop(process)


def test_help_lists_the_project_s_commands_one_line_each(env):
    result = cli(env, "--help")
    text = result.stdout
    assert "sender-domain API of the Octeth email platform" in text
    commands = text.split("Commands:\n", 1)[1].splitlines()
    listed = {line.split()[0]: line.split(None, 1)[1] for line in commands if line.strip()}
    for name in ("db", "demo", "domain", "group", "reverify", "user", "run", "routes"):
        assert name in listed and not listed[name].endswith("..."), (name, listed)
    assert len(commands) == len(listed)  # one line each, none wrapped
    for generic in ("A general utility script", "--app", "--env-file", "Flask version", "limiter"):
        assert generic not in text


def test_version_is_the_project_s(env):
    from importlib.metadata import version

    result = cli(env, "--version")
    assert result.stdout.strip() == f"octeth-domains {version('octeth-domains')}"


def test_api_php_py_works_as_the_readme_shows_under_any_python(env):
    """`python api.php.py ...` with a Python that lacks the service's packages (the one the venv
    was made from) runs in the project's venv."""
    base_python = getattr(sys, "_base_executable", sys.executable)
    without = subprocess.run([base_python, "-c", "import pymysql"], capture_output=True)
    readme = (REPO / "README.md").read_text()
    assert "python api.php.py Command=user.senderdomain.list APIKey=" in readme
    result = subprocess.run([base_python, str(REPO / "api.php.py"), "Command=user.senderdomain.list",
                             "APIKey=wrong"], env={**os.environ, **env}, cwd=REPO, capture_output=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["Errors"] == [{"Code": 0, "Message": "Authentication failed"}]
    assert without.returncode != 0 or base_python == sys.executable  # the case this test is for
