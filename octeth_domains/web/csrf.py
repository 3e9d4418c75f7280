"""CSRF protection: one random token per session, put in every form, and required (compared in
constant time) on every request that is not a GET or HEAD. The session cookie's SameSite=Lax
already stops most cross-site posts; the token covers older browsers and same-site subdomains."""
from __future__ import annotations

import hmac
import secrets

from flask import render_template, request, session

from . import bp

FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFUSAL = ("This form could not be accepted: it did not carry this page's security token (CSRF). "
           "Go back, reload the page and try again.")


def token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@bp.context_processor
def _template_token() -> dict:
    return {"csrf_token": token}


def refusal():
    """A 400 page for a state-changing request without the session's token; None if it has it."""
    if request.method in SAFE_METHODS:
        return None
    expected = session.get("csrf", "")
    sent = request.form.get(FIELD, "")
    if expected and sent and hmac.compare_digest(expected.encode(), sent.encode()):
        return None
    return render_template("web/error.html", title="Request refused", message=REFUSAL), 400
