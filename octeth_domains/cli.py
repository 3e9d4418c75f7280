"""The ``octeth-domains`` command line (SPEC §9), built on Flask's CLI.

Commands that create something print one JSON object as their last line, so that scripts can
read the result with ``tail -n1``.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup

from .config import REVERIFY_DNS_TIMEOUT
from .db import DatabaseUnavailable, IntegrityError, SchemaMissing
from .models import admins, users
from .models.senderdomains import STATUSES
from .senderdomains import lifecycle
from .senderdomains import reverify as background

db_cli = AppGroup("db", help="The database schema: create or migrate it.")
domain_cli = AppGroup("domain", help="Sender domains, as an operator sees them.")
group_cli = AppGroup("group", help="User groups.")
user_cli = AppGroup("user", help="Users and their API keys.")
admin_cli = AppGroup("admin", help="Administrators and their AdminAPIKeys, for the admin.* commands.",
                     short_help="Administrators and their keys (admin.* commands).")


NAME_MAX = 190  # the name columns' length (sql/mysql/0001_init.sql, 0008_admins.sql)


def _undecodable(value: str) -> bool:
    # An argument the terminal could not decode as UTF-8 arrives with surrogates (PEP 383).
    return any(0xD800 <= ord(char) <= 0xDFFF for char in value)


def _name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A group's, user's or administrator's name: printable text of 1 to NAME_MAX characters,
    which every database can store."""
    if value is None:
        return None
    if not value.strip():
        raise click.BadParameter("is empty", ctx=ctx, param=param)
    if _undecodable(value):
        raise click.BadParameter("is not valid UTF-8 text", ctx=ctx, param=param)
    if not value.isprintable():
        raise click.BadParameter("holds a control character", ctx=ctx, param=param)
    if len(value) > NAME_MAX:
        raise click.BadParameter(f"is {len(value)} characters long; at most {NAME_MAX}", ctx=ctx, param=param)
    return value


def _password(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and (not value or _undecodable(value)):
        raise click.BadParameter("must be non-empty UTF-8 text (an empty one could never sign in)",
                                 ctx=ctx, param=param)
    return value


def _email(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value:
        return value
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None


def _emit(obj: dict[str, Any]) -> None:
    click.echo(json.dumps(obj))


def _database():
    return current_app.extensions["octeth_db"]


class _Friendly:
    """Turn the data layer's errors into one line on stderr and exit status 1; ``what`` names
    the thing a refused insert would have duplicated (``a group named 'Demo'``)."""

    def __init__(self, what: str = "") -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, _tb) -> None:
        if isinstance(error, SchemaMissing):
            raise click.ClickException("the database has no schema yet: run `octeth-domains db upgrade`")
        if isinstance(error, DatabaseUnavailable):
            raise click.ClickException(f"the database is unavailable: {error}")
        if isinstance(error, IntegrityError):
            # The database's own words name its tables and keys: the command says what exists.
            raise click.ClickException(f"{self.what} already exists" if self.what else "it already exists")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema; safe to run again."""
    with _Friendly():
        applied = _database().upgrade()
    _emit({"Applied": applied})


@group_cli.command("create")
@click.argument("name", callback=_name)
@click.option("--permissions", default="User.Update", show_default=True, help="Comma-separated.")
@click.option("--sender-domain-limit", type=click.IntRange(min=0, max=2**31 - 1), default=0, help="0 is unlimited.")
@click.option("--dns-template", default="Default", show_default=True)
@click.option("--manual-approval", is_flag=True, help="Verified domains wait for an operator.")
@click.option("--default-sender-domain", default="")
def group_create(name, permissions, sender_domain_limit, dns_template, manual_approval, default_sender_domain):
    """Create a user group."""
    with _Friendly(f"a group named {name!r}"), _database().session() as db:
        group_id = users.create_group(
            db,
            name,
            users.parse_permissions(permissions),
            sender_domain_limit,
            dns_template,
            manual_approval,
            default_sender_domain,
        )
    _emit({"UserGroupID": group_id, "Name": name})


@user_cli.command("create")
@click.argument("username", callback=_name)
@click.option("--password", required=True, callback=_password)
@click.option("--group", "group_name", required=True, callback=_name)
@click.option("--email", default="", callback=_email)
def user_create(username, password, group_name, email):
    """Create a user; prints its API key, the only time it is shown."""
    with _Friendly(f"a user named {username!r}"), _database().session() as db:
        group_id = users.group_id_by_name(db, group_name)
        if group_id is None:
            raise click.ClickException(f"no group named {group_name!r}")
        user_id, api_key = users.create_user(db, username, password, group_id, email)
    _emit({"UserID": user_id, "Username": username, "APIKey": api_key})


def _rotate(rotate, name: str, who: str, fields: tuple[str, str]) -> None:
    # A new key for ``name`` through ``rotate`` (the old one stops working), printed as ``fields``.
    with _Friendly(), _database().session() as db:
        api_key = rotate(db, name)
    if api_key is None:
        raise click.ClickException(f"no {who} named {name!r}")
    _emit({fields[0]: name, fields[1]: api_key})


@user_cli.command("apikey")
@click.argument("username", callback=_name)
def user_apikey(username):
    """Give a user a new API key; the old one stops working."""
    _rotate(users.rotate_api_key, username, "user", ("Username", "APIKey"))


@admin_cli.command("create")
@click.argument("name", callback=_name)
def admin_create(name):
    """Create an administrator; prints its AdminAPIKey, the only time it is shown."""
    with _Friendly(f"an administrator named {name!r}"), _database().session() as db:
        admin_id, api_key = admins.create_admin(db, name)
    _emit({"AdminID": admin_id, "Name": name, "AdminAPIKey": api_key})


@admin_cli.command("apikey")
@click.argument("name", callback=_name)
def admin_apikey(name):
    """Give an administrator a new AdminAPIKey; the old one stops working."""
    _rotate(admins.rotate_admin_key, name, "administrator", ("Name", "AdminAPIKey"))


@domain_cli.command("status")
@click.argument("domain_id", type=click.IntRange(min=1, max=2**63 - 1))
@click.argument("status", type=click.Choice(STATUSES, case_sensitive=False))
def domain_status(domain_id, status):
    """Set a domain's status as an administrator (Suspended, Blocked, Enabled to approve, …)."""
    status = next(name for name in STATUSES if name.lower() == status.lower())
    with _Friendly(), _database().session() as db:
        row = lifecycle.set_status_by_operator(db, domain_id, status)
    if row is None:
        raise click.ClickException(f"no sender domain {domain_id}")
    _emit({"DomainID": int(row["DomainID"]), "SenderDomain": row["SenderDomain"], "Status": row["Status"]})


def _not_nan(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and value != value:  # FloatRange's bounds never compare true to NaN
        raise click.BadParameter("nan is not a number of seconds", ctx=ctx, param=param)
    return value


@click.command("reverify", short_help="Re-verify the Enabled domains due; demote failing ones.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=32, show_default=True,
              help="Domains probed at once; each domain's lookups run side by side.")
@click.option("--interval", type=click.IntRange(min=0, max=10 * 365 * 86400), default=0, show_default=True,
              help="Probe only domains whose last background probe is older than the run's start minus "
                   "this many seconds (0: every Enabled domain once per run).")
@click.option("--claim-ttl", type=click.FloatRange(min=1, max=86400), default=None,
              callback=_not_nan,
              help="Seconds after which the claims of a runner that died may be taken over "
                   "[default: OCTETH_REVERIFY_CLAIM_TTL, 300].")
@click.option("--timeout", type=click.FloatRange(min=0, max=60, min_open=True), default=None,
              callback=_not_nan,
              help="Seconds a domain's lookups may take before its probe counts as inconclusive "
                   f"[default: OCTETH_REVERIFY_DNS_TIMEOUT, {REVERIFY_DNS_TIMEOUT}].")
def reverify(concurrency, interval, claim_ttl, timeout):
    """Re-probe the Enabled domains due; three definite failures in a row demote one.

    Safe to run on several machines at once: runners split the domains between them."""
    settings = current_app.extensions["octeth_reverify"]
    if claim_ttl is not None:
        settings = dataclasses.replace(settings, claim_ttl=claim_ttl)
    if timeout is not None:
        settings = dataclasses.replace(settings, dns_timeout=timeout)
    with _Friendly(), _database().session() as db:
        if sys.stderr.isatty():
            total = background.due_count(db, interval)
            with click.progressbar(length=total, label="reverify", file=sys.stderr) as bar:
                summary = background.run(db, settings, concurrency, interval, bar.update)
        else:
            summary = background.run(db, settings, concurrency, interval)
    click.echo(summary.line())


stats_cli = AppGroup("stats", help="Daily sending figures of sender domains.")


@stats_cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, readable=True))
def stats_import(files):
    """Add PowerMTA accounting files (CSV) to the daily stats; a file imported before adds nothing."""
    import os

    from .senderdomains import stats as stats_import_service

    for path in files:  # all of them, before any is imported
        shown = stats_import_service.as_text(path)
        # click.Path lets a FIFO, device or socket through; reading a FIFO waits for a writer forever.
        if not os.path.isfile(path):
            raise click.ClickException(f"{shown} is not a regular file")
        try:
            stats_import_service.check_header(path)
        except stats_import_service.NotAccounting as error:
            raise click.ClickException(str(error))
        except OSError as error:
            raise click.ClickException(f"{shown} cannot be read: {error.strerror or 'an input/output error'}")
    summary = stats_import_service.Summary()
    subdomain = current_app.config["EMAILCAMPAIGN_DNS_SUBDOMAIN"]
    with _Friendly(), _database().session() as db:
        if sys.stderr.isatty():
            total = sum(os.path.getsize(path) for path in files)
            with click.progressbar(length=total, label="stats import", file=sys.stderr) as bar:
                for path in files:
                    stats_import_service.import_file(db, path, summary, subdomain, bar.update)
        else:
            for path in files:
                stats_import_service.import_file(db, path, summary, subdomain)
    click.echo(summary.line())


def _demo_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    # It names the key's file in the instance folder too (demo_api_key.<name>): no path, short.
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}", value):
        raise click.BadParameter("letters, digits and . _ @ - only, at most 64", ctx=ctx, param=param)
    return value


@click.command("demo", short_help="Create the demo group and user; print the user's API key.")
@click.option("--username", default="demo", show_default=True, callback=_demo_name)
def demo(username):
    """Make sure a demo group and user exist and print the user's API key.

    The key is kept in the instance folder (``demo_api_key``; the database holds only its hash),
    so that it stays the same across restarts; a new one is made when that file is missing or
    no longer matches the user."""
    key_file = Path(current_app.instance_path) / ("demo_api_key" if username == "demo" else f"demo_api_key.{username}")
    with _Friendly(), _database().session() as db:
        group_id = users.group_id_by_name(db, "Demo")
        if group_id is None:
            group_id = users.create_group(db, "Demo")
        kept = key_file.read_text().strip() if key_file.exists() else ""
        owner = users.user_by_api_key(db, kept) if kept else None
        if owner is not None and owner.username == username:
            api_key = kept
        else:
            api_key = users.rotate_api_key(db, username)
            if api_key is None:
                _, api_key = users.create_user(db, username, "demo", group_id, f"{username}@example.com")
            _write_private(key_file, api_key + "\n")
    _emit({"Username": username, "Password": "demo", "APIKey": api_key})


def _domain_settings():
    return current_app.extensions["octeth_senderdomains"]


def _write_private(path: Path, text: str) -> None:
    # Readable by the owner only, replaced whole: a second instance may be reading it.
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


@click.command("docs", short_help="Write docs/commands.md and the provider tables.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write it (default: docs/commands.md of the checkout; - for stdout).")
@click.option("--check", is_flag=True, help="Only compare: exit 1 if the file is not what would be written.")
def docs(output, check):
    """Generate the command reference from the command registry, and (without --output) the
    provider tables of README.md and docs/configuration.md from the provider registry."""
    from . import reference
    from .providers import tables

    text = reference.markdown()
    if str(output) == "-":
        click.echo(text, nl=False)
        return
    wanted = {output or reference.DEFAULT_OUTPUT: text}
    if output is None:
        wanted.update(tables.documents())
    for path, text in wanted.items():
        if check:
            if not path.exists() or path.read_text() != text:
                raise click.ClickException(f"{path} is stale: run `octeth-domains docs`")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        click.echo(str(path))


def domainconnect_cli() -> AppGroup:
    """``octeth-domains domainconnect template|keys``: what an operator registers once."""
    from . import domainconnect
    from .senderdomains import templates

    group = AppGroup("domainconnect", help="Domain Connect: the service template and its signing keys.")

    @group.command("template")
    @click.option("--template", "template_name", default=None,
                  help="The campaign DNS template to use (default: OCTETH_DOMAINCONNECT_TEMPLATE).")
    @click.option("--provider-name", default="Octeth", show_default=True, help="Shown to users by DNS providers.")
    @click.option("--service-name", default="Sender domain", show_default=True, help="Shown to users by DNS providers.")
    def template(template_name, provider_name, service_name):
        """Print the service template (JSON, the Domain-Connect/Templates format) to submit."""
        config = current_app.config
        if not config["OCTETH_DOMAINCONNECT_PROVIDER_ID"]:
            raise click.ClickException("set OCTETH_DOMAINCONNECT_PROVIDER_ID (your domain, e.g. octeth.example) first")
        name = template_name or config["OCTETH_DOMAINCONNECT_TEMPLATE"]
        loaded = current_app.extensions["octeth_templates"]
        if name not in loaded.campaign:
            raise click.ClickException(f"no campaign template named {name!r} in {loaded.source}")
        identity = domainconnect.identity_from(config, provider_name, service_name)
        try:
            result = domainconnect.service_template(loaded.get(templates.CAMPAIGN, name), identity,
                                                    config["EMAILCAMPAIGN_DNS_TRACK_MERGE"])
        except templates.TemplateError as error:
            raise click.ClickException(f"campaign template {name!r}: {error}")
        click.echo(f"# {identity.provider_id}.{identity.service_id}.json", err=True)
        click.echo(json.dumps(result, indent=4))

    @group.command("keys")
    def keys():
        """Create the signing key pair (once) and print the TXT records that publish its public key."""
        config = current_app.config
        if not config["OCTETH_DOMAINCONNECT_PROVIDER_ID"]:
            raise click.ClickException("set OCTETH_DOMAINCONNECT_PROVIDER_ID (your domain, e.g. octeth.example) first")
        path = config["OCTETH_DOMAINCONNECT_PRIVATE_KEY"]
        try:
            key, created = domainconnect.ensure_keys(path)
        except (domainconnect.ConnectError, OSError) as error:
            raise click.ClickException(str(error))
        identity = domainconnect.identity_from(config)
        name = f"{config['OCTETH_DOMAINCONNECT_KEY_HOST']}.{identity.key_domain}"
        records = domainconnect.public_key_records(key.public_key())
        click.echo(f"# {'Created' if created else 'Kept'} the private key {path}. Publish these TXT records"
                   f" (one record each) at {name}:")
        for record in records:
            click.echo(f'{name}. 3600 IN TXT "{record}"')
        _emit({"Name": name, "KeyHost": config["OCTETH_DOMAINCONNECT_KEY_HOST"], "Domain": identity.key_domain,
               "TXT": records, "PrivateKey": str(path), "Created": created})

    return group


def register(app: Flask) -> None:
    for command in (db_cli, group_cli, user_cli, admin_cli, domain_cli, reverify, demo, stats_cli, docs):
        app.cli.add_command(command)
    app.cli.add_command(domainconnect_cli())


def _create_app() -> Flask:
    from flask.cli import NoAppException

    from . import create_app
    from .config import ConfigError

    try:
        return create_app()
    except ConfigError as error:  # a setting that cannot work: one line, as every command's errors
        raise NoAppException(str(error)) from None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("octeth-domains")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"octeth-domains {_version()}")
        ctx.exit()


HELP = """The sender-domain API of the Octeth email platform.

Settings come from OCTETH_* environment variables (docs/configuration.md); without any, the
embedded default keeps a SQLite file in the instance folder. Serve with `gunicorn wsgi:app`
(or `octeth-domains run` for development); `octeth-domains COMMAND --help` tells more."""


class _Group(FlaskGroup):
    """Flask's command group, showing this project's commands and options rather than Flask's."""

    # Flask's own commands that stay, but not its maintenance commands of extensions.
    HIDDEN = {"limiter"}

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        # Flask prints an app that cannot load and goes on to "No such command": say it once, and stop.
        from flask.cli import NoAppException, ScriptInfo

        try:
            ctx.ensure_object(ScriptInfo).load_app()
        except NoAppException as error:
            raise click.ClickException(error.format_message()) from None
        return super().get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in super().list_commands(ctx) if name not in self.HIDDEN]


cli = _Group(create_app=_create_app, help=HELP, add_version_option=False, load_dotenv=False,
             context_settings={"max_content_width": 100})
for _param in cli.params:
    if _param.name in ("app", "env_file"):
        _param.hidden = True  # the app is this package's; settings are environment variables
cli.params.append(click.Option(["--version"], is_flag=True, expose_value=False, is_eager=True,
                               callback=_print_version, help="Print the version and exit."))


def main() -> None:
    cli.main(prog_name="octeth-domains")
