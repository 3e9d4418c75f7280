"""The sender-domain rules' refusals: a code and a sentence, no HTTP status. The command layer
(octeth_domains/commands/senderdomains.py) decides which status each code travels with."""
from __future__ import annotations


class DomainError(Exception):
    """A rule refused the request: ``code`` and ``message`` as the seed numbers them."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


NOT_FOUND = (2, "Sender domain not found")


def not_found() -> DomainError:
    return DomainError(*NOT_FOUND)
