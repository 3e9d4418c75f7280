"""Background re-verification: ``octeth-domains reverify`` (SPEC §5 and §14).

A run re-probes the Enabled domains whose last background probe is older than the run's start
minus ``interval``. Any number of runners, on any number of machines, split that work through the
database (:mod:`octeth_domains.models.claims`):

- each claims due domains a small page at a time, in DomainID order, skipping what another runner
  holds; a claim expires after ``claim_ttl`` seconds, so a runner that died leaves nothing stuck;
- a runner started while another run is going joins it (adopts its start), so runners started
  together, or by a cron interval shorter than a run, probe each due domain once between them;
- a probe's outcome is recorded in the same transaction that releases the claim, and only while the
  claim is still the runner's: a domain gets at most one strike per probe, never one per runner;
- claimed domains are probed as a stream, ``concurrency`` at a time, on one event loop of the run's
  own (so the lookups in flight are bounded by the domains in flight): a domain whose servers
  never answer holds one slot for its own timeout, and nobody waits for it;
- the probes that ended are recorded together, a few statements for all of them;
- rows are read a page at a time and let go once recorded: memory does not grow with the domains;
- when nothing is left to claim but other runners still hold due domains, the runner waits for
  them, and takes over the claims that expire (their runner died).
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import Any, Callable

from ..config import REVERIFY_DNS_TIMEOUT
from ..db import Connection, DatabaseError, DatabaseUnavailable
from ..models import claims
from . import verification
from .settings import DomainSettings

log = logging.getLogger(__name__)

MAX_CONCURRENCY = 256
CLAIM_BATCH = 32  # domains claimed per statement, at most
RECORD_BATCH = 32  # probes recorded per transaction, at most
RECORD_WAIT = 0.05  # seconds an ended probe waits for others to be recorded with
POLL_SECONDS = 1.0  # how often a runner with nothing to claim looks at the others' claims


@dataclass
class Summary:
    """One runner's counts. ``claimed`` counts the domains whose probe this runner recorded under
    its own claim, so the ``claimed`` of runners that shared a run add up to its due domains;
    passed + failed + inconclusive fall short of it by the domains a user changed meanwhile."""

    claimed: int = 0
    passed: int = 0
    failed: int = 0
    inconclusive: int = 0
    demoted: int = 0

    def line(self) -> str:
        return (f"reverify: {self.claimed} claimed, {self.passed} passed, {self.failed} failed, "
                f"{self.inconclusive} inconclusive, {self.demoted} demoted")


# The seam to verification ------------------------------------------------------------------------
# Everything this module knows about how a domain is probed and how an outcome changes its row is
# in these three functions. When verification changes (another lookup strategy, another outcome
# type), re-point them and nothing else.

async def _probe(settings: Any, row: dict[str, Any]) -> Any:
    """Probe the records of ``row`` afresh, on the run's event loop (verification.probe_records:
    no cache, the health left as the user's verify found it)."""
    return await verification.probe_records(settings, verification.stored_records(row), row["SenderDomain"])


def _record(db: Connection, probed: list[tuple[dict[str, Any], Any]]) -> list[dict[str, Any] | None]:
    """Merge each ``(row, outcome)`` into its stored row by reverify's rule (Enabled rows only; the
    third definite failure in a row demotes); for each, the row as now stored, None when the
    outcome says nothing about it any more (the domain is no longer Enabled, or its records were
    regenerated). Called inside the transaction that releases the claims."""
    return verification.record_background(db, probed)


def _verdict(outcome: Any) -> str:
    if outcome.passed:
        return "passed"
    return "failed" if outcome.failed_definitely else "inconclusive"


# The run --------------------------------------------------------------------------------------------

class _Clock:
    """The database's clock in whole milliseconds, read once and carried on by this machine's, so
    that runners on machines whose clocks differ agree on claims' expiry."""

    def __init__(self, db: Connection) -> None:
        before = time.time()
        database = claims.clock_ms(db)
        self._offset = database - (before + time.time()) / 2 * 1000

    def now(self) -> int:
        return int(time.time() * 1000 + self._offset)


@dataclass
class _Claimed:
    row: dict[str, Any]
    token: str
    expires: int


def due_count(db: Connection, interval: float = 0) -> int:
    """Roughly how many domains a run started now would probe (for a progress bar)."""
    clock = _Clock(db)
    now = clock.now()
    started = min(now, claims.live_run_start(db, now) or now)
    return claims.count_due(db, started - int(interval * 1000))


@dataclass(frozen=True)
class RunSettings:
    """What a run reads from the configuration, built by ``create_app``; the command line's
    ``--claim-ttl`` and ``--timeout`` replace their fields."""

    domains: DomainSettings
    claim_ttl: float = 300.0  # seconds (OCTETH_REVERIFY_CLAIM_TTL)
    # Shorter than a user's verify by default: a background probe that times out changes nothing
    # (inconclusive, probed again next run), while every second a silent domain waits holds one of
    # the run's --concurrency slots. The user's verify keeps OCTETH_DNS_TIMEOUT.
    dns_timeout: float = REVERIFY_DNS_TIMEOUT  # seconds a domain's lookups may take (OCTETH_REVERIFY_DNS_TIMEOUT)


def run(db: Connection, settings: RunSettings, concurrency: int = 32, interval: float = 0,
        advance: Callable[[int], Any] = lambda done: None) -> Summary:
    """Take part in a re-verification run until no due domain is left unprobed; return this
    runner's counts. ``advance`` is told how many domains each recording step finished."""
    concurrency = max(1, min(int(concurrency), MAX_CONCURRENCY))
    ttl_ms = int(1000 * settings.claim_ttl)
    clock = _Clock(db)
    now = clock.now()
    run_started = min(now, claims.live_run_start(db, now) or now)
    cutoff = run_started - int(interval * 1000)
    batch = min(CLAIM_BATCH, concurrency)
    poll = min(POLL_SECONDS, ttl_ms / 4000)
    domains = dataclasses.replace(settings.domains, dns_timeout=float(settings.dns_timeout))
    with _EventLoop() as loop:
        return _stream(db, clock, concurrency, batch, poll, ttl_ms, cutoff, run_started,
                       lambda row: loop.submit(_probe(domains, row)), advance)


class _EventLoop:
    """One asyncio loop on a thread of its own, where every domain in flight is probed: the lookups
    of all of them wait side by side, with no thread per domain to switch between."""

    def __enter__(self) -> "_EventLoop":
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="reverify-probes", daemon=True)
        self._thread.start()
        return self

    def submit(self, coroutine: Any) -> Future:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def __exit__(self, *exc_info: object) -> None:
        async def cancel_the_rest() -> None:
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_the_rest(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def _stream(db: Connection, clock: _Clock, concurrency: int, batch: int, poll: float, ttl_ms: int, cutoff: int,
            run_started: int, probe_one: Callable[[dict[str, Any]], Future],
            advance: Callable[[int], Any]) -> Summary:
    """Claim, probe and record until no due domain is left unprobed (see the module's text)."""
    summary = Summary()
    pending: deque[_Claimed] = deque()
    in_flight: dict[Future, _Claimed] = {}
    finished: list[tuple[_Claimed, Future]] = []  # probes that ended, not recorded yet
    finished_since = 0.0
    after, exhausted, retaking = 0, False, False
    while True:
        if not exhausted and len(pending) < batch:
            now = clock.now()
            token = secrets.token_hex(16)
            rows, last = _retrying(lambda: claims.claim(
                db, token, after=after, limit=batch, cutoff=cutoff, now=now, expires=now + ttl_ms,
                run_started=run_started))
            if last is None:
                exhausted = True
            else:
                after = last
            if rows:
                retaking = False
                pending.extend(_Claimed(row, token, now + ttl_ms) for row in rows)
        while pending and len(in_flight) < concurrency:
            item = pending.popleft()
            if clock.now() >= item.expires:
                continue  # held too long before its turn: another runner may have it now
            in_flight[probe_one(item.row)] = item
        if in_flight:
            # Probes that ended wait a moment for others, so that one transaction records many.
            linger = poll if not finished else max(0.0, RECORD_WAIT - (time.monotonic() - finished_since))
            done, _ = wait(in_flight, timeout=linger, return_when=FIRST_COMPLETED)
            if done and not finished:
                finished_since = time.monotonic()
            finished.extend((in_flight.pop(future), future) for future in done)
        if finished and (len(finished) >= RECORD_BATCH or not in_flight
                         or time.monotonic() - finished_since >= RECORD_WAIT):
            recording, finished = finished[:RECORD_BATCH], finished[RECORD_BATCH:]
            finished_since = time.monotonic() if finished else finished_since
            counts = _retrying(lambda: _record_all(db, recording, clock))
            for name, value in counts.__dict__.items():
                setattr(summary, name, getattr(summary, name) + value)
            advance(len(recording))
        if in_flight or finished:
            continue
        if pending or not exhausted:
            continue
        # Nothing left to claim from here on. Due domains other runners hold are either being
        # probed (wait for them) or were left by a runner that died (take them over when their
        # claims expire); either way this runner ends only when none is left.
        count, expires = claims.unfinished(db, cutoff)
        if not count:
            break
        wait_ms = expires - clock.now()
        if wait_ms >= 0:
            time.sleep(min(poll, wait_ms / 1000 + 0.001))
            continue
        if retaking:  # the last pass found the expired claims locked: let their holder finish
            time.sleep(poll / 10)
        after, exhausted, retaking = 0, False, True  # a claim expired: go over the domains again
    return summary


def _retrying(action: Callable[[], Any], attempts: int = 5) -> Any:
    """Run a transaction again when the database broke a deadlock by rolling it back (claims and
    recordings of different runners can meet on a row whose claim changed hands)."""
    for attempt in range(attempts):
        try:
            return action()
        except (DatabaseError, DatabaseUnavailable) as error:
            if attempt == attempts - 1 or not claims.is_conflict(error):
                raise
            log.info("reverify: transaction rolled back by the database (%s); trying again", error)
            time.sleep(0.05 * (attempt + 1))


def _record_all(db: Connection, finished: list[tuple[_Claimed, Future]], clock: _Clock) -> Summary:
    """Record the probes that ended, in one transaction: each claim is released and its outcome
    merged together, or neither (the claim was taken over: this probe does not count). Returns
    the counts of this step, which stand once the transaction is committed."""
    now = clock.now()
    summary = Summary()
    with db.transaction(lock=True):
        held = claims.finish_many(db, [(int(item.row["DomainID"]), item.token) for item, _ in finished], now)
        probed = []
        for item, future in finished:
            domain_id = int(item.row["DomainID"])
            if domain_id not in held:
                continue
            summary.claimed += 1
            error = future.exception()
            if error is not None:
                log.warning("reverify: probing sender domain %s failed: %r", domain_id, error)
                summary.inconclusive += 1
                continue
            probed.append((item.row, future.result()))
        probed.sort(key=lambda pair: int(pair[0]["DomainID"]))  # rows locked in one order by every runner
        for (row, outcome), stored in zip(probed, _record(db, probed)):
            if stored is None:
                continue  # no longer Enabled, or regenerated, since it was claimed
            verdict = _verdict(outcome)
            setattr(summary, verdict, getattr(summary, verdict) + 1)
            if stored["Status"] != row["Status"]:
                summary.demoted += 1
    return summary
