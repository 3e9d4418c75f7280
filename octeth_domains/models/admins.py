"""Administrators, the callers of the admin.* commands (Octeth's moderation of sender domains).

An administrator has a name and an ``AdminAPIKey``; the database keeps only the key's hash, as it
does for users. Every administrator may act on every user: this service has no sub-administrators
restricted to some user groups (Octeth's code 5003 never occurs).
"""
from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from ..db import Connection
from .users import new_token, token_hash


@dataclass(frozen=True)
class Admin:
    admin_id: int
    name: str


def create_admin(db: Connection, name: str) -> tuple[int, str]:
    """Insert an administrator; return (AdminID, AdminAPIKey). The key is shown this once."""
    api_key = new_token()
    _, admin_id = db.execute(
        "INSERT INTO {p}admins (Name, APIKeyHash, CreatedAt) VALUES (?, ?, ?)",
        (name, token_hash(api_key), time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())),
    )
    return int(admin_id), api_key


def rotate_admin_key(db: Connection, name: str) -> str | None:
    """Give the administrator a new key, revoking the old one; None if there is no such name."""
    api_key = new_token()
    count, _ = db.execute("UPDATE {p}admins SET APIKeyHash = ? WHERE Name = ?", (token_hash(api_key), name))
    return api_key if count else None


def admin_by_api_key(db: Connection, api_key: str) -> Admin | None:
    digest = token_hash(api_key)
    row = db.one("SELECT AdminID, Name, APIKeyHash FROM {p}admins WHERE APIKeyHash = ?", (digest,))
    if row is None or not hmac.compare_digest(row["APIKeyHash"], digest):
        return None
    return Admin(int(row["AdminID"]), row["Name"])
