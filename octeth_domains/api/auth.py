"""Who is calling (SPEC §3): a Bearer header, a ``SessionID``, or an ``APIKey``, in that order.

A credential that is present but wrong fails the request; it never falls through to the next
kind, so that a stale session cannot be rescued by an API key that happens to be sent as well.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Request, current_app

from ..db import Connection
from ..models import users
from ..models.users import User
from .envelope import APIError, authentication_failed
from .params import Params


@dataclass(frozen=True)
class Caller:
    user: User
    via: str  # "bearer", "session" or "apikey": the dns.* commands read ``ApiKey`` by it
    session_id: str | None = None


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def authenticate(request: Request, params: Params, db: Connection) -> Caller | None:
    """The caller, None when no credential was sent; code 0 for a wrong one."""
    token = _bearer_token(request)
    if token is not None:
        user = users.user_by_api_key(db, token) if token else None
        if user is None:
            raise authentication_failed()
        return Caller(user, "bearer")
    if "SessionID" in params:
        session_id = params["SessionID"]
        user = None
        if isinstance(session_id, str) and session_id:
            idle = current_app.config["OCTETH_SESSION_IDLE_TIMEOUT"]
            user = users.user_by_session(db, session_id, idle)
        if user is None:
            raise authentication_failed()
        return Caller(user, "session", session_id)
    if "APIKey" in params:
        api_key = params["APIKey"]
        user = users.user_by_api_key(db, api_key) if isinstance(api_key, str) and api_key else None
        if user is None:
            raise authentication_failed()
        return Caller(user, "apikey")
    return None


def require_permission(user: User, permission: str | None) -> None:
    if permission and not user.can(permission):
        raise APIError(0, f"Permission denied: {permission} is required")
