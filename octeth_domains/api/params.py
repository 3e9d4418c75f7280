"""Collecting and reading request parameters (SPEC §2).

A request's parameters become one case-insensitive mapping. Which parts of the request feed it
depends on the method. A name that arrives more than once keeps the value PHP's ``$_REQUEST``
would: the last one within a source, the body's over the query string's (legacy clients repeat
parameters; Octeth never refused them). Every layer reads this one mapping, so no layer can see
another value than the next.
"""
from __future__ import annotations

import io
import json
import logging
import re
from typing import Any, Iterable, Iterator, Mapping

from urllib.parse import parse_qsl

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from marshmallow import ValidationError, fields

from .envelope import MalformedBody, invalid_json

log = logging.getLogger(__name__)

# Commands that also read a JSON body on GET and DELETE: the seed's dns.* examples send one.
BODY_ON_GET = frozenset({"dns.provider", "dns.authorize", "dns.set"})


class FormParser(FormDataParser):
    """Werkzeug's form parser, but a urlencoded body with bytes that are not UTF-8 (a Latin-1 page
    of a PHP front end) keeps its fields: werkzeug drops every field of such a body without a word
    (the request then names no command, or a page's form no token), where PHP keeps the bytes.
    Each such byte is read as its ``%XX`` escape, which is how werkzeug reads ``%ff`` itself."""

    def parse(self, stream: Any, mimetype: str, content_length: int | None,
              options: dict[str, str] | None = None) -> Any:
        if mimetype != "application/x-www-form-urlencoded":
            return super().parse(stream, mimetype, content_length, options)
        text = stream.read().decode("utf-8", "werkzeug.url_quote")
        return stream, self.cls(parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote")), self.cls()


class ServiceRequest(Request):
    form_data_parser_class = FormParser


def fold(name: str) -> str:
    """The key a parameter name is known by. Only ASCII letters fold: full Unicode case folding
    would let ``API\u212aey`` (a Kelvin sign) pass for ``APIKey`` behind a filter that knows better."""
    return name.lower() if name.isascii() else name


class Params(Mapping[str, Any]):
    """Parameters by case-folded name; ``params["APIKey"] is params["apikey"]``."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._names: dict[str, str] = {}

    def add(self, name: str, value: Any) -> None:
        """Set ``name``; a later value of the same name replaces the earlier one and counts as
        the latest arrival (see :meth:`latest`)."""
        key = fold(name)
        self._values.pop(key, None)
        self._values[key] = value
        self._names[key] = name

    def update_from(self, items: Iterable[tuple[str, Any]], skip: frozenset[str] = frozenset()) -> None:
        for name, value in items:
            if fold(name) not in skip:
                self.add(name, value)

    def __getitem__(self, name: str) -> Any:
        return self._values[fold(name)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and fold(name) in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._names[key] for key in self._values)

    def __len__(self) -> int:
        return len(self._values)

    def latest(self, names: Iterable[str]) -> str | None:
        """Of ``names`` (spellings of one parameter), the one given last; None if none was."""
        wanted = {fold(name) for name in names}
        found = [key for key in self._values if key in wanted]
        return found[-1] if found else None

    def without(self, *names: str) -> "Params":
        """A copy lacking ``names``: the credential, once it has been used."""
        copy = Params()
        drop = {fold(name) for name in names}
        for key, value in self._values.items():
            if key not in drop:
                copy._values[key] = value
                copy._names[key] = self._names[key]
        return copy


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _undecodable() -> tuple[type[BaseException], ...]:
    # gunicorn's InvalidChunkSize, ChunkMissingTerminator, InvalidChunkExtension (ParseException)
    # and NoMoreData for a body cut short (an OSError); ValueError for other servers' decoders.
    kinds: list[type[BaseException]] = [OSError, ValueError]
    try:
        from gunicorn.http.errors import ParseException
    except ImportError:  # served by something else
        pass
    else:
        kinds.append(ParseException)
    return tuple(kinds)


_UNDECODABLE = _undecodable()


def read_streamed_body(request: Request, max_bytes: int) -> None:
    """Read a body sent without a ``Content-Length`` (chunked) whole, before anything parses it,
    and refuse it with 413 when it is longer than ``max_bytes``. Werkzeug stops such a stream at
    the limit without a word, so the request would run on the first part of its body; a body of
    known length over the limit is refused by Werkzeug itself."""
    environ = request.environ
    if request.content_length is not None or not environ.get("wsgi.input_terminated"):
        return  # a length, or a server that does not end the stream (Werkzeug reads nothing)
    stream, parts, size = environ["wsgi.input"], [], 0
    while size <= max_bytes:
        try:
            part = stream.read(min(65536, max_bytes + 1 - size))
        except _UNDECODABLE as error:
            # The server's decoder gave up on the client's chunked framing: a 400, not a 500.
            log.info("chunked body refused: %s", error.__class__.__name__)
            raise MalformedBody() from None
        if not part:
            break
        parts.append(part)
        size += len(part)
    if size > max_bytes:
        raise RequestEntityTooLarge()
    data = b"".join(parts)
    environ["wsgi.input"] = io.BytesIO(data)
    environ["CONTENT_LENGTH"] = str(len(data))


def read_json_body(request: Request) -> dict[str, Any] | None:
    """The JSON object in the body, None if the body is not JSON or is empty; 100000 if broken."""
    if not request.is_json:
        return None
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    try:
        # Of two equal keys the last wins, as json.loads (and PHP's json_decode) keep it.
        body = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise invalid_json() from None
    if not isinstance(body, dict):
        raise invalid_json()
    return body


def collect(request: Request, command: str | None, *, rest: bool) -> Params:
    """Gather the parameters that ``request``'s method allows (SPEC §2).

    ``command`` is the command when the door already knows it (the REST door) and None on the
    legacy door, where the ``Command`` parameter names it. The REST door ignores ``Command``.
    """
    skip = frozenset({"command"}) if rest else frozenset()
    params = Params()
    method = request.method
    if method == "PATCH":
        body = read_json_body(request)
        params.update_from((body or {}).items(), skip)
        return params
    params.update_from(request.args.items(multi=True), skip)
    if method == "POST":
        body = read_json_body(request)
        if body is not None:
            params.update_from(body.items(), skip)
        else:
            params.update_from(request.form.items(multi=True), skip)
    elif method in ("GET", "DELETE"):
        # A body is read only where it can matter, so that a stray one never fails a request.
        name = command or params.get("Command")
        if name is None or (isinstance(name, str) and fold(name) in BODY_ON_GET):
            body = read_json_body(request)
            if body is not None and name is None:
                name = next((value for key, value in body.items() if fold(key) == "command"), None)
            if body is not None and isinstance(name, str) and fold(name) in BODY_ON_GET:
                params.update_from(body.items(), skip)
    return params


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_bool(value: Any) -> bool:
    """JSON booleans, 1/0, and true/false/yes/no/on/off in any case; ValueError for the rest."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"not a boolean: {value!r}")


# The id columns are INT UNSIGNED (sql/mysql/0001_init.sql): a larger id exists nowhere, and
# must not reach a driver that cannot bind it (SQLite's 64-bit limit is an OverflowError).
ID_MAX = 2**32 - 1


def parse_id(value: Any) -> int | None:
    """A JSON integer or a string of digits; anything else is an id that exists nowhere (None).

    ``"1 OR 1=1"``, ``"12abc"``, ``-1`` and ``1e3`` are never coerced into a number, and an id
    beyond the column's range is no id either.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,20}", value):
        value = int(value)
    if isinstance(value, int) and 0 <= value <= ID_MAX:
        return value
    return None


def clamped_int(text: str, low: int, high: int) -> int:
    """``text``, a signed decimal integer (a caller has checked it is one), clamped to
    ``low..high`` however many digits it has."""
    digits = text.lstrip("+-").lstrip("0") or "0"
    # Python refuses to convert more than 4,300 digits; a number that long is past any bound here.
    value = int(digits) if len(digits) <= 4300 else high + 1
    return min(max(-value if text.startswith("-") else value, low), high)


class Boolean(fields.Field):
    """A boolean parameter read by :func:`parse_bool`."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        try:
            return parse_bool(value)
        except ValueError:
            raise ValidationError("Not a boolean.") from None


class Identifier(fields.Field):
    """An id parameter read by :func:`parse_id`; an unreadable id loads as None (not found)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | None:
        return parse_id(value)


class Text(fields.Field):
    """A string parameter; numbers sent in JSON are taken as their text. A string that is not
    valid Unicode (a lone surrogate from JSON's \\ud800) is refused before it reaches a driver."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValidationError("Not a string.")
        text = str(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("Not valid text.") from None
        return text
