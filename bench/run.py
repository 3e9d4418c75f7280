"""`make bench`: the service under gunicorn on MariaDB + Redis, loaded with wrk, against the floor.

What it does, in order (bench/README.md has the why):

1. creates a throwaway MariaDB database ``octeth_bench_<random>``, applies the schema with
   ``Database(url).upgrade()`` and seeds it in bulk: one user with 1,000 domains, one with 1, one
   for create + delete, and a pool of users with 5 domains each whose records a local DNS server
   publishes (tests/dns_server.py, every answer 50 ms late);
2. starts the service with ``gunicorn -c gunicorn.conf.py wsgi:app`` (GUNICORN_WORKERS,
   GUNICORN_THREADS, GUNICORN_BIND from the environment; OCTETH_RATE_LIMIT so high it never
   refuses) and the floor (bench/floor.py) under the same file and settings on another port;
3. drives each phase with wrk (bench/phase.lua) after a short warm-up; get and floor_get (and
   list_1 and floor_list_1) run in alternating rounds so that their ratio survives a drifting box;
4. reads the resident memory of every worker, writes bench/results.json, prints a table, and drops
   the database and the Redis keys.

Environment: BENCH_DURATION (seconds per phase, default 10), BENCH_CONNECTIONS (wrk -c, 16),
BENCH_WRK_THREADS (wrk -t, 2), BENCH_MYSQL_URL (default OCTETH_TEST_MYSQL_URL or
mysql://root@127.0.0.1:3306), BENCH_REDIS_URL (default OCTETH_TEST_REDIS_URL or
redis://127.0.0.1:6379/0), BENCH_KEEP=1 keeps the gunicorn logs (printed path),
BENCH_PROFILE=<phase,...> samples those phases' workers with py-spy (BENCH_PROFILE_ARGS, default
--gil) into the kept folder; bench/profile.py summarizes the files.
"""
from __future__ import annotations

import json
import math
import os
import platform
import resource
import runpy
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import redis

from common import BENCH, DNS_DELAY, OPTIONS, PREFIX, REPO, TEMPLATES_FILE, ZONE, dns_env, serve_zone  # noqa: E402
from common import admin as _admin, database_url as _database_url, git_head as _git_head  # noqa: E402
from common import interrupted as _interrupted, logger  # noqa: E402
from dns_server import DNSServer  # noqa: E402  (tests/dns_server.py)
from octeth_domains.db import Database  # noqa: E402
from octeth_domains.models.senderdomains import encode  # noqa: E402
from octeth_domains.models.users import new_token, token_hash  # noqa: E402
from octeth_domains.senderdomains import templates  # noqa: E402

BIG = 1000            # domains of the list_1000 user
POOL_DOMAINS_PER_USER = 5

PHASES = ("get", "floor_get", "list_1", "list_1000", "floor_list_1", "create_delete",
          "verify_cached", "verify_uncached")
TARGETS = {
    "get_vs_floor": "get >= 0.75 x floor_get throughput",
    "list_1000_p50": "list_1000 p50 <= 50 ms, one query",
    "verify_uncached_p50": "verify_uncached p50 <= 120 ms (5 records, 50 ms DNS)",
    "verify_cached_p50": "verify_cached p50 <= 10 ms",
    "rss_per_worker": "<= 100 MB RSS per worker",
}


log = logger("bench")


# Settings ---------------------------------------------------------------------------------------

def _gunicorn_setting(name: str):
    return runpy.run_path(str(REPO / "gunicorn.conf.py"))[name]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Settings:
    duration: int
    connections: int
    wrk_threads: int
    workers: str
    threads: str
    bind: str
    mysql_url: str
    redis_url: str
    keep: bool
    profile: frozenset[str]
    logdir: Path | None = None

    @classmethod
    def from_environment(cls) -> "Settings":
        env = os.environ
        raw = env.get("BENCH_DURATION", "").strip() or "10"
        return cls(
            duration=max(1, math.ceil(float(raw))),  # wrk takes whole seconds
            connections=int(env.get("BENCH_CONNECTIONS") or 16),
            wrk_threads=int(env.get("BENCH_WRK_THREADS") or 2),
            # gunicorn.conf.py's own numbers (it reads the same variables), so the report names them.
            workers=str(_gunicorn_setting("workers")),
            threads=str(_gunicorn_setting("threads")),
            bind=env.get("GUNICORN_BIND") or f"127.0.0.1:{_free_port()}",
            mysql_url=env.get("BENCH_MYSQL_URL") or env.get("OCTETH_TEST_MYSQL_URL") or "mysql://root@127.0.0.1:3306",
            redis_url=env.get("BENCH_REDIS_URL") or env.get("OCTETH_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0",
            keep=env.get("BENCH_KEEP", "") not in ("", "0"),
            profile=frozenset(filter(None, (part.strip() for part in env.get("BENCH_PROFILE", "").split(",")))),
        )

    @property
    def base_url(self) -> str:
        host, _, port = self.bind.rpartition(":")
        host = "127.0.0.1" if host in ("", "0.0.0.0") else host
        return f"http://{host}:{port}"

    @property
    def warmup(self) -> int:
        return 1 if self.duration < 10 else 2

    @property
    def pool_size(self) -> int:
        # Enough distinct domains that no verify_uncached request meets the 60 s cache: at most
        # `connections` requests are in flight and none takes less than one DNS delay.
        # Twice that: an uneven run is measured once more, on domains of its own (SINGLE_USE_ATTEMPTS).
        return (math.ceil(self.connections / DNS_DELAY * self.duration * 1.2) * SINGLE_USE_ATTEMPTS
                + self.single_pool_size)

    @property
    def single_pool_size(self) -> int:
        return math.ceil(1 / DNS_DELAY * self.duration * 1.2)

    @property
    def new_zone_size(self) -> int:
        # verify_new_zone@c1: one connection, each request a domain that is a zone of its own (the
        # first verify of a new zone finds its SOA and NS: 3 DNS answers or more before the records).
        return math.ceil(1 / (3 * DNS_DELAY) * self.duration * 1.2)


# MariaDB and seeding ----------------------------------------------------------------------------



@dataclass
class Account:
    user_id: int
    api_key: str
    domains: list[tuple[int, str, dict]] = field(default_factory=list)  # (DomainID, name, records)


@dataclass
class Seed:
    one: Account          # 1 domain: get, list_1, floor_get, floor_list_1
    big: Account          # 1,000 domains: list_1000
    creator: Account      # no domain: create_delete
    cached: Account       # verify_cached
    pool: list[Account]   # 5 domains each: verify_uncached
    new_zone: Account     # domains that are zones of their own (nz<i>.example): verify_new_zone@c1
    users: int = 0
    rows: int = 0


def seed(url: str, admin_url: str, name: str, pool_size: int, secret: bytes, new_zones: int = 0) -> Seed:
    """Users and domains written in bulk, in the shapes the service itself writes."""
    template = templates.load_templates(str(TEMPLATES_FILE)).get(templates.CAMPAIGN, "Default")
    settings = templates.TemplateSettings(secret_key=secret)
    connection = _admin(admin_url, name)
    created_at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {PREFIX}user_groups (GroupName, Permissions, SenderDomainLimit,"
                       " DNSTemplate, ManualApproval, DefaultSenderDomain)"
                       " VALUES ('Bench', 'User.Update', 0, 'Default', 0, '')")
        group_id = cursor.lastrowid
        plan = {"one": 1, "big": BIG, "creator": 0, "cached": 3, "newzone": new_zones}
        pool_users = math.ceil(pool_size / POOL_DOMAINS_PER_USER)
        plan.update({f"pool{i}": POOL_DOMAINS_PER_USER for i in range(pool_users)})
        keys = {username: new_token() for username in plan}
        cursor.executemany(
            f"INSERT INTO {PREFIX}users (Username, EmailAddress, PasswordHash, APIKeyHash, RelUserGroupID,"
            " CreatedAt) VALUES (%s, %s, '', %s, %s, %s)",
            [(username, f"{username}@bench.example", token_hash(key), group_id, created_at)
             for username, key in keys.items()],
        )
        cursor.execute(f"SELECT UserID, Username FROM {PREFIX}users")
        accounts = {username: Account(user_id, keys[username]) for user_id, username in cursor.fetchall()}
        rows = []
        for username, count in plan.items():
            for i in range(count):
                # Every domain is in the bench zone (ZONE), but the new-zone user's: each is a zone.
                domain = f"nz{i}.example" if username == "newzone" else f"d{i}.{username}.{ZONE}"
                records = templates.render(template, domain, OPTIONS, settings)
                rows.append((domain, accounts[username].user_id, created_at,
                             encode({"DNSRecords": records}), encode(OPTIONS)))
        for start in range(0, len(rows), 2000):
            cursor.executemany(
                f"INSERT INTO {PREFIX}sender_domains (SenderDomain, RelUserID, CreatedAt, Status,"
                " VerificationMeta, PolicyMeta, Options) VALUES (%s, %s, %s, 'Approval Pending', %s, '[]', %s)",
                rows[start:start + 2000],
            )
        cursor.execute(f"SELECT DomainID, SenderDomain, RelUserID, VerificationMeta FROM {PREFIX}sender_domains"
                       " ORDER BY DomainID")
        by_user = {account.user_id: account for account in accounts.values()}
        for domain_id, domain, user_id, meta in cursor.fetchall():
            by_user[user_id].domains.append((domain_id, domain, json.loads(meta)["DNSRecords"]))
    connection.close()
    return Seed(one=accounts["one"], big=accounts["big"], creator=accounts["creator"],
                cached=accounts["cached"], pool=[accounts[f"pool{i}"] for i in range(pool_users)],
                new_zone=accounts["newzone"],
                users=len(accounts), rows=len(rows))


def publish(server: DNSServer, accounts: list[Account]) -> int:
    count = 0
    for account in accounts:
        for _, _, records in account.domains:
            for host, (rtype, value) in records.items():
                server.set_record(host, rtype, value)
                count += 1
    return count


class StatementCounter:
    """Statements MariaDB ran for one request, from the server's global counters (the box is idle
    between phases, so the delta is the request's)."""

    def __init__(self, admin_url: str) -> None:
        self.connection = _admin(admin_url)

    def _read(self) -> dict[str, int]:
        with self.connection.cursor() as cursor:
            cursor.execute("SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_select')")
            return {name: int(value) for name, value in cursor.fetchall()}

    def measure(self, action, times: int = 6) -> dict[str, int]:
        """The fewest statements one request took in ``times`` tries: the steady state, once
        each worker's caches (the API key's user) are warm, whichever worker answers."""
        counts = []
        for _ in range(times):
            # The SHOW itself counts as one question; measured without a request in between.
            a = self._read()
            b = self._read()
            action()
            c = self._read()
            counts.append({"selects": c["Com_select"] - b["Com_select"] - (b["Com_select"] - a["Com_select"]),
                           "statements": c["Questions"] - b["Questions"] - (b["Questions"] - a["Questions"])})
        return min(counts, key=lambda count: (count["statements"], count["selects"]))

    def close(self) -> None:
        self.connection.close()


# Processes --------------------------------------------------------------------------------------

class Gunicorn:
    """gunicorn with the repository's gunicorn.conf.py, as production starts it."""

    def __init__(self, name: str, app: str, env: dict[str, str], logdir: Path, extra: list[str] = ()) -> None:
        self.name = name
        self.log_path = logdir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *extra, app],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, url: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            try:
                urllib.request.urlopen(url, timeout=1).read()
                return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer within {timeout} s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def workers(self) -> list[int]:
        pid = self.process.pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def rss_mb(self) -> list[float]:
        """VmRSS of every worker, in MiB."""
        sizes = []
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(round(int(line.split()[1]) / 1024, 1))
        return sizes

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@dataclass
class Target:
    """What one phase loads: a server, a mode of bench/phase.lua and its argument."""

    name: str
    base_url: str
    mode: str  # "path", "create_delete" or "verify"
    arg: str
    workers: list[int]
    # A pool of domains each to be verified once: a run measured again starts after the lines
    # the one before it used (a domain verified again would be answered from the 60 s cache).
    single_use: bool = False


def wrk(settings: Settings, target: Target, seconds: int, skip: int = 0) -> dict:
    command = ["wrk", f"-t{settings.wrk_threads}", f"-c{settings.connections}", f"-d{seconds}s",
               "--timeout", "10s", "-s", str(BENCH / "phase.lua"), target.base_url,
               "--", target.mode, target.arg, str(settings.wrk_threads), str(skip)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    raw = None
    for line in done.stdout.splitlines():
        if line.startswith("BENCH "):
            raw = json.loads(line[len("BENCH "):])
        elif line.startswith("QUANTILES ") and raw is not None:
            raw["quantiles"] = [float(value) for value in line[len("QUANTILES "):].split(",") if value]
    if raw is None:
        raise RuntimeError(f"wrk gave no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return raw


# wrk's connections are kept alive, and each stays with the gunicorn worker that accepted it. When
# wrk opens them all at once, one worker often accepts most while the others sleep, and that
# worker's threads then serve them in turn while the others idle: the run measures that lottery,
# not the code (seen here: floor_get with every request on one of four workers at half its usual
# rate). A run whose busiest worker did more than this many times its fair share is run again.
UNEVEN = 1.6
ATTEMPTS = 4
SINGLE_USE_ATTEMPTS = 2  # each try of a single-use pool needs a pool's worth of domains (pool_size)


def measure(settings: Settings, target: Target, seconds: int, profile_tag: str = "") -> dict:
    """One wrk run whose connections the workers shared fairly (up to ATTEMPTS tries; the last is
    kept whatever it is), with the CPU every party spent during it."""
    even_possible = settings.connections >= len(target.workers) > 1
    attempts = SINGLE_USE_ATTEMPTS if target.single_use else ATTEMPTS
    skip = 0
    for attempt in range(1, attempts + 1):
        raw = _measure_once(settings, target, seconds, profile_tag if attempt == 1 else f"{profile_tag}-a{attempt}",
                            skip)
        skip = raw.get("next_line", 0)
        raw["attempts"] = attempt
        shares = _shares(raw["each_worker_cpu"])
        raw["uneven"] = even_possible and max(shares) > UNEVEN / len(shares)
        if not raw["uneven"]:
            break
        log(f"{target.name}: workers' shares {shares}: uneven, "
            + ("measured again" if attempt < attempts else "kept after the last try"))
    return raw


def _measure_once(settings: Settings, target: Target, seconds: int, profile_tag: str, skip: int = 0) -> dict:
    spies = []
    if target.name in settings.profile:
        # py-spy samples every worker while wrk runs: collapsed stacks, one file per worker.
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        for pid in target.workers:
            out = settings.logdir / f"profile-{target.name}{profile_tag}-{pid}.txt"
            spies.append(subprocess.Popen([spy, "record", "--format", "raw", "--rate", "250", "--nonblocking",
                                           *os.environ.get("BENCH_PROFILE_ARGS", "--gil").split(),
                                           "-d", str(seconds), "-o", str(out), "-p", str(pid)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.5)
    cpu_before, busy_before = cpu_seconds(target.workers), busy_seconds()
    each_before = [_process_cpu(pid) for pid in target.workers]
    raw = wrk(settings, target, seconds, skip)
    each_after = [_process_cpu(pid) for pid in target.workers]
    cpu_after, busy_after = cpu_seconds(target.workers), busy_seconds()
    raw["each_worker_cpu"] = [after - before for before, after in zip(each_before, each_after)]
    raw["busy"] = busy_after - busy_before
    for spy in spies:
        spy.wait(30)
    raw["cpu"] = {part: cpu_after[part] - cpu_before[part] for part in cpu_after}
    raw["other_cpu"] = max(0.0, busy_after - busy_before - sum(raw["cpu"].values()))
    return raw


def _percentile(runs: list[dict], percent: float) -> float:
    """The latency (ms) under which ``percent`` of the requests of all ``runs`` completed. Each run
    brings its latency at every half percentile, each point standing for 0.5 % of its requests:
    for one run this is exactly wrk's percentile, for several a close merge."""
    points = sorted((value, run["requests"] / len(run["quantiles"]))
                    for run in runs if run.get("quantiles") for value in run["quantiles"])
    total = sum(weight for _, weight in points)
    seen = 0.0
    for value, weight in points:
        seen += weight
        if seen >= total * percent / 100 - 1e-9:
            return round(value / 1000, 2)
    return 0.0


def _shares(values: list[float]) -> list[float]:
    total = sum(values)
    return [round(value / total, 2) if total else 0.0 for value in values]


def summarize(name: str, runs: list[dict]) -> dict:
    """One phase's result from its wrk runs (one, or several rounds merged)."""
    requests = sum(run["requests"] for run in runs)
    seconds = sum(run["duration_us"] for run in runs) / 1e6
    result = {"rps": round(requests / seconds, 1), "p50_ms": _percentile(runs, 50), "p99_ms": _percentile(runs, 99)}
    errors = {key: sum(run[key] for run in runs)
              for key in ("not_success", "http_errors", "socket_errors", "timeouts")}
    detail = {
        "requests": requests, "seconds": round(seconds, 2), "rounds": len(runs),
        "p90_ms": _percentile(runs, 90), "max_ms": round(max(run["max_us"] for run in runs) / 1000, 2),
        "failed": sum(errors.values()), **errors,
        # CPU spent per request by each party during the measured runs (the box has 2 cores).
        "cpu_ms_per_request": {part: round(1000 * sum(run["cpu"][part] for run in runs) / max(1, requests), 3)
                               for part in runs[0]["cpu"]},
        # Cores kept busy by processes that are not part of the benchmark (other work on the box):
        # more than a few tenths means the phase shared the machine.
        "other_cpu_cores": round(sum(run["other_cpu"] for run in runs) / seconds, 2),
        # How busy the whole box was, and how the workers shared the work: wrk's connections are
        # kept alive, so each stays with the worker that accepted it, and a worker holding more
        # connections than it has threads queues them while another idles.
        "busy_cores": round(sum(run["busy"] for run in runs) / seconds, 2),
        "worker_cpu_shares": _shares([sum(values) for values in zip(*(run["each_worker_cpu"] for run in runs))]),
        "runs_discarded_as_uneven": sum(run["attempts"] - 1 for run in runs),
        "uneven_runs_kept": sum(1 for run in runs if run["uneven"]),
    }
    if name == "create_delete":
        deletes = sum(run["deletes"] for run in runs)
        detail.update(creates=sum(run["creates"] for run in runs), deletes=deletes,
                      pairs_per_s=round(deletes / seconds, 1))
    if name.startswith(("verify_uncached", "verify_new_zone")):
        detail["wrapped"] = sum(run["wrapped"] for run in runs)
    log(f"{name:18} {result['rps']:9.1f} req/s  p50 {result['p50_ms']:8.2f} ms  p99 {result['p99_ms']:8.2f} ms"
        f"  ({requests} requests, {detail['failed']} failed)")
    if detail["failed"]:
        log(f"WARNING: {name}: {detail['failed']} requests failed: {errors}")
    if detail.get("wrapped"):
        log(f"WARNING: {name}: the domain list ran out; some answers may have come from the cache")
    if detail["other_cpu_cores"] > 0.2:
        log(f"WARNING: {name}: other processes kept {detail['other_cpu_cores']} cores busy during the phase")
    return {"result": result, "detail": detail}


def phase(settings: Settings, target: Target, warmup: bool = True) -> dict:
    if warmup:
        wrk(settings, target, settings.warmup)
    return summarize(target.name, [measure(settings, target, settings.duration)])


def paired(settings: Settings, first: Target, second: Target) -> tuple[dict, dict]:
    """Two phases measured in alternating rounds (A B B A A B ...), so that a box whose speed drifts
    (a shared VM) slows both alike and their ratio holds."""
    rounds = max(1, min(5, settings.duration // 2))
    seconds = max(1, round(settings.duration / rounds))
    for target in (first, second):
        wrk(settings, target, settings.warmup)
    runs: dict[str, list[dict]] = {first.name: [], second.name: []}
    for index in range(rounds):
        for target in ((first, second) if index % 2 == 0 else (second, first)):
            runs[target.name].append(measure(settings, target, seconds, profile_tag=f"-r{index}"))
    return summarize(first.name, runs[first.name]), summarize(second.name, runs[second.name])


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _pids_named(*names: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def cpu_seconds(workers: list[int]) -> dict[str, float]:
    """CPU used so far by the app's workers, MariaDB, Redis, wrk (the driver's waited children)
    and this driver (which hosts the DNS server)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    itself = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "workers": sum(_process_cpu(pid) for pid in workers),
        "mariadb": sum(_process_cpu(pid) for pid in _pids_named("mariadbd", "mysqld")),
        "redis": sum(_process_cpu(pid) for pid in _pids_named("redis-server")),
        "wrk": children.ru_utime + children.ru_stime,
        "driver_and_dns": itself.ru_utime + itself.ru_stime,
    }


def busy_seconds() -> float:
    """CPU time the whole box has spent not idle, summed over its cores."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def limiter_cost(env: dict[str, str], path: str, rounds: int = 3000) -> dict:
    """What flask-limiter costs one request, measured in this process on the service's own
    settings (the same Redis): the check the doors make (one Redis round trip) and the header hook
    flask-limiter runs on the response, against a bare Redis PING for the round trip alone."""
    from flask import Response, g

    from octeth_domains import create_app
    from octeth_domains.api import limits
    from octeth_domains.api.registry import registry

    app = create_app({**env, "OCTETH_INSTANCE_PATH": env["OCTETH_INSTANCE_PATH"] + "-limiter"})
    limiter = app.extensions["octeth_limiter"]
    entry = registry.commands["user.senderdomain.get"]
    inject = getattr(limiter, "_Limiter__inject_headers")
    client = redis.Redis.from_url(env["OCTETH_REDIS_URL"])

    def one() -> float:
        with app.test_request_context(path, environ_base={"REMOTE_ADDR": "127.0.0.9"}):
            g.caller, g.command = None, entry.name
            started = time.perf_counter()
            limits.check(entry)
            response = inject(Response())
            elapsed = time.perf_counter() - started
        assert "X-RateLimit-Remaining" in response.headers
        return elapsed

    for _ in range(200):
        one()
    spent = sorted(one() for _ in range(rounds))
    pings = []
    for _ in range(rounds):
        started = time.perf_counter()
        client.ping()
        pings.append(time.perf_counter() - started)
    pings.sort()
    client.close()
    return {"us_per_request_p50": round(spent[len(spent) // 2] * 1e6, 1),
            "us_per_request_mean": round(sum(spent) / len(spent) * 1e6, 1),
            "redis_round_trip_us_p50": round(pings[len(pings) // 2] * 1e6, 1), "rounds": rounds}


def call(url: str, method: str = "GET", body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def expect_success(answer: dict, what: str) -> dict:
    if answer.get("Success") is not True:
        raise RuntimeError(f"{what} did not succeed: {json.dumps(answer)[:500]}")
    return answer


# The run ----------------------------------------------------------------------------------------

def main() -> int:
    if shutil.which("wrk") is None:
        print("bench: wrk is missing; install it with `apt-get install -y wrk`", file=sys.stderr)
        return 2
    settings = Settings.from_environment()
    signal.signal(signal.SIGTERM, _interrupted)
    token = secrets.token_hex(4)
    db_name = f"octeth_bench_{token}"
    redis_prefix = f"octeth_bench_{token}"
    url = _database_url(settings.mysql_url, db_name)
    logdir = Path(tempfile.mkdtemp(prefix="octeth_bench_"))
    settings.logdir = logdir
    if settings.profile:
        settings.keep = True
    secret = secrets.token_hex(32)
    admin = _admin(settings.mysql_url)
    dns = DNSServer()
    dns.cache_replies = True  # a query asked again is answered without being built again
    processes: list[Gunicorn] = []
    results: dict = {}
    details: dict = {}
    try:
        log(f"phases of {settings.duration} s (warm-up {settings.warmup} s), wrk -t{settings.wrk_threads}"
            f" -c{settings.connections}; gunicorn {settings.workers} workers x {settings.threads} threads"
            f" on {settings.bind}")
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{db_name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        Database(url).upgrade()
        started = time.monotonic()
        data = seed(url, settings.mysql_url, db_name, settings.pool_size, secret.encode(), settings.new_zone_size)
        log(f"seeded {data.users} users and {data.rows} domains into {db_name} in {time.monotonic() - started:.1f} s")
        dns.start()
        dns.delay = DNS_DELAY
        serve_zone(dns)
        for _, domain, _ in data.new_zone.domains:
            serve_zone(dns, domain)
        published = publish(dns, [data.cached, *data.pool, data.new_zone])
        log(f"DNS server on 127.0.0.1:{dns.port}, {published} records, {DNS_DELAY * 1000:.0f} ms per answer")

        env = {key: value for key, value in os.environ.items() if not key.startswith("OCTETH_")}
        env.update({
            "GUNICORN_WORKERS": settings.workers, "GUNICORN_THREADS": settings.threads, "GUNICORN_BIND": settings.bind,
            "OCTETH_DATABASE_URL": url, "OCTETH_TABLE_PREFIX": PREFIX,
            "OCTETH_REDIS_URL": settings.redis_url, "OCTETH_REDIS_KEY_PREFIX": redis_prefix,
            "OCTETH_RATE_LIMIT": "1000000000 per 60 seconds",
            "OCTETH_DNS_TEMPLATES": str(TEMPLATES_FILE), **dns_env(dns),
            "OCTETH_SECRET_KEY": secret, "OCTETH_INSTANCE_PATH": str(logdir / "instance"),
        })
        base = settings.base_url
        floor_bind = f"{settings.bind.rpartition(':')[0] or '127.0.0.1'}:{_free_port()}"
        floor_base = Settings(**{**settings.__dict__, "bind": floor_bind}).base_url

        # Both servers, same gunicorn.conf.py and settings but the port; the idle one sleeps.
        service = Gunicorn("service", "wsgi:app", env, logdir)
        processes.append(service)
        floor = Gunicorn("floor", "floor:app", {**env, "GUNICORN_BIND": floor_bind}, logdir,
                         extra=["--pythonpath", str(BENCH)])
        processes.append(floor)
        one, big, cached = data.one, data.big, data.cached
        get_path = f"/api/v1/user.senderdomain?DomainID={one.domains[0][0]}&APIKey={one.api_key}"
        list1_path = f"/api/v1/user.senderdomains?APIKey={one.api_key}"
        list1000_path = f"/api/v1/user.senderdomains?APIKey={big.api_key}"
        floor_get_path = f"/floor/senderdomain?DomainID={one.domains[0][0]}&UserID={one.user_id}"
        floor_list_path = f"/floor/senderdomains?UserID={one.user_id}"
        service.wait_ready(base + "/api/v1/user.senderdomains")
        floor.wait_ready(floor_base + floor_get_path)

        # Every phase's request must succeed before it is timed.
        expect_success(call(base + get_path), "get")
        assert len(expect_success(call(base + list1_path), "list_1")["SenderDomains"]) == 1
        assert len(expect_success(call(base + list1000_path), "list_1000")["SenderDomains"]) == BIG
        expect_success(call(floor_base + floor_get_path), "floor_get")
        assert len(expect_success(call(floor_base + floor_list_path), "floor_list_1")["SenderDomains"]) == 1
        cached_id = cached.domains[0][0]
        verify_url = base + "/api/v1/user.senderdomain.verify"
        first = expect_success(call(verify_url, "POST", {"DomainID": cached_id, "APIKey": cached.api_key}), "verify")
        if not first.get("IsVerified"):
            raise RuntimeError(f"the seeded records do not verify: {first}")

        counter = StatementCounter(settings.mysql_url)
        statements = {
            "get": counter.measure(lambda: call(base + get_path)),
            "list_1": counter.measure(lambda: call(base + list1_path)),
            "list_1000": counter.measure(lambda: call(base + list1000_path)),
            "verify_cached": counter.measure(
                lambda: call(verify_url, "POST", {"DomainID": cached_id, "APIKey": cached.api_key})),
        }
        counter.close()
        log(f"statements per request (MariaDB counters): {statements}")

        def on_service(name: str, mode: str, arg: str, single_use: bool = False) -> Target:
            return Target(name, base, mode, arg, service.workers(), single_use)

        def on_floor(name: str, path: str) -> Target:
            return Target(name, floor_base, "path", path, floor.workers())

        # Service time without queueing: one connection, for the latency targets' context.
        single = Settings(**{**settings.__dict__, "connections": 1, "wrk_threads": 1})
        cached_file = logdir / "verify_cached.txt"
        cached_file.write_text(f"{cached_id} {cached.api_key}\n")
        # Users interleaved, so consecutive requests are different users' domains; the last ids are
        # kept for the one-connection run.
        pool_lines = [f"{account.domains[i][0]} {account.api_key}"
                      for i in range(POOL_DOMAINS_PER_USER) for account in data.pool]
        reserved = settings.single_pool_size
        pool_file = logdir / "verify_uncached.txt"
        pool_file.write_text("\n".join(pool_lines[:-reserved]) + "\n")
        single_file = logdir / "verify_uncached_c1.txt"
        single_file.write_text("\n".join(pool_lines[-reserved:]) + "\n")
        new_zone_file = logdir / "verify_new_zone_c1.txt"
        new_zone_file.write_text("".join(f"{domain_id} {data.new_zone.api_key}\n"
                                         for domain_id, _, _ in data.new_zone.domains))

        runs = {}
        runs["get"], runs["floor_get"] = paired(
            settings, on_service("get", "path", get_path), on_floor("floor_get", floor_get_path))
        runs["list_1"], runs["floor_list_1"] = paired(
            settings, on_service("list_1", "path", list1_path), on_floor("floor_list_1", floor_list_path))
        runs["list_1000"] = phase(settings, on_service("list_1000", "path", list1000_path))
        runs["list_1000@c1"] = phase(single, on_service("list_1000@c1", "path", list1000_path))
        runs["create_delete"] = phase(settings, on_service("create_delete", "create_delete", data.creator.api_key))
        runs["verify_cached"] = phase(settings, on_service("verify_cached", "verify", str(cached_file)))
        runs["verify_cached@c1"] = phase(single, on_service("verify_cached@c1", "verify", str(cached_file)))
        runs["verify_uncached"] = phase(settings, on_service("verify_uncached", "verify", str(pool_file), True),
                                        warmup=False)
        runs["verify_uncached@c1"] = phase(single, on_service("verify_uncached@c1", "verify", str(single_file), True),
                                           warmup=False)
        runs["verify_new_zone@c1"] = phase(single, on_service("verify_new_zone@c1", "verify", str(new_zone_file), True),
                                           warmup=False)
        results["flask_limiter"] = limiter_cost(env, get_path)
        log(f"flask-limiter per request (in-process): {results['flask_limiter']}")
        rss = service.rss_mb()
        floor_rss = floor.rss_mb()
        log(f"worker RSS after the load: service {rss} MiB, floor {floor_rss} MiB")
        service.stop()
        floor.stop()

        for name in PHASES:
            results[name] = runs[name]["result"]
        details = {name: ({**run["result"], **run["detail"]} if "@" in name else run["detail"])
                   for name, run in runs.items()}
        for name in ("list_1000@c1", "verify_cached@c1", "verify_uncached@c1", "verify_new_zone@c1"):
            details[name]["note"] = "wrk -t1 -c1: the service time, without queueing"
        details["verify_new_zone@c1"]["note"] += "; every request the first verify of a new zone (SOA, NS found)"
        results["rss_mb_per_worker"] = rss
        results["ratio_get_vs_floor"] = round(results["get"]["rps"] / results["floor_get"]["rps"], 3)
        results["ratio_list_vs_floor"] = round(results["list_1"]["rps"] / results["floor_list_1"]["rps"], 3)
        one_query = statements["list_1000"]["selects"] == statements["list_1"]["selects"]
        p50 = {name: results[name]["p50_ms"] for name in PHASES}
        p50.update({name: details[name]["p50_ms"] for name in details if "@" in name})
        ratio = results["ratio_get_vs_floor"]
        worst_rss = max(rss) if rss else None
        # (value under the phase's load, met, value with one connection, met with one connection)
        checks = {
            "get_vs_floor": (ratio, ratio >= 0.75, None, None),
            "list_1000_p50": (p50["list_1000"], p50["list_1000"] <= 50 and one_query,
                              p50["list_1000@c1"], p50["list_1000@c1"] <= 50 and one_query),
            "verify_uncached_p50": (p50["verify_uncached"], p50["verify_uncached"] <= 120,
                                    p50["verify_uncached@c1"], p50["verify_uncached@c1"] <= 120),
            "verify_cached_p50": (p50["verify_cached"], p50["verify_cached"] <= 10,
                                  p50["verify_cached@c1"], p50["verify_cached@c1"] <= 10),
            "rss_per_worker": (worst_rss, worst_rss is not None and worst_rss <= 100, None, None),
        }
        results["targets"] = {
            name: {"target": TARGETS[name], "value": value, "met": met,
                   **({"value_c1": value_c1, "met_c1": met_c1} if value_c1 is not None else {})}
            for name, (value, met, value_c1, met_c1) in checks.items()
        }
        results["targets"]["list_1000_p50"]["one_query"] = one_query
        results["details"] = details
        results["statements_per_request"] = statements
        results["floor_rss_mb_per_worker"] = floor_rss
        results["run"] = {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{os.cpu_count()} cores, {_memory_gib()} GiB, {platform.system()} {platform.release()}",
            "duration_s": settings.duration, "warmup_s": settings.warmup,
            "wrk": f"-t{settings.wrk_threads} -c{settings.connections}", "connections": settings.connections,
            "gunicorn": f"gthread, {settings.workers} workers x {settings.threads} threads,"
                        f" {_gunicorn_setting('worker_connections')} connections a worker",
            "dns_delay_ms": DNS_DELAY * 1000, "dns_authoritative": True, "dns_zone": ZONE,
            "verify_pool_domains": len(pool_lines) - reserved, "new_zone_domains": len(data.new_zone.domains),
            "users": data.users, "domains": data.rows, "git_head": _git_head(),
        }
        (BENCH / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        print()
        print(table(results))
        print(f"\nwrote {BENCH / 'results.json'}")
        return 0
    except Exception:
        for process in processes:
            if process.log_path.exists():
                print(f"--- {process.name} log (tail) ---\n{process.tail()}", file=sys.stderr)
        raise
    finally:
        for process in processes:
            try:
                process.stop()
            except Exception:
                pass
        if dns.port:
            dns.stop()
        try:
            with admin.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS `{db_name}`")
            admin.close()
        except Exception as error:
            log(f"could not drop {db_name}: {error}")
        try:
            client = redis.Redis.from_url(settings.redis_url)
            keys = list(client.scan_iter(match=f"{redis_prefix}:*", count=1000))
            if keys:
                client.delete(*keys)
        except Exception as error:
            log(f"could not clear the Redis keys {redis_prefix}:*: {error}")
        if settings.keep:
            log(f"logs kept in {logdir}")
        else:
            shutil.rmtree(logdir, ignore_errors=True)




def _memory_gib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024)
    return 0


def table(results: dict) -> str:
    lines = ["| phase | req/s | p50 ms | p99 ms | worker CPU ms/req | busy cores | other cores | workers' shares |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    details = results["details"]
    rows = [(name, results[name]) for name in PHASES]
    rows += [(name, row) for name, row in details.items() if "@" in name]
    for name, row in rows:
        detail = details[name]
        lines.append(f"| {name} | {row['rps']:.1f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} |"
                     f" {detail['cpu_ms_per_request']['workers']:.2f} | {detail['busy_cores']:.2f} |"
                     f" {detail['other_cpu_cores']:.2f} | {' '.join(f'{share:.2f}' for share in detail['worker_cpu_shares'])} |")
    limiter = results.get("flask_limiter")
    if limiter:
        share = limiter["us_per_request_mean"] / (1e6 / results["get"]["rps"]) if results["get"]["rps"] else 0
        lines.append(f"| flask_limiter (check + headers, in-process) | – | {limiter['us_per_request_p50'] / 1000:.3f} |"
                     f" – | {limiter['us_per_request_mean'] / 1000:.3f} | – | – | Redis PING p50"
                     f" {limiter['redis_round_trip_us_p50']:.0f} µs; {share:.1%} of a get's wall time per worker-slot |")
    lines.append("")
    lines.append(f"ratio_get_vs_floor = {results['ratio_get_vs_floor']}, "
                 f"ratio_list_vs_floor = {results['ratio_list_vs_floor']}")
    lines.append(f"rss_mb_per_worker = {results['rss_mb_per_worker']} (MiB, VmRSS after the load)")
    cd = results["details"]["create_delete"]
    lines.append(f"create_delete counts requests (a POST or a DELETE each): {cd.get('pairs_per_s')} pairs/s")
    lines.append("")
    lines.append(f"| target | at -c{results['run']['connections']} | met | at -c1 | met at -c1 |")
    lines.append("| --- | ---: | --- | ---: | --- |")
    for target in results["targets"].values():
        c1 = (f"{target['value_c1']} | {'yes' if target['met_c1'] else 'NO'}" if "value_c1" in target else "– | –")
        lines.append(f"| {target['target']} | {target['value']} | {'yes' if target['met'] else 'NO'} | {c1} |")
    return "\n".join(lines)


def _only() -> str | None:
    """`--only reverify|http` or BENCH_PHASES=reverify|http; `--help` and anything unknown answer
    before a run starts (a run takes minutes and loads the whole machine)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="bench/run.py", description="The service against the floor (bench/README.md). Without --only:"
        " the HTTP phases, then the reverify phases. BENCH_DURATION and the other BENCH_* variables"
        " are read from the environment.")
    parser.add_argument("--only", choices=("http", "reverify"), default=os.environ.get("BENCH_PHASES") or None,
                        help="run only these phases (default: BENCH_PHASES, else both)")
    only = parser.parse_args().only
    if only not in (None, "http", "reverify"):
        parser.error(f"BENCH_PHASES={only!r}: http or reverify")
    return only


if __name__ == "__main__":
    only = _only()
    code = main() if only in (None, "http") else 0
    if code == 0 and only in (None, "reverify"):
        import reverify as reverify_bench  # bench/reverify.py, beside this file

        code = reverify_bench.main()
    sys.exit(code)
