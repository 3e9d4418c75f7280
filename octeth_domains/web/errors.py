"""How a page answers when a command or the request fails: as a page, never as the API's JSON.

A refused session sends the user to sign in again; anything else is shown with the command's own
message (escaped like all text) and a status a browser and a test can read.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from werkzeug.exceptions import BadHost, HTTPException

from ..api.envelope import APIError
from ..db import DatabaseUnavailable
from . import bp
from .calls import is_session_error

NOT_FOUND = 2  # the code every user.senderdomain.* command gives for a domain that is not yours


def page(title: str, message: str, status: int, headers: dict | None = None):
    return render_template("web/error.html", title=title, message=message), status, headers or {}


@bp.errorhandler(APIError)
def _api_error(error: APIError):
    if is_session_error(error):
        session.clear()
        flash("Your session has ended. Please sign in again.", "error")
        return redirect(url_for("web.login"))
    if error.status >= 400:
        status = error.status
    else:
        status = 404 if error.code == NOT_FOUND else 400
    return page("Something went wrong" if status != 404 else "Not found", error.message, status, error.headers)


@bp.errorhandler(DatabaseUnavailable)
def _unavailable(error: DatabaseUnavailable):
    return page("Temporarily unavailable", "The service cannot reach its database. Try again in a minute.",
                503, {"Retry-After": "30"})


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    # Werkzeug's own descriptions are fixed texts, never anything the request carried.
    return page(error.name, error.description or error.name, error.code or 500)


def unrouted(error: HTTPException):
    """A path or method under the pages that no page has. Flask routes such a request to no
    blueprint, so neither the pages' handlers nor their template context and headers apply by
    themselves: they are applied here, for a page rather than the API's JSON."""
    from flask import current_app, make_response, request
    from flask.globals import request_ctx

    from . import csrf, guard

    if request_ctx.url_adapter is None:
        # A Host that is not a host name (a..b), or outside OCTETH_TRUSTED_HOSTS, leaves Flask
        # without the URL builder the page's links need; they are paths, so one bound to any
        # name builds the same ones.
        request_ctx.url_adapter = current_app.url_map.bind(
            "localhost", script_name=request.root_path or "/", url_scheme=request.scheme)
        error = BadHost("The address this page was asked for is not one this service answers to.")
    body = render_template("web/error.html", title=error.name, message=error.description or error.name,
                           **csrf._template_token())
    return guard._headers(make_response(body, error.code or 404))
