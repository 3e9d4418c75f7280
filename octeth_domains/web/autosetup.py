""""Set up automatically": find the domain's DNS provider (``dns.provider``), ask for that
provider's credentials only, publish the records (``dns.set``), then verify them. When the
provider cannot be found, or is one this service cannot drive, the user picks theirs from the
providers it can drive; every provider's name, credentials and their labels come from the
registry of providers (``app.extensions["octeth_providers"]``).

The credentials go from the form straight into the command and are forgotten with the request:
never stored, never written back into a page, not even after a refusal.
"""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from ..api.envelope import APIError
from ..providers.registry import ProviderInfo
from . import bp
from .calls import api, form_can_answer
from .records import verify_summary

NOT_AVAILABLE = "Automatic set-up is not available for this DNS provider."


def _available() -> dict[str, ProviderInfo]:
    """The providers a user may pick: those the service drives and whose API it knows the
    address of (PowerDNS needs OCTETH_POWERDNS_API_URL), by label."""
    config = current_app.config
    found = [info for info in current_app.extensions["octeth_providers"].values()
             if info.drivable and config.get(info.api_url_setting) and info.unavailable() is None]
    return {info.name: info for info in sorted(found, key=lambda info: info.label.lower())}


def _page(domain: dict, chosen: ProviderInfo | None, detected: str | None = None, error: str | None = None,
          status: int = 200):
    providers = _available()
    return render_template("web/auto.html", domain=domain, chosen=chosen, detected=detected, error=error,
                           providers=providers.values()), status


@bp.route("/<int:domain_id>/auto")
def auto(domain_id: int):
    domain = api("user.senderdomain.get", DomainID=domain_id)["SenderDomain"]
    picked = request.args.get("provider")
    if picked is not None:  # the user's choice from the list
        chosen = _available().get(picked)
        if chosen is None:
            return _page(domain, None, error=f"{NOT_AVAILABLE} Choose one from the list.", status=400)
        return _page(domain, chosen)
    try:
        detected = api("dns.provider", Domain=domain["SenderDomain"])["provider"]
    except APIError as error:
        if not form_can_answer(error):
            raise
        return _page(domain, None, error=error.message)
    chosen = _available().get(detected)
    if chosen is None:
        info = current_app.extensions["octeth_providers"].get(detected)
        return _page(domain, None, detected=info.label if info is not None else detected)
    return _page(domain, chosen)


@bp.route("/<int:domain_id>/auto", methods=["POST"])
def auto_publish(domain_id: int):
    domain = api("user.senderdomain.get", DomainID=domain_id)["SenderDomain"]
    chosen = _available().get(request.form.get("Provider", ""))
    if chosen is None:
        return _page(domain, None, error=NOT_AVAILABLE, status=400)
    credentials = {needed.parameter: request.form.get(needed.parameter) or None for needed in chosen.credentials}
    try:
        published = api("dns.set", Provider=chosen.name, Domain=domain["SenderDomain"], RecordType="campaign",
                        **credentials)
    except APIError as error:
        if not form_can_answer(error):
            raise
        return _page(domain, chosen, error=error.message, status=400)
    flash(f"{len(published.get('Records', []))} DNS records are published at {chosen.label}.", "success")
    verified = api("user.senderdomain.verify", DomainID=domain_id)
    flash(verify_summary(domain["SenderDomain"], verified), "info")
    return redirect(url_for("web.edit", domain_id=domain_id) + "#records")
