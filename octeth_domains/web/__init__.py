"""The user's sender-domain pages, ``/app/user/senderdomains/``.

They hold no business logic: every action is a command run through the same registry as the API
(:func:`octeth_domains.web.session.api`), so a page can never disagree with what a client of
``/api.php`` would be told. Server-rendered Jinja with a little plain JavaScript; no build step.
"""
from flask import Blueprint

bp = Blueprint(
    "web",
    __name__,
    url_prefix="/app/user/senderdomains",
    template_folder="templates",
    static_folder="static",
)

# Each module attaches its hooks and routes to ``bp`` when imported.
from . import account, autosetup, domains, edit, errors, guard  # noqa: E402,F401
from . import names  # noqa: E402,F401  (the templates' domain filters)
from . import connect  # noqa: E402,F401
