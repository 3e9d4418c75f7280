"""How the pages show a domain: its Unicode form (domains are stored as punycode), with a line
break allowed after each dot so that a long name wraps between labels, never inside one."""
from __future__ import annotations

import idna
from markupsafe import Markup

from . import bp


@bp.app_template_filter("unicode_domain")
def unicode_domain(name: str) -> str:
    """``xn--bcher-kva.example`` → ``bücher.example``; a name idna cannot decode stays as stored."""
    if "xn--" not in name.lower():
        return name
    try:
        return idna.decode(name)
    except (idna.IDNAError, UnicodeError):
        return name


@bp.app_template_filter("domain_name")
def domain_name(name: str) -> Markup:
    """The Unicode form, escaped, each label in a ``span.label`` (app.css keeps a label whole when
    it fits a line: a hyphen is not a place to break a name) with ``<wbr>`` after every dot."""
    labels = unicode_domain(name).split(".")
    return Markup(".<wbr>").join(Markup('<span class="label">%s</span>') % label for label in labels)
