"""What `make bench`'s two drivers share (bench/run.py, bench/reverify.py): paths and import
set-up, the seed's constants, the throwaway database's connection, the bench DNS server's zone,
and the small helpers. Importing it puts the repository and tests/ on ``sys.path``."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pymysql

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
for _path in (str(REPO / "tests"), str(REPO)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

PREFIX = "oempro_"
TEMPLATES_FILE = BENCH / "dns_templates.toml"
DNS_DELAY = 0.05  # seconds the bench DNS server waits before every answer
OPTIONS = {"LinkTracking": 1, "OpenTracking": 1, "UnsubscribeLink": 0}
# Every seeded domain is under this zone, which the bench DNS server serves with its SOA, NS and the
# NS host's address (itself), so verification finds the zone and asks its server (SPEC §10).
ZONE = "bench.example"


def logger(tag: str):
    def log(message: str) -> None:
        print(f"[{tag} {time.strftime('%H:%M:%S')}] {message}", flush=True)
    return log


def admin(url: str, database: str | None = None) -> pymysql.connections.Connection:
    parsed = urlparse(url)
    return pymysql.connect(host=parsed.hostname or "127.0.0.1", port=parsed.port or 3306,
                           user=unquote(parsed.username or "root"), password=unquote(parsed.password or ""),
                           database=database, charset="utf8mb4", autocommit=True)


def database_url(admin_url: str, name: str) -> str:
    parsed = urlparse(admin_url)
    return f"{parsed.scheme}://{parsed.netloc}/{name}"


def serve_zone(server, zone: str = ZONE) -> None:
    """Make ``server`` (tests/dns_server.py's DNSServer, started) the authoritative server of
    ``zone``: its SOA, NS ns1.<zone> and that host's A record, the server's own address."""
    server.add_zone(zone, ns_address=server.host)
    # An hour, as zones commonly publish them (the default 60 s would have every process find the
    # zone again each minute).
    server.set_record(zone, "SOA", f"ns1.{zone}. hostmaster.{zone}. 1 3600 600 86400 60", ttl=3600)
    server.set_record(zone, "NS", f"ns1.{zone}.", ttl=3600)


def dns_env(server) -> dict[str, str]:
    """The service's DNS settings against the bench server: it is the resolver and, on its own
    port, every zone's authoritative server (authoritative lookups on, as in production)."""
    return {"OCTETH_DNS_SERVERS": f"{server.host}:{server.port}", "OCTETH_DNS_AUTHORITATIVE": "1",
            "OCTETH_DNS_AUTHORITATIVE_PORT": str(server.port)}


def git_head() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        return head.stdout.strip()
    except OSError:
        return ""


def interrupted(*_: object) -> None:
    raise KeyboardInterrupt  # so that the drivers' `finally` stops the servers and drops the databases
