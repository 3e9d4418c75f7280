"""The ``octeth-domains`` command line (SPEC §9), built on Flask's CLI.

Commands that create something print one JSON object as their last line, so that scripts can
read the result with ``tail -n1``.
"""
from __future__ import annotations

import json
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup

from .db import DatabaseUnavailable, IntegrityError
from .models import users

db_cli = AppGroup("db", help="The database schema.")
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
    for command in (db_cli, group_cli, user_cli, demo):
        app.cli.add_command(command)


def _create_app() -> Flask:
    from . import create_app

    return create_app()


cli = FlaskGroup(create_app=_create_app, help="The octeth-domains service.")


def main() -> None:
    cli.main(prog_name="octeth-domains")
