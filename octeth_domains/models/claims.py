"""Re-verification claims (``{p}reverify_claims``): the SQL that lets any number of ``reverify``
runners split the Enabled domains between them.

A domain is *due* for a run when it is Enabled and its last background probe was recorded before
the run's cut-off (its start minus ``--interval``). A runner claims due domains a page at a time in
DomainID order (keyset: ``DomainID > after``), stamping each with its batch's token and an expiry;
recording the probe clears the claim, on the condition that the token is still the runner's.
All times are milliseconds on the database's clock (:func:`clock_ms`).
"""
from __future__ import annotations

import sqlite3
import time
from typing import Any

import pymysql

from ..db import Connection
from .senderdomains import _COLUMNS

_DOMAIN_COLUMNS = ", ".join(f"d.{name.strip()}" for name in _COLUMNS.split(","))
_DUE = (
    " FROM {p}sender_domains d LEFT JOIN {p}reverify_claims c ON c.DomainID = d.DomainID"
    " WHERE d.Status = 'Enabled' AND d.DomainID > ?"
    " AND (c.DomainID IS NULL OR (c.LastProbedAt < ? AND c.ClaimExpiresAt < ?))"
)


def clock_ms(db: Connection) -> float:
    """The database's time, in milliseconds since 1970 (SQLite: this machine's, the only one)."""
    if db.dialect == "mysql":
        return float(db.one("SELECT UNIX_TIMESTAMP(NOW(6)) * 1000 AS now")["now"])
    return time.time() * 1000


def live_run_start(db: Connection, now: int) -> int | None:
    """The start of the earliest run that holds a claim now, None when no runner holds one."""
    row = db.one("SELECT MIN(RunStartedAt) AS started FROM {p}reverify_claims WHERE ClaimExpiresAt > ?", (now,))
    return int(row["started"]) if row and row["started"] is not None else None


def claim(db: Connection, token: str, *, after: int, limit: int, cutoff: int, now: int, expires: int,
          run_started: int) -> tuple[list[dict[str, Any]], int | None]:
    """Claim due domains among the next ``limit`` with DomainID above ``after`` for ``token``.

    Returns (their rows in DomainID order, the last DomainID looked at: where the next page
    starts; None when no due domain is left after ``after``). Domains another runner holds, or is
    claiming at this moment, are skipped, never waited for, so a page may claim fewer than it saw.
    """
    if db.dialect == "mysql":
        return _claim_mysql(db, token, after, limit, cutoff, now, expires, run_started)
    # SQLite: one statement picks and stamps the page; the write lock it takes first makes it atomic
    # against every other process. The stamped rows are then read back by their token.
    with db.transaction(lock=True):
        db.execute(
            "INSERT INTO {p}reverify_claims (DomainID, ClaimToken, ClaimExpiresAt, RunStartedAt)"
            f" SELECT d.DomainID, ?, ?, ?{_DUE} ORDER BY d.DomainID LIMIT ?"
            " ON CONFLICT (DomainID) DO UPDATE SET ClaimToken = excluded.ClaimToken,"
            " ClaimExpiresAt = excluded.ClaimExpiresAt, RunStartedAt = excluded.RunStartedAt",
            (token, expires, run_started, after, cutoff, now, limit),
        )
        rows = db.query(
            f"SELECT {_DOMAIN_COLUMNS} FROM {{p}}sender_domains d JOIN {{p}}reverify_claims c"
            " ON c.DomainID = d.DomainID WHERE c.ClaimToken = ? ORDER BY d.DomainID",
            (token,),
        )
    return rows, (int(rows[-1]["DomainID"]) if rows else None)


def _claim_mysql(db: Connection, token: str, after: int, limit: int, cutoff: int, now: int, expires: int,
                 run_started: int) -> tuple[list[dict[str, Any]], int | None]:
    # Only claim rows are ever locked here, never sender_domains rows, and each in its own short
    # statement: a LEFT JOIN that skips a locked claim row would take the domain for unclaimed.
    # 1. The page's candidates, by a plain (non-locking) read.
    candidates = db.query(
        f"SELECT d.DomainID, c.DomainID AS Known{_DUE} ORDER BY d.DomainID LIMIT ?", (after, cutoff, now, limit))
    if not candidates:
        return [], None
    ids = [int(row["DomainID"]) for row in candidates]
    # 2. A claim row for each domain never claimed before, so that there is a row to lock.
    new = [domain_id for domain_id, row in zip(ids, candidates) if row["Known"] is None]
    if new:
        db.execute("INSERT IGNORE INTO {p}reverify_claims (DomainID) VALUES " + ", ".join(["(?)"] * len(new)), new)
    # 3. Lock what is still due (another runner may have claimed some since step 1), skip what is
    # locked, stamp it. READ COMMITTED: rows looked at but not claimed are not left locked.
    marks = ", ".join(["?"] * len(ids))
    db.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
    with db.transaction():
        locked = [int(row["DomainID"]) for row in db.query(
            f"SELECT DomainID FROM {{p}}reverify_claims WHERE DomainID IN ({marks}) AND LastProbedAt < ?"
            " AND ClaimExpiresAt < ? FOR UPDATE SKIP LOCKED", (*ids, cutoff, now))]
        if locked:
            db.execute(
                "UPDATE {p}reverify_claims SET ClaimToken = ?, ClaimExpiresAt = ?, RunStartedAt = ?"
                f" WHERE DomainID IN ({', '.join(['?'] * len(locked))})",
                (token, expires, run_started, *locked))
    if not locked:
        return [], ids[-1]
    rows = db.query(
        f"SELECT {_COLUMNS} FROM {{p}}sender_domains WHERE DomainID IN ({', '.join(['?'] * len(locked))})"
        " AND Status = 'Enabled' ORDER BY DomainID", locked)
    gone = set(locked) - {int(row["DomainID"]) for row in rows}
    if gone:  # no longer Enabled since step 1: nothing to probe, let the claims go
        for domain_id in gone:
            release(db, domain_id, token)
    return rows, ids[-1]


def release(db: Connection, domain_id: int, token: str) -> None:
    """Give a claim up without a probe."""
    db.execute("UPDATE {p}reverify_claims SET ClaimToken = NULL, ClaimExpiresAt = 0"
               " WHERE DomainID = ? AND ClaimToken = ?", (domain_id, token))


def is_conflict(error: BaseException) -> bool:
    """Whether ``error`` is a transaction the database gave up to break a deadlock or a lock wait
    (MariaDB), or a lock it could not get in time (SQLite): trying again is the remedy."""
    cause = error.__cause__
    if isinstance(cause, pymysql.err.OperationalError) and cause.args and cause.args[0] in (1205, 1213):
        return True
    return isinstance(cause, sqlite3.OperationalError) and "locked" in str(cause).lower()


def finish_many(db: Connection, claimed: list[tuple[int, str]], probed_at: int) -> set[int]:
    """Release the claims of these ``(DomainID, token)`` and note when they were probed; returns the
    DomainIDs whose claim was still their token's (the others expired and another runner took them
    over). The claims are locked before they are checked, so none changes hands between the two;
    inside the transaction that records the probes, this is what makes a strike conditional on
    the claim."""
    held: set[int] = set()
    tokens = dict(claimed)
    ids = sorted(tokens)
    # One locking read of all of them, in DomainID order (as every other writer locks them), so
    # that two runners recording at once cannot deadlock on each other's rows.
    lock = " FOR UPDATE" if db.dialect == "mysql" else ""
    rows = db.query(f"SELECT DomainID, ClaimToken FROM {{p}}reverify_claims"
                    f" WHERE DomainID IN ({', '.join(['?'] * len(ids))}) ORDER BY DomainID{lock}", ids)
    by_token: dict[str, list[int]] = {}
    for row in rows:
        if row["ClaimToken"] is not None and row["ClaimToken"] == tokens[int(row["DomainID"])]:
            by_token.setdefault(row["ClaimToken"], []).append(int(row["DomainID"]))
    for token, ours in by_token.items():
        db.execute(
            "UPDATE {p}reverify_claims SET ClaimToken = NULL, ClaimExpiresAt = 0, LastProbedAt = ?"
            f" WHERE ClaimToken = ? AND DomainID IN ({', '.join(['?'] * len(ours))})",
            (probed_at, token, *ours))
        held.update(ours)
    return held


def unfinished(db: Connection, cutoff: int) -> tuple[int, int | None]:
    """(how many, earliest expiry) of the claims still held, by any runner, on domains that are due
    for a run with this ``cutoff``: what a runner that found nothing left to claim waits for."""
    row = db.one(
        "SELECT COUNT(*) AS n, MIN(c.ClaimExpiresAt) AS expires FROM {p}reverify_claims c"
        " JOIN {p}sender_domains d ON d.DomainID = c.DomainID"
        " WHERE c.ClaimExpiresAt > 0 AND c.LastProbedAt < ? AND d.Status = 'Enabled'",
        (cutoff,),
    )
    count = int(row["n"]) if row else 0
    return count, (int(row["expires"]) if count else None)


def count_due(db: Connection, cutoff: int) -> int:
    """How many Enabled domains a run with this ``cutoff`` has to probe, claimed or not (for a
    progress bar: one query that counts, never the rows themselves)."""
    row = db.one(
        "SELECT COUNT(*) AS n FROM {p}sender_domains d LEFT JOIN {p}reverify_claims c ON c.DomainID = d.DomainID"
        " WHERE d.Status = 'Enabled' AND (c.DomainID IS NULL OR c.LastProbedAt < ?)",
        (cutoff,),
    )
    return int(row["n"]) if row else 0
