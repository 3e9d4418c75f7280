"""Hooks and plugins (SPEC §6).

Hooks are blinker signals named as in the PHP product (``Delete.SenderDomain``). Plugins are
packages exposing an entry point in the group ``octeth_domains.plugins``: a callable that gets
the Flask app once at start-up and usually connects receivers to signals.
"""
from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import Any

from blinker import Namespace, Signal
from flask import Flask

PLUGIN_GROUP = "octeth_domains.plugins"

_signals = Namespace()
log = logging.getLogger(__name__)


def signal(name: str) -> Signal:
    """The named hook, created on first use; the same object for the same name."""
    return _signals.signal(name)


def send(name: str, sender: Any, **kwargs: Any) -> None:
    """Emit a hook after the fact: a failing receiver is logged and never undoes the caller's work."""
    hook = signal(name)
    for receiver in hook.receivers_for(sender):
        try:
            receiver(sender, **kwargs)
        except Exception:
            log.exception("a receiver of %s failed", name)


def load_plugins(app: Flask) -> list[str]:
    """Call every installed plugin with ``app``; one that fails is logged and skipped."""
    loaded = []
    for entry in entry_points(group=PLUGIN_GROUP):
        try:
            entry.load()(app)
        except Exception:
            log.exception("plugin %s failed to load", entry.name)
            continue
        loaded.append(entry.name)
    return loaded
