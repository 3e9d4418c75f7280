"""Sign in with a username and password (``user.login``) and sign out (``user.logout``)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for

from ..api import doors
from ..api.envelope import APIError
from . import bp
from .calls import api
from .session import sign_in


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if session.get("sid"):
            return redirect(url_for("web.index"))
        return render_template("web/login.html", username="")
    username = request.form.get("username", "").strip()
    try:
        answer = doors.call("user.login", Username=username or None, Password=request.form.get("password") or None)
    except APIError as error:
        # The command's message ("Invalid login information") says no more than it says to an API client.
        status = error.status if error.status >= 400 else 200
        return render_template("web/login.html", username=username, error=error.message), status, error.headers
    sign_in(answer["SessionID"], answer["UserInfo"]["Username"])
    return redirect(url_for("web.index"))


@bp.route("/logout", methods=["POST"])
def logout():
    try:
        api("user.logout")
    except APIError:
        pass  # already ended (or rate limited): the cookie is forgotten below all the same
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("web.login"))
