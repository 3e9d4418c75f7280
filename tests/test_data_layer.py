"""The data layer and the settings it starts from."""
import multiprocessing

import pytest

from octeth_domains import config
from octeth_domains.db import Database, IntegrityError


@pytest.fixture
def database(backend, request, tmp_path):
    if backend == "mariadb":
        db = Database(request.getfixturevalue("mysql_url"))
    else:
        db = Database(f"sqlite:///{tmp_path / 'layer.sqlite'}")
        db.upgrade()
    with db.session() as connection:
        connection.execute("CREATE TABLE {p}layer_test (name VARCHAR(32) NOT NULL PRIMARY KEY)")
    yield db
    with db.session() as connection:
        connection.execute("DROP TABLE {p}layer_test")


def names(db):
    with db.session() as connection:
        return sorted(row["name"] for row in connection.query("SELECT name FROM {p}layer_test"))


def test_a_transaction_commits_or_rolls_back_whole(database):
    with database.session() as connection:
        with connection.transaction():
            connection.execute("INSERT INTO {p}layer_test (name) VALUES (?)", ("kept",))
        with pytest.raises(IntegrityError):
            with connection.transaction():
                connection.execute("INSERT INTO {p}layer_test (name) VALUES (?)", ("lost",))
                connection.execute("INSERT INTO {p}layer_test (name) VALUES (?)", ("kept",))
    assert names(database) == ["kept"]


def test_an_inner_session_does_not_end_the_outer_transaction(database):
    with database.session() as outer:
        with outer.transaction(lock=True):
            outer.execute("INSERT INTO {p}layer_test (name) VALUES (?)", ("outer",))
            with database.session() as inner:  # a hook or helper opening its own session
                inner.query("SELECT 1 AS one")
            outer.execute("INSERT INTO {p}layer_test (name) VALUES (?)", ("outer2",))
    assert names(database) == ["outer", "outer2"]


def test_percent_signs_and_placeholders_survive_both_dialects(database):
    with database.session() as connection:
        connection.execute("INSERT INTO {p}layer_test (name) VALUES (?)", ("100%s ?",))
        row = connection.one("SELECT name FROM {p}layer_test WHERE name LIKE '100%%'".replace("%%", "%"))
    assert row == {"name": "100%s ?"}


def test_upgrade_is_recorded_and_safe_to_repeat(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    from octeth_domains.db import SCHEMA_ROOT

    assert db.upgrade() == sorted(path.stem for path in (SCHEMA_ROOT / "sqlite").glob("*.sql"))
    assert db.upgrade() == []


def test_upgrading_a_database_with_rows_keeps_them(backend, request, tmp_path):
    """A database made by the first release, with a domain in it, upgraded by this one."""
    import shutil
    import uuid

    from octeth_domains.db import SCHEMA_ROOT
    from octeth_domains.models import senderdomains as model

    prefix = f"up{uuid.uuid4().hex[:6]}_"
    if backend == "mariadb":
        db = Database(request.getfixturevalue("mysql_url"), prefix=prefix)
    else:
        db = Database(f"sqlite:///{tmp_path / 'old.sqlite'}", prefix=prefix)
    first_release = tmp_path / "sql"
    (first_release / db.dialect).mkdir(parents=True)
    shutil.copy(SCHEMA_ROOT / db.dialect / "0001_init.sql", first_release / db.dialect)
    try:
        assert db.upgrade(first_release) == ["0001_init"]
        with db.session() as connection:
            domain_id = model.insert(connection, "old.example", 7, model.ENABLED, {}, {})
        assert db.upgrade() == sorted(path.stem for path in (SCHEMA_ROOT / db.dialect).glob("*.sql"))[1:]
        with db.session() as connection:
            rows, version = model.list_for_user(connection, 7)
            assert [row["SenderDomain"] for row in rows] == ["old.example"]
            assert version == model.list_version(connection, 7) == (1, 1, domain_id)
            model.save(connection, domain_id, status=model.DISABLED)
            assert model.list_version(connection, 7) == (1, 2, domain_id)  # one step, trigger or not
            connection.execute("UPDATE {p}sender_domains SET Status = 'Enabled' WHERE DomainID = ?", (domain_id,))
            # By hand: MySQL's trigger moves Revision; SQLite relies on the service's own writes.
            assert model.list_version(connection, 7) == (1, 3 if backend == "mariadb" else 2, domain_id)
    finally:
        with db.session() as connection:
            for table in ("sender_domains", "sessions", "users", "user_groups", "schema_migrations",
                          "sender_domain_stats", "sender_domain_stats_files"):  # trigger goes with its table
                connection.execute(f"DROP TABLE IF EXISTS {{p}}{table}")


def _read_secret(path, queue):
    queue.put(config.from_environment(path, {})["OCTETH_SECRET_KEY"])


def test_workers_starting_together_share_one_generated_secret(tmp_path):
    context = multiprocessing.get_context("fork")
    for trial in range(20):
        instance = str(tmp_path / f"instance{trial}")
        queue = context.Queue()
        workers = [context.Process(target=_read_secret, args=(instance, queue)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(10)
        assert all(worker.exitcode == 0 for worker in workers)
        keys = {queue.get(timeout=5) for _ in workers}
        assert len(keys) == 1 and len(keys.pop()) == 64


def test_bad_settings_are_refused_at_start(tmp_path):
    for env in ({"OCTETH_TABLE_PREFIX": "x; DROP TABLE"}, {"OCTETH_DNS_SERVERS": "localhost"},
                {"OCTETH_DNS_TIMEOUT": "soon"}, {"OCTETH_DNS_TIMEOUT": "0"}, {"OCTETH_REVERIFY_DNS_TIMEOUT": "-1"},
                {"OCTETH_REVERIFY_DNS_TIMEOUT": "nan"}, {"OCTETH_DNS_TIMEOUT": "inf"},
                {"OCTETH_REVERIFY_CLAIM_TTL": "nan"}, {"OCTETH_DATABASE_TIMEOUT": "0"},
                {"OCTETH_DATABASE_QUERY_TIMEOUT": "-5"}, {"OCTETH_PROVIDER_TIMEOUT": "inf"}):
        with pytest.raises(config.ConfigError):
            config.from_environment(str(tmp_path), {"OCTETH_SECRET_KEY": "k", **env})


def test_mysql_connections_share_one_tls_context(mysql_url):
    """PyMySQL (1.2) prefers TLS when given no ssl option, and built a new context, reading the
    system's whole CA bundle, for every connection: 0.02-0.2 s of CPU each. One per process now,
    and TLS is still preferred (used whenever the server offers it)."""
    drivers = []
    for _ in range(2):
        with Database(mysql_url).session() as connection:  # a new pool, so a new connection
            drivers.append(connection._raw._con._con)  # DBUtils' wrappers, then PyMySQL's own
    assert all(driver.ssl for driver in drivers)
    assert drivers[0] is not drivers[1] and drivers[0].ctx is not None and drivers[0].ctx is drivers[1].ctx
