"""JSON as the API writes it. The envelope writes every answer with it, and the kept lists
(``senderdomains/listing.py``) render theirs ahead of time with the same function, so that a list
spliced into an answer is byte for byte what the envelope would have written."""
from __future__ import annotations

import json
from typing import Any


class JSONText:
    """Part of a body that is already JSON text (a cached list): spliced as it is into a JSON
    answer, decoded for the XML form and for callers inside the service."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def decode(self) -> Any:
        return json.loads(self.text)


def dumps(value: Any) -> str:
    """JSON as the API writes it: compact, and UTF-8 rather than \\u escapes."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
