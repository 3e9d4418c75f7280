"""The list of the user's sender domains, creating one, deleting some (after a confirmation
page, which works without JavaScript), and verifying one from the list."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from ..api.envelope import APIError
from . import bp
from .calls import api, attempt, form_can_answer
from .records import verify_summary
from .session import mark_fresh


@bp.route("/")
def index():
    domains = api("user.senderdomain.list")["SenderDomains"]
    return render_template("web/list.html", domains=domains)


@bp.route("/new", methods=["GET", "POST"])
def create():
    if request.method == "GET":
        return render_template("web/new.html", name="")
    name = request.form.get("SenderDomain", "").strip()
    try:
        answer = api("user.senderdomain.create", SenderDomain=name or None)
    except APIError as error:
        if not form_can_answer(error):
            raise
        # The seed's message for code 7 says only that it failed; the Reason says which rule.
        shown = f"{error.message}: {error.reason}" if error.reason else error.message
        return render_template("web/new.html", name=name, error=shown), 400
    domain_id = answer["DomainID"]
    mark_fresh(domain_id)
    flash(f"{answer['SenderDomain']['SenderDomain']} was added. Publish the DNS records below, then verify them.",
          "success")
    return redirect(url_for("web.edit", domain_id=domain_id))


@bp.route("/delete", methods=["POST"])
def delete():
    wanted = set(request.form.getlist("DomainID"))
    chosen = [domain for domain in api("user.senderdomain.list")["SenderDomains"] if domain["DomainID"] in wanted]
    if not chosen:
        flash("Select at least one sender domain to delete.", "error")
        return redirect(url_for("web.index"))
    if request.form.get("confirmed") != "yes":
        return render_template("web/confirm_delete.html", domains=chosen)
    deleted, refused = [], {}
    for domain in chosen:
        try:
            api("user.senderdomain.delete", DomainID=domain["DomainID"])
            deleted.append(domain["SenderDomain"])
        except APIError as error:
            if not form_can_answer(error):
                raise
            refused.setdefault(error.message, []).append(domain["SenderDomain"])
    # One message each, naming a few domains: the messages travel in the session cookie, which a
    # browser drops beyond 4 kB (fifty long names would be past it).
    if deleted:
        flash(f"Deleted: {_some(deleted)}.", "success")
    for message, names in refused.items():
        flash(f"{_some(names)}: {message}", "error")
    return redirect(url_for("web.index"))


def _some(names: list[str], shown: int = 5) -> str:
    if len(names) <= shown:
        return ", ".join(names)
    return ", ".join(names[:shown]) + f" and {len(names) - shown} more"


@bp.route("/<int:domain_id>/verify", methods=["POST"])
def verify(domain_id: int):
    answer = attempt("user.senderdomain.verify", DomainID=domain_id)
    if answer is not None:
        name = request.form.get("name", "")[:253]  # the form's own copy of the domain's name
        flash(verify_summary(name or f"Domain {domain_id}", answer), "info")
    if request.form.get("back") == "list":
        return redirect(url_for("web.index"))
    return redirect(url_for("web.edit", domain_id=domain_id) + "#records")
