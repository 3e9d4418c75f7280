"""user.login and user.logout (SPEC §3)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema

from ..api import limits
from ..api.auth import Caller
from ..api.envelope import APIError
from ..api.params import Text
from ..api.registry import command
from ..db import get_db
from ..models import users


INVALID_LOGIN = (3, "Invalid login information")  # Octeth's words, as its users page shows


class LoginSchema(Schema):
    Username = Text(metadata={"missing": (1, "Missing username"), "invalid": INVALID_LOGIN})
    Password = Text(metadata={"missing": (2, "Missing password"), "invalid": INVALID_LOGIN})
    APIKey = Text(metadata={"missing": INVALID_LOGIN})


@command(
    "user.login",
    rest=("POST", "user.login"),
    permission=None,
    schema=LoginSchema,
    authenticated=False,
    errors=[(2, "Missing password"), (3, "Invalid credentials"),
            (4, "Too many failed sign-in attempts for this username; try again later", 429)],
)
def login(args: dict[str, Any], caller: None) -> dict[str, Any]:
    """``Username`` + ``Password``, ``Username`` + the user's ``APIKey``, or an ``APIKey`` alone
    (Octeth's authorization page): each trades for a session."""
    db = get_db()
    username, password, api_key = args.get("Username"), args.get("Password"), args.get("APIKey")
    if username is None:
        if not api_key:
            # Every missing field at once, as Octeth's error-handling page shows for this command.
            raise APIError(1, "Missing username", also=((2, "Missing password"),) if not password else ())
        # A key is 160 random bits: the per-address rate limit is brake enough, no name to lock.
        user = users.user_by_api_key(db, api_key)
        if user is None:
            raise APIError(*INVALID_LOGIN)
    else:
        if not password and not api_key:
            raise APIError(2, "Missing password")
        # Failures count under the name the database matches ("bob  " finds bob on MariaDB),
        # so that spelling a name differently buys no fresh attempts.
        row = users.login_row(db, username)
        name = users.login_name(row, username)
        limits.refuse_locked_login(name)
        if password:
            user = users.user_by_password(row, password)
        else:
            user = users.user_by_api_key(db, api_key)
            if user is not None and user.username != name:
                user = None
        if user is None:
            limits.count_failed_login(name)
            raise APIError(*INVALID_LOGIN)
    session_id = users.create_session(db, user.user_id)
    return {"Success": True, "ErrorCode": 0, "ErrorText": "", "SessionID": session_id, "UserInfo": user.info()}


@command("user.logout", rest=("POST", "user.logout"), permission=None)
def logout(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    if caller.session_id:
        users.end_session(get_db(), caller.session_id)
    return {"Success": True, "ErrorCode": 0}
