"""The command registry: every command declared once, found by either door.

A handler is declared with its command name, its REST method and path, the permission it needs
and the marshmallow schema of its parameters::

    @command("user.senderdomain.get", rest=("GET", "user.senderdomain"), schema=GetSchema)
    def get_sender_domain(args, user): ...

``rest`` may be a list of routes where one command answers on several (the seed's dns.*
examples send GET with a JSON body as well as POST). It receives the validated parameters and the authenticated user, runs inside Flask's request
context, and returns the success body or raises :class:`~.envelope.APIError`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from .envelope import APIError, bad_request, unknown_command
from .params import Params, fold

Route = tuple[str, str]  # (HTTP method, path below /api/v1/)
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

# Every command of the sender-domain API needs this permission (SPEC §3).
DEFAULT_PERMISSION = "User.Update"


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    rest: Route | list[Route] | None = None
    permission: str | None = DEFAULT_PERMISSION
    schema: type[Schema] | None = None
    authenticated: bool = True
    # An admin.* command: the caller is an administrator (AdminAPIKey), not a user.
    admin: bool = False
    # A user command an administrator may also call for a user (Octeth's Access=admin + UserID).
    admin_access: bool = False
    # A limit of its own besides the service-wide one, in flask-limiter's notation
    # ("10 per 5 minutes"), counted per user by api/limits.py beside the service-wide one.
    limit: str | None = None
    # Loaded once: a schema instance holds no per-request state.
    _schema: Schema | None = field(default=None, compare=False, repr=False)
    # The handler's own error codes (those its schema does not declare), as (code, message) or
    # (code, message, HTTP status): for the generated reference and the OpenAPI document.
    errors: tuple[tuple, ...] = ()

    @property
    def reads_only(self) -> bool:
        """Whether the command answers GET alone on the REST door, where a GET never writes
        (SPEC §1); the dns.* commands that also take a GET with a JSON body are not reads."""
        routes = [self.rest] if isinstance(self.rest, tuple) else self.rest or []
        return bool(routes) and all(method.upper() == "GET" for method, _ in routes)

    def load(self, params: Params) -> dict[str, Any]:
        """Validate ``params`` with the schema; the first failing field, in declaration order,
        becomes the command's own error code (:func:`field_errors`)."""
        schema = self._schema
        if schema is None:
            return {}
        data = {}
        for name, schema_field in schema.fields.items():
            key = schema_field.data_key or name
            # Of several spellings the last given wins; an empty value is a missing one, as the
            # PHP product's empty() saw it.
            spelling = params.latest((key, *schema_field.metadata.get("aliases", ())))
            if spelling is not None and params[spelling] not in ("", None):
                data[key] = params[spelling]
        try:
            return schema.load(data, unknown=EXCLUDE)
        except ValidationError as error:
            messages = error.messages if isinstance(error.messages, dict) else {}
            for name, schema_field in schema.fields.items():
                key = schema_field.data_key or name
                if key in messages:
                    missing, invalid = field_errors(schema_field)
                    code, message, *status = invalid if key in data else missing
                    raise APIError(code, message, status[0] if status else 200) from None
            raise


def field_errors(schema_field: Any) -> tuple[tuple, tuple]:
    """The (missing, invalid) errors of a schema field: ``metadata={"missing": (code, message[,
    status]), "invalid": …}``. An invalid value falls back to the missing code, which is what the
    seed gives where it names no other (a ``true`` where a string belongs is no usable value)."""
    missing = schema_field.metadata.get("missing")
    return missing, schema_field.metadata.get("invalid", missing)


def _check_schema(name: str, schema: Schema) -> None:
    # Refused at registration, so that no field can reach a request without its error codes.
    for field_name, schema_field in schema.fields.items():
        if type(schema_field) is fields.Raw:
            continue  # takes any value, so it has no invalid one: the handler reads it as it can
        missing, invalid = field_errors(schema_field)
        if invalid is None:
            raise RuntimeError(f"command {name}: parameter {field_name} declares neither a 'missing' nor an"
                               " 'invalid' error in its metadata")


class Registry:
    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self.routes: dict[str, dict[str, Command]] = {}

    def command(
        self,
        name: str,
        *,
        rest: Route | list[Route] | None = None,
        permission: str | None = DEFAULT_PERMISSION,
        schema: type[Schema] | None = None,
        authenticated: bool = True,
        admin: bool = False,
        admin_access: bool = False,
        limit: str | None = None,
        errors: tuple[tuple, ...] = (),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            key = fold(name)
            if key in self.commands:
                raise RuntimeError(f"command {name} is declared twice")
            instance = schema() if schema else None
            if instance is not None:
                _check_schema(name, instance)
            entry = Command(name, handler, rest, None if admin else permission, schema, authenticated, admin=admin,
                            admin_access=admin_access, limit=limit, errors=tuple(errors), _schema=instance)
            self.commands[key] = entry
            for method, path in [rest] if isinstance(rest, tuple) else rest or []:
                self.routes.setdefault(fold(path), {})[method.upper()] = entry
            return handler

        return register

    def by_name(self, name: Any) -> Command:
        """The command the legacy door's ``Command`` parameter names (100003 if none)."""
        if not isinstance(name, str) or not name.strip():
            raise unknown_command(None)
        entry = self.commands.get(fold(name.strip()))
        if entry is None:
            raise unknown_command(name)
        return entry

    def by_route(self, method: str, path: str) -> Command:
        """The command ``method /api/v1/<path>`` runs (SPEC §1): the table's entry, else the
        command of that name with POST; 100001 for a method the path does not take."""
        key = fold(path)
        methods = self.routes.get(key, {})
        # HEAD is a GET whose body is not sent (RFC 9110); it reads exactly what the GET reads.
        entry = methods.get("GET" if method == "HEAD" else method)
        if entry is None and method == "POST" and key in self.commands:
            entry = self.commands[key]
        if entry is not None:
            return entry
        if methods or key in self.commands:
            raise bad_request(f"Method {method} is not supported for this path")
        raise unknown_command(path)


registry = Registry()
command = registry.command
