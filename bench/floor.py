"""The floor of `make bench`: the fastest this stack (Flask, PyMySQL, gunicorn gthread, MariaDB) can
answer the product's two read paths. Not part of the product.

Two routes, each the product's own statement and nothing else (no authentication, no rate limit,
no envelope, no rendering beyond the rows as JSON):

- ``GET /floor/senderdomain?DomainID=N&UserID=U``  the get path's SELECT (the row by primary key,
  with the sums of its stats: Octeth v5.9.4's fields), the row as JSON;
- ``GET /floor/senderdomains?UserID=N``  the list path's SELECT of a user's rows with their stats
  and the list's version, as a JSON list.

The statements are imported from octeth_domains.models.senderdomains, so the floor reads what
the service reads, whatever the service's SQL becomes. One PyMySQL connection per thread, kept
for the life of the worker. Served by bench/run.py with
``gunicorn -c gunicorn.conf.py --pythonpath bench floor:app``, the product's settings.
"""
from __future__ import annotations

import json
import os
import threading
from datetime import datetime
from urllib.parse import unquote, urlparse

import pymysql
import pymysql.cursors
from flask import Flask, Response, request

from octeth_domains.db import _prepare
from octeth_domains.models import senderdomains, stats

_URL = urlparse(os.environ["OCTETH_DATABASE_URL"])
_PREFIX = os.environ.get("OCTETH_TABLE_PREFIX", "oempro_")


# As octeth_domains/db.py runs them on MariaDB: the prefix in, %s for ?.
GET_SQL = _prepare(senderdomains._GET_WITH_STATS, "mysql", _PREFIX)
LIST_SQL = _prepare(senderdomains._LIST, "mysql", _PREFIX)
_VERSION_PARTS = len(senderdomains._VERSION)

_local = threading.local()
app = Flask(__name__)


def _connection() -> pymysql.connections.Connection:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = pymysql.connect(
            host=_URL.hostname or "127.0.0.1",
            port=_URL.port or 3306,
            user=unquote(_URL.username or "root"),
            password=unquote(_URL.password or ""),
            database=unquote(_URL.path.lstrip("/")),
            charset="utf8mb4",
            autocommit=True,
            cursorclass=pymysql.cursors.DictCursor,
        )
        _local.connection = connection
    return connection


def _query(sql: str, args: tuple) -> list[dict]:
    with _connection().cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchall()


def _json(value: object) -> Response:
    def default(item: object) -> str:
        return item.strftime("%Y-%m-%d %H:%M:%S") if isinstance(item, datetime) else str(item)

    return Response(json.dumps(value, default=default, separators=(",", ":")), mimetype="application/json")


@app.get("/floor/senderdomain")
def get_one() -> Response:
    domain_id, user_id = int(request.args["DomainID"]), int(request.args["UserID"])
    rows = _query(GET_SQL, stats.window_args(stats.today()) + (domain_id, domain_id, user_id))
    if not rows:
        return _json({"Success": False}), 404
    return _json({"Success": True, "SenderDomain": rows[0]})


@app.get("/floor/senderdomains")
def list_rows() -> Response:
    user_id = int(request.args["UserID"])
    args = (user_id,) * _VERSION_PARTS + stats.window_args(stats.today()) + (user_id, user_id)
    return _json({"Success": True, "SenderDomains": _query(LIST_SQL, args)})
