"""The one way the pages run a command: as the signed-in user, through the registry, exactly as
the API doors would (authentication, rate limit, permission, schema)."""
from __future__ import annotations

from typing import Any

from flask import flash, session

from ..api import doors
from ..api.envelope import APIError, authentication_failed

RATE_LIMITED = 429


def api(command: str, **params: Any) -> dict[str, Any]:
    """The command's success body; APIError as the API would answer it."""
    return doors.call(command, SessionID=session.get("sid"), **params)


def is_session_error(error: APIError) -> bool:
    """The session id was refused (expired, or ended elsewhere): the user must sign in again.
    A missing permission is code 0 as well, but signing in again would not help with that."""
    return error.code == 0 and error.message == authentication_failed().message


def form_can_answer(error: APIError) -> bool:
    """Whether a form can show this refusal itself. A dead session and the rate limit go to the
    error handler instead: nothing typed into a form can fix them."""
    return not is_session_error(error) and error.status != RATE_LIMITED


def attempt(command: str, **params: Any) -> dict[str, Any] | None:
    """Run a command for a form; a refusal becomes a message on the next page (None returned)."""
    try:
        return api(command, **params)
    except APIError as error:
        if not form_can_answer(error):
            raise
        flash(error.message, "error")
        return None
