"""SPF records compared and merged by mechanism (RFC 7208), without DNS.

A name may carry one SPF record only: with two, every receiver's SPF check ends in ``permerror``.
So the service never publishes its SPF value as a record of its own beside the user's; it merges
its mechanisms into the user's record (:func:`merge`), and verification accepts any one SPF
record that holds them (:func:`matches`), in any order and among others.

checkdmarc (which the health checks use) parses SPF by resolving every ``include:``; this needs
neither DNS nor its verdict, only the terms of one string, so it stays a few lines here.
"""
from __future__ import annotations

from typing import Iterable

_PREFIX = "v=spf1"
_QUALIFIERS = "+-~?"


def is_spf(text: str) -> bool:
    """Whether a TXT string is an SPF record (``v=spf1`` alone or followed by a space)."""
    head = text.strip()[: len(_PREFIX) + 1].lower()
    return head == _PREFIX or head == _PREFIX + " "


def terms(record: str) -> list[str]:
    """The terms after ``v=spf1``, as written."""
    return record.split()[1:]


def _key(term: str) -> str:
    # "+include:x" and "include:X" are one mechanism; "-include:x" is another.
    term = term.lower()
    return term[1:] if term.startswith("+") else term


def _is_all(term: str) -> bool:
    return term.lower().lstrip(_QUALIFIERS) == "all"


def _is_modifier(term: str) -> bool:
    name, sep, _ = term.partition("=")
    return bool(sep) and ":" not in name and "/" not in name


def mechanisms(record: str) -> list[str]:
    """The mechanisms that decide the record: those before its ``all`` (modifiers left out)."""
    found = []
    for term in terms(record):
        if _is_all(term):
            break
        if not _is_modifier(term):
            found.append(term)
    return found


def matches(expected: str, txt_strings: Iterable[str]) -> bool:
    """True when exactly one of ``txt_strings`` is an SPF record and it holds every mechanism of
    ``expected`` before its ``all``. Two SPF records at a name fail, whatever they hold."""
    records = [text for text in txt_strings if is_spf(text)]
    if len(records) != 1:
        return False
    held = {_key(term) for term in mechanisms(records[0])}
    return all(_key(term) in held for term in mechanisms(expected))


def merge(existing: str, expected: str) -> str:
    """``existing`` with the mechanisms of ``expected`` it lacks inserted before its final
    ``all`` or its ``redirect=`` (at the end when it has neither); ``existing`` itself, unchanged,
    when it already holds them all."""
    held = {_key(term) for term in mechanisms(existing)}
    missing = []
    for term in mechanisms(expected):
        if _key(term) not in held:
            held.add(_key(term))
            missing.append(term)
    if not missing:
        return existing
    current = terms(existing)
    where = next((i for i, term in enumerate(current)
                  if _is_all(term) or term.lower().startswith("redirect=")), len(current))
    return " ".join([existing.split()[0], *current[:where], *missing, *current[where:]])
