"""Response bodies: the seeds' JSON, the legacy XML, and the one error envelope (SPEC §4).

Errors travel as :class:`APIError`, raised anywhere and turned into a body here and only here,
so that no handler ever shapes an error itself and nothing but the code and message reaches
the client.
"""
from __future__ import annotations

import json
import re
from typing import Any
from xml.sax.saxutils import quoteattr

from flask import Response
from werkzeug.exceptions import BadHost, BadRequest, SecurityError

from ..jsontext import JSONText, dumps


def decoded(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with every :class:`JSONText` in it decoded."""
    return {key: value.decode() if isinstance(value, JSONText) else value for key, value in body.items()}


def _json_body(body: dict[str, Any]) -> str:
    if not any(isinstance(value, JSONText) for value in body.values()):
        return dumps(body)
    return "{" + ",".join(
        f"{dumps(key)}:{value.text if isinstance(value, JSONText) else dumps(value)}" for key, value in body.items()
    ) + "}"


class APIError(Exception):
    """A failure the client is told about: ``(code, message, http_status)``.

    ``legacy_code`` is what the legacy ``ErrorCode`` field says when it differs from the seed's
    ``Errors[0].Code``: Octeth's 99998/99999 for a failed or expired sign-in. ``reason``, when
    given, is a ``Reason`` beside ``Code`` and ``Message`` in the ``Errors`` entry."""

    def __init__(self, code: int, message: str, status: int = 200, headers: dict | None = None,
                 legacy_code: int | None = None, reason: str | None = None,
                 also: tuple[tuple[int, str], ...] = ()):
        super().__init__(code, message)
        self.also = also  # further (code, message) refusals of the same request, after this one
        self.scalar = False  # ErrorCode/ErrorText as scalars, as hard failures always are
        self.code = code
        self.message = message
        self.status = status
        self.headers = headers or {}
        self.legacy_code = code if legacy_code is None else legacy_code
        self.reason = reason  # beside a message that must stay the seed's: which rule was broken

    @property
    def always_json(self) -> bool:
        # The request could not be read, so we cannot trust it to have asked for XML.
        return self.code in (INVALID_JSON, BAD_REQUEST)

    @property
    def hard_failure(self) -> bool:
        return self.code >= INVALID_JSON

    def body(self) -> dict[str, Any]:
        # A command's refusal carries Octeth's legacy fields as arrays ("ErrorCode and ErrorText are
        # arrays, not scalars, on most endpoints"): legacy clients read ErrorCode[0]. A hard failure
        # carries them as scalars, as Octeth's error-handling page shows (`"ErrorCode": 100003`).
        # The seed's Errors list is the contract beside them, the same in both.
        entry = {"Code": self.code, "Message": self.message}
        if self.reason:
            entry["Reason"] = self.reason
        if self.hard_failure or self.scalar:
            return {"Success": False, "ErrorCode": self.legacy_code, "ErrorText": self.message, "Errors": [entry]}
        return {"Success": False, "ErrorCode": [self.legacy_code, *(code for code, _ in self.also)],
                "ErrorText": [self.message, *(message for _, message in self.also)],
                "Errors": [entry, *({"Code": code, "Message": message} for code, message in self.also)]}


# Hard failures: the request never reached a working handler.
INVALID_JSON = 100000
BAD_REQUEST = 100001
UNKNOWN_COMMAND = 100003
UNAVAILABLE = 100004
INTERNAL = 100005


def invalid_json() -> APIError:
    return APIError(INVALID_JSON, "Request body is not valid JSON", 400)


def bad_request(message: str) -> APIError:
    return APIError(BAD_REQUEST, message, 400)


def unknown_command(name: str | None) -> APIError:
    # Octeth's own words, the name as the client sent it (shortened: it is echoed back).
    name = name if isinstance(name, str) else ""
    shown = name if len(name) <= 100 else name[:100] + "\u2026"
    return APIError(UNKNOWN_COMMAND, f'Invalid API command: "{shown}" not found.', 400)


class MalformedBody(BadRequest):
    """A body the server could not decode (its chunked framing broken): the client's fault."""

    description = "Malformed chunked request body"


def from_http_exception(error: Any, api_path: bool = True, name: str = "") -> APIError:
    """A Werkzeug HTTP error (unknown path, method, oversized body) as the envelope's hard failure."""
    if error.code == 413:
        return APIError(BAD_REQUEST, "Request body is too large", 413)
    if error.code == 404:
        return APIError(UNKNOWN_COMMAND, unknown_command(name).message, 400 if api_path else 404)
    if error.code == 405:
        return APIError(BAD_REQUEST, "Method not supported for this path", 400)
    if isinstance(error, (SecurityError, BadHost)):  # not a host name, or not in OCTETH_TRUSTED_HOSTS
        return APIError(BAD_REQUEST, "The Host of the request is not a name this service answers to", 400)
    if isinstance(error, MalformedBody):
        return APIError(BAD_REQUEST, "Malformed HTTP request", 400)  # as the worker says it of framing
    return APIError(BAD_REQUEST, error.name, error.code or 400)


def unavailable() -> APIError:
    return APIError(
        UNAVAILABLE, "A required component is unavailable, try again later", 503, {"Retry-After": "30"}
    )


def internal_error() -> APIError:
    return APIError(INTERNAL, "An unexpected error occurred", 500)


# Octeth's legacy codes for "sign in again": a credential that is wrong, and a session that expired.
AUTHENTICATION_FAILED = 99998
SESSION_EXPIRED = 99999


def authentication_failed(expired: bool = False) -> APIError:
    return APIError(0, "Authentication failed", legacy_code=SESSION_EXPIRED if expired else AUTHENTICATION_FAILED)


def rate_limited(retry_after: int) -> APIError:
    return APIError(
        429, "Rate limit exceeded, try again later", 429, {"Retry-After": str(max(1, retry_after))}
    )


def render(body: dict[str, Any], fmt: str = "JSON", status: int = 200, headers: dict | None = None) -> Response:
    """A response with ``body`` as JSON, or as the legacy XML when ``fmt == "XML"``."""
    if fmt == "XML":
        data = to_xml(decoded(body)).encode("utf-8")
        mimetype = "text/xml"
    else:
        text = _json_body(body)
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, which UTF-8 cannot carry but JSON's \u can
            data = json.dumps(decoded(body), separators=(",", ":")).encode("ascii")
        mimetype = "application/json"
    response = Response(data, status=status, mimetype=mimetype)
    response.headers.update(headers or {})
    return response


def render_error(error: APIError, fmt: str = "JSON") -> Response:
    return render(error.body(), "JSON" if error.always_json else fmt, error.status, error.headers)


_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*\Z")
# What XML 1.0 cannot carry at all, escaped or not (its Char production): C0 controls but tab and
# newlines, lone surrogates, U+FFFE and U+FFFF. Replaced, in keys and values alike, so that a
# value reflected from a request can never make the document unparseable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside a CDATA section; split it across two.
    return "<![CDATA[" + _xml_text(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml_value(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_element(str(key), item, out)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _xml_element(f"node_{index}", item, out)
    elif value is None:
        return
    elif isinstance(value, bool):
        out.append(_cdata("true" if value else "false"))
    else:
        out.append(_cdata(str(value)))


def _xml_element(key: str, value: Any, out: list[str]) -> None:
    # Host names such as "1mail.example.com" are keys too, and not every key is an XML name:
    # those become <node key="…"> so that the document still parses.
    key = _xml_text(key)
    if _XML_NAME.match(key) and not key.lower().startswith("xml"):
        out.append(f"<{key}>")
        _xml_value(value, out)
        out.append(f"</{key}>")
    else:
        out.append(f"<node key={quoteattr(key)}>")
        _xml_value(value, out)
        out.append("</node>")


def to_xml(body: dict[str, Any]) -> str:
    """The legacy XML form: a ``<response>`` root, scalars in CDATA, lists as ``<node_N>``."""
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<response>']
    _xml_value(body, out)
    out.append("</response>\n")
    return "".join(out)
