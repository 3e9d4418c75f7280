"""Sender domains: the row of SPEC §5 and its SQL."""
from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from ..db import Connection
from ..senderdomains.templates import RECORD_TYPES
from . import stats

APPROVAL_PENDING = "Approval Pending"
ENABLED = "Enabled"
DISABLED = "Disabled"
SUSPENDED = "Suspended"
BLOCKED = "Blocked"
DELETED = "Deleted"
STATUSES = (APPROVAL_PENDING, ENABLED, DISABLED, SUSPENDED, BLOCKED, DELETED)
# An administrator's decisions, which the user can neither undo nor route around.
PROTECTED = (SUSPENDED, BLOCKED)

_COLUMNS = (
    "DomainID, SenderDomain, RelUserID, CreatedAt, Status, VerificationMeta, PolicyMeta, Options,"
    " Approved, FailedChecks, LastVerifiedAt"
)
_OPTION_ORDER = ("LinkTracking", "OpenTracking", "UnsubscribeLink", "CustomSubdomain", "CustomTrackPrefix",
                 "TrackPrefixDisabled")
_LABELS = ("CustomSubdomain", "CustomTrackPrefix")
# An entry of a type no template makes could be neither verified nor published.
_RECORD_TYPES = RECORD_TYPES


def decode(text: str | None) -> Any:
    return json.loads(text) if text else {}


def encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _php_json(value: Any) -> Any:
    # The PHP product stored these with json_encode, where an empty map is [].
    return value if value else []


def _timestamp(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(" ", "seconds")
    return str(value)


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


def ordered_options(options: dict[str, Any]) -> dict[str, Any]:
    """Options in the order the seed shows them; unknown keys (an older release's) kept after."""
    known = {key: options[key] for key in _OPTION_ORDER if key in options}
    return {**known, **{key: value for key, value in options.items() if key not in known}}


def _readable_record(item: Any) -> list | None:
    # Rows migrated from the PHP product, or written by hand, may hold anything here; an entry
    # that is not [type, value] or [type, value, flag] is absent to every command (it stays
    # stored), and a flag that is not a boolean or null reads as not verified.
    if not (isinstance(item, list) and len(item) in (2, 3) and isinstance(item[0], str)
            and item[0].upper() in _RECORD_TYPES and isinstance(item[1], str)):
        return None
    if len(item) == 3 and not (item[2] is None or isinstance(item[2], bool)):
        return [item[0], item[1], False]
    return item


def _records_in(meta: Any) -> dict[str, list]:
    """``DNSRecords`` of a decoded ``VerificationMeta`` as the service reads them: the entries
    it can read, and only those."""
    records = meta.get("DNSRecords") if isinstance(meta, dict) else None
    if not isinstance(records, dict):
        return {}
    readable = {host: _readable_record(item) for host, item in records.items()}
    return {host: item for host, item in readable.items() if item is not None}


def records_of(row: dict[str, Any]) -> dict[str, list]:
    return _records_in(decode(row["VerificationMeta"]))


def with_records(meta: Any, records: dict[str, list]) -> dict[str, Any]:
    """``meta`` with its readable ``DNSRecords`` entries replaced by ``records``; the entries the
    service cannot read are kept where they were, for whoever can."""
    meta = dict(meta) if isinstance(meta, dict) else {}
    stored = meta.get("DNSRecords") if isinstance(meta.get("DNSRecords"), dict) else {}
    merged = {host: records.get(host, item) for host, item in stored.items()
              if host in records or _readable_record(item) is None}
    merged.update(records)
    meta["DNSRecords"] = merged
    return meta


def readable_options(options: Any) -> dict[str, Any]:
    """Decoded ``Options`` as the service reads them: not an object is no options, and a label
    that is not text is no label (the settings' default)."""
    if not isinstance(options, dict):
        return {}
    if all(isinstance(options[name], (str, type(None))) for name in _LABELS if name in options):
        return options  # a null label (the PHP product may write one) is no label already
    return {key: value for key, value in options.items()
            if key not in _LABELS or isinstance(value, (str, type(None)))}


def options_of(row: dict[str, Any]) -> dict[str, Any]:
    return readable_options(decode(row["Options"]))


def _readable_meta(meta: Any) -> Any:
    # As the commands read it; a well-formed meta (the PHP product's empty [] maps included) is
    # answered as stored, to the byte.
    if not isinstance(meta, dict):
        return {}
    records = meta.get("DNSRecords", {})
    # _readable_record answers a well-formed entry itself: by identity, not ==, since 0 == False.
    if records == [] or (isinstance(records, dict)
                         and all(item is not None and _readable_record(item) is item for item in records.values())):
        return meta
    return {**meta, "DNSRecords": _records_in(meta)}


def as_seed_object(row: dict[str, Any]) -> dict[str, Any]:
    """The ``SenderDomain`` object exactly as the seed shows it: ids as strings, metas decoded.

    A row read with its stats (list and get) also carries what Octeth v5.9.4 added to those two
    answers only: ``LastVerifiedAt`` after ``Status``, the operational fields after ``Options``.
    create and update answer the seed's keys and nothing else, as Octeth's do."""
    listed = "Sent7" in row
    seed = {
        "DomainID": str(row["DomainID"]),
        "SenderDomain": row["SenderDomain"],
        "UserID": str(row["RelUserID"]),
        "CreatedAt": _timestamp(row["CreatedAt"]),
        "Status": row["Status"],
    }
    if listed:
        seed["LastVerifiedAt"] = None if row.get("LastVerifiedAt") is None else _timestamp(row["LastVerifiedAt"])
    seed.update({
        "VerificationMeta": _php_json(_readable_meta(decode(row["VerificationMeta"]))),
        "PolicyMeta": _php_json(decode(row["PolicyMeta"])),
        "Options": _php_json(options_of(row)),
    })
    if listed:
        seed.update(stats.operational_fields(row))
    return seed


# What changes whenever any of a user's rows is written, deleted ones included: an insert adds a
# row and a higher DomainID, and every write adds one to a row's Revision (save()). Nothing deletes
# rows, so the three never come back to earlier values together.
_VERSION = {"n": "COUNT(*)", "revisions": "COALESCE(SUM(Revision), 0)", "newest": "COALESCE(MAX(DomainID), 0)"}
_OF_USER = " FROM {p}sender_domains WHERE RelUserID = ?"
_LIST_VERSION = "SELECT " + ", ".join(f"{expr} AS {name}" for name, expr in _VERSION.items()) + _OF_USER
_LIST = (
    f"SELECT {_COLUMNS}, {stats.SELECT_SUMS}, "
    + ", ".join(f"(SELECT {expr}{_OF_USER}) AS {name}" for name, expr in _VERSION.items())
    + f" FROM {{p}}sender_domains LEFT JOIN ({stats.STATS_OF_USER}) st ON st.StatsDomainID = DomainID"
    + " WHERE RelUserID = ? AND Status <> 'Deleted' ORDER BY DomainID"
)
_GET_WITH_STATS = (
    f"SELECT {_COLUMNS}, {stats.SELECT_SUMS} FROM {{p}}sender_domains"
    f" LEFT JOIN ({stats.STATS_OF_DOMAIN}) st ON st.StatsDomainID = DomainID"
    " WHERE DomainID = ? AND RelUserID = ? AND Status <> 'Deleted'"
)


def _version(row: dict[str, Any]) -> tuple[int, int, int]:
    return int(row["n"]), int(row["revisions"]), int(row["newest"])


def list_version(db: Connection, user_id: int) -> tuple[int, int, int]:
    """A value that differs after any write to the user's domains (one index-only query)."""
    return _version(db.one(_LIST_VERSION, (user_id,)))


def list_for_user(db: Connection, user_id: int, day=None) -> tuple[list[dict[str, Any]], tuple[int, int, int] | None]:
    """The user's domains that are not deleted, oldest first, with the sums of their stats as of
    ``day`` (default today, UTC), and the :func:`list_version` they are (None when there are none),
    read in one statement so that the two agree."""
    window = stats.window_args(day or stats.today())
    rows = db.query(_LIST, (user_id,) * len(_VERSION) + window + (user_id, user_id))
    return rows, (_version(rows[0]) if rows else None)


def get_owned(db: Connection, domain_id: int | None, user_id: int, lock: bool = False) -> dict[str, Any] | None:
    """The user's domain ``domain_id`` unless deleted; None for anyone else's, exactly as for a
    missing one. ``lock`` holds the row until the transaction ends (MySQL; SQLite's
    ``BEGIN IMMEDIATE`` already holds the whole database)."""
    if domain_id is None:
        return None
    suffix = " FOR UPDATE" if lock and db.dialect == "mysql" else ""
    return db.one(
        f"SELECT {_COLUMNS} FROM {{p}}sender_domains"
        f" WHERE DomainID = ? AND RelUserID = ? AND Status <> 'Deleted'{suffix}",
        (domain_id, user_id),
    )


def get_owned_with_stats(db: Connection, domain_id: int | None, user_id: int, day=None) -> dict[str, Any] | None:
    """:func:`get_owned` with the sums of the domain's stats as of ``day`` (default today, UTC)."""
    if domain_id is None:
        return None
    window = stats.window_args(day or stats.today())
    return db.one(_GET_WITH_STATS, window + (domain_id, domain_id, user_id))


def get_by_id(db: Connection, domain_id: int, lock: bool = False) -> dict[str, Any] | None:
    suffix = " FOR UPDATE" if lock and db.dialect == "mysql" else ""
    return db.one(f"SELECT {_COLUMNS} FROM {{p}}sender_domains WHERE DomainID = ?{suffix}", (domain_id,))


def lock_user(db: Connection, user_id: int) -> None:
    """Serialize the user's creates: every check-then-insert of theirs waits for the one before."""
    if db.dialect == "mysql":
        db.one("SELECT UserID FROM {p}users WHERE UserID = ? FOR UPDATE", (user_id,))


def find_pair(db: Connection, domain: str, user_id: int) -> dict[str, Any] | None:
    """The user's row for ``domain`` in any status, deleted ones included."""
    return db.one(
        f"SELECT {_COLUMNS} FROM {{p}}sender_domains WHERE SenderDomain = ? AND RelUserID = ?",
        (domain, user_id),
    )


def count_active(db: Connection, user_id: int) -> int:
    row = db.one(
        "SELECT COUNT(*) AS n FROM {p}sender_domains WHERE RelUserID = ? AND Status <> 'Deleted'", (user_id,)
    )
    return int(row["n"])


def insert(db: Connection, domain: str, user_id: int, status: str, meta: dict, options: dict) -> int:
    _, domain_id = db.execute(
        "INSERT INTO {p}sender_domains (SenderDomain, RelUserID, CreatedAt, Status, VerificationMeta,"
        " PolicyMeta, Options) VALUES (?, ?, ?, ?, ?, '[]', ?)",
        (domain, user_id, now(), status, encode(meta), encode(options)),
    )
    return int(domain_id)


def save(db: Connection, domain_id: int, *, status: str | None = None, meta: dict | None = None,
         options: dict | None = None, failed_checks: int | None = None, approved: bool | None = None,
         last_verified_at: str | None = None) -> None:
    """Write the given columns of one row; the others are left as they are."""
    columns = {"Status": status, "VerificationMeta": None if meta is None else encode(meta),
               "Options": None if options is None else encode(options), "FailedChecks": failed_checks,
               "Approved": None if approved is None else int(approved), "LastVerifiedAt": last_verified_at}
    changes = {name: value for name, value in columns.items() if value is not None}
    if changes:
        assignments = ", ".join(f"{name} = ?" for name in changes)
        # Revision tells cached lists that this row changed (list_version()). On MySQL a trigger
        # does the same for every writer (sql/mysql/0003); SQLite has only this.
        assignments += ", Revision = Revision + 1"
        db.execute(f"UPDATE {{p}}sender_domains SET {assignments} WHERE DomainID = ?",
                   (*changes.values(), domain_id))


def pending_for_user(db: Connection, user_id: int, limit: int) -> list[dict[str, Any]]:
    return db.query(
        f"SELECT {_COLUMNS} FROM {{p}}sender_domains WHERE RelUserID = ? AND Status = 'Approval Pending'"
        " ORDER BY DomainID LIMIT ?",
        (user_id, limit),
    )


_QUALIFIED = ", ".join("d." + column.strip() for column in _COLUMNS.split(","))


def moderation_queue(db: Connection, statuses: tuple[str, ...], offset: int, limit: int
                     ) -> tuple[list[dict[str, Any]], int]:
    """The installation's domains in ``statuses``, oldest first, each with its owner's Username,
    EmailAddress and RelUserGroupID, one page of them; and how many there are in all."""
    marks = ", ".join("?" for _ in statuses)
    rows = db.query(
        f"SELECT {_QUALIFIED}, u.Username, u.EmailAddress, u.RelUserGroupID FROM {{p}}sender_domains d"
        f" JOIN {{p}}users u ON u.UserID = d.RelUserID WHERE d.Status IN ({marks})"
        " ORDER BY d.CreatedAt, d.DomainID LIMIT ? OFFSET ?",
        (*statuses, limit, offset),
    )
    total = db.one(f"SELECT COUNT(*) AS n FROM {{p}}sender_domains d JOIN {{p}}users u ON u.UserID = d.RelUserID"
                   f" WHERE d.Status IN ({marks})", statuses)
    return rows, int(total["n"]) if total else 0


def enabled_domains(db: Connection) -> list[dict[str, Any]]:
    return db.query(f"SELECT {_COLUMNS} FROM {{p}}sender_domains WHERE Status = 'Enabled' ORDER BY DomainID")


def save_probes(db: Connection, probes: list[tuple[int, str, dict, dict | None]]) -> None:
    """Keep the last probe of each domain, ``(DomainID, CheckedAt, Diagnostics, Health)``, in one
    statement (one row per domain). A ``Health`` of None (the probe did not check it) keeps the
    health stored before."""
    if not probes:
        return
    rows = ", ".join(["(?, ?, ?, ?)"] * len(probes))
    if db.dialect == "mysql":
        sql = (f"INSERT INTO {{p}}sender_domain_probes (DomainID, CheckedAt, Probe, Health) VALUES {rows}"
               # Health first: MariaDB evaluates these in order, and Probe must still be the old
               # one. A health inside Probe was written by a release before 0007 (this one never
               # puts it there), later than the column, so it comes before the column.
               " ON DUPLICATE KEY UPDATE Health = COALESCE(VALUES(Health), JSON_EXTRACT(Probe, '$.Health'), Health),"
               " CheckedAt = VALUES(CheckedAt), Probe = VALUES(Probe)")
    else:
        sql = (f"INSERT INTO {{p}}sender_domain_probes (DomainID, CheckedAt, Probe, Health) VALUES {rows}"
               " ON CONFLICT (DomainID) DO UPDATE SET CheckedAt = excluded.CheckedAt, Probe = excluded.Probe,"
               " Health = COALESCE(excluded.Health, json_extract(Probe, '$.Health'), Health)")
    db.execute(sql, [value for domain_id, checked_at, diagnostics, health in probes
                     for value in (domain_id, checked_at, encode({"Diagnostics": diagnostics}),
                                   None if health is None else encode(health))])


def mark_verified(db: Connection, domain_ids: list[int], at: str) -> None:
    """Set ``LastVerifiedAt`` of these rows, nothing else (the probe changed nothing in them)."""
    if domain_ids:
        db.execute(f"UPDATE {{p}}sender_domains SET LastVerifiedAt = ?, Revision = Revision + 1"
                   f" WHERE DomainID IN ({', '.join(['?'] * len(domain_ids))})", (at, *domain_ids))


def last_probe(db: Connection, domain_id: int) -> dict | None:
    """``{"Diagnostics": ..., "Health": ...}`` of the domain's last probe, None before the first."""
    row = db.one("SELECT Probe, Health FROM {p}sender_domain_probes WHERE DomainID = ?", (domain_id,))
    probe = decode(row["Probe"]) if row else None
    if not isinstance(probe, dict):
        return None
    # A health inside Probe was written by a release before 0007, later than the column.
    if "Health" not in probe and row["Health"] is not None:
        probe["Health"] = decode(row["Health"])
    return probe
