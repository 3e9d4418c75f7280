import logging
import time
import uuid

import dns.nameserver
import dns.resolver
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from dns_server import DNSServer

from octeth_domains.senderdomains.templates import (
    CAMPAIGN,
    TemplateSettings,
    load_templates,
    render,
)
from octeth_domains.senderdomains.verify import (
    RecordOutcome,
    VerificationCache,
    cache_key,
    make_query,
    probe,
)

TIMEOUT = 1.0
PASSED = RecordOutcome(passed=True, definite=True)
FAILED = RecordOutcome(passed=False, definite=True)
UNKNOWN = RecordOutcome(passed=False, definite=False)


@pytest.fixture(scope="module")
def running_server():
    with DNSServer() as server:
        yield server


@pytest.fixture
def server(running_server):
    running_server.clear()
    yield running_server
    running_server.clear()


def run(server, records, timeout=TIMEOUT):
    return probe(records, [server.address], timeout)


def publish(server, records):
    for host, (rtype, value, *_) in records.items():
        server.add_record(host, rtype, value)


def test_published_set_passes(server):
    records = render(
        load_templates(None).get(CAMPAIGN),
        "example.com",
        {},
        TemplateSettings(secret_key=b"k"),
    )
    publish(server, records)
    assert run(server, records) == dict.fromkeys(records, PASSED)
    # One query per record, asked for the record's own type.
    assert sorted(server.queries) == sorted((h.lower(), r[0]) for h, r in records.items())


def test_wrong_cname_target_fails_definitely(server):
    server.set_record("sl.example.com", "CNAME", "other.example.")
    assert run(server, {"sl.example.com": ["CNAME", "mailer.example."]}) == {
        "sl.example.com": FAILED
    }


def test_missing_records_fail_definitely(server):
    server.set_record("sl.example.com", "A", "192.0.2.1")
    records = {
        "abc.sl.example.com": ["TXT", "token"],  # NXDOMAIN
        "sl.example.com": ["TXT", "token"],  # exists, no TXT
        "track-sl.example.com": ["CNAME", "track.example."],
    }
    assert run(server, records) == dict.fromkeys(records, FAILED)


def test_cname_is_not_followed(server):
    # The user must publish the CNAME itself; a chain reaching the value is
    # not what was asked for.
    server.set_record("sl.example.com", "CNAME", "middle.example.com.")
    server.set_record("middle.example.com", "CNAME", "mailer.example.")
    assert run(server, {"sl.example.com": ["CNAME", "mailer.example."]}) == {
        "sl.example.com": FAILED
    }


def test_case_and_trailing_dot_ignored(server):
    server.set_record("sl.example.com", "CNAME", "MAILER.Example.")
    server.set_record("mx.example.com", "MX", "10 Mx1.Example.NET.")
    records = {
        "SL.Example.COM": ["CNAME", "mailer.example"],
        "mx.example.com.": ["MX", "10 mx1.example.net"],
    }
    assert run(server, records) == dict.fromkeys(records, PASSED)


def test_stored_flag_ignored(server):
    server.set_record("sl.example.com", "CNAME", "mailer.example.")
    records = {"sl.example.com": ["CNAME", "mailer.example.", False]}
    assert run(server, records) == {"sl.example.com": PASSED}


def test_txt_among_several(server):
    server.add_record("example.com", "TXT", "v=spf1 -all")
    server.add_record("example.com", "TXT", "token-value")
    server.add_record("example.com", "TXT", "google-site-verification=x")
    assert run(server, {"example.com": ["TXT", "token-value"]}) == {"example.com": PASSED}
    assert run(server, {"example.com": ["TXT", "Token-Value"]}) == {"example.com": FAILED}


def test_txt_segments_joined(server):
    server.set_record("a.example.com", "TXT", ["v=DKIM1; k=rsa; ", "p=MIIB"])
    assert run(server, {"a.example.com": ["TXT", "v=DKIM1; k=rsa; p=MIIB"]}) == {
        "a.example.com": PASSED
    }
    assert run(server, {"a.example.com": ["TXT", "v=DKIM1; k=rsa; "]}) == {
        "a.example.com": FAILED
    }


def test_large_txt_over_tcp(server):
    # Too big for a UDP answer: dnspython must retry over TCP.
    value = "x" * 1500
    server.set_record("big.example.com", "TXT", value)
    assert run(server, {"big.example.com": ["TXT", value]}) == {"big.example.com": PASSED}
    assert server.queries == [("big.example.com", "TXT")] * 2


@pytest.mark.parametrize("recursion", [True, False])
@pytest.mark.parametrize("rtype", ["CNAME", "TXT", "MX", "A", "AAAA", "SOA", "NS"])
@pytest.mark.parametrize("host", [
    "example.com", "key1._domainkey.sl.Example.COM", "xn--bcher-kva.example", "a\\.dot.example.com",
    ".".join(["a" * 63] * 3 + ["b" * 61]),  # 253 characters, the longest name
    ".",
])
def test_a_probe_s_query_is_the_bytes_dnspython_renders(host, rtype, recursion):
    """The probe renders its queries itself (cheaper); they must be dnspython's, to the byte."""
    import dns.flags
    import dns.message
    import dns.name

    qname = dns.name.from_text(host)
    ours = make_query(qname, rtype, recursion)
    theirs = dns.message.make_query(qname, rtype, use_edns=0, payload=1232)
    if not recursion:
        theirs.flags &= ~dns.flags.RD
    theirs.id = ours.id
    assert ours.to_wire() == theirs.to_wire()
    assert ours.to_wire(prepend_length=True) == theirs.to_wire(prepend_length=True)
    assert dns.message.from_wire(ours.to_wire()) == theirs
    assert ours.is_response(dns.message.make_response(theirs))


def test_txt_through_cname(server):
    server.set_record("_dmarc.example.com", "CNAME", "_dmarc.policy.example.com.")
    server.set_record("_dmarc.policy.example.com", "TXT", "v=DMARC1; p=none")
    assert run(server, {"_dmarc.example.com": ["TXT", "v=DMARC1; p=none"]}) == {
        "_dmarc.example.com": PASSED
    }


def test_mx_a_aaaa(server):
    server.add_record("example.com", "MX", "10 mx1.example.net.")
    server.add_record("example.com", "MX", "20 mx2.example.net.")
    server.add_record("a.example.com", "A", "192.0.2.1")
    server.add_record("a.example.com", "A", "192.0.2.2")
    server.set_record("a.example.com", "AAAA", "2001:db8::1")
    records = {
        "example.com": ["MX", "mx2.example.net."],
        "a.example.com": ["A", "192.0.2.2"],
    }
    assert run(server, records) == dict.fromkeys(records, PASSED)
    assert run(server, {"a.example.com": ["AAAA", "2001:0db8:0::0001"]}) == {
        "a.example.com": PASSED
    }
    assert run(server, {"example.com": ["MX", "mx3.example.net."]}) == {"example.com": FAILED}
    assert run(server, {"a.example.com": ["A", "192.0.2.3"]}) == {"a.example.com": FAILED}
    assert run(server, {"a.example.com": ["A", "not-an-ip"]}) == {"a.example.com": FAILED}


def test_silent_server_is_not_definite_and_parallel(server):
    server.silent = True
    records = {f"h{i}.example.com": ["CNAME", "mailer.example."] for i in range(5)}
    start = time.monotonic()
    outcome = run(server, records)
    elapsed = time.monotonic() - start
    assert outcome == dict.fromkeys(records, UNKNOWN)
    assert elapsed < TIMEOUT + 0.5


def test_slow_answers_in_parallel(server):
    records = {f"h{i}.example.com": ["CNAME", "mailer.example."] for i in range(5)}
    publish(server, records)
    server.delay = 0.3
    start = time.monotonic()
    assert run(server, records) == dict.fromkeys(records, PASSED)
    assert time.monotonic() - start < 0.6
    assert run(server, records, timeout=0.2) == dict.fromkeys(records, UNKNOWN)


def test_refused_is_not_definite():
    with DNSServer(zones=["example.com"]) as other:
        assert run(other, {"sl.example.org": ["CNAME", "x."]}) == {"sl.example.org": UNKNOWN}


def test_no_server_listening_is_not_definite():
    with DNSServer() as gone:
        address = gone.address

    start = time.monotonic()
    outcome = probe({"sl.example.com": ["CNAME", "x."]}, [address], 0.5)
    assert outcome == {"sl.example.com": UNKNOWN}
    assert time.monotonic() - start < 1.0


def test_next_server_answers_when_first_is_silent(server):
    server.set_record("sl.example.com", "CNAME", "mailer.example.")

    with DNSServer() as silent:
        silent.silent = True
        outcome = probe(
            {"sl.example.com": ["CNAME", "mailer.example."]},
            [silent.address, server.address],
            TIMEOUT,
        )

    assert outcome == {"sl.example.com": PASSED}
    assert silent.queries == [("sl.example.com", "CNAME")]


def test_empty_and_unsupported():
    assert probe({}, None, TIMEOUT) == {}

    with pytest.raises(ValueError, match="SRV"):
        probe({"x.example.com": ["SRV", "0 0 25 mx.example."]}, None, TIMEOUT)


def test_cache_key():
    records = {"a.example.com": ["CNAME", "x."], "b.example.com": ["TXT", "t"]}
    key = cache_key(12, records)
    assert key.startswith("12:")
    reordered = {"b.example.com": ["TXT", "t", True], "A.example.com": ["cname", "x."]}
    assert cache_key(12, reordered) == key
    assert cache_key(13, records) != key
    assert cache_key(12, {**records, "b.example.com": ["TXT", "u"]}) != key
    assert cache_key(12, {"a.example.com": ["CNAME", "x."]}) != key


@pytest.fixture(params=["memory", "redis"])
def cache(request):
    if request.param == "memory":
        yield VerificationCache()
        return

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=2)
    client.ping()  # .ci/run starts Redis; a missing one is a failure, not a skip
    prefix = f"octeth-test:[{uuid.uuid4().hex}]*:"
    yield VerificationCache(client, prefix=prefix)
    keys = [k for k in client.scan_iter(count=1000) if k.startswith(prefix.encode())]

    if keys:
        client.delete(*keys)

    client.close()


def cached_probe(cache, domain_id, records, server):
    # The verify endpoint's flow: answer from the cache, else probe and store.
    key = cache_key(domain_id, records)
    hit = cache.get(key)

    if hit is not None:
        return hit

    outcome = {h: o.passed for h, o in run(server, records).items()}
    cache.set(key, outcome)
    return outcome


def test_cache_hit_sends_no_query(cache, server):
    server.set_record("sl.example.com", "CNAME", "mailer.example.")
    records = {"sl.example.com": ["CNAME", "mailer.example."]}
    assert cached_probe(cache, 1, records, server) == {"sl.example.com": True}
    assert len(server.queries) == 1

    server.remove("sl.example.com")
    assert cached_probe(cache, 1, records, server) == {"sl.example.com": True}
    assert len(server.queries) == 1

    # A regenerated set is a different key: it is probed afresh.
    regenerated = {"em.example.com": ["CNAME", "mailer.example."]}
    assert cached_probe(cache, 1, regenerated, server) == {"em.example.com": False}
    assert len(server.queries) == 2


def test_cache_expires(cache):
    cache.set("1:a", [1, "x"], ttl=0.05)
    assert cache.get("1:a") == [1, "x"]
    time.sleep(0.1)
    assert cache.get("1:a") is None


def test_cache_delete(cache):
    cache.set("7:a", True)
    cache.set("7:b", False)
    cache.delete("7:a")
    assert cache.get("7:a") is None
    assert cache.get("7:b") is False


def test_dead_redis_is_a_miss(caplog):
    # No connection retries: the point is the cache's behaviour, not redis-py's.
    client = redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    cache = VerificationCache(client, retry_after=0.2)

    with caplog.at_level(logging.WARNING, logger="octeth_domains.senderdomains.verify"):
        cache.set("1:a", True)
        assert cache.get("1:a") is None
        cache.delete("1:a")
        # Only the first failure reached Redis; the rest were skipped.
        assert len(caplog.records) == 1
        time.sleep(0.25)
        assert cache.get("1:a") is None
        assert len(caplog.records) == 2

    assert all("unavailable" in r.getMessage() for r in caplog.records)


def test_server_zone_apex_for_provider_detection(server):
    # What dns.provider will do: walk up to the SOA, then read the NS set.
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver(*server.address)]
    server.add_zone("example.com")
    server.set_record("example.com", "NS", "anna.ns.cloudflare.com.")
    server.add_record("example.com", "NS", "bob.ns.cloudflare.com.")

    zone = dns.resolver.zone_for_name("sl.mail.example.com", resolver=resolver)
    assert zone.to_text() == "example.com."
    ns = sorted(r.target.to_text() for r in resolver.resolve(zone, "NS"))
    assert ns == ["anna.ns.cloudflare.com.", "bob.ns.cloudflare.com."]
