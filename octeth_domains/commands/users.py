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


class LoginSchema(Schema):
    Username = Text(required=True, metadata={"missing": (1, "Missing username"), "invalid": (3, "Invalid credentials")})
    Password = Text(metadata={"invalid": (3, "Invalid credentials")})
    APIKey = Text(metadata={"invalid": (3, "Invalid credentials")})


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
    db = get_db()
    password, api_key = args.get("Password"), args.get("APIKey")
    limits.refuse_locked_login(args["Username"])
    if password:
        user = users.user_by_password(db, args["Username"], password)
    elif api_key:
        # Trading an API key for a session, as the PHP front end does; the key must be the user's.
        user = users.user_by_api_key(db, api_key)
        if user is not None and user.username != args["Username"]:
            user = None
    else:
        raise APIError(2, "Missing password")
    if user is None:
        limits.count_failed_login(args["Username"])
        raise APIError(3, "Invalid credentials")
    session_id = users.create_session(db, user.user_id)
    return {"Success": True, "ErrorCode": 0, "SessionID": session_id, "UserInfo": user.info()}


@command("user.logout", rest=("POST", "user.logout"), permission=None)
def logout(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    if caller.session_id:
        users.end_session(get_db(), caller.session_id)
    return {"Success": True, "ErrorCode": 0}
