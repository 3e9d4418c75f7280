"""Small helpers shared by the tests: rows written as an older release would have, free ports."""
from __future__ import annotations

import json
import socket
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def insert_domain(app, user_id: int, domain: str, status: str = "Enabled", records: dict | None = None,
                  options: dict | None = None, created_at: str = "2026-04-25 22:54:00") -> int:
    """A sender-domain row written straight into the table, as the PHP product left them."""
    records = records if records is not None else {f"sl.{domain}": ["CNAME", "tracking-host.octeth.example.", True]}
    options = options if options is not None else {"LinkTracking": 1, "OpenTracking": 1, "UnsubscribeLink": 0}
    with app.extensions["octeth_db"].session() as db:
        _, domain_id = db.execute(
            "INSERT INTO {p}sender_domains (SenderDomain, RelUserID, CreatedAt, Status, VerificationMeta,"
            " PolicyMeta, Options) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (domain, user_id, created_at, status, json.dumps({"DNSRecords": records}), "[]", json.dumps(options)),
        )
    return int(domain_id)


def body(response) -> Any:
    return json.loads(response.get_data(as_text=True))
