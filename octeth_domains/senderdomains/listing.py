"""A user's list of sender domains as JSON, rendered once and kept while it is current.

Rendering a list costs time in proportion to its length (decoding each row's stored JSON, then
encoding the whole answer: about 30 ms of CPU for 1,000 domains), while a client asks for the same
list over and over. Each process keeps the JSON text of the lists it rendered, and answers from it
while one index-only query (:func:`~octeth_domains.models.senderdomains.list_version`) says the
user's rows are as they were; any write through the service changes that version, so a list is
never served stale, in any process, after a write has been committed. A row changed by hand in
SQL without ``Revision = Revision + 1`` shows in the list within ``MAX_AGE`` seconds.

Each domain's operational fields (Volume7d, Reputation, …) come from its daily stats as of today
(UTC): a kept list is of one day, and a stats import moves the Revision of every domain it adds
figures to. Figures written into the stats table by another program show within ``MAX_AGE``.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict

from ..jsontext import JSONText, dumps
from ..db import Connection
from ..models import senderdomains as model
from ..models import stats

Version = tuple[int, ...]


class ListCache:
    """User id -> (version, JSON text), least recently used first out past ``max_bytes``."""

    MAX_AGE = 60.0

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[int, tuple[Version, str, float]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, user_id: int) -> tuple[Version, str] | None:
        with self._lock:
            entry = self._entries.get(user_id)
            if entry is None:
                return None
            if entry[2] + self.MAX_AGE <= time.monotonic():
                self._drop(user_id)
                return None
            self._entries.move_to_end(user_id)
            return entry[0], entry[1]

    def put(self, user_id: int, version: Version, text: str) -> None:
        size = len(text)
        if size > self.max_bytes:
            return
        with self._lock:
            self._drop(user_id)
            while self._entries and self._bytes + size > self.max_bytes:
                self._drop(next(iter(self._entries)))
            self._entries[user_id] = (version, text, time.monotonic())
            self._bytes += size

    def _drop(self, user_id: int) -> None:
        entry = self._entries.pop(user_id, None)
        if entry is not None:
            self._bytes -= len(entry[1])


def sender_domains(db: Connection, user_id: int, cache: ListCache | None) -> JSONText:
    """The user's domains that are not deleted, oldest first, as the seed's JSON array; kept in
    ``cache`` (the process's, made by ``create_app``) unless it is None."""
    day = stats.today()
    kept = cache.get(user_id) if cache is not None else None
    if kept is not None and (*model.list_version(db, user_id), day.toordinal()) == kept[0]:
        return JSONText(kept[1])
    rows, version = model.list_for_user(db, user_id, day)
    text = dumps([model.as_seed_object(row) for row in rows])
    if cache is not None and version is not None:
        cache.put(user_id, (*version, day.toordinal()), text)
    return JSONText(text)
