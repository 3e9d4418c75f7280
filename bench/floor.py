"""The floor of `make bench`: the fastest this stack (Flask, PyMySQL, gunicorn gthread, MariaDB) can
answer the product's two read paths. Not part of the product.

Two routes, each one SELECT on the product's own table and nothing else (no authentication, no
rate limit, no envelope):

- ``GET /floor/senderdomain?DomainID=N``  the get path's SELECT by primary key, the row as JSON;
- ``GET /floor/senderdomains?UserID=N``  the list path's SELECT of a user's rows, as a JSON list.

One PyMySQL connection per thread, kept for the life of the worker. Served by bench/run.py with
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

_URL = urlparse(os.environ["OCTETH_DATABASE_URL"])
_PREFIX = os.environ.get("OCTETH_TABLE_PREFIX", "oempro_")
# The product's column list (octeth_domains/models/senderdomains.py), so both read the same bytes.
_COLUMNS = (
    "DomainID, SenderDomain, RelUserID, CreatedAt, Status, VerificationMeta, PolicyMeta, Options,"
    " Approved, FailedChecks"
)
GET_SQL = f"SELECT {_COLUMNS} FROM {_PREFIX}sender_domains WHERE DomainID = %s"
LIST_SQL = (f"SELECT {_COLUMNS} FROM {_PREFIX}sender_domains"
            " WHERE RelUserID = %s AND Status <> 'Deleted' ORDER BY DomainID")

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


def _query(sql: str, value: int) -> list[dict]:
    with _connection().cursor() as cursor:
        cursor.execute(sql, (value,))
        return cursor.fetchall()


def _json(value: object) -> Response:
    def default(item: object) -> str:
        return item.strftime("%Y-%m-%d %H:%M:%S") if isinstance(item, datetime) else str(item)

    return Response(json.dumps(value, default=default, separators=(",", ":")), mimetype="application/json")


@app.get("/floor/senderdomain")
def get_one() -> Response:
    rows = _query(GET_SQL, int(request.args["DomainID"]))
    if not rows:
        return _json({"Success": False}), 404
    return _json({"Success": True, "SenderDomain": rows[0]})


@app.get("/floor/senderdomains")
def list_rows() -> Response:
    return _json({"Success": True, "SenderDomains": _query(LIST_SQL, int(request.args["UserID"]))})
