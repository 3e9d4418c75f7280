"""PowerMTA accounting files into the daily stats of sender domains (``octeth-domains stats import``).

An accounting file is CSV whose first line names the fields. Records of type ``d`` (delivered),
``b`` (bounced) and ``f`` (feedback-loop complaint) count; every other type (``t`` transient,
``r`` receipt, …) is ignored. A record belongs to the sender domain whose return-path host
(``<subdomain>.<domain>``) or whose own name is the domain of its ``orig`` address (``f`` records
without ``orig``: of ``header_From``), and to the UTC day of its ``timeLogged``. ``Sent`` counts
``d`` and ``b``. A file already imported (same size and content hash, whatever its name) adds
nothing; a file of the same name that grew since (PowerMTA appends to its current file) adds what
was appended. Only complete lines count: a line still being written waits for the next import.
"""
from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parseaddr
from typing import Callable, Iterable

from ..db import Connection, IntegrityError
from ..models import senderdomains as model
from ..models import stats

COUNTED = {"d": 1, "b": 2, "f": 3}  # record type -> column (Sent is 0)
EARLIEST = "1970-01-01"
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S")


@dataclass
class Summary:
    files: int = 0
    already: int = 0
    records: int = 0
    delivered: int = 0
    bounced: int = 0
    complaints: int = 0
    unknown: int = 0
    unreadable: int = 0
    unknown_domains: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        shown = ", ".join(name for name, _ in sorted(self.unknown_domains.items(), key=lambda i: (-i[1], i[0]))[:5])
        more = len(self.unknown_domains) - 5
        unknown = f"{self.unknown} for unknown domains" + (f" ({shown}{f', +{more} more' if more > 0 else ''})"
                                                            if shown else "")
        return (f"stats import: {self.files} file(s) imported, {self.already} already imported;"
                f" {self.records} records ({self.delivered} delivered, {self.bounced} bounced,"
                f" {self.complaints} complaints), {unknown}, {self.unreadable} unreadable")


def _sender_domain_by_host(db: Connection, default_subdomain: str) -> dict[str, int]:
    """Sending domain (the sender domain or its return-path host) -> DomainID. A domain that
    several users hold goes to an Enabled one first, then to the newest."""
    ranked = sorted(stats.domain_hosts(db), key=lambda row: (row["Status"] == model.ENABLED, int(row["DomainID"])))
    hosts: dict[str, int] = {}
    for row in ranked:  # later (better) rows overwrite earlier ones
        subdomain = model.options_of(row).get("CustomSubdomain")
        domain = row["SenderDomain"].lower()
        hosts[domain] = int(row["DomainID"])
        hosts[f"{subdomain or default_subdomain}.{domain}".lower()] = int(row["DomainID"])
    return hosts


def _day(text: str) -> str | None:
    text = text.strip()
    for pattern in _TIME_FORMATS:
        try:
            moment = datetime.strptime(text, pattern)
        except ValueError:
            continue
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc)
        return moment.date().isoformat()
    return None


def _address_domain(value: str) -> str:
    address = parseaddr(value or "")[1]
    return address.rpartition("@")[2].strip().rstrip(".").lower() if "@" in address else ""


def _complete_size(path: str) -> int:
    """The size of the file's complete lines: a line PowerMTA is still writing waits for the
    next import."""
    with open(path, "rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        while end > 0:
            start = max(0, end - (1 << 16))
            handle.seek(start)
            chunk = handle.read(end - start)
            where = chunk.rfind(b"\n")
            if where >= 0:
                return start + where + 1
            end = start
    return 0


def _hash(path: str, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        left = size
        while left > 0:
            chunk = handle.read(min(left, 1 << 20))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


REQUIRED = ("type", "timelogged", "orig")  # the fields a record is counted by


class NotAccounting(ValueError):
    """A file whose first line is not an accounting file's header: importing it would count
    nothing and remember it as imported."""


def _field_names(header: bytes) -> list[str]:
    """The header's field names as records are read by: stripped, lower case."""
    # utf-8-sig: a spreadsheet that saved the file puts a byte-order mark before the first name.
    try:
        names = next(csv.reader([header.decode("utf-8-sig", "replace")]), [])
    except csv.Error:
        return []
    return [name.strip().lower() for name in names]


def as_text(path: str) -> str:
    """``path`` as it is remembered and reported: bytes of the name that are not UTF-8 (the
    surrogates PEP 383 decodes them to, which no database or terminal takes) as ``\\xNN``, so that
    two names differing only there stay two names."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def check_header(path: str) -> None:
    """Raise :class:`NotAccounting` unless the file's first line names the fields counted. A file
    with no complete line yet (PowerMTA has just opened it) has nothing to check, nor to import."""
    with open(path, "rb") as handle:
        first = handle.readline(1 << 20)
    if not first.endswith(b"\n"):
        return
    names = _field_names(first)
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        shown = ", ".join({"timelogged": "timeLogged"}.get(name, name) for name in missing)
        raise NotAccounting(f"{as_text(os.path.basename(path))} is not a PowerMTA accounting file: its first line"
                            f" names no {shown} field")


def _records(path: str, start: int, size: int, progress: Callable[[int], None] | None,
             counts: Summary) -> Iterable[dict[str, str]]:
    """The records of the file's first ``size`` bytes that begin at or after ``start``; a record
    the CSV reader refuses (a field over its 128 KiB limit) is counted unreadable and skipped."""
    with open(path, "rb") as handle:
        header = handle.readline()
        names = _field_names(header)
        if start > handle.tell():
            handle.seek(start)
        done = 0

        def lines() -> Iterable[str]:
            nonlocal done
            while handle.tell() < size:
                line = handle.readline()
                if not line:
                    return
                if progress is not None:
                    progress(handle.tell() - done)
                    done = handle.tell()
                yield line.decode("utf-8", "replace")

        if progress is not None:
            progress(handle.tell())
            done = handle.tell()
        reader = csv.reader(lines())  # it reads on after an error, at the next record
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error:
                counts.unreadable += 1
                continue
            yield dict(zip(names, values))


def import_file(db: Connection, path: str, summary: Summary, default_subdomain: str,
                progress: Callable[[int], None] | None = None) -> bool:
    """Add one accounting file's records to the stats; False when it was imported before.
    :class:`NotAccounting` for a file that is not an accounting file (nothing is remembered)."""
    check_header(path)
    size = _complete_size(path)
    content_hash = _hash(path, size)
    name = as_text(os.path.basename(path))
    if size == 0 or stats.file_known(db, content_hash, size):
        summary.already += 1
        if progress is not None:
            progress(os.path.getsize(path))
        return False
    # The same file grown since it was imported (PowerMTA appends to its current accounting file):
    # only what was added since counts.
    start = next((earlier for earlier, earlier_hash in stats.earlier_imports(db, name, size)
                  if _hash(path, earlier) == earlier_hash), 0)
    hosts = _sender_domain_by_host(db, default_subdomain)
    figures: dict[tuple[int, str], list[int]] = {}
    counts = Summary()
    latest = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
    for record in _records(path, start, size, progress, counts):
        column = COUNTED.get(record.get("type", "").strip().lower())
        if column is None:
            continue
        day = _day(record.get("timelogged", ""))
        domain = _address_domain(record.get("orig", ""))
        if not domain and column == 3:
            domain = _address_domain(record.get("header_from", ""))
        # A day no figure ever shows (before the epoch, or later than tomorrow: a clock gone wrong).
        if day is None or not domain or not EARLIEST <= day <= latest:
            counts.unreadable += 1
            continue
        counts.records += 1
        domain_id = hosts.get(domain)
        if domain_id is None:
            counts.unknown += 1
            counts.unknown_domains[domain] = counts.unknown_domains.get(domain, 0) + 1
            continue
        row = figures.setdefault((domain_id, day), [0, 0, 0, 0])
        row[column] += 1
        if column in (1, 2):
            row[0] += 1
        if column == 1:
            counts.delivered += 1
        elif column == 2:
            counts.bounced += 1
        else:
            counts.complaints += 1
    try:
        with db.transaction():
            # Remembered in the same transaction as the figures: an import that fails adds neither,
            # and of two imports of one file at once, the second one's insert fails here.
            stats.remember_file(db, name, size, content_hash, model.now(),
                                counts.records, counts.unknown)
            stats.add(db, figures)
    except IntegrityError:
        summary.already += 1
        return False
    summary.files += 1
    for name in ("records", "delivered", "bounced", "complaints", "unknown", "unreadable"):
        setattr(summary, name, getattr(summary, name) + getattr(counts, name))
    for domain, n in counts.unknown_domains.items():
        summary.unknown_domains[domain] = summary.unknown_domains.get(domain, 0) + n
    return True
