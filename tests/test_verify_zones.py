"""Authoritative lookups reuse what they know of a zone (SPEC §10): a new name under a zone whose
servers are known is asked of those servers at once, with no SOA/NS discovery, and a name the
zone's servers delegate to a zone of its own below (a referral, without the AA flag) is found as
a new name would be. Real servers on loopback: a resolver on 127.0.0.1 that knows both
delegations, the parent zone's server on 127.0.0.2 and the child zone's on 127.0.0.3."""
import pytest
from dnslib import QTYPE, RR, DNSHeader, DNSRecord

from dns_server import DNSServer, start_on_common_port
from octeth_domains.senderdomains.verify import ZoneCache, probe

PARENT, CHILD = "example.com", "child.example.com"
TARGET = "mailer.example."


class ParentServer(DNSServer):
    """example.com's server: names under child.example.com get a referral, as a real parent gives."""

    def answer(self, request: DNSRecord) -> DNSRecord | None:
        name = str(request.q.qname).rstrip(".").lower()
        if name == CHILD or name.endswith("." + CHILD):
            with self._lock:
                self.queries.append((name, QTYPE.get(request.q.qtype)))
            reply = DNSRecord(DNSHeader(id=request.header.id, qr=1, aa=0, rd=request.header.rd), q=request.q)
            reply.add_auth(RR.fromZone(f"{CHILD}. 60 IN NS ns1.{CHILD}.")[0])
            reply.add_ar(RR.fromZone(f"ns1.{CHILD}. 60 IN A 127.0.0.3")[0])
            return reply
        return super().answer(request)


@pytest.fixture(scope="module")
def world():
    resolver = DNSServer().start()
    # The authoritative port is one setting: both servers on one port, on their own addresses.
    port = start_on_common_port(["127.0.0.2", "127.0.0.3"])
    for server in port:
        server.stop()
    parent = ParentServer(zones=[PARENT], host="127.0.0.2", port=port[0].port).start()
    child = DNSServer(zones=[CHILD], host="127.0.0.3", port=parent.port).start()
    for zone, address in ((PARENT, "127.0.0.2"), (CHILD, "127.0.0.3")):
        resolver.add_zone(zone, ns_address=address)
    parent.add_zone(PARENT, ns_address="127.0.0.2")
    child.add_zone(CHILD, ns_address="127.0.0.3")
    for host, server in ((f"sl.{PARENT}", parent), (f"sl2.{PARENT}", parent), (f"sl.{CHILD}", child)):
        server.set_record(host, "CNAME", TARGET)
    yield resolver, parent, child
    for server in (resolver, parent, child):
        server.stop()


def _probe(world, zones, host):
    resolver, parent, _ = world
    return probe({host: ["CNAME", TARGET]}, [resolver.address], 1.0, authoritative=True, port=parent.port,
                 zones=zones)[host]


def _discovery(server):
    return [query for query in server.queries if query[1] in ("SOA", "NS")]


def test_a_new_name_in_a_known_zone_needs_no_discovery(world):
    resolver, parent, _ = world
    zones = ZoneCache()
    first = _probe(world, zones, f"sl.{PARENT}")
    assert (first.passed, first.source) == (True, "authoritative")
    assert _discovery(resolver)  # the first name of the zone finds it through the resolver
    resolver.queries.clear()
    parent.queries.clear()
    second = _probe(world, zones, f"sl2.{PARENT}")
    assert (second.passed, second.source) == (True, "authoritative")
    assert resolver.queries == []  # neither SOA, NS nor the record: the zone's server answered
    assert parent.queries == [(f"sl2.{PARENT}", "CNAME")]


def test_a_referral_below_a_known_zone_finds_the_child_zone(world):
    resolver, parent, child = world
    zones = ZoneCache()
    assert _probe(world, zones, f"sl.{PARENT}").passed
    child.queries.clear()
    outcome = _probe(world, zones, f"sl.{CHILD}")
    # The parent's referral is not taken for "no such record": the child zone's server is asked.
    assert (outcome.passed, outcome.reason, outcome.source) == (True, "ok", "authoritative")
    assert (f"sl.{CHILD}", "CNAME") in child.queries
    assert zones.zone_of(f"sl.{CHILD}") == (True, f"{CHILD}.")


V6_ZONE = "v6only.test"


class WithoutGlue(DNSServer):
    """A resolver whose NS answers carry no addresses: each server's is asked for apart."""

    def answer(self, request: DNSRecord) -> DNSRecord | None:
        reply = super().answer(request)
        if reply is not None:
            reply.ar = []
        return reply


@pytest.mark.parametrize("resolver_class", [DNSServer, WithoutGlue], ids=["aaaa-glue", "aaaa-lookup"])
def test_a_zone_whose_only_server_has_an_ipv6_address_is_asked_there(resolver_class):
    """ns1.v6only.test has an AAAA record and no A record (given as glue, or asked for): its IPv6
    address is asked, and answers for the zone while the resolver still holds a stale "no such
    name" for the record."""
    v6 = DNSServer(zones=[V6_ZONE], host="::1").start()
    resolver = resolver_class().start()
    try:
        for server in (v6, resolver):
            server.add_zone(V6_ZONE)  # its SOA and NS ns1.v6only.test
            server.set_record(f"ns1.{V6_ZONE}", "AAAA", "::1")
        v6.set_record(f"sl.{V6_ZONE}", "CNAME", TARGET)  # published; the resolver has not seen it
        zones = ZoneCache()
        outcome = probe({f"sl.{V6_ZONE}": ["CNAME", TARGET]}, [resolver.address], 1.0, authoritative=True,
                        port=v6.port, zones=zones)[f"sl.{V6_ZONE}"]
        assert (outcome.passed, outcome.source) == (True, "authoritative")
        known, zone = zones.servers(V6_ZONE + ".")
        assert known and zone.addresses == ("::1",)
        asked = [query for query in resolver.queries if query[0] == f"ns1.{V6_ZONE}"]
        # IPv4 first, even beside AAAA glue: an A record left out of the glue serves a host without IPv6.
        looked_up = [] if resolver_class is DNSServer else [(f"ns1.{V6_ZONE}", "AAAA")]
        assert asked == [(f"ns1.{V6_ZONE}", "A"), *looked_up]
        assert (f"sl.{V6_ZONE}", "CNAME") in v6.queries
    finally:
        v6.stop()
        resolver.stop()
