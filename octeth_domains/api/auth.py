"""Who is calling (SPEC §3): a Bearer header, a ``SessionID``, or an ``APIKey``, in that order.

A credential that is present but wrong fails the request; it never falls through to the next
kind, so that a stale session cannot be rescued by an API key that happens to be sent as well.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from flask import Request, current_app

from ..db import Connection
from ..models import admins, users
from ..models.admins import Admin
from ..models.users import User
from .envelope import APIError, authentication_failed
from .params import Params, parse_id


@dataclass(frozen=True)
class Caller:
    # The user the command acts for: None only for an admin.* command, which names its users.
    user: User | None
    via: str  # "bearer", "session", "apikey" or "admin": the dns.* commands read ``ApiKey`` by it
    session_id: str | None = None
    admin: Admin | None = None  # the administrator calling, with AdminAPIKey


class _KeyCache:
    """API key → user for a few seconds, per process: most requests of a client come in bursts,
    and each would otherwise cost a query before any work. A rotated key or a changed group takes
    effect within ``OCTETH_AUTH_CACHE_SECONDS``. Keyed by the key's hash, never the key."""

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, User]] = {}
        self._lock = threading.Lock()

    def user(self, db: Connection, api_key: str, ttl: float) -> User | None:
        if ttl <= 0:
            return users.user_by_api_key(db, api_key)
        digest, now = users.token_hash(api_key), time.monotonic()
        with self._lock:
            entry = self._entries.get(digest)
        if entry is not None and entry[0] > now:
            return entry[1]
        user = users.user_by_api_key(db, api_key)
        if user is not None:  # a wrong key is never remembered: guessing stays a query each
            with self._lock:
                if len(self._entries) >= self.MAX_ENTRIES:
                    self._entries.clear()
                self._entries[digest] = (now + ttl, user)
        return user


def _user_by_api_key(db: Connection, api_key: str) -> User | None:
    cache = current_app.extensions.setdefault("octeth_key_cache", _KeyCache())
    return cache.user(db, api_key, current_app.config["OCTETH_AUTH_CACHE_SECONDS"])


def _bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None without one, or without a token."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _given(params: Params, name: str) -> Any:
    """The credential parameter ``name``; an empty or null one is absent (SPEC §3). Any other
    value that is not text (a number, a list) is present, and wrong."""
    value = params.get(name)
    return None if value is None or value == "" else value


def authenticate(request: Request, params: Params, db: Connection) -> Caller | None:
    """The caller, None when no credential was sent; code 0 for a wrong one."""
    token = _bearer_token(request)
    if token is not None:
        user = _user_by_api_key(db, token)
        if user is None:
            raise authentication_failed()
        return Caller(user, "bearer")
    session_id = _given(params, "SessionID")
    if session_id is not None:
        idle = current_app.config["OCTETH_SESSION_IDLE_TIMEOUT"]
        try:
            user = users.user_by_session(db, session_id, idle) if isinstance(session_id, str) else None
        except users.SessionExpired:
            raise authentication_failed(expired=True) from None
        if user is None:
            raise authentication_failed()
        return Caller(user, "session", session_id)
    api_key = _given(params, "APIKey")
    if api_key is not None:
        user = _user_by_api_key(db, api_key) if isinstance(api_key, str) else None
        if user is None:
            raise authentication_failed()
        return Caller(user, "apikey")
    return None


# Octeth's codes for the user an administrator names (its 5003, a sub-administrator's user outside
# its groups, has no counterpart here: every administrator may act on every user).
USER_ID_MISSING = (5001, "UserID is required")
USER_NOT_FOUND = (5002, "User not found")


def authenticate_admin(params: Params, db: Connection) -> Admin:
    """The administrator whose ``AdminAPIKey`` was sent; code 0 for none or a wrong one."""
    api_key = _given(params, "AdminAPIKey")
    admin = admins.admin_by_api_key(db, api_key) if isinstance(api_key, str) else None
    if admin is None:
        raise authentication_failed()
    return admin


def user_named_by_admin(raw: Any, db: Connection) -> User:
    """The user of the ``UserID`` an administrator sent (5001 without a usable id, 5002 none)."""
    user_id = parse_id(raw)
    if not user_id:
        raise APIError(*USER_ID_MISSING)
    user = users.user_by_id(db, user_id)
    if user is None:
        raise APIError(*USER_NOT_FOUND)
    return user


def wants_admin_access(params: Params) -> bool:
    """Octeth's ``Access`` on a command open to both kinds of credential: ``admin`` runs it as an
    administrator for the ``UserID`` named, ``user`` (or no ``Access``) as the user whose
    credential it carries. Octeth compares the value exactly: any other spelling (``Admin``,
    ``USER``, ``admin ``) fails authentication, however good the credential."""
    access = _given(params, "Access")
    if access is None or access == "user":
        return False
    if access == "admin":
        return True
    raise authentication_failed()


def require_permission(user: User, permission: str | None) -> None:
    if permission and not user.can(permission):
        raise APIError(0, f"Permission denied: {permission} is required")
