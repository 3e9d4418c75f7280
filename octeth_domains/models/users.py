"""Users, their groups and their sessions: the SQL behind authentication and the CLI."""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from ..db import Connection

@functools.cache
def _dummy_password_hash() -> str:
    """Checked against when a username does not exist, so that a miss costs as long as a wrong
    password. Made at the first sign-in, not at import: one scrypt hash (0.1 s and more) was paid
    by every process that imports this module, every CLI command and gunicorn worker included."""
    return generate_password_hash(secrets.token_hex(8))


@dataclass(frozen=True)
class User:
    user_id: int
    username: str
    email: str
    group_id: int
    group_name: str
    permissions: frozenset[str]
    sender_domain_limit: int
    dns_template: str
    manual_approval: bool
    default_sender_domain: str

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def info(self) -> dict[str, Any]:
        """The ``UserInfo`` object of ``user.login``, in the shape of Octeth's (``UserID`` a number,
        ``FirstName``, ``LastName``, ``AccountStatus``), then the group; never a hash or a key.
        This service keeps no names, and every account it has may sign in."""
        return {
            "UserID": self.user_id,
            "Username": self.username,
            "EmailAddress": self.email,
            "FirstName": "",
            "LastName": "",
            "AccountStatus": "Enabled",
            "RelUserGroupID": str(self.group_id),
            "GroupName": self.group_name,
        }


def token_hash(token: str) -> str:
    """What the database keeps of an API key or session id. The tokens are 160+ random bits,
    so a fast hash is enough; the point is that a copy of the table opens no account."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    return secrets.token_hex(20)


def parse_permissions(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


_USER_SELECT = (
    "SELECT u.UserID, u.Username, u.EmailAddress, u.PasswordHash, u.APIKeyHash, u.RelUserGroupID,"
    " g.GroupName, g.Permissions, g.SenderDomainLimit, g.DNSTemplate, g.ManualApproval,"
    " g.DefaultSenderDomain"
    " FROM {p}users u JOIN {p}user_groups g ON g.UserGroupID = u.RelUserGroupID"
)


def _user(row: dict[str, Any]) -> User:
    return User(
        user_id=int(row["UserID"]),
        username=row["Username"],
        email=row["EmailAddress"],
        group_id=int(row["RelUserGroupID"]),
        group_name=row["GroupName"],
        permissions=parse_permissions(row["Permissions"]),
        sender_domain_limit=int(row["SenderDomainLimit"]),
        dns_template=row["DNSTemplate"],
        manual_approval=bool(row["ManualApproval"]),
        default_sender_domain=row["DefaultSenderDomain"],
    )


def create_group(
    db: Connection,
    name: str,
    permissions: frozenset[str] | set[str] = frozenset({"User.Update"}),
    sender_domain_limit: int = 0,
    dns_template: str = "Default",
    manual_approval: bool = False,
    default_sender_domain: str = "",
) -> int:
    _, group_id = db.execute(
        "INSERT INTO {p}user_groups (GroupName, Permissions, SenderDomainLimit, DNSTemplate,"
        " ManualApproval, DefaultSenderDomain) VALUES (?, ?, ?, ?, ?, ?)",
        (
            name,
            ",".join(sorted(permissions)),
            sender_domain_limit,
            dns_template,
            int(manual_approval),
            default_sender_domain,
        ),
    )
    return int(group_id)


def group_id_by_name(db: Connection, name: str) -> int | None:
    row = db.one("SELECT UserGroupID FROM {p}user_groups WHERE GroupName = ?", (name,))
    return int(row["UserGroupID"]) if row else None


def create_user(db: Connection, username: str, password: str, group_id: int, email: str = "") -> tuple[int, str]:
    """Insert a user; return (UserID, API key). The key is shown this once and stored hashed."""
    return insert_user(db, username, generate_password_hash(password), group_id, email)


def insert_user(db: Connection, username: str, password_hash: str, group_id: int,
                email: str = "") -> tuple[int, str]:
    """``create_user`` with the password already hashed: the hash is the slow part (scrypt, about
    0.1 s), and the tests create hundreds of users with one password, hashed once."""
    api_key = new_token()
    _, user_id = db.execute(
        "INSERT INTO {p}users (Username, EmailAddress, PasswordHash, APIKeyHash, RelUserGroupID,"
        " CreatedAt) VALUES (?, ?, ?, ?, ?, ?)",
        (
            username,
            email,
            password_hash,
            token_hash(api_key),
            group_id,
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        ),
    )
    return int(user_id), api_key


def rotate_api_key(db: Connection, username: str) -> str | None:
    """Give the user a new API key, revoking the old one; None if there is no such user."""
    api_key = new_token()
    count, _ = db.execute(
        "UPDATE {p}users SET APIKeyHash = ? WHERE Username = ?", (token_hash(api_key), username)
    )
    return api_key if count else None


def user_by_id(db: Connection, user_id: int) -> User | None:
    row = db.one(_USER_SELECT + " WHERE u.UserID = ?", (user_id,))
    return _user(row) if row else None


def user_by_api_key(db: Connection, api_key: str) -> User | None:
    digest = token_hash(api_key)
    row = db.one(_USER_SELECT + " WHERE u.APIKeyHash = ?", (digest,))
    if row is None or not hmac.compare_digest(row["APIKeyHash"], digest):
        return None
    return _user(row)


def login_row(db: Connection, username: str) -> dict[str, Any] | None:
    """The account ``user.login``'s ``Username`` names: "Username or email address" (Octeth's
    users page). The username first; an address only when exactly one account has it, as given
    or in lower case (indexed: an unknown address costs no scan of the accounts); two accounts
    sharing one could not tell whose it is."""
    row = db.one(_USER_SELECT + " WHERE u.Username = ?", (username,))
    if row is None and "@" in username:
        address = username.strip()
        found = db.query(_USER_SELECT + " WHERE u.EmailAddress IN (?, ?) LIMIT 2", (address, address.lower()))
        row = found[0] if len(found) == 1 else None
    return row


def login_name(row: dict[str, Any] | None, username: str) -> str:
    """The name a sign-in for ``username`` is counted under: the account's own username when
    :func:`login_row` found one (by an address, or by MariaDB's PAD SPACE collation, which
    ignores trailing spaces), else the name as that comparison sees it."""
    return row["Username"] if row else username.rstrip(" ")


def user_by_password(row: dict[str, Any] | None, password: str) -> User | None:
    """The user of ``row`` (from :func:`login_row`) if ``password`` is theirs."""
    stored = row["PasswordHash"] if row and row["PasswordHash"] else _dummy_password_hash()
    # scrypt keys its HMAC with the password padded with zero bytes, so "pw\0" would hash as "pw":
    # no password holds a NUL (the hash is still computed, so refusing one costs the same time).
    if not check_password_hash(stored, password) or "\x00" in password or row is None:
        return None
    return _user(row)


def create_session(db: Connection, user_id: int) -> str:
    session_id = secrets.token_hex(32)
    now = int(time.time())
    db.execute(
        "INSERT INTO {p}sessions (SessionHash, RelUserID, CreatedAt, LastSeenAt) VALUES (?, ?, ?, ?)",
        (token_hash(session_id), user_id, now, now),
    )
    return session_id


class SessionExpired(Exception):
    """The session existed but was idle longer than allowed; it is gone now."""


def user_by_session(db: Connection, session_id: str, idle_timeout: int) -> User | None:
    """The session's user if it has been used within ``idle_timeout`` seconds; that use is noted.
    None for an unknown session; :class:`SessionExpired` for one that was idle too long."""
    digest = token_hash(session_id)
    row = db.one(
        "SELECT SessionHash, RelUserID, LastSeenAt FROM {p}sessions WHERE SessionHash = ?", (digest,)
    )
    if row is None or not hmac.compare_digest(row["SessionHash"], digest):
        return None
    now = int(time.time())
    if now - int(row["LastSeenAt"]) > idle_timeout:
        db.execute("DELETE FROM {p}sessions WHERE SessionHash = ?", (digest,))
        raise SessionExpired()
    # Writing on every request would make each read a write; a minute's precision is plenty.
    if now - int(row["LastSeenAt"]) >= min(60, idle_timeout // 2):
        db.execute("UPDATE {p}sessions SET LastSeenAt = ? WHERE SessionHash = ?", (now, digest))
    return user_by_id(db, int(row["RelUserID"]))


def end_session(db: Connection, session_id: str) -> bool:
    count, _ = db.execute("DELETE FROM {p}sessions WHERE SessionHash = ?", (token_hash(session_id),))
    return count > 0
