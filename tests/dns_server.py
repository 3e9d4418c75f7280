"""A small authoritative DNS server for tests, built on dnslib.

It listens on 127.0.0.1 on one free port for both UDP and TCP, so that
dnspython's truncation fallback is exercised for real, and answers like an
authoritative server: AA set, NXDOMAIN for names that do not exist in its
zones, NOERROR with an empty answer for names that exist with other types,
the zone's SOA in the authority section of negative answers, and REFUSED
outside its zones.

Usage::

    with DNSServer() as server:
        server.set_record("sl.example.com", "CNAME", "mailer.example.")
        probe(records, servers=[server.address], timeout=1)
        assert ("sl.example.com", "CNAME") in server.queries

``silent`` makes it read and drop every query; ``delay`` adds seconds to
every answer.
"""

from __future__ import annotations

import heapq
import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence

from dnslib import CLASS, QTYPE, RCODE, RR, TXT, DNSHeader, DNSRecord, DNSLabel

__all__ = ["DNSServer", "start_on_common_port"]

# RFC 1035's UDP limit, used when a query carries no EDNS payload size.
_CLASSIC_UDP_SIZE = 512
_MAX_CNAME_CHAIN = 8


def _key(name: str) -> str:
    return name.rstrip(".").lower() + "."


def _make_rr(name: str, rtype: str, value: str | Sequence[str], ttl: int) -> RR:
    if rtype == "TXT":
        # A string is one TXT record; a sequence is one record of several
        # segments. Long strings are split at 255 bytes as a zone file must.
        parts = [value] if isinstance(value, str) else list(value)
        segments = []

        for part in parts:
            data = part.encode()
            segments.extend(data[i : i + 255] for i in range(0, max(len(data), 1), 255))

        return RR(_key(name), QTYPE.TXT, CLASS.IN, ttl, TXT(segments))

    if not isinstance(value, str):
        raise TypeError(f"Only TXT values may be a sequence, not {rtype}.")

    # Zone-file syntax covers every other type ("10 mx.example.com." for MX,
    # the seven SOA fields, ...).
    return RR.fromZone(f"{_key(name)} {ttl} IN {rtype} {value}")[0]


class DNSServer:
    """An authoritative server for ``zones`` (default: the root, so every
    name is answered authoritatively). Each zone gets a default SOA and NS
    that :meth:`set_record` can replace."""

    def __init__(
        self,
        zones: Iterable[str] = (".",),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
    ) -> None:
        self.host = host
        self.port = port
        self.queries: list[tuple[str, str]] = []
        self._initial_zones = [_key(zone) for zone in zones]
        self._zones: set[str] = set()
        self._records: dict[tuple[str, str], list[RR]] = {}
        # How many record sets sit at or below each name: a name exists when it is in here, so
        # an answer costs the same with a hundred thousand records as with ten (the bench's).
        self._names: Counter[str] = Counter()
        # Off by default: a test reads ``queries``, which a cached answer does not log.
        self.cache_replies = False
        self._replies: dict[bytes, bytes] = {}
        self._generation = 0  # moves with every change of the records, under the lock
        self.received = 0  # queries read, answered or not
        self._lock = threading.Lock()
        self._servers: list[socketserver.BaseServer] = []
        self._threads: list[threading.Thread] = []
        self.clear()
        self.delay = delay

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` as :func:`~octeth_domains.senderdomains.verify.probe` takes it."""
        return (self.host, self.port)

    def add_zone(self, zone: str, *, ns_address: str | None = None) -> None:
        """Serve ``zone`` authoritatively, with a default SOA and NS; with
        ``ns_address``, also the NS host's A record (the glue that NS
        answers carry), so that zone and server discovery end at an
        address."""
        zone = _key(zone)

        with self._lock:
            self._zones.add(zone)

        self._add_zone_defaults(zone)

        if ns_address is not None:
            self.set_record("ns1." + zone, "A", ns_address)

    def _add_zone_defaults(self, zone: str) -> None:
        ns = "ns1." + zone if zone != "." else "a.root-servers.net."
        self.set_record(zone, "SOA", f"{ns} hostmaster.{zone.lstrip('.')} 1 3600 600 86400 60")
        self.set_record(zone, "NS", ns)

    def set_record(
        self, name: str, rtype: str, value: str | Sequence[str], ttl: int = 60
    ) -> None:
        """Replace every ``rtype`` record at ``name`` with this one."""
        rtype = rtype.upper()
        rr = _make_rr(name, rtype, value, ttl)

        with self._lock:
            self._put((_key(name), rtype), [rr])

    def add_record(
        self, name: str, rtype: str, value: str | Sequence[str], ttl: int = 60
    ) -> None:
        """Add a record beside the existing ones of that name and type."""
        rtype = rtype.upper()
        rr = _make_rr(name, rtype, value, ttl)

        with self._lock:
            key = (_key(name), rtype)
            self._put(key, self._records.get(key, []) + [rr])

    def answer_about(self, name: str, other: str | None) -> None:
        """Answer queries about ``name`` with the records of ``other`` (owned by ``other``), as a
        broken server would; ``None`` ends it."""
        with self._lock:
            if other is None:
                self.wrong_owner.pop(_key(name), None)
            else:
                self.wrong_owner[_key(name)] = _key(other)

    def fail(self, name: str, rcode: str = "SERVFAIL") -> None:
        """Answer every query about ``name`` with ``rcode`` (SERVFAIL, REFUSED, ...), as a broken
        or misconfigured server would; :meth:`clear` or ``fail(name, "NOERROR")`` ends it."""
        with self._lock:
            if rcode == "NOERROR":
                self.failing.pop(_key(name), None)
            else:
                self.failing[_key(name)] = getattr(RCODE, rcode)
            self._generation += 1
            self._replies.clear()

    def remove(self, name: str, rtype: str | None = None) -> None:
        """Remove the ``rtype`` records at ``name``, or all of them."""
        name = _key(name)

        with self._lock:
            for key in [k for k in self._records if k[0] == name]:
                if rtype is None or key[1] == rtype.upper():
                    del self._records[key]
                    self._count(key[0], -1)
                    self._generation += 1
                    self._replies.clear()

    def _put(self, key: tuple[str, str], rrs: list[RR]) -> None:
        self._generation += 1
        self._replies.clear()
        if key not in self._records:
            self._count(key[0], 1)
        self._records[key] = rrs

    def _count(self, name: str, step: int) -> None:
        labels = name.rstrip(".").split(".")
        for i in range(len(labels)):
            above = ".".join(labels[i:]) + "."
            self._names[above] += step
            if self._names[above] <= 0:
                del self._names[above]

    def clear(self) -> None:
        """Go back to the state of a new server: the constructor's zones
        with their default SOA and NS, no other record, no query logged,
        switches off."""
        with self._lock:
            self._records.clear()
            self._names.clear()
            self._generation += 1
            self._replies.clear()
            self._zones.clear()
            self.queries.clear()
            self.silent = False
            self.delay = 0.0
            self.failing: dict[str, int] = {}  # name -> the RCODE every query about it gets
            # name -> the name its answers are owned by: a broken server answering about another name
            self.wrong_owner: dict[str, str] = {}
            self.always_truncated = False  # every answer cut short (TC, no records), over TCP too


        for zone in self._initial_zones:
            self.add_zone(zone)

    def start(self) -> DNSServer:
        """Bind UDP and TCP on the given port (or one free port) and serve in
        daemon threads."""
        if self.port:
            udp = _UDPServer((self.host, self.port), _UDPHandler, self)
            try:
                tcp = _TCPServer((self.host, self.port), _TCPHandler, self)
            except OSError:
                udp.server_close()
                raise
            return self._serve(udp, tcp)
        # The kernel picks a free UDP port; TCP may be taken on that number,
        # so try again a few times.
        for _ in range(20):
            udp = _UDPServer((self.host, 0), _UDPHandler, self)
            try:
                tcp = _TCPServer((self.host, udp.server_address[1]), _TCPHandler, self)
            except OSError:
                udp.server_close()
                continue
            break
        else:
            raise OSError("No port free for both UDP and TCP.")
        return self._serve(udp, tcp)

    def _serve(self, udp, tcp) -> DNSServer:
        self.port = udp.server_address[1]
        self._servers = [udp, tcp]
        self._threads = [
            threading.Thread(
                target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            for s in self._servers
        ]

        for thread in self._threads:
            thread.start()

        return self

    def stop(self) -> None:
        """Stop serving and close the sockets."""
        for server in self._servers:
            server.shutdown()
            server.server_close()

        for thread in self._threads:
            thread.join()

        self._servers = []
        self._threads = []

    def __enter__(self) -> DNSServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _zone_of(self, name: str) -> str | None:
        zones = self._zones
        labels = name.rstrip(".").split(".")
        for i in range(len(labels)):
            if ".".join(labels[i:]) + "." in zones:
                return ".".join(labels[i:]) + "."
        return "." if "." in zones else None

    def _exists(self, name: str) -> bool:
        # An empty non-terminal (a name with only children) exists: it gets
        # NODATA, not NXDOMAIN, as on a real server.
        return name in self._names

    def answer(self, request: DNSRecord) -> DNSRecord | None:
        """Return the reply to ``request``, or ``None`` to stay silent."""
        question = request.q
        qname = str(question.qname)
        qtype = QTYPE.get(question.qtype)

        with self._lock:
            self.queries.append((qname.rstrip(".").lower(), qtype))
            silent = self.silent

        if silent:
            return None

        reply = DNSRecord(
            DNSHeader(id=request.header.id, qr=1, aa=1, rd=request.header.rd),
            q=question,
        )

        with self._lock:
            zone = self._zone_of(_key(qname))
            failing = self.failing.get(_key(qname))
            if failing is not None:
                reply.header.rcode = failing
                return reply
            if self.always_truncated:
                reply.header.tc = 1
                return reply
            elsewhere = self.wrong_owner.get(_key(qname))
            if elsewhere is not None:
                qname = elsewhere  # the records of that name, sent as the answer to this question

            if zone is None:
                reply.header.rcode = RCODE.REFUSED
                return reply

            name = _key(qname)
            owner = DNSLabel(qname)

            # Follow in-zone CNAMEs for other types, as authoritative servers do.
            for _ in range(_MAX_CNAME_CHAIN):
                cname = self._records.get((name, "CNAME"))

                if qtype == "CNAME" or not cname:
                    break

                reply.add_answer(self._owned(cname[0], owner))
                owner = cname[0].rdata.label
                name = _key(str(owner))

            rrs = self._records.get((name, qtype), [])

            for rr in rrs:
                reply.add_answer(self._owned(rr, owner))

            if qtype == "NS":
                # Glue: the addresses of the name servers this server knows.
                for rr in rrs:
                    for family in ("A", "AAAA"):
                        for glue in self._records.get((_key(str(rr.rdata.label)), family), []):
                            reply.add_ar(glue)

            if not rrs and not reply.rr:
                if not self._exists(name):
                    reply.header.rcode = RCODE.NXDOMAIN

                for soa in self._records.get((zone, "SOA"), []):
                    reply.add_auth(soa)

        return reply

    def udp_reply(self, data: bytes) -> bytes | None:
        """The packed UDP answer to the query ``data`` (truncated when it exceeds the
        query's EDNS size), None to stay silent. With ``cache_replies`` an answer is built
        once per distinct query and reused, its ID replaced, until a record changes."""
        self.received += 1

        if self.cache_replies and not self.silent:
            cached = self._replies.get(data[2:])

            if cached is not None:
                return data[:2] + cached

        request = _parse(data)

        if request is None:
            return None

        generation = self._generation
        reply = self.answer(request)

        if reply is None:
            return None

        sizes = [rr.rclass for rr in request.ar if rr.rtype == QTYPE.OPT]
        limit = max(sizes + [_CLASSIC_UDP_SIZE])
        packed = reply.pack()

        if len(packed) > limit:
            # Keep the question: dnspython rejects a reply without it.
            truncated = DNSRecord(
                DNSHeader(id=reply.header.id, bitmap=reply.header.bitmap, tc=1), q=reply.q
            )
            packed = truncated.pack()

        if self.cache_replies:
            with self._lock:
                # Not an answer built from records that changed while it was being built.
                if generation == self._generation:
                    self._replies[data[2:]] = packed[2:]

        return packed

    def forget_replies(self) -> None:
        """Drop the cached answers (a subclass whose answers depend on more than the
        records calls this when that changes)."""
        self._replies.clear()

    @staticmethod
    def _owned(rr: RR, owner: DNSLabel) -> RR:
        # Answer with the name as asked, preserving its case.
        return RR(owner, rr.rtype, rr.rclass, rr.ttl, rr.rdata)


def start_on_common_port(hosts: Sequence[str], **options) -> list[DNSServer]:
    """One started server on each loopback address of ``hosts``, all on one
    port that was free on every one of them (others run tests on this
    machine too: the port is never fixed)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((hosts[0], 0))
            port = probe.getsockname()[1]
        started: list[DNSServer] = []
        try:
            for host in hosts:
                started.append(DNSServer(host=host, port=port, **options).start())
        except OSError:
            for server in started:
                server.stop()
            continue
        return started
    raise OSError(f"No port free on all of {', '.join(hosts)}.")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET  # "::1" serves IPv6


class _UDPServer(socketserver.UDPServer):
    """Answers on its serving thread, and sends each answer ``delay`` seconds later from a
    second thread: a slow server costs a timer, not a sleeping thread per query (the bench
    sends thousands a second, and shares the machine with what it measures)."""

    def __init__(self, address, handler, dns: DNSServer) -> None:
        self.dns = dns
        self.address_family = _family(address[0])
        self._due: list[tuple[float, int, bytes, object, socket.socket]] = []
        self._sequence = 0
        self._wake = threading.Condition()
        self._closed = False
        super().__init__(address, handler)
        threading.Thread(target=self._send_when_due, daemon=True).start()

    def send(self, sock: socket.socket, packed: bytes, address: object, delay: float) -> None:
        if delay <= 0:
            sock.sendto(packed, address)
            return
        with self._wake:
            self._sequence += 1
            heapq.heappush(self._due, (time.monotonic() + delay, self._sequence, packed, address, sock))
            self._wake.notify()

    def _send_when_due(self) -> None:
        with self._wake:
            while not self._closed:
                if not self._due:
                    self._wake.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                _, _, packed, address, sock = heapq.heappop(self._due)
                try:
                    sock.sendto(packed, address)
                except OSError:
                    pass  # closed meanwhile

    def server_close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        super().server_close()


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address, handler, dns: DNSServer) -> None:
        self.dns = dns
        self.address_family = _family(address[0])
        super().__init__(address, handler)


def _parse(data: bytes) -> DNSRecord | None:
    try:
        return DNSRecord.parse(data)
    except Exception:
        # Garbage is dropped, as a real server would.
        return None


class _UDPHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        dns = self.server.dns
        packed = dns.udp_reply(data)

        if packed is not None:
            self.server.send(sock, packed, self.client_address, dns.delay)


class _TCPHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(5)

        while True:
            try:
                header = self._read(2)
                data = self._read(struct.unpack("!H", header)[0])
            except (OSError, EOFError):
                return

            request = _parse(data)

            if request is None:
                return

            self.server.dns.received += 1
            reply = self.server.dns.answer(request)

            if reply is None:
                return

            if self.server.dns.delay:
                time.sleep(self.server.dns.delay)

            packed = reply.pack()
            self.request.sendall(struct.pack("!H", len(packed)) + packed)

    def _read(self, size: int) -> bytes:
        data = b""

        while len(data) < size:
            chunk = self.request.recv(size - len(data))

            if not chunk:
                raise EOFError

            data += chunk

        return data

