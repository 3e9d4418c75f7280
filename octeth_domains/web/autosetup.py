""""Set up automatically": find the domain's DNS provider (``dns.provider``), ask for that
provider's credentials only, publish the records (``dns.set``), then verify them.

The credentials go from the form straight into the command and are forgotten with the request:
never stored, never written back into a page, not even after a refusal.
"""
from __future__ import annotations

from typing import NamedTuple

from flask import flash, redirect, render_template, request, url_for

from ..api.envelope import APIError
from . import bp
from .calls import api, form_can_answer
from .records import verify_summary


class Field(NamedTuple):
    name: str  # dns.set's parameter
    label: str
    secret: bool = True  # typed into a password box


# What each provider the service can drive asks for (dns.set's parameter names).
CREDENTIALS = {
    "cloudflare": ("Cloudflare", (Field("Api_key", "API token"),)),
    "godaddy": ("GoDaddy", (Field("Api_key", "API key"), Field("Api_secret", "API secret"))),
    "namecheap": ("Namecheap", (Field("Api_user", "API user", secret=False), Field("Api_key", "API key"),
                                Field("Username", "Account username", secret=False))),
    "powerdns": ("PowerDNS", (Field("Api_key", "API key"),)),
}


def _page(domain: dict, provider: str | None, error: str | None = None, status: int = 200):
    title, fields = CREDENTIALS.get(provider or "", (provider, None))
    return render_template("web/auto.html", domain=domain, provider=provider, provider_title=title,
                           fields=fields, error=error), status


@bp.route("/<int:domain_id>/auto")
def auto(domain_id: int):
    domain = api("user.senderdomain.get", DomainID=domain_id)["SenderDomain"]
    try:
        provider = api("dns.provider", Domain=domain["SenderDomain"])["provider"]
    except APIError as error:
        if not form_can_answer(error):
            raise
        return _page(domain, None, error.message)
    return _page(domain, provider)


@bp.route("/<int:domain_id>/auto", methods=["POST"])
def auto_publish(domain_id: int):
    domain = api("user.senderdomain.get", DomainID=domain_id)["SenderDomain"]
    provider = request.form.get("Provider", "")
    if provider not in CREDENTIALS:
        return _page(domain, None, "Automatic set-up is not available for this DNS provider.", 400)
    title, fields = CREDENTIALS[provider]
    credentials = {field.name: request.form.get(field.name) or None for field in fields}
    try:
        published = api("dns.set", Provider=provider, Domain=domain["SenderDomain"], RecordType="campaign",
                        **credentials)
    except APIError as error:
        if not form_can_answer(error):
            raise
        return _page(domain, provider, error.message, 400)
    flash(f"{len(published.get('Records', []))} DNS records are published at {title}.", "success")
    verified = api("user.senderdomain.verify", DomainID=domain_id)
    flash(verify_summary(domain["SenderDomain"], verified), "info")
    return redirect(url_for("web.edit", domain_id=domain_id) + "#records")
