"""The edit page of one sender domain: its DNS records (verified on every load, as the PHP
product's page did, the verification cache keeping that cheap; only right after the records were
generated are they shown unchecked), its settings, and the Pause/Enable toggle."""
from __future__ import annotations

from typing import Any, Mapping

from flask import current_app, flash, redirect, render_template, request, url_for

from . import bp, records
from .calls import api, attempt
from .connect import connect_offer
from .session import mark_fresh, take_fresh

SWITCHES = ("LinkTracking", "OpenTracking", "UnsubscribeLink")
#: The settings form's checkboxes, which it names in its field ``checkboxes``: a box left
#: unticked sends nothing, and only the list tells "off" from "not on this form".
CHECKBOXES = SWITCHES + ("UseTrackingSubdomain",)
STATUS_MESSAGES = {"Enabled": "Sending from this domain is enabled.", "Disabled": "Sending from this domain is paused."}


def label_defaults() -> dict[str, str]:
    """What an empty custom-label field stands for: the service's configured labels."""
    config = current_app.config
    return {"CustomSubdomain": config["EMAILCAMPAIGN_DNS_SUBDOMAIN"],
            "CustomTrackPrefix": config["EMAILCAMPAIGN_DNS_TRACK_PREFIX"]}


def settings_changes(options: Mapping[str, Any], form: Mapping[str, str]) -> dict[str, Any]:
    """The ``user.senderdomain.update`` parameters for what the form changed, and only those, so
    that a domain's Options keep only the keys its user actually set (as an API client's would).

    Each field is compared with what it stands for now: an empty label means the configured
    default. The API cannot remove a custom label, so emptying one sends that default, which
    gives the same records. A field the form does not carry changes nothing: a text field that is
    absent, a checkbox the form's ``checkboxes`` does not name (a post missing them would
    otherwise reset every setting and regenerate the records).
    """
    if "checkboxes" in form:
        shown = set(form["checkboxes"].split(","))
    elif all(name in form for name in label_defaults()):
        shown = set(CHECKBOXES)  # the whole form, from a page served before it named its boxes
    else:
        shown = set()
    changes: dict[str, Any] = {name: name in form for name in SWITCHES
                               if name in shown and bool(options.get(name)) != (name in form)}
    for name, default in label_defaults().items():
        if name not in form:
            continue
        wanted = form[name].strip() or default
        if wanted != (options.get(name) or default):
            changes[name] = wanted
    use_subdomain = "UseTrackingSubdomain" in form
    if "UseTrackingSubdomain" in shown and use_subdomain != (not options.get("TrackPrefixDisabled")):
        changes["UseTrackingSubdomain"] = use_subdomain
    return changes


def _options(domain: Mapping[str, Any]) -> dict[str, Any]:
    return domain["Options"] or {}  # the seed's object carries [] for an empty map


@bp.route("/<int:domain_id>")
def edit(domain_id: int):
    domain = api("user.senderdomain.get", DomainID=domain_id)["SenderDomain"]
    if take_fresh(domain_id):
        answer = api("user.senderdomain.dns", DomainID=domain_id)
        rows = records.from_dns(answer["DNSRecords"])
        status = domain["Status"]
    else:
        answer = api("user.senderdomain.verify", DomainID=domain_id)
        rows = records.from_verify(answer["DNSRecords"])
        status = answer["Status"]
    rows = records.explain(rows, answer.get("Diagnostics"), domain["SenderDomain"])
    return render_template(
        "web/edit.html",
        domain=domain,
        status=status,
        rows=rows,
        zone_text=records.as_zone_text(rows),
        health=records.health_warnings(answer.get("Health")),
        options=_options(domain),
        defaults=label_defaults(),
        track_merge=current_app.config["EMAILCAMPAIGN_DNS_TRACK_MERGE"],
        connect_provider=connect_offer(domain_id, rows),
        checkboxes=CHECKBOXES,
    )


@bp.route("/<int:domain_id>/settings", methods=["POST"])
def settings(domain_id: int):
    domain = api("user.senderdomain.get", DomainID=domain_id)["SenderDomain"]
    changes = settings_changes(_options(domain), request.form)
    if not changes:
        flash("Nothing to save: the settings are as they were.", "info")
    else:
        answer = attempt("user.senderdomain.update", DomainID=domain_id, **changes)
        if answer is not None and answer["DnsRegenerated"]:
            mark_fresh(domain_id)
            flash("Saved. The DNS records were regenerated: publish the new ones below, then verify them.", "success")
        elif answer is not None:
            flash("Saved.", "success")
    return redirect(url_for("web.edit", domain_id=domain_id))


@bp.route("/<int:domain_id>/status", methods=["POST"])
def status(domain_id: int):
    answer = attempt("user.senderdomain.update", DomainID=domain_id, Status=request.form.get("Status") or None)
    if answer is not None:
        now = answer["SenderDomain"]["Status"]
        flash(STATUS_MESSAGES.get(now, f"Status: {now}."), "success")
    return redirect(url_for("web.edit", domain_id=domain_id))
