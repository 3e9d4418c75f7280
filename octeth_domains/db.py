"""The data layer: one small interface over PyMySQL (pooled) and sqlite3.

SQL is written once, for both dialects, with ``?`` placeholders and ``{p}`` where the table prefix
goes. Statements that differ between the dialects are chosen by the caller through ``dialect``.
Every driver error that means "the database cannot be reached" comes out as
:class:`DatabaseUnavailable`, which the doors answer with 100004 and ``Retry-After``.
"""
from __future__ import annotations

import functools
import re
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence
from urllib.parse import parse_qs, unquote, urlparse

import pymysql
import pymysql.connections
import pymysql.cursors
from dbutils.pooled_db import PooledDB
from flask import Flask, current_app, g

SCHEMA_ROOT = Path(__file__).resolve().parent.parent / "sql"

# PyMySQL error numbers that mean the server is gone, unreachable or refusing us, as opposed to
# a mistake in a statement (those stay bugs and answer 100005).
_MYSQL_UNAVAILABLE = {1040, 1044, 1045, 1049, 1053, 2002, 2003, 2005, 2006, 2013, 2055}
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open", "disk i/o error", "readonly")


class _PyMySQLConnection(pymysql.connections.Connection):
    """PyMySQL's connection with one TLS context per process for its default mode.

    Given no ``ssl`` option, PyMySQL 1.2 prefers TLS (used when the server offers it) and builds
    a new default context for every connection: Python reads the system's whole CA bundle for a
    context that verifies nothing (``CERT_NONE``). That was 20-200 ms of CPU per connection here,
    most of the suite's MariaDB set-up and a stall at every reconnect. The context is the same
    each time and an ``SSLContext`` may be shared between threads, so it is built once.
    """

    _preferred_context = None

    def _create_ssl_ctx(self, sslp):
        if sslp != {}:  # explicit TLS options: PyMySQL's own handling, a context per connection
            return super()._create_ssl_ctx(sslp)
        context = _PyMySQLConnection._preferred_context
        if context is None:  # two threads racing here build two equal contexts: harmless
            context = _PyMySQLConnection._preferred_context = super()._create_ssl_ctx(sslp)
        return context


def _connect_mysql(*args: Any, **kwargs: Any) -> pymysql.connections.Connection:
    return _PyMySQLConnection(*args, **kwargs)


_connect_mysql.dbapi = pymysql  # DBUtils reads the driver's exceptions and thread safety from it


class DatabaseUnavailable(Exception):
    """The database could not be reached; the request may succeed if retried later."""


class SchemaMissing(DatabaseUnavailable):
    """The database answers but has no schema yet: ``octeth-domains db upgrade`` was not run."""


class DatabaseError(Exception):
    """A statement failed for a reason other than availability, e.g. a unique key."""


class IntegrityError(DatabaseError):
    """A unique or foreign key refused the write."""


def _translated(exc: BaseException) -> BaseException | None:
    """The error of this module that a driver error ``exc`` means, None for any other error."""
    if isinstance(exc, pymysql.err.IntegrityError):
        return IntegrityError(str(exc.args[1] if len(exc.args) > 1 else exc))
    if isinstance(exc, (pymysql.err.OperationalError, pymysql.err.InterfaceError, pymysql.err.ProgrammingError)):
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code in (1146, 1054):  # no such table, no such column: a release ahead of its schema
            return SchemaMissing("schema out of date: run `octeth-domains db upgrade`")
        if isinstance(exc, pymysql.err.InterfaceError) or code in _MYSQL_UNAVAILABLE:
            return DatabaseUnavailable(f"MySQL unavailable ({code})")
        return DatabaseError(f"MySQL error {code}")
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(str(exc))
    if isinstance(exc, sqlite3.OperationalError):
        if "no such table" in str(exc) or "no such column" in str(exc):
            return SchemaMissing("schema out of date: run `octeth-domains db upgrade`")
        if any(text in str(exc).lower() for text in _SQLITE_UNAVAILABLE):
            return DatabaseUnavailable(f"SQLite unavailable: {exc}")
    return None


@functools.lru_cache(maxsize=512)
def _prepare(sql: str, dialect: str, prefix: str) -> str:
    sql = sql.replace("{p}", prefix)
    if dialect == "mysql":
        sql = sql.replace("%", "%%").replace("?", "%s")
    return sql


class Connection:
    """One checked-out connection. Autocommit, except inside :meth:`transaction`."""

    def __init__(self, database: "Database", raw: Any) -> None:
        self.database = database
        self.dialect = database.dialect
        self._raw = raw
        self._in_transaction = False

    def _cursor(self) -> Any:
        if self.dialect == "mysql":
            return self._raw.cursor(pymysql.cursors.DictCursor)
        return self._raw.cursor()

    def _run(self, sql: str, args: Sequence[Any], fetch: bool) -> Any:
        # The hot path of every request: plain try/except rather than context managers.
        try:
            cursor = self._cursor()
            cursor.execute(_prepare(sql, self.dialect, self.database.prefix), tuple(args))
            return cursor.fetchall() if fetch else cursor
        except Exception as exc:
            self.database.failed(exc)
            raise

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """All rows of a SELECT, each as a dict keyed by column name."""
        rows = self._run(sql, args, fetch=True)
        if self.dialect == "sqlite":
            return [dict(row) for row in rows]
        return list(rows)

    def one(self, sql: str, args: Sequence[Any] = ()) -> dict[str, Any] | None:
        """The first row of a SELECT, or None."""
        rows = self.query(sql, args)
        return rows[0] if rows else None

    def execute(self, sql: str, args: Sequence[Any] = ()) -> tuple[int, int | None]:
        """Run a write; return (rows affected, last inserted id)."""
        cursor = self._run(sql, args, fetch=False)
        return cursor.rowcount, cursor.lastrowid

    def script(self, sql: str) -> None:
        """Run the ``;``-separated statements of a schema file, one by one."""
        for statement in split_statements(sql):
            self.execute(statement)

    @contextmanager
    def transaction(self, lock: bool = False) -> Iterator["Connection"]:
        """One atomic unit. ``lock=True`` takes SQLite's write lock at once (``BEGIN IMMEDIATE``)
        so that a check-then-insert cannot interleave; on MySQL use ``SELECT … FOR UPDATE``."""
        # SQLite connections are shared by the sessions of a thread: one may already be inside.
        if self._in_transaction or (self.dialect == "sqlite" and self._raw.in_transaction):
            yield self
            return
        with self.database.guard():
            if self.dialect == "mysql":
                self._raw.begin()
            else:
                self._raw.execute("BEGIN IMMEDIATE" if lock else "BEGIN")
        self._in_transaction = True
        try:
            yield self
        except BaseException:
            self._in_transaction = False
            try:
                self._raw.rollback()
            except Exception:  # the original error matters more than a failed rollback
                pass
            raise
        self._in_transaction = False
        with self.database.guard():
            self._raw.commit()

    def close(self) -> None:
        if self._raw is None:
            return
        raw, self._raw = self._raw, None
        if self.dialect == "mysql":
            try:
                raw.close()  # back to the pool, rolled back
            except Exception:
                pass
        else:
            self.database._release_sqlite(raw)


def split_statements(sql: str) -> list[str]:
    """Split a schema file on semicolons that end a line; drop comments and blanks."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in re.split(r";\s*$", "\n".join(lines), flags=re.M) if part.strip()]


class Database:
    """A database named by URL: ``mysql://user:pass@host:port/name`` or ``sqlite:///path``."""

    # After a connection-level failure every request answers 100004 at once for this long instead
    # of waiting on a dead server again; then one request tries for real.
    UNAVAILABLE_BACKOFF = 2.0

    def __init__(self, url: str, prefix: str = "oempro_", timeout: float = 2.0, pool_size: int = 10,
                 query_timeout: float = 5.0):
        self.url = url
        self.prefix = prefix
        self._down_until = 0.0
        parsed = urlparse(url)
        scheme = parsed.scheme.split("+")[0]
        if scheme in ("mysql", "mariadb"):
            self.dialect = "mysql"
            options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
            self._pool = PooledDB(
                creator=_connect_mysql,
                mincached=0,  # connect lazily: the app must start even while the database is down
                maxcached=pool_size,
                maxconnections=0,
                blocking=False,
                # Connections run in autocommit; only one given back inside a transaction (begin()
                # without its end) is rolled back. A rollback for every request is a round trip.
                reset=False,
                # No ping at checkout: against a hung server a ping waits as long as a query. A
                # dead pooled connection fails its first statement, and DBUtils reconnects once.
                ping=0,
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or 3306,
                user=unquote(parsed.username or "root"),
                password=unquote(parsed.password or ""),
                database=unquote(parsed.path.lstrip("/")) or None,
                charset=options.get("charset", "utf8mb4"),
                autocommit=True,
                connect_timeout=timeout,
                read_timeout=query_timeout,
                write_timeout=query_timeout,
            )
        elif scheme == "sqlite":
            self.dialect = "sqlite"
            # sqlite:///relative.db and sqlite:////absolute.db, as SQLAlchemy reads them.
            self.path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else parsed.path
            # How long a writer waits for SQLite's lock before the request answers 100004.
            self._timeout = max(timeout, query_timeout)
            self._local = threading.local()
        else:
            raise ValueError("OCTETH_DATABASE_URL must start with mysql:// or sqlite:///")

    def failed(self, exc: BaseException) -> None:
        """Raise what driver error ``exc`` means (return if it is no driver error); remember a
        MySQL outage so that the next requests fail fast."""
        error = _translated(exc)
        if error is None:
            return
        if isinstance(error, DatabaseUnavailable) and not isinstance(error, SchemaMissing) and self.dialect == "mysql":
            self._down_until = time.monotonic() + self.UNAVAILABLE_BACKOFF
        raise error from exc

    @contextmanager
    def guard(self) -> Iterator[None]:
        """:meth:`failed` for a block."""
        try:
            yield
        except Exception as exc:
            self.failed(exc)
            raise

    def _sqlite_connection(self) -> sqlite3.Connection:
        # One connection per thread, kept and shared by that thread's sessions: opening SQLite is
        # cheap but not free, and a connection may not cross threads.
        raw = getattr(self._local, "raw", None)
        if raw is None:
            with self.guard():
                raw = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
                raw.row_factory = sqlite3.Row
                raw.execute("PRAGMA journal_mode=WAL")
                raw.execute("PRAGMA foreign_keys=ON")
            self._local.raw = raw
            self._local.users = 0
        self._local.users += 1
        return raw

    def _release_sqlite(self, raw: sqlite3.Connection) -> None:
        # Only the last session of the thread may end a transaction left open; an inner one
        # closing must not roll back the work of the session around it.
        self._local.users -= 1
        if self._local.users == 0 and raw.in_transaction:
            raw.rollback()

    def connect(self) -> Connection:
        """Check out a connection; :meth:`Connection.close` gives it back."""
        if self.dialect == "mysql":
            if time.monotonic() < self._down_until:
                raise DatabaseUnavailable("MySQL unavailable (failed moments ago)")
            with self.guard():
                raw = self._pool.connection()
            return Connection(self, raw)
        return Connection(self, self._sqlite_connection())

    @contextmanager
    def session(self) -> Iterator[Connection]:
        connection = self.connect()
        try:
            yield connection
        finally:
            connection.close()

    def ping(self) -> None:
        """Raise :class:`DatabaseUnavailable` unless a trivial query succeeds."""
        with self.session() as connection:
            connection.one("SELECT 1 AS ok")

    def upgrade(self, schema_root: Path = SCHEMA_ROOT) -> list[str]:
        """Apply, in file-name order, the schema files of this dialect not applied yet.

        Each applied file is recorded in ``{p}schema_migrations``, so running it again is safe.
        Returns the versions applied by this call.
        """
        applied = []
        with self.session() as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS {p}schema_migrations ("
                " Version VARCHAR(64) NOT NULL PRIMARY KEY, AppliedAt VARCHAR(19) NOT NULL)"
            )
            done = {row["Version"] for row in connection.query("SELECT Version FROM {p}schema_migrations")}
            for path in sorted((schema_root / self.dialect).glob("*.sql")):
                if path.stem in done:
                    continue
                connection.script(path.read_text())
                connection.execute(
                    "INSERT INTO {p}schema_migrations (Version, AppliedAt) VALUES (?, ?)",
                    (path.stem, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())),
                )
                applied.append(path.stem)
        return applied


def get_db() -> Connection:
    """The request's connection, checked out on first use and given back at teardown."""
    if "db" not in g:
        g.db = current_app.extensions["octeth_db"].connect()
    return g.db


def _close_db(_exc: BaseException | None = None) -> None:
    connection = g.pop("db", None)
    if connection is not None:
        connection.close()


def init_app(app: Flask) -> Database:
    config = app.config
    database = Database(
        config["OCTETH_DATABASE_URL"],
        prefix=config["OCTETH_TABLE_PREFIX"],
        timeout=config["OCTETH_DATABASE_TIMEOUT"],
        pool_size=config["OCTETH_DATABASE_POOL_SIZE"],
        query_timeout=config["OCTETH_DATABASE_QUERY_TIMEOUT"],
    )
    app.extensions["octeth_db"] = database
    app.teardown_appcontext(_close_db)
    return database
