"""The ``octeth-domains`` command line (SPEC §9), built on Flask's CLI.

Commands that create something print one JSON object as their last line, so that scripts can
read the result with ``tail -n1``.
"""
from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup

from .db import DatabaseUnavailable, IntegrityError, SchemaMissing
from .models import users
from .models.senderdomains import STATUSES
from .senderdomains import reverify as background
from .senderdomains import service

db_cli = AppGroup("db", help="The database schema.")
domain_cli = AppGroup("domain", help="Sender domains, as an operator sees them.")
group_cli = AppGroup("group", help="User groups.")
user_cli = AppGroup("user", help="Users and their API keys.")


def _emit(obj: dict[str, Any]) -> None:
    click.echo(json.dumps(obj))


def _database():
    return current_app.extensions["octeth_db"]


class _Friendly:
    """Turn the data layer's errors into one line on stderr and exit status 1."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, _tb) -> None:
        if isinstance(error, SchemaMissing):
            raise click.ClickException("the database has no schema yet: run `octeth-domains db upgrade`")
        if isinstance(error, DatabaseUnavailable):
            raise click.ClickException(f"the database is unavailable: {error}")
        if isinstance(error, IntegrityError):
            raise click.ClickException(f"already exists: {error}")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema; safe to run again."""
    with _Friendly():
        applied = _database().upgrade()
    _emit({"Applied": applied})


@group_cli.command("create")
@click.argument("name")
@click.option("--permissions", default="User.Update", show_default=True, help="Comma-separated.")
@click.option("--sender-domain-limit", type=click.IntRange(min=0), default=0, help="0 is unlimited.")
@click.option("--dns-template", default="Default", show_default=True)
@click.option("--manual-approval", is_flag=True, help="Verified domains wait for an operator.")
@click.option("--default-sender-domain", default="")
def group_create(name, permissions, sender_domain_limit, dns_template, manual_approval, default_sender_domain):
    """Create a user group."""
    with _Friendly(), _database().session() as db:
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
@click.argument("username")
@click.option("--password", required=True)
@click.option("--group", "group_name", required=True)
@click.option("--email", default="")
def user_create(username, password, group_name, email):
    """Create a user; prints its API key, the only time it is shown."""
    with _Friendly(), _database().session() as db:
        group_id = users.group_id_by_name(db, group_name)
        if group_id is None:
            raise click.ClickException(f"no group named {group_name!r}")
        user_id, api_key = users.create_user(db, username, password, group_id, email)
    _emit({"UserID": user_id, "Username": username, "APIKey": api_key})


@user_cli.command("apikey")
@click.argument("username")
def user_apikey(username):
    """Give a user a new API key; the old one stops working."""
    with _Friendly(), _database().session() as db:
        api_key = users.rotate_api_key(db, username)
    if api_key is None:
        raise click.ClickException(f"no user named {username!r}")
    _emit({"Username": username, "APIKey": api_key})


@domain_cli.command("status")
@click.argument("domain_id", type=click.IntRange(min=1))
@click.argument("status", type=click.Choice(STATUSES, case_sensitive=False))
def domain_status(domain_id, status):
    """Set a domain's status as an administrator (Suspended, Blocked, Enabled to approve, …)."""
    status = next(name for name in STATUSES if name.lower() == status.lower())
    with _Friendly(), _database().session() as db:
        row = service.set_status_by_operator(db, domain_id, status)
    if row is None:
        raise click.ClickException(f"no sender domain {domain_id}")
    _emit({"DomainID": int(row["DomainID"]), "SenderDomain": row["SenderDomain"], "Status": row["Status"]})


@click.command("reverify")
@click.option("--concurrency", type=click.IntRange(1, 256), default=32, show_default=True,
              help="Domains probed at once; each domain's lookups run side by side.")
@click.option("--interval", type=click.IntRange(min=0), default=0, show_default=True,
              help="Probe only domains whose last background probe is older than the run's start minus "
                   "this many seconds (0: every Enabled domain once per run).")
@click.option("--claim-ttl", type=click.FloatRange(min=1), default=None,
              help="Seconds after which the claims of a runner that died may be taken over "
                   "[default: OCTETH_REVERIFY_CLAIM_TTL, 300].")
def reverify(concurrency, interval, claim_ttl):
    """Re-probe the Enabled domains due; three definite failures in a row demote one.

    Safe to run on several machines at once: runners split the domains between them."""
    with _Friendly(), _database().session() as db:
        if sys.stderr.isatty():
            total = background.due_count(db, interval)
            with click.progressbar(length=total, label="reverify", file=sys.stderr) as bar:
                summary = background.run(db, concurrency, interval, claim_ttl, bar.update)
        else:
            summary = background.run(db, concurrency, interval, claim_ttl)
    click.echo(summary.line())


@click.command("demo")
@click.option("--username", default="demo", show_default=True)
def demo(username):
    """Make sure a demo group and user exist and print a fresh API key for the user."""
    with _Friendly(), _database().session() as db:
        group_id = users.group_id_by_name(db, "Demo")
        if group_id is None:
            group_id = users.create_group(db, "Demo")
        api_key = users.rotate_api_key(db, username)
        if api_key is None:
            _, api_key = users.create_user(db, username, "demo", group_id, f"{username}@example.com")
    _emit({"Username": username, "Password": "demo", "APIKey": api_key})


def register(app: Flask) -> None:
    for command in (db_cli, group_cli, user_cli, domain_cli, reverify, demo):
        app.cli.add_command(command)


def _create_app() -> Flask:
    from . import create_app

    return create_app()


cli = FlaskGroup(create_app=_create_app, help="The octeth-domains service.")


def main() -> None:
    cli.main(prog_name="octeth-domains")
