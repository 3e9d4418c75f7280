"""The command reference, docs/commands.md, generated from the command registry.

    octeth-domains docs             # rewrite docs/commands.md
    octeth-domains docs --check     # exit 1 if the committed file is stale
    python -m octeth_domains.reference > docs/commands.md

Everything comes from the declarations (:mod:`.api.catalog`: routes, schema, the handler's declared
``errors``, the seeds' examples), so a new command appears here once it is declared.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .api import catalog, openapi
from .api.registry import Command, Registry

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "commands.md"

INTRO = """# Commands

Generated from the command registry by `octeth-domains docs`; do not edit by hand.

Every command is reachable through two doors and one command-line twin:

- the legacy door, `/api.php` (GET or POST), with the command in the `Command` parameter:
  `curl -d Command=user.senderdomain.list -d APIKey=<key> http://127.0.0.1:8080/api.php`;
- the REST door, `/api/v1/<path>`, where the method and path name the command (below); any command
  also answers `POST /api/v1/<command name>`;
- `python api.php.py Command=<name> Name=value ...`, which prints the body the HTTP door would send.

Parameter names and command names are case-insensitive. Authentication is an
`Authorization: Bearer <API key>` header, a `SessionID` parameter, or an `APIKey` parameter, tried in
that order; the `admin.*` commands take an administrator's `AdminAPIKey` instead. `ResponseFormat=XML`
answers the legacy XML instead of JSON. Errors come in one envelope:

```json
{"Success": false, "ErrorCode": [2], "ErrorText": ["Sender domain not found"], "Errors": [{"Code": 2, "Message": "Sender domain not found"}]}
```

Read the code from `Errors[0].Code`. The `admin.*` commands' own refusals carry `ErrorCode` and
`ErrorText` as a number and a string, as Octeth's reference shows them (`{"Success": false,
"ErrorCode": 5002, "ErrorText": "User not found", "Errors": [...]}`). Business errors answer HTTP 200 unless the table says
otherwise. Every answer carries flask-limiter's `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` headers; a refused one answers 429 with `Retry-After`.

Codes any request can meet before its command runs (hard failures: their `ErrorCode` and
`ErrorText` are a number and a string, not arrays, as Octeth shows them):

| code | HTTP | meaning |
| --- | --- | --- |
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def _routes(entry: Command) -> list[str]:
    routes = [entry.rest] if isinstance(entry.rest, tuple) else list(entry.rest or [])
    return [f"`{method} /api/v1/{path}`" for method, path in routes] or [f"`POST /api/v1/{entry.name}`"]


def command_section(entry: Command) -> str:
    lines = [f"## {entry.name}", ""]
    summary = catalog.summary_of(entry)
    if summary:
        lines += [summary, ""]
    lines.append(f"- REST: {', '.join(_routes(entry))}; legacy: `/api.php?Command={entry.name}`")
    if entry.admin:
        lines.append("- Authentication: an administrator's `AdminAPIKey`")
    elif entry.authenticated:
        permission = f", permission `{entry.permission}`" if entry.permission else ""
        also = "; or an administrator's `AdminAPIKey` with `Access=admin` and `UserID`" if entry.admin_access else ""
        lines.append(f"- Authentication: required{permission}{also}")
    else:
        lines.append("- Authentication: none")
    if entry.limit:
        lines.append(f"- Rate limit: its own `{entry.limit}` per user, besides the user's limit")
    lines += ["", "| parameter | type | required | description |", "| --- | --- | --- | --- |"]
    for parameter in catalog.parameters_of(entry):
        name = f"`{parameter.name}`" + "".join(f" / `{alias}`" for alias in parameter.aliases)
        lines.append(f"| {name} | {parameter.kind} | {'yes' if parameter.required else 'no'} |"
                     f" {_cell(parameter.description)} |")
    lines += ["", "| code | HTTP | message | when |", "| --- | --- | --- | --- |"]
    for error in catalog.errors_of(entry):
        lines.append(f"| {error.code} | {error.status} | {_cell(error.message)} | {_cell(error.when)} |")
    example = catalog.example_of(entry, openapi.SUCCESS.get(entry.name))
    lines += ["", "Example answer:", "", "```json", json.dumps(example, indent=2, ensure_ascii=False), "```", ""]
    return "\n".join(lines)


def markdown(registry: Registry | None = None) -> str:
    if registry is None:
        from . import commands  # noqa: F401  (registers them)
        from .api.registry import registry
    text = INTRO
    for code, message, status in catalog.HARD_FAILURES:
        text += f"| {code} | {status} | {_cell(message)} |\n"
    text += "\n"
    entries = sorted(registry.commands.values(), key=lambda entry: entry.name)
    text += "Contents: " + ", ".join(f"[{entry.name}](#{entry.name.replace('.', '')})" for entry in entries) + "\n\n"
    return text + "\n".join(command_section(entry) for entry in entries)


def main(argv: list[str]) -> int:
    sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
