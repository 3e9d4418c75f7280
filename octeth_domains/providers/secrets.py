"""The caller's provider credentials, and the one function that removes them from any text.

Credentials are used for one call and forgotten; nothing here stores them. :class:`Credentials`
never shows its values in ``repr``, so it is safe in a traceback.
"""
from __future__ import annotations

import re
import typing as t
import urllib.parse

#: What replaces a credential value in any text this package produces.
REDACTED = "[redacted]"


class Credentials:
    """The secrets a caller hands over for one call.

    Which fields a provider needs: Cloudflare ``key`` (an API token);
    GoDaddy ``key`` and ``secret``; Namecheap ``key``, ``api_user`` and
    ``username``; PowerDNS ``key``. The object never shows its values in
    ``repr`` or ``str``, so it is safe in a traceback or a log line.
    """

    __slots__ = ("key", "secret", "api_user", "username")

    def __init__(
        self,
        key: str,
        secret: str | None = None,
        api_user: str | None = None,
        username: str | None = None,
    ) -> None:
        self.key = key
        self.secret = secret
        self.api_user = api_user
        self.username = username

    def values(self) -> list[str]:
        """Every non-empty credential value, longest first (for :func:`scrub`)."""
        found = [v for v in (self.key, self.secret, self.api_user, self.username) if v]
        return sorted(set(found), key=len, reverse=True)

    def __repr__(self) -> str:
        present = [name for name in self.__slots__ if getattr(self, name)]
        return f"<Credentials {', '.join(present) or 'empty'}>"

    __str__ = __repr__


#: A credential value at least this long cannot occur in a message by chance, so it is removed
#: wherever it appears; a shorter one only where it stands as a whole token, so that a one-letter
#: username does not turn "Cloudflare refused" into "Cloudflar[redacted] r[redacted]fus[redacted]d".
WHOLE_TEXT_LENGTH = 12
_NOT_AFTER_ALNUM = r"(?<![A-Za-z0-9])"
_NOT_BEFORE_ALNUM = r"(?![A-Za-z0-9])"


def scrub(text: str, secrets: t.Iterable[str]) -> str:
    """Return ``text`` with every secret replaced by ``[redacted]``.

    Secrets travel in headers, query strings and form bodies, so besides the
    raw value this also removes its URL-encoded spellings (``%2B``, ``+`` for
    a space), which is how they show up in a ``requests`` error that quotes
    the URL. One pass over the text, longest spelling first, so that what was
    already replaced is never rewritten by a shorter secret.
    """
    if not text:
        return text
    forms = {
        form
        for secret in secrets
        if secret
        for form in (
            secret,
            urllib.parse.quote(secret, safe=""),
            urllib.parse.quote_plus(secret),
            urllib.parse.quote(secret),
        )
    }
    if not forms:
        return text
    patterns = [
        re.escape(form) if len(form) >= WHOLE_TEXT_LENGTH else _NOT_AFTER_ALNUM + re.escape(form) + _NOT_BEFORE_ALNUM
        for form in sorted(forms, key=len, reverse=True)
    ]
    return re.sub("|".join(patterns), REDACTED, text)
