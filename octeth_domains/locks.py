"""One writer per DNS zone at a time, across workers and instances.

A provider write is read-plan-write: Namecheap's ``setHosts`` replaces the whole zone with what
was read a moment before, so two ``dns.set`` calls on one zone interleaving would each drop the
other's records. With Redis the lock is shared by every instance (``SET NX`` with an expiry, so a
crashed holder cannot wedge a zone); without Redis it holds within the process.
"""
from __future__ import annotations

import secrets
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import redis

_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


class LockTimeout(Exception):
    """Another writer held the zone for longer than we were willing to wait."""


@contextmanager
def zone_lock(client: redis.Redis | None, prefix: str, zone: str, wait: float, hold: float = 120.0) -> Iterator[None]:
    if client is not None:
        key, token = f"{prefix}:zone-lock:{zone}", secrets.token_hex(16)
        deadline = time.monotonic() + wait
        try:
            while not client.set(key, token, nx=True, px=int(hold * 1000)):
                if time.monotonic() > deadline:
                    raise LockTimeout(zone)
                time.sleep(0.05)
        except redis.RedisError:
            client = None  # Redis is away: fall back to this process's lock rather than fail
        else:
            try:
                yield
            finally:
                try:
                    client.eval(_RELEASE, 1, key, token)
                except redis.RedisError:
                    pass  # it expires on its own
            return
    with _local_guard:
        lock = _local_locks.setdefault(zone, threading.Lock())
    if not lock.acquire(timeout=wait):
        raise LockTimeout(zone)
    try:
        yield
    finally:
        lock.release()
