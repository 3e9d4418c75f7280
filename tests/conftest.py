"""Fixtures that build real state: a throwaway MariaDB database and Redis key space per test
session, or the embedded default (SQLite, in-process stores), for every API test.

Every test that uses ``app`` or ``client`` runs twice, as ``[mariadb]`` and ``[embedded]``.
"""
from __future__ import annotations

import functools
import os
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlparse

import pymysql
import pytest
import redis
from werkzeug.security import generate_password_hash

from octeth_domains import create_app
from octeth_domains.db import Database
from octeth_domains.models import users

MYSQL_SERVER = os.environ.get("OCTETH_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306")
REDIS_URL = os.environ.get("OCTETH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "test-secret-key"
TABLES = ("sessions", "sender_domains", "users", "user_groups", "sender_domain_stats", "sender_domain_stats_files",
          "reverify_claims", "admins")


def _mysql_admin() -> pymysql.connections.Connection:
    url = urlparse(MYSQL_SERVER)
    return pymysql.connect(
        host=url.hostname, port=url.port or 3306, user=url.username or "root",
        password=url.password or "", autocommit=True,
    )


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    """A database of its own for this test session, schema applied, dropped at the end."""
    name = f"octeth_test_{uuid.uuid4().hex[:12]}"
    admin = _mysql_admin()
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    url = f"{MYSQL_SERVER}/{name}"
    Database(url).upgrade()
    yield url
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    admin.close()


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    yield client
    client.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded database with the schema applied, once for the session: every embedded test
    starts from a copy (2 ms) instead of applying the schema files (about 0.1 s, a sync each)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "octeth.sqlite"
    Database(f"sqlite:///{path}").upgrade()
    # Everything into the main file, so that copying that file alone copies the database.
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return path


@pytest.fixture(params=["mariadb", "embedded"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_env(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Callable[..., dict[str, str]]:
    """The environment of one app on the test's backend, plus ``overrides``."""
    prefix = f"octeth-test-{uuid.uuid4().hex[:8]}"
    if backend == "mariadb":
        base = {
            "OCTETH_DATABASE_URL": request.getfixturevalue("mysql_url"),
            "OCTETH_REDIS_URL": REDIS_URL,
        }
        redis_client = request.getfixturevalue("redis_client")

        def cleanup() -> None:
            db = Database(base["OCTETH_DATABASE_URL"])
            with db.session() as connection:
                for table in TABLES:
                    connection.execute(f"DELETE FROM {{p}}{table}")
            keys = list(redis_client.scan_iter(f"*{prefix}*"))
            if keys:
                redis_client.delete(*keys)

        request.addfinalizer(cleanup)
    else:
        base = {}
    base.update(
        OCTETH_INSTANCE_PATH=str(tmp_path / "instance"),
        OCTETH_REDIS_KEY_PREFIX=prefix,
        OCTETH_SECRET_KEY=SECRET,
        OCTETH_DNS_SERVERS="127.0.0.1:1",
        OCTETH_DNS_TIMEOUT="1",
        OCTETH_REVERIFY_DNS_TIMEOUT="1",
    )

    def make(**overrides: str) -> dict[str, str]:
        return {**base, **overrides}

    return make


@pytest.fixture
def make_app(request: pytest.FixtureRequest, make_env: Callable[..., dict[str, str]]):
    """Build an app on the test's backend with the schema applied."""

    def make(**overrides: str):
        env = make_env(**overrides)
        embedded = Path(env["OCTETH_INSTANCE_PATH"]) / "octeth.sqlite"
        if not ({"OCTETH_DATABASE_URL", "OCTETH_TABLE_PREFIX"} & env.keys() or embedded.exists()):
            # The default embedded database, not made yet: from the template (upgrade() below
            # then finds every schema file applied).
            embedded.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(request.getfixturevalue("sqlite_template"), embedded)
        app = create_app(env)
        app.config["TESTING"] = True
        app.extensions["octeth_db"].upgrade()
        return app

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@functools.lru_cache(maxsize=None)
def _password_hash(password: str) -> str:
    """One scrypt hash per password for the session: at about 0.1-0.2 s each, hashing for every
    user was most of the suite's set-up time. Logging in still checks the real hash."""
    return generate_password_hash(password)


class Accounts:
    """Creates groups and users straight through the data layer, as the CLI does."""

    def __init__(self, app) -> None:
        self.app = app

    def group(self, permissions: str = "User.Update", **options: Any) -> str:
        name = f"group-{uuid.uuid4().hex[:8]}"
        with self.app.extensions["octeth_db"].session() as db:
            users.create_group(db, name, users.parse_permissions(permissions), **options)
        return name

    def user(self, username: str | None = None, password: str = "secret-pw", group: str | None = None,
             email: str = "", **group_options: Any) -> dict[str, Any]:
        group = group or self.group(**group_options)
        username = username or f"user-{uuid.uuid4().hex[:8]}"
        with self.app.extensions["octeth_db"].session() as db:
            user_id, api_key = users.insert_user(db, username, _password_hash(password),
                                                 users.group_id_by_name(db, group), email)
        return {"UserID": user_id, "Username": username, "Password": password, "APIKey": api_key}


@pytest.fixture
def accounts(app) -> Accounts:
    return Accounts(app)


def wipe(app) -> None:
    """Empty the tables, for tests that share the session's MariaDB database outside ``app``."""
    with app.extensions["octeth_db"].session() as db:
        for table in TABLES:
            db.execute(f"DELETE FROM {{p}}{table}")


SEED_TEMPLATES = """
# The records of the seed's examples, plus a fuller template and an empty one.
[campaign.Default]
"_Subdomain_._SenderDomain_" = ["CNAME", "tracking-host.octeth.example."]
"_TrackPrefix__TrackMerge__Subdomain_._SenderDomain_" = ["CNAME", "tracking-host.octeth.example."]

[campaign.Full]
"_Subdomain_._SenderDomain_" = ["CNAME", "mailer.delivery.example."]
"key1._domainkey._Subdomain_._SenderDomain_" = ["CNAME", "key1._domainkey.mailer.delivery.example."]
"_DMARC._Subdomain_._SenderDomain_" = ["CNAME", "_DMARC.mailer.delivery.example."]
"_TrackPrefix__TrackMerge__Subdomain_._SenderDomain_" = ["CNAME", "track.mailer.delivery.example."]
"_SenderDomainRandom_._Subdomain_._SenderDomain_" = ["TXT", "_SenderDomainHash_"]

[campaign.Empty]

[email-gateway.Default]
"_Subdomain_._SenderDomain_" = ["CNAME", "gateway.delivery.example."]
"""


@pytest.fixture(scope="session")
def dns_server():
    """An authoritative DNS server on loopback whose records the tests change while it runs."""
    from dns_server import DNSServer

    with DNSServer() as server:
        yield server


@pytest.fixture
def dns(dns_server):
    dns_server.clear()
    dns_server.silent = False
    yield dns_server
    dns_server.clear()
    dns_server.silent = False


@pytest.fixture
def templates_file(tmp_path: Path) -> Path:
    path = tmp_path / "templates.toml"
    path.write_text(SEED_TEMPLATES)
    return path


@pytest.fixture
def domain_app(make_app, templates_file, dns):
    """An app with the seed's template, verifying against the test DNS server."""
    host, port = dns.address
    return make_app(OCTETH_DNS_TEMPLATES=str(templates_file), OCTETH_DNS_SERVERS=f"{host}:{port}",
                    OCTETH_DNS_TIMEOUT="1")


class Api:
    """Calls commands the way a client does, through the REST door by default."""

    ROUTES = {
        "user.senderdomain.list": ("GET", "user.senderdomains"),
        "user.senderdomain.get": ("GET", "user.senderdomain"),
        "user.senderdomain.create": ("POST", "user.senderdomain"),
        "user.senderdomain.update": ("PATCH", "user.senderdomain"),
        "user.senderdomain.delete": ("DELETE", "user.senderdomain"),
        "user.senderdomain.verify": ("POST", "user.senderdomain.verify"),
        "user.senderdomain.dns": ("GET", "user.senderdomain.dns"),
    }

    def __init__(self, app, api_key: str) -> None:
        self.client = app.test_client()
        self.api_key = api_key

    def call(self, command: str, legacy: bool = False, **params: Any):
        params = {"APIKey": self.api_key, **params}
        if legacy:
            response = self.client.post("/api.php", data={"Command": command, **params})
        else:
            method, path = self.ROUTES[command]
            url = f"/api/v1/{path}"
            if method in ("GET", "DELETE"):
                response = self.client.open(url, method=method, query_string=params)
            else:
                response = self.client.open(url, method=method, json=params)
        return response.status_code, response.get_json()

    def __getattr__(self, name: str):
        command = f"user.senderdomain.{name}"
        if command not in self.ROUTES:
            raise AttributeError(name)
        return lambda **params: self.call(command, **params)


@pytest.fixture
def user(domain_app):
    """A user of ``domain_app`` (the seed's templates, the live DNS server)."""
    return Accounts(domain_app).user()


@pytest.fixture
def api(domain_app, user):
    return Api(domain_app, user["APIKey"])
