"""Who is signed in: the API's ``SessionID``, kept in Flask's signed cookie.

The cookie is the pages' own (its name, salt and path), HttpOnly, SameSite=Lax, and Secure
whenever the request came over HTTPS, so one deployment works behind TLS and on a developer's
plain-HTTP loopback alike.
"""
from __future__ import annotations

from flask import redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from . import bp

COOKIE_NAME = "octeth_web"
# Pages anyone may open; everything else needs a signed-in user.
PUBLIC_ENDPOINTS = frozenset({"web.login", "web.static"})


class PageSession(SecureCookieSessionInterface):
    """Flask's signed-cookie session with the flags the pages need, whatever app.config says."""

    salt = "octeth-web-session"

    def get_cookie_name(self, app) -> str:
        return COOKIE_NAME

    def get_cookie_path(self, app) -> str:
        return bp.url_prefix  # never sent to the API doors, which authenticate otherwise

    def get_cookie_httponly(self, app) -> bool:
        return True

    def get_cookie_samesite(self, app) -> str:
        return "Lax"

    def get_cookie_secure(self, app) -> bool:
        return request.is_secure

    def open_session(self, app, request):
        # The API doors never use a cookie session (and are never sent this one): giving them the
        # null session spares every API request building a signing serializer for nothing.
        if not request.path.startswith(bp.url_prefix):
            return self.null_session_class()
        return super().open_session(app, request)


@bp.record_once
def _install(state) -> None:
    state.app.session_interface = PageSession()


def sign_in(session_id: str, username: str) -> None:
    # A fresh session: nothing from before the sign-in (a planted CSRF token) survives it.
    session.clear()
    session["sid"] = session_id
    session["username"] = username


def sign_in_redirect():
    """The way to the sign-in page when nobody is signed in and the page needs someone."""
    if request.endpoint not in PUBLIC_ENDPOINTS and not session.get("sid"):
        return redirect(url_for("web.login"))
    return None


def mark_fresh(domain_id: int) -> None:
    """The domain's records were generated a moment ago, so nothing can be published yet: the next
    load of its edit page shows them unchecked instead of probing (and caching for a minute) a
    failure that is certain."""
    session["fresh"] = domain_id


def take_fresh(domain_id: int) -> bool:
    return session.pop("fresh", None) == domain_id
