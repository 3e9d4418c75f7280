"""The sender-domain rules' refusals: a code and a sentence, no HTTP status. The command layer
(octeth_domains/commands/senderdomains.py) decides which status each code travels with."""
from __future__ import annotations


class DomainError(Exception):
    """A rule refused the request: ``code`` and ``message`` as the seed numbers them, and, where
    the seed's message must stay as it is, a ``reason`` in words beside it."""

    def __init__(self, code: int, message: str, reason: str | None = None) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.reason = reason


NOT_FOUND = (2, "Sender domain not found")


def not_found() -> DomainError:
    return DomainError(*NOT_FOUND)
