"""The reverify phases of `make bench` (SPEC §14): `octeth-domains reverify` as cron runs it, on
MariaDB + Redis, against a loopback DNS server that answers every query 50 ms late.

Run alone with `python bench/run.py --only reverify` (or `BENCH_PHASES=reverify make bench`);
`make bench` runs them after the HTTP phases. Each phase is real CLI processes; what is measured
is their wall time from start to exit (start-up included), their peak RSS (``wait4``), and the
queries the DNS server received.

1. ``one``: 20,000 Enabled domains of the bench template (four CNAMEs and a TXT, all published),
   one runner at ``--concurrency 64``.
2. ``two``: the same domains, two runners started together, each at ``--concurrency 64``.
3. ``silent``: the same domains, one runner at ``--concurrency 64``, while the DNS server drops
   every query about one domain in ten (so each of those costs reverify's lookup timeout, the
   default OCTETH_REVERIFY_DNS_TIMEOUT of 1.5 s).
4. ``rss_1000`` and ``rss_100000``: peak RSS of one runner over 1,000 and then 100,000 domains
   (one CNAME each, answered at once: memory, not DNS, is what these measure).

Between phases nothing is reset: with ``--interval 0`` every run probes every Enabled domain.
Results are merged into bench/results.json under ``reverify_*`` keys and ``reverify``.

Environment: BENCH_REVERIFY_DOMAINS (20000), BENCH_REVERIFY_RSS (1000,100000),
BENCH_REVERIFY_CONCURRENCY (64), BENCH_MYSQL_URL / BENCH_REDIS_URL as for run.py;
BENCH_PROFILE=reverify runs every runner under ``py-spy record`` (the stack files' names are
logged; their peak RSS is then py-spy's, not the runner's).
"""
from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import redis

from common import (BENCH, DNS_DELAY, OPTIONS, PREFIX, TEMPLATES_FILE, ZONE, admin as _admin,  # noqa: E402
                    database_url as _database_url, dns_env, git_head as _git_head, interrupted as _interrupted,
                    logger, serve_zone)
from dnslib import CNAME, QTYPE, RR, DNSHeader, DNSRecord  # noqa: E402
from dns_server import DNSServer  # noqa: E402  (tests/dns_server.py)
from octeth_domains.config import REVERIFY_DNS_TIMEOUT  # noqa: E402
from octeth_domains.db import Database  # noqa: E402
from octeth_domains.models.senderdomains import encode  # noqa: E402
from octeth_domains.senderdomains import templates  # noqa: E402

CLI = str(Path(sys.executable).parent / "octeth-domains")
RSS_ZONE = f"rss.{ZONE}"
RSS_TARGET = "mailer.delivery.example."
TARGETS = {
    "reverify_domains_per_s": ">= 250 domains/s, one runner at --concurrency 64",
    "reverify_two_runners_ratio": "two runners together >= 1.3 x one",
    "reverify_silent_ratio": "10 % silent domains <= 1.5 x the time of all answering",
    "reverify_rss_flat": "peak RSS at 100,000 domains within 20 MB of the RSS at 1,000",
}


log = logger("bench reverify")


class BenchDNS(DNSServer):
    """tests/dns_server.py's server, plus: silence for the domains named in ``silent_domains`` (a
    query about any name under them is read and dropped), and a CNAME for every name under
    RSS_ZONE (100,000 domains' records need not be stored to be answered). Its answers are
    cached (``cache_replies``): after the first phase, answering costs the shared cores little."""

    def __init__(self) -> None:
        super().__init__()
        self.cache_replies = True
        self._silent_domains: frozenset[str] = frozenset()

    @property
    def count(self) -> int:
        return self.received

    @property
    def silent_domains(self) -> frozenset[str]:
        return self._silent_domains

    @silent_domains.setter
    def silent_domains(self, domains: frozenset[str]) -> None:
        self._silent_domains = domains

    def udp_reply(self, data: bytes) -> bytes | None:
        # Silence is decided before the cache is read, so that the silent phase's answers cost
        # what the other phases' do.
        if self._silent_domains and self._silenced(_qname(data)):
            self.received += 1
            return None
        return super().udp_reply(data)

    def _silenced(self, name: str) -> bool:
        labels = name.split(".")
        return any(".".join(labels[i:]) in self._silent_domains for i in range(len(labels) - 1))

    def answer(self, request: DNSRecord) -> DNSRecord | None:
        name = str(request.q.qname).rstrip(".").lower()
        if name.endswith("." + RSS_ZONE):
            reply = DNSRecord(DNSHeader(id=request.header.id, qr=1, aa=1, rd=request.header.rd), q=request.q)
            reply.add_answer(RR(request.q.qname, QTYPE.CNAME, ttl=60, rdata=CNAME(RSS_TARGET)))
            return reply
        if self._silent_domains and self._silenced(name):
            return None
        return super().answer(request)


def _qname(data: bytes) -> str:
    """The question's name in a query's wire form (never compressed there), lower case."""
    labels, at = [], 12
    while at < len(data) and data[at]:
        labels.append(data[at + 1:at + 1 + data[at]].decode("ascii", "replace"))
        at += 1 + data[at]
    return ".".join(labels).lower()


def seed(admin_url: str, name: str, domains: list[tuple[str, dict]]) -> None:
    """Enabled domains of one user, records verified, written in bulk."""
    connection = _admin(admin_url, name)
    created_at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT IGNORE INTO {PREFIX}user_groups (GroupName, Permissions) VALUES ('Bench', 'User.Update')")
        cursor.execute(f"INSERT IGNORE INTO {PREFIX}users (Username, RelUserGroupID, CreatedAt)"
                       f" SELECT 'bench', UserGroupID, %s FROM {PREFIX}user_groups WHERE GroupName = 'Bench'", (created_at,))
        cursor.execute(f"SELECT UserID FROM {PREFIX}users WHERE Username = 'bench'")
        user_id = cursor.fetchone()[0]
        # Enabled, so every record verified, as the service leaves such a domain: a run then
        # measures the steady state of cron's runs, not the first merge of a probe into new rows.
        rows = [(domain, user_id, created_at,
                 encode({"DNSRecords": {host: [*record[:2], True] for host, record in records.items()}}),
                 encode(OPTIONS))
                for domain, records in domains]
        for start in range(0, len(rows), 2000):
            cursor.executemany(
                f"INSERT INTO {PREFIX}sender_domains (SenderDomain, RelUserID, CreatedAt, Status,"
                " VerificationMeta, PolicyMeta, Options) VALUES (%s, %s, %s, 'Enabled', %s, '[]', %s)",
                rows[start:start + 2000])
    connection.close()


def runners(env: dict[str, str], count: int, concurrency: int, dns: BenchDNS) -> dict:
    """``count`` reverify processes started together; their wall time, peak RSS and summaries."""
    queries = dns.count
    server_cpu = _cpu_s(resource.getrusage(resource.RUSAGE_SELF))
    started = time.monotonic()
    logs = [(tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")) for _ in range(count)]

    def command(index: int) -> list[str]:
        runner = [CLI, "reverify", "--concurrency", str(concurrency)]
        if "reverify" not in os.environ.get("BENCH_PROFILE", "").split(","):
            return runner
        # py-spy runs the runner itself: collapsed stacks for bench/profile.py, one file per runner.
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        stacks = tempfile.mkstemp(prefix=f"octeth_bench_profile-reverify-{count}x{index}-", suffix=".txt")[1]
        log(f"runner {index} sampled by py-spy into {stacks}")
        return [spy, "record", "--format", "raw", "--rate", "250",
                *os.environ.get("BENCH_PROFILE_ARGS", "--gil").split(), "-o", stacks, "--", *runner]

    processes = [subprocess.Popen(command(index), env=env, stdout=out, stderr=err, text=True)
                 for index, (out, err) in enumerate(logs)]
    outputs = {}
    # Peak RSS from /proc's VmHWM, read while the process runs: wait4's ru_maxrss would count the
    # pages of this (large) process the child shared between fork and exec.
    peaks = {process.pid: 0 for process in processes}
    watching = threading.Event()

    def watch() -> None:
        while not watching.wait(0.05):
            for pid in peaks:
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            peaks[pid] = max(peaks[pid], int(line.split()[1]))
                except OSError:
                    pass

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    rss_mb = {}
    cpu_s = {}
    for process, (out, err) in zip(processes, logs):
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        cpu_s[process.pid] = round(_cpu_s(usage), 2)
    watching.set()
    watcher.join()
    for process, (out, err) in zip(processes, logs):
        rss_mb[process.pid] = round(peaks[process.pid] / 1024, 1)
        out.seek(0)
        err.seek(0)
        outputs[process.pid] = (out.read(), err.read())
    elapsed = time.monotonic() - started
    server_cpu = _cpu_s(resource.getrusage(resource.RUSAGE_SELF)) - server_cpu
    summaries = []
    for process in processes:
        out, err = outputs[process.pid]
        if process.returncode != 0:
            raise RuntimeError(f"reverify exited {process.returncode}:\n{err[-3000:]}")
        line = [line for line in out.splitlines() if line.startswith("reverify:")][-1]  # py-spy writes here too
        counts = dict(zip(("claimed", "passed", "failed", "inconclusive", "demoted"),
                          (int(word) for word in line.replace(",", "").split()[1::2])))
        summaries.append({"line": line, **counts, "peak_rss_mb": rss_mb[process.pid], "cpu_s": cpu_s[process.pid]})
    claimed = sum(summary["claimed"] for summary in summaries)
    return {"runners": count, "concurrency": concurrency, "wall_s": round(elapsed, 2), "claimed": claimed,
            "domains_per_s": round(claimed / elapsed, 1),
            "dns_queries_per_domain": round((dns.count - queries) / max(claimed, 1), 2),
            # CPU of the runners and of the bench's own process (the DNS server), in cores busy.
            "runner_cores": round(sum(cpu_s.values()) / elapsed, 2), "dns_server_cores": round(server_cpu / elapsed, 2),
            "summaries": summaries}


def run_phases() -> dict:
    env_in = os.environ
    count = int(env_in.get("BENCH_REVERIFY_DOMAINS") or 20000)
    rss_sizes = [int(size) for size in (env_in.get("BENCH_REVERIFY_RSS") or "1000,100000").split(",")]
    concurrency = int(env_in.get("BENCH_REVERIFY_CONCURRENCY") or 64)
    mysql_url = env_in.get("BENCH_MYSQL_URL") or env_in.get("OCTETH_TEST_MYSQL_URL") or "mysql://root@127.0.0.1:3306"
    redis_url = env_in.get("BENCH_REDIS_URL") or env_in.get("OCTETH_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    token = secrets.token_hex(4)
    names = {"main": f"octeth_bench_rv_{token}", "rss": f"octeth_bench_rvrss_{token}"}
    redis_prefix = f"octeth_bench_rv_{token}"
    secret = secrets.token_hex(32)
    admin = _admin(mysql_url)
    dns = BenchDNS()
    phases: dict = {}
    try:
        for name in names.values():
            with admin.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            Database(_database_url(mysql_url, name)).upgrade()
        template = templates.load_templates(str(TEMPLATES_FILE)).get(templates.CAMPAIGN, "Default")
        settings = templates.TemplateSettings(secret_key=secret.encode())
        domains = []
        for i in range(count):
            domain = f"d{i}.rv.{ZONE}"
            domains.append((domain, templates.render(template, domain, OPTIONS, settings)))
        started = time.monotonic()
        seed(mysql_url, names["main"], domains)
        dns.start()
        serve_zone(dns)
        for _, records in domains:
            for host, (rtype, value) in records.items():
                dns.set_record(host, rtype, value)
        dns.delay = DNS_DELAY
        log(f"seeded and published {count} domains ({sum(len(r) for _, r in domains)} records) in"
            f" {time.monotonic() - started:.1f} s; DNS on 127.0.0.1:{dns.port}, {DNS_DELAY * 1000:.0f} ms per answer")

        base_env = {key: value for key, value in os.environ.items() if not key.startswith("OCTETH_")}
        base_env.update({
            "OCTETH_TABLE_PREFIX": PREFIX, "OCTETH_REDIS_URL": redis_url, "OCTETH_REDIS_KEY_PREFIX": redis_prefix,
            "OCTETH_DNS_TEMPLATES": str(TEMPLATES_FILE), **dns_env(dns),
            # Health looked up at every probe, so that no phase reuses what an earlier one checked.
            "OCTETH_DNS_HEALTH_CACHE_TTL": "0",
            "OCTETH_SECRET_KEY": secret, "OCTETH_INSTANCE_PATH": f"/tmp/{redis_prefix}",
        })
        env = {**base_env, "OCTETH_DATABASE_URL": _database_url(mysql_url, names["main"])}

        phases["one"] = runners(env, 1, concurrency, dns)
        log(f"one runner: {phases['one']['domains_per_s']} domains/s, {phases['one']['wall_s']} s,"
            f" runner {phases['one']['runner_cores']} cores, DNS server {phases['one']['dns_server_cores']} cores")
        phases["two"] = runners(env, 2, concurrency, dns)
        log(f"two runners: {phases['two']['domains_per_s']} domains/s, {phases['two']['wall_s']} s,"
            f" claimed {[s['claimed'] for s in phases['two']['summaries']]}")
        dns.silent_domains = frozenset(domain for i, (domain, _) in enumerate(domains) if i % 10 == 0)
        phases["silent"] = runners(env, 1, concurrency, dns)
        phases["silent"]["silent_domains"] = len(dns.silent_domains)
        dns.silent_domains = frozenset()
        log(f"10 % silent: {phases['silent']['domains_per_s']} domains/s, {phases['silent']['wall_s']} s")

        dns.delay = 0.0  # the RSS phases measure memory, not DNS
        rss_env = {**base_env, "OCTETH_DATABASE_URL": _database_url(mysql_url, names["rss"])}
        seeded = 0
        for size in sorted(rss_sizes):
            seed(mysql_url, names["rss"], [(f"r{i}.{RSS_ZONE}", {f"sl.r{i}.{RSS_ZONE}": ["CNAME", RSS_TARGET]})
                                            for i in range(seeded, size)])
            seeded = size
            phase = runners(rss_env, 1, concurrency, dns)
            phases[f"rss_{size}"] = phase
            log(f"{size} domains (instant DNS): peak RSS {phase['summaries'][0]['peak_rss_mb']} MiB,"
                f" {phase['domains_per_s']} domains/s")
    finally:
        if dns.port:
            dns.stop()
        for name in names.values():
            try:
                with admin.cursor() as cursor:
                    cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            except Exception as error:
                log(f"could not drop {name}: {error}")
        admin.close()
        try:
            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(match=f"{redis_prefix}:*", count=1000):
                client.delete(key)
        except Exception as error:
            log(f"could not clear the Redis keys {redis_prefix}:*: {error}")

    one, two, silent = phases["one"], phases["two"], phases["silent"]
    rss = {size: phases[f"rss_{size}"]["summaries"][0]["peak_rss_mb"] for size in rss_sizes}
    results = {
        "reverify_domains_per_s": one["domains_per_s"],
        "reverify_two_runners_ratio": round(two["domains_per_s"] / one["domains_per_s"], 3),
        "reverify_silent_ratio": round(silent["wall_s"] / one["wall_s"], 3),
        **{f"reverify_rss_mb_{size}": value for size, value in rss.items()},
    }
    small, large = rss.get(1000), rss.get(100000)
    met = {
        "reverify_domains_per_s": results["reverify_domains_per_s"] >= 250,
        "reverify_two_runners_ratio": results["reverify_two_runners_ratio"] >= 1.3,
        "reverify_silent_ratio": results["reverify_silent_ratio"] <= 1.5,
        "reverify_rss_flat": small is not None and large is not None and large - small <= 20,
    }
    results["reverify"] = {
        "phases": phases,
        "targets": {name: {"target": TARGETS[name], "met": met[name]} for name in TARGETS},
        "run": {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "domains": count,
                "dns_delay_ms": DNS_DELAY * 1000, "dns_timeout_s": REVERIFY_DNS_TIMEOUT, "concurrency": concurrency,
                "machine": f"{os.cpu_count()} cores", "git_head": _git_head()},
    }
    return results


def _cpu_s(usage) -> float:
    return usage.ru_utime + usage.ru_stime



def table(results: dict) -> str:
    lines = ["| phase | runners | domains | wall s | domains/s | DNS queries/domain | peak RSS MiB |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, phase in results["reverify"]["phases"].items():
        lines.append(f"| {name} | {phase['runners']} | {phase['claimed']} | {phase['wall_s']} | {phase['domains_per_s']} |"
                     f" {phase['dns_queries_per_domain']} | {' + '.join(str(s['peak_rss_mb']) for s in phase['summaries'])} |")
    lines.append("")
    lines.append("| target | value | met |")
    lines.append("| --- | ---: | --- |")
    values = {**results, "reverify_rss_flat": f"{results.get('reverify_rss_mb_1000')} -> {results.get('reverify_rss_mb_100000')} MiB"}
    for name, target in results["reverify"]["targets"].items():
        lines.append(f"| {target['target']} | {values[name]} | {'yes' if target['met'] else 'NO'} |")
    return "\n".join(lines)



def main() -> int:
    signal.signal(signal.SIGTERM, _interrupted)
    results = run_phases()
    path = BENCH / "results.json"
    merged = json.loads(path.read_text()) if path.exists() else {}
    # This run's reverify keys replace every earlier one (an RSS size no longer measured included).
    merged = {key: value for key, value in merged.items() if not key.startswith("reverify")}
    merged.update(results)
    path.write_text(json.dumps(merged, indent=2) + "\n")
    print()
    print(table(results))
    print(f"\nwrote the reverify keys into {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
