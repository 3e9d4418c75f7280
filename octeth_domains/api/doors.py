"""The two doors into the registry: ``/api.php`` (the command is a parameter) and
``/api/v1/<name>`` (the method and path name it). Both end in :func:`run`, the one path every
command takes: parameters, caller, rate limit, permission, schema, handler."""
from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from ..db import DatabaseUnavailable, get_db
from . import limits, openapi
from .auth import Caller, authenticate, authenticate_admin, require_permission, user_named_by_admin, wants_admin_access
from .envelope import (
    BAD_REQUEST,
    APIError,
    authentication_failed,
    bad_request,
    decoded,
    from_http_exception,
    internal_error,
    render,
    render_error,
    unavailable,
)
from .params import Params, collect, fold
from .registry import Command, registry

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__)

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def run(entry: Command, params: Params) -> dict[str, Any]:
    """Run ``entry`` for the current request; return its success body or raise APIError."""
    caller = None
    refused = None
    if entry.authenticated:
        try:
            caller = _caller(entry, params)
        except APIError as error:
            refused = error  # counted against the address below before it is answered
    g.caller = caller
    limits.check(entry)
    if refused is not None:
        raise refused
    if entry.authenticated:
        if caller is None:
            raise authentication_failed()
        if caller.user is not None:
            require_permission(caller.user, entry.permission)
    try:
        return entry.handler(entry.load(params), caller)
    except APIError as error:
        # Octeth's admin commands answer their own refusals with ErrorCode and ErrorText as
        # scalars (its sender-domains page: {"ErrorCode": 5002, "ErrorText": "User not found"}).
        error.scalar = error.scalar or entry.admin
        raise


def _caller(entry: Command, params: Params) -> Caller | None:
    """Who runs ``entry``: a user, an administrator (admin.* commands), or an administrator for
    the user it names (``Access=admin``, where the command allows it)."""
    if entry.admin or (entry.admin_access and wants_admin_access(params)):
        admin = authenticate_admin(params, get_db())
        user = user_named_by_admin(params.get("UserID"), get_db()) if entry.admin_access else None
        return Caller(user, "admin", admin=admin)
    return authenticate(request, params, get_db())


def _format_asked_is_xml(asked: Any) -> bool:
    # Exactly "XML", as Octeth reads it; any spelling of it where the operator opted in, as
    # Octeth v6.0.1 does with API_RESPONSEFORMAT_CASE_INSENSITIVE ("xml ", with its space, never).
    if asked == "XML":
        return True
    return (isinstance(asked, str) and asked.lower() == "xml"
            and current_app.config["OCTETH_RESPONSEFORMAT_CASE_INSENSITIVE"])


def _format_of(params: Params) -> str:
    return "XML" if _format_asked_is_xml(params.get("ResponseFormat")) else "JSON"


def _format_asked(rest: bool) -> str:
    # A request that failed before its command was known (an unknown name or path) is read for
    # ResponseFormat alone, so its 100003 answers in the format asked, as Octeth's does; a request
    # whose parameters cannot be read at all leaves the query string to decide.
    try:
        return _format_of(collect(request, None, rest=rest))
    except (APIError, HTTPException):
        asked = [value for name, value in request.args.items(multi=True) if fold(name) == "responseformat"]
        return "XML" if asked and _format_asked_is_xml(asked[0]) else "JSON"


def call(command: str, **values: Any) -> dict[str, Any]:
    """Run ``command`` in the current request with ``values`` as its parameters, exactly as the
    doors would (authentication, rate limit, permission, schema), for callers inside the service
    such as the web pages. Returns the success body; raises APIError."""
    params = Params()
    for name, value in values.items():
        if value is not None:
            params.add(name, value)
    entry = registry.by_name(command)
    g.command = entry.name
    return decoded(run(entry, params))


def dispatch(rest_path: str | None) -> Response:
    """Answer the current request on the legacy door (``rest_path`` None) or the REST door."""
    fmt = None  # known once the parameters are read
    try:
        if rest_path is None:
            if request.method not in ("GET", "HEAD", "POST"):
                raise bad_request(f"Method {request.method} is not supported for this path")
            params = collect(request, None, rest=False)
            fmt = _format_of(params)
            entry = registry.by_name(params.get("Command"))
        else:
            entry = registry.by_route(request.method, rest_path)
            params = collect(request, entry.name, rest=True)
            fmt = _format_of(params)
        if request.method == "HEAD" and not entry.reads_only:
            # Link checkers and monitors send HEAD, and nobody reads its answer: never a write,
            # on either door (dns.set also takes a GET with a JSON body on the REST door).
            raise bad_request(f"Method HEAD is not supported for {entry.name}: it is not a read")
        g.command = entry.name
        return render(run(entry, params), fmt)
    except APIError as error:
        failure = error
    except HTTPException as error:  # Werkzeug's own limits: body size, form fields
        failure = from_http_exception(error)
        if error.code == 413 and (request.content_length or 0) <= (current_app.config["MAX_CONTENT_LENGTH"] or 0):
            # A body within the size limit refused as too large held more fields than a form may.
            failure = APIError(BAD_REQUEST, f"Request has too many form fields (at most"
                                            f" {current_app.config['MAX_FORM_PARTS']})", 413)
    except DatabaseUnavailable as error:
        log.warning("database unavailable: %s", error)
        failure = unavailable()
    except Exception:
        log.exception("unhandled error in %s", g.get("command", "dispatch"))
        failure = internal_error()
    g.error_code = failure.code  # for the log line and for api.php.py's exit status
    if fmt is None and not failure.always_json:
        fmt = _format_asked(rest_path is not None)
    return render_error(failure, fmt or "JSON")


@bp.route("/api/v1/openapi.json", methods=["GET"])
def openapi_document() -> Response:
    return render(openapi.document(registry))


@bp.route("/api.php", methods=ALL_METHODS)
def legacy_door() -> Response:
    return dispatch(None)


@bp.route("/api/v1/<path:name>", methods=ALL_METHODS)
def rest_door(name: str) -> Response:
    return dispatch(name)
