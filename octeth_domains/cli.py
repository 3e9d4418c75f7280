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
from .models import senderdomains as model
from .models import users
from .models.senderdomains import STATUSES
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
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True,
              help="Domains probed at once.")
def reverify(concurrency):
    """Re-probe every Enabled domain; three definite failures in a row demote one."""
    with _Friendly(), _database().session() as db:
        if sys.stderr.isatty():
            total = len(model.enabled_domains(db))
            with click.progressbar(length=total, label="reverify", file=sys.stderr) as bar:
                summary = service.reverify(db, concurrency, bar.update)
        else:
            summary = service.reverify(db, concurrency)
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
    for command in (db_cli, group_cli, user_cli, domain_cli, reverify, demo):
        app.cli.add_command(command)
    app.cli.add_command(domainconnect_cli())


def _create_app() -> Flask:
    from . import create_app

    return create_app()


cli = FlaskGroup(create_app=_create_app, help="The octeth-domains service.")


def main() -> None:
    cli.main(prog_name="octeth-domains")
