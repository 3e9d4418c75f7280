"""What every request to the pages passes and every answer carries.

The CSRF check comes first, so a forged request learns nothing, not even whether its victim is
signed in. The headers keep the pages out of frames and caches and allow only this site's own
scripts and styles: even markup that slipped past escaping could not run.
"""
from __future__ import annotations

from flask import Response, request

from . import bp, csrf, session

HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _encodable(value):
    """Every value a template writes, as text UTF-8 can carry: a lone surrogate (JSON's
    ``"\\ud800"`` from a provider's answer, say) would otherwise fail the whole page at encoding."""
    if type(value) is str:  # Markup is already the template's own, escaped text
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace").decode("utf-8")
    return value


@bp.record_once
def _templates_write_encodable_text(state) -> None:
    state.app.jinja_env.finalize = _encodable


@bp.before_request
def _guard():
    return csrf.refusal() or session.sign_in_redirect()


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers.update(HEADERS)
    if request.endpoint != "web.static":
        response.headers["Cache-Control"] = "no-store"  # pages show records and a session's data
    return response
