"""Octeth v5.9.4's operational fields and daily stats, filled by `octeth-domains stats import`
from a PowerMTA accounting file this test writes (and works out the figures of) itself."""
from __future__ import annotations

import csv
import os
import random
import threading
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest

from conftest import Accounts
from helpers import body, insert_domain

HEADER = ["type", "timeLogged", "timeQueued", "orig", "rcpt", "orcpt", "dsnAction", "dsnStatus", "dsnDiag",
          "dsnMta", "bounceCat", "vmta", "jobId", "envId", "header_From"]


def half_up(value, digits=0):
    return float(Decimal(str(value)).quantize(Decimal(10) ** -digits, rounding=ROUND_HALF_UP))


class Accounting:
    """Writes an accounting file and keeps the counts it should give, per domain and day."""

    def __init__(self, today: date, seed: int = 7) -> None:
        self.today = today
        self.random = random.Random(seed)
        self.rows: list[list[str]] = []
        self.expected: dict[str, dict[str, dict[str, int]]] = {}
        self.unknown = 0

    def add(self, kind: str, domain: str, days_ago: int, orig: str, header_from: str = "") -> None:
        moment = datetime.combine(self.today - timedelta(days=days_ago), datetime.min.time(), timezone.utc)
        moment += timedelta(seconds=self.random.randrange(86400))
        logged = moment.strftime("%Y-%m-%d %H:%M:%S+0000")
        self.rows.append([kind, logged, logged, orig, f"rcpt{len(self.rows)}@inbox.example", "", "relayed",
                          "2.0.0", "smtp;250 ok", "mx.inbox.example", "", "vmta1", "job", "env", header_from])
        if kind == "t":
            return
        if domain is None:
            self.unknown += 1
            return
        day = self.expected.setdefault(domain, {}).setdefault(
            (self.today - timedelta(days=days_ago)).isoformat(),
            {"Sent": 0, "Delivered": 0, "Bounced": 0, "Complaints": 0})
        column = {"d": "Delivered", "b": "Bounced", "f": "Complaints"}[kind]
        day[column] += 1
        if kind in "db":
            day["Sent"] += 1

    def write(self, path) -> None:
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(self.rows)

    def fields(self, domain: str) -> dict:
        """The six fields of SPEC §13, worked out from what was written."""
        days = self.expected.get(domain, {})

        def total(column, first, last):
            return sum(v[column] for d, v in days.items()
                       if (self.today - timedelta(days=first)).isoformat() <= d <= (self.today - timedelta(days=last)).isoformat())

        sent7, prev7 = total("Sent", 6, 0), total("Sent", 13, 7)
        sent, delivered = total("Sent", 29, 0), total("Delivered", 29, 0)
        bounced, complaints = total("Bounced", 29, 0), total("Complaints", 29, 0)
        reputation = None if not sent else max(0, int(half_up(100 - 4 * bounced * 100 / sent - 200 * complaints * 100 / sent)))
        bucket = None if reputation is None else (
            "excellent" if reputation >= 90 else "good" if reputation >= 70 else "fair" if reputation >= 50 else "poor")
        return {
            "Volume7d": sent7,
            "VolumeDelta": None if not sent7 else "new" if not prev7 else "%+d%%" % half_up((sent7 - prev7) * 100 / prev7),
            "Reputation": reputation,
            "ReputationBucket": bucket,
            "DeliveryRate": None if not sent else half_up((delivered or sent - bounced - complaints) * 100 / sent, 1),
            "BounceRate": None if not sent else half_up(bounced * 100 / sent, 1),
        }

    def daily(self, domain: str, days: int) -> dict:
        first = (self.today - timedelta(days=days - 1)).isoformat()
        return {d: {"Period": d, **v} for d, v in sorted(self.expected.get(domain, {}).items(), reverse=True)
                if d >= first}


def _today():
    return datetime.now(timezone.utc).date()


@pytest.fixture
def accounting(tmp_path):
    """Two known domains over several days (one with its own return-path label), one unknown."""
    book = Accounting(_today())
    rng = book.random
    for days_ago in range(0, 40):
        for _ in range(rng.randrange(0, 6)):
            book.add(rng.choice("dddddb"), "a.example", days_ago, "bounces@sl.a.example")
        for _ in range(rng.randrange(0, 4)):
            book.add(rng.choice("ddddbbt"), "b.example", days_ago, "rp@mfrom.b.example")
    for days_ago in (0, 3, 9, 20):
        book.add("d", "b.example", days_ago, "news@b.example")  # the domain itself as the sender
        book.add("f", "a.example", days_ago, "", '"News" <news@a.example>')  # a complaint without orig
        book.add("b", None, days_ago, "x@sl.unknown.example")
        book.add("t", "a.example", days_ago, "bounces@sl.a.example")  # transient: ignored
    path = tmp_path / "acct-2026-05-23.csv"
    book.write(path)
    return book, path


def _import(app, *paths):
    result = app.test_cli_runner().invoke(args=["stats", "import", *map(str, paths)])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def _stats_rows(app):
    with app.extensions["octeth_db"].session() as db:
        rows = db.query("SELECT DomainID, StatDate, Sent, Delivered, Bounced, Complaints FROM {p}sender_domain_stats"
                        " ORDER BY DomainID, StatDate")
    return [(int(r["DomainID"]), str(r["StatDate"])[:10], int(r["Sent"]), int(r["Delivered"]), int(r["Bounced"]),
             int(r["Complaints"])) for r in rows]


def test_an_accounting_file_imported_twice(app, accounts, accounting):
    book, path = accounting
    user = accounts.user()
    ids = {"a.example": insert_domain(app, user["UserID"], "a.example"),
           "b.example": insert_domain(app, user["UserID"], "b.example",
                                      options={"LinkTracking": 1, "OpenTracking": 1, "UnsubscribeLink": 0,
                                               "CustomSubdomain": "mfrom"})}
    client = app.test_client()
    key = {"APIKey": user["APIKey"]}
    before = body(client.get("/api/v1/user.senderdomains", query_string=key))["SenderDomains"]
    assert [d["Volume7d"] for d in before] == [0, 0]  # and this list is now kept by the process

    line = _import(app, path)
    records = sum(v[c] for days in book.expected.values() for v in days.values()
                  for c in ("Delivered", "Bounced", "Complaints"))
    assert f"1 file(s) imported, 0 already imported; {records + book.unknown} records" in line
    assert f"{book.unknown} for unknown domains (sl.unknown.example)" in line
    expected_rows = sorted((ids[domain], day, v["Sent"], v["Delivered"], v["Bounced"], v["Complaints"])
                           for domain, days in book.expected.items() for day, v in days.items())
    assert _stats_rows(app) == expected_rows

    again = _import(app, path)
    assert "0 file(s) imported, 1 already imported" in again
    assert _stats_rows(app) == expected_rows

    listed = {d["SenderDomain"]: d for d in body(client.get("/api/v1/user.senderdomains", query_string=key))["SenderDomains"]}
    for domain in ids:
        fields = {name: listed[domain][name] for name in book.fields(domain)}
        assert fields == book.fields(domain), domain
        assert list(listed[domain])[-7:] == ["Options", *book.fields(domain)]
        got = body(client.get("/api/v1/user.senderdomain", query_string={**key, "DomainID": ids[domain], "days": 30}))
        assert {name: got["SenderDomain"][name] for name in book.fields(domain)} == book.fields(domain)
        assert got["Days"] == 30
        assert got["Stats"] == book.daily(domain, 30)
        assert list(got["Stats"]) == sorted(got["Stats"], reverse=True)
    assert book.fields("a.example")["Volume7d"] > 0 and book.fields("a.example")["Reputation"] is not None


def test_a_file_that_grew_adds_only_what_was_appended(app, accounts, tmp_path):
    """PowerMTA appends to its current file: imported while written, then again once grown."""
    book = Accounting(_today())
    user = accounts.user()
    domain_id = insert_domain(app, user["UserID"], "a.example")
    for days_ago in (0, 1, 2):
        book.add("d", "a.example", days_ago, "bounces@sl.a.example")
    book.add("b", "a.example", 0, "bounces@sl.a.example")
    path = tmp_path / "acct-current.csv"
    book.write(path)
    with open(path, "a") as handle:
        handle.write("d,2026-05-23 10:00:00+0000,")  # a line still being written: not counted yet
    assert "1 file(s) imported" in _import(app, path)
    for days_ago in (0, 5):
        book.add("f", "a.example", days_ago, "", "news@a.example")
    book.write(path)  # the same file, grown (its partial line finished)
    assert "1 file(s) imported" in _import(app, path) and "0 file(s) imported" in _import(app, path)
    assert _stats_rows(app) == sorted((domain_id, day, v["Sent"], v["Delivered"], v["Bounced"], v["Complaints"])
                                      for day, v in book.expected["a.example"].items())


def test_a_spreadsheets_byte_order_mark_and_a_huge_field_and_odd_days(app, accounts, tmp_path):
    book = Accounting(_today())
    user = accounts.user()
    domain_id = insert_domain(app, user["UserID"], "a.example")
    for days_ago in (0, 1):
        book.add("d", "a.example", days_ago, "bounces@sl.a.example")
    path = tmp_path / "acct-excel.csv"
    book.write(path)
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    huge = "d,2026-05-23 10:00:00+0000,," + "x" * 200_000 + "@sl.a.example\n"  # over the CSV reader's 128 KiB
    odd = ["d,0001-01-01 00:00:00+0000,,a@sl.a.example\n",  # no figure ever shows such a day
           f"d,{(_today() + timedelta(days=3)).isoformat()} 00:00:00+0000,,a@sl.a.example\n"]
    path.write_bytes(b"\xef\xbb\xbf" + "".join([lines[0], lines[1], huge, *odd, *lines[2:]]).encode())
    line = _import(app, path)
    assert "1 file(s) imported" in line and "2 records (2 delivered" in line and "3 unreadable" in line, line
    assert _stats_rows(app) == sorted((domain_id, day, v["Sent"], v["Delivered"], v["Bounced"], v["Complaints"])
                                      for day, v in book.expected["a.example"].items())


@pytest.mark.parametrize("options", [{"CustomSubdomain": 5}, {"CustomSubdomain": ["mfrom"]}, {"CustomSubdomain": None},
                                     ["mfrom"], 5])
def test_a_label_that_is_not_text_is_the_default_return_path(app, accounts, tmp_path, options):
    # As every command reads such Options (tests/test_stored_shapes.py): the default label.
    book = Accounting(_today())
    domain_id = insert_domain(app, accounts.user()["UserID"], "a.example", options=options)
    for days_ago in (0, 1):
        book.add("d", "a.example", days_ago, "bounces@sl.a.example")
    path = tmp_path / "acct.csv"
    book.write(path)
    line = _import(app, path)
    assert "2 records (2 delivered" in line and "0 for unknown domains" in line, line
    assert _stats_rows(app) == sorted((domain_id, day, v["Sent"], v["Delivered"], v["Bounced"], v["Complaints"])
                                      for day, v in book.expected["a.example"].items())


@pytest.mark.parametrize("content", [b"name,email\nann,a@example.com\n", b"\x00\x01\x02binary\n",
                                     b"type,orig\nd,a@sl.a.example\n", b"\n\n"])
def test_a_file_that_is_not_an_accounting_file_is_refused_and_not_remembered(app, tmp_path, content):
    path = tmp_path / "not-accounting.csv"
    path.write_bytes(content)
    good = tmp_path / "acct.csv"
    Accounting(_today()).write(good)
    result = app.test_cli_runner().invoke(args=["stats", "import", str(good), str(path)])
    assert result.exit_code == 1 and "is not a PowerMTA accounting file" in result.output, result.output
    assert "Traceback" not in result.output
    with app.extensions["octeth_db"].session() as db:  # neither file: they are checked before any import
        assert db.query("SELECT FileName FROM {p}sender_domain_stats_files") == []


def _stored_names(app):
    with app.extensions["octeth_db"].session() as db:
        return sorted(row["FileName"] for row in db.query("SELECT FileName FROM {p}sender_domain_stats_files"))


# File names as the shell hands them over: bytes, which need not be UTF-8 (PEP 383 surrogates).
@pytest.mark.parametrize("raw, stored", [
    (b"acct-\xff.csv", "acct-\\xff.csv"), (b"\xfe\xff", "\\xfe\\xff"), (b"acct-\xc3(.csv", "acct-\\xc3(.csv"),
    (b"acct-\xed\xa0\x80.csv", "acct-\\xed\\xa0\\x80.csv"), (b"acct-\xe9t\xc3\xa9.csv", "acct-\\xe9t\u00e9.csv"),
    ("acct-été.csv".encode(), "acct-été.csv"), (b"acct-" + b"\xff" * 100 + b".csv", ("\\xff" * 100 + ".csv")[-255:])])
def test_a_file_whose_name_is_not_utf8_is_imported_and_known_by_it(app, accounts, tmp_path, raw, stored):
    book = Accounting(_today())
    domain_id = insert_domain(app, accounts.user()["UserID"], "a.example")
    book.add("d", "a.example", 0, "bounces@sl.a.example")
    path = os.fsdecode(os.fsencode(tmp_path) + b"/" + raw)
    book.write(path)
    assert "1 file(s) imported" in _import(app, path)
    assert _stored_names(app) == [stored]
    # Known by that name: what is appended is all that a second import adds, and a third adds nothing.
    book.add("b", "a.example", 1, "bounces@sl.a.example")
    book.write(path)
    assert "1 file(s) imported, 0 already imported; 1 records (0 delivered, 1 bounced" in _import(app, path)
    assert "0 file(s) imported, 1 already imported" in _import(app, path)
    assert _stats_rows(app) == sorted((domain_id, day, v["Sent"], v["Delivered"], v["Bounced"], v["Complaints"])
                                      for day, v in book.expected["a.example"].items())


def test_two_names_that_differ_in_undecodable_bytes_are_two_files(app, tmp_path):
    paths = [os.fsdecode(os.fsencode(tmp_path) + b"/" + raw) for raw in (b"acct-\xfe.csv", b"acct-\xff.csv")]
    for days_ago, path in enumerate(paths):  # of different content, or the second would be the first again
        book = Accounting(_today())
        book.add("d", "a.example", days_ago, "bounces@sl.a.example")
        book.write(path)
    assert "2 file(s) imported" in _import(app, *paths)
    assert _stored_names(app) == ["acct-\\xfe.csv", "acct-\\xff.csv"]


def test_a_refused_file_whose_name_is_not_utf8_is_named_in_one_line(app, tmp_path):
    path = os.fsdecode(os.fsencode(tmp_path) + b"/not-\xfe.csv")
    with open(path, "wb") as handle:
        handle.write(b"name,email\nann,a@example.com\n")
    result = app.test_cli_runner().invoke(args=["stats", "import", path])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines() == [
        "Error: not-\\xfe.csv is not a PowerMTA accounting file: its first line names no type, timeLogged, orig field"]


def _fifo(tmp_path):
    path = tmp_path / "acct-fifo.csv"
    os.mkfifo(path)
    return str(path)


@pytest.mark.parametrize("special", [_fifo, lambda tmp_path: "/dev/null"], ids=["fifo", "device"])
def test_a_file_that_is_not_a_regular_file_is_refused_in_one_line(app, tmp_path, special):
    good = tmp_path / "acct.csv"
    Accounting(_today()).write(good)
    path = special(tmp_path)
    outcome = []
    runner = threading.Thread(target=lambda: outcome.append(
        app.test_cli_runner().invoke(args=["stats", "import", str(good), path])), daemon=True)
    runner.start()
    runner.join(10)
    if runner.is_alive():  # blocked opening the FIFO: a writer that closes at once lets it end
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        runner.join(10)
        pytest.fail("the import waited on the FIFO for a writer")
    result = outcome[0]
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert result.output.strip().splitlines() == [f"Error: {path} is not a regular file"]
    assert _stored_names(app) == []  # checked before any is imported


@pytest.mark.parametrize("content", [b"", b"type,timeLogged,or"])
def test_a_file_just_opened_is_nothing_to_import_yet(app, tmp_path, content):
    path = tmp_path / "acct-new.csv"
    path.write_bytes(content)
    assert "0 file(s) imported, 1 already imported" in _import(app, path)


@pytest.mark.parametrize("days, expected", [("7", 7), ("0", 1), ("-3", 1), ("1000", 365), ("abc", 30), ("", None),
                                            ("+12", 12), (" 40 ", 40), ("9" * 13, 365), ("-" + "9" * 13, 1),
                                            ("9" * 5000, 365), ("7.5", 30)])
def test_get_days_is_clamped(app, accounts, days, expected):
    user = accounts.user()
    domain_id = insert_domain(app, user["UserID"], "a.example")
    got = body(app.test_client().get("/api/v1/user.senderdomain",
                                     query_string={"APIKey": user["APIKey"], "DomainID": domain_id, "days": days}))
    assert got["Success"] is True
    assert got.get("Days") == expected
    assert ("Stats" in got) == (expected is not None) and got.get("Stats", {}) == {}


def test_the_fields_without_delivered_records_and_rounding(app, accounts):
    """DeliveryRate falls back to (Sent - Bounced - Complaints) / Sent; the delta and the scores."""
    user = accounts.user()
    domain_id = insert_domain(app, user["UserID"], "a.example")
    today = _today()
    with app.extensions["octeth_db"].session() as db:
        for days_ago, sent, bounced, complaints in ((1, 200, 6, 1), (8, 100, 0, 0)):
            db.execute("INSERT INTO {p}sender_domain_stats (DomainID, StatDate, Sent, Delivered, Bounced, Complaints)"
                       " VALUES (?, ?, ?, 0, ?, ?)",
                       (domain_id, (today - timedelta(days=days_ago)).isoformat(), sent, bounced, complaints))
    got = body(app.test_client().get("/api/v1/user.senderdomain",
                                     query_string={"APIKey": user["APIKey"], "DomainID": domain_id}))["SenderDomain"]
    # 300 sent over 30 days, 6 bounced (2 %), 1 complaint (1/3 %): 100 - 8 - 66.67 = 25.33
    assert got["Volume7d"] == 200 and got["VolumeDelta"] == "+100%"
    assert (got["Reputation"], got["ReputationBucket"]) == (25, "poor")
    assert got["DeliveryRate"] == 97.7 and got["BounceRate"] == 2.0


def _selects(app, action):
    """SELECT statements MariaDB ran for ``action``, read from the one pooled connection's own
    counters (so other programs using the server do not count)."""
    database = app.extensions["octeth_db"]

    def read():
        with database.session() as db:
            return int(db.one("SHOW SESSION STATUS LIKE 'Com_select'")["Value"])

    a, b = read(), read()
    action()
    c = read()
    return (c - b) - (b - a)


@pytest.mark.parametrize("backend", ["mariadb"])  # statements are counted on MariaDB
def test_list_of_1000_domains_with_stats_is_one_statement(make_app, backend):
    app = make_app(OCTETH_DATABASE_POOL_SIZE="1", OCTETH_LIST_CACHE_MB="0")
    small, large = Accounts(app).user(), Accounts(app).user()
    today = _today()
    with app.extensions["octeth_db"].session() as db:
        insert_domain(app, small["UserID"], "one.example")
        values = ", ".join(f"('d{n}.example', {int(large['UserID'])}, '2026-01-01 00:00:00', 'Enabled', '{{}}', '[]', '{{}}')"
                           for n in range(1000))
        db.execute("INSERT INTO {p}sender_domains (SenderDomain, RelUserID, CreatedAt, Status, VerificationMeta,"
                   " PolicyMeta, Options) VALUES " + values)
        ids = [int(r["DomainID"]) for r in db.query("SELECT DomainID FROM {p}sender_domains WHERE RelUserID = ?",
                                                    (large["UserID"],))]
        rows = ", ".join(f"({i}, '{(today - timedelta(days=k)).isoformat()}', 10, 9, 1, 0)" for i in ids for k in (0, 3, 9))
        db.execute("INSERT INTO {p}sender_domain_stats (DomainID, StatDate, Sent, Delivered, Bounced, Complaints)"
                   " VALUES " + rows)
    client = app.test_client()

    def listing(user):
        data = body(client.get("/api/v1/user.senderdomains", query_string={"APIKey": user["APIKey"]}))
        return data["SenderDomains"]

    assert len(listing(large)) == 1000 and len(listing(small)) == 1  # warms the API-key cache
    assert listing(large)[0]["Volume7d"] == 20 and listing(large)[0]["VolumeDelta"] == "+100%"
    one, thousand = _selects(app, lambda: listing(small)), _selects(app, lambda: listing(large))
    assert thousand == one and 1 <= thousand <= 2, (one, thousand)
