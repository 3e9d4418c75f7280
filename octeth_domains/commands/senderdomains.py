"""The user.senderdomain.* commands (seed 000)."""
from __future__ import annotations

from typing import Any

from ..api.auth import Caller
from ..api.registry import command
from ..db import get_db
from ..models import senderdomains


@command("user.senderdomain.list", rest=("GET", "user.senderdomains"))
def list_sender_domains(args: dict[str, Any], caller: Caller) -> dict[str, Any]:
    rows = senderdomains.list_for_user(get_db(), caller.user.user_id)
    return {"Success": True, "SenderDomains": [senderdomains.as_seed_object(row) for row in rows]}
