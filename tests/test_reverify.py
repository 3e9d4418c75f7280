"""``octeth-domains reverify`` with several runners (SPEC §14): real CLI processes on MariaDB and the
embedded SQLite, probing the loopback DNS server of tests/dns_server.py, which counts every query."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from octeth_domains.senderdomains import reverify as background

CLI = str(Path(sys.executable).parent / "octeth-domains")
TARGET = "tracking-host.octeth.example."
SUMMARY = re.compile(r"reverify: (\d+) claimed, (\d+) passed, (\d+) failed, (\d+) inconclusive, (\d+) demoted")


@pytest.fixture
def cli_env(make_env, templates_file, dns):
    """The environment of a CLI process on the test's backend, asking the test's DNS server. The
    timeout is long enough that a slow answer on a busy machine is never asked for twice. Lookups go
    to the resolver alone (the claims are under test, not the lookup path), so that each record is
    one query the server can count."""
    host, port = dns.address

    def make(timeout: float = 4, **overrides: str) -> dict[str, str]:
        settings = {"OCTETH_DNS_TEMPLATES": str(templates_file), "OCTETH_DNS_SERVERS": f"{host}:{port}",
                    "OCTETH_DNS_TIMEOUT": str(timeout), "OCTETH_REVERIFY_DNS_TIMEOUT": str(timeout),
                    "OCTETH_DNS_AUTHORITATIVE": "0", **overrides}
        return {**os.environ, "PYTHONFAULTHANDLER": "1", **make_env(**settings)}

    return make


def seed(app, count: int, *, published: bool, dns=None, prefix: str = "d") -> list[int]:
    """``count`` Enabled domains of one user, two CNAMEs each, written in one transaction."""
    ids = []
    with app.extensions["octeth_db"].session() as db, db.transaction():
        _, user_id = db.execute(
            "INSERT INTO {p}users (Username, RelUserGroupID, CreatedAt) VALUES (?, 1, '2026-01-01 00:00:00')",
            (f"{prefix}-owner-{time.monotonic_ns()}",))
        for n in range(count):
            domain = f"{prefix}{n}.example"
            records = {f"sl.{domain}": ["CNAME", TARGET, True], f"track-sl.{domain}": ["CNAME", TARGET, True]}
            _, domain_id = db.execute(
                "INSERT INTO {p}sender_domains (SenderDomain, RelUserID, CreatedAt, Status, VerificationMeta,"
                " PolicyMeta, Options) VALUES (?, ?, '2026-01-01 00:00:00', 'Enabled', ?, '[]', '{}')",
                (domain, user_id, json.dumps({"DNSRecords": records})))
            ids.append(int(domain_id))
            if published:
                for host in records:
                    dns.set_record(host, "CNAME", TARGET)
    return ids


def start(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([CLI, "reverify", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def summary(process: subprocess.Popen, timeout: float = 120) -> dict[str, int]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)  # faulthandler prints where every thread is
        raise AssertionError(f"reverify did not end:\n{process.communicate()[1][-6000:]}") from None
    assert process.returncode == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    match = SUMMARY.fullmatch(lines[0])
    assert match, lines[0]
    return dict(zip(("claimed", "passed", "failed", "inconclusive", "demoted"), map(int, match.groups())))


def rows(app, ids: list[int]) -> dict[int, dict]:
    with app.extensions["octeth_db"].session() as db:
        found = db.query(
            "SELECT d.DomainID, d.Status, d.FailedChecks, c.ClaimToken, c.ClaimExpiresAt, c.LastProbedAt"
            " FROM {p}sender_domains d LEFT JOIN {p}reverify_claims c ON c.DomainID = d.DomainID")
    return {int(row["DomainID"]): row for row in found if int(row["DomainID"]) in ids}


def stored_records(app) -> set[tuple[str, str]]:
    """(host, type) of every record stored for the seeded domains: the queries a probe of them makes
    beside the health checks' own (the domains' DMARC and SPF names)."""
    with app.extensions["octeth_db"].session() as db:
        metas = [json.loads(row["VerificationMeta"]) for row in db.query("SELECT VerificationMeta FROM {p}sender_domains")]
    return {(host.rstrip(".").lower(), record[0]) for meta in metas for host, record in meta["DNSRecords"].items()}


def test_two_runners_started_together_probe_each_domain_once(domain_app, dns, cli_env):
    ids = seed(domain_app, 300, published=True, dns=dns)
    dns.delay = 0.05  # so that the two runs really overlap
    # Health checked at every probe, so that each run asks the same names: the count is the test.
    env = cli_env(OCTETH_DNS_HEALTH_CACHE_TTL="0")
    alone = summary(start(env, "--concurrency", "8"))
    assert alone == {"claimed": 300, "passed": 300, "failed": 0, "inconclusive": 0, "demoted": 0}
    queries_alone = Counter(dns.queries)
    # Each of the 600 records asked once (the health checks ask the domains' own DMARC/SPF names too).
    records = stored_records(domain_app)
    assert len(records) == 600 and {queries_alone[record] for record in records} == {1}
    dns.queries.clear()

    first, second = start(env, "--concurrency", "8"), start(env, "--concurrency", "8")
    together = [summary(first), summary(second)]
    assert Counter(dns.queries) == queries_alone
    assert sum(s["claimed"] for s in together) == 300
    assert sum(s["passed"] for s in together) == 300
    assert all(s["claimed"] > 0 for s in together), together  # both took part
    assert all(row["ClaimToken"] is None and row["LastProbedAt"] > 0 for row in rows(domain_app, ids).values())


def test_overlapping_runners_give_one_strike_per_probe(domain_app, dns, cli_env):
    ids = seed(domain_app, 200, published=False)  # NXDOMAIN for every record: a definite failure
    dns.delay = 0.05
    env = cli_env()
    first, second = start(env, "--concurrency", "8"), start(env, "--concurrency", "8")
    together = [summary(first), summary(second)]
    assert sum(s["claimed"] for s in together) == 200 and sum(s["failed"] for s in together) == 200
    assert {(row["Status"], row["FailedChecks"]) for row in rows(domain_app, ids).values()} == {("Enabled", 1)}

    assert summary(start(env))["failed"] == 200
    assert {(row["Status"], row["FailedChecks"]) for row in rows(domain_app, ids).values()} == {("Enabled", 2)}

    assert summary(start(env)) == {"claimed": 200, "passed": 0, "failed": 200, "inconclusive": 0, "demoted": 200}
    assert {row["Status"] for row in rows(domain_app, ids).values()} == {"Approval Pending"}


def wait_for(condition, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_killed_runners_claims_are_taken_over_once_they_expire(domain_app, dns, cli_env):
    ids = seed(domain_app, 40, published=True, dns=dns)
    dns.delay = 0.3
    env = cli_env()
    victim = start(env, "--concurrency", "2", "--claim-ttl", "5")

    def some_recorded_and_some_held():
        state = rows(domain_app, ids).values()
        return (sum(1 for row in state if row["LastProbedAt"]) >= 4
                and any(row["ClaimToken"] for row in state))

    wait_for(some_recorded_and_some_held, what="the first runner to be under way")
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    state = rows(domain_app, ids)
    recorded = {domain_id for domain_id, row in state.items() if row["LastProbedAt"]}
    held = {domain_id: int(row["ClaimExpiresAt"]) for domain_id, row in state.items() if row["ClaimToken"]}
    assert held and not recorded & set(held)
    dns.queries.clear()

    started = time.monotonic()
    # --interval: what the dead runner recorded is not due, however long the machine took to get here
    # (were its claims still live, the rescuer would join its run, to the same effect).
    rescuer = summary(start(env, "--concurrency", "8", "--claim-ttl", "30", "--interval", "3600"))
    elapsed = time.monotonic() - started
    assert rescuer["claimed"] == rescuer["passed"] == len(ids) - len(recorded)
    after = rows(domain_app, ids)
    assert all(row["ClaimToken"] is None and row["LastProbedAt"] for row in after.values())
    for domain_id, expires in held.items():  # taken over, and only once the dead runner's claim had expired
        assert int(after[domain_id]["LastProbedAt"]) >= expires
    for domain_id in recorded:  # what the dead runner finished is not probed again in its run
        assert after[domain_id]["LastProbedAt"] == state[domain_id]["LastProbedAt"]
    assert len(set(dns.queries) & stored_records(domain_app)) == 2 * (len(ids) - len(recorded))
    assert elapsed < 30  # it waited for the dead claims, not for its own thirty


def test_a_probe_whose_claim_was_taken_over_gives_no_strike(domain_app, dns, cli_env):
    [domain_id] = seed(domain_app, 1, published=False)
    dns.delay = 4  # every answer outlives the first runner's claim
    # A lone server is asked twice, each try with half the timeout: 10 s would leave one late 4 s
    # answer (a busy machine) no second chance, and the takeover's probe would end inconclusive.
    env = cli_env(timeout=20)
    slow = start(env, "--claim-ttl", "2")
    wait_for(lambda: rows(domain_app, [domain_id])[domain_id]["ClaimToken"], what="the first claim")
    other = start(env, "--claim-ttl", "30")  # takes the claim over when it expires, mid-probe
    results = [summary(slow), summary(other)]
    assert sorted(s["claimed"] for s in results) == [0, 1]
    records = stored_records(domain_app)
    assert len([query for query in dns.queries if query in records]) == 4  # two probes of two records
    row = rows(domain_app, [domain_id])[domain_id]
    assert (row["Status"], row["FailedChecks"]) == ("Enabled", 1)


def test_interval_skips_domains_probed_recently(domain_app, dns, cli_env):
    ids = seed(domain_app, 5, published=True, dns=dns)
    env = cli_env()
    assert summary(start(env))["claimed"] == 5
    dns.queries.clear()
    assert summary(start(env, "--interval", "3600"))["claimed"] == 0
    assert dns.queries == []
    with domain_app.app_context(), domain_app.extensions["octeth_db"].session() as db:
        assert background.run(db, domain_app.extensions["octeth_reverify"], interval=0).claimed == 5
    records = stored_records(domain_app)
    assert len([query for query in dns.queries if query in records]) == 10 and len(rows(domain_app, ids)) == 5


def test_a_silent_domain_holds_its_slot_for_reverify_s_own_timeout(domain_app, dns, cli_env):
    """A background probe gives up after OCTETH_REVERIFY_DNS_TIMEOUT (or --timeout), not after the
    user's verify timeout: inconclusive either way, but a silent domain keeps a slot for less."""
    ids = seed(domain_app, 4, published=True, dns=dns)
    dns.silent = True
    for env, args in ((cli_env(timeout=30, OCTETH_REVERIFY_DNS_TIMEOUT="0.5"), ()),
                      (cli_env(timeout=30), ("--timeout", "0.5"))):
        started = time.monotonic()
        result = summary(start(env, "--concurrency", "1", *args), timeout=60)
        elapsed = time.monotonic() - started
        assert result == {"claimed": 4, "passed": 0, "failed": 0, "inconclusive": 4, "demoted": 0}
        assert elapsed < 25, elapsed  # one at a time: 4 x 30 s = 120 s at the verify timeout
    assert {(row["Status"], row["FailedChecks"]) for row in rows(domain_app, ids).values()} == {("Enabled", 0)}


@pytest.mark.parametrize("option, bad", [("--timeout", value) for value in ("0", "-1", "61", "inf", "nan", "soon")]
                         + [("--claim-ttl", value) for value in ("0", "inf", "nan")])
def test_seconds_that_are_no_number_of_seconds_are_refused(option, bad):
    """Refused by the command's own parsing, before any app or database is touched."""
    from click.testing import CliRunner

    from octeth_domains.cli import reverify

    result = CliRunner().invoke(reverify, [option, bad])
    assert result.exit_code == 2 and option in result.output and result.exception.__class__ is SystemExit, result.output


def test_concurrency_is_bounded_and_refused_out_of_range(domain_app, cli_env):
    done = subprocess.run([CLI, "reverify", "--concurrency", "257"], env=cli_env(), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "257" in done.stderr
