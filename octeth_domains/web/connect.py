"""Domain Connect from the pages: "Connect with <provider>" sends the user to their DNS provider
with a fresh signed link (``dns.connect``), and the provider sends them back to ``connected``,
which checks the round trip's single-use ``state`` and verifies the records at once.

Whether the records are there is decided by DNS only: the redirect could have been typed by
anyone, so it proves nothing, and a wrong or used ``state`` changes nothing at all.
"""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from ..api.envelope import APIError
from ..commands.domainconnect import states
from ..senderdomains import verify
from . import bp, records as shown
from .calls import api, attempt, form_can_answer
from .errors import page
from .records import verify_summary

REFUSED = ("This Domain Connect link is not valid: it has expired, was already used, or belongs to another "
           "domain. Nothing was changed. Start again with “Connect” on the domain's page.")


def connect_offer(domain_id: int, rows: list) -> str | None:
    """The DNS provider's name when ``dns.connect`` would succeed for this domain, else None. Only
    asked while some record is not verified: a domain whose records all pass needs no connecting."""
    if not current_app.config["OCTETH_DOMAINCONNECT_PROVIDER_ID"] or not rows:
        return None
    if all(row.state == shown.VERIFIED for row in rows):
        return None
    try:
        return api("dns.connect", DomainID=domain_id)["ProviderName"]
    except APIError as error:
        if not form_can_answer(error):
            raise
        return None


@bp.route("/<int:domain_id>/connect", methods=["POST"])
def connect(domain_id: int):
    answer = attempt("dns.connect", DomainID=domain_id)
    if answer is None:
        return redirect(url_for("web.edit", domain_id=domain_id) + "#records")
    return render_template("web/connect_go.html", url=answer["URL"], provider=answer["ProviderName"])


@bp.route("/<int:domain_id>/connected")
def connected(domain_id: int):
    domain = api("user.senderdomain.get", DomainID=domain_id)["SenderDomain"]  # yours, or not found
    issued = states().take(request.args.get("state", ""))
    if not isinstance(issued, dict) or issued.get("DomainID") != domain_id or str(issued.get("UserID")) != domain["UserID"]:
        return page("Link not valid", REFUSED, 400)
    provider = issued.get("ProviderName") or "your DNS provider"
    if request.args.get("error"):
        # The provider's word is shown, not trusted either way: the check below asks DNS.
        flash(f"{provider} reports: {request.args['error'][:100]}.", "warning")
    # A check made before the records were applied may still be cached; this one must ask DNS now.
    meta = domain.get("VerificationMeta")
    records = meta.get("DNSRecords") or {} if isinstance(meta, dict) else {}
    current_app.extensions["octeth_verify_cache"].delete(verify.cache_key(domain_id, records))
    answer = attempt("user.senderdomain.verify", DomainID=domain_id)
    if answer is not None:
        flash(f"Back from {provider}. " + verify_summary(domain["SenderDomain"], answer), "info")
    return redirect(url_for("web.edit", domain_id=domain_id) + "#records")
